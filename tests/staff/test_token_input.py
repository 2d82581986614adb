"""A NUL in the staff page's token forms (or the command line's) is refused by the service before any query: on
PostgreSQL it would be a DataError (500); the answer is the "not found" or the one-line error any bad name gets."""

from __future__ import annotations

import pytest

from masspost.clinic.scope import Scope
from masspost.errors import MasspostError, NotFoundError
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create, token_revoke


@pytest.fixture
def member(db: None) -> int:
    from masspost.clinic.models import Clinic

    clinic = Clinic.objects.create(code="TLN", name="Hammas Tallinn", country="EE", default_language="et")
    added = staff_add(scope=Scope.operator(), username="bob", clinics=[clinic.code], role="sender",
                      password="a long enough password 42")
    token_create(scope=Scope.operator(), username="bob", name="nightly")
    return added.user_id


@pytest.mark.parametrize("name", ["\x00", "nightly\x00", "night\nly"])
def test_revoking_a_token_by_a_name_with_a_control_character_is_not_found(member: int, name: str) -> None:
    with pytest.raises(NotFoundError):
        token_revoke(scope=Scope.operator(), name=name, user_id=member)


def test_a_user_name_with_a_nul_is_not_found(member: int) -> None:
    with pytest.raises(NotFoundError):
        token_revoke(scope=Scope.operator(), name="nightly", username="bob\x00")


@pytest.mark.parametrize("name", ["\x00", "re\x00", "a\x07b"])
def test_a_token_name_with_a_control_character_is_refused_at_creation(member: int, name: str) -> None:
    with pytest.raises(MasspostError, match="one line of printable characters"):
        token_create(scope=Scope.operator(), username="bob", name=name)
