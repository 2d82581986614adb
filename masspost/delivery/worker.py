"""The worker: claim due outbox rows, send them outside any transaction, record each result.

Claim → hand off → send → record, each in its own short step (docs/delivery.md). A claimed row is `sending`
under a lease. Just before a group of rows goes to the gateway (one message, or up to a window of SMS), the
worker stamps them `sent_at` ("handed off") and renews their lease. A lease that runs out means the worker
died: rows it had not handed off go back to the queue; rows it had handed off may or may not have reached the
peer, so they become `unknown` — never re-sent by itself. A dead worker therefore leaves at most one group
(one window) unknown.

A transient error also backs off its whole channel for a while (1 s doubling to 30 s, reset by a success): a
throttling SMSC or a greylisting relay is not hammered with the rest of the batch, which goes back to the queue
untouched, and the other channel keeps going.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from masspost.delivery.claims import (
    outbox_claim,
    outbox_end_leases,
    outbox_expire_deadlines,
    outbox_handoff,
    outbox_record_many,
    outbox_release,
)
from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import (
    Channel,
    Gateway,
    Outcome,
    OutgoingMessage,
    SendResult,
    WindowedGateway,
)
from masspost.delivery.inbound import (
    inbound_record,
    receipt_record,
    receipt_record_many,
)
from masspost.delivery.lock import WorkerLock
from masspost.delivery.models import MessageStatus, OutboxMessage
from masspost.delivery.ratelimit import RateLimiter

log = logging.getLogger("masspost.delivery")

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
    reclaimed: int = 0  # rows a dead worker had claimed but not handed off, put back in the queue


@dataclass(kw_only=True)
class _Channel:
    gateway: Gateway
    limiter: RateLimiter
    backoff: float = 0.0  # seconds of the current back-off; 0 = none
    resume_at: float = 0.0  # time.monotonic() before which nothing is sent on this channel
    group: int = 1  # messages handed to the gateway at once; 1 after a transient error, then doubling
    window: int = 1  # the most handed at once: the windowed gateway's window, else the configured group

    @property
    def windowed(self) -> WindowedGateway | None:
        return self.gateway if hasattr(self.gateway, "send_many") else None  # type: ignore[return-value]

    @property
    def max_group(self) -> int:
        windowed = self.windowed
        return windowed.window if windowed is not None else self.window


@dataclass(kw_only=True)
class GatewayConfig:
    urls: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)  # messages (SMS: parts) per second; 0 = no limit
    # Messages handed at once to a gateway that sends one at a time (SMTP): one hand-off and one record per
    # group instead of per message, at the price of up to a group of `unknown` rows when a worker dies mid-group.
    group: int = 10

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        return cls(urls={Channel.SMS: settings.MASSPOST_SMS_URL, Channel.EMAIL: settings.MASSPOST_EMAIL_URL},
                   rates={Channel.SMS: settings.MASSPOST_SMS_RATE, Channel.EMAIL: settings.MASSPOST_EMAIL_RATE},
                   group=settings.MASSPOST_EMAIL_WINDOW)


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
                reclaimed, unknown = outbox_end_leases(now=now)
                stats.reclaimed += reclaimed
                stats.unknown += unknown
                stats.expired += outbox_expire_deadlines(now=now)
                clock = time.monotonic()
                resting = {name for name, ch in channels.items() if ch.resume_at > clock}
                batch = outbox_claim(worker_id=worker_id, now=now, limit=batch_size, lease=lease,
                                     skip_channels=resting, handed=False)
                if not batch:
                    if until_idle and not resting:
                        break
                    wake = min([ch.resume_at for ch in channels.values() if ch.resume_at > clock], default=0)
                    time.sleep(max(0.05, min(poll, wake - clock)) if wake else poll)
                    continue
                stats.claimed += len(batch)
                _send_batch(batch, channels, config, worker_id, lease, stats, should_stop)
        finally:
            for channel in channels.values():
                channel.gateway.close()
    return stats


def _send_batch(batch: list[OutboxMessage], channels: dict[str, _Channel], config: GatewayConfig, worker_id: str,
                lease: timedelta, stats: WorkerStats, should_stop: Callable[[], bool]) -> None:
    deferred: list[OutboxMessage] = []  # claimed but not sent: their channel is backing off, or we are stopping
    by_channel: dict[str, list[OutboxMessage]] = {}
    for row in batch:
        by_channel.setdefault(row.channel, []).append(row)
    try:
        for name, rows in by_channel.items():
            channel = channels.get(name) or _open_channel(name, config, channels)
            deferred.extend(_send_in_turn(channel, name, rows, worker_id, lease, stats, should_stop))
    except BaseException:
        # A gateway that cannot even be opened (a bad URL), a database error…: the claims never handed off go
        # back to the queue now rather than wait out the lease; a group in the gateway's hands stays `sending`
        # and turns `unknown` after the lease, as it must.
        with contextlib.suppress(DatabaseError):
            OutboxMessage.objects.filter(id__in=[r.id for r in batch], status=MessageStatus.SENDING,
                                         leased_by=worker_id, sent_at__isnull=True).update(
                status=MessageStatus.QUEUED, attempts=F("attempts") - 1, lease_until=None, leased_by="",
                updated_at=timezone.now())
        raise
    if deferred:
        stats.released += outbox_release(rows=deferred, worker_id=worker_id, now=timezone.now())


def _send_in_turn(channel: _Channel, name: str, rows: list[OutboxMessage], worker_id: str, lease: timedelta,
                  stats: WorkerStats, should_stop: Callable[[], bool]) -> list[OutboxMessage]:
    """Hand off a group, send it, record it, and only then the next: at most one group (one message, or one
    window of SMS) is ever in the gateway's hands unrecorded. Returns the rows not sent.

    Recording one group while the next is on the wire (on a second thread, half a window each) was tried and
    measured slower on a 2-core machine: twice the statements per message, and the threads compete for the
    CPU that PostgreSQL and the SMSC need (docs/benchmarks.md, "Delivery")."""
    position = 0
    while position < len(rows):
        if should_stop() or channel.resume_at > time.monotonic():
            return rows[position:]
        group = rows[position:position + channel.group]
        position += len(group)
        handed = outbox_handoff(rows=group, worker_id=worker_id, now=timezone.now(), lease=lease)
        results = _deliver(channel, handed) if handed else []
        _record(channel, name, handed, results, worker_id, stats)
        if len(results) < len(handed):
            return handed[len(results):] + rows[position:]  # a windowed gateway stopped early: never written
    return []


def _record(channel: _Channel, name: str, handed: list[OutboxMessage], results: list[SendResult], worker_id: str,
            stats: WorkerStats) -> None:
    for outcome in outbox_record_many(rows=handed[:len(results)], results=results, worker_id=worker_id,
                                      now=timezone.now()):
        setattr(stats, outcome, getattr(stats, outcome) + 1)
    _adjust(channel, name, results)


def _deliver(channel: _Channel, rows: Sequence[OutboxMessage]) -> list[SendResult]:
    windowed = channel.windowed
    if windowed is not None:
        # One slot per SMS part, reserved just before the part is written: a multipart message's parts sent in
        # one burst could put more than `rate` submits into some one-second window.
        pace = channel.limiter.wait if channel.limiter.interval is not None else None
        return windowed.send_many([_outgoing(row) for row in rows], pace=pace)
    results = []
    for row in rows:
        channel.limiter.wait(row.parts if row.channel == Channel.SMS else 1)
        result = channel.gateway.send(_outgoing(row))
        results.append(result)
        if result.outcome is Outcome.TRANSIENT:
            break  # like a windowed gateway: the rest of the group is never written and goes back to the queue
    return results


def _adjust(channel: _Channel, name: str, results: list[SendResult]) -> None:
    """Back the channel off after a transient error (and restart its window at one message); a clean group
    resets the back-off and doubles the group, up to the gateway's window."""
    transient = next((r for r in results if r.outcome is Outcome.TRANSIENT), None)
    if transient is not None:
        channel.backoff = min(CHANNEL_BACKOFF_MAX, max(1.0, channel.backoff * 2))
        channel.resume_at = time.monotonic() + channel.backoff * random.uniform(0.8, 1.2)
        channel.group = 1
        log.warning("%s gateway: transient error, backing off %.0f s: %s", name, channel.backoff, transient.error)
    elif any(r.outcome is Outcome.ACCEPTED for r in results):
        channel.backoff = 0.0
        channel.group = min(channel.max_group, channel.group * 2)


def _open_channel(name: str, config: GatewayConfig, channels: dict[str, _Channel]) -> _Channel:
    url = config.urls[name]
    gateway = gateway_from_url(url, on_delivery_receipt=_on_reader_thread(receipt_record),
                               on_delivery_receipts=_on_reader_thread(receipt_record_many),
                               on_incoming=_on_reader_thread(inbound_record))
    gateway.open()
    parts = urlsplit(url)
    limiter = RateLimiter(name=f"{name}:{parts.scheme}:{parts.hostname or parts.path}:{parts.port or ''}",
                          per_second=config.rates.get(name, 0))
    channel = _Channel(gateway=gateway, limiter=limiter, window=max(1, config.group))
    channel.group = channel.max_group
    channels[name] = channel
    return channel


def _on_reader_thread(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Gateway hooks run on a thread of the gateway (SMPP: "smpp-hooks"), which keeps its own database
    connection. A database error closes it (the next call reconnects) and propagates, so the SMSC delivers the
    receipt again."""
    def run(*args: Any) -> Any:
        try:
            return hook(*args)
        except DatabaseError:
            connection.close()
            raise

    return run


def _outgoing(row: OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=row.id, campaign_id=row.campaign_id, patient_ref=row.patient_ref, channel=Channel(row.channel),
        to=row.address, language=row.language, text=row.body, subject=row.subject, encoding=row.encoding,
        parts=row.parts, sender=row.sender, sender_name=row.sender_name, reply_to=row.sender,
    )
