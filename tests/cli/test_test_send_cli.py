"""`masspost test-send CAMPAIGN_FILE --token TOKEN --user NAME`: the preview's samples to the user's own phone and
e-mail through the configured gateways, one line per message, a non-zero exit when one failed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.models import OutboxMessage
from masspost.staff.models import StaffMember
from tests.cli.test_commands import masspost, ok, one_line_error
from tests.conftest import campaign
from tests.peers.smsc import SMSCPeer
from tests.peers.smtp_server import SMTPPeer

pytestmark = pytest.mark.django_db
OWN_PHONE, OWN_EMAIL = "+37255512345", "mari@hammas.example"
FILE = campaign(channel="both", content={
    "et": {"sms": "Tere {first_name}!", "email_subject": "Meeldetuletus", "email_body": "Tere {first_name}!"}})


@pytest.fixture
def peers(settings: Any) -> Iterator[tuple[SMSCPeer, SMTPPeer]]:
    smsc, smtp = SMSCPeer.start(), SMTPPeer.start()
    settings.MASSPOST_SMS_URL = f"smpp://masspost:secret@{smsc.host}:{smsc.port}?timeout=5"
    settings.MASSPOST_EMAIL_URL = f"smtp://{smtp.host}:{smtp.port}?timeout=5"
    yield smsc, smtp
    smsc.stop()
    smtp.stop()


@pytest.fixture
def setup(clinic: Clinic, make_patient: Any, tmp_path: Path) -> tuple[Path, Patient]:
    user = get_user_model().objects.create_user(username="mari", password="x")
    StaffMember.objects.create(user=user, role="preparer", phone=OWN_PHONE, email=OWN_EMAIL).clinics.set([clinic])
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(FILE), encoding="utf-8")
    return path, make_patient(first_name="Tõnu")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("test_send", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def token(path: Path) -> str:
    out = io.StringIO()
    call_command("preview", str(path), "--json", stdout=out, stderr=io.StringIO())
    return str(json.loads(out.getvalue())["token"])


def test_sends_the_samples_to_the_users_own_addresses(setup: tuple[Path, Patient],
                                                       peers: tuple[SMSCPeer, SMTPPeer]) -> None:
    path, patient = setup
    smsc, smtp = peers
    out = run(str(path), "--token", token(path), "--user", "mari")
    assert out.splitlines() == [f"SMS et to {OWN_PHONE}: sent", f"e-mail et to {OWN_EMAIL}: sent"]
    assert smsc.messages() == [(OWN_PHONE[1:], "TEST: Tere Tõnu!")]
    [mail] = smtp.wait_for_messages(1)
    assert mail.rcpt_tos == (OWN_EMAIL,) and mail.message["Subject"] == "[TEST] Meeldetuletus"
    assert patient.email not in str(mail.message) and not OutboxMessage.objects.exists()
    event = AuditEvent.objects.get(action="campaign_test_send")
    assert event.actor == "mari" and event.detail["messages"] == 2


def test_a_failed_message_is_said_and_the_exit_is_not_zero(setup: tuple[Path, Patient],
                                                           peers: tuple[SMSCPeer, SMTPPeer]) -> None:
    path, _ = setup
    smsc, _ = peers
    smsc.reject_destination(OWN_PHONE[1:])
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 test messages failed"):
        call_command("test_send", str(path), "--token", token(path), "--user", "mari", stdout=out,
                     stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"SMS et to {OWN_PHONE}: failed: ") and lines[1] == f"e-mail et to {OWN_EMAIL}: sent"


def test_a_missing_own_address_is_said(setup: tuple[Path, Patient], peers: tuple[SMSCPeer, SMTPPeer]) -> None:
    path, _ = setup
    StaffMember.objects.filter(user__username="mari").update(email="")
    out = run(str(path), "--token", token(path), "--user", "mari")
    assert out.splitlines() == [f"SMS et to {OWN_PHONE}: sent",
                                "e-mail: not sent, mari has no e-mail of their own (masspost user change mari "
                                "--email …)"]


@pytest.mark.parametrize(("args", "said"), [
    (["--user", "nobody"], "no active user 'nobody'"),
    (["--user", "mari", "--token", "v3.x"], "token"),
])
def test_mistakes(setup: tuple[Path, Patient], peers: Any, args: list[str], said: str) -> None:
    path, _ = setup
    args = args if "--token" in args else [*args, "--token", token(path)]
    with pytest.raises(CommandError, match=said):
        run(str(path), *args)
    assert not AuditEvent.objects.filter(action="campaign_test_send").exists()


def test_typed_with_a_hyphen_and_listed_in_help(tmp_path: Path) -> None:
    assert "--user NAME" in ok(masspost(tmp_path, "test-send", "--help"))
    assert any(line.split()[:1] == ["test-send"] for line in ok(masspost(tmp_path, "help")).splitlines())
    said = one_line_error(masspost(tmp_path, "test-send", str(tmp_path / "none.json"), "--user", "mari"))
    assert "--token" in said  # required
