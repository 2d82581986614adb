"""API tokens: the secret is never stored, a token acts with its user's current clinics and role, and the rate
limit lets a burst through, then one request per interval, with the wait it asks for."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError
from masspost.staff.models import ApiToken
from masspost.staff.services import staff_add, staff_change, staff_disable
from masspost.staff.tokens import token_create, token_rate_take, token_revoke, token_scope

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()


@pytest.fixture
def secret(clinic: Clinic, other_clinic: Clinic) -> str:
    staff_add(username="his", password="correct horse battery", clinics=["TLN"], role="sender", scope=OPERATOR)
    return token_create(scope=OPERATOR, username="his", name="nightly").secret


def test_only_the_hash_is_stored(secret: str) -> None:
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.digest, stored.prefix, stored.name} and secret.startswith(stored.prefix)


def test_a_token_follows_its_users_role_and_clinics(secret: str, other_clinic: Clinic) -> None:
    found = token_scope(secret=secret, address="10.0.0.7")
    assert found is not None
    assert (found.scope.actor, found.scope.role.value, found.scope.via, found.scope.address) == (
        "his", "sender", "api:nightly", "10.0.0.7")
    staff_change(username="his", scope=OPERATOR, role="preparer", clinics=["TLN", "TRT"])
    changed = token_scope(secret=secret)
    assert changed is not None and changed.scope.role.value == "preparer"
    assert changed.scope.clinic_ids is not None and other_clinic.id in changed.scope.clinic_ids
    staff_disable(username="his", scope=OPERATOR)
    assert token_scope(secret=secret) is None


@pytest.mark.parametrize("wrong", ["", "mp_", "mp_nope", "Bearer x", "x" * 300])
def test_anything_else_is_no_token(secret: str, wrong: str) -> None:
    assert token_scope(secret=wrong) is None
    assert token_scope(secret=secret[:-1]) is None


def test_a_revoked_token_stops(secret: str) -> None:
    token_revoke(scope=OPERATOR, username="his", name="nightly")
    assert token_scope(secret=secret) is None


def test_the_rate_lets_a_burst_through_then_one_per_interval(secret: str, settings: Any) -> None:
    settings.MASSPOST_API_RATE, settings.MASSPOST_API_BURST = 2, 3  # 0.5 s apart, 3 at once
    token = ApiToken.objects.get().id
    now = 1_000_000.0
    assert [token_rate_take(token_id=token, now=now) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = token_rate_take(token_id=token, now=now)
    assert wait == pytest.approx(0.5)
    assert token_rate_take(token_id=token, now=now + 0.49) > 0
    assert token_rate_take(token_id=token, now=now + 0.5) == 0.0
    # After a quiet spell the whole burst is back, no more.
    later = now + 60
    assert [token_rate_take(token_id=token, now=later) for _ in range(4)][-1] == pytest.approx(0.5)
    assert ApiToken.objects.get().last_used_at is not None


def test_a_disabled_user_gets_no_token(secret: str) -> None:
    staff_disable(username="his", scope=OPERATOR)
    with pytest.raises(MasspostError, match="disabled"):
        token_create(scope=OPERATOR, username="his", name="another")
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["nightly"]


def test_a_name_is_revoked_as_it_was_stored(secret: str) -> None:
    # Created as "  late   night ", stored as "late night": revoking it by what was typed finds it.
    token_create(scope=OPERATOR, username="his", name="  late   night ")
    token_revoke(scope=OPERATOR, username="his", name=" late night  ")
    assert ApiToken.objects.get(name="late night").revoked_at is not None
