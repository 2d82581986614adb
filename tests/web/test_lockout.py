"""The sign-in lockout behind the documented reverse proxy: django-axes counts failures per user name and the
client's address — the audit log's (masspost.http.client_address, MASSPOST_TRUSTED_PROXIES) — so one client's
failures never lock a user name for everyone else behind the same proxy, and a client that is not our proxy
cannot dodge its lockout by writing X-Forwarded-For itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "wrong horse battery"
PROXY = "127.0.0.1"
CLIENT_A, CLIENT_B = "198.51.100.4", "198.51.100.5"


@pytest.fixture
def dora(make_staff: Callable[..., Client], clinic: Clinic, settings: Any) -> str:
    settings.MASSPOST_TRUSTED_PROXIES = frozenset({PROXY})
    make_staff("dora", "sender", clinic)
    return "dora"


def sign_in(password: str, *, peer: str, forwarded: str = "") -> Any:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return Client().post("/sign-in/", {"username": "dora", "password": password}, REMOTE_ADDR=peer, **extra)


def test_behind_the_proxy_one_clients_failures_do_not_lock_out_another(dora: str) -> None:
    for _ in range(5):
        sign_in(WRONG, peer=PROXY, forwarded=f"10.9.9.9, {CLIENT_A}")
    assert sign_in(PASSWORD, peer=PROXY, forwarded=CLIENT_A).status_code == 429  # A is locked out
    signed_in = sign_in(PASSWORD, peer=PROXY, forwarded=CLIENT_B)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/bulk/"  # B, through the same proxy, is not
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_A}
    assert set(AuditEvent.objects.filter(action="sign_in_failed").values_list("address", flat=True)) == {CLIENT_A}


def test_a_client_that_is_not_our_proxy_cannot_dodge_the_lockout_with_x_forwarded_for(dora: str) -> None:
    for n in range(5):
        sign_in(WRONG, peer="203.0.113.7", forwarded=f"192.0.2.{n}")
    assert sign_in(PASSWORD, peer="203.0.113.7", forwarded="192.0.2.200").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    assert sign_in(PASSWORD, peer=PROXY, forwarded=CLIENT_B).status_code == 302


def test_a_forwarded_value_that_is_not_an_address_counts_against_the_proxy(dora: str) -> None:
    for _ in range(5):
        sign_in(WRONG, peer=PROXY, forwarded="unknown")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}
    assert sign_in(PASSWORD, peer=PROXY, forwarded=CLIENT_A).status_code == 302
