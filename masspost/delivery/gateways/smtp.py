"""SMTP gateway: one reused connection, STARTTLS or implicit TLS, AUTH, classified replies.

URL forms (see docs/delivery.md, "Gateways"):
``smtp://[user:pass@]host[:port][?starttls=1&timeout=30&cafile=/ca.pem&verify=1&helo=name]`` and
``smtps://…`` (TLS from the first byte, default port 465).

Classification: a 4xx reply, a dropped connection, a timeout or a refused connection is transient;
a 5xx reply to MAIL, RCPT or DATA is permanent. Trouble that would fail every message alike
(AUTH rejected, TLS failure, server unreachable) is transient too, so a wrong password makes the
worker back off instead of failing a whole campaign. Reply texts are kept, with e-mail addresses
masked: a server's "550 <jaan@example.com>: unknown user" must not carry the address into the outbox.

No Django here: stdlib only.
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import ssl
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
from urllib.parse import parse_qs, unquote, urlsplit

from masspost.delivery.gateways.base import OutgoingMessage, SendResult

logger = logging.getLogger(__name__)

ListUnsubscribeHook = Callable[[OutgoingMessage], "str | None"]

_ADDRESS_RE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")
_FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\x00]")
# An ASCII address that needs no quoting or encoding in a header (RFC 5322 dot-atom local part, LDH domain).
_SIMPLE_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                             r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_TRUE = {"1", "true", "yes", "on"}
# CRLF line ends; the body is base64 (MIMEText with utf-8) and headers are encoded here, so no server needs
# 8BITMIME or SMTPUTF8.
_WIRE_POLICY = compat32.clone(linesep="\r\n")


class _InvalidMessageError(ValueError):
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


def looks_like_html(text: str) -> bool:
    return text.strip().startswith("<")


def _header_value(name: str, value: str) -> str:
    # Reject rather than fold: a line break in a subject or name is either a bug upstream or an attack.
    if _FORBIDDEN_IN_HEADER.search(value):
        raise _InvalidMessageError(f"{name} contains a line break or NUL")
    return value


def ascii_address(addr_spec: str, name: str = "address") -> str:
    """The address as it goes on the wire: an internationalised domain in IDNA (xn--) form.

    A non-ASCII local part would need SMTPUTF8 end to end, which Python's e-mail headers do not support
    (3.11); such an address is refused rather than sent half-right.
    """
    local, at, domain = addr_spec.rpartition("@")
    if not local.isascii():
        raise _InvalidMessageError(f"{name} has a non-ASCII local part (SMTPUTF8 is not supported)")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _InvalidMessageError(f"{name} has an invalid domain") from exc
    return f"{local}{at}{domain}"


def _address(display_name: str, addr_spec: str, name: str) -> Address:
    _header_value(name, display_name)
    _header_value(name, addr_spec)
    wire_spec = ascii_address(addr_spec, name)
    try:
        address = Address(display_name=display_name, addr_spec=wire_spec)
    except (ValueError, IndexError) as exc:
        raise _InvalidMessageError(f"{name} is not a valid address") from exc
    if not address.username or not address.domain:
        raise _InvalidMessageError(f"{name} is not a valid address")
    return address


def mask_addresses(text: str) -> str:
    return _ADDRESS_RE.sub("[address]", text)


class SMTPGateway:
    """An SMTP client that sends each `OutgoingMessage` as one e-mail over a reused connection."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        implicit_tls: bool = False,
        starttls: bool = False,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        helo: str | None = None,
        list_unsubscribe: ListUnsubscribeHook | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.implicit_tls = implicit_tls
        self.starttls = starttls
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.helo = helo
        self.list_unsubscribe = list_unsubscribe
        self._header_cache: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._date_cache: tuple[int, str] = (0, "")
        self._connection: smtplib.SMTP | None = None

    # -- connection -------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect now; if that fails the failure is logged and each `send` reports it as transient."""
        try:
            self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("SMTP %s:%s not reachable at open: %s", self.host, self.port, self._describe(exc))

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()

    def _connect(self) -> smtplib.SMTP:
        self.close()
        connection: smtplib.SMTP
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.helo, timeout=self.timeout, context=self.ssl_context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, local_hostname=self.helo, timeout=self.timeout)
        try:
            connection.ehlo_or_helo_if_needed()
            if self.starttls:
                connection.starttls(context=self.ssl_context)
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    # -- sending ----------------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            wire, message_id = self.wire_message(message)
        except _InvalidMessageError as exc:
            return SendResult.permanent(f"message {message.message_id}: {exc}")
        try:
            return self._send_once(message, wire, message_id, allow_reconnect=True)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            return SendResult.transient(f"SMTP AUTH rejected: {self._describe(exc)}")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            return SendResult.transient(f"SMTP connection: {self._describe(exc)}")

    def _send_once(
        self, message: OutgoingMessage, wire: bytes, message_id: str, *, allow_reconnect: bool
    ) -> SendResult:
        fresh = self._connection is None
        connection = self._connection or self._connect()
        try:
            envelope_result = self._envelope(connection, message)
        except smtplib.SMTPServerDisconnected:
            # A server may drop an idle connection between messages; nothing of this message was
            # accepted yet, so one transparent reconnect is safe.
            self.close()
            if fresh or not allow_reconnect:
                raise
            logger.info("SMTP %s:%s dropped the connection; reconnecting", self.host, self.port)
            return self._send_once(message, wire, message_id, allow_reconnect=False)
        if envelope_result is not None:
            return envelope_result
        try:
            code, reply = connection.data(wire)
        except smtplib.SMTPDataError as exc:
            return self._refused(connection, message, exc.smtp_code, exc.smtp_error, "DATA")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            # The message may have reached the server; never resend it silently.
            self.close()
            return SendResult.transient(
                f"SMTP connection lost during DATA (may have been accepted): {self._describe(exc)}"
            )
        if code != 250:
            return self._refused(connection, message, code, reply, "DATA")
        return SendResult.accepted(message_id)

    def _envelope(self, connection: smtplib.SMTP, message: OutgoingMessage) -> SendResult | None:
        code, reply = connection.mail(ascii_address(message.sender))
        if code != 250:
            return self._refused(connection, message, code, reply, "MAIL")
        code, reply = connection.rcpt(ascii_address(message.to))
        if code not in (250, 251):
            return self._refused(connection, message, code, reply, "RCPT")
        return None

    def wire_message(self, message: OutgoingMessage) -> tuple[bytes, str]:
        """The e-mail as it goes on the wire, and its Message-ID; raises `_InvalidMessageError` for what can never
        be sent. Plain ASCII on the wire (RFC 2047 headers, base64 body, IDNA domains): no server needs 8BITMIME
        or SMTPUTF8.

        A plain-text e-mail — nearly all of them — is written out here directly, exactly as `build_message` and
        the e-mail package's generator would write it: building a `Message` and generating it cost more CPU than
        the SMTP conversation, CPU that an SMTP server on the same machine then lacks (docs/benchmarks.md)."""
        if looks_like_html(message.text):
            email = self.build_message(message)
            return email.as_bytes(policy=_WIRE_POLICY), str(email["Message-ID"])
        headers = self._headers(message)
        message_id = headers[-1].removeprefix("Message-ID: ")
        lines = ['Content-Type: text/plain; charset="utf-8"', "MIME-Version: 1.0", "Content-Transfer-Encoding: base64",
                 *headers]
        if not all(line.isascii() and len(line) <= 998 for line in lines):
            email = self.build_message(message)
            return email.as_bytes(policy=_WIRE_POLICY), str(email["Message-ID"])
        body = base64.encodebytes(_crlf(message.text).encode("utf-8")).replace(b"\n", b"\r\n")
        head = "\r\n".join(lines).replace("\n ", "\r\n ").replace("\r\r\n", "\r\n")
        return head.encode("ascii") + b"\r\n\r\n" + body, message_id

    def _refused(
        self, connection: smtplib.SMTP, message: OutgoingMessage, code: int, reply: bytes | str, stage: str
    ) -> SendResult:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        error = f"SMTP {code} at {stage}: {mask_addresses(' '.join(text.split()))}"
        if code == 421:
            self.close()  # 421: the server is closing the channel
        else:
            try:
                connection.rset()
            except (OSError, smtplib.SMTPException):
                self.close()
        logger.info("SMTP message %s refused: %s", message.message_id, error)
        if 400 <= code < 500:
            return SendResult.transient(error)
        return SendResult.permanent(error)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPResponseException):
            raw = exc.smtp_error
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return f"{exc.smtp_code} {mask_addresses(' '.join(text.split()))}"
        return mask_addresses(f"{type(exc).__name__}: {exc}")

    # -- the MIME message -------------------------------------------------------------------------

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
        """From, To, Reply-To, Subject, Date, (List-Unsubscribe,) Message-ID — encoded for the wire, checked for
        line breaks."""
        from_header, reply_to_header, domain = self._clinic_headers(message)
        if _SIMPLE_ADDRESS.fullmatch(message.to):
            recipient = message.to  # nothing to quote, encode or check beyond the pattern
        else:
            recipient = _encode_address(_address("", message.to, "recipient"))
        subject = _header_value("subject", message.subject)
        if not subject.isascii():
            subject = Header(subject, "utf-8", header_name="Subject").encode()
        headers = [f"From: {from_header}", f"To: {recipient}", f"Reply-To: {reply_to_header}",
                   f"Subject: {subject}", f"Date: {self._date()}"]
        if self.list_unsubscribe is not None:
            unsubscribe = self.list_unsubscribe(message)
            if unsubscribe:
                headers.append(f"List-Unsubscribe: {_header_value('List-Unsubscribe', unsubscribe)}")
        headers.append(f"Message-ID: {make_msgid(domain=domain)}")
        return headers

    def build_message(self, message: OutgoingMessage) -> Message:
        """The e-mail for one outbox row as a `Message` (plain text, or HTML with a text alternative); raises
        `_InvalidMessageError` for what can never be sent.

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


def from_url(
    url: str,
    *,
    list_unsubscribe: ListUnsubscribeHook | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> SMTPGateway:
    """A gateway from an ``smtp://`` or ``smtps://`` URL; the options are in docs/delivery.md."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"not an SMTP URL scheme: {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("SMTP URL needs a host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "cafile", "verify", "helo"}
    if unknown:
        raise ValueError(f"unknown SMTP URL option(s): {', '.join(sorted(unknown))}")
    implicit_tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "0").lower() in _TRUE
    if implicit_tls and starttls:
        raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
    if ssl_context is None:
        ssl_context = ssl.create_default_context(cafile=query.get("cafile"))
        if query.get("verify", "1").lower() not in _TRUE:
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl.CERT_NONE
    return SMTPGateway(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        implicit_tls=implicit_tls,
        starttls=starttls,
        timeout=float(query.get("timeout", "30")),
        ssl_context=ssl_context,
        helo=query.get("helo") or None,
        list_unsubscribe=list_unsubscribe,
    )


__all__ = ["SMTPGateway", "ascii_address", "from_url", "html_to_text", "looks_like_html", "mask_addresses"]
