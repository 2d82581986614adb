"""A patient and their consents over the API: GET /patients/{external_id}, GET and POST …/consents. A sender
renews a consent the patient withdrew by SMS STOP (201, the event, in the history after the STOP); a preparer
reads without names or notes and may not record; another clinic's patient is 404 like one that does not exist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.api.consents import Method
from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import ConsentEvent, ConsentMethod, Patient
from masspost.delivery.inbound import inbound_record
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

PROBLEM_JSON = "application/problem+json"
RENEW = {"channel": "sms", "accepts": True, "method": "signed-form", "note": "Form in the binder"}


@pytest.fixture
def stopped(make_patient: Callable[..., Patient]) -> Patient:
    mari = make_patient(first_name="Mari")
    assert inbound_record(mari.phone_e164, "STOP").opted_out == 1
    return mari


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    return body


def test_a_sender_renews_consent_after_an_sms_stop(alice: Api, stopped: Patient) -> None:
    ref = stopped.external_id
    before = alice.get(f"/patients/{ref}").json()
    assert (before["accepts_sms"], before["first_name"], before["clinic_name"]) == (False, "Mari", "Hammas Tallinn")
    assert [(e["channel"], e["accepts"], e["source"], e["staff"]) for e in before["consents"]] == \
        [("sms", False, "sms-stop", None)]
    made = alice.post(f"/patients/{ref}/consents", RENEW)
    assert made.status_code == 201, made.content
    event = made.json()
    assert {k: event[k] for k in ("channel", "accepts", "source", "staff", "method", "note")} == {
        "channel": "sms", "accepts": True, "source": "staff", "staff": "alice", "method": "signed-form",
        "note": "Form in the binder"}
    assert dt.datetime.fromisoformat(event["at"]).utcoffset() in (dt.timedelta(hours=2), dt.timedelta(hours=3))
    assert alice.get(f"/patients/{ref}").json()["accepts_sms"] is True
    history = alice.get(f"/patients/{ref}/consents").json()
    assert history["external_id"] == ref
    assert [(e["source"], e["accepts"]) for e in history["items"]] == [("sms-stop", False), ("staff", True)]
    assert history["items"][-1] == event
    audit = AuditEvent.objects.get(action="consent_record")
    assert (audit.actor, audit.via) == ("alice", "api:test") and "note" not in audit.detail


def test_a_preparer_reads_without_names_or_notes_and_may_not_record(alice: Api, bob: Api, stopped: Patient) -> None:
    ref = stopped.external_id
    alice.post(f"/patients/{ref}/consents", RENEW)
    seen = bob.get(f"/patients/{ref}").json()
    assert (seen["first_name"], seen["phone"], seen["email"]) == (None, None, None)
    assert [(e["staff"], e["method"], e["note"]) for e in seen["consents"]][-1] == ("alice", "signed-form", None)
    refused = problem(bob.post(f"/patients/{ref}/consents", RENEW | {"accepts": False}), 403)
    assert "preparer" in refused["detail"]
    assert ConsentEvent.objects.filter(source__startswith="staff:").count() == 1


def test_another_clinics_patient_is_404_as_one_that_does_not_exist(charlie: Api, stopped: Patient) -> None:
    ref = stopped.external_id
    for path in ("/patients/{}", "/patients/{}/consents"):
        hidden = problem(charlie.get(path.format(ref)), 404)
        absent = problem(charlie.get(path.format("NOBODY")), 404)
        assert hidden["detail"].replace(ref, "ID") == absent["detail"].replace("NOBODY", "ID")
    hidden = problem(charlie.post(f"/patients/{ref}/consents", RENEW), 404)
    assert "Mari" not in str(hidden)
    stopped.refresh_from_db()
    assert stopped.accepts_sms is False and not ConsentEvent.objects.filter(source__startswith="staff:").exists()


@pytest.mark.parametrize(("change", "where"), [({"method": "telepathy"}, "method"), ({"channel": "fax"}, "channel"),
                                                ({"note": "x" * 201}, "note"), ({"extra": 1}, "extra")])
def test_a_body_that_is_not_valid_is_422_with_its_field(alice: Api, stopped: Patient, change: dict[str, Any],
                                                       where: str) -> None:
    body = problem(alice.post(f"/patients/{stopped.external_id}/consents", RENEW | change), 422)
    assert any(where in str(e.get("loc", e)) for e in body["errors"]), body
    assert not ConsentEvent.objects.filter(source__startswith="staff:").exists()


def test_a_note_the_service_refuses_is_422_naming_it(alice: Api, stopped: Patient) -> None:
    body = problem(alice.post(f"/patients/{stopped.external_id}/consents", RENEW | {"note": "ok\u202egnp"}), 422)
    assert body["detail"].startswith("note:")


def test_the_documented_methods_are_the_models() -> None:
    """The API's methods are the model's choices themselves (one list): the OpenAPI document lists them."""
    assert Method is ConsentMethod
    schema = Client().get("/api/openapi.json").json()
    found = [s["enum"] for s in schema["components"]["schemas"].values() if set(s.get("enum", ())) & {"phone"}]
    assert found and all(sorted(e) == sorted(ConsentMethod.values) for e in found)
