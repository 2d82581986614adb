"""What comes back from the SMS network: delivery receipts and replies (docs/delivery.md, "Receipts and replies").

Both arrive on a gateway's reader thread (SMPP deliver_sm) and are written at once, each statement committing on
its own: a receipt is stored before it is applied, and a send's result is recorded before stored receipts are
looked up (worker.outbox_record), so whichever comes first, the other finds it.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction

from masspost.clinic.models import ConsentEvent, Patient
from masspost.delivery.models import DeliveryReceipt, MessageStatus, OutboxMessage, ReceiptStatus

log = logging.getLogger("masspost.delivery")

# Final receipt states; ENROUTE, ACCEPTD and UNKNOWN are on the way and change nothing.
RECEIPT_STATES = {"DELIVRD": ReceiptStatus.DELIVERED, "UNDELIV": ReceiptStatus.UNDELIVERED,
                  "EXPIRED": ReceiptStatus.UNDELIVERED, "REJECTD": ReceiptStatus.UNDELIVERED,
                  "DELETED": ReceiptStatus.UNDELIVERED}
STOP_WORDS = frozenset({"stop", "stopp", "lopeta", "lõpeta", "loobu", "стоп", "отписаться"})
_NOT_LETTERS = re.compile(r"[\W_]+")


def receipt_record(remote_id: str, stat: str, raw: str = "") -> bool:
    """Store a receipt and move its message to delivered / undelivered; True when a message was moved."""
    status = RECEIPT_STATES.get(stat.upper())
    if status is None or not remote_id:
        return False
    DeliveryReceipt.objects.create(remote_id=remote_id, status=status, stat=stat.upper()[:10])
    moved = OutboxMessage.objects.filter(remote_id=remote_id, status=MessageStatus.SENT).update(status=status)
    return bool(moved)


def receipt_apply_stored(*, message_id: int, remote_id: str) -> None:
    """After a send was recorded: apply a receipt that arrived before it."""
    receipt = DeliveryReceipt.objects.filter(remote_id=remote_id).order_by("-id").first()
    if receipt is not None:
        OutboxMessage.objects.filter(id=message_id, status=MessageStatus.SENT).update(status=receipt.status)


def is_stop_word(text: str) -> bool:
    """Case-, space- and punctuation-insensitive: "Stop", " STOP! ", "lõ peta" all count."""
    return _NOT_LETTERS.sub("", text).casefold() in STOP_WORDS


def inbound_record(source: str, text: str) -> int:
    """An incoming SMS: a stop word turns SMS off for every patient with that number. Returns how many."""
    if not is_stop_word(text):
        return 0
    number = "+" + source.lstrip("+")
    with transaction.atomic():
        patients = list(Patient.objects.select_for_update().filter(phone_e164=number, accepts_sms=True))
        for patient in patients:
            ConsentEvent.objects.create(patient=patient, channel="sms", accepts=False, source="sms-stop")
        Patient.objects.filter(id__in=[p.id for p in patients]).update(accepts_sms=False)
    log.info("SMS stop word from a patient's number: %d patient(s) opted out of SMS (%s)", len(patients),
             ", ".join(p.external_id for p in patients))
    return len(patients)
