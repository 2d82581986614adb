"""`masspost demo --reset` deletes only what the demo made, asks first, and keeps the audit log.

In-process through call_command on the suite's database (SQLite and PostgreSQL); one subprocess test for the
question on a real command line without a terminal.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.models import AuditEvent, Campaign, CampaignState
from masspost.clinic import demo
from masspost.clinic.models import Clinic, ConsentEvent, Patient, Visit
from masspost.delivery.models import DeliveryReceipt, HeldCampaign, OutboxMessage
from tests.cli.test_commands import RECALL, masspost, ok, one_line_error

pytestmark = pytest.mark.django_db


class Answer(io.StringIO):
    """Standard input with a person at a terminal typing `text`."""

    def isatty(self) -> bool:
        return True


def run(*args: Any, stdin: io.StringIO | None = None, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, stdin=stdin or io.StringIO(), **options)
    return out.getvalue(), err.getvalue()


def tables() -> dict[str, int]:
    return {"clinics": Clinic.objects.count(), "patients": Patient.objects.count(), "visits": Visit.objects.count(),
            "campaigns": Campaign.objects.count(), "messages": OutboxMessage.objects.count(),
            "consent": ConsentEvent.objects.count(), "audit": AuditEvent.objects.count()}


def demo_with_a_paused_campaign() -> Campaign:
    """Demo data as it is after a while of use: a sent campaign, paused, a receipt and a patient's SMS STOP (one
    consent event more than the demo's own)."""
    run("demo", patients=60, seed=4)
    assert ConsentEvent.objects.exclude(source="import").count() == 0
    call_command("send", str(RECALL), yes=True, stdout=io.StringIO())
    sent = Campaign.objects.get()
    call_command("pause", str(sent.id), stdout=io.StringIO())
    patient = Patient.objects.order_by("id").first()
    assert patient is not None
    ConsentEvent.objects.create(patient=patient, channel="sms", accepts=False, source="sms-stop")
    DeliveryReceipt.objects.create(remote_id="r-1", status="delivered", stat="DELIVRD")
    return sent


def test_reset_with_yes_deletes_the_demo_data_even_with_a_consent_event_and_a_paused_campaign() -> None:
    sent = demo_with_a_paused_campaign()
    assert sent.state == CampaignState.ACTIVE and HeldCampaign.objects.filter(campaign=sent).exists()
    before = tables()
    assert before["messages"] > 0 and ConsentEvent.objects.filter(source="sms-stop").count() == 1

    out, _ = run("demo", patients=30, seed=5, reset=True, yes=True)

    assert out.startswith("demo data: 3 clinics, 30 patients, ")
    after = tables()
    assert (after["clinics"], after["patients"], after["campaigns"], after["messages"]) == (3, 30, 0, 0)
    # What consent events there are are the new demo's own.
    assert after["consent"] == ConsentEvent.objects.filter(source="import", wording=demo.DEMO_WORDING).count() > 0
    assert not HeldCampaign.objects.exists() and not DeliveryReceipt.objects.exists()
    # The audit log keeps every event (the send and the pause now name no campaign), plus the reset's own.
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "campaign_id"))
    assert actions == [("demo.generate", None), ("campaign_send", None), ("campaign_pause", None),
                       ("demo.reset", None), ("demo.generate", None)]
    reset = AuditEvent.objects.get(action="demo.reset")
    assert reset.actor_kind == "cli"
    assert reset.detail == {"clinics": 3, "patients": 60, "visits": before["visits"], "campaigns": 1,
                            "messages": before["messages"], "consent_events": before["consent"]}


def test_reset_refuses_a_database_whose_data_the_demo_did_not_create(clinic: Clinic, make_patient: Any) -> None:
    make_patient()
    make_patient()
    before = tables()
    with pytest.raises(CommandError) as raised:
        run("demo", patients=10, reset=True, yes=True)
    # No demo is recorded at all (as in a demo database of a version that kept no record): the message says so.
    assert str(raised.value) == ("this database holds 1 clinic and 2 patients that the demo did not create "
                                 "(its audit log records no demo); refusing to reset")
    assert tables() == before
    # Without --reset the demo refuses too, and does not suggest --reset.
    with pytest.raises(CommandError) as raised:
        run("demo", patients=10)
    assert "did not create" in str(raised.value) and "--reset" not in str(raised.value)


def test_reset_refuses_when_data_was_imported_after_the_demo(tmp_path: Path) -> None:
    run("demo", patients=20, seed=1)
    tln = Clinic.objects.get(code="TLN")
    Patient.objects.create(external_id="REAL-1", clinic=tln, first_name="Real")
    with pytest.raises(CommandError, match="holds 1 patient that the demo did not create"):
        run("demo", patients=10, reset=True, yes=True)
    Patient.objects.filter(external_id="REAL-1").delete()

    # A clinics import that updates a demo clinic makes it the clinic's real data (and its patients with it).
    Clinic.objects.filter(code="TRT").update(name="Real Dental Tartu", phone="+372 7 123 456")
    before = tables()
    with pytest.raises(CommandError, match=r"holds 1 clinic, \d+ patients and \d+ visits that the demo did not"):
        run("demo", patients=10, reset=True, yes=True)
    assert tables() == before


def test_reset_refuses_a_campaign_drawn_from_clinics_the_demo_did_not_make() -> None:
    run("demo", patients=20, seed=1)
    Campaign.objects.create(name="Old", purpose="service", channel="sms", spec={}, token="t-old",
                            audience={"clinics": ["ABC"]}, deadline="2026-12-01T00:00:00Z", created_by="cli")
    with pytest.raises(CommandError, match="holds 1 campaign that the demo did not create"):
        run("demo", patients=10, reset=True, yes=True)
    assert Patient.objects.count() == 20


def test_reset_without_a_terminal_and_without_yes_refuses_and_deletes_nothing() -> None:
    run("demo", patients=20, seed=1)
    before = tables()
    with pytest.raises(CommandError) as raised:
        run("demo", patients=10, reset=True)
    message = str(raised.value)
    assert "--yes" in message and "20 demo patients" in message and "3 clinics" in message
    assert tables() == before


def test_reset_asks_on_a_terminal_with_the_counts() -> None:
    sent = demo_with_a_paused_campaign()
    before = tables()
    with pytest.raises(CommandError, match="nothing deleted"):
        run("demo", patients=10, reset=True, stdin=Answer("n\n"))
    with pytest.raises(CommandError, match="nothing deleted"):
        run("demo", patients=10, reset=True, stdin=Answer(""))  # end of input is a no
    assert tables() == before

    _, err = run("demo", patients=10, reset=True, stdin=Answer("y\n"))
    messages = OutboxMessage.objects.filter(campaign=sent).count()
    assert messages == 0
    assert (f"Delete 60 demo patients (with {before['visits']:,} visits and {before['consent']} consent events), "
            "3 clinics, "
            f"1 campaign and {before['messages']:,} messages? The audit log is kept. [y/N] ") in err
    assert Patient.objects.count() == 10


def test_reset_of_an_empty_database_asks_nothing() -> None:
    out, err = run("demo", patients=10, reset=True)
    assert out.startswith("demo data: 3 clinics, 10 patients") and "[y/N]" not in err


def test_demo_without_reset_on_demo_data_points_to_reset() -> None:
    run("demo", patients=10, seed=1)
    with pytest.raises(CommandError, match="--reset"):
        run("demo", patients=10)


def test_demo_generate_records_what_it_made() -> None:
    run("demo", patients=25, seed=2)
    event = AuditEvent.objects.get(action="demo.generate")
    assert event.actor_kind == "cli"
    assert event.detail["clinics"] == {c.code: c.id for c in Clinic.objects.all()}
    assert event.detail["patients"] == 25 and event.detail["visits"] == Visit.objects.count()


def test_every_model_that_refers_to_demo_data_is_reset() -> None:
    # A model added later with a foreign key to a clinic, patient or campaign must be in the reset's order, or
    # the reset fails on that key (or, for the audit log, be kept with the key set to NULL).
    roots = {"clinic.Clinic", "clinic.Patient", "campaigns.Campaign"}
    # Staff keep their accounts: the reset removes only their links to the demo's clinics.
    # The idempotency keys of the demo's campaigns go with them.
    covered = set(demo.RESET_ORDER) | {"campaigns.AuditEvent", "staff.StaffMember", "campaigns.IdempotentSend"}
    referring = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is not None \
                    and field.related_model._meta.label in roots:
                referring.add(model._meta.label)
    assert referring <= covered, referring - covered
    assert set(demo.RESET_ORDER) >= roots


def test_reset_keeps_a_user_of_the_demo_clinics_without_them(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "demo", "--patients", "20", "--seed", "1"))
    codes = [c["fields"]["code"] for c in json.loads(ok(masspost(tmp_path, "dumpdata", "clinic.Clinic")))]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    add = subprocess.run([sys.executable, "-m", "masspost", "user", "add", "mari",
                          *[a for c in codes for a in ("--clinic", c)], "--role", "sender", "--password-stdin"],
                         env=env | {"MASSPOST_DATA_DIR": str(tmp_path)}, input="correct horse battery\n",
                         capture_output=True, text=True, timeout=120)
    ok(add)
    ok(masspost(tmp_path, "demo", "--reset", "--yes", "--patients", "20"))
    users = json.loads(ok(masspost(tmp_path, "user", "list", "--json")))["users"]
    assert [(u["username"], u["clinics"]) for u in users] == [("mari", [])]


def test_reset_without_a_terminal_is_one_line_and_with_yes_goes_through(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "demo", "--patients", "20", "--seed", "1"))
    message = one_line_error(masspost(tmp_path, "demo", "--reset", "--patients", "20"))
    assert "--yes" in message
    assert ok(masspost(tmp_path, "demo", "--reset", "--yes", "--patients", "30")).startswith(
        "demo data: 3 clinics, 30 patients")
    dump = json.loads(ok(masspost(tmp_path, "dumpdata", "campaigns.AuditEvent")))
    assert [o["fields"]["action"] for o in dump] == ["demo.generate", "demo.reset", "demo.generate"]

