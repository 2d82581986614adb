"""The API's campaign (issue 17, points 3 and 10): a template error keeps its English `detail` and carries a stable
`code` with its values, for a client that says it in its own words; visit periods are absolute dates, as always,
or the last N months."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from masspost.clinic.models import Clinic, Patient, Visit
from masspost.content import MERGE_FIELDS
from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


ALLOWED = "(allowed: {first_name}, {last_name}, {clinic_name}, {clinic_phone})"


@pytest.mark.parametrize(("sms", "code", "field", "detail"), [
    ("Tere {eesnimi}!", "unknown_field", "eesnimi", f"unknown merge field '{{eesnimi}}' {ALLOWED}"),
    ("Tere {first_name!r}!", "not_a_field_name", "first_name!r",
     f"merge field '{{first_name!r}}' is not a plain name {ALLOWED}"),
    ("Tere {}!", "empty_field", "", "empty merge field '{}'"),
    ("Tere {first_name", "unclosed_brace", "", "'{' is not closed (write '{{' for a literal brace)"),
    ("Tere }", "unopened_brace", "", "'}' without '{' (write '}}' for a literal brace)"),
])
def test_a_template_error_has_a_stable_code_and_its_values(alice: Api, sms: str, code: str, field: str,
                                                           detail: str) -> None:
    response = alice.post("/campaigns/preview", recall(content={"et": {"sms": sms}}))
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:masspost:problem:invalid-campaign"
    # the English sentence, word for word as before the codes came: a client that reads it still can
    assert problem["detail"] == f"content.et SMS: position 6: {detail}"
    assert problem["code"] == code
    assert problem["params"] == {"position": 6, "field": field,
                                 "allowed": list(MERGE_FIELDS)}
    assert problem["errors"][0]["code"] == code


def test_other_campaign_errors_have_no_template_code(alice: Api) -> None:
    problem = alice.post("/campaigns/preview", recall(channel="fax")).json()
    assert "code" not in problem


@pytest.fixture
def visited(clinic: Clinic, make_patient: Callable[..., Patient], make_visit: Callable[..., Visit]) -> Patient:
    today = dt.date.today()
    patient = make_patient(first_name="Mari")
    make_visit(patient, dt.datetime(today.year, today.month, 1, 10, 0) - dt.timedelta(days=40))
    make_patient(first_name="Jaan")
    return patient


@pytest.mark.parametrize(("audience", "patients"), [
    ({"visited": {"last_months": 6}}, 1),
    ({"not_visited": {"last_months": 6}}, 1),
    ({"visited": {"from": "2000-01-01", "to": "2001-12-31"}}, 0),  # absolute dates, as before
    ({"not_visited": {"from": "2000-01-01", "to": "2099-12-31"}}, 1),
])
def test_visit_periods_absolute_or_relative(alice: Api, visited: Patient, audience: dict[str, Any],
                                            patients: int) -> None:
    response = alice.post("/campaigns/counts", recall(audience=audience))
    assert response.status_code == 200, response.content[:300]
    assert response.json()["audience"]["patients"] == patients


@pytest.mark.parametrize(("period", "message"), [
    ({"last_months": 0}, "last_months"),
    ({"last_months": 241}, "last_months"),
    ({"last_months": 12, "from": "2024-01-01"}, "not_visited"),
    ({"last_months": 1.5}, "last_months"),
])
def test_a_bad_relative_period_is_422_naming_it(alice: Api, period: dict[str, Any], message: str) -> None:
    response = alice.post("/campaigns/preview", recall(audience={"not_visited": period}))
    assert response.status_code == 422
    assert message in response.content.decode()
