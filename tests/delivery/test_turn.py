"""The worker's one statement per group (delivery.turn): record, move by receipts, apply stored receipts, claim."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.models import DeliveryReceipt, HeldCampaign, OutboxMessage
from masspost.delivery.turn import Accepted, TurnResult, outbox_due_exists, outbox_turn
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
LEASE = dt.timedelta(minutes=5)


@pytest.fixture
def campaign_id(make_patient: Any) -> int:
    for _ in range(4):
        make_patient()
    content = {"et": {"sms": "Tere {first_name}", "email_subject": "S", "email_body": "Tere"}}
    return campaign_send(spec=CampaignSpec.from_dict(campaign(channel="both", content=content)),
                         scope=Scope.operator()).campaign_id


def turn(**kwargs: Any) -> list[Any]:
    return statement(**kwargs).claimed


def statement(**kwargs: Any) -> TurnResult:
    return outbox_turn(worker_id=kwargs.pop("worker_id", "w1"), now=timezone.now(), lease=LEASE, **kwargs)


def test_a_claim_takes_one_channels_oldest_rows_and_hands_them_off(campaign_id: int) -> None:
    before = timezone.now()
    claimed = turn(channel="sms", limit=3)
    assert [row.channel for row in claimed] == ["sms"] * 3
    oldest = list(OutboxMessage.objects.filter(channel="sms").order_by("next_attempt_at", "id")
                  .values_list("id", flat=True)[:3])
    assert [row.id for row in claimed] == sorted(oldest)
    assert claimed[0].body.startswith("Tere ") and claimed[0].attempts == 1 and claimed[0].deadline > before
    for row in OutboxMessage.objects.filter(id__in=oldest):
        # Handed off from the claim: if this worker dies now, these become `unknown`, never re-sent by themselves.
        assert (row.status, row.leased_by, row.attempts) == ("sending", "w1", 1)
        assert row.sent_at is not None and row.lease_until is not None
        assert row.lease_until - row.sent_at == LEASE
    assert OutboxMessage.objects.filter(channel="email", status="queued").count() == 4


def test_claimed_rows_are_not_claimed_again(campaign_id: int) -> None:
    first = {row.id for row in turn(channel="sms", limit=3)}
    second = {row.id for row in turn(channel="sms", limit=3, worker_id="w2")}
    assert len(first) == 3 and len(second) == 1 and not first & second


def test_a_paused_campaign_is_not_claimed(campaign_id: int) -> None:
    HeldCampaign.objects.create(campaign_id=campaign_id)
    assert turn(channel="sms", limit=10) == []
    assert not outbox_due_exists(channel="sms", now=timezone.now())
    HeldCampaign.objects.all().delete()
    assert outbox_due_exists(channel="sms", now=timezone.now())
    assert len(turn(channel="sms", limit=10)) == 4


def test_every_part_in_one_statement_on_postgresql(campaign_id: int) -> None:
    """Record a group, move the rows of the group before by their receipts, apply a stored receipt, claim the
    next group: one round trip and one commit on PostgreSQL (four statements on SQLite)."""
    older = turn(channel="sms", limit=3)
    statement(accepted=[Accepted(id=row.id, remote_id=f"r{row.id}") for row in older])
    DeliveryReceipt.objects.create(remote_id=f"r{older[2].id}", status="undelivered", stat="UNDELIV")
    group = turn(channel="email", limit=2)
    with CaptureQueriesContext(connection) as queries:
        result = statement(channel="email", limit=2,
                           accepted=[Accepted(id=group[0].id, remote_id="<a@x>"),
                                     Accepted(id=group[1].id, remote_id="<b@x>", status="delivered")],
                           receipts=[(older[0].id, "delivered"), (older[1].id, "undelivered")],
                           stored_for=[older[2].id])
    assert len(queries) == (1 if connection.vendor == "postgresql" else 4)
    assert len(result.claimed) == 2 and {row.channel for row in result.claimed} == {"email"}
    assert result.recorded == {group[0].id, group[1].id}
    assert result.moved == {older[0].id, older[1].id}
    status = dict(OutboxMessage.objects.values_list("id", "status"))
    assert [status[row.id] for row in older] == ["delivered", "undelivered", "undelivered"]
    assert [status[row.id] for row in group] == ["sent", "delivered"]
    assert [status[row.id] for row in result.claimed] == ["sending", "sending"]


def test_what_did_not_match_is_reported(campaign_id: int) -> None:
    [row] = turn(channel="sms", limit=1)
    result = statement(worker_id="someone-else", accepted=[Accepted(id=row.id, remote_id="X", status="delivered")],
                       receipts=[(row.id, "delivered")])
    assert (result.recorded, result.moved, result.claimed) == (frozenset(), frozenset(), [])
    assert OutboxMessage.objects.get(id=row.id).status == "sending"


def test_a_receipt_that_came_before_the_result_is_recorded_with_it(campaign_id: int) -> None:
    [row] = turn(channel="sms", limit=1)
    turn(accepted=[Accepted(id=row.id, remote_id="R1", status="delivered")])
    saved = OutboxMessage.objects.get(id=row.id)
    assert (saved.status, saved.remote_id, saved.lease_until) == ("delivered", "R1", None)


def test_receipts_move_only_rows_recorded_sent(campaign_id: int) -> None:
    a, b = turn(channel="sms", limit=2)
    turn(accepted=[Accepted(id=a.id, remote_id="RA")])  # b stays `sending`: its result is not recorded
    turn(receipts=[(a.id, "undelivered"), (b.id, "delivered")])
    assert OutboxMessage.objects.get(id=a.id).status == "undelivered"
    assert OutboxMessage.objects.get(id=b.id).status == "sending"


def test_a_stored_receipt_reaches_a_row_recorded_after_it_came(campaign_id: int) -> None:
    # Another worker's bind got the receipt before this worker recorded the submit: stored, found nothing.
    [row] = turn(channel="sms", limit=1)
    DeliveryReceipt.objects.create(remote_id="R9", status="undelivered", stat="UNDELIV")
    turn(accepted=[Accepted(id=row.id, remote_id="R9")])
    assert OutboxMessage.objects.get(id=row.id).status == "sent"
    turn(stored_for=[row.id])  # the next statement, a later snapshot
    assert OutboxMessage.objects.get(id=row.id).status == "undelivered"


def test_a_result_is_not_recorded_over_another_workers_claim(campaign_id: int) -> None:
    [row] = turn(channel="email", limit=1)
    turn(worker_id="intruder", accepted=[Accepted(id=row.id, remote_id="X")])
    assert OutboxMessage.objects.get(id=row.id).status == "sending"
    turn(accepted=[Accepted(id=row.id, remote_id="<m@x>")])
    assert OutboxMessage.objects.get(id=row.id).status == "sent"
