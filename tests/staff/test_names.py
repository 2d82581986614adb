"""User names (issue 16, point 4): Django's rule (NFKC; letters, digits and @ . + - _) and one alphabet, in every
place a user is made — the staff service (the staff page, `masspost user add`) and Django's own createsuperuser."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError
from masspost.staff.names import printable
from masspost.staff.services import staff_add

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"

REFUSED = [
    ("../../x/y", "only letters, digits"),
    ("mari maasikas", "only letters, digits"),
    ("mari\nadmin", "line break"),
    ("ma\rri", "line break"),
    ("admin\u202eB", "invisible mark"),  # right-to-left override
    ("\u200fadmin", "invisible mark"),  # right-to-left mark
    ("ad\u200bmin", "invisible mark"),  # zero-width space
    ("\u0430dminB", "mix alphabets"),  # a Cyrillic а, then Latin
    ("jüri-мария", "mix alphabets"),
    ("", "needs a name"),
    ("m" * 151, "at most 150"),
]


def add(name: str) -> Any:
    return staff_add(username=name, password=PASSWORD, clinics=["TLN"], role="sender", scope=Scope.operator())


@pytest.mark.parametrize(("name", "why"), REFUSED)
def test_a_name_against_the_rule_is_refused_with_why(clinic: Clinic, name: str, why: str) -> None:
    with pytest.raises(MasspostError, match=why):
        add(name)
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(("typed", "stored"), [
    ("jüri", "jüri"), ("мария", "мария"), ("mari.maasikas@kliinik-1", "mari.maasikas@kliinik-1"),
    ("Ｍａｒｉ", "Mari"),  # full-width letters: NFKC makes them the plain ones
    ("ma\u0301ri", "mári"),  # a combining accent: composed
])
def test_names_in_one_alphabet_are_stored_normalised(clinic: Clinic, typed: str, stored: str) -> None:
    assert add(typed).user.get_username() == stored


def test_a_name_differing_only_in_case_is_taken(clinic: Clinic) -> None:
    add("mari")
    with pytest.raises(MasspostError, match="'mari' exists already, and 'Mari' differs from it only in case"):
        add("Mari")


def test_createsuperuser_obeys_the_same_rule(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    with pytest.raises(CommandError, match="mix alphabets"):
        call_command("createsuperuser", "--noinput", "--username", "\u0430dminB", "--email", "a@example.com")
    assert not get_user_model().objects.exists()
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "a@example.com")
    assert get_user_model().objects.get().get_username() == "root"


def test_printable_keeps_a_stored_name_on_one_line() -> None:
    assert printable("evil\nadmin  admin") == "evil\\u000aadmin  admin"
    assert printable("a\u202eb") == "a\\u202eb" and printable("jüri мария") == "jüri мария"
