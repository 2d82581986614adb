"""A second approver over the API (issue 19): a send over a clinic's `approval_over` answers approval "pending"
and waits in `GET /approvals`; another sender of the clinic approves or rejects it. Its author: 409 own_campaign;
a preparer: 403; another clinic's sender: 404; twice: 409 not_pending; a changed audience: 409 stale."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.delivery.models import CampaignGate, OutboxMessage
from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


@pytest.fixture
def dora(make_api: Callable[..., Api], clinic: Clinic) -> Api:
    return make_api("dora", "sender", clinic)


@pytest.fixture
def pending(alice: Api, clinic: Clinic, make_patient: Any) -> int:
    """Alice's campaign to three Tallinn patients, over the clinic's approval_over of 2."""
    Clinic.objects.filter(pk=clinic.pk).update(approval_over=2)
    for _ in range(3):
        make_patient()
    preview = alice.post("/campaigns/preview", recall()).json()
    assert preview["approval"] == {"needed": True, "rule": "recipients", "over": "2", "clinic": "TLN", "value": "3"}
    sent = alice.post("/campaigns", {"campaign": recall(), "token": preview["token"]},
                      headers={"Idempotency-Key": "k1"})
    assert sent.status_code == 201, sent.content
    assert sent.json()["approval"] == "pending"
    campaign_id: int = sent.json()["campaign"]
    return campaign_id


def problem_code(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"] == "application/problem+json"
    return str(response.json().get("code", ""))


def test_a_pending_campaign_is_listed_and_another_sender_approves_it(pending: int, alice: Api, dora: Api,
                                                                    charlie: Api) -> None:
    listed = dora.get("/approvals").json()
    assert [(c["id"], c["name"], c["author"]) for c in listed] == [(pending, "Recall", "alice")]
    assert [c["id"] for c in alice.get("/approvals").json()] == [pending]  # one's own is listed too
    assert charlie.get("/approvals").json() == []
    shown = alice.get(f"/campaigns/{pending}").json()
    assert (shown["approval"], shown["approved_by"]) == ("pending", "")
    approved = dora.post(f"/campaigns/{pending}/approve")
    assert approved.status_code == 200, approved.content
    assert approved.json() == {"campaign": pending, "messages": 3}
    shown = alice.get(f"/campaigns/{pending}").json()
    assert (shown["approval"], shown["approved_by"]) == ("approved", "dora") and shown["approved_at"]
    assert not CampaignGate.objects.filter(campaign_id=pending, reason="approval").exists()
    assert dora.get("/approvals").json() == []
    assert problem_code(dora.post(f"/campaigns/{pending}/approve"), 409) == "not_pending"
    assert AuditEvent.objects.filter(action="campaign_approve", campaign_id=pending).count() == 1
    # The author's send repeated with its Idempotency-Key: the same campaign, as it is now.
    again = alice.post("/campaigns", {"campaign": recall(), "token": Campaign.objects.get(id=pending).token},
                       headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and (again.json()["campaign"], again.json()["approval"]) == (pending, "approved")


def test_who_may_not_approve(pending: int, alice: Api, bob: Api, charlie: Api) -> None:
    assert problem_code(alice.post(f"/campaigns/{pending}/approve"), 409) == "own_campaign"
    assert problem_code(alice.post(f"/campaigns/{pending}/reject"), 409) == "own_campaign"
    assert problem_code(bob.post(f"/campaigns/{pending}/approve"), 403) == ""
    assert problem_code(bob.post(f"/campaigns/{pending}/reject"), 403) == ""
    assert problem_code(charlie.post(f"/campaigns/{pending}/approve"), 404) == ""
    assert Campaign.objects.get(id=pending).approval == "pending"
    assert CampaignGate.objects.filter(campaign_id=pending, reason="approval").exists()


def test_a_rejected_campaign_is_cancelled(pending: int, alice: Api, dora: Api) -> None:
    rejected = dora.post(f"/campaigns/{pending}/reject")
    assert rejected.status_code == 200 and rejected.json() == {"campaign": pending, "messages": 3}
    shown = alice.get(f"/campaigns/{pending}").json()
    assert (shown["status"], shown["approval"], shown["approved_by"]) == ("cancelled", "rejected", "dora")
    assert set(OutboxMessage.objects.filter(campaign_id=pending).values_list("status", flat=True)) == {"cancelled"}
    assert problem_code(dora.post(f"/campaigns/{pending}/approve"), 409) == "not_pending"


def test_a_changed_audience_cannot_be_approved(pending: int, dora: Api, make_patient: Any) -> None:
    make_patient()  # a fourth patient: what would go now is not what Alice previewed
    assert problem_code(dora.post(f"/campaigns/{pending}/approve"), 409) == "stale"
    assert Campaign.objects.get(id=pending).approval == "pending"
    assert CampaignGate.objects.filter(campaign_id=pending, reason="approval").exists()
