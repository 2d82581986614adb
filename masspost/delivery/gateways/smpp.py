"""SMPP 3.4 gateway (ESME side, transceiver bind) on smpplib's PDU classes.

URL: ``smpp://system_id:password@host[:2775][?window=10&enquire_link=30&timeout=10&system_type=…]``;
the options are in docs/delivery.md, "Gateways".

How it runs: `send_many` writes the submit_sm of every part of every message it is given, with at
most `window` outstanding across the connection, and returns when all their submit_sm_resp arrived
(`send` is `send_many` of one message). A reader thread owns the socket's
receiving side: it matches responses to waiting senders, answers enquire_link, sends one itself
when the link has been quiet for `enquire_link` seconds, and hands deliver_sm to the hooks
(`on_delivery_receipt(remote_id, stat, raw_text)`, `on_incoming(source, text, source_ton)`), which run on a
second thread, "smpp-hooks", so that a hook's database write never holds up the responses; a
deliver_sm is acknowledged after its hook returned, so an exception in a hook makes the SMSC
redeliver (ESME_RX_T_APPN) instead of losing a receipt.

Texts are split and encoded by `masspost.sms` (the same function the preview counts with); a
multipart message carries a 6-octet UDH (05 00 03 ref total seq) in every part, esm_class 0x40.
`remote_id` is the SMSC's message id of the first part; receipts are matched by it. The ids of all
parts are in `last_part_ids` after each send and in the INFO log line.

Classification: ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN, a lost connection and a
response timeout are transient; every other command_status is permanent, with its name and hex kept.
Bind trouble is transient (it would fail every message alike) — except a bind refused for the account
(ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL): `open` raises `GatewayConfigError`, `send` returns
*misconfigured*, and the gateway never binds with those credentials again. A dropped connection is reopened
by the next `send`; failed reconnects back off exponentially (1 s doubling to 60 s) meanwhile `send`
returns transient at once.

No Django here, and no patient data in logs: smpplib's own logger (which hex-dumps PDUs) is muted.
This module is the gateway; `smpp_session` is one connection with its threads, `smpp_receipts` the receipts
held for results not recorded yet and the hand-over of deliver_sm to the hooks, `smpp_pdu` the submit_sm
parameters and the reading of command_status values, receipts and MO texts.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.delivery.gateways.smpp_pdu import (
    BIND_REFUSALS,
    ESME_ROK,
    TRANSIENT_STATUSES,
    status_text,
    submit_params,
)
from masspost.delivery.gateways.smpp_receipts import HeldReceipts, deliver_many
from masspost.delivery.gateways.smpp_session import Pending, Session, SMPPError
from masspost.delivery.gateways.url import parse_gateway_url
from masspost.errors import GatewayConfigError

logger = logging.getLogger(__name__)

ReceiptHook = Callable[[str, str, str], None]
ReceiptsHook = Callable[[list[tuple[str, str, str]]], None]  # many (remote_id, stat, raw_text) at once
IncomingHook = Callable[[str, str, int], None]  # (source, text, source_ton: the SMSC's type of number)


@dataclass(eq=False)
class _Batch:
    """Messages written by `SMPPGateway.begin`, waiting for their responses."""

    session: Session | None = None
    results: list[SendResult | None] = field(default_factory=list)  # None: written, response still to come
    in_flight: list[tuple[int, OutgoingMessage, list[Pending], float]] = field(default_factory=list)


class SMPPGateway:
    """An ESME bound as transceiver; `send_many` = all parts of several messages through one window."""

    name = "smpp"

    def __init__(
        self,
        *,
        host: str,
        port: int = 2775,
        system_id: str,
        password: str,
        system_type: str = "",
        window: int = 10,
        enquire_link: float = 30.0,
        timeout: float = 10.0,
        source_ton: int | None = None,
        source_npi: int | None = None,
        on_delivery_receipt: ReceiptHook | None = None,
        on_delivery_receipts: ReceiptsHook | None = None,
        on_incoming: IncomingHook | None = None,
        hold_receipts: bool = False,
        on_hook_thread_exit: Callable[[], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.window, self.enquire_link, self.timeout = window, enquire_link, timeout
        self.source_ton, self.source_npi = source_ton, source_npi
        self.on_delivery_receipt = on_delivery_receipt
        self.on_delivery_receipts = on_delivery_receipts  # preferred over the one-by-one hook when given
        self.on_incoming = on_incoming
        self.on_hook_thread_exit = on_hook_thread_exit  # called on each session's hook thread as it ends
        # With hold_receipts, a receipt for a message whose result the caller has not recorded yet is held
        # (unacknowledged) and reported in that message's SendResult instead of going to the hooks; `settle`
        # acknowledges it once the caller has recorded the result (docs/delivery.md, "Receipts").
        self.hold_receipts = hold_receipts
        self._held = HeldReceipts()
        self.last_part_ids: tuple[str, ...] = ()
        self.enquire_links_answered = 0
        self._slots = threading.BoundedSemaphore(window)
        self._session: Session | None = None
        self._session_lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        self._next_attempt = 0.0
        self._misconfigured = ""  # why the SMSC refused the credentials: no bind is tried again
        self._references = itertools.count(random.randrange(256))

    # -- connection -------------------------------------------------------------------------------

    def open(self) -> None:
        """Bind now. A bind refused for the credentials raises `GatewayConfigError`; any other failure is logged
        and reported by each `send` as transient."""
        try:
            self._bound_session()
        except SMPPError as exc:
            logger.warning("SMPP %s:%s not bound at open: %s", self.host, self.port, exc)

    def close(self) -> None:
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.stop()
        self._held.clear()  # never acknowledged: the SMSC delivers them again

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.alive

    def _bound_session(self) -> Session:
        with self._session_lock:
            if self._session is not None and self._session.alive:
                return self._session
            if self._misconfigured:
                # Never bind again with credentials the SMSC refused: some lock the account after a few tries.
                raise GatewayConfigError(self._misconfigured)
            now = time.monotonic()
            if now < self._next_attempt:
                wait = self._next_attempt - now
                raise SMPPError(f"reconnect backoff ({wait:.1f}s left) after: {self._last_failure}")
            session = Session(self)
            try:
                session.start()
            except SMPPError as exc:
                if exc.bind_status in BIND_REFUSALS:
                    self._misconfigured = (f"SMPP {self.host}:{self.port}: {exc}: check the system_id, the "
                                           "password and system_type= with the provider")
                    raise GatewayConfigError(self._misconfigured) from None
                self._last_failure = str(exc)
                self._failures += 1
                delay = min(60.0, 2.0 ** (self._failures - 1)) * random.uniform(0.8, 1.2)
                self._next_attempt = now + delay
                raise
            self._failures = 0
            self._session = session
            return session

    # -- sending ----------------------------------------------------------------------------------

    def send(self, message: OutgoingMessage) -> SendResult:
        return self.send_many([message])[0]

    def send_many(self, messages: Sequence[OutgoingMessage], *,
                  pace: Callable[[], None] | None = None) -> list[SendResult]:
        """Submit `messages` in order through one window shared by all their parts; results in order.

        At most `window` submit_sm are unanswered at any time, so a message's parts can be in flight
        while the next message is written. Once a transient response or a dead session shows up, no
        further message is written and the results stop there (a throttling SMSC is not fed the rest
        of the window); every message that was written gets its result. `pace()` runs before each
        submit_sm (the worker's rate limiter). A message waits at most `timeout` for a window slot
        and, once written, `timeout` for its responses.
        """
        return self.finish(self.begin(messages, pace=pace))

    def begin(self, messages: Sequence[OutgoingMessage], *,
              pace: Callable[[], None] | None = None) -> _Batch:
        """The writing half of `send_many`: returns once every message is written (or writing stopped), while
        the responses are still on their way; `finish` waits for them. Batches begun one after another share
        the window, so the next batch can be written while the last one's responses come back."""
        batch = _Batch()
        try:
            for message in messages:
                try:
                    submits = self._submits(message)
                except ValueError as exc:
                    batch.results.append(SendResult.permanent(f"message {message.message_id}: {exc}"))
                    continue
                if batch.session is None:
                    try:
                        batch.session = self._bound_session()
                    except GatewayConfigError as exc:
                        batch.results.append(SendResult.misconfigured(str(exc)))
                        break
                    except SMPPError as exc:
                        batch.results.append(SendResult.transient(f"SMPP {exc}"))
                        break
                if batch.in_flight and _transient_seen(batch.in_flight):
                    break
                waiting = self._write(batch.session, submits, pace)
                batch.results.append(None)
                batch.in_flight.append((len(batch.results) - 1, message, waiting, time.monotonic()))
                if waiting and waiting[-1].error:  # the session died while this message was written
                    break
        except SMPPError as exc:
            # Only a full window can get here (writes that fail finish their pending with an error instead).
            batch.results.append(SendResult.transient(f"SMPP {exc}"))
        return batch

    def finish(self, batch: _Batch) -> list[SendResult]:
        """Wait for a begun batch's responses; its results in order (see `send_many`)."""
        for index, message, waiting, written in batch.in_flight:
            for pending in waiting:
                if not pending.done.wait(max(0.0, written + self.timeout - time.monotonic())) and batch.session:
                    batch.session.die(f"no submit_sm_resp within {self.timeout}s")
            batch.results[index] = self._result(message, waiting)
        return [result for result in batch.results if result is not None]

    def _write(self, session: Session, submits: list[dict[str, Any]],
               pace: Callable[[], None] | None) -> list[Pending]:
        """Write one message's parts; a part that cannot be written is a pending finished with an error."""
        waiting: list[Pending] = []
        for params in submits:
            # A slot is freed by the part's response, or by the session's death.
            if not self._slots.acquire(timeout=self.timeout):
                if not waiting:
                    raise SMPPError(f"window of {self.window} still full after {self.timeout}s")
                session.die(f"window of {self.window} still full after {self.timeout}s")
                break
            if pace is not None:
                try:
                    pace()
                except BaseException:
                    self._slots.release()  # the part is not written: its slot is free again
                    raise
            try:
                waiting.append(session.request("submit_sm", on_done=self._slots.release,
                                               owns_receipt=self.hold_receipts and not waiting, **params))
            except SMPPError as exc:
                failed = Pending()
                failed.finish(error=str(exc))
                waiting.append(failed)
                break
        return waiting

    def _result(self, message: OutgoingMessage, waiting: list[Pending]) -> SendResult:
        ids = tuple(p.message_id for p in waiting)
        errors = [p.error or status_text(p.status) for p in waiting if p.error or p.status != ESME_ROK]
        if not errors:
            self.last_part_ids = ids
            logger.info("SMPP message %s accepted as %s", message.message_id, ",".join(ids))
            return SendResult.accepted(ids[0], receipt=self._held_state(ids[0]))
        if waiting and waiting[0].owned_id:
            # Not recorded as accepted (or the session died just as the answer came): its receipt takes the usual way.
            self._disown([waiting[0].owned_id])
        accepted = sum(1 for p in waiting if not p.error and p.status == ESME_ROK)
        summary = f"SMPP {errors[0]}"
        if len(waiting) > 1:
            summary += f" ({accepted} of {len(waiting)} parts accepted)"
        if any(p.error and p.written for p in waiting):
            # Written, and then the session died or no answer came: the SMSC may have it. Sent again it could
            # reach the patient twice, so it is neither retried nor failed (docs/delivery.md, "Statuses").
            logger.info("SMPP message %s unanswered: %s", message.message_id, summary)
            return SendResult.unknown(f"{summary}; written, no answer: the SMSC may have it")
        transient = any(p.error or p.status in TRANSIENT_STATUSES for p in waiting)
        permanent = any(not p.error and p.status not in TRANSIENT_STATUSES | {ESME_ROK} for p in waiting)
        logger.info("SMPP message %s refused: %s", message.message_id, summary)
        if permanent or not transient:
            return SendResult.permanent(summary)
        return SendResult.transient(summary)

    def _submits(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        return submit_params(message, reference=next(self._references) % 256, source_ton=self.source_ton,
                             source_npi=self.source_npi)

    # -- receipts held for results not recorded yet (smpp_receipts) ----------------------------------------------

    def _own(self, remote_id: str) -> None:
        self._held.own(remote_id)

    def _hold(self, pdu: Any, session: Session) -> bool:
        return self._held.hold(pdu, session)

    def _held_state(self, remote_id: str) -> str:
        return self._held.state_of(remote_id)

    def take_receipts(self, remote_ids: Sequence[str]) -> dict[str, str]:
        """Receipts held for these messages since their results were returned (`HeldReceipts.take`)."""
        return self._held.take(remote_ids)

    def settle(self, remote_ids: Sequence[str], *, release: bool = True) -> None:
        """The caller has recorded these messages' results and receipts (`HeldReceipts.settle`)."""
        self._held.settle(remote_ids, release=release)

    def _disown(self, remote_ids: list[str]) -> None:
        self._held.disown(remote_ids)

    def _deliver_many(self, pdus: list[Any]) -> list[tuple[int, int]]:
        return deliver_many(pdus, self)


def _transient_seen(in_flight: list[tuple[int, OutgoingMessage, list[Pending], float]]) -> bool:
    return any(p.done.is_set() and (p.error or p.status in TRANSIENT_STATUSES)
               for _index, _message, waiting, _written in in_flight for p in waiting)


def from_url(
    url: str,
    *,
    on_delivery_receipt: ReceiptHook | None = None,
    on_delivery_receipts: ReceiptsHook | None = None,
    on_incoming: IncomingHook | None = None,
    hold_receipts: bool = False,
    on_hook_thread_exit: Callable[[], None] | None = None,
) -> SMPPGateway:
    """A gateway from an ``smpp://system_id:password@host:port?…`` URL (options in docs/delivery.md)."""
    if urlsplit(url).scheme != "smpp":
        raise ValueError("not an SMPP URL: it starts with smpp://")
    parts = parse_gateway_url(url, kind="SMPP", options={"window", "enquire_link", "timeout", "system_type",
                                                         "source_ton", "source_npi"})
    if not parts.username:
        raise ValueError("SMPP URL needs system_id@host")
    window = parts.integer("window", 10) or 0
    if window < 1:
        raise ValueError("window must be at least 1")
    return SMPPGateway(
        host=parts.host,
        port=parts.port or 2775,
        system_id=parts.username,
        password=parts.password,
        system_type=parts.options.get("system_type", ""),
        window=window,
        enquire_link=parts.number("enquire_link", 30.0),
        timeout=parts.number("timeout", 10.0),
        source_ton=parts.integer("source_ton", None),
        source_npi=parts.integer("source_npi", None),
        on_delivery_receipt=on_delivery_receipt,
        on_delivery_receipts=on_delivery_receipts,
        on_incoming=on_incoming,
        hold_receipts=hold_receipts,
        on_hook_thread_exit=on_hook_thread_exit,
    )
