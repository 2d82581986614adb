"""A worker whose database goes away mid-campaign (a restart, a fail-over: here its backend is terminated) waits
for it and goes on: nothing is sent twice, nothing is lost, and only what was in the gateway's hands at that
moment is left for its lease to turn `unknown`."""

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
from masspost.delivery import worker as worker_module
from masspost.delivery.claims import outbox_end_leases
from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import OutboxMessage
from masspost.delivery.worker import GatewayConfig, worker_run
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("memory_gateway")]
SMS = GatewayConfig(urls={"sms": "memory:sms"}, group=10)


@pytest.fixture
def queued(make_patient: Any) -> int:
    for _ in range(40):
        make_patient()
    return campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator()).campaign_id


def kill_the_workers_backend_at(send_number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory gateway's `send_number`th send terminates the worker's database session (as a server restart
    would), from a session of its own."""
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    real_send, sends = MemoryGateway.send, [0]

    def send(self: MemoryGateway, message: OutgoingMessage) -> SendResult:
        sends[0] += 1
        if sends[0] == send_number:
            killer = connections.create_connection("default")
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
            killer.close()
        return real_send(self, message)

    monkeypatch.setattr(MemoryGateway, "send", send)


def test_a_worker_waits_out_a_lost_database_and_sends_the_rest_once(queued: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    kill_the_workers_backend_at(12, monkeypatch)

    stats = worker_run(until_idle=True, gateways=SMS, lease=dt.timedelta(seconds=30))

    assert stats.database_outages == 1
    sent = Counter(m.message_id for m in MemoryGateway.outboxes["sms"])
    assert max(sent.values()) == 1  # nothing twice
    rows = dict(OutboxMessage.objects.values_list("id", "status"))
    assert set(rows.values()) <= {"sent", "sending"}  # nothing left queued
    in_hand = {row_id for row_id, status in rows.items() if status == "sending"}
    assert 0 < len(in_hand) <= 10  # at most one window was in the gateway's hands when the database went
    assert {row_id for row_id, status in rows.items() if status == "sent"} <= set(sent)
    # Their lease runs out: they may have gone out, so they become unknown, never sent again by themselves.
    assert outbox_end_leases(now=timezone.now() + dt.timedelta(minutes=1)) == (0, len(in_hand))
    assert set(sent) | in_hand == set(rows)


def test_with_until_idle_a_worker_gives_up_when_the_database_stays_away(queued: int,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[int] = []
    monkeypatch.setattr(worker_module, "_housekeep", lambda stats, sweep: (_ for _ in ()).throw(
        OperationalError("server closed the connection unexpectedly")))
    monkeypatch.setattr(worker_module, "_wait_out_outage", lambda exc, outages, channels, stop: waits.append(outages))

    with pytest.raises(OperationalError):
        worker_run(until_idle=True, gateways=SMS)

    assert waits == list(range(1, worker_module.OUTAGE_TRIES + 1))
    assert OutboxMessage.objects.filter(status="queued").count() == 40  # nothing claimed, nothing lost
