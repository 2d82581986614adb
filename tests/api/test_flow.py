"""The integrator's path over HTTP: preview → send (idempotent) → follow the messages; and the errors on the
way, as problem details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from masspost.clinic.models import Patient
from masspost.delivery.models import OutboxMessage
from tests.api.conftest import Api, recall


def _patients(make_patient: Callable[..., Patient]) -> list[Patient]:
    return [make_patient(first_name="Mari"), make_patient(first_name="Ivan", language="ru"),
            make_patient(first_name="Jaan", accepts_sms=False)]


def test_preview_send_and_the_same_send_again(alice: Api, make_patient: Callable[..., Patient]) -> None:
    _patients(make_patient)
    preview = alice.post("/campaigns/preview", recall())
    assert preview.status_code == 200, preview.content
    data = preview.json()
    assert data["messages_total"] == 2
    assert data["excluded"]["sms"]["opted_out"] == 1
    body = {"campaign": recall(), "token": data["token"]}
    sent = alice.post("/campaigns", body, headers={"Idempotency-Key": "k-1"})
    assert sent.status_code == 201, sent.content
    again = alice.post("/campaigns", body, headers={"Idempotency-Key": "k-1"})
    assert (again.status_code, again.json()) == (201, sent.json())
    assert OutboxMessage.objects.count() == 2
    other = alice.post("/campaigns", {"campaign": recall(name="Other"), "token": data["token"]},
                       headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["type"] == "urn:masspost:problem:idempotency-key-reused"
    campaign = sent.json()["campaign"]
    detail = alice.get(f"/campaigns/{campaign}")
    assert detail.status_code == 200, detail.content
    assert detail.json()["messages"]["queued"] == 2
    page = alice.get(f"/campaigns/{campaign}/messages", {"limit": 1})
    assert page.status_code == 200, page.content
    first: dict[str, Any] = page.json()
    assert len(first["items"]) == 1 and first["next"]
    rest = alice.get(f"/campaigns/{campaign}/messages", {"after": first["next"]}).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {first["items"][0]["external_id"], rest["items"][0]["external_id"]} == {
        p.external_id for p in Patient.objects.exclude(first_name="Jaan")}


def test_no_token_is_401_with_a_problem(db: Any) -> None:
    response = Api(None).get("/campaigns")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401
