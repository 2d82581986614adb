"""The outbox's steps during delivery, each one short statement or transaction (docs/delivery.md):
claim due rows → hand a group off → record its results; give back what was not sent; end dead workers' leases;
expire what is past its deadline. The worker (delivery.worker) strings them together around the network calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from masspost.delivery.gateways.base import Channel, Outcome, SendResult
from masspost.delivery.inbound import receipt_apply_stored
from masspost.delivery.models import HeldCampaign, MessageStatus, OutboxMessage

log = logging.getLogger("masspost.delivery")

RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter, so messages that failed together do not retry together."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * (rng or random).uniform(0.8, 1.2)


def outbox_claim(*, worker_id: str, now: dt.datetime, limit: int, lease: timedelta,
                 skip_channels: set[str] | frozenset[str] = frozenset(), handed: bool = True) -> list[OutboxMessage]:
    """Claim up to `limit` due rows for `lease`. With `handed` (the safe default for a caller that sends at once),
    the rows count as handed off from the claim: if the lease runs out they become `unknown`. The worker claims
    with handed=False and hands rows off group by group (`outbox_handoff`), so a dead worker's untouched rows
    go back to the queue instead."""
    with transaction.atomic():
        due = (OutboxMessage.objects.select_for_update(skip_locked=True)
               .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
               .exclude(campaign_id__in=HeldCampaign.objects.values("campaign_id"))
               .exclude(channel__in=skip_channels))
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).update(
            status=MessageStatus.SENDING, lease_until=now + lease, leased_by=worker_id,
            attempts=F("attempts") + 1, sent_at=now if handed else None, updated_at=now)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def outbox_handoff(*, rows: Sequence[OutboxMessage], worker_id: str, now: dt.datetime,
                   lease: timedelta) -> list[OutboxMessage]:
    """Stamp claimed rows as handed to the gateway (`sent_at`) and renew their lease, in one statement; returns
    the rows that are still ours — a row whose lease ran out meanwhile was reclaimed and must not be sent."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    ops = connection.ops
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    # RETURNING (PostgreSQL, SQLite ≥ 3.35) says which rows matched without a second query or a lock.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET sent_at = %s, lease_until = %s, updated_at = %s "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) AND status = %s AND leased_by = %s RETURNING id",
            [ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(now + lease),
             ops.adapt_datetimefield_value(now), *ids, MessageStatus.SENDING.value, worker_id])
        mine = {row[0] for row in cursor.fetchall()}
    if len(mine) < len(ids):
        log.warning("%d claimed message(s) were reclaimed before they were sent: the lease is too short for the "
                    "batch", len(ids) - len(mine))
    return [row for row in rows if row.id in mine]


def outbox_record(*, row: OutboxMessage, result: SendResult, worker_id: str, now: dt.datetime) -> str:
    """Write one send's result; returns which WorkerStats counter it adds to.

    A row this worker still holds is `sending`; it may already be `unknown` when the lease ran out while the
    gateway call was slow. The result is recorded either way — it is better knowledge than `unknown` — unless
    the operator has queued the row again (that clears `leased_by`)."""
    mine = OutboxMessage.objects.filter(id=row.id, status__in=(MessageStatus.SENDING, MessageStatus.UNKNOWN),
                                        leased_by=worker_id)
    if result.outcome is Outcome.ACCEPTED:
        remote_id = result.remote_id[:100]
        mine.update(status=MessageStatus.SENT, remote_id=remote_id, sent_at=now, lease_until=None, last_error="",
                    updated_at=now)
        # Only SMS has delivery receipts (SMPP); e-mail skips the lookup.
        if remote_id and row.channel == Channel.SMS:
            receipt_apply_stored(message_ids=[row.id])
        return "sent"
    if result.outcome is Outcome.PERMANENT:
        mine.update(status=MessageStatus.FAILED, last_error=result.error, lease_until=None, sent_at=None,
                    updated_at=now)
        log.warning("message %s (patient %s) failed: %s", row.id, row.patient_ref, result.error)
        return "failed"
    retry_at = now + retry_delay(row.attempts)
    if retry_at > row.deadline:
        mine.update(status=MessageStatus.EXPIRED, last_error=result.error, lease_until=None, sent_at=None,
                    updated_at=now)
        return "expired"
    mine.update(status=MessageStatus.QUEUED, next_attempt_at=retry_at, last_error=result.error, lease_until=None,
                sent_at=None, updated_at=now)
    return "retried"


def outbox_record_many(*, rows: Sequence[OutboxMessage], results: Sequence[SendResult], worker_id: str,
                       now: dt.datetime) -> list[str]:
    """`outbox_record` for a group that came back from one gateway call. The accepted ones — nearly all — are
    written in one statement and their early receipts looked up in one query; the rest one by one."""
    accepted = [(row, result) for row, result in zip(rows, results, strict=True)
                if result.outcome is Outcome.ACCEPTED]
    if len(accepted) < 2:
        return [outbox_record(row=row, result=result, worker_id=worker_id, now=now)
                for row, result in zip(rows, results, strict=True)]
    ops = connection.ops
    table = ops.quote_name(OutboxMessage._meta.db_table)
    stamp = ops.adapt_datetimefield_value(now)
    values = ", ".join(["(%s, %s)"] * len(accepted))
    params: list[Any] = [value for row, result in accepted for value in (row.id, result.remote_id[:100])]
    # UPDATE … FROM (VALUES …): PostgreSQL and SQLite ≥ 3.33 both name the VALUES columns column1, column2.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, remote_id = v.column2, sent_at = %s, lease_until = NULL, "
            f"last_error = '', updated_at = %s FROM (VALUES {values}) AS v "
            f"WHERE {table}.id = v.column1 AND {table}.status IN (%s, %s) AND {table}.leased_by = %s",
            [MessageStatus.SENT.value, stamp, stamp, *params, MessageStatus.SENDING.value,
             MessageStatus.UNKNOWN.value, worker_id])
    # Receipts that came before this record (often all of them: an SMSC answers in a millisecond).
    receipt_apply_stored(message_ids=[row.id for row, result in accepted
                                      if result.remote_id and row.channel == Channel.SMS])
    return [("sent" if result.outcome is Outcome.ACCEPTED
             else outbox_record(row=row, result=result, worker_id=worker_id, now=now))
            for row, result in zip(rows, results, strict=True)]


def outbox_release(*, rows: list[OutboxMessage], worker_id: str, now: dt.datetime) -> int:
    """Give back claimed rows that were never handed to a gateway (a stopping or backing-off worker)."""
    return OutboxMessage.objects.filter(id__in=[r.id for r in rows], status=MessageStatus.SENDING,
                                        leased_by=worker_id).update(
        status=MessageStatus.QUEUED, attempts=F("attempts") - 1, lease_until=None, leased_by="", sent_at=None,
        updated_at=now)


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
        reclaimed = OutboxMessage.objects.filter(id__in=untouched).update(
            status=MessageStatus.QUEUED, attempts=F("attempts") - 1, lease_until=None, leased_by="", updated_at=now)
        handed_off = [row_id for row_id, handed in ended if handed is not None]
        unknown = OutboxMessage.objects.filter(id__in=handed_off).update(
            status=MessageStatus.UNKNOWN, last_error="the worker's lease ran out before it recorded a result",
            lease_until=None, updated_at=now)
    return reclaimed, unknown


def outbox_expire_deadlines(*, now: dt.datetime) -> int:
    return OutboxMessage.objects.filter(status=MessageStatus.QUEUED, deadline__lt=now).update(
        status=MessageStatus.EXPIRED, updated_at=now)
