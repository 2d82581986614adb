"""The worker's clock (worker_run(clock=…)): retries, leases and deadlines all follow it, not the machine's time, so
a test can move a worker through hours without sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Patient
from masspost.delivery.gateways.base import SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import OutboxMessage
from masspost.delivery.outbox import OutboxWriter
from masspost.delivery.turn import outbox_turn
from masspost.delivery.worker import GatewayConfig, WorkerStats, worker_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]
MEMORY = GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"})
T = dt.datetime(2030, 6, 3, 9, 0, tzinfo=dt.UTC)  # years from the machine's own time


def run(at: dt.datetime) -> WorkerStats:
    return worker_run(until_idle=True, gateways=MEMORY, clock=lambda: at)


@pytest.fixture
def row(make_patient: Callable[..., Patient]) -> OutboxMessage:
    patient = make_patient()
    campaign = Campaign.objects.create(name="Clock", purpose="service", channel="sms", spec={}, audience={},
                                       token="clock-test", deadline=T + dt.timedelta(hours=2), created_by="test")
    writer = OutboxWriter(campaign_id=campaign.id, deadline=campaign.deadline)
    writer.add(patient_id=patient.id, patient_ref=patient.external_id, channel="sms", address=patient.phone_e164,
               language="et", subject="", body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="",
               next_attempt_at=T)
    writer.flush()
    return OutboxMessage.objects.get()


def test_nothing_goes_before_its_time_on_the_workers_clock(row: OutboxMessage) -> None:
    assert run(T - dt.timedelta(seconds=1)).sent == 0  # the machine's time is years earlier still
    stats = run(T)
    assert stats.sent == 1
    row.refresh_from_db()
    assert (row.status, row.sent_at) == ("sent", T)


def test_a_retry_waits_on_the_workers_clock(row: OutboxMessage) -> None:
    MemoryGateway.script("sms", SendResult.transient("451 try later"))
    assert run(T).retried == 1
    row.refresh_from_db()
    # The first retry waits 10 s ± 20 % from the clock's `now`.
    assert row.status == "queued" and T + dt.timedelta(seconds=8) <= row.next_attempt_at <= T + dt.timedelta(seconds=12)
    assert run(T + dt.timedelta(seconds=7)).sent == 0
    assert run(T + dt.timedelta(seconds=13)).sent == 1


def test_a_dead_workers_lease_ends_on_the_workers_clock(row: OutboxMessage) -> None:
    # A worker claimed and handed off the row at T, then died.
    claimed = outbox_turn(worker_id="dead:1:aa", now=T, lease=dt.timedelta(minutes=5), channel="sms", limit=1)
    assert [r.id for r in claimed.claimed] == [row.id]
    assert run(T + dt.timedelta(minutes=4)).unknown == 0
    assert OutboxMessage.objects.get().status == "sending"
    assert run(T + dt.timedelta(minutes=6)).unknown == 1
    assert OutboxMessage.objects.get().status == "unknown"


def test_the_deadline_passes_on_the_workers_clock(row: OutboxMessage) -> None:
    MemoryGateway.script("sms", SendResult.transient("451 try later"))
    run(T)
    stats = run(T + dt.timedelta(hours=2, seconds=1))
    assert (stats.sent, stats.expired) == (0, 1)
    assert OutboxMessage.objects.get().status == "expired"
    assert MemoryGateway.outboxes.get("sms", []) == []
