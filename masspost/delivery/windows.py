"""Sending windows and gates in the outbox (docs/delivery.md, "When messages go"): a campaign's messages wait for
its start (CampaignGate "scheduled"), a second approval (CampaignGate "approval"), and each clinic's open
intervals (SendingWindow). All times come from the caller (`now`): the worker's clock is injectable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import F, Q

from masspost.clinic.models import PatientStatus
from masspost.delivery.models import CampaignGate, MessageStatus, OutboxMessage, SendingWindow

Interval = tuple[dt.datetime, dt.datetime]

SCHEDULED, APPROVAL = "scheduled", "approval"
# A clinic with no open interval before the deadline keeps one empty interval at this instant, so that its
# campaign still lists it (outbox_first_openings: None) — an empty interval contains no `now`.
NO_INTERVAL = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Why the start left a message out (OutboxMessage.last_error of a `left_out` row), in the order they are checked:
# a row gets the first that applies.
ARCHIVED, DECEASED, MOVED_CLINIC = "archived", "deceased", "moved_clinic"
OPTED_OUT, NO_MARKETING_CONSENT, ADDRESS_CHANGED = "opted_out", "no_marketing_consent", "address_changed"
LEFT_OUT_REASONS = (ARCHIVED, DECEASED, MOVED_CLINIC, OPTED_OUT, NO_MARKETING_CONSENT, ADDRESS_CHANGED)

_CHANNELS = ("sms", "email")
_WINDOWS = SendingWindow._meta.db_table
_OUTBOX = OutboxMessage._meta.db_table


def windows_write(*, campaign_id: int, intervals: Mapping[int, Sequence[Interval]]) -> None:
    """The campaign's open intervals per clinic id (replacing any it had), inside the caller's transaction.
    A clinic given no interval is kept as having none: its messages wait for nothing and expire at the deadline."""
    SendingWindow.objects.filter(campaign_id=campaign_id).delete()
    rows = [SendingWindow(campaign_id=campaign_id, clinic_id=clinic_id, opens_at=opens_at, closes_at=closes_at)
            for clinic_id, spans in intervals.items()
            for opens_at, closes_at in (spans or [(NO_INTERVAL, NO_INTERVAL)])]
    SendingWindow.objects.bulk_create(rows, batch_size=1000)


def gate_close(*, campaign_id: int, reason: str, until: dt.datetime | None = None, marketing: bool = False) -> None:
    """Hold the campaign: reason "scheduled" (until its start) or "approval"."""
    if reason not in (SCHEDULED, APPROVAL):
        raise ValueError(f"unknown gate reason: {reason!r}")
    CampaignGate.objects.update_or_create(campaign_id=campaign_id, reason=reason,
                                          defaults={"until": until, "marketing": marketing})


def gate_open(*, campaign_id: int, reason: str) -> int:
    """Lift one gate; returns 1 if it was there."""
    deleted, _ = CampaignGate.objects.filter(campaign_id=campaign_id, reason=reason).delete()
    return deleted


def outbox_first_openings(*, campaign_id: int, now: dt.datetime) -> dict[int, dt.datetime | None]:
    """Per clinic id of the campaign's windows: the first instant at or after `now` its messages may go (now when
    open now; None: no interval left before the deadline). For the campaign page."""
    openings: dict[int, dt.datetime | None] = {}
    for clinic_id, opens_at, closes_at in (SendingWindow.objects.filter(campaign_id=campaign_id)
                                           .order_by("clinic_id", "opens_at")
                                           .values_list("clinic_id", "opens_at", "closes_at")):
        openings.setdefault(clinic_id, None)
        if openings[clinic_id] is None and closes_at > now and closes_at > opens_at:
            openings[clinic_id] = max(opens_at, now)
    return openings


def outbox_start_due(*, now: dt.datetime) -> list[tuple[int, dict[str, int]]]:
    """Start the scheduled campaigns whose start has come: in one transaction each, its queued rows whose patient
    is no longer theirs to get — archived, deceased, moved clinic, opted out of the channel, lost marketing
    consent on the row's channel (a marketing campaign), changed address — become `left_out` (last_error: the
    reason code), then its "scheduled" gate is lifted. Returns (campaign id, reason → rows) for each campaign
    started (only reasons that left someone out).
    Never adds anyone. Locks the campaign row, then its gate: the order cancel, reject and reschedule take, so
    they never deadlock with it. A campaign another worker is starting, or one a user is changing at that moment,
    is skipped without waiting (the next call starts it if still due); one rescheduled to later or cancelled
    since `now`'s due gates were read is not started."""
    started = []
    campaigns = apps.get_model("campaigns", "Campaign")
    skip_locked = connection.vendor == "postgresql"
    for gate_id, campaign_id in _due_gates(now=now):
        with transaction.atomic():
            if not list(campaigns.objects.select_for_update(skip_locked=skip_locked).filter(id=campaign_id)
                        .values_list("id", flat=True)):
                continue  # locked by another worker's start or a user's change (or gone): the next call sees it
            # Read again under the lock: a reschedule may have moved the start later, a cancel deleted the gate.
            gate = (CampaignGate.objects.select_for_update(skip_locked=skip_locked)
                    .filter(id=gate_id, campaign_id=campaign_id, reason=SCHEDULED, until__lte=now).first())
            if gate is None:
                continue
            counts = _leave_out(campaign_id=campaign_id, marketing=gate.marketing, now=now)
            campaigns.objects.filter(id=campaign_id).update(started_at=now)
            gate.delete()
        started.append((campaign_id, counts))
    return started


def _due_gates(*, now: dt.datetime) -> list[tuple[int, int]]:
    """(gate id, campaign id) of the "scheduled" gates due at `now`, earliest first; read without a lock."""
    return list(CampaignGate.objects.filter(reason=SCHEDULED, until__lte=now).order_by("until", "id")
                .values_list("id", "campaign_id"))


def _leave_out(*, campaign_id: int, marketing: bool, now: dt.datetime) -> dict[str, int]:
    """One UPDATE per reason, in LEFT_OUT_REASONS' order: a row left out keeps the first reason that applies."""
    conditions: dict[str, Q] = {
        ARCHIVED: Q(patient__status=PatientStatus.ARCHIVED),
        DECEASED: Q(patient__status=PatientStatus.DECEASED),
        MOVED_CLINIC: Q(clinic_id__isnull=False) & ~Q(patient__clinic_id=F("clinic_id")),
        OPTED_OUT: Q(channel="sms", patient__accepts_sms=False) | Q(channel="email", patient__accepts_email=False),
        # The row's channel's own marketing consent: a patient who withdrew SMS offers keeps their e-mail one.
        NO_MARKETING_CONSENT: Q(channel="sms", patient__marketing_sms=False)
        | Q(channel="email", patient__marketing_email=False),
        ADDRESS_CHANGED: (Q(channel="sms") & ~Q(patient__phone_e164=F("address")))
        | (Q(channel="email") & ~Q(patient__email_normalized=F("address"))),
    }
    counts: dict[str, int] = {}
    for reason in LEFT_OUT_REASONS:
        if reason == NO_MARKETING_CONSENT and not marketing:
            continue
        rows = OutboxMessage.objects.filter(conditions[reason], campaign_id=campaign_id, status=MessageStatus.QUEUED)
        if n := rows.update(status=MessageStatus.LEFT_OUT, last_error=reason, updated_at=now):
            counts[reason] = n
    return counts


def outbox_hold_closed(*, now: dt.datetime) -> int:
    """Move queued rows due now whose clinic's window is closed to the window's next opening (so a claim does not
    read them again and again); returns how many. Claims never take such a row anyway (delivery.turn). A clinic
    with no opening left before the deadline: its rows wait for the deadline (and expire there)."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    # The (campaign, clinic) windows closed now, of campaigns with messages still queued: usually none or few.
    closed_sql = (
        f"SELECT w.campaign_id, w.clinic_id, MIN(CASE WHEN w.opens_at > %s THEN w.opens_at END) "
        f"FROM {_WINDOWS} AS w WHERE EXISTS (SELECT 1 FROM {_OUTBOX} AS o WHERE o.campaign_id = w.campaign_id "
        f"AND o.status = %s) GROUP BY w.campaign_id, w.clinic_id "
        f"HAVING MAX(CASE WHEN w.opens_at <= %s AND w.closes_at > %s THEN 1 ELSE 0 END) = 0")
    with connection.cursor() as cursor:
        cursor.execute(closed_sql, [stamp, MessageStatus.QUEUED.value, stamp, stamp])
        closed = cursor.fetchall()
    moved = 0
    for campaign_id, clinic_id, next_opening in closed:
        # By channel too: the planner may then read only the due rows (outbox_due_by_channel) rather than every
        # queued row of a large campaign.
        rows = OutboxMessage.objects.filter(campaign_id=campaign_id, clinic_id=clinic_id, channel__in=_CHANNELS,
                                            status=MessageStatus.QUEUED, next_attempt_at__lte=now)
        until: Any = F("deadline") if next_opening is None else _as_datetime(next_opening)
        moved += rows.update(next_attempt_at=until)
    return moved


def _as_datetime(value: Any) -> dt.datetime:
    """A timestamp read by raw SQL: SQLite returns Django's stored text (naive UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
