"""SMPP 3.4 gateway (ESME side, transceiver bind) on smpplib's PDU classes.

URL: ``smpp://system_id:password@host[:2775][?window=10&enquire_link=30&timeout=10&system_type=…]``;
the options are in docs/delivery.md, "Gateways".

How it runs: `send_many` writes the submit_sm of every part of every message it is given, with at
most `window` outstanding across the connection, and returns when all their submit_sm_resp arrived
(`send` is `send_many` of one message). A reader thread owns the socket's
receiving side: it matches responses to waiting senders, answers enquire_link, sends one itself
when the link has been quiet for `enquire_link` seconds, and hands deliver_sm to the hooks
(`on_delivery_receipt(remote_id, stat, raw_text)`, `on_incoming(source, text)`), which run on a
second thread, "smpp-hooks", so that a hook's database write never holds up the responses; a
deliver_sm is acknowledged after its hook returned, so an exception in a hook makes the SMSC
redeliver (ESME_RX_T_APPN) instead of losing a receipt.

Texts are split and encoded by `masspost.sms` (the same function the preview counts with); a
multipart message carries a 6-octet UDH (05 00 03 ref total seq) in every part, esm_class 0x40.
`remote_id` is the SMSC's message id of the first part; receipts are matched by it. The ids of all
parts are in `last_part_ids` after each send and in the INFO log line.

Classification: ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN, a lost connection and a
response timeout are transient; every other command_status is permanent, with its name and hex kept.
Bind trouble is transient (it would fail every message alike). A dropped connection is reopened by
the next `send`; failed reconnects back off exponentially (1 s doubling to 60 s) meanwhile `send`
returns transient at once.

No Django here, and no patient data in logs: smpplib's own logger (which hex-dumps PDUs) is muted.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import random
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from masspost import sms
from masspost.delivery.gateways.base import OutgoingMessage, SendResult

logger = logging.getLogger(__name__)

ReceiptHook = Callable[[str, str, str], None]
ReceiptsHook = Callable[[list[tuple[str, str, str]]], None]  # many (remote_id, stat, raw_text) at once
IncomingHook = Callable[[str, str], None]

ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
TRANSIENT_STATUSES = frozenset({ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN})
_STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(smpplib.consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
_MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                   7: "UNKNOWN", 8: "REJECTD"}  # fmt: skip
FINAL_STATES = frozenset({"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "REJECTD"})  # a message's last word
_RECEIPT_ID = re.compile(rb"\bid:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)", re.IGNORECASE)
_TRUE = {"1", "true", "yes", "on"}
HOOK_LINGER = 0.02  # seconds the hook thread waits to gather a burst of receipts
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def status_text(status: int) -> str:
    """``ESME_RTHROTTLED (0x00000058)``: the form kept in errors."""
    return f"{_STATUS_NAMES.get(status, 'unknown status')} (0x{status:08X})"


class SMPPError(Exception):
    """Transport trouble on one session; always reported to the worker as a transient result."""


@dataclass(eq=False)
class _Pending:
    """One PDU waiting for its response; `on_done` (freeing a window slot) runs exactly once."""

    on_done: Callable[[], None] | None = None
    owns_receipt: bool = False  # a message's first part: its receipt is held until the result is recorded
    owned_id: str = ""  # the remote id whose receipts are held for it (set before the response is finished)
    done: threading.Event = field(default_factory=threading.Event)
    status: int = -1
    message_id: str = ""
    error: str = ""  # set when the session died before the response came

    def finish(self, *, status: int = -1, message_id: str = "", error: str = "") -> None:
        with _FINISH_LOCK:
            if self.done.is_set():
                return
            self.status, self.message_id, self.error = status, message_id, error
            self.done.set()
        if self.on_done is not None:
            self.on_done()


_FINISH_LOCK = threading.Lock()


@dataclass(eq=False)
class _Batch:
    """Messages written by `SMPPGateway.begin`, waiting for their responses."""

    session: _Session | None = None
    results: list[SendResult | None] = field(default_factory=list)  # None: written, response still to come
    in_flight: list[tuple[int, OutgoingMessage, list[_Pending], float]] = field(default_factory=list)


@dataclass(eq=False)
class _HeldReceipt:
    session: _Session
    pdu: Any
    stat: str
    reported: bool = False  # handed to the caller in a SendResult: acknowledged by `settle`


class _Client(smpplib.client.Client):  # type: ignore[misc]
    """smpplib's client with TCP_NODELAY: without it, Nagle + delayed ACK hold every small PDU up to
    ~40 ms, which against an SMSC that sends receipts cut throughput from thousands to ~45 msg/s."""

    def _create_socket(self) -> socket.socket:
        sock: socket.socket = super()._create_socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock


def _silent_logger() -> logging.Logger:
    # Not registered with logging's manager, so no dictConfig can re-enable its PDU hex dumps.
    muted = logging.Logger("masspost.smpp.wire")
    muted.disabled = True
    muted.propagate = False
    return muted


class _Session:
    """One TCP connection and bind. Dies once; the gateway replaces it."""

    def __init__(self, gateway: SMPPGateway) -> None:
        self.gateway = gateway
        self.client = _Client(gateway.host, gateway.port, timeout=gateway.timeout, allow_unknown_opt_params=True)
        self.client.logger = _silent_logger()
        self.write_lock = threading.RLock()
        self.pending: dict[int, _Pending] = {}
        self.alive = False
        self.closing = False
        self.death = ""
        self.last_received = time.monotonic()
        self.enquiry: _Pending | None = None
        self.enquiry_sent = 0.0
        self.reader: threading.Thread | None = None
        self.inbound: queue.SimpleQueue[Any] = queue.SimpleQueue()  # deliver_sm for the hooks; None = stop
        self.hooks: threading.Thread | None = None

    def start(self) -> None:
        try:
            self.client.connect()
            self.client.bind_transceiver(
                system_id=self.gateway.system_id,
                password=self.gateway.password,
                system_type=self.gateway.system_type,
            )
        except smpplib.exceptions.PDUError as exc:
            self.client.disconnect()
            status = exc.args[1] if len(exc.args) > 1 else -1
            raise SMPPError(f"bind refused: {status_text(status)}") from exc
        except (OSError, smpplib.exceptions.ConnectionError) as exc:
            self.client.disconnect()
            raise SMPPError(f"cannot connect/bind: {type(exc).__name__} {exc}".strip()) from exc
        self.alive = True
        self.last_received = time.monotonic()
        self.reader = threading.Thread(target=self._read_loop, name="smpp-reader", daemon=True)
        self.reader.start()
        self.hooks = threading.Thread(target=self._hook_loop, name="smpp-hooks", daemon=True)
        self.hooks.start()

    # -- writing ----------------------------------------------------------------------------------

    def request(self, command: str, on_done: Callable[[], None] | None = None, owns_receipt: bool = False,
                **params: Any) -> _Pending:
        """Send one request PDU and return what will hold its response (finished in every case)."""
        pending = _Pending(on_done=on_done, owns_receipt=owns_receipt)
        with self.write_lock:
            if not self.alive:
                pending.finish(error=self.death or "not connected")
                raise SMPPError(pending.error)
            try:
                pdu = smpplib.smpp.make_pdu(command, client=self.client, **params)
            except BaseException:
                pending.finish(error="PDU could not be built")
                raise
            self.pending[pdu.sequence] = pending
            self._write(pdu)
        return pending

    def respond(self, command: str, sequence: int, status: int = ESME_ROK) -> None:
        pdu = smpplib.smpp.make_pdu(command, client=self.client, sequence=sequence)
        # smpplib's constructor keeps its own defaults for these two; they must be set afterwards.
        pdu.sequence, pdu.status = sequence, status
        with self.write_lock:
            if self.alive:
                self._write(pdu)

    def _write(self, pdu: Any) -> None:
        try:
            self.client.send_pdu(pdu)
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as exc:
            self.die(f"write failed: {type(exc).__name__}")
            raise SMPPError(self.death) from exc

    # -- reading ----------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while self.alive:
                sock = self.client._socket
                if sock is None:
                    break
                readable, _, _ = select.select([sock], [], [], min(1.0, self.gateway.enquire_link))
                if readable:
                    pdu = self.client.read_pdu()
                    if _QUICKACK is not None:
                        # Acknowledge at once (Linux re-arms delayed ACKs after every read): an SMSC with Nagle
                        # on holds its next submit_sm_resp until our ACK, up to 40 ms at the end of each window.
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                    self.last_received = time.monotonic()
                    if pdu is not None:
                        self._dispatch(pdu)
                else:
                    self._keep_alive()
        except Exception as exc:  # noqa: BLE001 - any failure here ends the session, never the worker
            if self.alive:
                self.die(f"connection lost: {type(exc).__name__}")

    def _keep_alive(self) -> None:
        now = time.monotonic()
        if self.enquiry is not None:
            if not self.enquiry.done.is_set() and now - self.enquiry_sent > self.gateway.timeout:
                self.die("no enquire_link_resp: link dead")
            elif self.enquiry.done.is_set():
                self.enquiry = None
        elif now - self.last_received >= self.gateway.enquire_link:
            self.enquiry_sent = now
            self.enquiry = self.request("enquire_link")

    def _dispatch(self, pdu: Any) -> None:
        command = pdu.command
        if command.endswith("_resp") or command == "generic_nack":
            pending = self.pending.pop(pdu.sequence, None)
            if pending is not None:
                message_id = _text(getattr(pdu, "message_id", None))
                if pending.owns_receipt and int(pdu.status) == ESME_ROK and message_id:
                    # Before the sender learns the id, and before this reader reads the receipt that may follow.
                    pending.owned_id = message_id
                    self.gateway._own(message_id)
                pending.finish(status=int(pdu.status), message_id=message_id)
                if command == "enquire_link_resp":
                    self.gateway.enquire_links_answered += 1
        elif command == "enquire_link":
            self.respond("enquire_link_resp", pdu.sequence)
        elif command == "deliver_sm":
            # A receipt for a result not recorded yet is held right here, not after the hook thread's linger.
            if not self.gateway._hold(pdu, self):
                self.inbound.put(pdu)
        elif command == "unbind":
            self.respond("unbind_resp", pdu.sequence)
            self.die("unbound by the SMSC")

    def _hook_loop(self) -> None:
        """Receipts and replies go to the hooks on their own thread: a hook writes to a database, and while it
        does, the reader keeps matching submit_sm_resp to senders. Each deliver_sm is acknowledged after its
        hook returned (ESME_RX_T_APPN if it raised); one still queued when the session dies is never
        acknowledged, so the SMSC delivers it again."""
        while (pdu := self.inbound.get()) is not None:
            batch = [pdu]
            # What arrives within the next HOOK_LINGER seconds goes with it: one batch hook call (a few database
            # statements for a burst of receipts) instead of a few per receipt — receipts come in bursts, a
            # window's worth right after its responses, and a few milliseconds' wait costs nobody anything.
            linger_until = time.monotonic() + HOOK_LINGER
            while len(batch) < 500:
                try:
                    more = self.inbound.get(timeout=max(0.0, linger_until - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self.inbound.put(None)
                    break
                batch.append(more)
            for sequence, status in self.gateway._deliver_many(batch):
                try:
                    self.respond("deliver_sm_resp", sequence, status)
                except SMPPError:
                    return  # the session died (die() logged it); unacknowledged, the SMSC delivers again

    def die(self, reason: str) -> None:
        with self.write_lock:
            if not self.alive and self.death:
                return
            self.alive = False
            self.death = reason
            orphans = list(self.pending.values())
            self.pending.clear()
            sock = self.client._socket
            if sock is not None:
                # shutdown wakes the reader's select(); close alone would leave it waiting a tick
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.client.disconnect()
        self.inbound.put(None)
        level = logging.INFO if self.closing else logging.WARNING
        logger.log(level, "SMPP %s:%s session ended: %s", self.gateway.host, self.gateway.port, reason)
        for pending in orphans:
            pending.finish(error=reason)

    def stop(self) -> None:
        self.closing = True  # the SMSC closes the socket after unbind_resp: expected, not a warning
        if self.alive:
            with contextlib.suppress(SMPPError):
                self.request("unbind").done.wait(min(self.gateway.timeout, 2.0))
        if self.alive or not self.death:
            self.die("closed")
        for thread in (self.reader, self.hooks):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=self.gateway.timeout)


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
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.window, self.enquire_link, self.timeout = window, enquire_link, timeout
        self.source_ton, self.source_npi = source_ton, source_npi
        self.on_delivery_receipt = on_delivery_receipt
        self.on_delivery_receipts = on_delivery_receipts  # preferred over the one-by-one hook when given
        self.on_incoming = on_incoming
        # With hold_receipts, a receipt for a message whose result the caller has not recorded yet is held
        # (unacknowledged) and reported in that message's SendResult instead of going to the hooks; `settle`
        # acknowledges it once the caller has recorded the result (docs/delivery.md, "Receipts and replies").
        self.hold_receipts = hold_receipts
        self._owned: dict[str, list[_HeldReceipt]] = {}  # remote id → its receipts so far
        self._owned_lock = threading.Lock()
        self.last_part_ids: tuple[str, ...] = ()
        self.enquire_links_answered = 0
        self._slots = threading.BoundedSemaphore(window)
        self._session: _Session | None = None
        self._session_lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        self._next_attempt = 0.0
        self._references = itertools.count(random.randrange(256))

    # -- connection -------------------------------------------------------------------------------

    def open(self) -> None:
        """Bind now; a failure is logged and reported by each `send` as transient."""
        try:
            self._bound_session()
        except SMPPError as exc:
            logger.warning("SMPP %s:%s not bound at open: %s", self.host, self.port, exc)

    def close(self) -> None:
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.stop()
        with self._owned_lock:
            self._owned.clear()  # never acknowledged: the SMSC delivers them again

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.alive

    def _bound_session(self) -> _Session:
        with self._session_lock:
            if self._session is not None and self._session.alive:
                return self._session
            now = time.monotonic()
            if now < self._next_attempt:
                wait = self._next_attempt - now
                raise SMPPError(f"reconnect backoff ({wait:.1f}s left) after: {self._last_failure}")
            session = _Session(self)
            try:
                session.start()
            except SMPPError as exc:
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

    def _write(self, session: _Session, submits: list[dict[str, Any]],
               pace: Callable[[], None] | None) -> list[_Pending]:
        """Write one message's parts; a part that cannot be written is a pending finished with an error."""
        waiting: list[_Pending] = []
        for params in submits:
            # A slot is freed by the part's response, or by the session's death.
            if not self._slots.acquire(timeout=self.timeout):
                if not waiting:
                    raise SMPPError(f"window of {self.window} still full after {self.timeout}s")
                session.die(f"window of {self.window} still full after {self.timeout}s")
                break
            if pace is not None:
                pace()
            try:
                waiting.append(session.request("submit_sm", on_done=self._slots.release,
                                               owns_receipt=self.hold_receipts and not waiting, **params))
            except SMPPError as exc:
                failed = _Pending()
                failed.finish(error=str(exc))
                waiting.append(failed)
                break
        return waiting

    def _result(self, message: OutgoingMessage, waiting: list[_Pending]) -> SendResult:
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
        transient = any(p.error or p.status in TRANSIENT_STATUSES for p in waiting)
        permanent = any(not p.error and p.status not in TRANSIENT_STATUSES | {ESME_ROK} for p in waiting)
        logger.info("SMPP message %s refused: %s", message.message_id, summary)
        if permanent or not transient:
            return SendResult.permanent(summary)
        return SendResult.transient(summary)

    def _submits(self, message: OutgoingMessage) -> list[dict[str, Any]]:
        destination = message.to.removeprefix("+")
        if not destination.isdigit() or not 6 <= len(destination) <= 15:
            raise ValueError("destination is not an E.164 number")
        source, source_ton, source_npi = self._source(message.sender)
        segmentation = sms.segment(message.text)
        parts = segmentation.parts
        if len(parts) > 255:
            raise ValueError(f"{len(parts)} parts: more than a concatenated SMS can carry")
        reference = next(self._references) % 256
        submits = []
        for index, part in enumerate(parts, start=1):
            payload = sms.encode_part(part, segmentation.encoding)
            if len(parts) > 1:
                payload = bytes([0x05, 0x00, 0x03, reference, len(parts), index]) + payload
            submits.append(
                {
                    "source_addr_ton": source_ton,
                    "source_addr_npi": source_npi,
                    "source_addr": source,
                    "dest_addr_ton": 1,
                    "dest_addr_npi": 1,
                    "destination_addr": destination,
                    "esm_class": 0x40 if len(parts) > 1 else 0x00,
                    "registered_delivery": 1,
                    "data_coding": sms.DATA_CODING[segmentation.encoding],
                    "short_message": payload,
                }
            )
        return submits

    def _source(self, sender: str) -> tuple[str, int, int]:
        if not sender:
            return "", self.source_ton or 0, self.source_npi or 0
        number = sender.removeprefix("+")
        if number.isdigit():
            if len(number) > 20:
                raise ValueError("numeric sender longer than 20 digits")
            ton, npi, source = 1, 1, number
        else:
            if len(sender) > 11 or not sender.isascii() or not sender.isprintable():
                raise ValueError("alphanumeric sender must be at most 11 printable ASCII characters")
            ton, npi, source = 5, 0, sender
        return (
            source,
            self.source_ton if self.source_ton is not None else ton,
            (self.source_npi if self.source_npi is not None else npi),
        )

    # -- inbound ----------------------------------------------------------------------------------

    # -- receipts held for results not recorded yet ---------------------------------------------------------------

    def _own(self, remote_id: str) -> None:
        with self._owned_lock:
            self._owned.setdefault(remote_id, [])

    def _hold(self, pdu: Any, session: _Session) -> bool:
        """Keep a receipt of an owned message (unacknowledged); False for anything else."""
        if not self._owned:
            return False
        receipt = _receipt(pdu)
        if receipt is None:
            return False
        with self._owned_lock:
            held = self._owned.get(receipt[0])
            if held is None:
                return False
            held.append(_HeldReceipt(session=session, pdu=pdu, stat=receipt[1]))
        return True

    def _held_state(self, remote_id: str) -> str:
        """The state of the receipts held for `remote_id` so far (see `_state`); they count as reported."""
        with self._owned_lock:
            held = self._owned.get(remote_id, [])
            for receipt in held:
                receipt.reported = True
            return _state(held)

    def take_receipts(self, remote_ids: Sequence[str]) -> dict[str, str]:
        """Receipts held for these messages since their results were returned: remote id → latest state. They
        count as reported: the caller records them, then calls `settle`."""
        with self._owned_lock:
            found = {}
            for remote_id in remote_ids:
                fresh = [receipt for receipt in self._owned.get(remote_id, ()) if not receipt.reported]
                for receipt in fresh:
                    receipt.reported = True
                if fresh:
                    found[remote_id] = _state(fresh)
            return found

    def settle(self, remote_ids: Sequence[str], *, release: bool = True) -> None:
        """The caller has recorded the results and receipts reported for these messages: acknowledge those
        receipts. With `release`, stop holding: what came since the last report goes to the hooks (the recorded
        row is there for them to find now), and so will what comes later."""
        if release:
            self._disown(list(remote_ids))
            return
        with self._owned_lock:
            reported = []
            for remote_id in remote_ids:
                held = self._owned.get(remote_id)
                if held:
                    reported += [receipt for receipt in held if receipt.reported]
                    held[:] = [receipt for receipt in held if not receipt.reported]
        self._acknowledge(reported)

    def _disown(self, remote_ids: list[str]) -> None:
        with self._owned_lock:
            released = [receipt for remote_id in remote_ids for receipt in self._owned.pop(remote_id, [])]
        self._acknowledge([receipt for receipt in released if receipt.reported])
        for receipt in released:
            if not receipt.reported and receipt.session.alive:
                receipt.session.inbound.put(receipt.pdu)

    @staticmethod
    def _acknowledge(receipts: list[_HeldReceipt]) -> None:
        for receipt in receipts:
            # On a session that died meanwhile it stays unacknowledged: the SMSC delivers it again.
            if receipt.session.alive:
                with contextlib.suppress(SMPPError):
                    receipt.session.respond("deliver_sm_resp", receipt.pdu.sequence, ESME_ROK)

    def _deliver_many(self, pdus: list[Any]) -> list[tuple[int, int]]:
        """Hand deliver_sm PDUs to the hooks; returns (sequence, status for deliver_sm_resp) for each. With an
        `on_delivery_receipts` hook, all receipts among them go to it in one call (and share its outcome)."""
        receipts = [(pdu, _receipt(pdu)) for pdu in pdus] if self.on_delivery_receipts is not None else []
        batched = [(pdu, receipt) for pdu, receipt in receipts if receipt is not None]
        answers: dict[int, int] = {}
        if batched and self.on_delivery_receipts is not None:
            try:
                self.on_delivery_receipts([receipt for _pdu, receipt in batched])
                status = ESME_ROK
            except Exception as exc:  # noqa: BLE001 - a failing hook must not kill the session
                logger.error("SMPP receipt hook failed (%s); asking the SMSC to redeliver %d receipt(s)",
                             type(exc).__name__, len(batched))
                status = ESME_RX_T_APPN
            answers = {id(pdu): status for pdu, _receipt in batched}
        return [(pdu.sequence, answers[id(pdu)] if id(pdu) in answers else self._deliver(pdu)) for pdu in pdus]

    def _deliver(self, pdu: Any) -> int:
        """Hand a deliver_sm to its hook; the returned status goes into deliver_sm_resp."""
        raw = bytes(pdu.short_message or b"")
        esm_class = int(pdu.esm_class or 0)
        try:
            receipt = _receipt(pdu)
            if receipt is not None:
                if self.on_delivery_receipt is not None:
                    self.on_delivery_receipt(*receipt)
            elif self.on_incoming is not None:
                if esm_class & 0x40 and raw:
                    raw = raw[raw[0] + 1 :]  # drop the UDH; concatenated MO parts arrive one by one
                self.on_incoming(_text(pdu.source_addr), decode_incoming(raw, int(pdu.data_coding or 0)))
        except Exception as exc:  # noqa: BLE001 - a failing hook must not kill the session
            # The type only: an exception's text may quote the receipt or the patient's reply.
            logger.error("SMPP deliver_sm hook failed (%s); asking the SMSC to redeliver", type(exc).__name__)
            return ESME_RX_T_APPN
        return ESME_ROK


def _receipt(pdu: Any) -> tuple[str, str, str] | None:
    """(remote_id, stat, raw text) of a delivery receipt; None for any other deliver_sm."""
    raw = bytes(pdu.short_message or b"")
    receipted = getattr(pdu, "receipted_message_id", None)
    if int(pdu.esm_class or 0) & 0x3C not in (0x04, 0x20) and not receipted:
        return None
    remote_id = _text(receipted) if receipted else _first(_RECEIPT_ID, raw)
    stat = _first(_RECEIPT_STAT, raw) or _MESSAGE_STATES.get(int(pdu.message_state or 0), "")
    return remote_id, stat.upper(), raw.decode("latin-1")


def _state(receipts: list[_HeldReceipt]) -> str:
    """The latest final state among receipts (an ENROUTE after DELIVRD must not hide it), else the latest."""
    final = [receipt.stat for receipt in receipts if receipt.stat in FINAL_STATES]
    return final[-1] if final else (receipts[-1].stat if receipts else "")


def _transient_seen(in_flight: list[tuple[int, OutgoingMessage, list[_Pending], float]]) -> bool:
    return any(p.done.is_set() and (p.error or p.status in TRANSIENT_STATUSES)
               for _index, _message, waiting, _written in in_flight for p in waiting)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value or ""


def _first(pattern: re.Pattern[bytes], raw: bytes) -> str:
    found = pattern.search(raw)
    return found.group(1).decode("ascii", "replace") if found else ""


_GSM_BASIC = dict(enumerate(sms.BASIC_TABLE))


def decode_incoming(payload: bytes, data_coding: int) -> str:
    """Text of an MO message: GSM-7 unpacked septets (0), Latin-1 (3) or UCS-2 (8); else Latin-1."""
    if data_coding == 8:
        return payload.decode("utf-16-be", "replace")
    if data_coding == 0:
        chars, escape = [], False
        for byte in payload:
            if escape:
                chars.append(sms.EXTENSION_TABLE.get(byte, " "))
                escape = False
            elif byte == 0x1B:
                escape = True
            else:
                chars.append(_GSM_BASIC.get(byte, "?"))
        return "".join(chars)
    return payload.decode("latin-1")


def from_url(
    url: str,
    *,
    on_delivery_receipt: ReceiptHook | None = None,
    on_delivery_receipts: ReceiptsHook | None = None,
    on_incoming: IncomingHook | None = None,
    hold_receipts: bool = False,
) -> SMPPGateway:
    """A gateway from an ``smpp://system_id:password@host:port?…`` URL (options in docs/delivery.md)."""
    parts = urlsplit(url)
    if parts.scheme != "smpp":
        raise ValueError(f"not an SMPP URL scheme: {parts.scheme!r}")
    if not parts.hostname or not parts.username:
        raise ValueError("SMPP URL needs system_id@host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    known = {"window", "enquire_link", "timeout", "system_type", "source_ton", "source_npi"}
    unknown = set(query) - known
    if unknown:
        raise ValueError(f"unknown SMPP URL option(s): {', '.join(sorted(unknown))}")
    window = int(query.get("window", "10"))
    if window < 1:
        raise ValueError("window must be at least 1")
    return SMPPGateway(
        host=parts.hostname,
        port=parts.port or 2775,
        system_id=unquote(parts.username),
        password=unquote(parts.password or ""),
        system_type=query.get("system_type", ""),
        window=window,
        enquire_link=float(query.get("enquire_link", "30")),
        timeout=float(query.get("timeout", "10")),
        source_ton=int(query["source_ton"]) if "source_ton" in query else None,
        source_npi=int(query["source_npi"]) if "source_npi" in query else None,
        on_delivery_receipt=on_delivery_receipt,
        on_delivery_receipts=on_delivery_receipts,
        on_incoming=on_incoming,
        hold_receipts=hold_receipts,
    )
