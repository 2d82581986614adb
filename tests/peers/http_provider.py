"""The shared half of the HTTP SMS provider peers (tests/peers/twilio_api.py, tests/peers/messente_api.py).

A peer is an HTTP/1.1 server on 127.0.0.1 (a free port) run by asyncio and h11 in its own thread, so a test or a
benchmark can drive it at thousands of requests a second over kept-alive connections. Each provider module says
how to answer a request; this module owns what every provider shares:

- the server: keep-alive, a dropped connection on request (read the request, close without an answer), the number
  of requests in flight (`max_in_flight`: the gateway's window is visible from outside);
- the record: every request received (`requests`), every message accepted (`messages`), every request the
  provider's published OpenAPI document refuses (`violations`);
- the script: `peer.script(Answer.rate_limited(2), Answer.drop())` answers the next message requests so;
- callbacks: receipts the peer posts by itself after accepting a message (`receipts="delivered"`), from a small
  thread pool, and the answers it got (`callbacks`);
- `OpenAPIContract`: a request or response checked against the vendored subset of the provider's document
  (tests/peers/openapi/, see its SOURCE.md) with jsonschema_rs, OpenAPI 3.0's `nullable` read as JSON Schema.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx
import jsonschema_rs

from tests.peers.net import LOOPBACK

OPENAPI_DIR = Path(__file__).resolve().parent / "openapi"
MAX_BODY = 1 << 20  # providers refuse far smaller bodies; this only keeps a runaway test from filling memory

__all__ = [
    "Answer",
    "AcceptedMessage",
    "CallbackResult",
    "Decision",
    "HTTPReply",
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
    def drop(cls) -> Answer:
        """Read the request, then close the connection without a byte of answer (the provider may have it)."""
        return cls(kind="drop")

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


# -- the published contract --------------------------------------------------------------------------------------


def _nullable_as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 writes "may be null" as `nullable: true`, which JSON Schema does not know: spell it out."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is not True:
        return converted
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


class OpenAPIContract:
    """Requests and responses checked against a vendored OpenAPI 3.0 subset, one compiled validator per schema."""

    def __init__(self, filename: str) -> None:
        self.document: dict[str, Any] = json.loads((OPENAPI_DIR / filename).read_text(encoding="utf-8"))
        self._components = _nullable_as_json_schema(self.document.get("components", {}))
        self._validators: dict[tuple[str, ...], jsonschema_rs.Validator] = {}
        self._lock = threading.Lock()

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return dict(self.document["paths"][path][method.lower()])

    def request_schema(self, path: str, method: str, media_type: str) -> dict[str, Any]:
        return dict(self.operation(path, method)["requestBody"]["content"][media_type]["schema"])

    def response_schema(self, path: str, method: str, status: int, media_type: str = "application/json") -> Any:
        return self.operation(path, method)["responses"][str(status)]["content"][media_type]["schema"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A `$ref` to #/components/schemas/… followed (one level: what form coercion needs)."""
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return dict(self.document["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return schema

    def request_errors(self, path: str, method: str, media_type: str, body: Any) -> list[str]:
        key = ("request", path, method.lower(), media_type)
        return self._errors(key, lambda: self.request_schema(path, method, media_type), body)

    def response_errors(self, path: str, method: str, status: int, body: Any) -> list[str]:
        key = ("response", path, method.lower(), str(status))
        return self._errors(key, lambda: self.response_schema(path, method, status), body)

    def _errors(self, key: tuple[str, ...], schema: Callable[[], Any], instance: Any) -> list[str]:
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                root = dict(_nullable_as_json_schema(schema()))
                root["components"] = self._components  # $refs resolve against the document's components
                validator = self._validators.setdefault(key, jsonschema_rs.Draft4Validator(root))
        return [_describe(error) for error in validator.iter_errors(instance)]


def _describe(error: jsonschema_rs.ValidationError) -> str:
    where = "/".join(str(part) for part in error.instance_path)
    return f"{where or '(body)'}: {error.message}"


# -- the server -------------------------------------------------------------------------------------------------


class ProviderPeer:
    """Base of a provider peer: subclasses implement `answer()` and build `url`."""

    provider: ClassVar[str] = ""

    def __init__(
        self, *, receipts: str | None = None, validate: bool = True, keep_requests: bool = True, latency: float = 0.0
    ) -> None:
        self.receipts = receipts
        self.validate = validate
        self.keep_requests = keep_requests  # a long benchmark may not want every request kept
        self.host = LOOPBACK
        self.port = 0
        self.latency = latency  # seconds every answer waits (the loop serves others meanwhile): lets a window fill up
        self.in_flight = 0  # requests read and not yet answered
        self.max_in_flight = 0  # the most at once: with a latency, the client's window as the peer saw it
        self._changed = threading.Condition()
        self._requests: list[ReceivedRequest] = []
        self._messages: list[AcceptedMessage] = []
        self._by_id: dict[str, AcceptedMessage] = {}
        self._violations: list[Violation] = []
        self._callbacks: list[CallbackResult] = []
        self._pending_callbacks = 0
        self._script: list[Answer] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
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
        return f"http://{self.host}:{self.port}"

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
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, self.host, 0, backlog=1024)
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
        for writer in list(self._writers):
            writer.transport.abort()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._loop.call_soon(self._loop.stop)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                request = await self._read_request(connection, reader)
                if request is None:
                    break
                keep_open = await self._respond(connection, writer, request)
                if not keep_open or connection.our_state is not h11.DONE:
                    break
                connection.start_next_cycle()
        except (h11.RemoteProtocolError, ValueError):
            with contextlib.suppress(h11.LocalProtocolError):
                writer.write(connection.send(h11.Response(status_code=400, headers=[("connection", "close")])))
                writer.write(connection.send(h11.EndOfMessage()))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _read_request(self, connection: h11.Connection, reader: asyncio.StreamReader) -> ReceivedRequest | None:
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                connection.receive_data(data)  # b"" = the client closed
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return _received(head, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    async def _respond(self, connection: h11.Connection, writer: asyncio.StreamWriter, request: Any) -> bool:
        with self._changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            decision = self.answer(request)
            if decision.delay or self.latency:
                await asyncio.sleep(decision.delay + self.latency)
        finally:
            with self._changed:
                self.in_flight -= 1
        reply, message = decision.reply, decision.message
        self._record(request, reply, message)
        if reply is None:
            return False
        headers = [("content-type", reply.content_type), ("content-length", str(len(reply.body))), *reply.headers]
        writer.write(
            connection.send(h11.Response(status_code=reply.status, headers=headers))
            + connection.send(h11.Data(data=reply.body))
            + connection.send(h11.EndOfMessage())
        )
        if writer.transport.get_write_buffer_size() > 256 * 1024:
            await writer.drain()
        if message is not None and self.receipts:
            self._send_receipt(message)
        return True

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


def _received(head: h11.Request, body: bytes) -> ReceivedRequest:
    target = head.target.decode("latin-1")
    parts = urlsplit(target)
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    form = None
    payload = None
    if media_type == "application/x-www-form-urlencoded":
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
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
        json=payload,
        status=0,
    )


def _with_status(request: ReceivedRequest, status: int) -> ReceivedRequest:
    return ReceivedRequest(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
        form=request.form,
        json=request.json,
        status=status,
    )


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Every (name, value) of a form body, repeated names kept (Twilio's MediaUrl may repeat)."""
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
