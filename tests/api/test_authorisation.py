"""Who reaches what, swept over every operation of the live schema: a token reaches exactly what its user reaches
in the UI. No token, a malformed, unknown or revoked one, or a disabled user's: 401. Another clinic's campaign:
404, the same as one that does not exist. A preparer: 403 for the send, the controls and imports, and nothing
changes; everything else they may. And crafted values in every query and path parameter of every operation
(times out of UTC's range, "²", numbers too big for the database): a 4xx problem, never a 5xx."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from masspost.campaigns.models import AuditEvent, Campaign, ImportJob
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.staff.services import staff_disable
from masspost.staff.tokens import token_revoke
from tests.api.conftest import Api, recall

PROBLEM_JSON = "application/problem+json"
CAMPAIGN_PATH = "/api/v1/campaigns/{campaign_id}"
SENDS = {("post", "/api/v1/campaigns"), ("post", "/api/v1/campaigns/{campaign_id}/pause"),
         ("post", "/api/v1/campaigns/{campaign_id}/resume"), ("post", "/api/v1/campaigns/{campaign_id}/cancel"),
         ("post", "/api/v1/campaigns/{campaign_id}/resend-unknown"),
         ("post", "/api/v1/campaigns/{campaign_id}/approve"), ("post", "/api/v1/campaigns/{campaign_id}/reject"),
         ("post", "/api/v1/campaigns/{campaign_id}/reschedule")}
# Alice's campaign, sent at once: it waits for no approval and has started (409 with a code).
CONFLICTS = {("post", "/api/v1/campaigns/{campaign_id}/approve"): "not_pending",
             ("post", "/api/v1/campaigns/{campaign_id}/reject"): "not_pending",
             ("post", "/api/v1/campaigns/{campaign_id}/reschedule"): "started"}
IMPORTS = {("post", "/api/v1/imports/{kind}")}
ADMIN_ONLY = {("get", "/api/v1/audit"), ("patch", "/api/v1/clinics/{code}")}
RECORDS = {("post", "/api/v1/patients/{external_id}/consents")}  # consent recorded by staff: sender and admin
OWN = {("get", "/api/v1/imports/jobs/{job_id}")}  # the user's own (an import job): anyone else's is 404
NO_SUCH_CAMPAIGN = 987_654_321


@dataclass(frozen=True)
class Call:
    """One concrete request for an operation of the schema."""

    method: str
    path: str  # under /api/v1
    body: Any = None
    content_type: str = "application/json"
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, api: Api) -> Any:
        if self.method == "get":
            return api.get(self.path, self.query, **self.headers)
        if self.method == "patch":
            path = self.path + ("?" + urllib.parse.urlencode(self.query) if self.query else "")
            return api.client.patch("/api/v1" + path, json.dumps(self.body), content_type=self.content_type,
                                    headers=api._headers(self.headers))
        path = self.path + ("?" + urllib.parse.urlencode(self.query) if self.query else "")
        return api.post(path, self.body, content_type=self.content_type, headers=self.headers)


def calls(*, campaign_id: int, token: str, patient: str = "T00000", job: int = 0) -> dict[tuple[str, str], Call]:
    """A valid request per operation, keyed as the schema has them; `token`: a preview's, for the send;
    `patient`: an external id, for a patient's messages."""
    c = f"/campaigns/{campaign_id}"
    return {
        ("get", "/api/v1/me"): Call("get", "/me"),
        ("patch", "/api/v1/me"): Call("patch", "/me", {"phone": "+372 5555 0000"}),
        ("get", "/api/v1/clinics"): Call("get", "/clinics"),
        ("patch", "/api/v1/clinics/{code}"): Call("patch", "/clinics/TLN", {"holidays": False}),
        ("get", "/api/v1/approvals"): Call("get", "/approvals"),
        ("post", "/api/v1/campaigns/test"): Call("post", "/campaigns/test", {"campaign": recall(), "token": token}),
        ("get", "/api/v1/patients"): Call("get", "/patients", query={"clinic": "TLN"}),
        ("get", "/api/v1/patients/{external_id}"): Call("get", f"/patients/{patient}"),
        ("get", "/api/v1/patients/{external_id}/consents"): Call("get", f"/patients/{patient}/consents"),
        ("get", "/api/v1/patients/{external_id}/consent"): Call("get", f"/patients/{patient}/consent"),
        ("post", "/api/v1/patients/{external_id}/consents"): Call("post", f"/patients/{patient}/consents",
                                                                  {"channel": "sms", "accepts": True,
                                                                   "method": "phone"}),
        ("get", "/api/v1/imports/jobs/{job_id}"): Call("get", f"/imports/jobs/{job}"),
        ("post", "/api/v1/imports/{kind}"): Call("post", "/imports/patients", content_type="text/csv",
                                                 body="external_id,clinic,first_name,language\nN-1,TLN,Liis,et\n"),
        ("post", "/api/v1/campaigns/preview"): Call("post", "/campaigns/preview", recall()),
        ("post", "/api/v1/campaigns/preview/{kind}.csv"): Call("post", "/campaigns/preview/recipients.csv", recall()),
        ("post", "/api/v1/campaigns/counts"): Call("post", "/campaigns/counts", recall()),
        ("post", "/api/v1/campaigns"): Call("post", "/campaigns", {"campaign": recall(), "token": token},
                                            headers={"Idempotency-Key": "sweep"}),
        ("get", "/api/v1/campaigns"): Call("get", "/campaigns"),
        ("get", CAMPAIGN_PATH): Call("get", c),
        ("get", CAMPAIGN_PATH + "/messages"): Call("get", c + "/messages"),
        ("get", CAMPAIGN_PATH + "/recipients.csv"): Call("get", c + "/recipients.csv"),
        ("get", CAMPAIGN_PATH + "/excluded.csv"): Call("get", c + "/excluded.csv"),
        ("post", CAMPAIGN_PATH + "/pause"): Call("post", c + "/pause"),
        ("post", CAMPAIGN_PATH + "/resume"): Call("post", c + "/resume"),
        ("post", CAMPAIGN_PATH + "/resend-unknown"): Call("post", c + "/resend-unknown"),
        ("post", CAMPAIGN_PATH + "/approve"): Call("post", c + "/approve"),
        ("post", CAMPAIGN_PATH + "/reject"): Call("post", c + "/reject"),
        ("post", CAMPAIGN_PATH + "/reschedule"): Call("post", c + "/reschedule", {"send_at": None}),
        ("post", CAMPAIGN_PATH + "/cancel"): Call("post", c + "/cancel"),  # last: it is final
        ("post", "/api/v1/sms/measure"): Call("post", "/sms/measure", {"text": "Tere!"}),
        ("get", "/api/v1/messages"): Call("get", "/messages", query={"patient": patient}),
        ("get", "/api/v1/audit"): Call("get", "/audit"),
    }


def schema_operations() -> set[tuple[str, str]]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return {(method, path) for path, methods in response.json()["paths"].items() for method in methods}


@dataclass
class World:
    campaign_id: int
    token: str  # a preview's, still fresh
    patient: str  # the external id of one of the campaign's recipients
    job: int = 0  # an import job of Alice's (issue 16): hers alone, like a campaign of her clinic's

    def calls(self, campaign_id: int | None = None) -> dict[tuple[str, str], Call]:
        return calls(campaign_id=self.campaign_id if campaign_id is None else campaign_id, token=self.token,
                     patient=self.patient, job=self.job)


@pytest.fixture
def world(alice: Api, make_patient: Callable[..., Patient], settings: Any) -> World:
    """A sent Tallinn campaign (Alice's) with a queued message and one whose fate is unknown — so that every
    control applies (a control that does not apply is a 409: tests/api/test_controls.py) — and a fresh preview
    token."""
    settings.MASSPOST_SMS_URL = "memory:sweep"  # POST /campaigns/test sends to the user's own phone (PATCH /me)
    mari = make_patient(first_name="Mari")
    make_patient(first_name="Ivan", language="ru")
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    sent = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "world"})
    assert sent.status_code == 201, sent.content
    campaign_id = sent.json()["campaign"]
    first = OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id").values_list("id", flat=True)[0]
    OutboxMessage.objects.filter(id=first).update(status="unknown")
    job = ImportJob.objects.create(kind="patients", user=User.objects.get(username="alice"), status="done")
    return World(campaign_id=campaign_id, token=token, patient=mari.external_id, job=job.id)


def state() -> tuple[Any, ...]:
    """Everything a send, a control, an import or a consent recorded by staff could change."""
    return (list(Campaign.objects.order_by("id").values_list("id", "state", "messages")),
            list(OutboxMessage.objects.order_by("id").values_list("id", "status")),
            list(Patient.objects.order_by("id").values_list("external_id", "first_name")),
            sorted(AuditEvent.objects.exclude(action="export").values_list("action", flat=True)),
            list(ConsentEvent.objects.order_by("id").values_list("patient_id", "channel", "accepts")))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:masspost:problem:") and body["title"]
    return body


def test_the_table_covers_every_operation_of_the_schema(world: World) -> None:
    assert set(world.calls()) == schema_operations()


def test_alice_may_do_every_operation_but_an_admins(world: World, alice: Api) -> None:
    for key, call in world.calls().items():
        response = call.send(alice)
        if key in ADMIN_ONLY:
            assert "sender" in assert_problem(response, 403)["detail"], key
        elif key in CONFLICTS:
            assert assert_problem(response, 409)["code"] == CONFLICTS[key], key
        else:
            assert 200 <= response.status_code < 300, (key, response.status_code, response.content[:300])


def test_an_admin_may_read_the_audit_log(world: World, ada: Api) -> None:
    for key in ADMIN_ONLY:
        response = world.calls()[key].send(ada)
        assert response.status_code == 200, (key, response.content[:300])


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer ", "Bearer not-a-token", "Basic YWxpY2U6cHc=",
                                           "Bearer mp_" + "x" * 43, "bearer mp_", "Bearer " + "mp_" + "y" * 500])
def test_no_token_or_not_a_token_is_401_everywhere(world: World, authorization: str | None) -> None:
    api = Api(None)
    before = state()
    for key, call in world.calls().items():
        headers = dict(call.headers) | ({"Authorization": authorization} if authorization is not None else {})
        response = Call(call.method, call.path, call.body, call.content_type, call.query, headers).send(api)
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer"), key
    assert state() == before


def test_a_revoked_token_is_401_everywhere(world: World, alice: Api) -> None:
    token_revoke(scope=Scope.operator(), username="alice", name="test")
    before = state()
    for call in world.calls().values():
        assert_problem(call.send(alice), 401)
    assert state() == before


def test_a_disabled_users_token_is_401_everywhere(world: World, alice: Api) -> None:
    staff_disable(username="alice", scope=Scope.operator())
    before = state()
    for call in world.calls().values():
        assert_problem(call.send(alice), 401)
    assert state() == before


def test_the_401s_are_all_alike(world: World, alice: Api) -> None:
    """No token, an unknown one and a revoked one cannot be told apart."""
    call = world.calls()[("get", "/api/v1/campaigns")]
    unknown = call.send(Api("mp_" + "z" * 43)).json()
    none = call.send(Api(None)).json()
    token_revoke(scope=Scope.operator(), username="alice", name="test")
    assert call.send(alice).json() == unknown == none


def _normalised(response: Any, campaign_id: int) -> str:
    return response.content.decode().replace(str(campaign_id), "ID")


def test_another_clinics_campaign_is_404_as_one_that_does_not_exist(world: World, charlie: Api) -> None:
    before = state()
    operations = [key for key in world.calls() if key[1].startswith(CAMPAIGN_PATH)]
    assert len(operations) == 11
    theirs, missing = world.calls(), world.calls(NO_SUCH_CAMPAIGN)
    for key in operations:
        hidden = theirs[key].send(charlie)
        absent = missing[key].send(charlie)
        assert_problem(hidden, 404)
        assert_problem(absent, 404)
        assert _normalised(hidden, world.campaign_id) == _normalised(absent, NO_SUCH_CAMPAIGN), key
        assert "Tere" not in hidden.content.decode() and "Mari" not in hidden.content.decode()
    assert state() == before


def test_another_clinics_patient_is_404_as_one_that_does_not_exist(world: World, charlie: Api) -> None:
    hidden = charlie.get("/messages", {"patient": world.patient})
    absent = charlie.get("/messages", {"patient": "NOBODY"})
    assert assert_problem(hidden, 404)["detail"].replace(world.patient, "ID") == \
        assert_problem(absent, 404)["detail"].replace("NOBODY", "ID")
    assert "Mari" not in hidden.content.decode()


def test_another_clinics_campaigns_are_not_listed(world: World, charlie: Api) -> None:
    listed = charlie.get("/campaigns").json()
    assert (listed["items"], listed["count"]) == ([], 0)
    assert [c["code"] for c in charlie.get("/clinics").json()] == ["TRT"]
    assert charlie.get("/me").json()["clinics"] == ["TRT"]


def test_a_preparer_may_not_send_control_or_import_and_nothing_changes(world: World, bob: Api) -> None:
    before = state()
    for key, call in world.calls().items():
        if key in SENDS | IMPORTS | ADMIN_ONLY | RECORDS:
            body = assert_problem(call.send(bob), 403)
            assert "preparer" in body["detail"], key
    assert state() == before


def test_a_preparer_may_preview_and_read(world: World, bob: Api) -> None:
    for key, call in world.calls().items():
        if key in OWN:
            assert_problem(call.send(bob), 404)  # Alice's job
        elif key not in SENDS | IMPORTS | ADMIN_ONLY | RECORDS:
            response = call.send(bob)
            assert response.status_code == 200, (key, response.status_code, response.content[:300])


def test_a_preparer_sees_no_names_or_contacts_a_sender_does(world: World, alice: Api, bob: Api) -> None:
    hidden = ("first_name", "last_name", "birth_date", "phone", "email")
    for item in bob.get("/patients").json()["items"]:
        assert all(item[k] is None for k in hidden), item
        assert item["external_id"] and item["phone_status"] == "valid"
    seen = alice.get("/patients").json()["items"]
    assert len(seen) == 2
    assert {item["first_name"] for item in seen} == {"Mari", "Ivan"}
    assert all(item["phone"].startswith("+372") and item["email"] and item["birth_date"] for item in seen)


def test_charlie_never_sees_tallinns_patients(world: World, charlie: Api, other_clinic: Clinic,
                                             make_patient: Callable[..., Patient]) -> None:
    make_patient(clinic=other_clinic, first_name="Tiit")
    tallinn = list(Patient.objects.filter(clinic__code="TLN").values_list("external_id", flat=True))
    listed = charlie.get("/patients", {"per_page": 200}).json()
    assert [item["clinic"] for item in listed["items"]] == ["TRT"] and listed["count"] == 1
    for ref in tallinn:
        assert charlie.get("/patients", {"q": ref}).json()["items"] == []
    hidden = assert_problem(charlie.get("/patients", {"clinic": "TLN"}), 404)
    absent = assert_problem(charlie.get("/patients", {"clinic": "XXX"}), 404)
    assert json.dumps(hidden).replace("TLN", "?") == json.dumps(absent).replace("XXX", "?")
    assert "Mari" not in json.dumps(hidden)


def test_charlie_cannot_preview_or_import_into_tallinn(world: World, charlie: Api) -> None:
    preview = charlie.post("/campaigns/preview", recall(audience={"clinics": ["TLN"]}))
    assert preview.status_code == 422 and preview["Content-Type"] == PROBLEM_JSON
    before = state()
    refused = charlie.post("/imports/patients", "external_id,clinic\nX-1,TLN\n", content_type="text/csv")
    assert refused.status_code == 422 and refused.json()["written"] is False
    assert state()[:3] == before[:3]


# --- crafted parameters ---------------------------------------------------------------------------------------
CRAFTED_TIMES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"]  # past UTC's year 9999, before year 1
CRAFTED = [*CRAFTED_TIMES, "9999-12-31T23:59:59", "0000-01-01T00:00:00Z", "9999-12-31", "²", "１", "1e999",
           "9" * 30, "-" + "9" * 30, str(2**63), "NaN", "\u202e1", "%",
           base64.urlsafe_b64encode(b"m" + b"9" * 20).decode().rstrip("=")]  # a cursor past 2**63
CRAFTED_TEXTS = ["\x00", "T0\x00", "a\nb"]  # PostgreSQL refuses a NUL in a query's text (it was a 500 there)
CRAFTED += CRAFTED_TEXTS


def parameters(operation: tuple[str, str]) -> list[dict[str, Any]]:
    method, path = operation
    schema = Client().get("/api/openapi.json").json()
    return [p for p in schema["paths"][path][method].get("parameters", []) if p["in"] in ("query", "path")]


def is_time(parameter: dict[str, Any]) -> bool:
    schema = parameter["schema"]
    return any(s.get("format") == "date-time" for s in [schema, *schema.get("anyOf", [])])


def is_integer(parameter: dict[str, Any]) -> bool:
    schema = parameter["schema"]
    return any(s.get("type") == "integer" for s in [schema, *schema.get("anyOf", [])])


def test_crafted_values_in_every_parameter_are_a_4xx_never_a_5xx(world: World, alice: Api, ada: Api) -> None:
    """Each crafted value in each query and path parameter of every operation of the served schema, the rest of
    the request valid: a problem+json 4xx (a time UTC cannot hold, a number that is not 0-9 digits within the
    parameter's range and a text with a NUL or a line break: 422, before any query — on SQLite as on PostgreSQL,
    which would refuse the NUL with a 500), or a 2xx for a value the parameter takes as text."""
    swept = 0
    for key, call in world.calls().items():
        api = ada if key in ADMIN_ONLY else alice
        for parameter in parameters(key):
            name = parameter["name"]
            for value in CRAFTED:
                if parameter["in"] == "query":
                    crafted = Call(call.method, call.path, call.body, call.content_type, call.query | {name: value},
                                   call.headers)
                else:
                    concrete = {"campaign_id": str(world.campaign_id), "external_id": world.patient,
                                "job_id": str(world.job), "code": "TLN",
                                "kind": "recipients" if key[1].endswith("{kind}.csv") else "patients",
                                name: urllib.parse.quote(value, safe="")}
                    path = key[1].removeprefix("/api/v1")
                    for slot, filled in concrete.items():
                        path = path.replace("{" + slot + "}", filled)
                    crafted = Call(call.method, path, call.body, call.content_type, call.query, call.headers)
                response = crafted.send(api)
                swept += 1
                where = (key, name, value, response.status_code, response.content[:200])
                assert response.status_code < 500, where
                if response.status_code >= 400 and response.status_code != 405:
                    assert response["Content-Type"] == PROBLEM_JSON, where
                if is_time(parameter) and value in CRAFTED_TIMES:
                    assert response.status_code == 422, where
                    assert "out of range" in response.json()["detail"] and name in response.json()["detail"], where
                if is_integer(parameter) and value in ("²", "１", "9" * 30, str(2**63)):
                    assert response.status_code in (404, 422), where
                if value in CRAFTED_TEXTS:
                    assert response.status_code == 422, where
                    assert name in response.json()["detail"], where
    assert swept > 300


def test_an_offset_time_at_the_edge_of_utc_is_taken(world: World, alice: Api, ada: Api) -> None:
    messages = f"/campaigns/{world.campaign_id}/messages"
    assert alice.get(messages, {"changed_since": "0001-01-01T05:00:00+05:00"}).json()["items"]
    assert alice.get(messages, {"changed_since": "9999-12-31T18:59:59-05:00"}).json()["items"] == []
    assert ada.get("/audit", {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}).status_code == 200
    naive = ada.get("/audit", {"until": "9999-12-31T23:59:59"})  # no offset: UTC
    assert naive.status_code == 200 and naive.json()["count"] > 0
