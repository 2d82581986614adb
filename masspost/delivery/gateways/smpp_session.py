"""One SMPP connection and transceiver bind, with its reader and hook threads (see gateways.smpp). No Django."""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from masspost.delivery.gateways.smpp_pdu import ESME_ROK, status_text, text_of

if TYPE_CHECKING:
    from masspost.delivery.gateways.smpp import SMPPGateway

logger = logging.getLogger("masspost.delivery.gateways.smpp")

HOOK_LINGER = 0.02  # seconds the hook thread waits to gather a burst of receipts
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class SMPPError(Exception):
    """Transport trouble on one session, reported to the worker as a transient result — except a bind refused for
    the account's credentials (`bind_status` in smpp_pdu.BIND_REFUSALS), which only a new configuration helps."""

    def __init__(self, message: str, *, bind_status: int | None = None) -> None:
        super().__init__(message)
        self.bind_status = bind_status


@dataclass(eq=False)
class Pending:
    """One PDU waiting for its response; `on_done` (freeing a window slot) runs exactly once."""

    on_done: Callable[[], None] | None = None
    owns_receipt: bool = False  # a message's first part: its receipt is held until the result is recorded
    owned_id: str = ""  # the remote id whose receipts are held for it (set before the response is finished)
    done: threading.Event = field(default_factory=threading.Event)
    status: int = -1
    message_id: str = ""
    error: str = ""  # set when the session died before the response came
    written: bool = False  # the PDU went out: an error after that means the SMSC may have it

    def finish(self, *, status: int = -1, message_id: str = "", error: str = "") -> None:
        with _FINISH_LOCK:
            if self.done.is_set():
                return
            self.status, self.message_id, self.error = status, message_id, error
            self.done.set()
        if self.on_done is not None:
            self.on_done()


_FINISH_LOCK = threading.Lock()


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


class Session:
    """One TCP connection and bind. Dies once; the gateway replaces it."""

    def __init__(self, gateway: SMPPGateway) -> None:
        self.gateway = gateway
        self.client = _Client(gateway.host, gateway.port, timeout=gateway.timeout, allow_unknown_opt_params=True)
        self.client.logger = _silent_logger()
        self.write_lock = threading.RLock()
        self.pending: dict[int, Pending] = {}
        self.alive = False
        self.closing = False
        self.death = ""
        self.last_received = time.monotonic()
        self.enquiry: Pending | None = None
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
            raise SMPPError(f"bind refused: {status_text(status)}", bind_status=status) from exc
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
                **params: Any) -> Pending:
        """Send one request PDU and return what will hold its response (finished in every case)."""
        pending = Pending(on_done=on_done, owns_receipt=owns_receipt)
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
            pending.written = True
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
                message_id = text_of(getattr(pdu, "message_id", None))
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
        acknowledged, so the SMSC delivers it again. When the thread ends, `on_hook_thread_exit` lets go of what
        the hooks held on it (the worker: this thread's database connection)."""
        try:
            self._hook_batches()
        finally:
            if self.gateway.on_hook_thread_exit is not None:
                with contextlib.suppress(Exception):
                    self.gateway.on_hook_thread_exit()

    def _hook_batches(self) -> None:
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
