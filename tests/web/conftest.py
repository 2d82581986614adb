"""Web fixtures: healthchecks' alice / bob / charlie. Alice sends for Tallinn, Bob prepares for Tallinn,
Charlie sends for Tartu, Ada administers Tallinn."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Clinic, Patient, Visit
from masspost.clinic.scope import Scope
from masspost.staff.services import staff_add

PASSWORD = "correct horse battery"


@pytest.fixture
def make_staff(db: Any) -> Callable[..., Client]:
    def make(username: str, role: str, *clinics: Clinic, language: str = "en") -> Client:
        member = staff_add(username=username, password=PASSWORD, clinics=[c.code for c in clinics], role=role,
                           scope=Scope.operator())
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(member.user)
        return client

    return make


@pytest.fixture
def alice(make_staff: Callable[..., Client], clinic: Clinic) -> Client:
    return make_staff("alice", "sender", clinic)


@pytest.fixture
def bob(make_staff: Callable[..., Client], clinic: Clinic) -> Client:
    return make_staff("bob", "preparer", clinic)


@pytest.fixture
def charlie(make_staff: Callable[..., Client], other_clinic: Clinic) -> Client:
    return make_staff("charlie", "sender", other_clinic)


@pytest.fixture
def ada(make_staff: Callable[..., Client], clinic: Clinic) -> Client:
    return make_staff("ada", "admin", clinic)


def form_data(**overrides: Any) -> dict[str, Any]:
    """The Bulk Mail form as a browser posts it: an SMS recall in Estonian."""
    data: dict[str, Any] = {"name": "Recall", "channel": "sms", "purpose": "service", "fallback_language": "",
                            "clinics": [], "age_min": "", "age_max": "", "countries": "", "visited_from": "",
                            "visited_to": "", "not_visited_from": "", "not_visited_to": "",
                            "sms_et": "Tere {first_name}! Aeg kontrolli.", "subject_et": "", "body_et": ""}
    data.update(overrides)
    return data


@pytest.fixture
def patients(clinic: Clinic, other_clinic: Clinic, make_patient: Callable[..., Patient],
             make_visit: Callable[..., Visit]) -> dict[str, Patient]:
    """Tallinn: five active patients (two Russian-speaking, one without a phone, one who refuses SMS) and one
    archived; Tartu: two. Mari had a visit in March 2024."""
    made = {
        "mari": make_patient(first_name="Mari", birth_date=dt.date(1980, 5, 17)),
        "ivan": make_patient(first_name="Ivan", last_name="Ivanov", language="ru", birth_date=dt.date(1990, 1, 2)),
        "olga": make_patient(first_name="Olga", last_name="Petrova", language="ru", country="FI",
                             birth_date=dt.date(1950, 8, 1)),
        "anna": make_patient(first_name="Anna", phone="", phone_e164=""),
        "jaan": make_patient(first_name="Jaan", accepts_sms=False),
        "archived": make_patient(first_name="Arhiiv", status="archived"),
        "tiit": make_patient(first_name="Tiit", clinic=other_clinic),
        "pavel": make_patient(first_name="Pavel", language="ru", clinic=other_clinic),
    }
    make_visit(made["mari"], dt.datetime(2024, 3, 10, 10, 0))
    return made


def preview(client: Client, **overrides: Any) -> Any:
    """POST the form to the preview; returns the response (its context holds `p`, the preview's data)."""
    return client.post("/bulk/preview/", form_data(**overrides))


def token_of(response: Any) -> str:
    return str(response.context["p"]["token"])


@pytest.fixture
def tln_campaign(alice: Client, patients: dict[str, Patient]) -> int:
    """A campaign Alice sent to Tallinn's patients through the screens: its id."""
    response = preview(alice, name="Tallinn recall", sms_ru="Привет, {first_name}!")
    sent = alice.post("/bulk/send/", {"token": token_of(response)})
    assert sent.status_code == 302, sent
    return int(sent["Location"].rstrip("/").rsplit("/", 1)[-1])


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """What the configured `django.request` handler writes (settings.LOGGING), captured."""
    handler = next(h for h in logging.getLogger("django.request").handlers if h.get_name() == "stderr_frames")
    captured = io.StringIO()
    before = handler.setStream(captured)
    yield captured
    handler.setStream(before)  # type: ignore[arg-type]
