"""`masspost token create|list|revoke`: REST API tokens from the command line. The secret is printed once and
works at once; what is stored is its digest; a revoked token reaches nothing."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.staff.models import ApiToken
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_scope
from tests.cli.test_commands import masspost, ok

pytestmark = pytest.mark.django_db

PASSWORD = "Hambaarst-2026-sinine"


def token(*args: str) -> str:
    out = io.StringIO()
    call_command("token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def create(username: str = "mari", *args: str) -> dict[str, Any]:
    made: dict[str, Any] = json.loads(token("create", username, *args, "--json"))
    return made


@pytest.fixture
def mari(clinic: Clinic, other_clinic: Clinic) -> None:
    staff_add(username="mari", password=PASSWORD, clinics=["TLN", "TRT"], role="sender", scope=Scope.operator())


# --- create ------------------------------------------------------------------------------------------------------

def test_create_prints_a_token_that_acts_for_the_user(mari: None, clinic: Clinic, other_clinic: Clinic) -> None:
    out = token("create", "mari")
    secret = next(word for word in out.split() if word.startswith("mp_"))
    assert out.count(secret) == 1  # printed once
    assert "cannot be shown again" in out and "Authorization: Bearer" in out
    found = token_scope(secret=secret)
    assert found is not None
    assert found.scope.actor == "mari" and found.scope.role == Role.SENDER
    assert found.scope.clinic_ids == {clinic.id, other_clinic.id}
    assert (found.name, found.scope.via) == ("api", "api:api")


def test_create_json(mari: None) -> None:
    made = create("mari", "--name", "reports")
    assert set(made) == {"user", "name", "prefix", "token"}
    assert (made["user"], made["name"]) == ("mari", "reports")
    assert made["token"].startswith(made["prefix"]) and made["prefix"].startswith("mp_")
    assert token_scope(secret=made["token"]) is not None


def test_the_digest_is_stored_not_the_secret(mari: None) -> None:
    made = create()
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(made["token"].encode()).hexdigest()
    assert stored.prefix == made["prefix"] and stored.created_by.startswith("command line")
    values = [str(v) for v in ApiToken.objects.values().get().values()]
    assert made["token"] not in values
    event = AuditEvent.objects.get(action="token_create")
    assert (event.actor_kind, event.detail["user"], event.detail["token"]) == ("cli", "mari", "api")
    assert made["token"] not in json.dumps(event.detail)


def test_default_names_are_api_then_api_2(mari: None) -> None:
    assert [create()["name"] for _ in range(3)] == ["api", "api-2", "api-3"]


def test_a_live_name_is_not_taken_twice(mari: None) -> None:
    create("mari", "--name", "reports")
    with pytest.raises(CommandError, match="has a token named 'reports' already"):
        token("create", "mari", "--name", "reports")
    assert ApiToken.objects.count() == 1


def test_a_revoked_name_can_be_used_again(mari: None) -> None:
    old = create("mari", "--name", "reports")
    token("revoke", "mari", "reports")
    new = create("mari", "--name", "reports")
    assert token_scope(secret=old["token"]) is None
    assert token_scope(secret=new["token"]) is not None


def test_an_unknown_user_is_an_error(clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        token("create", "nobody")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        token("revoke", "nobody", "api")
    assert not ApiToken.objects.exists()


def test_a_name_too_long_is_an_error(mari: None) -> None:
    with pytest.raises(CommandError, match="at most 100 characters"):
        token("create", "mari", "--name", "x" * 101)


# --- list --------------------------------------------------------------------------------------------------------

def test_list_is_an_aligned_table_without_the_secret(mari: None) -> None:
    first = create()
    second = create("mari", "--name", "a much longer name")
    out = token("list")
    lines = out.splitlines()
    assert lines[0].split() == ["USER", "NAME", "PREFIX", "CREATED", "LAST", "USED"]
    assert len(lines) == 3
    assert [line.split()[1] for line in lines[1:]] == ["a", "api"]  # by name
    for made, line in ((second, lines[1]), (first, lines[2])):
        assert line.index(made["prefix"]) == lines[0].index("PREFIX")  # aligned
        assert line.index("never") == lines[0].index("LAST USED")
    for made in (first, second):
        assert made["token"] not in out and made["prefix"] + "…" in out


def test_list_hides_revoked_tokens_unless_asked(mari: None) -> None:
    create()
    create("mari", "--name", "old")
    token("revoke", "mari", "old")
    out = token("list")
    assert " old " not in out and "REVOKED" not in out
    with_revoked = token("list", "--revoked").splitlines()
    assert with_revoked[0].split()[-1] == "REVOKED"
    assert len(with_revoked) == 3
    listed = json.loads(token("list", "--revoked", "--json"))["tokens"]
    assert [(t["name"], t["revoked_at"] is None) for t in listed] == [("api", True), ("old", False)]
    assert all("token" not in t and "digest" not in t for t in listed)


def test_an_empty_list_says_how_to_make_one(clinic: Clinic) -> None:
    assert "masspost token create" in token("list")
    assert json.loads(token("list", "--json")) == {"tokens": []}


# --- revoke ------------------------------------------------------------------------------------------------------

def test_revoke_stops_the_token_and_is_audited(mari: None) -> None:
    made = create()
    assert "revoked" in token("revoke", "mari", "api")
    assert token_scope(secret=made["token"]) is None
    assert ApiToken.objects.get().revoked_at is not None
    event = AuditEvent.objects.get(action="token_revoke")
    assert (event.actor_kind, event.detail) == ("cli", {"user": "mari", "token": "api"})


def test_revoke_json_and_an_unknown_token(mari: None) -> None:
    create()
    assert json.loads(token("revoke", "mari", "api", "--json")) == {"user": "mari", "name": "api", "revoked": True}
    with pytest.raises(CommandError, match="no live token named 'api'"):
        token("revoke", "mari", "api")


# --- the real command line ---------------------------------------------------------------------------------------

def test_the_command_line_prints_one_line_errors_and_is_in_help(tmp_path: Path) -> None:
    result = masspost(tmp_path, "token", "create", "nobody")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["CommandError: no user 'nobody'"]
    assert "token" in {line.split()[0] for line in ok(masspost(tmp_path, "help")).splitlines()
                       if line.startswith("  ") and line.split()}
