"""The worker: claim due outbox rows, send them outside any transaction, record each result.

Claim → send → record, each in its own short step (docs/delivery.md). A row is `sending` under a lease while
a worker holds it; a lease that runs out means the worker died with the row in hand, and since the gateway may
or may not have taken the message, the row becomes `unknown` — never re-sent by itself.

A transient error also backs off its whole channel for a while (1 s doubling to 30 s, reset by a success): a
throttling SMSC or a greylisting relay is not hammered with the rest of the batch, which goes back to the queue
untouched, and the other channel keeps going.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Gateway, Outcome, OutgoingMessage, SendResult
from masspost.delivery.inbound import inbound_record, receipt_apply_stored, receipt_record
from masspost.delivery.lock import WorkerLock
from masspost.delivery.models import MessageStatus, OutboxMessage
from masspost.delivery.ratelimit import RateLimiter

log = logging.getLogger("masspost.delivery")

RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)
CHANNEL_BACKOFF_MAX = 30.0


@dataclass(kw_only=True)
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    unknown: int = 0
    released: int = 0


@dataclass(kw_only=True)
class _Channel:
    gateway: Gateway
    limiter: RateLimiter
    backoff: float = 0.0  # seconds of the current back-off; 0 = none
    resume_at: float = 0.0  # time.monotonic() before which nothing is sent on this channel


@dataclass(kw_only=True)
class GatewayConfig:
    urls: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)  # messages (SMS: parts) per second; 0 = no limit

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        return cls(urls={Channel.SMS: settings.MASSPOST_SMS_URL, Channel.EMAIL: settings.MASSPOST_EMAIL_URL},
                   rates={Channel.SMS: settings.MASSPOST_SMS_RATE, Channel.EMAIL: settings.MASSPOST_EMAIL_RATE})


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter, so messages that failed together do not retry together."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * (rng or random).uniform(0.8, 1.2)


def worker_run(*, until_idle: bool = False, batch_size: int = 50, lease: timedelta = timedelta(minutes=5),
               poll: float = 1.0, gateways: GatewayConfig | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> WorkerStats:
    config = gateways or GatewayConfig.from_settings()
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    channels: dict[str, _Channel] = {}
    stats = WorkerStats()
    with WorkerLock():
        try:
            while not should_stop():
                now = timezone.now()
                stats.unknown += outbox_expire_leases(now=now)
                stats.expired += outbox_expire_deadlines(now=now)
                clock = time.monotonic()
                resting = {name for name, ch in channels.items() if ch.resume_at > clock}
                batch = outbox_claim(worker_id=worker_id, now=now, limit=batch_size, lease=lease,
                                     skip_channels=resting)
                if not batch:
                    if until_idle and not resting:
                        break
                    wake = min([ch.resume_at for ch in channels.values() if ch.resume_at > clock], default=0)
                    time.sleep(max(0.05, min(poll, wake - clock)) if wake else poll)
                    continue
                stats.claimed += len(batch)
                _send_batch(batch, channels, config, worker_id, stats, should_stop)
        finally:
            for channel in channels.values():
                channel.gateway.close()
    return stats


def _send_batch(batch: list[OutboxMessage], channels: dict[str, _Channel], config: GatewayConfig, worker_id: str,
                stats: WorkerStats, should_stop: Callable[[], bool]) -> None:
    deferred: list[OutboxMessage] = []  # claimed but not sent: their channel is backing off, or we are stopping
    for index, row in enumerate(batch):
        if should_stop():
            deferred.extend(batch[index:])
            break
        channel = channels.get(row.channel) or _open_channel(row.channel, config, channels)
        if channel.resume_at > time.monotonic():
            deferred.append(row)
            continue
        channel.limiter.wait(row.parts if row.channel == Channel.SMS else 1)
        result = channel.gateway.send(_outgoing(row))
        outcome = outbox_record(row=row, result=result, worker_id=worker_id, now=timezone.now())
        setattr(stats, outcome, getattr(stats, outcome) + 1)
        if result.outcome is Outcome.TRANSIENT:
            channel.backoff = min(CHANNEL_BACKOFF_MAX, max(1.0, channel.backoff * 2))
            channel.resume_at = time.monotonic() + channel.backoff * random.uniform(0.8, 1.2)
            log.warning("%s gateway: transient error, backing off %.0f s: %s", row.channel, channel.backoff,
                        result.error)
        elif result.outcome is Outcome.ACCEPTED:
            channel.backoff = 0.0
    if deferred:
        stats.released += outbox_release(rows=deferred, worker_id=worker_id, now=timezone.now())


def _open_channel(name: str, config: GatewayConfig, channels: dict[str, _Channel]) -> _Channel:
    url = config.urls[name]
    gateway = gateway_from_url(url, on_delivery_receipt=_on_reader_thread(receipt_record),
                               on_incoming=_on_reader_thread(inbound_record))
    gateway.open()
    parts = urlsplit(url)
    limiter = RateLimiter(name=f"{name}:{parts.scheme}:{parts.hostname or parts.path}:{parts.port or ''}",
                          per_second=config.rates.get(name, 0))
    channels[name] = _Channel(gateway=gateway, limiter=limiter)
    return channels[name]


def _on_reader_thread(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Gateway hooks run on the gateway's reader thread, which keeps its own database connection. A database
    error closes it (the next call reconnects) and propagates, so the SMSC delivers the receipt again."""
    def run(*args: Any) -> Any:
        try:
            return hook(*args)
        except DatabaseError:
            connection.close()
            raise

    return run


def outbox_claim(*, worker_id: str, now: dt.datetime, limit: int, lease: timedelta,
                 skip_channels: set[str] | frozenset[str] = frozenset()) -> list[OutboxMessage]:
    with transaction.atomic():
        due = (OutboxMessage.objects.select_for_update(skip_locked=True)
               .filter(status=MessageStatus.QUEUED, held=False, next_attempt_at__lte=now)
               .exclude(channel__in=skip_channels))
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
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
        remote_id = result.remote_id[:100]
        mine.update(status=MessageStatus.SENT, remote_id=remote_id, sent_at=now, lease_until=None, last_error="",
                    updated_at=now)
        if remote_id:
            receipt_apply_stored(message_id=row.id, remote_id=remote_id)
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


def outbox_release(*, rows: list[OutboxMessage], worker_id: str, now: dt.datetime) -> int:
    """Give back claimed rows that were never handed to a gateway (a stopping or backing-off worker)."""
    return OutboxMessage.objects.filter(id__in=[r.id for r in rows], status=MessageStatus.SENDING,
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
