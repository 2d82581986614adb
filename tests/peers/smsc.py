"""An SMSC on loopback for tests, built on `smpp34` (an independent SMPP 3.4 server: Rust core, asyncio API).

It runs smpp34's `Server` on 127.0.0.1 (free port) in its own thread and event loop, accepts any
bind_transceiver, answers submit_sm with a message id, records every submit (addresses, TON/NPI,
data_coding, esm_class, UDH, the decoded text), pushes delivery receipts (deliver_sm, esm_class 0x04,
text "id:… stat:…" plus receipted_message_id/message_state TLVs) and mobile-originated messages,
and misbehaves on request: reject the next N submits (e.g. ESME_RTHROTTLED), reject a destination
(ESME_RINVDSTADR), or unbind the ESME instead of answering the next submit.

The text is decoded with this module's own GSM 03.38 table, not `masspost.sms`, so a test compares
the gateway's encoding against an independent reading.

    smsc = SMSCPeer.start()
    smsc.reject_next(smpp34.ESME_RTHROTTLED)
    smsc.wait_for_submits(1)
    smsc.messages()          # reassembled (destination, text) in order of completion
    smsc.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import smpp34
from smpp34._smpp34 import (  # the constants re-exported dynamically by smpp34/__init__.py
    ESME_RINVDSTADR,
    ESME_RMSGQFUL,
    ESME_RTHROTTLED,
    TLV_MESSAGE_STATE,
    TLV_RECEIPTED_MESSAGE_ID,
)

from tests.peers.net import LOOPBACK, free_port

_T = TypeVar("_T")

# GSM 03.38 default alphabet (basic table, index = septet) and its extension table (after ESC 0x1B).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
                 0x40: "|", 0x65: "€"}  # fmt: skip
assert len(GSM_BASIC) == 128

__all__ = ["ESME_RINVDSTADR", "ESME_RMSGQFUL", "ESME_RTHROTTLED", "ReceivedSubmit", "SMSCPeer"]


def decode_gsm7_unpacked(payload: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for septet in payload:
        if septet > 0x7F:
            raise ValueError(f"0x{septet:02X} is not a septet")
        if escaped:
            chars.append(GSM_EXTENSION[septet])
            escaped = False
        elif septet == 0x1B:
            escaped = True
        else:
            chars.append(GSM_BASIC[septet])
    return "".join(chars)


def decode_payload(payload: bytes, data_coding: int) -> str:
    if data_coding == 0:
        return decode_gsm7_unpacked(payload)
    if data_coding == 8:
        return payload.decode("utf-16-be")
    return payload.decode("latin-1")


@dataclass(frozen=True, kw_only=True)
class ReceivedSubmit:
    session_id: str
    system_id: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    udh: bytes  # the user data header without its length octet; b"" when esm_class has no UDHI
    text: str  # this part's text, decoded independently of masspost.sms
    status: int  # the command_status answered (0 = accepted)
    message_id: str  # "" when not accepted

    @property
    def concatenation(self) -> tuple[int, int, int] | None:
        """(reference, total, sequence) from an 8-bit concatenation IE, if any."""
        if len(self.udh) >= 5 and self.udh[0] == 0x00 and self.udh[1] == 3:
            return self.udh[2], self.udh[3], self.udh[4]
        return None


class SMSCPeer:
    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.auto_receipts = True
        self.receipt_stat = "DELIVRD"
        self._loop = asyncio.new_event_loop()
        self._server: smpp34.Server | None = None
        self._main: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._changed = threading.Condition()
        self._esmes: dict[str, smpp34.Esme] = {}
        self._binds: list[str] = []  # system_id per bind, in order
        self._unbinds = 0
        self._submits: list[ReceivedSubmit] = []
        self._reject_next: list[int] = []
        self._reject_destinations: dict[str, int] = {}
        self._drop_next = 0
        self._held: list[smpp34.SubmitSmEvent] = []  # unanswered on purpose (dropped binds)
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name="smsc-peer", daemon=True)

    @classmethod
    def start(cls) -> SMSCPeer:
        peer = cls()
        peer._thread.start()
        if not peer._ready.wait(10):
            raise TimeoutError("SMSC peer did not start")
        if peer._startup_error is not None:
            raise RuntimeError("SMSC peer failed to start") from peer._startup_error
        return peer

    def stop(self) -> None:
        if self._main is not None:
            self._call(self._shutdown())
        self._thread.join(10)

    # -- the event loop (its own thread) ---------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._main = self._loop.create_task(self._serve())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._main)
        self._loop.close()

    async def _serve(self) -> None:
        try:
            self._server = smpp34.Server(host=self.host, port=self.port, system_id="SMSCPEER")
            await self._server.start()
        except BaseException as exc:
            self._startup_error = exc
            raise
        finally:
            self._ready.set()
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                with self._changed:
                    self._esmes[event.session_id] = event
                    self._binds.append(event.system_id)
                    self._changed.notify_all()
            elif isinstance(event, smpp34.SubmitSmEvent):
                await self._on_submit(event)
            elif isinstance(event, smpp34.Unbound):
                with self._changed:
                    self._esmes.pop(event.session_id, None)
                    self._unbinds += 1
                    self._changed.notify_all()

    async def _shutdown(self) -> None:
        assert self._server is not None and self._main is not None
        await self._server.stop()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        with self._changed:
            if self._drop_next:
                self._drop_next -= 1
                self._held.append(event)
                esme = self._esmes.get(event.session_id)
                drop = True
            else:
                drop = False
                status = self._reject_destinations.get(event.destination_addr, 0)
                if not status and self._reject_next:
                    status = self._reject_next.pop(0)
        if drop:
            if esme is not None:
                asyncio.ensure_future(esme.unbind())
            return
        message_id = f"{next(self._ids):08X}" if status == 0 else ""
        if status:
            event.reject(status)
        else:
            event.accept(message_id)
        self._record(event, status, message_id)
        if status == 0 and self.auto_receipts and event.registered_delivery & 0x01:
            self._loop.create_task(self._receipt(event.session_id, event, message_id))

    def _record(self, event: smpp34.SubmitSmEvent, status: int, message_id: str) -> None:
        raw = bytes(event.short_message)
        udh, body = b"", raw
        if event.esm_class & 0x40:
            udh, body = raw[1 : 1 + raw[0]], raw[1 + raw[0] :]
        with self._changed:
            self._submits.append(
                ReceivedSubmit(
                    session_id=event.session_id,
                    system_id=self._esmes[event.session_id].system_id if event.session_id in self._esmes else "",
                    source_addr=event.source_addr,
                    source_addr_ton=event.source_addr_ton,
                    source_addr_npi=event.source_addr_npi,
                    destination_addr=event.destination_addr,
                    dest_addr_ton=event.dest_addr_ton,
                    dest_addr_npi=event.dest_addr_npi,
                    esm_class=event.esm_class,
                    data_coding=event.data_coding,
                    registered_delivery=event.registered_delivery,
                    short_message=raw,
                    udh=udh,
                    text=decode_payload(body, event.data_coding),
                    status=status,
                    message_id=message_id,
                )
            )
            self._changed.notify_all()

    async def _receipt(self, session_id: str, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        # The ESME may be gone by now (a test closed it right after sending): nothing to tell.
        with contextlib.suppress(smpp34.SmppError):
            await self._deliver_receipt(session_id, event.destination_addr, event.source_addr, message_id)

    async def _deliver_receipt(self, session_id: str, source: str, destination: str, message_id: str,
                               with_tlvs: bool = True) -> bool:
        """True when the ESME acknowledged the receipt with ESME_ROK."""
        esme = self._esmes.get(session_id)
        if esme is None:
            return False
        stat = self.receipt_stat
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2611251200 done date:2611251201 stat:{stat} err:000 text:"
        )
        states = {"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "REJECTD": 8}
        tlvs = [
            smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\0"),
            smpp34.Tlv(TLV_MESSAGE_STATE, bytes([states.get(stat, 7)])),
        ]
        response = await esme.deliver_sm(
            destination,
            text.encode("ascii"),
            source_addr=source,
            esm_class=0x04,
            tlvs=tlvs if with_tlvs else [],
        )
        return response.is_success

    # -- control from the test thread ----------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def reject_next(self, status: int, count: int = 1) -> None:
        with self._changed:
            self._reject_next.extend([status] * count)

    def reject_destination(self, number: str, status: int = ESME_RINVDSTADR) -> None:
        with self._changed:
            self._reject_destinations[number] = status

    def drop_next(self, count: int = 1) -> None:
        """Unbind the ESME instead of answering its next `count` submits."""
        with self._changed:
            self._drop_next += count

    def push_mo(self, *, source: str, destination: str, payload: bytes, data_coding: int = 0, source_ton: int = 1,
                source_npi: int = 1) -> bool:
        """Send a mobile-originated deliver_sm to the first bound ESME; True if it was acked with 0. The source's
        type of number: 1 international (the default), 2 national, 0 unknown, 5 alphanumeric."""

        async def push() -> bool:
            esme = next(iter(self._esmes.values()))
            response = await esme.deliver_sm(
                destination, payload, source_addr=source, source_addr_ton=source_ton, source_addr_npi=source_npi,
                data_coding=data_coding,
            )  # fmt: skip
            return response.is_success

        # The ESME's bind may still be on its way through the peer's event loop: wait for it, not for luck.
        self.wait_for(lambda: bool(self._esmes), "a bound ESME to push to")
        return self._call(push())

    def push_receipt(self, message_id: str, *, source: str = "", destination: str = "", with_tlvs: bool = True) -> bool:
        """Send a delivery receipt for `message_id` to the first bound ESME; True if it was acked with 0. Without
        TLVs the id is only in the text (as some SMSCs send it, and as an id too long for the TLV must go)."""
        async def push() -> bool:
            session_id = next(iter(self._esmes))
            return await self._deliver_receipt(session_id, source, destination, message_id, with_tlvs)

        self.wait_for(lambda: bool(self._esmes), "a bound ESME to push to")
        return self._call(push())

    # -- what happened ---------------------------------------------------------------------------------

    @property
    def submits(self) -> list[ReceivedSubmit]:
        with self._changed:
            return list(self._submits)

    @property
    def binds(self) -> list[str]:
        with self._changed:
            return list(self._binds)

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"SMSC peer: {what}")

    def wait_for_submits(self, count: int, timeout: float = 10.0) -> list[ReceivedSubmit]:
        self.wait_for(lambda: len(self._submits) >= count, f"{count} submits", timeout)
        return self.submits

    def wait_for_binds(self, count: int, timeout: float = 10.0) -> list[str]:
        self.wait_for(lambda: len(self._binds) >= count, f"{count} binds", timeout)
        return self.binds

    def messages(self) -> list[tuple[str, str]]:
        """Accepted submits reassembled into whole messages: (destination, text)."""
        whole: list[tuple[str, str]] = []
        partial: dict[tuple[str, str, int], dict[int, str]] = {}
        for submit in self.submits:
            if submit.status:
                continue
            concatenation = submit.concatenation
            if concatenation is None:
                whole.append((submit.destination_addr, submit.text))
                continue
            reference, total, sequence = concatenation
            key = (submit.source_addr, submit.destination_addr, reference)
            parts = partial.setdefault(key, {})
            parts[sequence] = submit.text
            if len(parts) == total:
                whole.append((submit.destination_addr, "".join(parts[n] for n in range(1, total + 1))))
                del partial[key]
        return whole
