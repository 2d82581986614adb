"""Writing the outbox: rows stream in and land in batches through masspost.bulk (COPY on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models.functions import Now

from masspost.bulk import BATCH, bulk_insert
from masspost.delivery.models import HeldCampaign, MessageStatus, OutboxMessage

# Only what varies per message; status, attempts, times and the empty fields come from database defaults.
_COLUMNS = ("campaign_id", "patient_id", "patient_ref", "channel", "address", "language", "subject", "body",
            "encoding", "parts", "sender", "sender_name", "deadline")


class OutboxWriter:
    """Collects a campaign's messages and writes them in batches; call inside the send's transaction."""

    def __init__(self, *, campaign_id: int, deadline: dt.datetime) -> None:
        self._campaign_id = campaign_id
        # Text-format COPY takes the timestamp as written; formatting it once beats adapting it per row.
        self._deadline = deadline.isoformat()
        self._buffer: list[tuple[Any, ...]] = []
        self.written = 0

    def add(self, *, patient_id: int, patient_ref: str, channel: str, address: str, language: str, subject: str,
            body: str, encoding: str, parts: int, sender: str, sender_name: str) -> None:
        self._buffer.append((self._campaign_id, patient_id, patient_ref, channel, address, language, subject, body,
                             encoding, parts, sender, sender_name, self._deadline))
        if len(self._buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.written += bulk_insert(OutboxMessage, _COLUMNS, self._buffer)
            self._buffer = []


def outbox_hold(*, campaign_id: int, held: bool) -> int:
    """Hold (pause) or release a campaign's messages; returns how many are queued. Rows a worker has claimed are
    `sending`, not `queued`, and finish; a claim running at this moment may still take rows (its lock decides),
    so a pause never doubles or skips a message — it only stops the next claims."""
    if held:
        HeldCampaign.objects.get_or_create(campaign_id=campaign_id)
    else:
        HeldCampaign.objects.filter(campaign_id=campaign_id).delete()
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status=MessageStatus.QUEUED).count()


def outbox_cancel(*, campaign_id: int) -> int:
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, updated_at=Now())


def outbox_requeue_unknown(*, campaign_id: int) -> int:
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status=MessageStatus.UNKNOWN).update(
        status=MessageStatus.QUEUED, next_attempt_at=Now(), leased_by="", sent_at=None, updated_at=Now())
