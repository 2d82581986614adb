"""The worker: claim due outbox rows, send them outside any transaction, record each result.

Claim → send → record, each in its own short step (docs/delivery.md). A row is `sending` under a lease while
a worker holds it; a lease that runs out means the worker died with the row in hand, and since the gateway may
or may not have taken the message, the row becomes `unknown` — never re-sent by itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Gateway, OutgoingMessage, Outcome, SendResult
from masspost.delivery.models import MessageStatus, OutboxMessage

log = logging.getLogger("masspost.delivery")

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)


@dataclass(kw_only=True)
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    unknown: int = 0


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter, so workers that failed together do not retry together."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * (rng or random).uniform(0.8, 1.2)


def default_gateways() -> dict[str, str]:
    return {Channel.SMS: settings.MASSPOST_SMS_URL, Channel.EMAIL: settings.MASSPOST_EMAIL_URL}


def worker_run(*, until_idle: bool = False, batch_size: int = 100, lease: timedelta = timedelta(minutes=5),
               poll: float = 1.0, gateway_urls: dict[str, str] | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> WorkerStats:
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    urls = gateway_urls or default_gateways()
    gateways: dict[str, Gateway] = {}
    stats = WorkerStats()
    try:
        while not should_stop():
            now = timezone.now()
            stats.unknown += outbox_expire_leases(now=now)
            stats.expired += outbox_expire_deadlines(now=now)
            batch = outbox_claim(worker_id=worker_id, now=now, limit=batch_size, lease=lease)
            if not batch:
                if until_idle:
                    break
                time.sleep(poll)
                continue
            stats.claimed += len(batch)
            for index, row in enumerate(batch):
                if should_stop():
                    outbox_release(rows=batch[index:], worker_id=worker_id, now=timezone.now())
                    break
                gateway = gateways.get(row.channel)
                if gateway is None:
                    gateway = gateways[row.channel] = gateway_from_url(urls[row.channel])
                    gateway.open()
                result = gateway.send(_outgoing(row))
                outcome = outbox_record(row=row, result=result, worker_id=worker_id, now=timezone.now())
                setattr(stats, outcome, getattr(stats, outcome) + 1)
    finally:
        for gateway in gateways.values():
            gateway.close()
    return stats


def outbox_claim(*, worker_id: str, now: dt.datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).update(
            status=MessageStatus.SENDING, lease_until=now + lease, leased_by=worker_id,
            attempts=F("attempts") + 1, updated_at=now)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def outbox_record(*, row: OutboxMessage, result: SendResult, worker_id: str, now: dt.datetime) -> str:
    """Write one send's result; returns which WorkerStats counter it adds to."""
    mine = OutboxMessage.objects.filter(id=row.id, status=MessageStatus.SENDING, leased_by=worker_id)
    if result.outcome is Outcome.ACCEPTED:
        mine.update(status=MessageStatus.SENT, remote_id=result.remote_id[:100], sent_at=now, lease_until=None,
                    last_error="", updated_at=now)
        return "sent"
    if result.outcome is Outcome.PERMANENT:
        mine.update(status=MessageStatus.FAILED, last_error=result.error, lease_until=None, updated_at=now)
        log.warning("message %s (patient %s) failed: %s", row.id, row.patient_ref, result.error)
        return "failed"
    retry_at = now + retry_delay(row.attempts)
    if retry_at > row.deadline:
        mine.update(status=MessageStatus.EXPIRED, last_error=result.error, lease_until=None, updated_at=now)
        return "expired"
    mine.update(status=MessageStatus.QUEUED, next_attempt_at=retry_at, last_error=result.error, lease_until=None,
                updated_at=now)
    return "retried"


def outbox_release(*, rows: list[OutboxMessage], worker_id: str, now: dt.datetime) -> None:
    """Give back claimed rows that were never handed to a gateway (a stopping worker)."""
    OutboxMessage.objects.filter(id__in=[r.id for r in rows], status=MessageStatus.SENDING,
                                 leased_by=worker_id).update(
        status=MessageStatus.QUEUED, attempts=F("attempts") - 1, lease_until=None, leased_by="", updated_at=now)


def outbox_expire_leases(*, now: dt.datetime) -> int:
    return OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lt=now).update(
        status=MessageStatus.UNKNOWN, last_error="the worker's lease ran out before it recorded a result",
        lease_until=None, updated_at=now)


def outbox_expire_deadlines(*, now: dt.datetime) -> int:
    return OutboxMessage.objects.filter(status=MessageStatus.QUEUED, deadline__lt=now).update(
        status=MessageStatus.EXPIRED, updated_at=now)


def _outgoing(row: OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=row.id, campaign_id=row.campaign_id, patient_ref=row.patient_ref, channel=Channel(row.channel),
        to=row.address, language=row.language, text=row.body, subject=row.subject, encoding=row.encoding,
        parts=row.parts, sender=row.sender, sender_name=row.sender_name, reply_to=row.sender,
    )
