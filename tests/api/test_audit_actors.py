"""`GET /audit` keeps actors apart (issue 16, point 2): each row says its kind and user id; a clinic admin whose
staff include a user named "cli" reads none of the command line's rows; an admin of every clinic filters them
with `actor_kind=cli`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.staff.services import staff_add
from tests.api.conftest import PASSWORD, Api

pytestmark = pytest.mark.django_db


def test_a_clinic_admin_reads_no_command_line_row_even_with_a_user_named_cli(
        make_api: Callable[..., Api], ada: Api, clinic: Clinic, other_clinic: Clinic) -> None:
    staff_add(username="cli", password=PASSWORD, clinics=["TLN"], role="preparer", scope=Scope.operator())
    # Every row so far is the operator's (the users and tokens it made): none is Ada's to read.
    assert ada.get("/audit").json()["items"] == []
    assert ada.get("/audit", {"actor": "cli"}).json()["items"] == []  # the user cli did nothing
    assert ada.get("/audit", {"actor_kind": "cli"}).json()["count"] == 0

    boss = make_api("boss", "admin", clinic, other_clinic)
    everything = boss.get("/audit", {"actor_kind": "cli"}).json()
    assert everything["count"] > 0
    assert {(i["actor_kind"], i["actor_id"]) for i in everything["items"]} == {("cli", None)}
    by_id = boss.get("/audit", {"actor_id": get_user_model().objects.get(username="ada").pk}).json()["items"]
    assert all(i["actor"] == "ada" and i["actor_kind"] == "user" for i in by_id)
