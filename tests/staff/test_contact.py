"""A user's own phone and e-mail, where their test sends go (issue 19): set by themselves (staff_set_contact, any
role) or by an admin (staff_add / staff_change, `masspost user add|change NAME --phone … --email …`), checked and
normalised as patients' addresses are, audited without the values."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError, SpecError
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_contact, staff_scope
from masspost.staff.services import staff_add, staff_change, staff_set_contact

pytestmark = pytest.mark.django_db
PASSWORD = "Hambaarst-2026-sinine"


def member(clinic: Clinic, name: str = "mari", role: str = "preparer") -> Scope:
    user = get_user_model().objects.create_user(username=name, password=PASSWORD)
    StaffMember.objects.create(user=user, role=role).clinics.set([clinic])
    scope = staff_scope(user=user)
    assert scope is not None
    return scope


def own(name: str = "mari") -> tuple[str, str]:
    m = StaffMember.objects.get(user__username=name)
    return m.phone, m.email


def test_a_user_sets_their_own_phone_and_e_mail_normalised(clinic: Clinic) -> None:
    scope = member(clinic)
    staff_set_contact(scope=scope, phone="5551 2345", email="Mari@Hammas.Example")
    # A number without its country code is read in the country of the user's clinic (EE).
    assert own() == ("+37255512345", "Mari@hammas.example") == staff_contact(scope=scope)
    [event] = AuditEvent.objects.filter(action="staff_contact")
    assert event.actor == "mari" and event.detail == {"user": "mari", "changed": ["phone", "email"]}
    assert "5512345" not in json.dumps(event.detail) and "hammas" not in json.dumps(event.detail).lower()


def test_none_leaves_a_field_and_an_empty_value_removes_it(clinic: Clinic) -> None:
    scope = member(clinic)
    staff_set_contact(scope=scope, phone="+372 5551 2345", email="mari@hammas.example")
    staff_set_contact(scope=scope, phone="")
    assert own() == ("", "mari@hammas.example")
    staff_set_contact(scope=scope, email="mari@hammas.example")  # the same again: nothing changed, nothing audited
    assert [e.detail["changed"] for e in AuditEvent.objects.filter(action="staff_contact").order_by("id")] == [
        ["phone", "email"], ["phone"]]


@pytest.mark.parametrize(("phone", "email", "said"), [
    ("12", None, "phone: not a valid phone number"),
    ("+372 600 1000", None, "phone: not a mobile number"),  # a landline cannot take the test SMS
    ("helista mulle", None, "phone: not a phone number"),
    (None, "mari-at-hammas", "e-mail: not a valid e-mail address"),
    (None, "mäger@hammas.example", "e-mail: cannot be sent"),
])
def test_a_value_that_cannot_be_used_names_the_field_and_changes_nothing(
        clinic: Clinic, phone: str | None, email: str | None, said: str) -> None:
    scope = member(clinic)
    staff_set_contact(scope=scope, phone="+37255512345", email="mari@hammas.example")
    with pytest.raises(SpecError, match=said):
        staff_set_contact(scope=scope, phone=phone if phone is not None else "+37255599999",
                          email=email if email is not None else "uus@hammas.example")
    assert own() == ("+37255512345", "mari@hammas.example")
    assert AuditEvent.objects.filter(action="staff_contact").count() == 1


def test_the_command_line_has_no_address_of_its_own(db: Any) -> None:
    assert staff_contact(scope=Scope.operator()) == ("", "")
    with pytest.raises(MasspostError, match="masspost user change NAME"):
        staff_set_contact(scope=Scope.operator(), phone="+37255512345")


def test_an_admin_sets_them_on_add_and_change(clinic: Clinic) -> None:
    operator = Scope.operator()
    staff_add(username="jaan", password=PASSWORD, clinics=["TLN"], role="sender", scope=operator,
              phone="+37255500001", email="jaan@hammas.example")
    assert own("jaan") == ("+37255500001", "jaan@hammas.example")
    staff_change(scope=operator, username="jaan", email="")
    assert own("jaan") == ("+37255500001", "")
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["user_add", "staff_contact", "staff_contact"]
    with pytest.raises(SpecError, match="phone"):
        staff_add(username="kati", password=PASSWORD, clinics=["TLN"], role="sender", scope=operator, phone="1")
    assert not get_user_model().objects.filter(username="kati").exists()


# --- the command line ----------------------------------------------------------------------------------------------

def user(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    call_command("user", *args, stdout=out, stderr=io.StringIO(), stdin=io.StringIO(stdin))
    return out.getvalue()


def test_user_add_and_change_with_phone_and_email(clinic: Clinic) -> None:
    said = user("add", "mari", "--clinic", "TLN", "--role", "sender", "--phone", "+372 5551 2345",
                "--password-stdin", stdin=PASSWORD + "\n")
    assert said == "user mari added: sender at TLN; test sends to +37255512345\n"
    assert user("change", "mari", "--email", "mari@hammas.example") == (
        "user mari changed: sender at TLN; test sends to +37255512345, mari@hammas.example\n")
    assert user("change", "mari", "--phone", "") == "user mari changed: sender at TLN; test sends to " \
                                                    "mari@hammas.example\n"
    with pytest.raises(CommandError, match="phone: not a valid phone number"):
        user("change", "mari", "--phone", "123")
    assert own() == ("", "mari@hammas.example")


def test_the_list_shows_each_users_test_addresses(clinic: Clinic) -> None:
    user("add", "mari", "--clinic", "TLN", "--role", "sender", "--password-stdin", stdin=PASSWORD + "\n")
    user("add", "jaan", "--clinic", "TLN", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert user("list").splitlines()[1].split()[:6] == ["jaan", "admin", "TLN", "yes", "-", "-"]  # none yet
    user("change", "mari", "--phone", "+37255512345")
    table = user("list").splitlines()
    assert table[0].split()[:6] == ["USER", "ROLE", "CLINICS", "ACTIVE", "TEST", "PHONE"]
    assert table[1].split()[:6] == ["jaan", "admin", "TLN", "yes", "-", "-"]
    assert table[2].split()[:6] == ["mari", "sender", "TLN", "yes", "+37255512345", "-"]
    rows = json.loads(user("list", "--json"))["users"]
    assert [(r["username"], r["phone"], r["email"]) for r in rows] == [("jaan", "", ""), ("mari", "+37255512345", "")]
