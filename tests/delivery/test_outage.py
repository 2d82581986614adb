"""A worker whose database goes away mid-campaign (a restart, a fail-over: here its backend is terminated) waits
for it and goes on: what the gateway returned meanwhile is written once the database is back, claims it never
began go back to the queue; nothing is sent twice, nothing is lost."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery import pipeline
from masspost.delivery import worker as worker_module
from masspost.delivery.claims import outbox_claim, outbox_end_leases, outbox_release_unbegun
from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.gateways.smpp import SMPPGateway
from masspost.delivery.models import OutboxMessage
from masspost.delivery.ratelimit import RateLimiter
from masspost.delivery.worker import GatewayConfig, worker_run
from tests.conftest import campaign
from tests.peers.smsc import SMSCPeer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("memory_gateway")]
SMS = GatewayConfig(urls={"sms": "memory:sms"}, group=10)


@pytest.fixture
def queued(make_patient: Any) -> int:
    for _ in range(40):
        make_patient()
    return campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator()).campaign_id


def this_threads_backend() -> int:
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def terminate(backend: int) -> None:
    """End a PostgreSQL session, as a server restart would, from a session of its own."""
    killer = connections.create_connection("default")
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    killer.close()


def kill_the_workers_backend_at(send_number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory gateway's `send_number`th send terminates the worker's database session (as a server restart
    would), from a session of its own."""
    backend = this_threads_backend()
    real_send, sends = MemoryGateway.send, [0]

    def send(self: MemoryGateway, message: OutgoingMessage) -> SendResult:
        sends[0] += 1
        if sends[0] == send_number:
            terminate(backend)
        return real_send(self, message)

    monkeypatch.setattr(MemoryGateway, "send", send)


def test_a_worker_waits_out_a_lost_database_and_sends_everything_once(queued: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    kill_the_workers_backend_at(12, monkeypatch)

    stats = worker_run(until_idle=True, gateways=SMS, lease=dt.timedelta(seconds=30))

    assert stats.database_outages == 1
    sent = Counter(m.message_id for m in MemoryGateway.outboxes["sms"])
    rows = dict(OutboxMessage.objects.values_list("id", "status"))
    assert set(sent) == set(rows) and max(sent.values()) == 1  # every message, once
    # What the gateway returned while the database was away was written once it was back: nothing `unknown`,
    # nothing queued, nothing left to a lease.
    assert set(rows.values()) == {"sent"}
    assert stats.salvaged >= 1  # at least the group on the wire when the database went
    assert stats.sent == len(rows)


def test_after_an_outage_claims_never_begun_go_back_and_rows_in_hand_stay(make_patient: Any) -> None:
    for _ in range(6):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    now = timezone.now()
    mine = outbox_claim(worker_id="w:1:aa", now=now, limit=4, lease=dt.timedelta(minutes=5))
    theirs = outbox_claim(worker_id="w:1:bb", now=now, limit=2, lease=dt.timedelta(minutes=5))
    in_hand = {mine[0].id}
    # Its lease ran out meanwhile and another worker's housekeeping called it `unknown` (the claim had stamped it).
    OutboxMessage.objects.filter(id=mine[3].id).update(status="unknown", last_error="the worker's lease ran out")

    assert outbox_release_unbegun(worker_id="w:1:aa", in_hand=in_hand, now=now) == 3

    rows = {row.id: row for row in OutboxMessage.objects.all()}
    assert {row.status for row_id, row in rows.items() if row_id in {m.id for m in mine[1:]}} == {"queued"}
    assert all(rows[m.id].attempts == 0 and rows[m.id].sent_at is None for m in mine[1:])  # attempt not counted
    assert rows[mine[0].id].status == "sending"  # its lease will say `unknown`
    assert rows[mine[3].id].last_error == ""
    assert {rows[t.id].status for t in theirs} == {"sending"}  # another worker's, untouched


def test_an_error_from_a_database_that_answers_is_not_waited_out(queued: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A deadlock, a statement timeout, SQLite's "database is locked": the connection works, so it is a bug to
    # report, not an outage to sit out.
    waits: list[int] = []
    monkeypatch.setattr(worker_module, "_housekeep", lambda stats, sweep: (_ for _ in ()).throw(
        OperationalError("deadlock detected")))
    monkeypatch.setattr(worker_module, "_wait_out_outage", lambda exc, outages, channels, stop: waits.append(outages))

    with pytest.raises(OperationalError, match="deadlock"):
        worker_run(until_idle=True, gateways=SMS)
    assert waits == []


def test_with_until_idle_a_worker_gives_up_when_the_database_stays_away(queued: int,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[int] = []
    monkeypatch.setattr(worker_module, "_housekeep", lambda stats, sweep: (_ for _ in ()).throw(
        OperationalError("server closed the connection unexpectedly")))
    monkeypatch.setattr(worker_module, "connection_works", lambda: False)
    monkeypatch.setattr(worker_module, "_wait_out_outage", lambda exc, outages, channels, stop: waits.append(outages))

    with pytest.raises(OperationalError):
        worker_run(until_idle=True, gateways=SMS)

    assert waits == list(range(1, worker_module.OUTAGE_TRIES + 1))
    assert OutboxMessage.objects.filter(status="queued").count() == 40  # nothing claimed, nothing lost


def test_over_smpp_a_lost_database_neither_doubles_nor_loses_an_sms(queued: int, smsc: SMSCPeer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    backend = this_threads_backend()
    real_begin, begun = SMPPGateway.begin, [0]

    def begin(self: SMPPGateway, messages: Any, **options: Any) -> Any:
        begun[0] += 1
        if begun[0] == 3:  # the third group: the database goes while the second is on the wire
            terminate(backend)
        return real_begin(self, messages, **options)

    monkeypatch.setattr(SMPPGateway, "begin", begin)
    url = f"smpp://masspost:secret@{smsc.host}:{smsc.port}?window=10"

    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": url}), lease=dt.timedelta(seconds=30))

    assert stats.database_outages == 1 and stats.salvaged >= 5
    numbers = Counter(submit.destination_addr for submit in smsc.submits)
    assert len(numbers) == 40 and max(numbers.values()) == 1  # every patient's number once at the SMSC
    assert set(OutboxMessage.objects.values_list("status", flat=True)) <= {"sent", "delivered"}


def test_a_rate_limited_group_paces_on_its_own_clock_when_the_limiter_loses_the_database(
        queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared rate lives in the database. Should it go away in mid-group, the group goes on at the rate on
    # this worker's clock, so its messages are answered and their results kept, not left to their lease.
    real_wait, calls = RateLimiter.wait, [0]

    def wait(self: RateLimiter, slots: int = 1) -> None:
        calls[0] += 1
        if 3 <= calls[0] <= 5:
            raise OperationalError("server closed the connection unexpectedly")
        real_wait(self, slots)

    monkeypatch.setattr(RateLimiter, "wait", wait)
    monkeypatch.setattr(pipeline, "connection_works", lambda: False)
    limited = GatewayConfig(urls={"sms": "memory:sms"}, rates={"sms": 200}, group=10)

    stats = worker_run(until_idle=True, gateways=limited)

    sent = Counter(m.message_id for m in MemoryGateway.outboxes["sms"])
    assert len(sent) == 40 and max(sent.values()) == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert stats.sent == 40
    # Groups of 10. Once lost, the limiter is not tried again within the group (no reconnect attempt per
    # message), but each group tries it again: 3 tries in the first (the third fails), 1 in the second and the
    # third (both fail), 10 in the last.
    assert calls[0] == 3 + 1 + 1 + 10


def test_a_limiter_error_from_a_database_that_answers_is_raised(queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RateLimiter, "wait", lambda self, slots=1: (_ for _ in ()).throw(
        OperationalError("deadlock detected")))
    limited = GatewayConfig(urls={"sms": "memory:sms"}, rates={"sms": 200}, group=10)

    with pytest.raises(OperationalError, match="deadlock"):
        worker_run(until_idle=True, gateways=limited)
    assert "sms" not in MemoryGateway.outboxes  # nothing was sent unpaced


def test_a_gateway_failure_after_an_outage_never_gives_back_what_was_begun(queued: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # An outage, recovered; then the gateway itself fails mid-group and the worker exits. What it had begun
    # must stay to its lease (`unknown`): given back, it would be sent twice.
    failures = iter([OperationalError("server closed the connection unexpectedly")])
    real_housekeep = worker_module._housekeep

    def housekeep(stats: Any, sweep: bool) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_housekeep(stats, sweep)

    monkeypatch.setattr(worker_module, "_housekeep", housekeep)
    monkeypatch.setattr(worker_module, "connection_works", lambda: False)
    monkeypatch.setattr(worker_module, "_wait_out_outage", lambda exc, outages, channels, stop: None)
    real_send, sends = MemoryGateway.send, [0]

    def send(self: MemoryGateway, message: OutgoingMessage) -> SendResult:
        sends[0] += 1
        if sends[0] == 7:
            raise RuntimeError("gateway bug")
        return real_send(self, message)

    monkeypatch.setattr(MemoryGateway, "send", send)
    with pytest.raises(RuntimeError, match="gateway bug"):
        worker_run(until_idle=True, gateways=SMS)
    monkeypatch.setattr(MemoryGateway, "send", real_send)

    left = outbox_end_leases(now=timezone.now() + dt.timedelta(hours=1))  # the dead worker's leases run out
    worker_run(until_idle=True, gateways=SMS)

    sent = Counter(m.message_id for m in MemoryGateway.outboxes["sms"])
    assert max(sent.values()) == 1  # nothing twice
    unknown = set(OutboxMessage.objects.filter(status="unknown").values_list("id", flat=True))
    assert left == (0, len(unknown)) and 1 <= len(unknown) <= 10  # the begun groups, left to their lease
    assert set(sent) | unknown == set(OutboxMessage.objects.values_list("id", flat=True))
