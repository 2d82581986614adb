"""SMTP gateway: one reused connection, STARTTLS or implicit TLS, AUTH, classified replies.

URL forms (see docs/delivery.md, "Gateways"):
``smtp://[user:pass@]host[:port][?starttls=1&timeout=30&cafile=/ca.pem&verify=1&helo=name]`` and
``smtps://…`` (TLS from the first byte, default port 465). A user name (AUTH) needs TLS, or `auth_without_tls=1`.

Classification: a 4xx reply, a dropped connection, a timeout or a refused connection is transient;
a 5xx reply to MAIL, RCPT or DATA is permanent. A connection lost after the whole message was written and
before the server's answer is `unknown`: the server may have accepted it, so it is not sent again by itself.
Trouble that would fail every message alike is never a failed message: an unreachable server is transient
(the worker backs off), and what only a change of configuration can fix — a TLS certificate that is not
trusted, AUTH refused (5xx), STARTTLS or AUTH not offered — raises `GatewayConfigError` from `open` and is a
*misconfigured* result from `send`, so the worker stops the channel instead of retrying every message.
Reply texts are kept, with e-mail addresses masked: a server's "550 <jaan@example.com>: unknown user" must not
carry the address into the outbox.

The e-mail itself is written by `smtp_message.EmailWriter`, then DKIM-signed when the gateway was given a signer
(`dkim=`, a `delivery.dkim.DkimSigner` with its keys loaded once, when the worker builds the gateway): the key of the
message's clinic (`OutgoingMessage.clinic_id`) or the installation's, d= the From address's domain. No Django here.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from email.message import Message
from typing import Protocol
from urllib.parse import urlsplit

import dkim as dkimpy

from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.delivery.gateways.smtp_message import (
    EmailWriter,
    InvalidMessageError,
    ListUnsubscribeHook,
    ascii_address,
    mask_addresses,
)
from masspost.delivery.gateways.url import parse_gateway_url
from masspost.errors import GatewayConfigError

logger = logging.getLogger(__name__)


class MessageSigner(Protocol):
    """What signs an e-mail's bytes (delivery.dkim.DkimSigner): the message with its signature, or as it was."""

    def sign(self, message_bytes: bytes, *, clinic_id: int | None, from_domain: str) -> bytes: ...


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
        dkim: MessageSigner | None = None,
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
        self.writer = EmailWriter(list_unsubscribe)
        self.dkim = dkim
        self._connection: smtplib.SMTP | None = None
        self._misconfigured = ""  # a configuration error seen: no connection or login is tried again

    # -- connection -------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect now. A configuration error (`_configuration_error`) raises `GatewayConfigError`; any other
        failure is logged and each `send` reports it as transient."""
        try:
            self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            reason = self._configuration_error(exc)
            if reason is not None:
                self._misconfigured = reason
                raise GatewayConfigError(reason) from None
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
        except InvalidMessageError as exc:
            return SendResult.permanent(f"message {message.message_id}: {exc}")
        if self._misconfigured:
            # The same login again would be refused again (and a provider may lock the account after a few).
            return SendResult.misconfigured(self._misconfigured)
        try:
            return self._send_once(message, wire, message_id, allow_reconnect=True)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            reason = self._configuration_error(exc)
            if reason is not None:
                self._misconfigured = reason
                return SendResult.misconfigured(reason)
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                return SendResult.transient(f"SMTP AUTH failed for now: {self._describe(exc)}")
            return SendResult.transient(f"SMTP connection: {self._describe(exc)}")

    def _configuration_error(self, exc: BaseException) -> str | None:
        """The reason, when `exc` (raised while connecting) fails every message alike until the URL or the server
        is fixed: a certificate not trusted, AUTH refused with a 5xx, STARTTLS or AUTH not offered. None for
        anything a later try may get past (a refused or dropped connection, a timeout, a 4xx)."""
        where = f"SMTP {self.host}:{self.port}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (f"{where}: the server's TLS certificate is not trusted ({exc.reason}: {exc.verify_message}); "
                    "name the CA that signed it with cafile=, or have the server's certificate fixed")
        if isinstance(exc, smtplib.SMTPAuthenticationError) and 500 <= exc.smtp_code < 600:
            return f"{where}: AUTH rejected ({self._describe(exc)}): check the user name and password"
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"{where}: {exc} (the URL asks for it)"  # STARTTLS or AUTH not offered by the server
        if type(exc) is smtplib.SMTPException and "authentication method" in str(exc):
            return f"{where}: the server offers no AUTH method smtplib speaks (PLAIN, LOGIN, CRAM-MD5)"
        return None

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
        # smtplib's `data` in its three steps, because they differ: a server accepts a message only once it has
        # the final dot, so a connection lost before that is a retry, and one lost after it is `unknown`.
        try:
            code, reply = connection.docmd("DATA")
            if code != 354:
                return self._refused(connection, message, code, reply, "DATA")
            connection.send(_dot_stuffed(wire))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            return SendResult.transient(f"SMTP connection lost before the end of DATA: {self._describe(exc)}")
        try:
            code, reply = connection.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            return SendResult.unknown("SMTP connection lost after the message was written, before the server's "
                                      f"answer (it may have accepted it): {self._describe(exc)}")
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
        """The e-mail as it goes on the wire — DKIM-signed when there is a signer — and its Message-ID
        (`EmailWriter.wire`). A message the signer cannot sign is an `InvalidMessageError`."""
        wire, message_id = self.writer.wire(message)
        if self.dkim is None:
            return wire, message_id
        domain = ascii_address(message.sender).rpartition("@")[2]
        try:
            return self.dkim.sign(wire, clinic_id=message.clinic_id, from_domain=domain), message_id
        except dkimpy.DKIMException as exc:
            raise InvalidMessageError(f"cannot be DKIM-signed: {type(exc).__name__}") from None

    def build_message(self, message: OutgoingMessage) -> Message:
        """The e-mail as a `Message` (`EmailWriter.build`)."""
        return self.writer.build(message)

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


_LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


def _dot_stuffed(wire: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321 4.5.2): a line that starts with a dot gets another, and the data
    ends with CRLF . CRLF."""
    stuffed = _LINE_STARTING_WITH_A_DOT.sub(b"..", wire)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def from_url(
    url: str,
    *,
    list_unsubscribe: ListUnsubscribeHook | None = None,
    ssl_context: ssl.SSLContext | None = None,
    dkim: MessageSigner | None = None,
) -> SMTPGateway:
    """A gateway from an ``smtp://`` or ``smtps://`` URL; the options are in docs/delivery.md."""
    if urlsplit(url).scheme not in ("smtp", "smtps"):
        raise ValueError("not an SMTP URL: it starts with smtp:// or smtps://")
    parts = parse_gateway_url(url, kind="SMTP",
                              options={"starttls", "timeout", "cafile", "verify", "helo", "auth_without_tls"})
    implicit_tls = parts.scheme == "smtps"
    starttls = parts.flag("starttls")
    if implicit_tls and starttls:
        raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
    auth_without_tls = parts.flag("auth_without_tls")
    if auth_without_tls and (implicit_tls or starttls):
        raise ValueError("auth_without_tls=1 is for smtp:// without starttls=1; this URL has TLS")
    if parts.username and not (implicit_tls or starttls or auth_without_tls):
        # smtplib would send AUTH over the plain connection: the password in clear text on the network.
        raise ValueError("a user name and password without TLS would cross the network in clear text: use "
                         "starttls=1 or smtps://, or — for a relay on this machine or a network you trust — "
                         "add auth_without_tls=1")
    if ssl_context is None:
        ssl_context = ssl.create_default_context(cafile=parts.options.get("cafile"))
        if not parts.flag("verify", default=True):
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl.CERT_NONE
    return SMTPGateway(
        host=parts.host,
        port=parts.port or (465 if implicit_tls else 25),
        username=parts.username,
        password=parts.password,
        implicit_tls=implicit_tls,
        starttls=starttls,
        timeout=parts.number("timeout", 30.0),
        ssl_context=ssl_context,
        helo=parts.options.get("helo") or None,
        list_unsubscribe=list_unsubscribe,
        dkim=dkim,
    )


__all__ = ["MessageSigner", "SMTPGateway", "from_url"]
