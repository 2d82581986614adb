"""`masspost consent export EXTERNAL_ID [--json] [--clinic CODE]`: a patient's consent now and the whole history
in order, as a table to read or in the API's shape; an unknown patient (or one outside --clinic) is one line and
a non-zero exit."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from masspost.campaigns.consent import consent_record_by_staff
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Role, Scope
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create
from tests.cli.test_commands import masspost, ok, one_line_error

pytestmark = pytest.mark.django_db


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("consent", "export", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def juri(make_patient: Any, clinic: Clinic) -> Patient:
    """Offers by e-mail from an import, withdrawn by the unsubscribe link of campaign 4242; SMS switched off
    through staff at the desk."""
    p: Patient = make_patient(marketing_sms=False, marketing_email=False)
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=True, source="import",
                   wording="file patients-2026-12.csv")
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail", campaign_id=4242)
    staff_add(username="alice", password="correct horse battery", clinics=[clinic.code], role="sender",
              scope=Scope.operator())
    alice = Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER,
                  user_id=_user_id("alice"))
    consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="sms", purpose="service",
                            accepts=False, method="phone", note="Called on Monday")
    return p


def _user_id(name: str) -> int:
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.get(username=name).pk)


def test_the_history_in_order_and_the_consent_now(juri: Patient) -> None:
    text = export(juri.external_id)
    lines = text.splitlines()
    assert lines[0] == f"patient {juri.external_id} (clinic TLN); times in Europe/Tallinn"
    now = lines[lines.index("consent now:") + 1:lines.index("consent now:") + 4]
    assert [line.split() for line in now] == [["all", "messages", "offers"], ["SMS", "no", "no"],
                                              ["e-mail", "yes", "no"]]
    table = lines[lines.index("history, oldest first:") + 1:]
    assert table[0].split() == ["WHEN", "CHANNEL", "PURPOSE", "CONSENT", "SOURCE", "BY", "HOW", "CAMPAIGN",
                                "WORDING", "/", "NOTE"]
    rows = table[1:]
    assert len(rows) == 3
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[23]00  ", r) for r in rows)  # Tallinn time
    assert "e-mail" in rows[0] and "given" in rows[0] and "import" in rows[0]
    assert rows[0].endswith('"file patients-2026-12.csv"')
    assert "withdrawn" in rows[1] and "unsubscribe link" in rows[1] and " 4242 " in rows[1]
    assert rows[1].endswith('"No more offers by e-mail"')
    assert all(w in rows[2].split() for w in ("SMS", "all", "messages", "withdrawn", "alice", "phone"))
    assert rows[2].endswith("note: Called on Monday")


def test_json_is_the_apis_shape(juri: Patient, clinic: Clinic) -> None:
    exported = json.loads(export(juri.external_id, "--json"))
    token = token_create(scope=Scope.operator(), username="alice", name="test").secret
    api = Client().get(f"/api/v1/patients/{juri.external_id}/consent",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert exported == {k: v for k, v in api.items() if k != "items"}
    assert [(e["source"], e["accepts"]) for e in exported["events"]] == [("import", True), ("unsubscribe", False),
                                                                        ("staff", False)]
    assert exported["consent"] == {"sms": {"service": False, "marketing": False},
                                   "email": {"service": True, "marketing": False}}


def test_clinic_narrows_the_search(juri: Patient, other_clinic: Clinic) -> None:
    assert json.loads(export(juri.external_id, "--json", "--clinic", "TLN"))["clinic"] == "TLN"
    with pytest.raises(Exception, match=f"no patient '{juri.external_id}'"):
        export(juri.external_id, "--clinic", "TRT")
    with pytest.raises(Exception, match="no clinic 'NOPE'"):
        export(juri.external_id, "--clinic", "NOPE")


def test_an_unknown_patient_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    assert one_line_error(masspost(tmp_path, "consent", "export", "NOBODY")) == "CommandError: no patient 'NOBODY'"
    assert "export" in one_line_error(masspost(tmp_path, "consent"))
    assert "consent " in ok(masspost(tmp_path, "help"))
