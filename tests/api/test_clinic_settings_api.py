"""Clinic settings and your own test addresses over the API: GET /clinics shows each clinic's sending rules, an
admin PATCHes them (checked, audited, nothing changed on an error), and GET/PATCH /me keeps the user's own phone
and e-mail."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from tests.api.conftest import Api
from tests.delivery.test_dkim import make_pem

pytestmark = pytest.mark.django_db


def patch(api: Api, path: str, body: Any) -> Any:
    return api.client.patch("/api/v1" + path, json.dumps(body), content_type="application/json",
                            headers={"Authorization": f"Bearer {api.token}"})


def test_clinics_show_their_sending_rules(alice: Api, clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(approval_cost_over=Decimal("20"), approval_over=150)
    [shown] = alice.get("/clinics").json()
    assert shown["code"] == "TLN"
    assert {k: shown[k] for k in ("marketing_window", "service_window", "holidays", "approval_over",
                                  "test_before_marketing", "recently_messaged_days")} == {
        "marketing_window": "Mon-Sat 09:00-20:00", "service_window": "Mon-Sun 08:00-21:00", "holidays": True,
        "approval_over": 150, "test_before_marketing": False, "recently_messaged_days": 14}
    assert Decimal(str(shown["approval_cost_over"])) == Decimal("20")


def test_an_admin_changes_only_the_keys_given(ada: Api, clinic: Clinic) -> None:
    response = patch(ada, "/clinics/TLN", {"marketing_window": "Mon-Fri 10:00-18:00", "approval_over": 300,
                                           "holidays": False, "approval_cost_over": None})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["marketing_window"], body["approval_over"], body["holidays"]) == ("Mon-Fri 10:00-18:00", 300, False)
    clinic.refresh_from_db()
    assert (clinic.marketing_window, clinic.approval_over, clinic.holidays, clinic.service_window) == (
        "Mon-Fri 10:00-18:00", 300, False, "Mon-Sun 08:00-21:00")
    event = AuditEvent.objects.get(action="clinic_settings")
    assert event.detail["fields"] == ["marketing_window", "holidays", "approval_over"] and event.via == "api:test"


@pytest.mark.parametrize(("body", "field"), [
    ({"marketing_window": "every day, all day"}, "marketing_window"),
    ({"service_window": "Mon-Fri 20:00-08:00"}, "service_window"),
    ({"holidays": None}, "holidays"),
    ({"recently_messaged_days": 400}, "recently_messaged_days"),
    ({"approval_over": 0}, "approval_over"),
    ({"approval_cost_over": -1}, "approval_cost_over"),
    ({"time_zone": "UTC"}, "time_zone"),
    ({"sms_reply_number": "12"}, "sms_reply_number"),
    ({"sms_reply_number": "+372 600 1000"}, "sms_reply_number"),  # a landline cannot take the STOP
    ({"dkim_selector": "mail_2026"}, "dkim_selector"),
    ({"dkim_selector": "-mail"}, "dkim_selector"),
    ({"dkim_selector": "s1", "dkim_key": "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----"}, "dkim_key"),
    ({"dkim_selector": "s1"}, "dkim_key"),  # a selector needs its key
    ({"dkim_key": "x" * 20_001}, "dkim_key"),
])
def test_a_bad_value_is_422_naming_the_field_and_changes_nothing(ada: Api, clinic: Clinic, body: dict[str, Any],
                                                                 field: str) -> None:
    before = Clinic.objects.filter(pk=clinic.pk).values().get()
    response = patch(ada, "/clinics/TLN", {"recently_messaged_days": 3} | body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Clinic.objects.filter(pk=clinic.pk).values().get() == before
    assert not AuditEvent.objects.filter(action="clinic_settings").exists()


def test_a_sender_may_not_and_another_clinic_is_404(alice: Api, ada: Api, clinic: Clinic,
                                                    other_clinic: Clinic) -> None:
    denied = patch(alice, "/clinics/TLN", {"holidays": False})
    assert denied.status_code == 403 and denied.json()["type"] == "urn:masspost:problem:forbidden"
    assert patch(ada, "/clinics/TRT", {"holidays": False}).status_code == 404
    assert patch(ada, "/clinics/NOPE", {"holidays": False}).status_code == 404
    assert Clinic.objects.filter(holidays=False).count() == 0


def test_me_shows_and_sets_the_users_own_phone_and_email(bob: Api, clinic: Clinic) -> None:
    me = bob.get("/me").json()
    assert (me["user"], me["phone"], me["email"]) == ("bob", "", ""), me
    response = patch(bob, "/me", {"phone": "5123 4567", "email": "Bob@Example.com"})
    assert response.status_code == 200, response.content
    assert (response.json()["phone"], response.json()["email"]) == ("+37251234567", "Bob@example.com")
    assert (bob.get("/me").json()["phone"]) == "+37251234567"
    patch(bob, "/me", {"email": ""})  # removed; the phone left out stays
    me = bob.get("/me").json()
    assert (me["phone"], me["email"]) == ("+37251234567", "")
    assert AuditEvent.objects.filter(action="staff_contact").count() == 2


def test_a_phone_that_cannot_be_used_is_422_and_changes_nothing(bob: Api, clinic: Clinic) -> None:
    response = patch(bob, "/me", {"phone": "12", "email": "bob@example.com"})
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["phone"]
    assert bob.get("/me").json()["email"] == ""


def test_the_schema_documents_the_settings_and_the_new_operations(alice: Api) -> None:
    schema = alice.client.get("/api/openapi.json").json()
    assert {"patch"} <= set(schema["paths"]["/api/v1/clinics/{code}"])
    assert {"get", "patch"} <= set(schema["paths"]["/api/v1/me"])
    for path in ("/api/v1/campaigns/test", "/api/v1/campaigns/{campaign_id}/approve",
                 "/api/v1/campaigns/{campaign_id}/reject", "/api/v1/campaigns/{campaign_id}/reschedule"):
        assert "post" in schema["paths"][path], path
    assert "get" in schema["paths"]["/api/v1/approvals"]
    components = schema["components"]["schemas"]
    assert {"marketing_window", "approval_over", "recently_messaged_days", "sms_reply_number", "dkim_selector",
            "dkim_key_set", "dkim_key_fingerprint", "dkim_dns_record"} <= set(
        components["ClinicSettingsOut"]["properties"])
    assert "dkim_key" not in components["ClinicSettingsOut"]["properties"]  # write-only
    assert "WRITE-ONLY" in components["ClinicSettingsPatch"]["properties"]["dkim_key"]["description"]
    assert {"send_at", "deadline", "recently_messaged_days", "one_per_address"} <= set(
        components["Campaign"]["properties"])
    assert {"schedule", "recent_campaign", "approval", "test_send"} <= set(components["PreviewOut"]["properties"])
    assert {"approval", "send_at"} <= set(components["SendOut"]["properties"])
    assert {"send_at", "started_at", "approval", "approved_by", "left_out"} <= set(
        components["CampaignOut"]["properties"])
    statuses = schema["paths"]["/api/v1/campaigns/{campaign_id}/messages"]["get"]["parameters"]
    assert any("left_out" in json.dumps(p) for p in statuses)


def test_an_admin_sets_the_reply_number_and_a_write_only_dkim_key(ada: Api, clinic: Clinic) -> None:
    pem = make_pem()
    response = patch(ada, "/clinics/TLN", {"sms_reply_number": "5123 4567", "dkim_selector": "mail2026",
                                           "dkim_key": pem})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "dkim_key" not in body and "PRIVATE" not in response.content.decode()
    assert (body["sms_reply_number"], body["dkim_selector"], body["dkim_key_set"]) == ("+37251234567", "mail2026",
                                                                                      True)
    assert body["dkim_key_fingerprint"].startswith("SHA256:")
    assert body["dkim_dns_record"].startswith('mail2026._domainkey.hammas.example TXT "v=DKIM1; k=rsa; p=MII')
    [shown] = ada.get("/clinics").json()
    assert shown == body and "PRIVATE" not in json.dumps(shown)
    clinic.refresh_from_db()
    assert clinic.dkim_key.startswith("-----BEGIN PRIVATE KEY-----") and clinic.sms_reply_number == "+37251234567"
    event = AuditEvent.objects.get(action="clinic_settings")
    assert event.detail["dkim_key"] == "set" and "PRIVATE" not in json.dumps(event.detail)
    assert set(event.detail["fields"]) == {"sms_reply_number", "dkim_selector", "dkim_key"}


def test_null_removes_the_key_and_its_selector(ada: Api, clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(dkim_selector="mail2026", dkim_key=make_pem(),
                                               sms_reply_number="+37251234567")
    response = patch(ada, "/clinics/TLN", {"dkim_key": None, "sms_reply_number": None})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["dkim_key_set"], body["dkim_selector"], body["dkim_key_fingerprint"], body["dkim_dns_record"],
            body["sms_reply_number"]) == (False, "", None, None, "")
    clinic.refresh_from_db()
    assert (clinic.dkim_key, clinic.dkim_selector) == ("", "")
    assert AuditEvent.objects.get(action="clinic_settings").detail["dkim_key"] == "removed"
