"""Reading the outbox and what came in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from masspost.delivery.models import InboundKind, InboundMessage, MessageStatus, OutboxMessage


def outbox_status_counts(*, campaign_id: int) -> dict[str, int]:
    counts = dict.fromkeys(MessageStatus.values, 0)
    # COUNT(*), not COUNT(id): PostgreSQL answers it from the (campaign, status) index alone.
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).values("status").annotate(n=Count("*")).order_by()
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def outbox_left_out_counts(*, campaign_id: int) -> dict[str, int]:
    """The campaign's messages its start left out (status left_out), per reason code (delivery.windows
    LEFT_OUT_REASONS: archived, deceased, moved_clinic, opted_out, no_marketing_consent, address_changed); only
    reasons that left someone out. For the campaign page's "left out at the start"."""
    return _by_reason(campaign_id, MessageStatus.LEFT_OUT)


def outbox_suppressed_counts(*, campaign_id: int) -> dict[str, int]:
    """The campaign's messages an opt-out cancelled before they were handed off (status suppressed), per reason
    code — the opt-out's source kind (delivery.suppress: unsubscribe, sms-stop, provider, staff, api, import,
    operator); only reasons that suppressed something, the most first. For "Opted out before sending"."""
    return dict(sorted(_by_reason(campaign_id, MessageStatus.SUPPRESSED).items(), key=lambda kv: (-kv[1], kv[0])))


def _by_reason(campaign_id: int, status: str) -> dict[str, int]:
    # Along the (campaign, status) index: a status that few rows have is a short range of it.
    rows = (OutboxMessage.objects.filter(campaign_id=campaign_id, status=status)
            .values("last_error").annotate(n=Count("*")).order_by())
    return {row["last_error"]: row["n"] for row in rows}


@dataclass(frozen=True, kw_only=True, slots=True)
class InboundCounts:
    received: int  # incoming SMS stored
    stops: int  # of them, stop words
    unmatched: int  # of them, from a number no patient has
    unmatched_stops: int  # stop words from such a number: nobody opted out — worth a look
    opted_out: int  # patients whose SMS a stop word turned off


def inbound_counts(*, since: dt.datetime | None = None) -> InboundCounts:
    """Incoming SMS received since `since` (all, without it), counted in one query: what an operator checks
    to see that replies and stop words arrive and match patients (docs/delivery.md, "Stop words")."""
    rows = InboundMessage.objects.all()
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    stop, unmatched = Q(kind=InboundKind.STOP), Q(patients=0)
    totals = rows.aggregate(received=Count("id"), stops=Count("id", filter=stop),
                            unmatched=Count("id", filter=unmatched),
                            unmatched_stops=Count("id", filter=stop & unmatched), opted_out=Sum("opted_out"))
    return InboundCounts(**{name: value or 0 for name, value in totals.items()})


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxRow:
    """One message as its campaign's page and export show it: ids and statuses, never its text or address."""

    id: int
    patient_ref: str
    channel: str
    language: str
    status: str
    last_error: str
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    updated_at: dt.datetime  # when its status last changed: for a delivered message, its receipt


_ROW_FIELDS = ("id", "patient_ref", "channel", "language", "status", "last_error", "attempts", "created_at",
               "sent_at", "updated_at")


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxPage:
    rows: list[OutboxRow]
    number: int  # 1-based, within 1..pages
    per_page: int
    count: int  # messages that match the filter

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _rows(campaign_id: int) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(campaign_id=campaign_id)


def outbox_page(*, campaign_id: int, status: str = "", ref_prefix: str = "", or_patient: Q | None = None,
                page: int = 1, per_page: int = 50) -> OutboxPage:
    """One page of a campaign's messages in the order they were written, optionally of one status and of patients
    whose external id starts with `ref_prefix` (an exact id is its own prefix) — or, with `or_patient`, who match
    that condition instead (the campaign page's search by name). A page past the last is the last.
    The caller has checked the campaign is the actor's (campaign_get): this reads by id only."""
    rows = _rows(campaign_id)
    if status:
        rows = rows.filter(status=status)
    if or_patient is not None:
        rows = rows.filter(Q(patient_ref__startswith=ref_prefix) | or_patient)
    elif ref_prefix:
        rows = rows.filter(patient_ref__startswith=ref_prefix)
    count = rows.count()
    number = min(max(page, 1), max(1, -(-count // per_page)))
    start = (number - 1) * per_page
    listed = rows.order_by("id").values_list(*_ROW_FIELDS)[start:start + per_page]
    return OutboxPage(rows=[OutboxRow(**dict(zip(_ROW_FIELDS, values, strict=True))) for values in listed],
                      number=number, per_page=per_page, count=count)


def outbox_export_rows(*, campaign_id: int) -> Iterator[OutboxRow]:
    """Every message of a campaign in the order written, fetched in chunks (a server-side cursor on PostgreSQL):
    a million rows cost no more memory than one chunk. The caller has checked the campaign (campaign_get)."""
    for values in _rows(campaign_id).order_by("id").values_list(*_ROW_FIELDS).iterator(chunk_size=2000):
        yield OutboxRow(**dict(zip(_ROW_FIELDS, values, strict=True)))


def outbox_after(*, campaign_id: int, after_id: int = 0, status: str = "", changed_since: dt.datetime | None = None,
                 limit: int = 100) -> tuple[list[OutboxRow], bool]:
    """Up to `limit` of a campaign's messages after the one with id `after_id`, in the order they were written
    (a cursor: stable however the statuses change), optionally of one status and changed since a time. Returns
    the rows and whether more follow. The caller has checked the campaign (campaign_get)."""
    rows = _rows(campaign_id).filter(id__gt=after_id)
    if status:
        rows = rows.filter(status=status)
    if changed_since is not None:
        rows = rows.filter(updated_at__gte=changed_since)
    listed = list(rows.order_by("id").values_list(*_ROW_FIELDS)[:limit + 1])
    return [OutboxRow(**dict(zip(_ROW_FIELDS, values, strict=True))) for values in listed[:limit]], len(listed) > limit


def outbox_of_patient(*, patient_id: int, limit: int = 100) -> list[tuple[int, OutboxRow]]:
    """A patient's newest `limit` messages, newest first, each with its campaign's id (the unique index on
    (patient, campaign, channel) finds them). The caller has checked the patient is the actor's and filters the
    campaigns it may see."""
    listed = (OutboxMessage.objects.filter(patient_id=patient_id).order_by("-id")
              .values_list("campaign_id", *_ROW_FIELDS)[:limit])
    return [(values[0], OutboxRow(**dict(zip(_ROW_FIELDS, values[1:], strict=True)))) for values in listed]
