"""Issue 16 at the command line: `masspost user add` refuses a name against the rule in one line (point 4); a
name stored before the rule cannot forge a line of `masspost user list` or `masspost token list`; the command
line is recorded as itself, with its OS user, and as no user name (point 2)."""

from __future__ import annotations

import getpass
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.staff.models import StaffMember
from tests.cli.test_user import PASSWORD, add, user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("name", "why"), [
    ("../../x/y", "may hold only letters, digits"),
    ("\u0430dminB", "must not mix alphabets"),
    ("mari\u202eadmin", "cannot hold a line break, a control character or an invisible mark"),
])
def test_add_refuses_a_name_against_the_rule(clinic: Clinic, name: str, why: str) -> None:
    with pytest.raises(CommandError, match=why) as refused:
        add(name)
    assert "\n" not in str(refused.value)
    assert not get_user_model().objects.exists()


def test_a_stored_line_break_cannot_forge_a_line_of_the_list(clinic: Clinic) -> None:
    add("mari")
    forged = get_user_model().objects.create_user(username="evil\nroot      admin  TLN     yes", password=PASSWORD)
    StaffMember.objects.create(user=forged, role="preparer").clinics.set([clinic])
    lines = user("list").splitlines()
    assert len(lines) == 3  # the header, and one line per user
    assert lines[1].startswith("evil\\u000aroot") and "preparer" in lines[1]
    assert json.loads(user("list", "--json"))["users"][0]["username"] == "evil\nroot      admin  TLN     yes"

    out = io.StringIO()
    call_command("token", "create", "evil\nroot      admin  TLN     yes", stdout=out)
    listing = io.StringIO()
    call_command("token", "list", stdout=listing)
    assert len(listing.getvalue().splitlines()) == 2 and "\\u000a" in listing.getvalue()
    assert "\\u000a" in out.getvalue().splitlines()[0]


def test_the_command_line_is_recorded_as_itself_with_its_os_user(clinic: Clinic) -> None:
    add("cli")  # a user may be called cli: the command line is not a name
    event = AuditEvent.objects.get(action="user_add")
    assert (event.actor_kind, event.actor, event.actor_user_id) == ("cli", getpass.getuser(), None)
    call_command("token", "create", "cli", stdout=io.StringIO())
    assert AuditEvent.objects.get(action="token_create").actor_kind == "cli"
    assert AuditEvent.objects.filter(actor_kind="user").count() == 0
