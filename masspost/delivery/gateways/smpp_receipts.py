"""What an SMPP gateway receives besides responses: delivery receipts held for results not recorded yet, and
deliver_sm (receipts, replies) handed to the hooks (docs/delivery.md, "Receipts", "Stop words").

With `hold_receipts`, the reader thread keeps (unacknowledged) a receipt for any message whose submit_sm_resp it
has matched but whose result the caller has not recorded; the caller gets it in the message's `SendResult` or
from `take_receipts`, records it, and `settle` acknowledges it. A receipt is never acknowledged before it is
written: one still held when the session dies is redelivered by the SMSC.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from masspost.delivery.gateways.smpp_pdu import (
    ESME_ROK,
    ESME_RX_T_APPN,
    FINAL_STATES,
    decode_incoming,
    receipt_of,
    text_of,
)
from masspost.delivery.gateways.smpp_session import SMPPError

if TYPE_CHECKING:
    from masspost.delivery.gateways.smpp import IncomingHook, ReceiptHook, ReceiptsHook
    from masspost.delivery.gateways.smpp_session import Session

logger = logging.getLogger("masspost.delivery.gateways.smpp")  # the gateway's: one logger for SMPP


class Hooks(Protocol):
    """Where deliver_sm go (the gateway: its hooks can be replaced while it runs)."""

    on_delivery_receipt: ReceiptHook | None
    on_delivery_receipts: ReceiptsHook | None
    on_incoming: IncomingHook | None


@dataclass(eq=False)
class _HeldReceipt:
    session: Session
    pdu: Any
    stat: str
    reported: bool = False  # handed to the caller in a SendResult: acknowledged by `settle`


class HeldReceipts:
    """Receipts of owned messages — submitted, answered, result not recorded yet — kept unacknowledged."""

    def __init__(self) -> None:
        self._owned: dict[str, list[_HeldReceipt]] = {}  # remote id → its receipts so far
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every held receipt, unacknowledged: the SMSC delivers them again."""
        with self._lock:
            self._owned.clear()

    def own(self, remote_id: str) -> None:
        with self._lock:
            self._owned.setdefault(remote_id, [])

    def hold(self, pdu: Any, session: Session) -> bool:
        """Keep a receipt of an owned message (unacknowledged); False for anything else."""
        if not self._owned:
            return False
        receipt = receipt_of(pdu)
        if receipt is None:
            return False
        with self._lock:
            held = self._owned.get(receipt[0])
            if held is None:
                return False
            held.append(_HeldReceipt(session=session, pdu=pdu, stat=receipt[1]))
        return True

    def state_of(self, remote_id: str) -> str:
        """The state of the receipts held for `remote_id` so far (see `_state`); they count as reported."""
        with self._lock:
            held = self._owned.get(remote_id, [])
            for receipt in held:
                receipt.reported = True
            return _state(held)

    def take(self, remote_ids: Sequence[str]) -> dict[str, str]:
        """Receipts held for these messages since their results were returned: remote id → latest state. They
        count as reported: the caller records them, then calls `settle`."""
        with self._lock:
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
            self.disown(list(remote_ids))
            return
        with self._lock:
            reported = []
            for remote_id in remote_ids:
                held = self._owned.get(remote_id)
                if held:
                    reported += [receipt for receipt in held if receipt.reported]
                    held[:] = [receipt for receipt in held if not receipt.reported]
        self.acknowledge(reported)

    def disown(self, remote_ids: list[str]) -> None:
        with self._lock:
            released = [receipt for remote_id in remote_ids for receipt in self._owned.pop(remote_id, [])]
        self.acknowledge([receipt for receipt in released if receipt.reported])
        for receipt in released:
            if not receipt.reported and receipt.session.alive:
                receipt.session.inbound.put(receipt.pdu)

    @staticmethod
    def acknowledge(receipts: list[_HeldReceipt]) -> None:
        for receipt in receipts:
            # On a session that died meanwhile it stays unacknowledged: the SMSC delivers it again.
            if receipt.session.alive:
                with contextlib.suppress(SMPPError):
                    receipt.session.respond("deliver_sm_resp", receipt.pdu.sequence, ESME_ROK)


def deliver_many(pdus: list[Any], hooks: Hooks) -> list[tuple[int, int]]:
    """Hand deliver_sm PDUs to the hooks; returns (sequence, status for deliver_sm_resp) for each. With an
    `on_delivery_receipts` hook, all receipts among them go to it in one call (and share its outcome)."""
    receipts = [(pdu, receipt_of(pdu)) for pdu in pdus] if hooks.on_delivery_receipts is not None else []
    batched = [(pdu, receipt) for pdu, receipt in receipts if receipt is not None]
    answers: dict[int, int] = {}
    if batched and hooks.on_delivery_receipts is not None:
        try:
            hooks.on_delivery_receipts([receipt for _pdu, receipt in batched])
            status = ESME_ROK
        except Exception as exc:  # noqa: BLE001 - a failing hook must not kill the session
            logger.error("SMPP receipt hook failed (%s); asking the SMSC to redeliver %d receipt(s)",
                         type(exc).__name__, len(batched))
            status = ESME_RX_T_APPN
        answers = {id(pdu): status for pdu, _receipt in batched}
    return [(pdu.sequence, answers[id(pdu)] if id(pdu) in answers else deliver(pdu, hooks)) for pdu in pdus]


def deliver(pdu: Any, hooks: Hooks) -> int:
    """Hand a deliver_sm to its hook; the returned status goes into deliver_sm_resp."""
    raw = bytes(pdu.short_message or b"")
    esm_class = int(pdu.esm_class or 0)
    try:
        receipt = receipt_of(pdu)
        if receipt is not None:
            if hooks.on_delivery_receipt is not None:
                hooks.on_delivery_receipt(*receipt)
        elif hooks.on_incoming is not None:
            if esm_class & 0x40 and raw:
                raw = raw[raw[0] + 1 :]  # drop the UDH; concatenated MO parts arrive one by one
            # The type of number says how to read the source: international, national, unknown (delivery.inbound).
            hooks.on_incoming(text_of(pdu.source_addr), decode_incoming(raw, int(pdu.data_coding or 0)),
                              int(pdu.source_addr_ton or 0))
    except Exception as exc:  # noqa: BLE001 - a failing hook must not kill the session
        # The type only: an exception's text may quote the receipt or the patient's reply.
        logger.error("SMPP deliver_sm hook failed (%s); asking the SMSC to redeliver", type(exc).__name__)
        return ESME_RX_T_APPN
    return ESME_ROK


def _state(receipts: list[_HeldReceipt]) -> str:
    """The latest final state among receipts (an ENROUTE after DELIVRD must not hide it), else the latest."""
    final = [receipt.stat for receipt in receipts if receipt.stat in FINAL_STATES]
    return final[-1] if final else (receipts[-1].stat if receipts else "")
