"""Gateway URLs taken apart without ever echoing a credential (docs/delivery.md, "Gateways").

A URL's user name and password are credentials: no error names them or a piece of them, nor quotes the URL
(whatever could be mistaken for its host or port may be a piece of the password). urllib splits an unencoded
'#', '?' or '/' in a password off into the fragment, query or path, and the rest of the password then turns up
as a "port" — or, for `user:12?x@host`, the URL even parses, with the user name as its host. So a URL with a
fragment, or with an '@' after its host, is refused with the characters to percent-encode, never with its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

_ENCODE = "percent-encode them in the user name and password: '#' as %23, '/' as %2F, '?' as %3F, '@' as %40"
TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, kw_only=True, slots=True)
class GatewayURL:
    scheme: str
    host: str
    port: int | None
    username: str  # percent-decoded
    password: str  # percent-decoded
    options: dict[str, str]  # the query, one value per name (the last one given)

    def flag(self, name: str, default: bool = False) -> bool:
        return self.options.get(name, "1" if default else "0").lower() in TRUE

    def number(self, name: str, default: float) -> float:
        text = self.options.get(name)
        try:
            return default if text is None else float(text)
        except ValueError:
            raise ValueError(f"{name}= must be a number") from None

    def integer(self, name: str, default: int | None) -> int | None:
        text = self.options.get(name)
        try:
            return default if text is None else int(text)
        except ValueError:
            raise ValueError(f"{name}= must be a whole number") from None


def parse_gateway_url(url: str, *, kind: str, options: set[str]) -> GatewayURL:
    """`url` taken apart; ValueError, naming no part of the user name or password, for anything amiss.
    `kind` names the gateway in the messages ("SMTP"); `options` are the query names it takes."""
    parts = urlsplit(url)
    if "#" in url:
        raise ValueError(f"a '#' ends a URL's address part: if it is in the user name or password, {_ENCODE}")
    if "@" in parts.path or "@" in parts.query:
        raise ValueError(f"an '@' after the host: if the user name or password holds '/', '?' or '@', {_ENCODE}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 0 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{kind} URL needs a host")
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - options
    if unknown:
        raise ValueError(f"unknown {kind} URL option(s): {', '.join(sorted(unknown))}")
    return GatewayURL(scheme=parts.scheme, host=parts.hostname, port=port, username=unquote(parts.username or ""),
                      password=unquote(parts.password or ""), options=query)

