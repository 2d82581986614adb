"""The command line's OS user (issue 16, point 2): $USER is whatever the environment says, and it is written into
the audit log (a column of 150), a campaign's author and a token's maker as "command line (…)". Only its printable
characters are kept, at most 32 of them — one line, in a bounded column."""

from __future__ import annotations

import pytest

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from tests.cli.test_user import add

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("env", ["root\nadmin  TLN  yes", "x" * 5000, "evil\x1b[2J\u202e"])
def test_the_os_user_is_kept_printable_and_short(clinic: Clinic, monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):  # what getpass reads, in its order
        monkeypatch.setenv(var, env)
    kept = "".join(c for c in env if c.isprintable())[:32]
    assert Scope.operator().actor == kept and Scope.operator().who == f"command line ({kept})"
    add("dora")
    event = AuditEvent.objects.get(action="user_add")
    assert (event.actor_kind, event.actor) == ("cli", kept)
