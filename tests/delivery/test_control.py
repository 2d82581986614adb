"""Campaign control (pause, resume, cancel, resend-unknown), receipts, stop words, rate limits, the SQLite lock."""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from masspost.campaigns.models import AuditEvent
from masspost.campaigns.selectors import campaign_status
from masspost.campaigns.services import (
    campaign_cancel,
    campaign_pause,
    campaign_resend_unknown,
    campaign_resume,
    campaign_send,
)
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery import ratelimit
from masspost.delivery import worker as worker_module
from masspost.delivery.claims import outbox_claim, outbox_record, outbox_record_many, outbox_release
from masspost.delivery.gateways.base import SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.inbound import inbound_record, is_stop_word, receipt_apply_recent, receipt_prune, receipt_record
from masspost.delivery.lock import WorkerLock
from masspost.delivery.models import DeliveryReceipt, GatewayRate, HeldCampaign, OutboxMessage
from masspost.delivery.ratelimit import RateLimiter
from masspost.delivery.worker import GatewayConfig, worker_run
from masspost.errors import MasspostError, NotFoundError
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]
OPERATOR = Scope.operator()
MEMORY = GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"})


@pytest.fixture
def campaign_id(make_patient: Any) -> int:
    for _ in range(6):
        make_patient()
    return campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=OPERATOR).campaign_id


def sent_ids() -> list[int]:
    return [m.message_id for m in MemoryGateway.outboxes.get("sms", [])]


def test_pause_holds_queued_messages_and_resume_sends_each_once(campaign_id: int) -> None:
    assert campaign_pause(campaign_id=campaign_id, scope=OPERATOR) == 6
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 0
    assert campaign_status(campaign_id=campaign_id, scope=OPERATOR)["status"] == "paused"
    assert campaign_resume(campaign_id=campaign_id, scope=OPERATOR) == 6
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 6
    assert sorted(sent_ids()) == sorted(OutboxMessage.objects.values_list("id", flat=True))
    assert campaign_status(campaign_id=campaign_id, scope=OPERATOR)["status"] == "done"
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["campaign_send", "campaign_pause",
                                                                     "campaign_resume"]


def test_pause_leaves_claimed_messages_to_finish(campaign_id: int) -> None:
    claimed = outbox_claim(worker_id="w", now=timezone.now(), limit=2, lease=dt.timedelta(minutes=5))
    assert campaign_pause(campaign_id=campaign_id, scope=OPERATOR) == 4
    for row in claimed:
        outbox_record(row=row, result=SendResult.accepted("r"), worker_id="w", now=timezone.now())
    campaign_resume(campaign_id=campaign_id, scope=OPERATOR)
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 4
    assert OutboxMessage.objects.filter(status="sent").count() == 6


def test_messages_back_in_the_queue_while_paused_stay_held(campaign_id: int) -> None:
    # A stopping worker gives back claims it never sent; a retry comes back after its delay. Neither may slip
    # out of a paused campaign.
    claimed = outbox_claim(worker_id="w", now=timezone.now(), limit=3, lease=dt.timedelta(minutes=5))
    campaign_pause(campaign_id=campaign_id, scope=OPERATOR)
    outbox_release(rows=claimed, worker_id="w", now=timezone.now())
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 0
    campaign_resume(campaign_id=campaign_id, scope=OPERATOR)
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 6


def test_cancel_stops_what_was_not_sent(campaign_id: int) -> None:
    calls = iter([False, False, False])
    worker_run(until_idle=True, gateways=MEMORY, batch_size=2, should_stop=lambda: next(calls, True))
    sent = OutboxMessage.objects.filter(status="sent").count()
    assert 0 < sent < 6
    assert campaign_cancel(campaign_id=campaign_id, scope=OPERATOR) == 6 - sent
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 0
    assert campaign_status(campaign_id=campaign_id, scope=OPERATOR)["status"] == "cancelled"
    with pytest.raises(MasspostError, match="cancelled"):
        campaign_resume(campaign_id=campaign_id, scope=OPERATOR)


def test_unknown_messages_are_resent_only_when_the_operator_says(campaign_id: int) -> None:
    OutboxMessage.objects.filter(id__in=OutboxMessage.objects.values("id")[:2]).update(status="unknown")
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 4
    assert campaign_status(campaign_id=campaign_id, scope=OPERATOR)["messages"]["unknown"] == 2
    assert campaign_resend_unknown(campaign_id=campaign_id, scope=OPERATOR) == 2
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 2
    assert len(set(sent_ids())) == 6


def test_control_of_a_missing_campaign() -> None:
    with pytest.raises(NotFoundError, match="no campaign 999"):
        campaign_pause(campaign_id=999, scope=OPERATOR)


def test_campaigns_of_other_clinics_are_not_found(campaign_id: int, other_clinic: Any) -> None:
    outsider = Scope(actor="tartu", clinic_ids=frozenset({other_clinic.id}))
    for action in (campaign_status, campaign_pause, campaign_resume, campaign_cancel, campaign_resend_unknown):
        with pytest.raises(NotFoundError, match=f"no campaign {campaign_id}"):
            action(campaign_id=campaign_id, scope=outsider)
    assert not HeldCampaign.objects.exists()
    tallinn = frozenset(Clinic.objects.filter(code="TLN").values_list("id", flat=True))
    insider = Scope(actor="tallinn", clinic_ids=tallinn)
    assert campaign_status(campaign_id=campaign_id, scope=insider)["total"] == 6


def test_receipt_moves_a_sent_message(campaign_id: int) -> None:
    worker_run(until_idle=True, gateways=MEMORY)
    a, b, c = OutboxMessage.objects.order_by("id")[:3]
    assert receipt_record(a.remote_id, "DELIVRD")
    assert receipt_record(b.remote_id, "UNDELIV")
    assert not receipt_record(c.remote_id, "ENROUTE")  # not final: nothing changes
    assert not receipt_record("no-such-id", "DELIVRD")
    statuses = dict(OutboxMessage.objects.filter(id__in=[a.id, b.id, c.id]).values_list("id", "status"))
    assert statuses == {a.id: "delivered", b.id: "undelivered", c.id: "sent"}


def test_receipt_before_the_send_was_recorded_is_applied(campaign_id: int) -> None:
    row = outbox_claim(worker_id="w", now=timezone.now(), limit=1, lease=dt.timedelta(minutes=5))[0]
    assert not receipt_record("early-1", "DELIVRD")  # the SMSC was faster than our bookkeeping
    outbox_record(row=row, result=SendResult.accepted("early-1"), worker_id="w", now=timezone.now())
    assert OutboxMessage.objects.get(id=row.id).status == "delivered"


def test_early_receipts_are_applied_when_a_group_is_recorded(campaign_id: int) -> None:
    rows = outbox_claim(worker_id="w", now=timezone.now(), limit=4, lease=dt.timedelta(minutes=5))
    assert not receipt_record("g-1", "DELIVRD")
    assert not receipt_record("g-2", "DELIVRD")
    assert not receipt_record("g-2", "UNDELIV")  # the latest receipt of a message counts
    assert not receipt_record("g-3", "ENROUTE")  # not final: not even stored
    outcomes = outbox_record_many(rows=rows, results=[SendResult.accepted(f"g-{i}") for i in (1, 2, 3, 4)],
                                  worker_id="w", now=timezone.now())
    assert outcomes == ["sent"] * 4
    by_remote = dict(OutboxMessage.objects.filter(id__in=[r.id for r in rows]).values_list("remote_id", "status"))
    assert by_remote == {"g-1": "delivered", "g-2": "undelivered", "g-3": "sent", "g-4": "sent"}
    assert receipt_record("g-4", "DELIVRD")  # a receipt after the record moves the row at once


@pytest.mark.parametrize(("text", "stop"), [
    ("STOP", True), (" stop ", True), ("Stopp", True), ("LÕPETA", True), ("lõpeta!", True), ("lopeta", True),
    ("LOOBU", True), ("стоп", True), ("СТОП", True), ("Отписаться", True), ("S T O P", True),
    ("stop please", False), ("Aitäh", False), ("", False),
])
def test_stop_words(text: str, stop: bool) -> None:
    assert is_stop_word(text) is stop


def test_stop_word_opts_out_every_patient_with_the_number(make_patient: Any) -> None:
    a = make_patient(phone="5123 4567", phone_e164="+37251234567")
    b = make_patient(phone="+372 5123 4567", phone_e164="+37251234567")
    other = make_patient()
    assert inbound_record("37251234567", "Lõpeta", 1).opted_out == 2
    assert inbound_record("37251234567", "Tere", 1).opted_out == 0
    assert set(Patient.objects.filter(accepts_sms=False).values_list("id", flat=True)) == {a.id, b.id}
    assert Patient.objects.get(id=other.id).accepts_sms
    events = list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source"))
    assert sorted(events) == sorted([(a.id, "sms", False, "sms-stop"), (b.id, "sms", False, "sms-stop")])


def test_rate_limiter_spaces_sends() -> None:
    limiter = RateLimiter(name="test:sms", per_second=20)
    start = time.monotonic()
    for _ in range(11):
        limiter.wait()
    assert time.monotonic() - start >= 0.5 * 0.95  # 11 slots 50 ms apart: the last starts 500 ms after the first
    other = RateLimiter(name="test:sms", per_second=20)  # a second worker shares the same slots
    start = time.monotonic()
    other.wait(4)  # an SMS of 4 parts takes 4 slots
    other.wait()
    assert time.monotonic() - start >= 0.2 * 0.95


def test_a_send_woken_late_takes_the_next_slot_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Woken 30 ms after its slot, a send would crowd the slot after it into one second: it takes a new slot. Woken
    late again, it goes anyway — a limiter that is always late must still send."""
    limiter = RateLimiter(name="test:late", per_second=20)
    first = timezone.now() + dt.timedelta(milliseconds=50)
    GatewayRate.objects.filter(name="test:late").update(next_slot=first)
    real_sleep = time.sleep
    monkeypatch.setattr(ratelimit.time, "sleep", lambda seconds: real_sleep(seconds + 0.03))
    limiter.wait()
    assert limiter.interval is not None
    assert GatewayRate.objects.get(name="test:late").next_slot == first + 2 * limiter.interval
    limiter.wait(3)  # 3 slots (an SMS of 3 parts), late: 3 more, late again, sent
    assert GatewayRate.objects.get(name="test:late").next_slot == first + 8 * limiter.interval


def test_a_second_worker_on_sqlite_refuses(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        assert WorkerLock().__enter__() is not None  # PostgreSQL: no lock, row locks coordinate
        return
    monkeypatch.setattr(connection, "is_in_memory_db", lambda: False)
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    with WorkerLock(), pytest.raises(MasspostError, match="another worker .* SQLite runs one worker"):
        WorkerLock().__enter__()
    with WorkerLock():
        pass  # released: the next worker starts


def test_the_sqlite_worker_lock_file_is_readable_by_its_owner_only(tmp_path: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        return  # PostgreSQL: no lock file
    monkeypatch.setattr(connection, "is_in_memory_db", lambda: False)
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    lock_file = tmp_path / "db.sqlite3.worker.lock"
    old_umask = os.umask(0)  # whatever the umask
    try:
        with WorkerLock():
            assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
        lock_file.chmod(0o644)  # one an older version left readable by all
        with WorkerLock():
            assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_the_sweep_applies_recently_stored_receipts_to_rows_still_sent(campaign_id: int) -> None:
    # A worker died between recording a group and the statement after it, which applies stored receipts.
    worker_run(until_idle=True, gateways=MEMORY)
    a, b = OutboxMessage.objects.order_by("id")[:2]
    DeliveryReceipt.objects.create(remote_id=a.remote_id, status="delivered", stat="DELIVRD")
    old = DeliveryReceipt.objects.create(remote_id=b.remote_id, status="undelivered", stat="UNDELIV")
    DeliveryReceipt.objects.filter(id=old.id).update(received_at=timezone.now() - dt.timedelta(hours=3))
    assert receipt_apply_recent(since=timezone.now() - dt.timedelta(hours=1)) == 1
    assert dict(OutboxMessage.objects.filter(id__in=[a.id, b.id]).values_list("id", "status")) == {
        a.id: "delivered", b.id: "sent"}


def test_stored_receipts_older_than_a_week_are_deleted_by_the_workers_sweep(campaign_id: int) -> None:
    # Later parts' receipts and receipts for rows never recorded match nothing, ever: they must not pile up.
    now = timezone.now()
    ages = {"A1": dt.timedelta(days=8), "A2": dt.timedelta(days=30), "B1": dt.timedelta(days=6),
            "B2": dt.timedelta(minutes=1)}
    for remote_id, age in ages.items():
        receipt = DeliveryReceipt.objects.create(remote_id=remote_id, status="delivered", stat="DELIVRD")
        DeliveryReceipt.objects.filter(id=receipt.id).update(received_at=now - age)

    worker_run(until_idle=True, gateways=MEMORY)

    assert sorted(DeliveryReceipt.objects.values_list("remote_id", flat=True)) == ["B1", "B2"]


def test_receipt_prune_deletes_at_most_its_limit_oldest_first() -> None:
    now = timezone.now()
    for days in (8, 10, 9):  # not in id order: the oldest go first, whatever their ids
        receipt = DeliveryReceipt.objects.create(remote_id=f"R{days}", status="delivered", stat="DELIVRD")
        DeliveryReceipt.objects.filter(id=receipt.id).update(received_at=now - dt.timedelta(days=days))

    assert receipt_prune(before=now - dt.timedelta(days=7), limit=2) == 2
    assert list(DeliveryReceipt.objects.values_list("remote_id", flat=True)) == ["R8"]
    assert receipt_prune(before=now - dt.timedelta(days=7)) == 1
    assert receipt_prune(before=now - dt.timedelta(days=7)) == 0


def test_the_sweep_prunes_in_batches_until_no_old_receipt_is_left(campaign_id: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "PRUNE_BATCH", 2)
    old = timezone.now() - dt.timedelta(days=8)
    for n in range(5):
        receipt = DeliveryReceipt.objects.create(remote_id=f"OLD{n}", status="delivered", stat="DELIVRD")
        DeliveryReceipt.objects.filter(id=receipt.id).update(received_at=old)

    worker_run(until_idle=True, gateways=MEMORY)

    assert not DeliveryReceipt.objects.exists()
