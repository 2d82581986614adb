"""The outbox's steps during delivery besides the worker's turn (delivery.turn), each one short statement or
transaction (docs/delivery.md): record a failed send (and a provider's opt-out with it); settle an `unknown` one
that the provider's receipt shows was taken; give back what was not sent; end dead workers' leases; expire what is
past its deadline; and a plain claim for callers that send at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, TextField, Value, When

from masspost.clinic.models import PROVIDER_SOURCE
from masspost.consent import CHANNELS, FIELDS
from masspost.delivery.gateways.base import Channel, Outcome, SendResult
from masspost.delivery.inbound import receipt_errors_apply
from masspost.delivery.models import (
    CampaignGate,
    DeliveryReceipt,
    HeldCampaign,
    MessageStatus,
    OutboxMessage,
    SendingWindow,
    remote_key,
)
from masspost.delivery.suppress import opt_out_counted
from masspost.delivery.turn import OPTED_OUT, Accepted, ClaimedMessage, outbox_turn

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
               .exclude(campaign_id__in=HeldCampaign.objects.values("campaign_id"))
               .exclude(campaign_id__in=CampaignGate.objects.values("campaign_id"))
               .filter(Q(clinic_id__isnull=True) | Exists(SendingWindow.objects.filter(
                   campaign_id=OuterRef("campaign_id"), clinic_id=OuterRef("clinic_id"), opens_at__lte=now,
                   closes_at__gt=now))))
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        # The claim's consent rule (delivery.turn): what the patient's consent refuses now is suppressed, not taken.
        refused_ids = set(OutboxMessage.objects.filter(refused(), id__in=ids).values_list("id", flat=True))
        if refused_ids:
            OutboxMessage.objects.filter(id__in=refused_ids).update(
                status=MessageStatus.SUPPRESSED, last_error=OPTED_OUT, updated_at=now)
            ids = [row_id for row_id in ids if row_id not in refused_ids]
        OutboxMessage.objects.filter(id__in=ids).update(
            status=MessageStatus.SENDING, lease_until=now + lease, leased_by=worker_id,
            attempts=F("attempts") + 1, sent_at=now, updated_at=now)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def refused() -> Q:
    """Outbox rows whose patient's consent columns refuse them now (delivery.suppress.refused_sql, as a Q)."""
    found = Q(pk__in=[])
    for channel in CHANNELS:
        whole, offers = FIELDS[(channel, "service")], FIELDS[(channel, "marketing")]
        found |= Q(channel=channel) & (Q(**{f"patient__{whole}": False})
                                       | Q(marketing=True, **{f"patient__{offers}": False}))
    return found


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
    return _opt_out_patients(OutboxMessage.objects.filter(id=message_id).values("patient_id")) > 0


def _opt_out_patients(patient_ids: QuerySet[Any]) -> int:
    """`_provider_opt_out` for the patients `patient_ids` (a query of patient ids): a hard opt-out of SMS through
    the ledger, with their queued SMS suppressed in the same transaction (delivery.suppress.opt_out, reason
    "provider"). Returns how many patients it opted out: those who still accepted SMS. The ledger locks them in id
    order, as a STOP reply does (delivery.inbound), so two opt-outs of the same family cannot deadlock; one that
    finds a patient opted out meanwhile adds no second event (after the lock, PostgreSQL reads the column again)."""
    ids = sorted(set(patient_ids.values_list("patient_id", flat=True)))
    if not ids:
        return 0
    changed, suppressed = opt_out_counted(patient_ids=ids, channel="sms", purpose="service", source=PROVIDER_SOURCE)
    if suppressed:
        log.info("%d queued SMS suppressed: their patient(s) opted out with the provider", suppressed)
    return len(changed)


def provider_opt_out_by_remote_id(remote_ids: Sequence[str]) -> int:
    """A provider's receipt said the message was undelivered because its recipient opted out with the provider
    (Twilio 21610 in a status callback): the same opt-out as a refused send's (`_provider_opt_out`), for the
    SMS rows with these remote ids. Returns how many patients it opted out (once each). A receipt that came before
    its message was recorded finds no row here: it is kept with its opt-out, and `stored_receipts_apply` records
    it once the receipt is applied."""
    return _opt_out_patients(OutboxMessage.objects.filter(remote_id__in=[remote_key(r) for r in remote_ids],
                                                          channel=Channel.SMS).exclude(remote_id="")
                             .values("patient_id"))


# What last_error says of a message `outbox_settle_unknown` settled (the reason it was unknown follows).
SETTLED_NOTE = "the provider's receipt showed it had taken the message"


def outbox_settle_unknown(pairs: Sequence[tuple[int, str]], *, now: dt.datetime) -> int:
    """Messages left `unknown` because the send's answer never came (a read timeout, a dropped connection, a 502),
    settled by the provider's own receipt: `pairs` are (outbox id, remote id) from authenticated receipts whose
    callback URL named the message (`?m=`, http_sms.callback_url). The receipt proves the provider took it, so it is
    `sent` with the receipt's remote id — then the receipt moves it on as any other — and never resent, where
    `masspost resend-unknown` might have sent it twice. last_error keeps a note, and why it was unknown.

    Only an SMS row still `unknown` with no remote id is settled; any other is left alone (a `sending` row is its
    worker's, whose record applies the receipt, stored meanwhile). A remote id another row already has is not
    given to a second one. Rows are locked in id order on PostgreSQL, as every statement moving receipts' rows
    locks them. Returns how many were settled."""
    wanted: dict[int, str] = {}
    for message_id, remote_id in pairs:
        if remote_id:
            wanted.setdefault(message_id, remote_key(remote_id))
    if not wanted:
        return 0
    unknown = OutboxMessage.objects.filter(id__in=sorted(wanted), status=MessageStatus.UNKNOWN, channel=Channel.SMS,
                                           remote_id="")
    settled = 0
    with transaction.atomic():
        rows = list(unknown.select_for_update().order_by("id").values_list("id", "last_error"))
        if not rows:
            return 0
        taken = set(OutboxMessage.objects.filter(remote_id__in=[wanted[row_id] for row_id, _ in rows])
                    .values_list("remote_id", flat=True))
        for row_id, error in rows:
            key = wanted[row_id]
            if key in taken:
                continue
            taken.add(key)
            note = f"{SETTLED_NOTE} (unknown before: {error})" if error else SETTLED_NOTE
            settled += unknown.filter(id=row_id).update(status=MessageStatus.SENT, remote_id=key, last_error=note,
                                                        lease_until=None, updated_at=now)
    return settled


def stored_receipts_apply(*, since: dt.datetime) -> int:
    """What stored receipts (received since `since`) add to the messages they already made undelivered, once
    the worker recorded their results — at the end of the worker's turn and in the sweep: the provider's error
    (`inbound.receipt_errors_apply`), and the opt-out of one that said the recipient opted out with the provider
    (Twilio 21610; `_provider_opt_out`: once per patient, however often this runs). Returns how many patients it
    opted out."""
    receipt_errors_apply(since=since)
    keys = sorted(set(DeliveryReceipt.objects.filter(received_at__gte=since, opt_out=True)
                      .values_list("remote_id", flat=True)))
    if not keys:  # nearly always: one cheap look at the recent receipts
        return 0
    opted_out = _opt_out_patients(OutboxMessage.objects.filter(remote_id__in=keys, channel=Channel.SMS,
                                                               status=MessageStatus.UNDELIVERED)
                                  .exclude(remote_id="").values("patient_id"))
    if opted_out:
        log.info("%d patient(s) opted out of SMS with the provider (a receipt that came before its message was "
                 "recorded)", opted_out)
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
    provider's error of an undelivered one (an HTTP provider's webhook) becomes its row's last_error, and its
    opt-out the patient's (`stored_receipts_apply`)."""
    if message_ids:
        outbox_turn(worker_id="", now=now, lease=timedelta(0), stored_for=message_ids)
        stored_receipts_apply(since=now - RECEIPT_ERROR_SPAN)


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
