"""A channel's turn in the worker: groups of messages through the gateway, two in flight at once
(docs/delivery.md, "How a worker sends").

    claim A, begin A; claim B, begin B
    finish A → record A and claim C (one statement, delivery.turn) while B is on the wire → begin C
    finish B → record B and claim D while C is on the wire → …

A group is half the window (SMPP: `?window=`, e-mail: MASSPOST_EMAIL_WINDOW), so at any moment at most one
window of rows is handed off and unrecorded: the two groups in flight, or the one just answered and the one on
the wire — the statement that records a group is the one that claims the next, so both change together. A dead
worker leaves at most that many `unknown`. The database round trip of each group overlaps the next group's
network time; that overlap, and one statement per group, are what bring a worker close to a bare protocol loop
(docs/benchmarks.md, "Delivery").

Without overlap — a window of 1, or a rate-limited channel, where the limiter paces each message on this
thread — one group is in flight at a time and the group is the whole window.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from masspost.delivery.claims import RECEIPT_ERROR_SPAN, outbox_record, outbox_release, stored_receipts_apply
from masspost.delivery.gateways.background import BackgroundSender
from masspost.delivery.gateways.base import STOPS_A_GROUP, Channel, Gateway, Outcome, OutgoingMessage, SendResult
from masspost.delivery.gateways.http_sms import RETRY_AFTER_MAX
from masspost.delivery.inbound import RECEIPT_STATES, receipt_record_many
from masspost.delivery.models import MessageStatus
from masspost.delivery.ratelimit import RateLimiter
from masspost.delivery.turn import Accepted, ClaimedMessage, TurnResult, outbox_due_exists, outbox_turn
from masspost.errors import GatewayConfigError

log = logging.getLogger("masspost.delivery")

CHANNEL_BACKOFF_MAX = 30.0
AWAIT_GROUPS = 8  # statements for which an SMS's receipt is held for the worker to write (see _Awaiting)


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
    database_outages: int = 0  # times the database went away and the worker waited for it
    salvaged: int = 0  # results the gateway returned during an outage, written once the database was back
    # Incoming SMS (delivery.inbound), counted by the gateway's hook thread as they are stored.
    incoming: int = 0
    incoming_unmatched: int = 0  # from a number no patient has: stored, worth a look when they are stop words
    opted_out: int = 0  # patients a stop word turned SMS off for
    # Channels stopped for a configuration error (channel → reason): their messages stay queued (worker.worker_run).
    stopped: dict[str, str] = field(default_factory=dict)
    # When messages go (delivery.windows): scheduled campaigns started, messages their start left out, and due
    # messages moved to their clinic's next opening.
    started: int = 0
    left_out: int = 0
    held: int = 0
    # Queued messages an opt-out suppressed (delivery.suppress): a stop word this worker's gateway received, and
    # the withdrawals its housekeeping found (an import, a staff record).
    suppressed: int = 0


@dataclass(kw_only=True)
class ChannelState:
    """One channel's gateway in one worker, with its rate limiter and back-off."""

    name: str
    gateway: Gateway
    limiter: RateLimiter
    window: int  # the most rows handed off and unrecorded at once
    backoff: float = 0.0  # seconds of the current back-off; 0 = none
    resume_at: float = 0.0  # time.monotonic() before which nothing is sent on this channel
    group: int = 1  # rows per group now: 1 after a transient error, then doubling up to max_group
    sender: BackgroundSender | None = None  # begin/finish for a one-at-a-time gateway
    limiter_lost: bool = False  # the shared limiter's database went away during this group (see `pace`)

    def __post_init__(self) -> None:
        if not hasattr(self.gateway, "begin") and self.overlapped:
            self.sender = BackgroundSender(self.gateway)
        self.group = self.max_group

    @property
    def overlapped(self) -> bool:
        return self.window >= 2 and self.limiter.interval is None

    @property
    def max_group(self) -> int:
        return self.window // 2 if self.overlapped else self.window

    def resting(self) -> bool:
        return self.resume_at > time.monotonic()

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()
        self.gateway.close()

    def begin(self, rows: Sequence[ClaimedMessage]) -> Any:
        messages = [_outgoing(row) for row in rows]
        begin = getattr(self.gateway, "begin", None)
        if begin is not None:
            # One slot per SMS part, reserved just before the part is written: a multipart message's parts sent
            # in one burst could put more than `rate` submits into some one-second window.
            return begin(messages, pace=self.pace if self.limiter.interval is not None else None)
        if self.sender is not None:
            return self.sender.begin(messages)
        return self._send_paced(messages)

    def finish(self, handle: Any) -> list[SendResult]:
        if hasattr(self.gateway, "finish"):
            return self.gateway.finish(handle)  # type: ignore[attr-defined,no-any-return]
        if self.sender is not None:
            return self.sender.finish(handle)
        return handle  # type: ignore[no-any-return]

    def _send_paced(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        results = []
        for message in messages:
            self.pace(message.parts if message.channel == Channel.SMS else 1)
            result = self.gateway.send(message)
            results.append(result)
            if result.outcome in STOPS_A_GROUP:
                break  # like a windowed gateway: the rest of the group is never written and goes back to the queue
        return results

    def pace(self, slots: int = 1) -> None:
        """Wait for `slots` of the rate shared by all workers. Should the database go away in the middle of a
        group, the rest of the group keeps to the rate on this worker's own clock — the group's messages are
        then all answered and their results kept (`Unfinished`), where an exception here would leave them to
        their lease — and the turn's next statement meets the outage."""
        if not self.limiter_lost:
            try:
                self.limiter.wait(slots)
                return
            except (OperationalError, InterfaceError):
                if connection_works():
                    raise
                self.limiter_lost = True  # for the rest of this group: no reconnect attempt per part
        assert self.limiter.interval is not None
        time.sleep(self.limiter.interval.total_seconds() * slots)

    def adjust(self, results: list[SendResult]) -> None:
        """Back the channel off after a transient error (and restart its groups at one message); a clean group
        resets the back-off and doubles the group, up to the most. A provider that said how long to rest
        (HTTP 429/503 Retry-After) gets at least that, even past CHANNEL_BACKOFF_MAX: sending sooner would only
        be refused again, and may count against the account."""
        # A misconfigured channel is stopped, not backed off (worker.worker_run).
        transient = next((r for r in results if r.outcome in (Outcome.TRANSIENT, Outcome.UNKNOWN)), None)
        if transient is not None:
            self.backoff = min(CHANNEL_BACKOFF_MAX, max(1.0, self.backoff * 2))
            rest = self.backoff * random.uniform(0.8, 1.2)
            asked = max((r.retry_after for r in results if r.outcome is Outcome.TRANSIENT), default=0.0)
            rest = max(rest, min(asked, RETRY_AFTER_MAX))
            self.resume_at = time.monotonic() + rest
            self.group = 1
            log.warning("%s gateway: transient error, backing off %.0f s: %s", self.name, rest, transient.error)
        elif any(r.outcome is Outcome.ACCEPTED for r in results):
            self.backoff = 0.0
            self.group = min(self.max_group, self.group * 2)


@dataclass(kw_only=True)
class _Awaiting:
    """SMS recorded `sent` without their final receipt. The gateway holds their receipts for the next
    AWAIT_GROUPS statements, each of which writes those that came since the one before; then — or when the turn
    ends — it lets go, and later receipts go to its hooks, as a real SMSC's do, minutes later. The rows recorded
    by the last statement also get their stored receipts applied, once (see `_record`)."""

    row_ids: dict[str, int] = field(default_factory=dict)  # remote id → outbox row id
    groups: deque[list[str]] = field(default_factory=deque)  # remote ids per recorded group, oldest first
    new: list[int] = field(default_factory=list)


@dataclass(kw_only=True)
class Unfinished:
    """What turns cut short by a lost database leave for the worker to write once it is back (worker.worker_run):
    results the gateway returned that could not be recorded, and the rows that were in the gateway's hands with
    no result — only their lease can settle those (`unknown`). Every other row this worker still holds was
    claimed and never begun, and goes back to the queue (claims.outbox_release_unbegun)."""

    results: list[tuple[ClaimedMessage, SendResult]] = field(default_factory=list)
    in_hand: set[int] = field(default_factory=set)  # until their leases settle them, or they are claimed again

    def salvage(self, channel: ChannelState, popped: Sequence[ClaimedMessage],
                answered: list[tuple[ClaimedMessage, SendResult]], beginning: Sequence[ClaimedMessage],
                in_flight: deque[tuple[list[ClaimedMessage], Any]]) -> None:
        """The turn failed on the database: keep the answered group's results, wait for the groups still in the
        gateway's hands (the gateway works without the database) and keep theirs; a group that was being begun,
        or whose results cannot be had, is in hand. Rows past a group's results were never written."""
        self.results += answered
        if not answered:
            self.in_hand |= {row.id for row in popped}
        self.in_hand |= {row.id for row in beginning}
        while in_flight:
            rows, handle = in_flight.popleft()
            try:
                results = channel.finish(handle)
            except Exception:  # noqa: BLE001 - no results: the rows' leases will say `unknown`
                self.in_hand |= {row.id for row in rows}
                continue
            self.results += list(zip(rows, results, strict=False))

    def hold(self, popped: Sequence[ClaimedMessage], beginning: Sequence[ClaimedMessage],
             in_flight: deque[tuple[list[ClaimedMessage], Any]]) -> None:
        """The turn failed otherwise (a gateway or a bug): every row it had begun is in hand, whatever became
        of it — never given back by a recovery, where it could be sent twice."""
        self.in_hand |= {row.id for row in (*popped, *beginning)}
        self.in_hand |= {row.id for rows, _handle in in_flight for row in rows}

    def claimed(self, rows: Sequence[ClaimedMessage]) -> None:
        """Rows claimed again (the operator queued them again): no longer in hand from an earlier outage."""
        if self.in_hand:
            self.in_hand.difference_update(row.id for row in rows)


def channel_turn(channel: ChannelState | None, *, open_channel: Callable[[], ChannelState], worker_id: str,
                 lease: timedelta, budget: int, stats: WorkerStats, should_stop: Callable[[], bool],
                 name: str, unfinished: Unfinished | None = None,
                 on_progress: Callable[[WorkerStats], None] | None = None,
                 clock: Callable[[], dt.datetime] = timezone.now) -> int:
    """Up to `budget` messages of one channel, group by group (see the module's docstring). `channel` is None
    until the first rows are claimed: then `open_channel` opens the gateway. Returns how many rows were
    claimed; every one of them is recorded, given back, or — only if this worker dies — left to its lease.
    Should the database fail meanwhile, what the gateway returned goes to `unfinished` (`Unfinished.salvage`).
    `on_progress` gets the running `stats` after each recorded group. A *misconfigured* result ends the turn: the
    groups in flight are finished and recorded, nothing more is claimed, every row not written goes back to the
    queue untouched, and `GatewayConfigError` says why. Every `now` it writes comes from `clock`."""
    if should_stop():
        return 0

    def claim(limit: int, **record: Any) -> TurnResult:
        turn = outbox_turn(worker_id=worker_id, now=clock(), lease=lease, channel=name, limit=limit, **record)
        stats.suppressed += len(turn.suppressed)  # refused by the patient's consent at the claim: not handed off
        if unfinished is not None:
            unfinished.claimed(turn.claimed)
        return turn

    def give_back(rows: list[ClaimedMessage]) -> int:
        return outbox_release(rows=rows, worker_id=worker_id, now=clock())

    started = clock()
    if channel is None:
        # Opened only once there is something to send (an SMPP bind, an SMTP connection), and before the first
        # claim, which must know the gateway's window.
        if not outbox_due_exists(channel=name, now=clock()):
            return 0
        channel = open_channel()
    fresh = claim(min(channel.group, budget)).claimed  # claimed, not yet begun
    claimed = len(fresh)
    in_flight: deque[tuple[list[ClaimedMessage], Any]] = deque()
    awaiting = _Awaiting()
    popped: list[ClaimedMessage] = []  # the group being finished and recorded
    answered: list[tuple[ClaimedMessage, SendResult]] = []  # its results, until they are recorded
    beginning: list[ClaimedMessage] = []  # a group being begun
    channel.limiter_lost = False
    misconfigured = ""  # why the gateway can send nothing until its configuration is fixed
    try:
        while fresh or in_flight:
            if fresh:
                budget -= len(fresh)
                # No longer `fresh` once begun: if `begin` fails halfway, what it wrote stays `sending` and turns
                # `unknown` after the lease — never back to the queue, where it would be sent again.
                beginning, fresh = fresh, []
                in_flight.append((beginning, channel.begin(beginning)))
                beginning = []
                if len(in_flight) < 2 and channel.overlapped and budget > 0 and _go_on(channel, should_stop):
                    fresh = claim(min(channel.group, budget)).claimed  # the second group of the pipeline
                    claimed += len(fresh)
                    continue
            rows, handle = in_flight.popleft()
            popped = rows
            results = channel.finish(handle)
            answered = list(zip(rows, results, strict=False))
            accepted = _record_failures(rows, results, worker_id, stats, clock)
            channel.adjust(results)
            misconfigured = misconfigured or next(
                (r.error for r in results if r.outcome is Outcome.MISCONFIGURED), "")
            unsent = rows[len(results):]  # a transient error stopped the group: these were never written
            more = not unsent and not misconfigured and budget > 0 and _go_on(channel, should_stop)
            fresh = _record(channel, accepted, awaiting, claim, min(channel.group, budget) if more else 0, give_back)
            popped, answered = [], []
            channel.limiter_lost = False  # the database answered: the next group takes the shared slots again
            claimed += len(fresh)
            stats.sent += len(accepted)
            if unsent:
                stats.released += outbox_release(rows=unsent, worker_id=worker_id, now=clock())
            if on_progress is not None:
                on_progress(stats)
        if awaiting.row_ids or awaiting.new:
            # The turn is over: receipts held meanwhile and stored ones for the last group are written; later
            # receipts go to the hooks.
            _record(channel, [], awaiting, claim, 0, give_back)
    except BaseException as exc:
        # A gateway that cannot even be opened (a bad URL), a database error…: claims never begun go back to the
        # queue now rather than wait out the lease; groups in the gateway's hands stay `sending` and turn
        # `unknown` after the lease, as they must — unless the database went away and the worker, waiting for it,
        # can write what the gateway returned once it is back.
        if fresh:
            with contextlib.suppress(DatabaseError):
                outbox_release(rows=fresh, worker_id=worker_id, now=clock())
        if unfinished is not None:
            if isinstance(exc, DatabaseError):
                unfinished.salvage(channel, popped, answered, beginning, in_flight)
            else:
                unfinished.hold(popped, beginning, in_flight)
        raise
    stats.claimed += claimed
    if claimed and name == Channel.SMS:
        # Receipts that came before their messages' results were recorded made them undelivered in the statements
        # above; their provider's errors and opt-outs (an HTTP provider's webhook), once for the turn.
        stored_receipts_apply(since=started - RECEIPT_ERROR_SPAN)
    if misconfigured:
        raise GatewayConfigError(misconfigured)
    return claimed


def connection_works() -> bool:
    """Whether this thread's database connection still answers (after an error: an outage, or an error from a
    database that answers?)."""
    try:
        return connection.connection is not None and connection.is_usable()
    except Exception:  # noqa: BLE001 - whatever the driver raises, the connection does not work
        return False


def _go_on(channel: ChannelState, should_stop: Callable[[], bool]) -> bool:
    return not channel.resting() and not should_stop()


def _record_failures(rows: list[ClaimedMessage], results: list[SendResult], worker_id: str,
                     stats: WorkerStats, clock: Callable[[], dt.datetime] = timezone.now,
                     ) -> list[tuple[ClaimedMessage, SendResult]]:
    """Record what was not accepted (rare: one statement each); returns the accepted rows with their results."""
    accepted = []
    for row, result in zip(rows, results, strict=False):
        if result.outcome is Outcome.ACCEPTED:
            accepted.append((row, result))
        else:
            outcome = outbox_record(row=row, result=result, worker_id=worker_id, now=clock())
            setattr(stats, outcome, getattr(stats, outcome) + 1)
    return accepted


def _record(channel: ChannelState, accepted: list[tuple[ClaimedMessage, SendResult]], awaiting: _Awaiting,
            claim: Callable[..., TurnResult], limit: int,
            give_back: Callable[[list[ClaimedMessage]], Any]) -> list[ClaimedMessage]:
    """One statement: record `accepted` (with the receipts that came before their results), move the awaiting
    rows whose receipt came since, apply stored receipts to the rows recorded by the statement before, and
    claim up to `limit` more. Then the gateway may acknowledge the receipts written. Should anything after the
    statement fail, the rows it claimed are given back (`give_back`): they were never written."""
    take = getattr(channel.gateway, "take_receipts", None)
    late = take(list(awaiting.row_ids)) if take is not None and awaiting.row_ids else {}
    moved = {remote_id: (awaiting.row_ids.pop(remote_id), RECEIPT_STATES[stat]) for remote_id, stat in late.items()
             if stat in RECEIPT_STATES}
    moved_ids = {row_id for row_id, _status in moved.values()}
    turn = claim(limit,
                 accepted=[Accepted(id=row.id, remote_id=result.remote_id,
                                    status=RECEIPT_STATES.get(result.receipt, MessageStatus.SENT))
                           for row, result in accepted],
                 receipts=list(moved.values()),
                 # A receipt may have been stored for them meanwhile (it came on another worker's bind): this
                 # statement's snapshot comes after the one that recorded them committed (delivery.inbound).
                 stored_for=[row_id for row_id in awaiting.new if row_id not in moved_ids])
    try:
        _acknowledge(channel, accepted, awaiting, moved, late, turn, limit)
    except BaseException:
        with contextlib.suppress(DatabaseError):
            give_back(turn.claimed)
        raise
    return turn.claimed


def _acknowledge(channel: ChannelState, accepted: list[tuple[ClaimedMessage, SendResult]], awaiting: _Awaiting,
                 moved: dict[str, tuple[int, Any]], late: dict[str, str], turn: TurnResult, limit: int) -> None:
    _store_unwritten(accepted, moved, late, turn)
    awaited = {result.remote_id: row.id for row, result in accepted
               if result.remote_id and row.channel == Channel.SMS and result.receipt not in RECEIPT_STATES}
    awaiting.row_ids.update(awaited)
    awaiting.groups.append(list(awaited))
    awaiting.new = list(awaited.values())
    done = [*moved, *(result.remote_id for _row, result in accepted
                      if result.remote_id and result.remote_id not in awaited)]
    while len(awaiting.groups) > AWAIT_GROUPS or (awaiting.groups and not limit):
        done += [remote_id for remote_id in awaiting.groups.popleft() if awaiting.row_ids.pop(remote_id, None)]
    # Written now: acknowledge what was reported, and stop holding for rows that have their final state or have
    # waited long enough. A state on the way (ENROUTE) is acknowledged and the row awaits its final one.
    _settle(channel, done)
    _settle(channel, [remote_id for remote_id, stat in late.items() if stat not in RECEIPT_STATES]
            + [result.remote_id for _row, result in accepted if result.receipt and result.remote_id in awaited],
            release=False)


def _store_unwritten(accepted: list[tuple[ClaimedMessage, SendResult]], moved: dict[str, tuple[int, Any]],
                     late: dict[str, str], turn: TurnResult) -> None:
    """Receipts reported by the gateway whose row the statement did not change — the row was not this worker's
    any more (the operator queued it again), or not `sent` — take the hook's way (stored if they match nothing),
    so that a receipt is never acknowledged unwritten."""
    unwritten = [(result.remote_id, result.receipt, "") for row, result in accepted
                 if result.receipt in RECEIPT_STATES and row.id not in turn.recorded]
    unwritten += [(remote_id, late[remote_id], "") for remote_id, (row_id, _status) in moved.items()
                  if row_id not in turn.moved]
    if unwritten:
        receipt_record_many(unwritten)


def _settle(channel: ChannelState, remote_ids: list[str], release: bool = True) -> None:
    settle = getattr(channel.gateway, "settle", None)
    if settle is not None and remote_ids:
        settle(remote_ids, release=release)


def _outgoing(row: ClaimedMessage) -> OutgoingMessage:
    """The claimed row as its gateway takes it — with its purpose, its clinic and, for a marketing e-mail, its
    List-Unsubscribe header (delivery.turn)."""
    return row.outgoing()
