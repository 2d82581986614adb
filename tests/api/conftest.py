"""API fixtures: a token per member of staff, and a client that sends it. As in tests/web: Alice sends for
Tallinn, Bob prepares for Tallinn, Charlie sends for Tartu, Ada administers Tallinn."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create

PASSWORD = "correct horse battery"


class Api:
    """The Django test client with a bearer token and JSON bodies: `api.post("/campaigns", {...})`."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.client = Client()

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return out | (headers or {})

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, *, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body) if content_type == "application/json" and body is not None else body
        return self.client.post("/api/v1" + path, data if data is not None else "", content_type=content_type,
                                headers=self._headers(headers))


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    settings.MASSPOST_API_RATE = 0  # the rate limit's own tests set it


@pytest.fixture
def make_api(db: Any) -> Callable[..., Api]:
    def make(username: str, role: str, *clinics: Clinic) -> Api:
        staff_add(username=username, password=PASSWORD, clinics=[c.code for c in clinics], role=role,
                  scope=Scope.operator())
        return Api(token_create(scope=Scope.operator(), username=username, name="test").secret)

    return make


@pytest.fixture
def alice(make_api: Callable[..., Api], clinic: Clinic) -> Api:
    return make_api("alice", "sender", clinic)


@pytest.fixture
def bob(make_api: Callable[..., Api], clinic: Clinic) -> Api:
    return make_api("bob", "preparer", clinic)


@pytest.fixture
def charlie(make_api: Callable[..., Api], other_clinic: Clinic) -> Api:
    return make_api("charlie", "sender", other_clinic)


@pytest.fixture
def ada(make_api: Callable[..., Api], clinic: Clinic) -> Api:
    return make_api("ada", "admin", clinic)


def recall(**overrides: Any) -> dict[str, Any]:
    """An SMS recall in Estonian and Russian, as a campaign file has it."""
    campaign: dict[str, Any] = {"name": "Recall", "channel": "sms",
                                "content": {"et": {"sms": "Tere {first_name}! Aeg kontrolliks."},
                                            "ru": {"sms": "Здравствуйте, {first_name}!"}}}
    campaign.update(overrides)
    return campaign
