"""The e-mail for one outbox row: headers encoded and checked for the wire, a plain-text body or HTML with a text
alternative, a Message-ID in the clinic's domain (docs/delivery.md, "Gateways"). Header injection through a name or
a subject is impossible: a line break or another control character in any header value refuses the message
(`InvalidMessageError`; masspost.content.header, the rule the preview checks the subject by). A body
is HTML by `masspost.content.looks_like_html`, the rule the preview rendered it by (merge values escaped there); a
subject of any length is folded into lines RFC 5322 allows.

No Django here: stdlib only.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid
from html.parser import HTMLParser

from masspost.content import looks_like_html
from masspost.content.header import header_problem
from masspost.delivery.gateways.base import OutgoingMessage

ListUnsubscribeHook = Callable[[OutgoingMessage], "str | None"]
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058's List-Unsubscribe-Post value, and the body a provider POSTs

_ADDRESS_RE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
# An ASCII address that needs no quoting or encoding in a header (RFC 5322 dot-atom local part, LDH domain).
_SIMPLE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                             r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
# CRLF line ends; the body is base64 (MIMEText with utf-8) and headers are encoded here, so no server needs
# 8BITMIME or SMTPUTF8.
_WIRE_POLICY = compat32.clone(linesep="\r\n")
# RFC 5322 2.1.1: no line of a message longer than 998 characters. A header is folded at white space; a run
# without any that would not fit one line (with the folding space, or "Subject: " on the first) is written as
# RFC 2047 encoded words instead, which fold anywhere.
_UNFOLDABLE = re.compile(rf"[^ \t]{{{998 - len('Subject: ') + 1}}}")


class InvalidMessageError(ValueError):
    """A message that can never be sent as it is (e.g. a line break in the subject)."""


class _HTMLToText(HTMLParser):
    """Good-enough text alternative for an HTML body: tags dropped, blocks on their own lines."""

    _BLOCKS = frozenset({"br", "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4"})
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self._chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self._chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._chunks.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self._chunks).splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(html: str) -> str:
    parser = _HTMLToText()
    parser.feed(html)
    parser.close()
    return parser.text()


def _header_value(name: str, value: str) -> str:
    # Reject rather than fold: a line break in a subject or name is either a bug upstream or an attack. The rule
    # is the one the preview checks the campaign's subject by (masspost.content.header).
    if problem := header_problem(value):
        raise InvalidMessageError(f"{name} contains a {problem[1]}")
    return value


def ascii_address(addr_spec: str, name: str = "address") -> str:
    """The address as it goes on the wire: an internationalised domain in IDNA (xn--) form.

    A non-ASCII local part would need SMTPUTF8 end to end, which Python's e-mail headers do not support
    (3.11); such an address is refused rather than sent half-right.
    """
    local, at, domain = addr_spec.rpartition("@")
    if not local.isascii():
        raise InvalidMessageError(f"{name} has a non-ASCII local part (SMTPUTF8 is not supported)")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidMessageError(f"{name} has an invalid domain") from exc
    return f"{local}{at}{domain}"


def _address(display_name: str, addr_spec: str, name: str) -> Address:
    _header_value(name, display_name)
    _header_value(name, addr_spec)
    wire_spec = ascii_address(addr_spec, name)
    try:
        address = Address(display_name=display_name, addr_spec=wire_spec)
    except (ValueError, IndexError) as exc:
        raise InvalidMessageError(f"{name} is not a valid address") from exc
    if not address.username or not address.domain:
        raise InvalidMessageError(f"{name} is not a valid address")
    return address


def mask_addresses(text: str) -> str:
    return _ADDRESS_RE.sub("[address]", text)


class EmailWriter:
    """Writes outbox rows as e-mails. Keeps two small caches: the clinics' encoded From and Reply-To, and the Date
    of the current second."""

    def __init__(self, list_unsubscribe: ListUnsubscribeHook | None = None) -> None:
        self.list_unsubscribe = list_unsubscribe
        self._header_cache: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._date_cache: tuple[int, str] = (0, "")

    def wire(self, message: OutgoingMessage) -> tuple[bytes, str]:
        """The e-mail as it goes on the wire, and its Message-ID; raises `InvalidMessageError` for what can never
        be sent. Plain ASCII on the wire (RFC 2047 headers, base64 body, IDNA domains): no server needs 8BITMIME
        or SMTPUTF8.

        A plain-text e-mail — nearly all of them — is written out here directly, exactly as `build` and
        the e-mail package's generator would write it: building a `Message` and generating it cost more CPU than
        the SMTP conversation, CPU that an SMTP server on the same machine then lacks (docs/benchmarks.md)."""
        if looks_like_html(message.text):
            email = self.build(message)
            return email.as_bytes(policy=_WIRE_POLICY), str(email["Message-ID"])
        headers = self._headers(message)
        message_id = headers[-1].removeprefix("Message-ID: ")
        lines = ['Content-Type: text/plain; charset="utf-8"', "MIME-Version: 1.0", "Content-Transfer-Encoding: base64",
                 *headers]
        if not all(line.isascii() and len(line) <= 998 for line in lines):
            email = self.build(message)
            return email.as_bytes(policy=_WIRE_POLICY), str(email["Message-ID"])
        body = base64.encodebytes(_crlf(message.text).encode("utf-8")).replace(b"\n", b"\r\n")
        head = "\r\n".join(lines).replace("\n ", "\r\n ").replace("\r\r\n", "\r\n")
        return head.encode("ascii") + b"\r\n\r\n" + body, message_id

    def _clinic_headers(self, message: OutgoingMessage) -> tuple[str, str, str]:
        """From and Reply-To, checked and encoded once per clinic: a campaign's thousands of messages share a few
        senders (docs/benchmarks.md, "Delivery")."""
        key = (message.sender_name, message.sender, message.reply_to)
        found = self._header_cache.get(key)
        if found is None:
            sender = _address(message.sender_name, message.sender, "sender")
            reply_to = _address(message.sender_name, message.reply_to, "reply_to") if message.reply_to else sender
            found = (_encode_address(sender), _encode_address(reply_to), sender.domain)
            if len(self._header_cache) > 1000:
                self._header_cache.clear()
            self._header_cache[key] = found
        return found

    def _date(self) -> str:
        """The Date header, formatted once a second (it has no finer resolution)."""
        second = int(time.time())
        if second != self._date_cache[0]:
            self._date_cache = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
        return self._date_cache[1]

    def _headers(self, message: OutgoingMessage) -> list[str]:
        """From, To, Reply-To, Subject, Date, (List-Unsubscribe, List-Unsubscribe-Post,) Message-ID — encoded for
        the wire, checked for line breaks. List-Unsubscribe is the message's own (a marketing e-mail's, set by the
        claim: delivery.turn), else the writer's hook's."""
        from_header, reply_to_header, domain = self._clinic_headers(message)
        if _SIMPLE_ADDRESS.fullmatch(message.to):
            recipient = message.to  # nothing to quote, encode or check beyond the pattern
        else:
            recipient = _encode_address(_address("", message.to, "recipient"))
        subject = _header_value("subject", message.subject)
        if not subject.isascii() or _UNFOLDABLE.search(subject):
            subject = Header(subject, "utf-8", header_name="Subject").encode()
        headers = [f"From: {from_header}", f"To: {recipient}", f"Reply-To: {reply_to_header}",
                   f"Subject: {subject}", f"Date: {self._date()}"]
        unsubscribe = message.list_unsubscribe
        if not unsubscribe and self.list_unsubscribe is not None:
            unsubscribe = self.list_unsubscribe(message) or ""
        if unsubscribe:
            headers.append(f"List-Unsubscribe: {_header_value('List-Unsubscribe', unsubscribe)}")
            if "<https://" in unsubscribe:
                # RFC 8058: the mail provider may POST "List-Unsubscribe=One-Click" to the https link — only to
                # an https one (an http link or a mailto: is offered to the reader, never posted to).
                headers.append(f"List-Unsubscribe-Post: {ONE_CLICK}")
        headers.append(f"Message-ID: {make_msgid(domain=domain)}")
        return headers

    def build(self, message: OutgoingMessage) -> Message:
        """The e-mail for one outbox row as a `Message` (plain text, or HTML with a text alternative); raises
        `InvalidMessageError` for what can never be sent.

        Built with the compat32 classes and headers encoded here (RFC 2047 words, IDNA domains), not with
        `Message`'s header registry, which parses every header it is given: that parsing was most of a
        worker's CPU per e-mail, CPU the SMTP server on the same machine then lacked."""
        headers = self._headers(message)
        if looks_like_html(message.text):
            email: Message = MIMEMultipart("alternative")
            email.attach(MIMEText(_crlf(html_to_text(message.text)), "plain", "utf-8"))
            email.attach(MIMEText(_crlf(message.text), "html", "utf-8"))
        else:
            # Text is CRLF-delimited in its canonical form (RFC 2045), which is what base64 must carry.
            email = MIMEText(_crlf(message.text), "plain", "utf-8")
        for header in headers:
            name, _, value = header.partition(": ")
            email[name] = value
        return email


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _encode_address(address: Address) -> str:
    """`Name <local@domain>` for the wire: a non-ASCII name as an RFC 2047 word, specials quoted."""
    return formataddr((address.display_name, address.addr_spec), charset="utf-8")


__all__ = ["ONE_CLICK", "EmailWriter", "InvalidMessageError", "ListUnsubscribeHook", "ascii_address", "html_to_text",
           "looks_like_html", "mask_addresses"]
