"""Who reaches what, swept over every operation of the live schema: a token reaches exactly what its user reaches
in the UI. No token, a malformed, unknown or revoked one, or a disabled user's: 401. Another clinic's campaign:
404, the same as one that does not exist. A preparer: 403 for the send, the controls and imports, and nothing
changes; everything else they may."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.models import AuditEvent, Campaign
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
         ("post", "/api/v1/campaigns/{campaign_id}/resend-unknown")}
IMPORTS = {("post", "/api/v1/imports/{kind}")}
ADMIN_ONLY = {("get", "/api/v1/audit")}
RECORDS = {("post", "/api/v1/patients/{external_id}/consents")}  # consent recorded by staff: sender and admin
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
        path = self.path + ("?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else "")
        return api.post(path, self.body, content_type=self.content_type, headers=self.headers)


def calls(*, campaign_id: int, token: str, patient: str = "T00000") -> dict[tuple[str, str], Call]:
    """A valid request per operation, keyed as the schema has them; `token`: a preview's, for the send;
    `patient`: an external id, for a patient's messages."""
    c = f"/campaigns/{campaign_id}"
    return {
        ("get", "/api/v1/me"): Call("get", "/me"),
        ("get", "/api/v1/clinics"): Call("get", "/clinics"),
        ("get", "/api/v1/patients"): Call("get", "/patients", query={"clinic": "TLN"}),
        ("get", "/api/v1/patients/{external_id}"): Call("get", f"/patients/{patient}"),
        ("get", "/api/v1/patients/{external_id}/consents"): Call("get", f"/patients/{patient}/consents"),
        ("post", "/api/v1/patients/{external_id}/consents"): Call("post", f"/patients/{patient}/consents",
                                                                  {"channel": "sms", "accepts": True,
                                                                   "method": "phone"}),
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

    def calls(self, campaign_id: int | None = None) -> dict[tuple[str, str], Call]:
        return calls(campaign_id=self.campaign_id if campaign_id is None else campaign_id, token=self.token,
                     patient=self.patient)


@pytest.fixture
def world(alice: Api, make_patient: Callable[..., Patient]) -> World:
    """A sent Tallinn campaign (Alice's) with two queued messages, and a fresh preview token."""
    mari = make_patient(first_name="Mari")
    make_patient(first_name="Ivan", language="ru")
    token = alice.post("/campaigns/preview", recall()).json()["token"]
    sent = alice.post("/campaigns", {"campaign": recall(), "token": token}, headers={"Idempotency-Key": "world"})
    assert sent.status_code == 201, sent.content
    return World(campaign_id=sent.json()["campaign"], token=token, patient=mari.external_id)


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
    assert len(operations) == 8
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
        if key not in SENDS | IMPORTS | ADMIN_ONLY | RECORDS:
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
