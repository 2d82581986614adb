"""Each endpoint's own behaviour: imports, the send's refusals, the controls, the messages' cursor, the CSV lists,
the SMS counter, the limits, and the problems every error is."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from masspost.api import campaigns as campaigns_api
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Patient
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.api.conftest import Api, recall

PROBLEM_JSON = "application/problem+json"
PATIENTS = "external_id,clinic,first_name,last_name,language,phone\n"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:400])
    assert response["Content-Type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:masspost:problem:") and body["title"]
    assert "Traceback" not in response.content.decode() and 'File "' not in response.content.decode()
    return body


def api_audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def three(make_patient: Callable[..., Patient]) -> list[Patient]:
    return [make_patient(first_name="Mari"), make_patient(first_name="Ivan", language="ru"),
            make_patient(first_name="Jaan", accepts_sms=False)]


def send(api: Api, campaign: dict[str, Any] | None = None, key: str = "k") -> int:
    campaign = campaign or recall()
    token = api.post("/campaigns/preview", campaign).json()["token"]
    sent = api.post("/campaigns", {"campaign": campaign, "token": token}, headers={"Idempotency-Key": key})
    assert sent.status_code == 201, sent.content
    campaign_id: int = sent.json()["campaign"]
    return campaign_id


# --- imports ----------------------------------------------------------------------------------------------

def test_import_patients_as_text_csv(alice: Api) -> None:
    body = PATIENTS + "N-1,TLN,Liis,Tamm,et,+37251111111\nN-2,TLN,Olga,Ivanova,ru,+37252222222\n"
    response = alice.post("/imports/patients", body, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json() | {"warnings": []} == {"kind": "patients", "rows": 2, "imported": 2, "written": True,
                                                  "warnings": [], "errors": []}
    assert Patient.objects.get(external_id="N-2").first_name == "Olga"
    [event] = api_audit("import")
    assert (event.via, event.actor, event.detail["imported"]) == ("api:test", "alice", 2)


def test_import_as_a_multipart_upload(alice: Api) -> None:
    upload = SimpleUploadedFile("p.csv", (PATIENTS + "N-1,TLN,Liis,Tamm,et,+37251111111\n").encode(), "text/csv")
    response = alice.client.post("/api/v1/imports/patients", {"file": upload},
                                 headers={"Authorization": f"Bearer {alice.token}"})
    assert response.status_code == 200, response.content
    assert response.json()["imported"] == 1
    assert Patient.objects.filter(external_id="N-1").exists()


def test_a_multipart_upload_without_the_file_field_is_a_problem(alice: Api) -> None:
    upload = SimpleUploadedFile("p.csv", PATIENTS.encode(), "text/csv")
    response = alice.client.post("/api/v1/imports/patients", {"data": upload},
                                 headers={"Authorization": f"Bearer {alice.token}"})
    assert "file" in assert_problem(response, 422)["detail"]


def test_a_bad_row_writes_nothing_and_reports_each_bad_row(alice: Api) -> None:
    body = PATIENTS + "N-1,TLN,Liis,Tamm,et,+37251111111\nN-2,XXX,Olga,Ivanova,ru,\nN-3,TLN,Ants,Kask,zz,\n"
    response = alice.post("/imports/patients", body, content_type="text/csv")
    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:masspost:problem:import-refused"
    assert (problem["written"], problem["imported"], problem["rows"]) == (False, 0, 3)
    assert [(e["row"], e["column"], e["ref"]) for e in problem["errors"]] == [(3, "clinic", "N-2"),
                                                                             (4, "language", "N-3")]
    assert all(set(e) == {"row", "column", "reason", "ref"} and e["reason"] for e in problem["errors"])
    assert "Liis" not in response.content.decode() and "Olga" not in response.content.decode()
    assert not Patient.objects.exists()
    [event] = api_audit("import")
    assert (event.via, event.detail["written"], event.detail["errors"]) == ("api:test", False, 2)


def test_skip_invalid_imports_the_good_rows(alice: Api) -> None:
    body = PATIENTS + "N-1,TLN,Liis,Tamm,et,+37251111111\nN-2,XXX,Olga,Ivanova,ru,\n"
    response = alice.post("/imports/patients?skip_invalid=true", body, content_type="text/csv")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["imported"], data["written"], [e["ref"] for e in data["errors"]]) == (1, True, ["N-2"])
    assert list(Patient.objects.values_list("external_id", flat=True)) == ["N-1"]


def test_import_visits_and_clinics(alice: Api, ada: Api, make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    visits = f"patient,clinic,start,status\n{patient.external_id},TLN,2025-03-04 10:00,attended\n"
    response = alice.post("/imports/visits", visits, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert patient.visits.count() == 1
    clinics = ("code,name,country,time_zone,default_language\nTLN,Hammas Tallinn Kesklinn,EE,Europe/Tallinn,et\n")
    assert_problem(alice.post("/imports/clinics", clinics, content_type="text/csv"), 403)
    response = ada.post("/imports/clinics", clinics, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json()["imported"] == 1


def test_a_preparer_may_not_import(bob: Api) -> None:
    response = bob.post("/imports/patients", PATIENTS + "N-1,TLN,Liis,Tamm,et,\n", content_type="text/csv")
    assert_problem(response, 403)
    assert not Patient.objects.exists()


def test_a_file_with_the_wrong_header_is_a_problem_naming_the_upload(alice: Api) -> None:
    # A patients file sent as visits: the whole file is refused, named as the upload, never as the temporary
    # path it was stored under (which says nothing to the integrator and something about the server).
    response = alice.post("/imports/visits", PATIENTS + "N-1,TLN,Liis,Tamm,et,\n", content_type="text/csv")
    detail = assert_problem(response, 422)["detail"]
    assert detail.startswith("visits.csv: missing column(s) patient, start, status"), detail
    assert "/tmp" not in detail and "masspost-import" not in detail
    assert_problem(alice.post("/imports/patients", "", content_type="text/csv"), 422)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "image/png"])
def test_a_wrong_content_type_is_a_problem(alice: Api, content_type: str) -> None:
    response = alice.post("/imports/patients", PATIENTS + "N-1,TLN,Liis,Tamm,et,\n", content_type=content_type)
    assert "Content-Type" in assert_problem(response, 422)["detail"]
    assert not Patient.objects.exists()


def test_an_unknown_import_kind_or_encoding_is_422(alice: Api) -> None:
    assert_problem(alice.post("/imports/staff", PATIENTS, content_type="text/csv"), 422)
    assert_problem(alice.post("/imports/patients?encoding=ebcdic", PATIENTS, content_type="text/csv"), 422)


# --- the send ---------------------------------------------------------------------------------------------

def test_a_stale_token_is_409_with_what_changed(alice: Api, three: list[Patient],
                                                make_patient: Callable[..., Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    make_patient(first_name="Uus")
    response = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "s"})
    problem = assert_problem(response, 409)
    assert problem["type"] == "urn:masspost:problem:stale-token"
    # In English as before, and the same change as a stable code with its numbers, for a client's own words.
    changed = "the recipients changed: 1 patient newly matches the audience (2 messages at preview, 3 now)"
    assert problem["changes"] == [changed]
    assert problem["detail"] == f"preview again: {changed}"
    assert problem["change_codes"] == [{"code": "recipients_changed", "params": {
        "then": 2, "now": 3, "items": [{"code": "patients_new", "params": {"n": 1}}]}}]
    assert "code" not in problem
    assert "Uus" not in response.content.decode()
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()
    # The key was freed: the same key with a fresh preview sends.
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    again = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "s"})
    assert again.status_code == 201, again.content
    assert again.json()["messages"] == 3


def test_a_changed_text_is_stale_too(alice: Api, three: list[Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    other = recall(content={"et": {"sms": "Tere {first_name}!"}, "ru": {"sms": "Привет!"}})
    problem = assert_problem(alice.post("/campaigns", {"campaign": other, "token": token},
                                        headers={"Idempotency-Key": "t"}), 409)
    assert problem["changes"] == ["the texts changed"]
    assert problem["change_codes"] == [{"code": "texts_changed", "params": {}}]


def test_a_token_cut_short_is_stale_with_its_code(alice: Api, three: list[Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    problem = assert_problem(alice.post("/campaigns", {"campaign": recall(), "token": token[:20]},
                                        headers={"Idempotency-Key": "u"}), 409)
    assert problem["detail"] == "the preview token is malformed: copy it whole from the preview"
    assert (problem["code"], problem["params"], problem["changes"]) == ("token_malformed", {}, [])
    assert not Campaign.objects.exists()


def test_the_same_key_with_another_body_is_422_and_sends_nothing(alice: Api, three: list[Patient]) -> None:
    send(alice, key="same")
    token = alice.post("/campaigns/preview", recall(name="Other")).json()["token"]
    response = alice.post("/campaigns", {"campaign": recall(name="Other"), "token": token},
                          headers={"Idempotency-Key": "same"})
    assert assert_problem(response, 422)["type"] == "urn:masspost:problem:idempotency-key-reused"
    assert Campaign.objects.count() == 1 and OutboxMessage.objects.count() == 2


def test_the_same_key_and_body_answers_the_same(alice: Api, three: list[Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    body = {"campaign": recall(), "token": token}
    first = alice.post("/campaigns", body, headers={"Idempotency-Key": "x"})
    again = alice.post("/campaigns", body, headers={"Idempotency-Key": "x"})
    assert (first.status_code, again.status_code, first.json()) == (201, 201, again.json())
    assert OutboxMessage.objects.count() == 2
    [event] = api_audit("campaign_send")
    assert (event.via, event.actor, event.campaign_id) == ("api:test", "alice", first.json()["campaign"])


def test_a_missing_idempotency_key_is_422(alice: Api, three: list[Patient]) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    response = alice.post("/campaigns", {"campaign": recall(), "token": token})
    problem = assert_problem(response, 422)
    assert [(e["field"], e["in"]) for e in problem["errors"]] == [("Idempotency-Key", "header")]
    assert not Campaign.objects.exists()


def test_nothing_to_send_is_422(alice: Api) -> None:
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    response = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "n"})
    assert assert_problem(response, 422)["type"] == "urn:masspost:problem:nothing-to-send"


def test_unknown_keys_are_422_with_the_field_path(alice: Api, three: list[Patient]) -> None:
    problem = assert_problem(alice.post("/campaigns/preview", recall(colour="red")), 422)
    assert [(e["field"], e["in"]) for e in problem["errors"]] == [("colour", "body")]
    nested = recall(content={"et": {"sms": "Tere!", "mms": "x"}})
    problem = assert_problem(alice.post("/campaigns/preview", nested), 422)
    assert [e["field"] for e in problem["errors"]] == ["content.et.mms"]
    problem = assert_problem(alice.post("/campaigns", {"campaign": recall(colour="red"), "token": "t", "x": 1},
                                        headers={"Idempotency-Key": "u"}), 422)
    assert sorted(e["field"] for e in problem["errors"]) == ["campaign.colour", "x"]


def test_a_campaign_the_spec_refuses_names_its_field(alice: Api, three: list[Patient]) -> None:
    problem = assert_problem(alice.post("/campaigns/preview", recall(audience={"clinics": ["NOPE"]})), 422)
    assert problem["type"] == "urn:masspost:problem:invalid-campaign"
    assert [e["field"] for e in problem["errors"]] == ["audience.clinics"]
    problem = assert_problem(alice.post("/campaigns/preview", recall(audience={"countries": ["QQ"]})), 422)
    assert [e["field"] for e in problem["errors"]] == ["audience.countries"]
    problem = assert_problem(alice.post("/campaigns", {"campaign": recall(audience={"countries": ["QQ"]}),
                                                       "token": "t"}, headers={"Idempotency-Key": "v"}), 422)
    assert [e["field"] for e in problem["errors"]] == ["campaign.audience.countries"]


def test_a_body_that_is_not_json_is_a_problem(alice: Api) -> None:
    response = alice.post("/campaigns/preview", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == PROBLEM_JSON


# --- controls ---------------------------------------------------------------------------------------------

def _status(api: Api, campaign_id: int) -> str:
    status: str = api.get(f"/campaigns/{campaign_id}").json()["status"]
    return status


def test_the_controls_and_their_counts(alice: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    c = f"/campaigns/{campaign_id}"
    assert _status(alice, campaign_id) == "sending"
    assert alice.post(c + "/pause").json() == {"campaign": campaign_id, "messages": 2}
    assert _status(alice, campaign_id) == "paused"
    assert alice.post(c + "/resume").json() == {"campaign": campaign_id, "messages": 2}
    assert _status(alice, campaign_id) == "sending"
    first = OutboxMessage.objects.order_by("id").first()
    assert first is not None
    OutboxMessage.objects.filter(id=first.id).update(status=MessageStatus.UNKNOWN)
    assert alice.post(c + "/resend-unknown").json() == {"campaign": campaign_id, "messages": 1}
    assert OutboxMessage.objects.filter(status=MessageStatus.QUEUED).count() == 2
    OutboxMessage.objects.filter(id=first.id).update(status=MessageStatus.SENT)
    assert alice.post(c + "/cancel").json() == {"campaign": campaign_id, "messages": 1}
    assert _status(alice, campaign_id) == "cancelled"
    detail = alice.get(c).json()
    assert (detail["messages"]["cancelled"], detail["messages"]["sent"]) == (1, 1)
    assert detail["progress"] == {"total": 2, "sent": 1, "pending": 0, "problems": 0} | {
        "problems": detail["progress"]["problems"]}
    # Cancelling again does not apply: refused, and nothing is audited (issue 16, point 13).
    again = assert_problem(alice.post(c + "/cancel"), 409)
    assert again["type"] == "urn:masspost:problem:conflict" and "is cancelled" in again["detail"]
    events = AuditEvent.objects.filter(action__in=["campaign_pause", "campaign_resume", "campaign_resend_unknown",
                                                   "campaign_cancel"]).order_by("id")
    assert [(e.action, e.via, e.detail["messages"]) for e in events] == [
        ("campaign_pause", "api:test", 2), ("campaign_resume", "api:test", 2),
        ("campaign_resend_unknown", "api:test", 1), ("campaign_cancel", "api:test", 1)]


def test_a_cancelled_campaign_cannot_be_resumed_or_paused(alice: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    alice.post(f"/campaigns/{campaign_id}/cancel")
    for action in ("resume", "pause", "resend-unknown"):
        problem = assert_problem(alice.post(f"/campaigns/{campaign_id}/{action}"), 409)
        assert problem["type"] == "urn:masspost:problem:conflict"
    assert _status(alice, campaign_id) == "cancelled"
    assert OutboxMessage.objects.filter(status=MessageStatus.CANCELLED).count() == 2


def test_campaigns_list_and_status_filter(alice: Api, three: list[Patient]) -> None:
    first = send(alice, recall(name="One"), key="1")
    second = send(alice, recall(name="Two", content={"et": {"sms": "Tere!"}, "ru": {"sms": "Привет!"}}), key="2")
    alice.post(f"/campaigns/{first}/pause")
    listed = alice.get("/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [second, first]
    assert (listed["count"], listed["pages"], listed["page"]) == (2, 1, 1)
    assert [c["id"] for c in alice.get("/campaigns", {"status": "paused"}).json()["items"]] == [first]
    assert [c["id"] for c in alice.get("/campaigns", {"per_page": 1, "page": 2}).json()["items"]] == [first]
    assert_problem(alice.get("/campaigns", {"status": "asleep"}), 422)


# --- messages ---------------------------------------------------------------------------------------------

@pytest.fixture
def five(make_patient: Callable[..., Patient]) -> list[Patient]:
    return [make_patient() for _ in range(5)]


def test_messages_by_cursor_with_status_and_changed_since(alice: Api, five: list[Patient]) -> None:
    campaign_id = send(alice, recall(content={"et": {"sms": "Tere!"}}))
    path = f"/campaigns/{campaign_id}/messages"
    seen: list[int] = []
    after = ""
    while True:
        page = alice.get(path, {"limit": 2, "after": after}).json()
        assert len(page["items"]) <= 2
        seen += [m["id"] for m in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == sorted(OutboxMessage.objects.values_list("id", flat=True)) and len(seen) == 5
    item = alice.get(path, {"limit": 1}).json()["items"][0]
    assert set(item) == {"id", "external_id", "channel", "language", "status", "reason", "attempts", "created_at",
                         "sent_at", "status_changed_at"}
    assert "Tere" not in str(item) and "+372" not in str(item)

    old = timezone.now() - dt.timedelta(hours=2)
    OutboxMessage.objects.update(updated_at=old)
    delivered = seen[1:3]
    OutboxMessage.objects.filter(id__in=delivered).update(status=MessageStatus.DELIVERED, updated_at=timezone.now())
    by_status = alice.get(path, {"status": "delivered"}).json()
    assert [m["id"] for m in by_status["items"]] == delivered and by_status["next"] is None
    since = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    changed = alice.get(path, {"changed_since": since}).json()
    assert [m["id"] for m in changed["items"]] == delivered
    naive = (timezone.now() - dt.timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    assert [m["id"] for m in alice.get(path, {"changed_since": naive}).json()["items"]] == delivered
    assert_problem(alice.get(path, {"status": "lost"}), 422)


@pytest.mark.parametrize("cursor", ["nonsense!", "bTEy" + "x", base64.urlsafe_b64encode(b"x12").decode(),
                                    base64.urlsafe_b64encode(b"m-3").decode(), "A" * 101])
def test_a_bad_cursor_is_422(alice: Api, three: list[Patient], cursor: str) -> None:
    campaign_id = send(alice)
    assert_problem(alice.get(f"/campaigns/{campaign_id}/messages", {"after": cursor}), 422)


# --- CSV lists --------------------------------------------------------------------------------------------

def _csv(response: Any) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_recipients_csv_and_excluded_csv_of_a_campaign(alice: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    recipients = alice.get(f"/campaigns/{campaign_id}/recipients.csv")
    assert recipients.status_code == 200
    assert recipients["Content-Type"].startswith("text/csv")
    assert f"campaign-{campaign_id}-recipients.csv" in recipients["Content-Disposition"]
    rows = _csv(recipients)
    assert sorted(r["external_id"] for r in rows) == sorted(p.external_id for p in three[:2])
    assert {r["status"] for r in rows} == {"queued"} and "Mari" not in str(rows)
    excluded = alice.get(f"/campaigns/{campaign_id}/excluded.csv")
    assert excluded.status_code == 200 and excluded["Content-Type"].startswith("text/csv")
    rows = _csv(excluded)
    assert [r["external_id"] for r in rows] == [three[2].external_id]
    assert _csv(alice.get(f"/campaigns/{campaign_id}/excluded.csv", {"reason": "no_address"})) == []
    assert len(_csv(alice.get(f"/campaigns/{campaign_id}/excluded.csv", {"reason": "opted_out"}))) == 1
    assert_problem(alice.get(f"/campaigns/{campaign_id}/excluded.csv", {"reason": "bored"}), 422)
    exports = api_audit("export")
    assert [(e.via, e.actor, e.detail["list"]) for e in exports] == [
        ("api:test", "alice", "messages")] + [("api:test", "alice", "excluded")] * 3
    assert exports[0].campaign_id == campaign_id and exports[0].detail["rows"] == 2


def test_preview_lists(alice: Api, three: list[Patient]) -> None:
    recipients = alice.post("/campaigns/preview/recipients.csv", recall())
    assert recipients.status_code == 200 and recipients["Content-Type"].startswith("text/csv")
    rows = _csv(recipients)
    assert sorted(r["external_id"] for r in rows) == sorted(p.external_id for p in three[:2])
    excluded = _csv(alice.post("/campaigns/preview/excluded.csv", recall()))
    assert [r["external_id"] for r in excluded] == [three[2].external_id]
    assert _csv(alice.post("/campaigns/preview/recipients.csv?channel=email", recall())) == []
    assert [e.via for e in api_audit("export")] == ["api:test"] * 3
    assert_problem(alice.post("/campaigns/preview/everyone.csv", recall()), 422)
    assert_problem(alice.post("/campaigns/preview/excluded.csv?reason=bored", recall()), 422)
    assert not Campaign.objects.exists()


def test_counts_agree_with_the_preview_and_send_nothing(alice: Api, three: list[Patient]) -> None:
    counts = alice.post("/campaigns/counts", recall())
    assert counts.status_code == 200, counts.content
    data, preview = counts.json(), alice.post("/campaigns/preview", recall()).json()
    assert data["recipients"] == preview["recipients"] == {"et": {"sms": 1, "email": 0}, "ru": {"sms": 1, "email": 0}}
    assert {k: v for k, v in data["excluded"]["sms"].items() if v} == \
        {k: v for k, v in preview["excluded"]["sms"].items() if v} == {"opted_out": 1}
    assert (data["audience"]["patients"], data["audience"]["languages"]) == (3, {"et": 2, "ru": 1})
    assert "token" not in data and not Campaign.objects.exists()
    # The same refusals as the preview: a field the spec refuses is named.
    bad = assert_problem(alice.post("/campaigns/counts", recall(audience={"clinics": ["NOPE"]})), 422)
    assert [e["field"] for e in bad["errors"]] == ["audience.clinics"]


def test_a_patients_messages_across_campaigns_newest_first(alice: Api, three: list[Patient]) -> None:
    first = send(alice, key="a")
    second = send(alice, recall(name="Closure", channel="both", content={
        "et": {"sms": "Suletud 24.12.", "email_subject": "Suletud", "email_body": "Kliinik on suletud."}}), key="b")
    mari = three[0]
    OutboxMessage.objects.filter(campaign_id=first, patient=mari).update(status=MessageStatus.FAILED,
                                                                        last_error="550 no such user")
    response = alice.get("/messages", {"patient": mari.external_id})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["external_id"] == mari.external_id
    assert [(m["campaign"], m["campaign_name"], m["channel"]) for m in data["items"]] == [
        (second, "Closure", "email"), (second, "Closure", "sms"), (first, "Recall", "sms")]
    assert (data["items"][-1]["status"], data["items"][-1]["reason"]) == ("failed", "550 no such user")
    assert "Tere" not in response.content.decode() and "Maasikas" not in response.content.decode()
    assert [m["campaign"] for m in alice.get("/messages", {"patient": mari.external_id, "limit": 1}).json()[
        "items"]] == [second]
    # Jaan takes no SMS: the closure's e-mail only.
    jaan = alice.get("/messages", {"patient": three[2].external_id}).json()["items"]
    assert [(m["campaign"], m["channel"]) for m in jaan] == [(second, "email")]
    assert "patient" in assert_problem(alice.get("/messages", {"patient": "NOBODY"}), 404)["detail"]
    assert_problem(alice.get("/messages"), 422)


def test_a_patients_messages_leave_out_campaigns_of_clinics_beyond_reach(
        alice: Api, make_api: Callable[..., Api], clinic: Any, other_clinic: Any,
        make_patient: Callable[..., Patient]) -> None:
    mari = make_patient()
    both = make_api("olga", "sender", clinic, other_clinic)
    campaign_id = send(both, recall(audience={"clinics": ["TLN", "TRT"]}), key="both")
    assert [m["campaign"] for m in both.get("/messages", {"patient": mari.external_id}).json()["items"]] == [
        campaign_id]
    # Alice reaches Tallinn only: the two-clinic campaign is not hers to see (GET /campaigns/{id} is 404).
    assert alice.get("/messages", {"patient": mari.external_id}).json()["items"] == []
    assert_problem(alice.get(f"/campaigns/{campaign_id}"), 404)


# --- the audit log ----------------------------------------------------------------------------------------

def test_the_audit_log_for_an_admin(alice: Api, ada: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    alice.post(f"/campaigns/{campaign_id}/pause")
    response = ada.get("/audit")
    assert response.status_code == 200, response.content
    data = response.json()
    actions = [(e["action"], e["actor"], e["via"], e["campaign"]) for e in data["items"]]
    assert actions[:2] == [("campaign_pause", "alice", "test", campaign_id),
                           ("campaign_send", "alice", "test", campaign_id)]
    assert data["count"] == len(data["items"]) and data["pages"] == 1
    paused = ada.get("/audit", {"action": "campaign_pause"}).json()
    assert [e["detail"] for e in paused["items"]] == [{"messages": 2}]
    assert ada.get("/audit", {"actor": "nobody"}).json()["count"] == 0
    later = (timezone.now() + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert ada.get("/audit", {"since": later}).json()["items"] == []
    assert ada.get("/audit", {"until": later, "per_page": 1}).json()["pages"] == data["count"]
    assert "Mari" not in response.content.decode()
    assert_problem(alice.get("/audit"), 403)
    assert_problem(ada.get("/audit", {"per_page": 501}), 422)


# --- SMS --------------------------------------------------------------------------------------------------

def test_measure_an_estonian_text_with_o_tilde(alice: Api) -> None:
    data = alice.post("/sms/measure", {"text": "Tere õhtust"}).json()
    assert (data["encoding"], data["units"], data["part_limit"], len(data["parts"])) == ("UCS-2", 11, 70, 1)
    assert data["forcing"] == [{"position": 5, "character": "õ", "code": "U+00F5",
                                "name": "LATIN SMALL LETTER O WITH TILDE"}]


def test_measure_a_long_gsm_text(alice: Api) -> None:
    data = alice.post("/sms/measure", {"text": "a" * 200}).json()
    assert (data["encoding"], data["units"], data["part_limit"]) == ("GSM-7", 200, 153)
    assert [p["units"] for p in data["parts"]] == [153, 47] and data["forcing"] == []
    assert data["suggestion"] is None


def test_measure_refuses_what_is_no_text(alice: Api) -> None:
    assert_problem(alice.post("/sms/measure", {"text": 5}), 422)
    assert_problem(alice.post("/sms/measure", {"txt": "x"}), 422)


# --- limits -----------------------------------------------------------------------------------------------

def test_the_rate_limit_is_429_with_retry_after(alice: Api, settings: Any) -> None:
    settings.MASSPOST_API_RATE = 1
    settings.MASSPOST_API_BURST = 2
    answers = [alice.get("/me") for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    problem = assert_problem(answers[2], 429)
    assert problem["type"] == "urn:masspost:problem:rate-limited"
    retry = answers[2]["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1


def test_the_rate_limit_is_per_token(alice: Api, bob: Api, settings: Any) -> None:
    settings.MASSPOST_API_RATE = 1
    settings.MASSPOST_API_BURST = 1
    assert alice.get("/me").status_code == 200
    assert_problem(alice.get("/me"), 429)
    assert bob.get("/me").status_code == 200


def test_a_body_too_large_is_413(alice: Api, settings: Any) -> None:
    settings.MASSPOST_API_MAX_BODY = 200
    response = alice.post("/sms/measure", {"text": "a" * 500})
    assert assert_problem(response, 413)["type"] == "urn:masspost:problem:too-large"
    assert alice.post("/sms/measure", {"text": "a"}).status_code == 200
    # Imports have a limit of their own.
    settings.MASSPOST_API_MAX_IMPORT = 100
    body = PATIENTS + "".join(f"N-{i},TLN,Liis,Tamm,et,\n" for i in range(20))
    assert_problem(alice.post("/imports/patients", body, content_type="text/csv"), 413)
    assert not Patient.objects.exists()
    settings.MASSPOST_API_MAX_IMPORT = 100_000
    assert alice.post("/imports/patients", body, content_type="text/csv").status_code == 200


@pytest.mark.parametrize(("path", "params"), [
    ("/campaigns", {"per_page": 101}), ("/campaigns", {"per_page": 0}), ("/campaigns", {"page": 0}),
    ("/patients", {"per_page": 201}), ("/patients", {"page": "x"}), ("/patients", {"q": "x" * 65}),
])
def test_pagination_beyond_the_caps_is_422(alice: Api, path: str, params: dict[str, Any]) -> None:
    problem = assert_problem(alice.get(path, params), 422)
    assert [e["field"] for e in problem["errors"]] == list(params)
    assert all(e["in"] == "query" for e in problem["errors"])


def test_messages_beyond_the_cap_is_422(alice: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    assert_problem(alice.get(f"/campaigns/{campaign_id}/messages", {"limit": 1001}), 422)
    assert alice.get(f"/campaigns/{campaign_id}/messages", {"limit": 1000}).status_code == 200


# --- problems ---------------------------------------------------------------------------------------------

def test_an_unexpected_error_is_a_bare_500(alice: Api, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture,
                                           make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(first_name="Mari")
    message = f"{patient.first_name} {patient.last_name} {patient.phone_e164} broke it"  # as a database error may

    def boom(**kwargs: Any) -> Any:
        raise RuntimeError(message)

    monkeypatch.setattr(campaigns_api, "campaign_list", boom)
    response = alice.get("/campaigns")
    problem = assert_problem(response, 500)
    assert set(problem) == {"type", "title", "status", "detail"}
    assert "Mari" not in response.content.decode() and "RuntimeError" not in response.content.decode()
    assert "RuntimeError" in caplog.text
    assert "Mari" not in caplog.text and patient.phone_e164 not in caplog.text


def test_every_error_is_a_problem(alice: Api, bob: Api, three: list[Patient]) -> None:
    campaign_id = send(alice)
    errors = [
        Api(None).get("/campaigns"),
        Api("mp_nope").post("/campaigns/preview", recall()),
        bob.post(f"/campaigns/{campaign_id}/pause"),
        alice.get("/campaigns/424242"),
        alice.get("/campaigns/abc"),
        alice.get("/campaigns/0"),
        alice.get("/patients", {"clinic": "XXX"}),
        alice.post("/campaigns/preview", {"name": "x"}),
        alice.post("/campaigns/preview", [1, 2]),
        alice.get("/campaigns/preview"),  # a method the path does not take
        alice.client.delete(f"/api/v1/campaigns/{campaign_id}", headers={"Authorization": f"Bearer {alice.token}"}),
        alice.get("/no/such/path"),
        alice.client.get("/api/nothing"),
        alice.get("/campaigns/"),
    ]
    for response in errors:
        assert response.status_code >= 400
        assert response["Content-Type"] == PROBLEM_JSON, (response.status_code, response.content[:200])
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["type"]
        assert "Traceback" not in response.content.decode()
    assert errors[9].status_code == 405 and "POST" in errors[9]["Allow"]
    assert errors[11].status_code == 404


def test_the_schema_documents_the_problems_and_the_import_refusal(db: Any) -> None:
    from django.test import Client

    schema = Client().get("/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert all(isinstance(code, str) for code in responses)
            for code in ("401", "413", "422", "429"):
                assert PROBLEM_JSON in responses[code]["content"], (method, path, code)
            assert "Retry-After" in responses["429"]["headers"]
    imports = schema["paths"]["/api/v1/imports/{kind}"]["post"]["responses"]
    # A refused import's report, or any other problem (a wrong Content-Type, a bad query).
    refs = [part["$ref"] for part in imports["422"]["content"][PROBLEM_JSON]["schema"]["anyOf"]]
    assert refs == ["#/components/schemas/ImportRefused", "#/components/schemas/Problem"]
    listing = schema["paths"]["/api/v1/campaigns/{campaign_id}/recipients.csv"]["get"]["responses"]
    assert "text/csv" in listing["200"]["content"]
