"""A control that does not apply is a 409 problem saying why, and changes nothing (issue 16, point 13)."""

from __future__ import annotations

from typing import Any

import pytest

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Patient
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(make_patient: Any) -> list[Patient]:
    return [make_patient(), make_patient(), make_patient(language="ru")]


def test_controls_of_a_finished_campaign_are_409_with_why(alice: Api, three: list[Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    sent = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "k1"})
    assert sent.status_code == 201, sent.content
    campaign_id = sent.json()["campaign"]
    OutboxMessage.objects.update(status=MessageStatus.SENT)
    audited = AuditEvent.objects.count()
    for action, why in (("cancel", "nothing to cancel"), ("pause", "nothing to pause"), ("resume", "is not paused"),
                        ("resend-unknown", "no message whose fate is unknown")):
        response = alice.post(f"/campaigns/{campaign_id}/{action}")
        assert response.status_code == 409, action
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:masspost:problem:conflict" and why in problem["detail"]
    status = alice.get(f"/campaigns/{campaign_id}").json()
    assert status["status"] == "done" and status["messages"]["sent"] == 3
    assert AuditEvent.objects.count() == audited
