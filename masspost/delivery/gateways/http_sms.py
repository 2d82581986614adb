"""SMS through a provider's own HTTP API (Twilio, Messente, …): one gateway, one small module per provider.

A provider module (`twilio`, `messente`) holds only what differs between providers: how a message becomes a
request, how an answer becomes a `SendResult` (its documented error codes mapped to transient / permanent /
misconfigured), the account request `open` makes to check the credentials, and how its webhooks (delivery
receipts, replies) are authenticated and read. Everything else — the parallel requests up to the window over
kept-alive connections, the rate limiter's pace, what a dropped connection means, `unknown` for a request that
may have reached the provider — is here, the same for every provider (docs/delivery.md, "HTTP SMS providers").

A provider module is one entry in `gateways.HTTP_PROVIDERS` (which gives it `scheme://` and `scheme+http://`) and
holds `OPTIONS` (the URL options it takes beyond window= and timeout=), `provider(parts, public_url)` (its provider
object, a `SendingProvider`, from the parsed URL) and its tables of error codes. The gateway and the URLs are
built here (`from_url`, `provider_from_url`), and an answer is read here too (`classify`): the provider object
only says where the message's id is in a 2xx body and what its error body's code means (`ProviderError`).

TLS: the provider's certificate is checked against the system's CA certificates (`ssl.create_default_context()`,
as the SMTP gateway does; `SSL_CERT_FILE` / `SSL_CERT_DIR` point OpenSSL elsewhere), not a bundle of httpx's own.

No Django here: the webhook views call `masspost.delivery.webhooks`, which takes the provider from the SMS URL
(`provider_from_url`) and hands it a `WebhookRequest`.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import math
import re
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from types import ModuleType
from typing import Any, Literal, Protocol, cast
from urllib.parse import parse_qsl, urlsplit

import httpx

from masspost.delivery.gateways import HTTP_PROVIDERS
from masspost.delivery.gateways.base import STOPS_A_GROUP, Outcome, OutgoingMessage, SendResult
from masspost.delivery.gateways.url import parse_gateway_url
from masspost.errors import GatewayConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookRequest:
    """A webhook call as the provider made it."""

    kind: str  # the path segment after the provider: "status", "inbound", "dlr", …
    url: str  # the full public URL the provider called (MASSPOST_PUBLIC_URL + path + query): what Twilio signs
    secret: str  # the path segment after the kind ("" when there is none): what authenticates Messente's calls
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    content_type: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Receipt:
    """A delivery receipt: `stat` in the SMPP words that delivery.inbound.RECEIPT_STATES knows (DELIVRD, UNDELIV,
    EXPIRED, REJECTD, …); any other word is a state on the way and changes nothing."""

    remote_id: str
    stat: str
    error: str = ""  # the provider's error code and text for an undelivered message ("twilio 30003: …")
    # Undelivered because the recipient opted out with the provider (Twilio 21610 in a status callback, as a
    # Messaging Service reports it): recorded as the patient's own SMS opt-out, as when a send is refused for it.
    opt_out: bool = False
    # The outbox id the callback URL names (`?m=`, `callback_url`): lets a receipt settle a message left `unknown`
    # because the send's answer never came (webhooks.py). None when the URL names none.
    message_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """An SMS sent to the clinic's number."""

    remote_id: str  # the provider's id of the incoming message: a retried webhook is stored once
    source: str  # the sender's number as the provider gave it
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEvent:
    """What one webhook call says, and the answer the provider expects (200 with this body)."""

    receipts: list[Receipt] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    content_type: str = "text/plain"
    body: str = ""


# The query parameter of a receipt's callback URL that names the outbox row (`callback_url`): an id, no patient data.
MESSAGE_PARAM = "m"


def callback_url(url: str, message_id: int) -> str:
    """The receipt webhook `url` (MASSPOST_PUBLIC_URL + path: never a query of its own) for one message: with its
    outbox id in the query, so that the provider's receipt says which row it is for even when the send's answer,
    with the provider's id, was lost (a read timeout, a dropped connection, a 502)."""
    return f"{url}?{MESSAGE_PARAM}={int(message_id)}"


def callback_message_id(url: str) -> int | None:
    """The outbox id a webhook call's URL names (`callback_url`), or None: no `m`, more than one, or not a positive
    integer (ignored, not refused: the receipt is still read by its remote id)."""
    values = [value for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True) if name == MESSAGE_PARAM]
    if len(values) != 1 or not (values[0].isascii() and values[0].isdigit()) or len(values[0]) > 18:
        return None
    return int(values[0]) or None


class WebhookRefused(Exception):  # noqa: N818 - a refusal, not an error of ours
    """The call is not the provider's (a bad signature or secret, a body that is not the provider's): 403, and
    nothing changes. The message names no credential and no patient data."""


class WebhookUnknown(Exception):  # noqa: N818
    """No such webhook for this provider: 404."""


class HTTPProvider(Protocol):
    """The webhook side of a provider module (the sending side is the gateway's business)."""

    scheme: str  # "twilio": the URL scheme, and the provider's segment in the webhook paths

    def webhook(self, request: WebhookRequest) -> WebhookEvent: ...

    def webhook_urls(self, public_url: str) -> dict[str, str]:
        """Each webhook to register with the provider (name → full URL under `public_url`)."""
        ...


# -- the sending side ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderRequest:
    """One request to the provider's API, relative to the base URL (the gateway adds the host and Basic auth)."""

    method: str
    path: str
    form: dict[str, str] | None = None  # sent form-encoded (Twilio)
    json: dict[str, Any] | None = None  # sent as JSON (Messente)


# What a provider's error code means for the message (its module's table `ERRORS`). "unknown": the provider may
# have taken the message (its internal error): never re-sent by itself. "opt_out": permanent, and the recipient
# opted out with the provider.
Kind = Literal["transient", "unknown", "permanent", "misconfigured", "opt_out"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderError:
    """A provider's error body, read by its module."""

    code: str  # the provider's error code ("21211", "105")
    kind: Kind | None  # what its table says, None when the code is not in it (the HTTP status then decides)
    text: str  # for `last_error`: the code, the table's title or the provider's words scrubbed ("twilio 21999: …")
    logged: str  # for the log: the code and the table's title only, never the provider's words ("twilio 21999")


class SendingProvider(HTTPProvider, Protocol):
    """What a provider module gives the gateway: its requests, and what its answers say."""

    def account_request(self) -> ProviderRequest:
        """The cheap authenticated request `open` makes to check the credentials (nothing is sent)."""
        ...

    def read_account(self, response: httpx.Response) -> str:
        """What the account answer says ("Twilio account AC…a1b2 active"); `GatewayConfigError` when the
        credentials are refused or the account cannot send; `ProviderUnavailable` when the provider could not say."""
        ...

    def message_request(self, message: OutgoingMessage) -> ProviderRequest:
        """The message's request; ValueError when this message cannot be sent (no sender): permanent."""
        ...

    def remote_id(self, body: Any) -> str:
        """The message's id in a 2xx answer's JSON ("" when there is none)."""
        ...

    def provider_error(self, body: Any) -> ProviderError | None:
        """What an error answer's JSON says (None when it is not the provider's error body)."""
        ...


class ProviderAnswers:
    """Base of a provider object: `read_answer`, the answer to one message's request as a result (`classify`)."""

    def read_answer(self, response: httpx.Response) -> SendResult:
        return classify(cast(SendingProvider, self), response)[0]


class ProviderUnavailable(Exception):  # noqa: N818 - a state of the provider, not our error
    """The account request got no usable answer (a 5xx, a 429): the credentials are neither accepted nor refused."""


# The Retry-After honoured at most: a provider asking for an hour is backed off an hour, not a day (the pipeline's
# back-off uses it too).
RETRY_AFTER_MAX = 3600.0
# The longest `?timeout=`: a longer one would hold a window slot for a quarter of an hour and more.
TIMEOUT_MAX = 300.0
MAY_HAVE_IT = "the provider may have taken the message; not re-sent by itself"
# What could be a phone number in a provider's error text: never copied into an error (docs/delivery.md).
_NUMBER = re.compile(r"\+?\d[\d ().-]{3,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def retry_after(headers: Mapping[str, str]) -> float:
    """Seconds the provider asked to wait (RFC 9110 Retry-After: seconds, or an HTTP date); 0 when it did not say."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(RETRY_AFTER_MAX, max(0.0, seconds))


def scrubbed(text: str, limit: int = 160) -> str:
    """A provider's free-form error text with anything that looks like a phone number or an e-mail address taken
    out (the provider may quote the recipient), cut to `limit` characters: safe for `last_error` and logs."""
    text = _EMAIL.sub("…", _NUMBER.sub("…", " ".join(str(text).split())))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (a proxy's HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return None


def classify(provider: SendingProvider, response: httpx.Response) -> tuple[SendResult, str]:
    """The answer to one message's request as a result, and what to log of it (never the provider's words).

    2xx with the message's id: accepted; without one: unknown. 429 and 503 say the request was not processed:
    transient, with their Retry-After. Otherwise the provider's code decides when its table has it; else the
    status: 401 and 403 misconfigured, any other 5xx unknown (a 500, 502 or 504 may come after the provider took
    the message, and neither API is idempotent: sent again, it could reach the patient twice), any other 4xx
    permanent."""
    name, status = provider.scheme, response.status_code
    body = json_body(response)
    if response.is_success:
        remote_id = provider.remote_id(body)
        if remote_id:
            return SendResult.accepted(remote_id), f"accepted as {remote_id}"
        said = f"{name} HTTP {status} without the message's id: {MAY_HAVE_IT}"
        return SendResult.unknown(said), said
    error = provider.provider_error(body)
    text, logged = (error.text, error.logged) if error else (f"{name} HTTP {status}", f"{name} HTTP {status}")
    if status in (429, 503):
        return SendResult.transient(text, retry_after=retry_after(response.headers)), logged
    kind: Kind = (error.kind if error and error.kind else
                  "unknown" if status >= 500 else "misconfigured" if status in (401, 403) else "permanent")
    if kind == "transient":
        return SendResult.transient(text, retry_after=retry_after(response.headers)), logged
    if kind == "unknown":
        answered = f"{text} (HTTP {status})" if error else f"{name}: the provider answered {status}"
        return SendResult.unknown(f"{answered}: {MAY_HAVE_IT}"), f"{logged} (HTTP {status})" if error else logged
    if kind == "misconfigured":
        advice = ("check the credentials in MASSPOST_SMS_URL and the account with the provider" if status in (401, 403)
                  else "fix MASSPOST_SMS_URL, the account or the clinic's SMS sender")
        return SendResult.misconfigured(f"{text}: {advice}"), logged
    return SendResult.permanent(text, opt_out=kind == "opt_out"), logged


# -- provider URLs ------------------------------------------------------------------------------------------------

DEFAULT_WINDOW = 10


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderURL:
    """A provider URL taken apart: where the API is, the credentials, and the gateway's options."""

    provider: str  # "twilio": the scheme without "+http"
    base_url: str  # "https://api.twilio.com" (with the port when one is given)
    username: str
    password: str
    window: int
    timeout: float
    options: dict[str, str]


def parse_provider_url(url: str, *, provider: str, options: frozenset[str] = frozenset()) -> ProviderURL:
    """`provider://USER:PASSWORD@host[:port][?window=10&timeout=10&…]` (https), or `provider+http://…` (plain HTTP,
    refused unless the host is loopback: credentials and patients' numbers never cross a network unencrypted).
    ValueError, naming no part of the credentials, for anything amiss."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in (provider, f"{provider}+http"):
        raise ValueError(f"not a {provider} URL: it starts with {provider}:// (or {provider}+http:// on loopback)")
    parts = parse_gateway_url(url, kind=provider.capitalize(), options={"window", "timeout", *options})
    if not parts.username or not parts.password:
        raise ValueError(f"{provider} URL needs the credentials before the host: {provider}://USER:PASSWORD@host")
    plain = scheme.endswith("+http")
    if plain and not loopback(parts.host):
        raise ValueError(f"{scheme}:// (plain HTTP) is only for a host on this machine (127.0.0.1, ::1, localhost); "
                         f"use {provider}:// for the provider")
    window = parts.integer("window", DEFAULT_WINDOW) or 0
    if not 1 <= window <= 100:
        raise ValueError("window= must be from 1 to 100")
    timeout = parts.number("timeout", 10.0)
    if not (math.isfinite(timeout) and 0 < timeout <= TIMEOUT_MAX):
        raise ValueError(f"timeout= must be more than 0 and at most {TIMEOUT_MAX:g} seconds")
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    port = f":{parts.port}" if parts.port else ""
    return ProviderURL(provider=provider, base_url=f"{'http' if plain else 'https'}://{host}{port}",
                       username=parts.username, password=parts.password, window=window, timeout=timeout,
                       options=parts.options)


def loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost — exactly (no "localhost.", no "127.1", no IPv4-mapped address): where plain
    HTTP may go (`+http` gateways, a public URL for the webhooks)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _provider_module(url: str) -> ModuleType | None:
    module = HTTP_PROVIDERS.get(urlsplit(url).scheme.lower().removesuffix("+http"))
    return None if module is None else import_module(module)


def _parsed(url: str, public_url: str) -> tuple[SendingProvider, ProviderURL]:
    """The provider object and the URL's parts, the URL parsed once; ValueError (naming no credential)."""
    module = _provider_module(url)
    if module is None:
        raise ValueError("not an HTTP SMS provider's URL")
    scheme = urlsplit(url).scheme.lower().removesuffix("+http")
    parts = parse_provider_url(url, provider=scheme, options=module.OPTIONS)
    provider: SendingProvider = module.provider(parts, public_url.rstrip("/"))
    return provider, parts


def provider_from_url(url: str, public_url: str = "") -> SendingProvider:
    """The provider object (webhook side, and the gateway's requests) for an SMS gateway URL; `GatewayConfigError`
    when the URL is no HTTP provider's (file:, smpp:, …) or cannot be used. Never quotes the URL. `public_url` is
    only needed for the callbacks its messages ask for."""
    if _provider_module(url) is None:
        names = ", ".join(f"{name}://" for name in HTTP_PROVIDERS)
        raise GatewayConfigError(f"MASSPOST_SMS_URL is not an HTTP SMS provider's URL ({names})")
    try:
        return _parsed(url, public_url)[0]
    except ValueError as exc:
        raise GatewayConfigError(f"bad {urlsplit(url).scheme.lower()} gateway URL: {exc}") from None


def from_url(url: str, public_url: str = "") -> HTTPSMSGateway:
    """The gateway for a provider's URL (`scheme://`, or `scheme+http://` on loopback); `public_url` for the
    callbacks its messages ask for. ValueError, naming no credential, for a URL that cannot be used."""
    provider, parts = _parsed(url, public_url)
    return HTTPSMSGateway(provider=provider, base_url=parts.base_url, username=parts.username,
                          password=parts.password, window=parts.window, timeout=parts.timeout)


# -- the gateway --------------------------------------------------------------------------------------------------

@dataclass(eq=False)
class _Batch:
    """Messages handed to the pool by `HTTPSMSGateway.begin`: a future per request written, in message order, then
    at most one result for the message at which writing stopped."""

    futures: list[Future[SendResult]] = field(default_factory=list)
    stopped: SendResult | None = None


class HTTPSMSGateway:
    """SMS through a provider's HTTP API: up to `window` requests in parallel over one kept-alive client.

    `begin` takes a window slot for each message (freed when its answer is read), builds its request, calls `pace`
    once per SMS part on the caller's thread (a message that cannot be built uses no rate slot), and hands the
    request to a pool of `window` threads; `finish` waits for the answers, in message order. So no more than
    `window` requests are ever written and unanswered: what a killed worker can leave `unknown` (docs/delivery.md,
    "HTTP SMS providers"). Once an answer says to stop (transient, unknown, misconfigured), `begin` writes nothing
    more of its batch; what it already wrote runs to its own answer, each classified — a batch's results may mix
    accepted and transient, and the rest go back to the queue. Should pacing or building a request fail (the rate
    limiter's database), `begin` returns what it wrote and one transient result for the message it did not.
    """

    def __init__(self, *, provider: SendingProvider, base_url: str, username: str, password: str,
                 window: int = DEFAULT_WINDOW, timeout: float = 10.0) -> None:
        self.provider = provider
        self.name = provider.scheme
        self.window = window
        self.timeout = timeout
        self.base_url = base_url
        self.account = ""  # what `open` found: "Twilio account AC…a1b2 active" (never a credential)
        self.unchecked = ""  # why `open` could not check the account (the provider out of reach); "" when it did
        self._auth = httpx.BasicAuth(username, password)
        self._slots = threading.BoundedSemaphore(window)
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._misconfigured = ""  # why the provider refused the account: nothing more is sent

    # -- connection ---------------------------------------------------------------------------------------------

    def open(self) -> None:
        """Check the credentials with the provider's account request. Refused credentials or an account that
        cannot send raise `GatewayConfigError`; a provider out of reach is logged, and each send says so itself."""
        client = self._started()
        request = self.provider.account_request()
        try:
            response = client.request(request.method, request.path, data=request.form, json=request.json)
        except httpx.HTTPError as exc:
            misconfigured = _tls_refusal(self.name, exc)
            if misconfigured:
                self._misconfigured = misconfigured
                raise GatewayConfigError(misconfigured) from None
            self.unchecked = _transport_text(exc)
            logger.warning("%s: account not checked at open: %s", self.name, self.unchecked)
            return
        try:
            self.account = self.provider.read_account(response)
        except GatewayConfigError as exc:
            self._misconfigured = str(exc)
            raise
        except ProviderUnavailable as exc:
            self.unchecked = str(exc)
            logger.warning("%s: account not checked at open: %s", self.name, exc)
            return
        self.unchecked = ""
        logger.info("%s: %s", self.name, self.account)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            client, self._client = self._client, None
        if pool is not None:
            pool.shutdown(wait=True)  # every request written gets its answer (or its timeout) first
        if client is not None:
            client.close()

    def _started(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                https = self.base_url.startswith("https:")
                # The system's CA certificates, as the SMTP gateway trusts (SSL_CERT_FILE / SSL_CERT_DIR honoured by
                # OpenSSL), not certifi's bundle; HTTP/2 where the provider offers it (ALPN), else HTTP/1.1.
                self._client = httpx.Client(
                    base_url=self.base_url, auth=self._auth, http2=https, timeout=httpx.Timeout(self.timeout),
                    verify=ssl.create_default_context() if https else True,
                    limits=httpx.Limits(max_connections=self.window, max_keepalive_connections=self.window),
                    headers={"user-agent": "masspost"}, follow_redirects=False,
                )
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix=f"{self.name}-http")
            return self._client

    # -- sending ------------------------------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> SendResult:
        return self.send_many([message])[0]

    def send_many(self, messages: Sequence[OutgoingMessage], *,
                  pace: Callable[[], None] | None = None) -> list[SendResult]:
        return self.finish(self.begin(messages, pace=pace))

    def begin(self, messages: Sequence[OutgoingMessage], *, pace: Callable[[], None] | None = None) -> _Batch:
        """Hand `messages` to the pool in order (see the class); returns while their answers are on the way."""
        batch = _Batch()
        client = self._started()
        for message in messages:
            if self._misconfigured:
                # Said once per batch: by its own refused request, or here when it has written nothing.
                if not batch.futures:
                    batch.stopped = SendResult.misconfigured(self._misconfigured)
                break
            # A slot frees when an answer is read or a timeout ends the request: its connect, write and read each
            # have `timeout`, so a window still full after three of them is a provider in trouble.
            if not self._slots.acquire(timeout=3 * self.timeout):
                batch.stopped = SendResult.transient(f"{self.name}: all {self.window} requests of the window still "
                                                     f"unanswered after {3 * self.timeout:g}s")
                break
            # Looked at once the slot is taken: with a full window, the answer that freed it may say to stop.
            if any(future.done() and future.result().outcome in STOPS_A_GROUP for future in batch.futures):
                self._slots.release()
                break
            try:
                request = self.provider.message_request(message)
            except ValueError as exc:  # this message cannot be sent (no sender): the next one can
                self._slots.release()
                batch.futures.append(_done(SendResult.permanent(f"message {message.message_id}: {exc}")))
                continue
            except Exception as exc:  # noqa: BLE001 - not written: the batch so far, and this one back to the queue
                self._slots.release()
                batch.stopped = self._not_written(message, "building its request", exc)
                break
            except BaseException:
                self._slots.release()  # not written: its slot is free again
                raise
            try:
                for _part in range(max(1, message.parts)):
                    if pace is not None:
                        pace()
                assert self._pool is not None, "the gateway was closed while a batch was begun"
                future = self._pool.submit(self._request, client, message, request)
            except Exception as exc:  # noqa: BLE001 - the rate limiter's database, a closed pool: as above
                self._slots.release()
                batch.stopped = self._not_written(message, "pacing or handing over its request", exc)
                break
            except BaseException:
                self._slots.release()
                raise
            future.add_done_callback(lambda _future: self._slots.release())
            batch.futures.append(future)
        return batch

    def _not_written(self, message: OutgoingMessage, doing: str, exc: Exception) -> SendResult:
        """The result for a message `begin` could not hand over: transient, it goes back to the queue. What was
        written before it still gets its answers (the caller records them)."""
        logger.warning("%s message %s not written: %s failed: %s", self.name, message.message_id, doing,
                       type(exc).__name__)
        return SendResult.transient(f"{self.name}: not written, {doing} failed: {_transport_text(exc)}")

    def finish(self, batch: _Batch) -> list[SendResult]:
        """The results of a begun batch, in message order (fewer than its messages when writing stopped)."""
        results = [future.result() for future in batch.futures]
        if batch.stopped is not None:
            results.append(batch.stopped)
        return results

    def _request(self, client: httpx.Client, message: OutgoingMessage, request: ProviderRequest) -> SendResult:
        """One message's request, on a pool thread; never raises. The log line names the provider's code and the
        table's title only: the provider's own words (scrubbed) go to the result's error alone."""
        written = _Written()
        try:
            response = client.request(request.method, request.path, data=request.form, json=request.json,
                                      extensions={"trace": written.trace})
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the message gets a result
            result = _failure(self.name, exc, written=written.started)
            logged = result.error
        else:
            try:
                result, logged = classify(self.provider, response)
            except Exception as exc:  # noqa: BLE001 - an answer that cannot be read: it came, so it was written
                logger.exception("%s: unexpected error reading an answer", self.name)
                result = SendResult.unknown(f"{self.name}: {type(exc).__name__} reading the answer: {MAY_HAVE_IT}")
                logged = result.error
        if result.outcome is Outcome.MISCONFIGURED:
            self._misconfigured = self._misconfigured or result.error
        if result.outcome is Outcome.ACCEPTED:
            logger.info("%s message %s accepted as %s", self.name, message.message_id, result.remote_id)
        else:
            logger.info("%s message %s %s: %s", self.name, message.message_id, result.outcome, logged)
        return result


class _Written:
    """Whether a request's first byte was handed to the connection (httpcore's trace extension): an exception
    before that is a request the provider never saw."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event.endswith(".send_request_headers.started"):
            self.started = True


def _done(result: SendResult) -> Future[SendResult]:
    future: Future[SendResult] = Future()
    future.set_result(result)
    return future


# Before the request left: the provider never saw it, so it may be sent again.
_NOT_WRITTEN = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout,
                httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


def _failure(name: str, exc: Exception, *, written: bool) -> SendResult:
    """A request that got no answer, classified by how far it went (docs/delivery.md, "Statuses"); `written`:
    whether its headers were started on the connection."""
    misconfigured = _tls_refusal(name, exc)
    if misconfigured:
        return SendResult.misconfigured(misconfigured)
    if isinstance(exc, _NOT_WRITTEN):
        return SendResult.transient(f"{name}: {_transport_text(exc)}")
    if isinstance(exc, httpx.HTTPError):
        # Read timeout, connection lost or closed before the answer, an answer that cannot be read: the request
        # was written, so the provider may have the message. Sent again it could reach the patient twice.
        return SendResult.unknown(f"{name}: {_transport_text(exc)}; written, no answer: the provider may have it")
    if not written:  # not httpx's (a bug, a value the socket refuses): raised before a byte left
        logger.warning("%s: %s before the request was written", name, type(exc).__name__)
        return SendResult.transient(f"{name}: {type(exc).__name__} before the request was written")
    logger.exception("%s: unexpected error after the request was written", name)
    return SendResult.unknown(f"{name}: {type(exc).__name__} after the request was written: the provider may have it")


def _transport_text(exc: Exception) -> str:
    """What went wrong, without the URL (httpx's messages quote none, but the request's URL must stay out)."""
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {scrubbed(detail, 120)}" if detail else type(exc).__name__


def _tls_refusal(name: str, exc: BaseException) -> str:
    """Why the provider's TLS certificate is not trusted, when that is the failure: only a change of configuration
    (the host in the URL, the system's CA certificates) helps, so it is *misconfigured*, not transient."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"{name}: the provider's TLS certificate is not trusted ({cause.verify_message}); check the host "
                    "in MASSPOST_SMS_URL")
        cause = cause.__cause__ or cause.__context__
    return ""
