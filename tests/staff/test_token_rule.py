"""Who may make a token for whom (issue 16, point 12): an admin for themselves and for staff of a lower role they
manage, never for another admin (who could then be acted as); the command line for anyone. A demotion, a token
and a promotion do not get round it: the raise revokes the tokens others made."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.errors import PermissionDeniedError
from masspost.staff.models import ApiToken
from masspost.staff.selectors import staff_scope
from masspost.staff.services import staff_add, staff_change
from masspost.staff.tokens import token_create, token_scope

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
OPERATOR = Scope.operator()


@pytest.fixture
def ada(clinic: Clinic) -> Scope:
    """Ada and Ben administer Tallinn; Bob sends for it."""
    for name, role in (("ada", "admin"), ("ben", "admin"), ("bob", "sender")):
        staff_add(username=name, password=PASSWORD, clinics=["TLN"], role=role, scope=OPERATOR)
    scope = staff_scope(user=get_user_model().objects.get(username="ada"))
    assert scope is not None
    return scope


def test_an_admin_cannot_make_a_token_for_another_admin(ada: Scope) -> None:
    with pytest.raises(PermissionDeniedError, match="only by them or at the command line"):
        token_create(scope=ada, username="ben")
    assert not ApiToken.objects.exists()


def test_an_admin_makes_tokens_for_themselves_and_for_a_lower_role(ada: Scope) -> None:
    own = token_scope(secret=token_create(scope=ada, username="ada").secret)
    bobs = token_scope(secret=token_create(scope=ada, username="bob").secret)
    assert own is not None and own.scope.actor == "ada"
    assert bobs is not None and bobs.scope.actor == "bob"


def test_a_token_made_through_a_token_obeys_the_same_rule(ada: Scope) -> None:
    made = token_scope(secret=token_create(scope=ada, username="ada").secret)
    assert made is not None
    with pytest.raises(PermissionDeniedError):
        token_create(scope=made.scope, username="ben")


def test_the_command_line_makes_a_token_for_anyone(ada: Scope) -> None:
    assert token_scope(secret=token_create(scope=OPERATOR, username="ben").secret) is not None


def test_demote_make_promote_leaves_no_admin_token(ada: Scope) -> None:
    ben = staff_scope(user=get_user_model().objects.get(username="ben"))
    assert ben is not None
    own = token_create(scope=ben, username="ben", name="mine").secret
    staff_change(username="ben", role="sender", scope=ada)
    secret = token_create(scope=ada, username="ben").secret  # Ben is a sender now: allowed
    staff_change(username="ben", role="admin", scope=ada)
    assert token_scope(secret=secret) is None  # Ada's token for Ben: revoked by the raise
    mine = token_scope(secret=own)
    assert mine is not None and mine.scope.role.value == "admin"  # Ben's own: his
    raised = AuditEvent.objects.filter(action="user_change").latest("id")
    assert raised.detail == {"user": "ben", "role": "admin", "tokens_revoked": 1}


def test_a_lowered_role_keeps_the_tokens(ada: Scope) -> None:
    secret = token_create(scope=ada, username="bob").secret
    staff_change(username="bob", role="preparer", scope=ada)
    assert token_scope(secret=secret) is not None
