"""Scheduling, the test send and the campaign's new fields over the API (issue 19): a preview says when each
clinic's messages go, a send answers its start, a campaign can be moved until it starts, and a clinic's
test-before-marketing rule is a 409 with its code until `POST /campaigns/test` sent a test to oneself."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import CampaignGate, OutboxMessage
from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


def iso(moment: dt.datetime) -> str:
    return moment.replace(second=0, microsecond=0).isoformat()


def later(**delta: float) -> dt.datetime:
    return timezone.now().astimezone(dt.UTC) + dt.timedelta(**delta)


@pytest.fixture
def two(make_patient: Any) -> list[Patient]:
    return [make_patient(), make_patient(language="ru")]


@pytest.fixture
def memory(settings: Any) -> Iterator[None]:
    settings.MASSPOST_SMS_URL = "memory:test-sms"
    MemoryGateway.reset()
    yield
    MemoryGateway.reset()


def send(api: Api, campaign: dict[str, Any], key: str = "k1") -> Any:
    preview = api.post("/campaigns/preview", campaign)
    assert preview.status_code == 200, preview.content
    return api.post("/campaigns", {"campaign": campaign, "token": preview.json()["token"]},
                    headers={"Idempotency-Key": key})


def test_the_preview_says_when_each_clinics_messages_go_and_the_deadline(alice: Api, two: list[Patient],
                                                                         settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"  # the tests' default is "always"
    start = later(days=2)
    body = alice.post("/campaigns/preview", recall(send_at=iso(start))).json()
    schedule = body["schedule"]
    assert schedule["scheduled"] is True and schedule["send_at"]
    [tln] = schedule["clinics"]
    assert (tln["clinic"], tln["time_zone"], tln["window"]) == ("TLN", "Europe/Tallinn", "Mon-Sun 08:00-21:00")
    assert dt.datetime.fromisoformat(tln["starts_at"]) == start.replace(second=0, microsecond=0)
    # No deadline given: three days after the start.
    assert dt.datetime.fromisoformat(schedule["deadline"]) == start.replace(second=0, microsecond=0) + dt.timedelta(
        days=3)
    assert body["recent_campaign"] is None and body["approval"] is None
    assert body["test_send"] == {"required": False, "done": False}


def test_a_bad_send_at_is_422_naming_it(alice: Api, two: list[Patient]) -> None:
    for value, field in (("tomorrow", "send_at"), (iso(later(days=400)), "send_at")):
        response = alice.post("/campaigns/preview", recall(send_at=value))
        assert response.status_code == 422, response.content
        assert response.json()["errors"][0]["field"] == field, response.json()
    wrong = alice.post("/campaigns/preview", recall(recently_messaged_days=-1))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "recently_messaged_days"


def test_a_scheduled_send_answers_its_start_and_the_campaign_shows_it(alice: Api, two: list[Patient]) -> None:
    start = later(days=1)
    sent = send(alice, recall(send_at=iso(start), one_per_address=False, recently_messaged_days=0))
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert body["approval"] == "" and dt.datetime.fromisoformat(body["send_at"]) == start.replace(second=0,
                                                                                                 microsecond=0)
    shown = alice.get(f"/campaigns/{body['campaign']}").json()
    assert dt.datetime.fromisoformat(shown["send_at"]) == start.replace(second=0, microsecond=0)
    assert shown["started_at"] is None and shown["approval"] == "" and shown["left_out"] == {}
    assert shown["spec"]["one_per_address"] is False and shown["spec"]["recently_messaged_days"] == 0


def test_an_unscheduled_send_has_no_send_at(alice: Api, two: list[Patient]) -> None:
    sent = send(alice, recall())
    assert sent.status_code == 201 and sent.json()["send_at"] is None and sent.json()["approval"] == ""


def test_a_campaign_is_moved_until_it_starts(alice: Api, two: list[Patient]) -> None:
    campaign_id = send(alice, recall(send_at=iso(later(days=1)))).json()["campaign"]
    new_start, new_deadline = later(days=2), later(days=4)
    moved = alice.post(f"/campaigns/{campaign_id}/reschedule", {"send_at": iso(new_start),
                                                                 "deadline": iso(new_deadline)})
    assert moved.status_code == 200, moved.content
    assert moved.json()["campaign"] == campaign_id and moved.json()["schedule"]["scheduled"] is True
    stored = Campaign.objects.get(id=campaign_id)
    assert stored.send_at == new_start.replace(second=0, microsecond=0)
    assert stored.deadline == new_deadline.replace(second=0, microsecond=0)
    assert CampaignGate.objects.get(campaign_id=campaign_id).until == stored.send_at
    assert AuditEvent.objects.filter(action="campaign_reschedule", campaign_id=campaign_id).count() == 1


def test_reschedule_refusals(alice: Api, bob: Api, charlie: Api, two: list[Patient]) -> None:
    started = send(alice, recall(), key="now").json()["campaign"]
    response = alice.post(f"/campaigns/{started}/reschedule", {"send_at": iso(later(days=1))})
    assert response.status_code == 409 and response.json()["code"] == "started"
    scheduled = send(alice, recall(name="Later", send_at=iso(later(days=1))), key="later").json()["campaign"]
    before = Campaign.objects.get(id=scheduled).send_at
    assert bob.post(f"/campaigns/{scheduled}/reschedule", {"send_at": iso(later(days=2))}).status_code == 403
    assert charlie.post(f"/campaigns/{scheduled}/reschedule", {"send_at": iso(later(days=2))}).status_code == 404
    bad = alice.post(f"/campaigns/{scheduled}/reschedule", {"send_at": "soon"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "send_at"
    assert Campaign.objects.get(id=scheduled).send_at == before


def test_a_scheduled_campaign_is_cancelled_before_it_starts(alice: Api, two: list[Patient]) -> None:
    campaign_id = send(alice, recall(send_at=iso(later(days=1)))).json()["campaign"]
    assert alice.post(f"/campaigns/{campaign_id}/cancel").json()["messages"] == 2
    assert alice.get(f"/campaigns/{campaign_id}").json()["status"] == "cancelled"
    response = alice.post(f"/campaigns/{campaign_id}/reschedule", {"send_at": iso(later(days=2))})
    assert response.status_code == 409 and response.json()["code"] in ("cancelled", "started")


def test_a_test_send_goes_to_your_own_phone_only(alice: Api, two: list[Patient], memory: None) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    missing = alice.post("/campaigns/test", {"campaign": recall(), "token": token})
    assert missing.status_code == 422, missing.content  # no own phone yet
    alice.client.patch("/api/v1/me", json.dumps({"phone": "+372 5555 0000"}), content_type="application/json",
                       headers={"Authorization": f"Bearer {alice.token}"})
    response = alice.post("/campaigns/test", {"campaign": recall(), "token": token})
    assert response.status_code == 200, response.content
    sent = response.json()["messages"]
    assert {(m["channel"], m["to"], m["ok"]) for m in sent} == {("sms", "+37255550000", True)}
    assert {m["language"] for m in sent} == {"et", "ru"}
    assert [m.to for m in MemoryGateway.outboxes["test-sms"]] == ["+37255550000"] * 2
    assert not OutboxMessage.objects.exists()
    assert AuditEvent.objects.filter(action="campaign_test_send").count() == 1


def test_a_clinic_that_wants_a_test_first_is_409_test_required_until_one_was_sent(
        alice: Api, clinic: Clinic, two: list[Patient], memory: None) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(test_before_marketing=True)
    Patient.objects.update(marketing_sms=True, marketing_email=True)
    marketing = recall(purpose="marketing")
    preview = alice.post("/campaigns/preview", marketing).json()
    assert preview["test_send"] == {"required": True, "done": False}
    refused = alice.post("/campaigns", {"campaign": marketing, "token": preview["token"]},
                         headers={"Idempotency-Key": "m1"})
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "test_required" and not Campaign.objects.exists()
    alice.client.patch("/api/v1/me", json.dumps({"phone": "+372 5555 0000"}), content_type="application/json",
                       headers={"Authorization": f"Bearer {alice.token}"})
    assert alice.post("/campaigns/test", {"campaign": marketing, "token": preview["token"]}).status_code == 200
    assert alice.post("/campaigns/preview", marketing).json()["test_send"] == {"required": True, "done": True}
    sent = alice.post("/campaigns", {"campaign": marketing, "token": preview["token"]},
                      headers={"Idempotency-Key": "m2"})
    assert sent.status_code == 201, sent.content


@pytest.mark.parametrize("value", ["9999-12-31T23:59", "9999-12-31T23:59-05:00", "0001-01-01T00:00+05:00",
                                   "2101-01-01T00:00"])
def test_a_time_no_campaign_can_have_is_422_never_a_500(alice: Api, two: list[Patient], value: str,
                                                       settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"
    for key in ("send_at", "deadline"):
        response = alice.post("/campaigns/preview", recall(**{key: value}))
        assert response.status_code == 422, (key, response.content)
        assert response.json()["errors"][0]["field"] == key
    campaign_id = send(alice, recall(send_at=iso(later(days=1)))).json()["campaign"]
    for key in ("send_at", "deadline"):
        response = alice.post(f"/campaigns/{campaign_id}/reschedule", {key: value})
        assert response.status_code == 422, (key, response.content)
        assert response.json()["errors"][0]["field"] == key
