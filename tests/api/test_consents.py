"""A patient and their consent over the API: GET /patients/{external_id}, GET …/consent (the consent now per
channel and purpose, and every event as proof, oldest first; …/consents its alias) and POST …/consents. A sender
renews a consent the patient withdrew by SMS STOP (201, the event, in the history after the STOP); the purpose
defaults to service; the legacy channel "marketing" is marketing on both channels; a preparer reads without names
or notes and may not record; another clinic's patient is 404 like one that does not exist; no route updates or
deletes an event (405)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.api.consents import Method
from masspost.campaigns.models import AuditEvent
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import ConsentEvent, ConsentMethod, Patient
from masspost.delivery.inbound import inbound_record
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

PROBLEM_JSON = "application/problem+json"
RENEW = {"channel": "sms", "accepts": True, "method": "signed-form", "note": "Form in the binder"}
EVENT_KEYS = {"id", "at", "channel", "purpose", "accepts", "source", "staff", "method", "note", "wording",
              "campaign_id"}


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
    assert [(e["channel"], e["purpose"], e["accepts"], e["source"], e["staff"]) for e in before["consents"]] == \
        [("sms", "service", False, "sms-stop", None)]
    made = alice.post(f"/patients/{ref}/consents", RENEW)
    assert made.status_code == 201, made.content
    event = made.json()
    assert {k: event[k] for k in ("channel", "purpose", "accepts", "source", "staff", "method", "note")} == {
        "channel": "sms", "purpose": "service", "accepts": True, "source": "api", "staff": "alice",
        "method": "signed-form", "note": "Form in the binder"}
    assert dt.datetime.fromisoformat(event["at"]).utcoffset() in (dt.timedelta(hours=2), dt.timedelta(hours=3))
    assert alice.get(f"/patients/{ref}").json()["accepts_sms"] is True
    proof = alice.get(f"/patients/{ref}/consent").json()
    assert (proof["external_id"], proof["clinic"], proof["time_zone"]) == (ref, "TLN", "Europe/Tallinn")
    assert proof["consent"]["sms"]["service"] is True
    assert [(e["source"], e["accepts"]) for e in proof["events"]] == [("sms-stop", False), ("api", True)]
    assert proof["events"][-1] == event
    assert alice.get(f"/patients/{ref}/consents").json() == proof  # the alias
    assert proof["items"] == proof["events"]  # what clients of the alias read
    audit = AuditEvent.objects.get(action="consent_record")
    assert (audit.actor, audit.via) == ("alice", "api:test") and "note" not in audit.detail


def test_the_consent_now_and_every_event_as_proof_in_order(alice: Api, make_patient: Callable[..., Patient]) -> None:
    """Each event with when, what, where from, the words the patient was shown and the campaign; the consent now
    per channel and purpose is the latest of each."""
    juri = make_patient(marketing_sms=False, marketing_email=False)
    consent_change(patient_id=juri.id, channel="email", purpose="marketing", accepts=True, source="import",
                   wording="file patients-2026-12.csv")
    consent_change(patient_id=juri.id, channel="sms", purpose="marketing", accepts=True, source="import",
                   wording="file patients-2026-12.csv")
    consent_change(patient_id=juri.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail", campaign_id=4242)
    made = alice.post(f"/patients/{juri.external_id}/consents",
                      {"channel": "email", "purpose": "service", "accepts": False, "method": "phone"})
    assert made.status_code == 201, made.content
    proof = alice.get(f"/patients/{juri.external_id}/consent").json()
    assert proof["consent"] == {"sms": {"service": True, "marketing": True},
                                "email": {"service": False, "marketing": False}}
    events = proof["events"]
    assert all(set(e) == EVENT_KEYS for e in events)
    assert [(e["channel"], e["purpose"], e["accepts"], e["source"], e["wording"], e["campaign_id"])
            for e in events] == [
        ("email", "marketing", True, "import", "file patients-2026-12.csv", None),
        ("sms", "marketing", True, "import", "file patients-2026-12.csv", None),
        ("email", "marketing", False, "unsubscribe", "No more offers by e-mail", 4242),
        ("email", "service", False, "api", None, None)]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    # The patient's own withdrawal names nobody; staff's say who and how.
    assert (events[2]["staff"], events[2]["method"], events[2]["note"]) == (None, None, None)
    assert (events[3]["staff"], events[3]["method"], events[3]["note"]) == ("alice", "phone", "")


def test_purpose_service_is_the_default_and_marketing_is_per_channel(alice: Api,
                                                                     make_patient: Callable[..., Patient]) -> None:
    p = make_patient(marketing_sms=False, marketing_email=False)
    ref = p.external_id
    assert alice.post(f"/patients/{ref}/consents", {"channel": "email", "purpose": "marketing", "accepts": True,
                                                    "method": "signed-form"}).status_code == 201
    p.refresh_from_db()
    assert (p.marketing_sms, p.marketing_email) == (False, True)
    listed = alice.get("/patients", {"q": ref}).json()["items"][0]
    assert (listed["marketing_sms"], listed["marketing_email"], listed["marketing_consent"]) == (False, True, True)
    assert alice.post(f"/patients/{ref}/consents", RENEW | {"accepts": False}).status_code == 201
    last = ConsentEvent.objects.filter(patient=p).latest("id")
    assert (last.channel, last.purpose, last.accepts) == ("sms", "service", False)
    p.refresh_from_db()
    assert (p.accepts_sms, p.accepts_email, p.marketing_email) == (False, True, True)


def test_the_legacy_marketing_channel_is_marketing_on_both(alice: Api, make_patient: Callable[..., Patient]) -> None:
    p = make_patient(marketing_sms=False, marketing_email=False)
    ref = p.external_id
    made = alice.post(f"/patients/{ref}/consents", {"channel": "marketing", "accepts": True, "method": "in-person"})
    assert made.status_code == 201, made.content
    events = alice.get(f"/patients/{ref}/consent").json()["events"]
    assert [(e["channel"], e["purpose"], e["accepts"]) for e in events] == [("sms", "marketing", True),
                                                                            ("email", "marketing", True)]
    assert made.json() == events[-1]
    seen = alice.get(f"/patients/{ref}").json()
    assert (seen["marketing_sms"], seen["marketing_email"], seen["marketing_consent"]) == (True, True, True)
    # "marketing" with purpose service is a contradiction: refused, nothing written.
    refused = problem(alice.post(f"/patients/{ref}/consents", {"channel": "marketing", "purpose": "service",
                                                               "accepts": False, "method": "phone"}), 422)
    assert "marketing" in str(refused["errors"])
    assert ConsentEvent.objects.filter(patient=p).count() == 2


def test_a_preparer_reads_without_names_or_notes_and_may_not_record(alice: Api, bob: Api, stopped: Patient) -> None:
    ref = stopped.external_id
    alice.post(f"/patients/{ref}/consents", RENEW)
    seen = bob.get(f"/patients/{ref}").json()
    assert (seen["first_name"], seen["phone"], seen["email"]) == (None, None, None)
    assert [(e["staff"], e["method"], e["note"]) for e in seen["consents"]][-1] == ("alice", "signed-form", None)
    proof = bob.get(f"/patients/{ref}/consent").json()
    assert [e["note"] for e in proof["events"]] == [None, None]
    assert alice.get(f"/patients/{ref}/consent").json()["events"][-1]["note"] == "Form in the binder"
    refused = problem(bob.post(f"/patients/{ref}/consents", RENEW | {"accepts": False}), 403)
    assert "preparer" in refused["detail"]
    assert ConsentEvent.objects.filter(source__startswith="api:").count() == 1


def test_another_clinics_patient_is_404_as_one_that_does_not_exist(charlie: Api, stopped: Patient) -> None:
    ref = stopped.external_id
    for path in ("/patients/{}", "/patients/{}/consent", "/patients/{}/consents"):
        hidden = problem(charlie.get(path.format(ref)), 404)
        absent = problem(charlie.get(path.format("NOBODY")), 404)
        assert hidden["detail"].replace(ref, "ID") == absent["detail"].replace("NOBODY", "ID")
    hidden = problem(charlie.post(f"/patients/{ref}/consents", RENEW), 404)
    assert "Mari" not in str(hidden)
    stopped.refresh_from_db()
    assert stopped.accepts_sms is False and ConsentEvent.objects.filter(patient=stopped).count() == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_no_route_updates_or_deletes_an_event(ada: Api, stopped: Patient, method: str) -> None:
    """The ledger is append-only in the API too: the consent routes refuse every other method (405), and an event
    has no route of its own."""
    ref = stopped.external_id
    event = ConsentEvent.objects.get(patient=stopped)
    headers = {"Authorization": f"Bearer {ada.token}"}
    body = '{"accepts": true}'
    for path in (f"/patients/{ref}/consent", f"/patients/{ref}/consents"):
        response = ada.client.generic(method, "/api/v1" + path, body, content_type="application/json",
                                      headers=headers)
        assert response.status_code == 405, (path, response.status_code)
    own = ada.client.generic(method, f"/api/v1/patients/{ref}/consents/{event.id}", body,
                             content_type="application/json", headers=headers)
    assert own.status_code in (404, 405)
    event.refresh_from_db()
    assert (event.accepts, event.source) == (False, "sms-stop")
    assert ConsentEvent.objects.filter(patient=stopped).count() == 1


@pytest.mark.parametrize(("change", "where"), [({"method": "telepathy"}, "method"), ({"channel": "fax"}, "channel"),
                                                ({"purpose": "spam"}, "purpose"),
                                                ({"note": "x" * 201}, "note"), ({"extra": 1}, "extra")])
def test_a_body_that_is_not_valid_is_422_with_its_field(alice: Api, stopped: Patient, change: dict[str, Any],
                                                       where: str) -> None:
    body = problem(alice.post(f"/patients/{stopped.external_id}/consents", RENEW | change), 422)
    assert any(where in str(e.get("loc", e)) for e in body["errors"]), body
    assert not ConsentEvent.objects.filter(source__startswith="api:").exists()


def test_a_note_the_service_refuses_is_422_naming_it(alice: Api, stopped: Patient) -> None:
    body = problem(alice.post(f"/patients/{stopped.external_id}/consents", RENEW | {"note": "ok\u202egnp"}), 422)
    assert body["detail"].startswith("note:")


def test_the_documented_methods_are_the_models() -> None:
    """The API's methods are the model's choices themselves (one list): the OpenAPI document lists them."""
    assert Method is ConsentMethod
    schema = Client().get("/api/openapi.json").json()
    found = [s["enum"] for s in schema["components"]["schemas"].values() if set(s.get("enum", ())) & {"phone"}]
    assert found and all(sorted(e) == sorted(ConsentMethod.values) for e in found)


def test_the_schema_says_what_is_deprecated() -> None:
    """The one marketing flag and the …/consents alias are marked deprecated in the OpenAPI document, saying what
    to read instead; the new endpoint is not."""
    schema = Client().get("/api/openapi.json").json()
    patient = schema["components"]["schemas"]["PatientOut"]["properties"]
    assert patient["marketing_consent"].get("deprecated") is True
    assert "marketing_sms" in patient["marketing_consent"]["description"]
    paths = schema["paths"]
    alias = next(p for p in paths if p.endswith("/patients/{external_id}/consents"))
    new = next(p for p in paths if p.endswith("/patients/{external_id}/consent"))
    assert paths[alias]["get"].get("deprecated") is True and not paths[new]["get"].get("deprecated")
