"""`masspost user add|list|change|disable`: staff who sign in to the web UI, from the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.staff.models import StaffMember
from tests.cli.test_commands import ROOT, masspost, ok, one_line_error

pytestmark = pytest.mark.django_db

PASSWORD = "Hambaarst-2026-sinine"


class Terminal(io.StringIO):
    """Standard input with a person at a terminal."""

    def isatty(self) -> bool:
        return True


def user(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("user", *args, stdout=out, stderr=io.StringIO(), stdin=stdin or io.StringIO())
    return out.getvalue()


def add(name: str = "mari", *clinics: str, role: str = "sender", password: str = PASSWORD) -> str:
    clinic_args = [arg for code in clinics or ("TLN",) for arg in ("--clinic", code)]
    return user("add", name, *clinic_args, "--role", role, "--password-stdin", stdin=io.StringIO(password + "\n"))


def signs_in(name: str, password: str = PASSWORD) -> bool:
    # The request is what django-axes needs to count failures; the sign-in view passes its own.
    return authenticate(RequestFactory().post("/"), username=name, password=password) is not None


def listed() -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = json.loads(user("list", "--json"))["users"]
    return users


# --- add ---------------------------------------------------------------------------------------------------------

def test_add_makes_a_staff_member_who_can_sign_in(clinic: Clinic, other_clinic: Clinic) -> None:
    out = add("mari", "TLN", "TRT", role="sender")
    assert out == "user mari added: sender at TLN, TRT\n"
    member = StaffMember.objects.get(user__username="mari")
    assert member.role == "sender"
    assert sorted(member.clinics.values_list("code", flat=True)) == ["TLN", "TRT"]
    assert member.user.is_active and not member.user.is_superuser and not member.user.is_staff
    assert signs_in("mari")
    assert not signs_in("mari", PASSWORD + "x")


def test_password_stdin_is_the_first_line_without_its_newline(clinic: Clinic) -> None:
    user("add", "mari", "--clinic", "TLN", "--role", "admin", "--password-stdin",
         stdin=io.StringIO(f" {PASSWORD} \r\nthe second line is not read\n"))
    assert signs_in("mari", f" {PASSWORD} ")  # spaces are the password's own
    assert not signs_in("mari", PASSWORD)


def test_password_stdin_without_a_trailing_newline(clinic: Clinic) -> None:
    user("add", "mari", "--clinic", "TLN", "--role", "admin", "--password-stdin", stdin=io.StringIO(PASSWORD))
    assert signs_in("mari")


def test_empty_password_stdin_is_refused(clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="no password on standard input"):
        user("add", "mari", "--clinic", "TLN", "--role", "admin", "--password-stdin", stdin=io.StringIO(""))
    assert not get_user_model().objects.exists()


def test_without_password_stdin_the_password_is_asked_twice_on_a_terminal(clinic: Clinic,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr("getpass.getpass", getpass)
    user("add", "mari", "--clinic", "TLN", "--role", "preparer", stdin=Terminal())
    assert len(prompts) == 2
    assert signs_in("mari")


def test_two_different_passwords_on_the_terminal_add_no_user(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="the two passwords differ"):
        user("add", "mari", "--clinic", "TLN", "--role", "preparer", stdin=Terminal())
    assert not get_user_model().objects.exists()


def test_without_a_terminal_or_password_stdin_the_error_says_to_use_password_stdin(clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="--password-stdin"):
        user("add", "mari", "--clinic", "TLN", "--role", "preparer", stdin=io.StringIO(PASSWORD + "\n"))
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--clinic", "XXX"], "no clinic XXX"),
    (["--clinic", "TLN", "--clinic", "XXX"], "no clinic XXX"),
])
def test_an_unknown_clinic_adds_no_user(clinic: Clinic, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        user("add", "mari", *args, "--role", "admin", "--password-stdin", stdin=io.StringIO(PASSWORD))
    assert not get_user_model().objects.exists()


def test_a_duplicate_user_is_refused_and_keeps_its_password(clinic: Clinic) -> None:
    add("mari")
    with pytest.raises(CommandError, match="user 'mari' exists already"):
        add("mari", role="admin", password="Another-long-passw0rd")
    assert StaffMember.objects.get(user__username="mari").role == "sender"
    assert signs_in("mari")


@pytest.mark.parametrize(("password", "message"), [
    ("Short-1", "too short"),  # Django's validators, at least 10 characters
    ("1234567890123", "entirely numeric"),
    ("password123", "too common"),
    ("marimaasikas1", "too similar to the username"),
])
def test_a_weak_password_is_refused_with_the_validator_s_reason(clinic: Clinic, password: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        add("marimaasikas", password=password)
    assert not get_user_model().objects.exists()


def test_an_unknown_role_is_refused(clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        add("mari", role="boss")
    assert not get_user_model().objects.exists()


def test_add_writes_an_audit_row_without_the_password(clinic: Clinic, other_clinic: Clinic) -> None:
    add("mari", "TRT", "TLN", role="admin")
    event = AuditEvent.objects.get(action="user_add")
    assert (event.actor_kind, event.actor_user_id) == ("cli", None)  # the command line, never a user's name
    assert event.detail == {"user": "mari", "role": "admin", "clinics": ["TRT", "TLN"]}
    assert PASSWORD not in json.dumps(list(AuditEvent.objects.values()), default=str)


# --- list ----------------------------------------------------------------------------------------------------------

def test_list_is_empty_at_first(db: Any) -> None:
    assert "no users yet" in user("list")
    assert listed() == []


def test_list_shows_name_role_clinics_active_and_last_sign_in(clinic: Clinic, other_clinic: Clinic) -> None:
    add("mari", "TRT", "TLN", role="admin")
    add("jaan", "TLN", role="preparer")
    user("disable", "jaan")
    Client().force_login(get_user_model().objects.get(username="mari"))  # a sign-in sets last_login
    rows = listed()
    assert [(r["username"], r["role"], r["clinics"], r["active"]) for r in rows] == [
        ("jaan", "preparer", ["TLN"], False), ("mari", "admin", ["TLN", "TRT"], True)]
    assert rows[0]["last_login"] is None and rows[1]["last_login"].startswith("20")

    table = user("list").splitlines()
    assert table[0].split() == ["USER", "ROLE", "CLINICS", "ACTIVE", "TEST", "PHONE", "TEST", "E-MAIL", "LAST",
                                "SIGN-IN", "(UTC)"]
    assert table[1].split() == ["jaan", "preparer", "TLN", "no", "-", "-", "never"]
    mari = table[2].split()
    assert mari[:6] == ["mari", "admin", "TLN,TRT", "yes", "-", "-"] and mari[6].startswith("20")


def test_nothing_in_the_list_is_a_password(clinic: Clinic) -> None:
    add("mari")
    assert PASSWORD not in user("list") + user("list", "--json")
    assert "pbkdf2" not in user("list", "--json")


# --- change --------------------------------------------------------------------------------------------------------

def test_change_sets_the_role_and_replaces_the_clinics(clinic: Clinic, other_clinic: Clinic) -> None:
    add("mari", "TLN", role="preparer")
    assert user("change", "mari", "--role", "sender") == "user mari changed: sender at TLN\n"
    assert user("change", "mari", "--clinic", "TRT") == "user mari changed: sender at TRT\n"
    assert listed()[0] | {"last_login": None} == {"username": "mari", "role": "sender", "clinics": ["TRT"],
                                                   "active": True, "last_login": None, "phone": "", "email": ""}
    assert [e.detail for e in AuditEvent.objects.filter(action="user_change").order_by("id")] == [
        {"user": "mari", "role": "sender"}, {"user": "mari", "clinics": ["TRT"]}]
    assert signs_in("mari")  # the password is unchanged


@pytest.mark.parametrize(("args", "message"), [
    (["nobody", "--role", "admin"], "no user 'nobody'"),
    (["mari", "--clinic", "XXX"], "no clinic XXX"),
    (["mari", "--role", "boss"], "invalid choice: 'boss'"),
    (["mari"], "nothing to change: give --role or --clinic"),
])
def test_change_mistakes(clinic: Clinic, args: list[str], message: str) -> None:
    add("mari", role="preparer")
    with pytest.raises(CommandError, match=message):
        user("change", *args)
    assert listed()[0]["role"] == "preparer" and listed()[0]["clinics"] == ["TLN"]


# --- disable -------------------------------------------------------------------------------------------------------

def test_a_disabled_user_cannot_sign_in_and_is_audited(clinic: Clinic) -> None:
    add("mari")
    assert signs_in("mari")
    assert user("disable", "mari") == "user mari disabled: they can no longer sign in\n"
    assert not signs_in("mari")
    assert not get_user_model().objects.get(username="mari").is_active
    assert StaffMember.objects.filter(user__username="mari").exists()  # kept, with their name on their work
    event = AuditEvent.objects.get(action="user_disable")
    assert (event.actor_kind, event.detail) == ("cli", {"user": "mari"})


def test_disable_an_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        user("disable", "nobody")
    assert not AuditEvent.objects.filter(action="user_disable").exists()


# --- the command line itself: one line, non-zero exit ---------------------------------------------------------------

def masspost_stdin(data_dir: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    env["MASSPOST_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "masspost", *args], env=env, cwd=ROOT, capture_output=True,
                          input=stdin, text=True, timeout=120)


def test_the_command_line_contract(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "demo", "--patients", "20"))
    add = ["user", "add", "mari", "--clinic", "TLN", "--clinic", "NRV", "--role", "sender", "--password-stdin"]
    assert ok(masspost_stdin(tmp_path, PASSWORD + "\n", *add)) == "user mari added: sender at NRV, TLN\n"
    errors = {
        "duplicate": masspost_stdin(tmp_path, PASSWORD + "\n", *add),
        "unknown clinic": masspost_stdin(tmp_path, PASSWORD, "user", "add", "jaan", "--clinic", "XXX", "--role",
                                         "admin", "--password-stdin"),
        "weak password": masspost_stdin(tmp_path, "short\n", "user", "add", "jaan", "--clinic", "TLN", "--role",
                                        "admin", "--password-stdin"),
        "no terminal": masspost(tmp_path, "user", "add", "jaan", "--clinic", "TLN", "--role", "admin"),
        "unknown role": masspost(tmp_path, "user", "add", "jaan", "--clinic", "TLN", "--role", "boss"),
        "no clinic": masspost(tmp_path, "user", "add", "jaan", "--role", "admin"),
        "no action": masspost(tmp_path, "user"),
        "unknown action": masspost(tmp_path, "user", "remove", "mari"),
        "disable unknown": masspost(tmp_path, "user", "disable", "nobody"),
        "change nothing": masspost(tmp_path, "user", "change", "mari"),
    }
    lines = {what: one_line_error(result) for what, result in errors.items()}
    assert "exists already" in lines["duplicate"]
    assert "no clinic XXX" in lines["unknown clinic"]
    assert "at least 10 characters" in lines["weak password"]
    assert "--password-stdin" in lines["no terminal"]
    assert "invalid choice: 'boss'" in lines["unknown role"]
    assert "--clinic" in lines["no clinic"]
    assert "add|list|change|disable" in lines["no action"] and "invalid choice: 'remove'" in lines["unknown action"]
    assert "no user 'nobody'" in lines["disable unknown"]

    ok(masspost(tmp_path, "user", "disable", "mari"))
    users = json.loads(ok(masspost(tmp_path, "user", "list", "--json")))["users"]
    assert users == [{"username": "mari", "role": "sender", "clinics": ["NRV", "TLN"], "active": False,
                      "last_login": None, "phone": "", "email": ""}]
    assert "mari" in ok(masspost(tmp_path, "user", "list"))
    assert ok(masspost(tmp_path, "user", "--help")).startswith("usage: masspost user ")
