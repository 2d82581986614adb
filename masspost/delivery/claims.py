"""The outbox's steps during delivery besides the worker's turn (delivery.turn), each one short statement or
transaction (docs/delivery.md): record a failed send (and a provider's opt-out with it); give back what was not
sent; end dead workers' leases; expire what is past its deadline; and a plain claim for callers that send at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, F, TextField, Value, When

from masspost.clinic.models import PROVIDER_SOURCE, ConsentEvent, Patient
from masspost.delivery.gateways.base import Channel, Outcome, SendResult
from masspost.delivery.inbound import receipt_errors_apply
from masspost.delivery.models import HeldCampaign, MessageStatus, OutboxMessage, remote_key
from masspost.delivery.turn import Accepted, ClaimedMessage, outbox_turn

log = logging.getLogger("masspost.delivery")

Row = OutboxMessage | ClaimedMessage  # a claimed row, as the ORM or as the worker's claim reads it
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)
# How far back a stored receipt's error is looked for once its message's result is recorded: the receipt came after
# the message was handed off (a lease is minutes), and the database's clock may differ a little from ours.
RECEIPT_ERROR_SPAN = timedelta(minutes=15)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter, so messages that failed together do not retry together."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * (rng or random).uniform(0.8, 1.2)


def outbox_claim(*, worker_id: str, now: dt.datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Claim up to `limit` due rows of any channel for `lease`, handed off from the claim: if the lease runs out
    they become `unknown`. The worker claims a channel's group with `outbox_turn` instead."""
    with transaction.atomic():
        due = (OutboxMessage.objects.select_for_update(skip_locked=True)
               .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
               .exclude(campaign_id__in=HeldCampaign.objects.values("campaign_id")))
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).update(
            status=MessageStatus.SENDING, lease_until=now + lease, leased_by=worker_id,
            attempts=F("attempts") + 1, sent_at=now, updated_at=now)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def outbox_record(*, row: Row, result: SendResult, worker_id: str, now: dt.datetime) -> str:
    """Write one send's result; returns which WorkerStats counter it adds to.

    A row this worker still holds is `sending`; it may already be `unknown` when the lease ran out while the
    gateway call was slow. The result is recorded either way — it is better knowledge than `unknown` — unless
    the operator has queued the row again (that clears `leased_by`)."""
    mine = OutboxMessage.objects.filter(id=row.id, status__in=(MessageStatus.SENDING, MessageStatus.UNKNOWN),
                                        leased_by=worker_id)
    if result.outcome is Outcome.ACCEPTED:
        remote_id = remote_key(result.remote_id)
        mine.update(status=MessageStatus.SENT, remote_id=remote_id, sent_at=now, lease_until=None, last_error="",
                    updated_at=now)
        # Only SMS has delivery receipts (SMPP); e-mail skips the lookup.
        if remote_id and row.channel == Channel.SMS:
            _apply_stored([row.id], now)
        return "sent"
    if result.outcome is Outcome.PERMANENT:
        with transaction.atomic():
            failed = mine.update(status=MessageStatus.FAILED, last_error=result.error, lease_until=None, sent_at=None,
                                 updated_at=now)
            opted_out = result.opt_out and failed and _provider_opt_out(row.id)
        log.warning("message %s (patient %s) failed: %s%s", row.id, row.patient_ref, result.error,
                    "; the patient's SMS opt-out with the provider recorded" if opted_out else "")
        return "failed"
    if result.outcome is Outcome.MISCONFIGURED:
        # Nothing of it was written (credentials refused, a certificate not trusted): back to the queue as it was,
        # its attempt not counted; the worker stops the channel.
        mine.update(**_queued_again(now))
        return "released"
    if result.outcome is Outcome.UNKNOWN:
        # Written and never answered: the provider may have it. Like a dead worker's row, it waits for the
        # operator (`masspost resend-unknown`), never sent again by itself.
        mine.update(status=MessageStatus.UNKNOWN, last_error=result.error, lease_until=None, updated_at=now)
        log.warning("message %s (patient %s) unknown: %s", row.id, row.patient_ref, result.error)
        return "unknown"
    retry_at = now + retry_delay(row.attempts)
    if retry_at > row.deadline:
        mine.update(status=MessageStatus.EXPIRED, last_error=result.error, lease_until=None, sent_at=None,
                    updated_at=now)
        return "expired"
    mine.update(status=MessageStatus.QUEUED, next_attempt_at=retry_at, last_error=result.error, lease_until=None,
                sent_at=None, updated_at=now)
    return "retried"


def _provider_opt_out(message_id: int) -> bool:
    """The provider refused the message because its recipient opted out with the provider (Twilio 21610: the
    patient texted STOP to the provider's number, not ours): the patient's own word, recorded as an SMS opt-out
    with source "provider" (clinic.models.PATIENT_OWN_SOURCES: an import never switches it back on), so the next
    preview leaves them out. Once: a patient already opted out gets no second event. True when recorded."""
    patient = (Patient.objects.select_for_update()
               .filter(id__in=OutboxMessage.objects.filter(id=message_id).values("patient_id"), accepts_sms=True)
               .only("id").first())
    if patient is None:
        return False
    ConsentEvent.objects.create(patient=patient, channel="sms", accepts=False, source=PROVIDER_SOURCE)
    Patient.objects.filter(id=patient.id).update(accepts_sms=False)
    return True


def provider_opt_out_by_remote_id(remote_ids: Sequence[str]) -> int:
    """A provider's receipt said the message was undelivered because its recipient opted out with the provider
    (Twilio 21610 in a status callback): the same opt-out as a refused send's (`_provider_opt_out`), for the
    SMS rows with these remote ids. Returns how many patients it opted out (once each)."""
    opted_out = 0
    with transaction.atomic():
        for message_id in OutboxMessage.objects.filter(remote_id__in=[remote_key(r) for r in remote_ids],
                                                       channel="sms").values_list("id", flat=True):
            opted_out += _provider_opt_out(message_id)
    return opted_out


def outbox_record_many(*, rows: Sequence[Row], results: Sequence[SendResult], worker_id: str,
                       now: dt.datetime) -> list[str]:
    """`outbox_record` for a group that came back from one gateway call: the accepted ones — nearly all — in one
    statement (delivery.turn), then their early receipts in a second; the rest one by one."""
    outcomes = [("sent" if result.outcome is Outcome.ACCEPTED
                 else outbox_record(row=row, result=result, worker_id=worker_id, now=now))
                for row, result in zip(rows, results, strict=True)]
    accepted = [Accepted(id=row.id, remote_id=result.remote_id)
                for row, result in zip(rows, results, strict=True) if result.outcome is Outcome.ACCEPTED]
    outbox_turn(worker_id=worker_id, now=now, lease=timedelta(0), accepted=accepted)
    # Receipts that came before this record (often all of them: an SMSC answers in a millisecond).
    _apply_stored([row.id for row, result in zip(rows, results, strict=True)
                   if result.outcome is Outcome.ACCEPTED and result.remote_id and row.channel == Channel.SMS], now)
    return outcomes


def _apply_stored(message_ids: list[int], now: dt.datetime) -> None:
    """Receipts stored before these rows were recorded `sent`: applied by a statement of their own, after the
    record committed (the hand-shake in delivery.inbound). The turn's stored-receipt part alone; then the
    provider's error of an undelivered one (an HTTP provider's webhook) becomes its row's last_error."""
    if message_ids:
        outbox_turn(worker_id="", now=now, lease=timedelta(0), stored_for=message_ids)
        receipt_errors_apply(since=now - RECEIPT_ERROR_SPAN)


def outbox_release(*, rows: Sequence[Row], worker_id: str, now: dt.datetime) -> int:
    """Give back claimed rows that were never handed to a gateway (a stopping or backing-off worker)."""
    return OutboxMessage.objects.filter(id__in=[r.id for r in rows], status=MessageStatus.SENDING,
                                        leased_by=worker_id).update(**_queued_again(now))


def _queued_again(now: dt.datetime) -> dict[str, Any]:
    """A claimed row that was never handed to a gateway, back in the queue: its attempt not counted."""
    return {"status": MessageStatus.QUEUED, "attempts": F("attempts") - 1, "lease_until": None, "leased_by": "",
            "sent_at": None, "updated_at": now}


def outbox_release_unbegun(*, worker_id: str, in_hand: set[int], now: dt.datetime) -> int:
    """After the database came back, with the results known meanwhile written: every row this worker
    (`worker_id` is unique to its process) still holds, except those `in_hand` — begun, results unknown — was
    claimed and never begun: a claim whose statement committed but whose answer was lost, a group given back in
    vain. They go back to the queue, their attempt not counted — also those another worker's housekeeping called
    `unknown` meanwhile (a lease that ran out during a long outage: the claim had stamped them handed off)."""
    return (OutboxMessage.objects.filter(status__in=(MessageStatus.SENDING, MessageStatus.UNKNOWN),
                                         leased_by=worker_id)
            .exclude(id__in=sorted(in_hand))
            .update(**_queued_again(now),
                    last_error=Case(When(status=MessageStatus.UNKNOWN, then=Value("")), default=F("last_error"),
                                    output_field=TextField())))


def outbox_end_leases(*, now: dt.datetime) -> tuple[int, int]:
    """Dead workers' rows, whose lease ran out: (reclaimed, unknown). Rows never handed to a gateway go back to
    the queue, their attempt not counted; rows that were handed off become `unknown`. Rows another transaction
    has locked — a slow owner recording its result right now — are skipped, not waited for: the owner knows
    better, and waiting while holding other rows' locks could deadlock with its multi-row UPDATE."""
    with transaction.atomic():
        ended = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                     .filter(status=MessageStatus.SENDING, lease_until__lt=now).values_list("id", "sent_at"))
        if not ended:
            return 0, 0
        untouched = [row_id for row_id, handed in ended if handed is None]
        reclaimed = OutboxMessage.objects.filter(id__in=untouched).update(**_queued_again(now))
        handed_off = [row_id for row_id, handed in ended if handed is not None]
        unknown = OutboxMessage.objects.filter(id__in=handed_off).update(
            status=MessageStatus.UNKNOWN, last_error="the worker's lease ran out before it recorded a result",
            lease_until=None, updated_at=now)
    return reclaimed, unknown


def outbox_expire_deadlines(*, now: dt.datetime) -> int:
    return OutboxMessage.objects.filter(status=MessageStatus.QUEUED, deadline__lt=now).update(
        status=MessageStatus.EXPIRED, updated_at=now)
