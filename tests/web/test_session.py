"""A session's limits under a controlled clock: it ends 8 hours after signing in whatever happens in between
(requests every few minutes do not move it), and after an hour without a request, as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from masspost.web import middleware
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOUR = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(middleware, "clock", fake)
    return fake


def signed_in(client: Client) -> bool:
    response = client.get("/bulk/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_eight_hours_after_signing_in_the_session_ends_however_busy(clock: Clock, alice: Client) -> None:
    client = Client()
    assert client.post("/sign-in/", {"username": "alice", "password": PASSWORD}).status_code == 302
    start = clock.now
    while clock.now + 20 * 60 < start + 8 * HOUR:
        clock.now += 20 * 60  # a request every 20 minutes: never idle
        assert signed_in(client), (clock.now - start) / HOUR
    clock.now = start + 8 * HOUR - 1
    assert signed_in(client)
    clock.now = start + 8 * HOUR
    response = client.get("/bulk/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    assert not signed_in(client)  # for good
    # Signing in again starts a new 8 hours.
    assert client.post("/sign-in/", {"username": "alice", "password": PASSWORD}).status_code == 302
    clock.now += 7 * HOUR
    client.get("/campaigns/")
    clock.now += 50 * 60
    assert signed_in(client)


def test_the_eight_hours_count_from_the_first_request_of_a_session_signed_in_before(clock: Clock,
                                                                                    alice: Client) -> None:
    assert signed_in(alice)  # force_login: no sign-in request; the first request starts the 8 hours
    for _ in range(16):
        clock.now += 30 * 60
        alice.get("/campaigns/")
    assert not signed_in(alice)


def test_an_hour_idle_still_ends_the_session(clock: Clock, alice: Client, settings: Any) -> None:
    assert signed_in(alice)
    clock.now += settings.MASSPOST_SESSION_IDLE - 30
    assert signed_in(alice)
    clock.now += settings.MASSPOST_SESSION_IDLE + 1
    assert not signed_in(alice)
