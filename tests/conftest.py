"""Shared fixtures: small hand-built clinic data where the right answer is obvious."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from masspost.clinic.contact import address_status
from masspost.clinic.models import Clinic, Patient, Visit

TALLINN = ZoneInfo("Europe/Tallinn")
_ids = itertools.count(1)


@pytest.fixture
def clinic(db: Any) -> Clinic:
    return Clinic.objects.create(code="TLN", name="Hammas Tallinn", country="EE", time_zone="Europe/Tallinn",
                                 default_language="et", phone="+372 600 1000", email="tallinn@hammas.example",
                                 sms_sender="HammasTLN")


@pytest.fixture
def other_clinic(db: Any) -> Clinic:
    return Clinic.objects.create(code="TRT", name="Hammas Tartu", country="EE", time_zone="Europe/Tallinn",
                                 default_language="et", phone="+372 700 2000", email="tartu@hammas.example",
                                 sms_sender="HammasTRT")


@pytest.fixture
def make_patient(clinic: Clinic) -> Callable[..., Patient]:
    def make(**fields: Any) -> Patient:
        n = next(_ids)
        values: dict[str, Any] = {
            "external_id": f"T{n:05d}", "clinic": clinic, "first_name": "Mari", "last_name": "Maasikas",
            "birth_date": dt.date(1980, 5, 17), "country": "EE", "language": "et",
            "phone": f"5{n:07d}", "phone_e164": f"+3725{n:07d}", "email": f"p{n}@example.com",
            "email_normalized": f"p{n}@example.com", "accepts_sms": True, "accepts_email": True,
            "marketing_sms": True, "marketing_email": True, "status": "active",
        }
        # The legacy keyword (before consent by channel): both channels' marketing.
        if "marketing_consent" in fields:
            both = fields.pop("marketing_consent")
            fields.setdefault("marketing_sms", both)
            fields.setdefault("marketing_email", both)
        values.update(fields)
        values["phone_status"] = address_status(values["phone"], values["phone_e164"])
        values["email_status"] = address_status(values["email"], values["email_normalized"])
        return Patient.objects.create(**values)

    return make


@pytest.fixture
def make_visit() -> Callable[..., Visit]:
    def make(patient: Patient, local: dt.datetime, *, clinic: Clinic | None = None, status: str = "attended") -> Visit:
        clinic = clinic or patient.clinic
        zone = ZoneInfo(clinic.time_zone)
        start = local.replace(tzinfo=zone) if local.tzinfo is None else local
        return Visit.objects.create(patient=patient, clinic=clinic, start=start.astimezone(dt.UTC),
                                    local_date=start.astimezone(zone).date(), status=status)

    return make


def campaign(**overrides: Any) -> dict[str, Any]:
    """A campaign file as a dict; SMS in et/ru/en by default."""
    data: dict[str, Any] = {
        "name": "Test", "purpose": "service", "channel": "sms",
        "audience": {"reference_date": "2026-11-25"},
        "content": {"et": {"sms": "Tere {first_name}!"}, "ru": {"sms": "Привет, {first_name}!"},
                    "en": {"sms": "Hello {first_name}!"}},
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def english_by_default(settings: Any) -> None:
    """Pages asked for without a language come in English in tests (production's default is Estonian); tests of
    the translations ask for their language with the cookie or Accept-Language, as a browser does."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def windows_always_open(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages go whatever the time of day the tests run at: every clinic's window is open and no holiday is
    closed (MASSPOST_SENDING_WINDOWS=always; the production default is "clinics"), in this process and in every
    masspost process a test starts. Tests of the windows set "clinics" themselves, with a frozen clock."""
    settings.MASSPOST_SENDING_WINDOWS = "always"
    monkeypatch.setenv("MASSPOST_SENDING_WINDOWS", "always")


@pytest.fixture(autouse=True)
def own_secret_key(settings: Any) -> None:
    """A secret key of the installation's own, not the public development key: with that key masspost writes no
    unsubscribe link on a host others can reach (delivery.optout.optout_links_problem), and the tests' public URLs
    (https://….example) are such hosts. Tests of the development key set it themselves."""
    settings.SECRET_KEY = "test-secret-key-not-the-development-one"
