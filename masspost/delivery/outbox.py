"""Writing the outbox: rows stream in and land in batches through masspost.bulk (COPY on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models.functions import Now

from masspost.bulk import BATCH, bulk_insert
from masspost.delivery.models import CampaignGate, HeldCampaign, MessageStatus, OptOutLink, OutboxMessage

# Only what varies per message; status, attempts, times and the empty fields come from database defaults.
_COLUMNS = ("campaign_id", "patient_id", "patient_ref", "channel", "address", "language", "subject", "body",
            "encoding", "parts", "sender", "sender_name", "deadline", "clinic_id")
# A marketing campaign's rows list `marketing` too (a constant: a service campaign's rows take the database's
# False), and a row given its own first attempt (a clinic's first opening, a scheduled start) `next_attempt_at`.
_MARKETING = ("marketing",)
_DUE = ("next_attempt_at",)


def _stamp_format() -> Callable[[dt.datetime], Any]:
    """How a timestamp is written by this connection's bulk insert: text-format COPY takes ISO 8601 as written
    (formatting it once beats adapting it per row); SQLite compares the text Django stores ("YYYY-MM-DD
    HH:MM:SS", UTC), so it gets exactly that, or a row would sort against `now` by its "T"."""
    if connection.vendor == "postgresql":
        return dt.datetime.isoformat
    return connection.ops.adapt_datetimefield_value


class OutboxWriter:
    """Collects a campaign's messages and writes them in batches; call inside the send's transaction."""

    def __init__(self, *, campaign_id: int, deadline: dt.datetime, marketing: bool = False) -> None:
        """`marketing`: every row is a marketing campaign's (OutboxMessage.marketing)."""
        self._campaign_id = campaign_id
        self._marketing = marketing
        self._tail: tuple[bool, ...] = (True,) if marketing else ()  # the marketing column's value, if listed
        self._columns = (*_COLUMNS, *_MARKETING) if marketing else _COLUMNS
        self._columns_due = (*self._columns, *_DUE)
        self._format = _stamp_format()
        # A campaign has a few distinct times (a deadline, a first opening per clinic), usually the same objects
        # row after row: each is formatted once, and found by identity (hashing an aware datetime asks its zone
        # for the offset, three times the cost of the rest of a row). The entry keeps its object alive, so its id
        # cannot be reused meanwhile.
        self._stamps: dict[int, tuple[dt.datetime, Any]] = {}
        self._deadline = self._format(deadline)
        self._buffer: list[tuple[Any, ...]] = []
        self._links: list[tuple[str, int, str]] = []  # (key, patient id, channel) of the buffered rows' links
        self._due = False  # whether the buffered rows carry next_attempt_at (one column list per batch)
        self.written = 0

    def _stamp(self, value: dt.datetime) -> Any:
        found = self._stamps.get(id(value))
        if found is None:
            if len(self._stamps) >= 1024:  # a caller making a new object per row: do not keep them all
                self._stamps.clear()
            found = self._stamps[id(value)] = (value, self._format(value))
        return found[1]

    def add(self, *, patient_id: int, patient_ref: str, channel: str, address: str, language: str, subject: str,
            body: str, encoding: str, parts: int, sender: str, sender_name: str, clinic_id: int | None = None,
            next_attempt_at: dt.datetime | None = None, deadline: dt.datetime | None = None,
            optout_key: str = "") -> None:
        """One message. `clinic_id`: whose sending windows it waits for (None: none); `next_attempt_at`: when it
        is first due (None: now, the database's default); `deadline`: its own (None: the writer's); `optout_key`:
        its unsubscribe link's key (delivery.optout), written as an OptOutLink with the row ("": none)."""
        stamps = self._stamps
        if deadline is None:
            until = self._deadline
        else:
            found = stamps.get(id(deadline))
            until = found[1] if found is not None else self._stamp(deadline)
        if next_attempt_at is None:
            if self._due:
                # Rows keep the order they were added in (ids are the campaign's written order): the other kind's
                # batch lands first.
                self.flush()
                self._due = False
            self._buffer.append((self._campaign_id, patient_id, patient_ref, channel, address, language, subject,
                                 body, encoding, parts, sender, sender_name, until, clinic_id, *self._tail))
        else:
            if not self._due:
                self.flush()
                self._due = True
            found = stamps.get(id(next_attempt_at))
            first = found[1] if found is not None else self._stamp(next_attempt_at)
            self._buffer.append((self._campaign_id, patient_id, patient_ref, channel, address, language, subject,
                                 body, encoding, parts, sender, sender_name, until, clinic_id, *self._tail, first))
        if optout_key:
            self._links.append((optout_key, patient_id, channel))
        if len(self._buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.written += bulk_insert(OutboxMessage, self._columns_due if self._due else self._columns,
                                        self._buffer)
            self._buffer = []
        if self._links:
            _links_insert(campaign_id=self._campaign_id, marketing=self._marketing, links=self._links)
            self._links = []


def _links_insert(*, campaign_id: int, marketing: bool, links: list[tuple[str, int, str]]) -> None:
    """A batch's OptOutLink rows (key, patient id, channel), in the send's transaction. A key is the same for the
    same message (delivery.optout), and a message has one link (campaign, patient, channel: unique), so one already
    there is that message's link: skipped, not an error — on either unique key, as SQLite's OR IGNORE does.
    PostgreSQL takes the batch as three arrays in one statement (COPY cannot skip a conflict); SQLite an
    executemany."""
    quote = connection.ops.quote_name
    table = quote(OptOutLink._meta.db_table)
    columns = ", ".join(quote(name) for name in ("key", "campaign_id", "patient_id", "channel", "marketing"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            keys, patients, channels = (list(column) for column in zip(*links, strict=True))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT u.k, %s, u.p, u.c, %s "
                f"FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS u(k, p, c) ON CONFLICT DO NOTHING",
                [campaign_id, marketing, keys, patients, channels])
        else:
            cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)",
                               [(key, campaign_id, patient, channel, marketing) for key, patient, channel in links])


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
    """Cancel the campaign's queued messages (also those waiting for a start, an approval or a window); returns
    how many. A cancelled campaign has nothing left to start or approve: its gates go too."""
    CampaignGate.objects.filter(campaign_id=campaign_id).delete()
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, updated_at=Now())


def outbox_requeue_unknown(*, campaign_id: int) -> int:
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status=MessageStatus.UNKNOWN).update(
        status=MessageStatus.QUEUED, next_attempt_at=Now(), leased_by="", sent_at=None, updated_at=Now())
