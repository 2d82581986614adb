"""Free text in a query or a path — a name, a code, an id, a prefix, a cursor — with a NUL or another control
character is refused with a 422 naming the parameter, before any query: PostgreSQL refuses a NUL in a query's
text (that was a 500 there; SQLite takes it), so the rule is the API's own and holds on both (issue 16, point 5).
A campaign's texts are held to the same in the preview (test_campaign_text_rule)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Patient
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db
PROBLEM_JSON = "application/problem+json"


def refused(response: Any, name: str) -> None:
    assert response.status_code == 422, response.content[:300]
    assert response["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert [(e["field"], e["in"]) for e in problem["errors"]] == [(name, "query" if name != "external_id" else
                                                                    "path")]
    assert name in problem["detail"] and "control character U+0000" in problem["detail"]


@pytest.mark.parametrize(("path", "name"), [("/audit", "actor"), ("/audit", "action"), ("/patients", "q"),
                                            ("/patients", "clinic"), ("/messages", "patient")])
def test_a_nul_in_a_query_text_is_422_naming_it(ada: Api, path: str, name: str) -> None:
    refused(ada.get(path, {name: "T1\x00"}), name)


def test_a_nul_in_a_campaigns_messages_cursor_is_422(alice: Api) -> None:
    refused(alice.get("/campaigns/1/messages", {"after": "\x00"}), "after")


@pytest.mark.parametrize("path", ["/patients/T1%00", "/patients/%00/consents", "/patients/%00/consent"])
def test_a_nul_in_a_patients_external_id_is_422(alice: Api, make_patient: Any, path: str) -> None:
    refused(alice.get(path), "external_id")


def test_a_line_break_in_a_query_text_is_refused_too(ada: Api) -> None:
    response = ada.get("/audit", {"actor": "ada\nforged"})
    assert response.status_code == 422 and "line break at character 4" in response.json()["detail"]


def test_plain_text_still_finds(alice: Api, make_patient: Any) -> None:
    patient: Patient = make_patient(first_name="Mari")
    found = alice.get("/patients", {"q": patient.external_id})
    assert [p["external_id"] for p in found.json()["items"]] == [patient.external_id]
    assert alice.get("/messages", {"patient": patient.external_id}).status_code == 200
    assert alice.get("/messages", {"patient": "NOBODY"}).status_code == 404


def test_every_text_parameter_of_the_served_schema_has_a_length_limit() -> None:
    schema = Client().get("/api/openapi.json").json()
    unlimited = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                parts = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
                texts = [p for p in parts if p.get("type") == "string" and "enum" not in p and "format" not in p]
                if parameter["in"] in ("query", "path") and texts and not all("maxLength" in p for p in texts):
                    unlimited.append((method, path, parameter["name"]))
    assert unlimited == []
