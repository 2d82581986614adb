"""A real SMTP server on loopback (aiosmtpd) that records what it receives and misbehaves on request.

server = SMTPPeer.start()            # or SMTPPeer.start(tls=certs, starttls=True, users={"u": "p"})
                                     # (AUTH offered only after STARTTLS unless auth_require_tls=False)
server.fail_next(451, count=2)       # the next two messages get 451 at DATA
server.fail_recipient("x@y.ee", 550) # this recipient is refused at RCPT
server.drop_next(1)                  # the next MAIL FROM closes the connection instead of answering
server.drop_after_data(1)            # the next message is kept, then the connection closed before the answer
server.drop_connections()            # close every open connection now (an idle-timeout, say)
server.change_password("u", "new")   # AUTH wants another password from now on
server.wait_for_messages(3)
server.stop()
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.peers.net import LOOPBACK, TestCertificates, free_port

REPLIES = {
    421: "421 4.3.2 Service shutting down, closing channel",
    450: "450 4.2.0 Mailbox busy",
    451: "451 4.3.0 Local error in processing, try again later",
    452: "452 4.3.1 Insufficient system storage",
    550: "550 5.1.1 Mailbox unavailable",
    552: "552 5.3.4 Message too big",
    554: "554 5.7.1 Transaction failed",
}


@dataclass(frozen=True, kw_only=True)
class ReceivedMail:
    connection: int  # index of the connection (in EHLO order) that carried it
    login: str  # AUTH user, "" without AUTH
    tls: bool
    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    raw: bytes
    message: EmailMessage


@dataclass
class _Behaviour:
    fail_next: deque[tuple[int, str]] = field(default_factory=deque)  # (code, stage)
    fail_recipients: dict[str, int] = field(default_factory=dict)
    drop_next: int = 0
    drop_after_data: int = 0


def _is_tls(server: SMTP) -> bool:
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None


class _RecordingHandler:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.behaviour = _Behaviour()
        self.received: list[ReceivedMail] = []
        self.connections: list[tuple[Session, SMTP]] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self.changed = threading.Condition()

    def _connection_index(self, session: Session) -> int:
        for index, (known, _server) in enumerate(self.connections):
            if known is session:
                return index
        return -1

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.changed:
            if self._connection_index(session) < 0:
                self.connections.append((session, server))
            self.changed.notify_all()
        return responses

    def _next_failure(self, stage: str) -> int | None:
        with self.changed:
            if self.behaviour.fail_next and self.behaviour.fail_next[0][1] == stage:
                return self.behaviour.fail_next.popleft()[0]
        return None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        with self.changed:
            drop = self.behaviour.drop_next > 0
            if drop:
                self.behaviour.drop_next -= 1
        if drop:
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 dropped"  # never reaches the client: the transport is closed
        failure = self._next_failure("MAIL")
        if failure is not None:
            return REPLIES[failure]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        code = self.behaviour.fail_recipients.get(address.lower()) or self._next_failure("RCPT")
        if code is not None:
            # Real servers echo the address; the gateway must mask it in what it records.
            return f"{REPLIES[code][:3]} <{address}>: {REPLIES[code][4:]}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._next_failure("DATA")
        if failure is not None:
            return REPLIES[failure]
        raw = cast(bytes, envelope.original_content)
        parsed = cast(EmailMessage, email.message_from_bytes(raw, policy=email.policy.default))
        auth = cast(Any, session.auth_data)
        login = auth.login.decode() if isinstance(auth, LoginPassword) else ""
        with self.changed:
            self.received.append(
                ReceivedMail(
                    connection=self._connection_index(session),
                    login=login,
                    tls=_is_tls(server),
                    mail_from=cast(str, envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    mail_options=tuple(envelope.mail_options),
                    raw=raw,
                    message=parsed,
                )
            )
            self.changed.notify_all()
            drop = self.behaviour.drop_after_data > 0
            if drop:
                self.behaviour.drop_after_data -= 1
        if drop:
            assert server.transport is not None
            server.transport.close()  # kept, and the client never hears so
        return "250 2.0.0 OK: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        with self.changed:
            self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class SMTPPeer:
    """One aiosmtpd server on 127.0.0.1 with a free port, in its own thread."""

    def __init__(self, controller: Controller, handler: _RecordingHandler) -> None:
        self._controller = controller
        self._handler = handler
        self.host = LOOPBACK
        self.port = int(controller.port)

    @classmethod
    def start(
        cls,
        *,
        tls: TestCertificates | None = None,
        implicit_tls: bool = False,
        starttls: bool = False,
        users: dict[str, str] | None = None,
        auth_require_tls: bool = True,
    ) -> SMTPPeer:
        handler = _RecordingHandler(users or {})
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
        context: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        if starttls:
            kwargs.update(tls_context=context, require_starttls=True)
        if users:
            kwargs.update(authenticator=handler.authenticate, auth_required=True, auth_require_tls=auth_require_tls)
        controller = Controller(
            handler,
            hostname=LOOPBACK,
            port=free_port(),
            ssl_context=context if implicit_tls else None,
            **kwargs,
        )
        controller.start()
        return cls(controller, handler)

    def stop(self) -> None:
        self._controller.stop()

    # -- what happened ----------------------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedMail]:
        with self._handler.changed:
            return list(self._handler.received)

    @property
    def connection_count(self) -> int:
        with self._handler.changed:
            return len(self._handler.connections)

    @property
    def auth_attempts(self) -> list[tuple[str, bool]]:
        with self._handler.changed:
            return list(self._handler.auth_attempts)

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        with self._handler.changed:
            if not self._handler.changed.wait_for(lambda: len(self._handler.received) >= count, timeout):
                raise TimeoutError(f"SMTP peer got {len(self._handler.received)} of {count} messages")
            return list(self._handler.received)

    # -- misbehaviour on request --------------------------------------------------------------------

    def fail_next(self, code: int, *, count: int = 1, stage: str = "DATA") -> None:
        """Answer `code` at `stage` (MAIL, RCPT or DATA) for the next `count` messages."""
        if code not in REPLIES or stage not in ("MAIL", "RCPT", "DATA"):
            raise ValueError(f"unsupported failure {code} at {stage}")
        with self._handler.changed:
            self._handler.behaviour.fail_next.extend([(code, stage)] * count)

    def fail_recipient(self, address: str, code: int) -> None:
        with self._handler.changed:
            self._handler.behaviour.fail_recipients[address.lower()] = code

    def change_password(self, user: str, password: str) -> None:
        """From now on AUTH as `user` takes `password` (a provider's password changed under a running worker)."""
        with self._handler.changed:
            self._handler.users[user] = password

    def drop_next(self, count: int = 1) -> None:
        """Close the connection instead of answering the next `count` MAIL FROM commands."""
        with self._handler.changed:
            self._handler.behaviour.drop_next += count

    def drop_after_data(self, count: int = 1) -> None:
        """Keep each of the next `count` messages, then close the connection instead of answering it."""
        with self._handler.changed:
            self._handler.behaviour.drop_after_data += count

    def drop_connections(self) -> None:
        """Close every open connection from the server side, as an idle timeout would."""
        with self._handler.changed:
            servers = [server for _session, server in self._handler.connections]
        done = threading.Event()

        def close_all() -> None:
            for server in servers:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self._controller.loop.call_soon_threadsafe(close_all)
        if not done.wait(5):
            raise TimeoutError("SMTP peer did not close its connections")
