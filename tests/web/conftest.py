"""Web fixtures: healthchecks' alice / bob / charlie. Alice sends for Tallinn, Bob prepares for Tallinn,
Charlie sends for Tartu, Ada administers Tallinn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Clinic
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
