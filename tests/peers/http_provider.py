"""The shared half of the HTTP SMS provider peers (tests/peers/twilio_api.py, tests/peers/messente_api.py).

A peer is an HTTP/1.1 server on 127.0.0.1 (a free port) run by asyncio and h11 in its own thread (over TLS when
given a server `ssl.SSLContext`: `tls=`; it offers only "http/1.1" by ALPN, so a client asking for h2 too gets
HTTP/1.1 — `alpn` keeps what each connection agreed), so a test or a
benchmark can drive it at thousands of requests a second over kept-alive connections. Each provider module says
how to answer a request; this module owns what every provider shares:

- the server: keep-alive, a dropped connection on request (read the request, close without an answer), the number
  of requests in flight (`max_in_flight`: the gateway's window is visible from outside);
- the record: every request received (`requests`), every message accepted (`messages`), every request the
  provider's published OpenAPI document refuses (`violations`);
- the script: `peer.script(Answer.rate_limited(2), Answer.drop())` answers the next message requests so;
- the pace: `latency` delays every answer, `hold()` … `release()` keeps them all back (see `wait_in_flight`);
- callbacks: receipts the peer posts by itself after accepting a message (`receipts="delivered"`), from a small
  thread pool, and the answers it got (`callbacks`);
- the contract: requests checked against the vendored subset of the provider's OpenAPI document
  (tests/peers/openapi/contract.py, the documents' origin in tests/peers/openapi/SOURCE.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx

from tests.peers.net import LOOPBACK
from tests.peers.openapi.contract import OPENAPI_DIR, OpenAPIContract

MAX_BODY = 1 << 20  # providers refuse far smaller bodies; this only keeps a runaway test from filling memory

__all__ = [
    "Answer",
    "AcceptedMessage",
    "CallbackResult",
    "Decision",
    "HTTPReply",
    "OPENAPI_DIR",
    "OpenAPIContract",
    "ProviderPeer",
    "ReceivedRequest",
    "Violation",
    "basic_credentials",
]


# -- values ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Answer:
    """How the peer answers one message request instead of accepting it (see `ProviderPeer.script`)."""

    kind: str  # accept | error | rate_limited | server_error | drop | unauthorized
    status: int = 0
    code: int | str | None = None
    message: str = ""
    retry_after: int | None = None
    delay: float = 0.0  # seconds the answer waits (another request on another connection is not held up)
    accepted: bool = False  # drop only: the provider took the message (recorded, receipted) before the line broke

    @classmethod
    def accept(cls, *, delay: float = 0.0) -> Answer:
        return cls(kind="accept", status=201, delay=delay)

    @classmethod
    def error(cls, http_status: int, code: int | str, message: str) -> Answer:
        """A documented provider error, in the provider's own body format."""
        return cls(kind="error", status=http_status, code=code, message=message)

    @classmethod
    def rate_limited(cls, retry_after: int | None = 1) -> Answer:
        """429 Too Many Requests, with Retry-After (seconds) unless None."""
        return cls(kind="rate_limited", status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, http_status: int = 500, *, retry_after: int | None = None) -> Answer:
        return cls(kind="server_error", status=http_status, retry_after=retry_after)

    @classmethod
    def drop(cls, *, accepted: bool = False) -> Answer:
        """Read the request, then close the connection without a byte of answer. `accepted=True`: the provider
        did take the message (it is in `messages` and gets its receipt) — what a client must count as unknown."""
        return cls(kind="drop", accepted=accepted)

    @classmethod
    def unauthorized(cls) -> Answer:
        """401 as the provider answers wrong credentials, whatever the request carried."""
        return cls(kind="unauthorized", status=401)


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    form: dict[str, str] | None  # application/x-www-form-urlencoded bodies (the last value of a repeated key)
    form_items: tuple[tuple[str, str], ...]  # the same form, every (name, value) in order, repeated names kept
    json: Any  # application/json bodies (None otherwise or when unreadable)
    status: int  # what the peer answered; 0 = the connection was dropped without an answer


@dataclass(frozen=True, kw_only=True)
class AcceptedMessage:
    """A message the peer accepted (answered 2xx), as the provider would have it."""

    id: str  # Twilio Message SID / Messente message_id: what a receipt names
    to: str
    sender: str  # Twilio From (or "" with a Messaging Service) / Messente sender
    text: str
    callback_url: str  # StatusCallback / dlr_url ("" when the request gave none)
    group_id: str = ""  # Messente omnimessage_id
    messaging_service: str = ""  # Twilio MessagingServiceSid
    params: dict[str, Any] = field(default_factory=dict)  # the request's form or JSON, whole


@dataclass(frozen=True, kw_only=True)
class Violation:
    """A request the provider's published OpenAPI document (or its API reference) does not allow."""

    operation: str  # e.g. "POST /2010-04-01/Accounts/{AccountSid}/Messages.json"
    errors: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CallbackResult:
    """One receipt the peer posted by itself, and the webhook's answer."""

    kind: str  # "status" / "dlr"
    remote_id: str
    url: str
    status_code: int | None  # None: no answer (connection refused, timeout…)
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class HTTPReply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, payload: Any, *, headers: tuple[tuple[str, str], ...] = ()) -> HTTPReply:
        return cls(status=status, body=json.dumps(payload).encode(), headers=headers)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What a provider module decided for one request."""

    reply: HTTPReply | None  # None: close the connection without answering
    message: AcceptedMessage | None = None  # the message accepted, if any
    delay: float = 0.0  # seconds before the reply (the loop serves other connections meanwhile)


def basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic Authorization header, None when absent or unreadable."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


# -- the server -------------------------------------------------------------------------------------------------


class ProviderPeer:
    """Base of a provider peer: subclasses implement `answer()` and build `url`."""

    provider: ClassVar[str] = ""

    def __init__(
        self,
        *,
        receipts: str | None = None,
        validate: bool = True,
        keep_requests: bool = True,
        latency: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.receipts = receipts
        self.tls = tls  # a server context: the peer speaks HTTPS (HTTP/1.1 by ALPN)
        if tls is not None:
            tls.set_alpn_protocols(["http/1.1"])
        self.alpn: list[str | None] = []  # TLS: the protocol each connection agreed by ALPN (None: none offered)
        self.validate = validate
        self.keep_requests = keep_requests  # a long benchmark may not want every request kept
        self.host = LOOPBACK
        self.port = 0
        self.latency = latency  # seconds every answer waits (the loop serves others meanwhile): lets a window fill up
        self.in_flight = 0  # requests read and not yet answered
        self.max_in_flight = 0  # the most at once: with a latency or hold(), the client's window as the peer saw it
        self.connections = 0  # TCP connections accepted (keep-alive: far fewer than requests)
        self._changed = threading.Condition()
        self._requests: list[ReceivedRequest] = []
        self._messages: list[AcceptedMessage] = []
        self._by_id: dict[str, AcceptedMessage] = {}
        self._violations: list[Violation] = []
        self._callbacks: list[CallbackResult] = []
        self._script: list[Answer] = []
        self._loop = asyncio.new_event_loop()
        self._gate: asyncio.Event | None = None  # cleared by hold(): answers wait until release()
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.Transport] = set()
        self.errors: list[Exception] = []  # exceptions a provider module raised while answering (answered 500)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"{self.provider}-peer", daemon=True)
        self._sender: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None

    # -- life ------------------------------------------------------------------------------------------------

    def start(self) -> ProviderPeer:
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError(f"{self.provider} peer did not start")
        if self._startup_error is not None:
            raise RuntimeError(f"{self.provider} peer failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._thread.join(10)
        if self._sender is not None:
            self._sender.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def scheme(self) -> str:
        """The gateway URL's scheme for this peer: `provider://` over TLS, else `provider+http://` (loopback)."""
        return self.provider if self.tls else f"{self.provider}+http"

    # -- what the tests read and set ------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._changed:
            return list(self._requests)

    @property
    def messages(self) -> list[AcceptedMessage]:
        with self._changed:
            return list(self._messages)

    @property
    def violations(self) -> list[Violation]:
        with self._changed:
            return list(self._violations)

    @property
    def callbacks(self) -> list[CallbackResult]:
        with self._changed:
            return list(self._callbacks)

    def message(self, remote_id: str) -> AcceptedMessage:
        with self._changed:
            return self._by_id[remote_id]

    def script(self, *answers: Answer) -> None:
        """Answer the next message requests (in the order they arrive) so; accept again once these are used."""
        with self._changed:
            self._script.extend(answers)

    def reset_in_flight(self) -> None:
        with self._changed:
            self.max_in_flight = self.in_flight

    def hold(self) -> None:
        """Read requests but answer none until `release()`: the requests in flight pile up to the client's window."""
        self._set_gate(False)

    def release(self) -> None:
        self._set_gate(True)

    def _set_gate(self, open_: bool) -> None:
        async def flip() -> None:
            assert self._gate is not None
            self._gate.set() if open_ else self._gate.clear()

        asyncio.run_coroutine_threadsafe(flip(), self._loop).result(5)

    def wait_in_flight(self, n: int, timeout: float = 10.0) -> int:
        """Block until at least n requests are in flight at once (see `hold()`); TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.in_flight >= n, timeout):
                raise TimeoutError(
                    f"{self.provider} peer: {self.in_flight} requests in flight, not {n}, in {timeout} s"
                )
            return self.in_flight

    def wait_for(self, n_messages: int, timeout: float = 10.0) -> list[AcceptedMessage]:
        """Block until at least n messages were accepted; TimeoutError (with the count) otherwise."""
        return self._wait(lambda: self._messages, n_messages, timeout, "messages")

    def wait_for_callbacks(self, n_callbacks: int, timeout: float = 10.0) -> list[CallbackResult]:
        return self._wait(lambda: self._callbacks, n_callbacks, timeout, "callbacks")

    def wait_for_requests(self, n_requests: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        return self._wait(lambda: self._requests, n_requests, timeout, "requests")

    def _wait(self, items: Callable[[], list[Any]], n: int, timeout: float, what: str) -> list[Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(items()) >= n, timeout):
                raise TimeoutError(f"{self.provider} peer: {len(items())} {what} of {n} within {timeout} s")
            return list(items())

    # -- for the provider modules ----------------------------------------------------------------------------

    def answer(self, request: ReceivedRequest) -> Decision:
        """The provider's answer to one request. Runs on the peer's event loop: keep it quick."""
        raise NotImplementedError

    def next_answer(self) -> Answer | None:
        with self._changed:
            return self._script.pop(0) if self._script else None

    def violation(self, operation: str, errors: list[str]) -> None:
        with self._changed:
            self._violations.append(Violation(operation=operation, errors=tuple(errors)))

    def receipt_for(self, message: AcceptedMessage) -> tuple[str, dict[str, str], bytes, str] | None:
        """(url, headers, body, kind) of the receipt to post for `self.receipts`, or None."""
        return None

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST a webhook and return the HTTP status (the caller's thread; one kept-alive client)."""
        return self._http().post(url, headers=headers, content=body).status_code

    def _http(self) -> httpx.Client:
        if self._client is None:
            with self._changed:
                if self._client is None:
                    self._client = httpx.Client(timeout=10.0)
        return self._client

    # -- the event loop (its own thread) ----------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._gate = asyncio.Event()
        self._gate.set()
        try:
            self._server = self._loop.run_until_complete(
                self._loop.create_server(lambda: _Connection(self), self.host, 0, backlog=1024, ssl=self.tls)
            )
            self.port = int(self._server.sockets[0].getsockname()[1])
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in list(self._transports):
            transport.abort()
        for task in asyncio.all_tasks(self._loop):
            if task is not asyncio.current_task():
                task.cancel()  # answers still held or delayed: their clients are gone
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._loop.call_soon(self._loop.stop)

    def _serve(self, connection: _Connection, request: ReceivedRequest) -> None:
        """A whole request has arrived on `connection`: answer it now, or later when held, delayed or slow."""
        with self._changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        assert self._gate is not None
        if self._gate.is_set() and not self.latency:
            decision = self._decide(request)
            if not decision.delay:
                self._complete(connection, request, decision)
                return
            self._loop.create_task(self._later(connection, request, decision))
            return
        self._loop.create_task(self._later(connection, request, None))

    async def _later(self, connection: _Connection, request: ReceivedRequest, decision: Decision | None) -> None:
        assert self._gate is not None
        if not self._gate.is_set():
            await self._gate.wait()
        if decision is None:
            decision = self._decide(request)
        if decision.delay or self.latency:
            await asyncio.sleep(decision.delay + self.latency)
        self._complete(connection, request, decision)

    def _decide(self, request: ReceivedRequest) -> Decision:
        try:
            return self.answer(request)
        except Exception as exc:  # a bug in a peer must fail the test, not hang the client
            with self._changed:
                self.errors.append(exc)
            return Decision(reply=HTTPReply(status=500, body=b"peer error", content_type="text/plain"))

    def _complete(self, connection: _Connection, request: ReceivedRequest, decision: Decision) -> None:
        with self._changed:
            self.in_flight -= 1
        self._record(request, decision.reply, decision.message)
        connection.reply(decision.reply)
        if decision.message is not None and self.receipts:
            self._send_receipt(decision.message)

    def _record(self, request: ReceivedRequest, reply: HTTPReply | None, message: AcceptedMessage | None) -> None:
        with self._changed:
            if self.keep_requests:
                self._requests.append(_with_status(request, reply.status if reply is not None else 0))
            if message is not None:
                self._messages.append(message)
                self._by_id[message.id] = message
            self._changed.notify_all()

    # -- receipts the peer sends by itself ----------------------------------------------------------------------

    def _send_receipt(self, message: AcceptedMessage) -> None:
        receipt = self.receipt_for(message)
        if receipt is None:
            return
        if self._sender is None:
            self._sender = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"{self.provider}-peer-callbacks")
        url, headers, body, kind = receipt
        future = self._sender.submit(self.post, url, headers, body)
        future.add_done_callback(lambda done: self._callback_done(done, kind, message.id, url))

    def _callback_done(self, done: Future[int], kind: str, remote_id: str, url: str) -> None:
        if done.cancelled():
            return
        error = done.exception()
        result = CallbackResult(
            kind=kind,
            remote_id=remote_id,
            url=url,
            status_code=None if error is not None else done.result(),
            error=type(error).__name__ if error is not None else "",
        )
        with self._changed:
            self._callbacks.append(result)
            self._changed.notify_all()


class _Connection(asyncio.Protocol):
    """One client connection: h11 reads requests off it, one at a time (HTTP/1.1 keep-alive, no pipelining)."""

    def __init__(self, peer: ProviderPeer) -> None:
        self.peer = peer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        self.transport: asyncio.Transport | None = None
        self.head: h11.Request | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.busy = False  # a request is being answered: the next one waits in h11's buffer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer._transports.add(transport)
        tls = transport.get_extra_info("ssl_object")
        with self.peer._changed:
            self.peer.connections += 1
            if tls is not None:
                self.peer.alpn.append(tls.selected_alpn_protocol())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.peer._transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.h11.receive_data(data)
        self._pump()

    def eof_received(self) -> bool:
        self.h11.receive_data(b"")
        self._pump()
        return True  # keep the transport until an answer in hand is written (a drop closes it anyway)

    def _pump(self) -> None:
        assert self.transport is not None
        while not self.busy and not self.transport.is_closing():
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                self._refuse()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.head, self.chunks, self.size = event, [], 0
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size > MAX_BODY:
                    self._refuse()
                    return
                self.chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert self.head is not None
                self.busy = True
                self.peer._serve(self, _received(self.head, b"".join(self.chunks)))
            elif isinstance(event, h11.ConnectionClosed):
                self.transport.close()
                return

    def reply(self, reply: HTTPReply | None) -> None:
        """Write the answer (None: close without one) and read on."""
        assert self.transport is not None
        if self.transport.is_closing():
            return
        if reply is None:
            self.transport.close()
            return
        headers = [("content-type", reply.content_type), ("content-length", str(len(reply.body))), *reply.headers]
        self.transport.write(
            self.h11.send(h11.Response(status_code=reply.status, headers=headers))
            + self.h11.send(h11.Data(data=reply.body))
            + self.h11.send(h11.EndOfMessage())
        )
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            self.transport.close()
            return
        self.h11.start_next_cycle()
        self.busy = False
        self._pump()

    def _refuse(self) -> None:
        assert self.transport is not None
        with contextlib.suppress(h11.LocalProtocolError):
            self.transport.write(
                self.h11.send(h11.Response(status_code=400, headers=[("connection", "close"), ("content-length", "0")]))
                + self.h11.send(h11.EndOfMessage())
            )
        self.transport.close()


def _received(head: h11.Request, body: bytes) -> ReceivedRequest:
    target = head.target.decode("latin-1")
    parts = urlsplit(target)
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    form = None
    items: tuple[tuple[str, str], ...] = ()
    payload = None
    if media_type == "application/x-www-form-urlencoded":
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            items = tuple(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            form = dict(items)
    elif media_type == "application/json":
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            payload = json.loads(body)
    return ReceivedRequest(
        method=head.method.decode("ascii"),
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        form=form,
        form_items=items,
        json=payload,
        status=0,
    )


def _with_status(request: ReceivedRequest, status: int) -> ReceivedRequest:
    return dataclasses.replace(request, status=status)
