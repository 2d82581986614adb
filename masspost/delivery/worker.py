"""The worker: claim due outbox rows, send them outside any transaction, record each result.

Claim a group → send it → record it and claim the next group, in one statement (delivery.turn), with two groups
in flight (delivery.pipeline; docs/delivery.md, "How a worker sends"). A group is half a window: of SMS (the
SMPP `window=`), or of e-mails (MASSPOST_EMAIL_WINDOW); it is claimed just before it goes to the gateway, so the
claim is its hand-off: the rows are `sending` under a lease and stamped `sent_at`. A lease that runs out means
the worker died: those rows may or may not have reached the peer, so they become `unknown` — never re-sent by
itself. A dead worker therefore leaves at most one window unknown; claims it gave back are queued again.

A transient error also backs off its whole channel for a while (1 s doubling to 30 s, reset by a success): a
throttling SMSC or a greylisting relay is not hammered with the rest of the batch, which goes back to the queue
untouched, and the other channel keeps going. A configuration error (credentials refused, a certificate not
trusted) stops its channel for good: its messages stay queued, the other channel keeps going, and the worker
ends with `GatewayConfigError` when it stops — at once when no channel is left (docs/delivery.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from masspost.delivery.claims import (
    outbox_end_leases,
    outbox_expire_deadlines,
    outbox_record_many,
    outbox_release_unbegun,
    stored_receipts_apply,
)
from masspost.delivery.dkim import email_signer
from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel
from masspost.delivery.inbound import (
    inbound_record,
    receipt_apply_recent,
    receipt_prune,
    receipt_record,
    receipt_record_many,
)
from masspost.delivery.lock import WorkerLock
from masspost.delivery.pipeline import ChannelState, Unfinished, WorkerStats, channel_turn, connection_works
from masspost.delivery.ratelimit import RateLimiter
from masspost.delivery.suppress import suppress_withdrawn
from masspost.delivery.webhooks import public_url_for
from masspost.delivery.windows import outbox_hold_closed, outbox_start_due
from masspost.errors import GatewayConfigError

__all__ = ["GatewayConfig", "WorkerStats", "worker_run"]

log = logging.getLogger("masspost.delivery")

HOUSEKEEPING = 1.0  # seconds between looks for dead workers' leases and passed deadlines while there is work
RECEIPT_SWEEP_EVERY = 60.0  # seconds between sweeps of recently stored receipts over rows still `sent`
RECEIPT_SWEEP_SPAN = timedelta(minutes=5)  # a dead worker's gap is milliseconds wide; later parts' receipts pile up
RECEIPT_KEEP = timedelta(days=7)  # stored receipts older than this are deleted by the sweep (kept a while to diagnose)
PRUNE_BATCH, PRUNE_FOR = 10_000, 2.0  # receipts per DELETE; seconds of deleting per sweep at most
# Seconds of the worker's clock between looks for consent withdrawn by paths that do not suppress the patient's
# queued messages themselves (an import, a staff record; delivery.suppress.suppress_withdrawn); the first look
# reaches back SUPPRESS_FIRST_LOOK, over a restart's gap.
SUPPRESS_EVERY = timedelta(seconds=15)
SUPPRESS_FIRST_LOOK = timedelta(minutes=10)
OUTAGE_WAIT_MAX = 30.0  # seconds between tries to reach a database that went away
OUTAGE_TRIES = 6  # with until_idle, tries before giving up (1 + 2 + 4 + 8 + 16 + 30 s); otherwise for ever


@dataclass(kw_only=True)
class GatewayConfig:
    urls: dict[str, str] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)  # messages (SMS: parts) per second; 0 = no limit
    # The most e-mails (a gateway that sends one at a time) handed off and unrecorded at once: what a dying
    # worker can leave `unknown`. A windowed gateway (SMPP) uses its own window.
    group: int = 10

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        return cls(urls={Channel.SMS: settings.MASSPOST_SMS_URL, Channel.EMAIL: settings.MASSPOST_EMAIL_URL},
                   rates={Channel.SMS: settings.MASSPOST_SMS_RATE, Channel.EMAIL: settings.MASSPOST_EMAIL_RATE},
                   group=settings.MASSPOST_EMAIL_WINDOW)


def worker_run(*, until_idle: bool = False, batch_size: int = 500, lease: timedelta = timedelta(minutes=5),
               poll: float = 1.0, gateways: GatewayConfig | None = None,
               should_stop: Callable[[], bool] = lambda: False,
               on_progress: Callable[[WorkerStats], None] | None = None,
               clock: Callable[[], dt.datetime] = timezone.now) -> WorkerStats:
    """Deliver until stopped (or, with `until_idle`, until nothing is due). Each channel in turn gets up to
    `batch_size` messages before the other's turn (delivery.pipeline); dead workers' leases and passed deadlines
    are looked at every HOUSEKEEPING seconds, and always before the worker calls itself idle. `on_progress` is
    called with the running `WorkerStats` (the same object each time) after each recorded group: often, so it
    must be cheap — a terminal line throttles its own redraws. Every `now` the worker writes or compares —
    claims, results, leases, deadlines, the sending windows and scheduled starts its housekeeping looks at —
    comes from `clock` (tests freeze or advance it); the pauses between loops are real time."""
    config = gateways or GatewayConfig.from_settings()
    # Unique to this process: a container's worker restarted as pid 1 again must not take its predecessor's rows
    # for its own (outbox_release_unbegun gives back what the worker holds).
    worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
    channels: dict[str, ChannelState] = {}
    stats = WorkerStats()
    unfinished = Unfinished()  # what turns cut short by a lost database leave to write (pipeline.Unfinished)
    outages = 0  # failed attempts in a row to get through a loop with the database
    recovering = False  # an outage's results and claims are still to be written and given back
    # `_housekeep(stats, sweep)` is the hook tests replace; a clock other than the real one is passed on to it.
    clocked = () if clock is timezone.now else (clock,)
    withdrawals = Withdrawals()
    with WorkerLock():
        try:
            housekeeping_due = sweep_due = 0.0
            while not should_stop():
                try:
                    if recovering:
                        _recover(unfinished, worker_id, stats, clock)
                        recovering = False
                    housekept = time.monotonic() >= housekeeping_due
                    if housekept:
                        sweep = time.monotonic() >= sweep_due
                        _housekeep(stats, sweep, *clocked)
                        withdrawals.step(stats, clock)
                        housekeeping_due = time.monotonic() + HOUSEKEEPING
                        if sweep:
                            sweep_due = time.monotonic() + RECEIPT_SWEEP_EVERY
                    claimed = 0
                    for name in config.urls:
                        channel = channels.get(name)
                        if name in stats.stopped or (channel is not None and channel.resting()):
                            continue
                        try:
                            claimed += channel_turn(
                                channel, name=name,
                                open_channel=functools.partial(_open_channel, name, config, channels, stats),
                                worker_id=worker_id, lease=lease, budget=batch_size, stats=stats,
                                should_stop=should_stop, unfinished=unfinished, on_progress=on_progress,
                                clock=clock)
                        except GatewayConfigError as exc:
                            _stop_channel(name, str(exc), channels, stats)
                    outages = 0
                    if len(stats.stopped) == len(config.urls):
                        break  # nothing left that this worker could send
                except (OperationalError, InterfaceError) as exc:
                    if connection_works():
                        raise  # the database answered with an error (a deadlock, a timeout, SQLite's lock): a bug
                    outages += 1
                    if until_idle and outages > OUTAGE_TRIES:
                        raise
                    if outages == 1:
                        stats.database_outages += 1
                    recovering = True
                    _wait_out_outage(exc, outages, channels, should_stop)
                    continue
                if claimed:
                    continue
                if not housekept:
                    housekeeping_due = 0.0  # a dead worker's rows may be waiting: look before calling it idle
                    continue
                moment = time.monotonic()
                wake = min([ch.resume_at for ch in channels.values() if ch.resume_at > moment], default=0)
                if until_idle and not wake:
                    break
                time.sleep(max(0.05, min(poll, wake - moment)) if wake else poll)
        finally:
            for channel in channels.values():
                channel.close()
            if recovering:  # stopped, or given up, while the database was away: one last try to write what is known
                with contextlib.suppress(DatabaseError):
                    _recover(unfinished, worker_id, stats, clock)
    if stats.stopped:
        raise GatewayConfigError("; ".join(f"{name} gateway stopped: {stats.stopped[name]} — its messages stay "
                                           f"queued; fix MASSPOST_{name.upper()}_URL and start the worker again"
                                           for name in config.urls if name in stats.stopped))
    return stats


def _stop_channel(name: str, reason: str, channels: dict[str, ChannelState], stats: WorkerStats) -> None:
    """A configuration error (credentials refused, a certificate not trusted): nothing can be sent on the channel
    until the operator fixes it, and trying again would only repeat the refusal (a provider may lock the account
    after a few). Its gateway is closed and the channel stays stopped for this worker's life; its messages were
    given back to the queue untouched. The other channel goes on (docs/delivery.md)."""
    channel = channels.pop(name, None)
    if channel is not None:
        with contextlib.suppress(Exception):
            channel.close()
    stats.stopped[name] = reason
    log.error("%s gateway stopped: %s; its messages stay queued until the worker is started again with a working "
              "MASSPOST_%s_URL", name, reason, name.upper())


def _recover(unfinished: Unfinished, worker_id: str, stats: WorkerStats,
             clock: Callable[[], dt.datetime] = timezone.now) -> None:
    """The database answers again: write the results the gateway returned meanwhile, then give back every row
    this worker holds that was claimed and never begun (before housekeeping, whose lease check would call them
    `unknown` once their lease ran out)."""
    now = clock()
    written = len(unfinished.results)
    if unfinished.results:
        rows, results = zip(*unfinished.results, strict=True)
        for outcome in outbox_record_many(rows=rows, results=results, worker_id=worker_id, now=now):
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        stats.salvaged += written
        unfinished.results.clear()
    released = outbox_release_unbegun(worker_id=worker_id, in_hand=unfinished.in_hand, now=now)
    stats.released += released
    log.info("database reachable again: %d result(s) written, %d claim(s) given back, %d row(s) in hand left to "
             "their lease", written, released, len(unfinished.in_hand))


def _wait_out_outage(exc: Exception, outages: int, channels: dict[str, ChannelState],
                     should_stop: Callable[[], bool]) -> None:
    """The database went away (a restart, a fail-over, a dropped connection): close the gateways — what they
    have in flight stays `sending` and, its result unrecorded, turns `unknown` after the lease; receipts held
    unacknowledged are delivered again by the SMSC — drop the connection, and wait (1 s doubling to 30 s, or
    until asked to stop) before trying again."""
    delay = min(OUTAGE_WAIT_MAX, 2.0 ** (outages - 1))
    # The driver's first line ("connection refused", "password authentication failed", "terminating connection
    # …"): connection trouble, never a statement's parameters.
    reason = (str(exc).strip().splitlines() or [""])[0][:200]
    log.warning("database unreachable (%s: %s; attempt %d); gateways closed, trying again in %.0f s",
                type(exc).__name__, reason, outages, delay)
    for channel in channels.values():
        with contextlib.suppress(Exception):
            channel.close()
    channels.clear()
    with contextlib.suppress(DatabaseError):
        connection.close()
    until = time.monotonic() + delay
    while time.monotonic() < until and not should_stop():
        time.sleep(min(0.2, max(0.0, until - time.monotonic())))


def _housekeep(stats: WorkerStats, sweep: bool, clock: Callable[[], dt.datetime] = timezone.now) -> None:
    now = clock()
    reclaimed, unknown = outbox_end_leases(now=now)
    stats.reclaimed += reclaimed
    stats.unknown += unknown
    stats.expired += outbox_expire_deadlines(now=now)
    # Scheduled campaigns whose start has come are checked and let go before anything of theirs is claimed (their
    # gate keeps claims away until then); then rows due while their clinic is closed wait for its next opening.
    for _campaign_id, left_out in outbox_start_due(now=now):
        stats.started += 1
        stats.left_out += sum(left_out.values())
    stats.held += outbox_hold_closed(now=now)
    if sweep:
        receipt_apply_recent(since=now - RECEIPT_SWEEP_SPAN)
        # Their errors and opt-outs too: a worker may have died before its turn's own.
        stored_receipts_apply(since=now - RECEIPT_SWEEP_SPAN)
        # In statements of PRUNE_BATCH, for up to PRUNE_FOR seconds a sweep: a day of multipart SMS can store
        # more receipts than one statement should delete.
        prune_until = time.monotonic() + PRUNE_FOR
        while receipt_prune(before=now - RECEIPT_KEEP, limit=PRUNE_BATCH) == PRUNE_BATCH:
            if time.monotonic() >= prune_until:
                break


@dataclass
class Withdrawals:
    """The worker's look for withdrawn consent (`suppress_withdrawn`), every SUPPRESS_EVERY of its clock: each
    look reads the ledger from where the previous one started (suppress_withdrawn adds its own overlap for
    events that committed late, and skips those `seen` by an earlier look)."""

    since: dt.datetime | None = None
    due: dt.datetime | None = None
    seen: dict[int, dt.datetime] = field(default_factory=dict)  # events handled, for OVERLAP (suppress_withdrawn)

    def step(self, stats: WorkerStats, clock: Callable[[], dt.datetime] = timezone.now) -> int:
        """Look if it is time (always the first time); returns how many messages it suppressed."""
        now = clock()
        if self.due is not None and now < self.due:
            return 0
        suppressed = suppress_withdrawn(since=self.since or now - SUPPRESS_FIRST_LOOK, now=now, seen=self.seen)
        self.since, self.due = now, now + SUPPRESS_EVERY
        stats.suppressed += suppressed
        if suppressed:
            log.info("%d queued message(s) suppressed: their patients' consent was withdrawn", suppressed)
        return suppressed


def _open_channel(name: str, config: GatewayConfig, channels: dict[str, ChannelState],
                  stats: WorkerStats) -> ChannelState:
    url = config.urls[name]
    gateway = gateway_from_url(url, on_delivery_receipt=_on_reader_thread(receipt_record),
                               on_delivery_receipts=_on_reader_thread(receipt_record_many),
                               on_incoming=_on_reader_thread(functools.partial(_record_incoming, stats)),
                               # results are recorded before `settle`: early receipts ride along with them
                               hold_receipts=True, on_hook_thread_exit=_close_thread_connection,
                               # an HTTP provider asks for its receipts at our webhooks (delivery.webhooks); a bad
                               # MASSPOST_PUBLIC_URL stops its SMS channel with GatewayConfigError, as a bad URL does
                               # (another SMS gateway never uses it: "")
                               public_url=public_url_for(url) if name == Channel.SMS else "",
                               # DKIM keys, read once per opening; a key that cannot sign stops the e-mail channel
                               dkim=email_signer(url) if name == Channel.EMAIL else None)
    try:
        gateway.open()  # GatewayConfigError before anything is claimed: the channel is stopped (`_stop_channel`)
        parts = urlsplit(url)
        limiter = RateLimiter(name=f"{name}:{parts.scheme}:{parts.hostname or parts.path}:{parts.port or ''}",
                              per_second=config.rates.get(name, 0))
        window = getattr(gateway, "window", None) or max(1, config.group)
        channel = ChannelState(name=name, gateway=gateway, limiter=limiter, window=window)
    except BaseException:
        gateway.close()  # an SMPP bind and its threads, an SMTP connection, must not outlive a channel that never was
        raise
    channels[name] = channel
    return channel


def _record_incoming(stats: WorkerStats, source: str, text: str, source_ton: int) -> None:
    """An incoming SMS stored (delivery.inbound) and counted in the worker's stats, on the gateway's hook thread."""
    recorded = inbound_record(source, text, source_ton)
    stats.incoming += 1
    stats.incoming_unmatched += recorded.patients == 0
    stats.opted_out += recorded.opted_out
    stats.suppressed += recorded.suppressed


def _close_thread_connection() -> None:
    """The calling thread's database connection, closed (a gateway's hook thread as it ends: a session that
    reconnects starts a new one, and an SMSC that keeps dropping binds must not leave connections behind)."""
    connection.close()


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
