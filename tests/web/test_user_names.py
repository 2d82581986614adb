"""Issue 16 on the staff and audit pages: a user name against the rule is said next to its field in the user's
language (point 4); a name stored before the rule ("../../x/y", a line break) breaks no page — users are named by
id in URLs; the token form offers only whom the admin may make a token for (point 12); the audit log's "Who"
keeps the command line apart from any user, for an admin of every clinic only (point 2)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.campaigns.audit import audit_record
from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.staff.models import ApiToken, StaffMember
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def stored_as_is(name: str, clinic: Clinic, role: str = "sender") -> Any:
    """A user made before the rule, bypassing it (as an old masspost did)."""
    user = get_user_model().objects.create_user(username=name, password=PASSWORD)
    StaffMember.objects.create(user=user, role=role).clinics.set([clinic])
    return user


def test_odd_names_already_stored_break_no_page_and_are_managed_by_id(ada: Client, clinic: Clinic) -> None:
    odd = stored_as_is("../../x/y", clinic)
    stored_as_is("evil\nadmin", clinic)
    page = ada.get("/users/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<bdi>../../x/y</bdi>" in html and f'action="/users/{odd.pk}/role/"' in html
    assert ada.post(f"/users/{odd.pk}/role/", {"role": "preparer"}).status_code == 302
    assert ada.post(f"/users/{odd.pk}/disable/").status_code == 302
    odd.refresh_from_db()
    assert not odd.is_active and StaffMember.objects.get(user=odd).role == "preparer"
    assert ada.get("/audit/").status_code == 200


def test_a_token_of_a_user_with_a_line_break_in_the_name_is_revoked_by_id(ada: Client, clinic: Clinic) -> None:
    odd = stored_as_is("evil\nadmin", clinic)
    token_create(scope=Scope.operator(), username="evil\nadmin", name="night")
    html = ada.get("/users/").content.decode()
    assert f'<input type="hidden" name="user_id" value="{odd.pk}">' in html
    # A browser sends a line break in a form's value as CR LF: the name would no longer match, the id does.
    assert ada.post("/users/tokens/revoke/", {"user_id": str(odd.pk), "name": "night"}).status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    assert ada.post("/users/tokens/revoke/", {"user_id": "²", "name": "night"}).status_code == 400


@pytest.mark.parametrize(("lang", "name", "words"), [
    ("en", "../../x/y", "Only letters, digits and @ . + - _"),
    ("et", "\u0430dminB", "Ainult ühe tähestiku tähed"),
    ("ru", "mari\u200fadmin", "Имя пользователя не может содержать"),
])
def test_a_name_against_the_rule_is_said_next_to_its_field(make_staff: Any, clinic: Clinic, lang: str, name: str,
                                                            words: str) -> None:
    admin = make_staff("ada", "admin", clinic, language=lang)
    response = admin.post("/users/", {"username": name, "password": PASSWORD, "role": "sender",
                                      "clinics": ["TLN"]})
    assert response.status_code == 422
    assert words in response.context["form"].errors["username"][0]
    assert not get_user_model().objects.filter(username=name).exists()


def test_the_token_form_offers_only_oneself_and_lower_roles(ada: Client, bob: Client, clinic: Clinic) -> None:
    staff_add(username="ben", password=PASSWORD, clinics=["TLN"], role="admin", scope=Scope.operator())
    select = re.search(r'<select name="username"[^>]*>(.*?)</select>', ada.get("/users/").content.decode(), re.S)
    assert select is not None
    assert re.findall(r'<option value="([^"]*)"', select[1]) == ["ada", "bob"]
    refused = ada.post("/users/tokens/", {"username": "ben", "name": "x"})
    assert refused.status_code == 422 and "by the operator at the command line" in str(
        refused.context["token_form"].errors["username"])
    assert not ApiToken.objects.exists()


def test_the_audit_log_tells_the_command_line_from_a_user_named_cli(
        make_staff: Any, ada: Client, clinic: Clinic, other_clinic: Clinic) -> None:
    named_cli = make_staff("cli", "preparer", clinic)
    boss = make_staff("boss", "admin", clinic, other_clinic)
    named_cli.post("/sign-out/")
    audit_record(action="sign_in_failed", actor="cli", address="10.0.0.9")

    html = ada.get("/audit/").content.decode()  # Ada administers Tallinn only
    assert "command line" not in html.split("</form>", 1)[1]  # no row of the operator's
    assert set(re.findall(r'<tr data-action="([^"]+)">', html)) == {"sign_out", "sign_in_failed"}
    assert re.findall(r'<tr data-action', ada.get("/audit/?actor=command+line").content.decode()) == []
    assert len(re.findall(r'<tr data-action', ada.get("/audit/?actor=cli").content.decode())) == 2

    everything = boss.get("/audit/?actor=command+line").content.decode()
    operator_rows = AuditEvent.objects.filter(actor_kind="cli").count()
    assert operator_rows == 3 and len(re.findall(r'<tr data-action="user_add">', everything)) == operator_rows
    assert re.search(r"<td class=\"who\"[^>]*>command line( \(<bdi>[^<]+</bdi>\))?<", everything)
    assert '<option value="command line"' in everything and '<option value="cli"' in everything


@pytest.mark.parametrize(("lang", "limit", "name", "words"), [
    ("et", 150, "\ufdfa" * 9, "kuni 150 märki"),  # NFKC makes each of the 9 characters 18: 162
    ("ru", 21, "m" * 22, "не длиннее 21 символа"),
    ("en", 20, "m" * 21, "at most 20 characters"),
])
def test_a_name_too_long_is_said_with_the_rules_limit(make_staff: Any, clinic: Clinic, monkeypatch: Any, lang: str,
                                                      limit: int, name: str, words: str) -> None:
    """The page says the limit of the one rule (staff.names.NAME_MAX), not a number of its own."""
    monkeypatch.setattr("masspost.staff.names.NAME_MAX", limit)
    admin = make_staff("ada", "admin", clinic, language=lang)
    response = admin.post("/users/", {"username": name, "password": PASSWORD, "role": "sender",
                                      "clinics": ["TLN"]})
    assert response.status_code == 422
    assert words in response.context["form"].errors["username"][0]
