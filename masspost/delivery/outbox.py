"""Writing the outbox: rows stream in and land in batches through masspost.bulk (COPY on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from masspost.bulk import BATCH, bulk_insert
from masspost.delivery.models import MessageStatus, OutboxMessage

_COLUMNS = ("campaign_id", "patient_id", "patient_ref", "channel", "address", "language", "subject", "body",
            "encoding", "parts", "sender", "sender_name", "status", "attempts", "next_attempt_at", "deadline",
            "lease_until", "leased_by", "remote_id", "last_error", "created_at", "updated_at", "sent_at")


class OutboxWriter:
    """Collects a campaign's messages and writes them in batches; call inside the send's transaction."""

    def __init__(self, *, campaign_id: int, now: dt.datetime, deadline: dt.datetime) -> None:
        self._fixed_head = (campaign_id,)
        self._fixed_tail = (MessageStatus.QUEUED.value, 0, now, deadline, None, "", "", "", now, now, None)
        self._buffer: list[tuple[Any, ...]] = []
        self.written = 0

    def add(self, *, patient_id: int, patient_ref: str, channel: str, address: str, language: str, subject: str,
            body: str, encoding: str, parts: int, sender: str, sender_name: str) -> None:
        self._buffer.append(self._fixed_head + (patient_id, patient_ref, channel, address, language, subject, body,
                                                encoding, parts, sender, sender_name) + self._fixed_tail)
        if len(self._buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.written += bulk_insert(OutboxMessage, _COLUMNS, self._buffer)
            self._buffer = []
