"""Remote ids that do not fit the column, and receipts that cannot be stored: on SQLite and PostgreSQL alike,
each affects only itself, and an SMSC is never asked to deliver a burst again and again for one of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DataError
from django.db.models import Count
from django.db.models.functions import Length
from django.utils import timezone

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery import inbound
from masspost.delivery.claims import outbox_claim, outbox_record
from masspost.delivery.gateways.base import SendResult
from masspost.delivery.gateways.smpp import from_url
from masspost.delivery.inbound import receipt_record, receipt_record_many
from masspost.delivery.models import REMOTE_ID_MAX, DeliveryReceipt, OutboxMessage, remote_key
from masspost.delivery.turn import Accepted, outbox_turn
from masspost.delivery.worker import _on_reader_thread
from tests.conftest import campaign
from tests.peers.smsc import SMSCPeer

LONG = "SMSC-" + "0123456789abcdef" * 9  # 149 characters: SMPP allows 64, a provider's SMSC sent these
LONGER = LONG + "-2"  # the same first 100 characters


@pytest.fixture
def claimed(make_patient: Any) -> list[OutboxMessage]:
    for _ in range(3):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    return outbox_claim(worker_id="w", now=timezone.now(), limit=3, lease=dt.timedelta(minutes=5))


def test_the_key_of_a_long_id_fits_is_stable_and_tells_long_ids_apart() -> None:
    assert remote_key("0A1B2C") == "0A1B2C"
    key = remote_key(LONG)
    assert len(key) == REMOTE_ID_MAX and key.startswith(LONG[:80]) and key == remote_key(LONG)
    assert remote_key(LONGER) != key  # cutting alone would have made them one message
    assert remote_key("id\x00with a NUL").isprintable()  # PostgreSQL refuses NUL in text


@pytest.mark.django_db
def test_a_message_accepted_with_an_over_long_id_still_gets_its_receipt(claimed: list[OutboxMessage]) -> None:
    first, second, third = claimed
    outbox_record(row=first, result=SendResult.accepted(LONG), worker_id="w", now=timezone.now())
    outbox_turn(worker_id="w", now=timezone.now(), lease=dt.timedelta(0),
                accepted=[Accepted(id=second.id, remote_id=LONGER), Accepted(id=third.id, remote_id="ok-3")])

    moved = receipt_record_many([(LONG, "DELIVRD", ""), (LONGER, "UNDELIV", ""), ("ok-3", "DELIVRD", "")])

    assert moved == 3
    statuses = dict(OutboxMessage.objects.values_list("id", "status"))
    assert statuses == {first.id: "delivered", second.id: "undelivered", third.id: "delivered"}
    assert OutboxMessage.objects.get(id=first.id).remote_id == remote_key(LONG)


@pytest.mark.django_db
def test_a_receipt_that_matches_nothing_yet_is_stored_so_that_it_fits_and_is_found_later(
    claimed: list[OutboxMessage]
) -> None:
    # The receipt comes first (another worker's bind), the result after: the stored receipt must match it.
    assert receipt_record_many([(LONG, "DELIVRD", ""), ("id\x00nul", "DELIVRD", "")]) == 0
    stored = DeliveryReceipt.objects.annotate(n=Length("remote_id")).values_list("n", flat=True)
    assert max(stored) <= REMOTE_ID_MAX

    outbox_record(row=claimed[0], result=SendResult.accepted(LONG), worker_id="w", now=timezone.now())

    assert OutboxMessage.objects.get(id=claimed[0].id).status == "delivered"


@pytest.mark.django_db
def test_one_receipt_the_database_refuses_is_dropped_alone_and_the_burst_is_acknowledged(
    claimed: list[OutboxMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_create = DeliveryReceipt.objects.bulk_create

    def refusing(receipts: list[DeliveryReceipt], *args: Any, **kwargs: Any) -> Any:
        if any(r.remote_id == "poison" for r in receipts):
            raise DataError("value refused")  # whatever the database may one day refuse about one receipt
        return bulk_create(receipts, *args, **kwargs)

    monkeypatch.setattr(DeliveryReceipt.objects, "bulk_create", refusing)
    outbox_record(row=claimed[0], result=SendResult.accepted("ok-1"), worker_id="w", now=timezone.now())

    moved = receipt_record_many([("ok-1", "DELIVRD", ""), ("poison", "DELIVRD", ""), ("early-2", "DELIVRD", "")])

    assert moved == 1
    assert OutboxMessage.objects.get(id=claimed[0].id).status == "delivered"
    assert list(DeliveryReceipt.objects.values_list("remote_id", flat=True)) == ["early-2"]  # stored, for later


@pytest.mark.django_db
def test_a_lost_database_still_sends_the_burst_back_to_the_smsc(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a refusal about the data is dropped: an outage raises, and the SMSC delivers the receipts again.
    from django.db import OperationalError

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(inbound, "move_sent", down)
    with pytest.raises(OperationalError):
        receipt_record_many([("a", "DELIVRD", ""), ("b", "DELIVRD", "")])


@pytest.fixture
def hooked_gateway(smsc: SMSCPeer) -> Iterator[Any]:
    # The worker's own hooks, on the gateway's hook thread with its own database connection.
    gateway = from_url(f"smpp://masspost:secret@{smsc.host}:{smsc.port}?timeout=5",
                       on_delivery_receipts=_on_reader_thread(receipt_record_many),
                       on_delivery_receipt=_on_reader_thread(receipt_record))
    gateway.open()
    yield gateway
    gateway.close()


@pytest.mark.django_db(transaction=True)
def test_an_over_long_receipt_id_from_a_real_smsc_is_acknowledged_and_stored_once(
    smsc: SMSCPeer, hooked_gateway: Any
) -> None:
    smsc.auto_receipts = False
    assert smsc.push_receipt(LONG, with_tlvs=False)  # deliver_sm_resp ESME_ROK: not delivered again
    assert smsc.push_receipt("0A1B2C")
    stored = DeliveryReceipt.objects.values("remote_id").annotate(n=Count("id"))
    assert {row["remote_id"]: row["n"] for row in stored} == {remote_key(LONG): 1, "0A1B2C": 1}

