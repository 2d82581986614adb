"""A test send (issue 19): the preview's sample in each channel and language, sent now through the real gateways
(an SMSC and an SMTP server on loopback) to the user's own phone and e-mail — never to a patient, never in the
outbox — and audited so that `tested_before` can say a campaign was tested."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from masspost.audience.selectors import audience_resolve
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.campaigns.selectors import preview_token
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import sweep
from masspost.campaigns.test_send import campaign_test_send
from masspost.campaigns.test_send import tested_before as was_tested  # not "test…": pytest would collect it
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import GatewayConfigError, MasspostError, NothingToSendError, SpecError, StaleTokenError
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_scope
from tests.conftest import campaign
from tests.peers.smsc import SMSCPeer
from tests.peers.smtp_server import SMTPPeer

pytestmark = pytest.mark.django_db

OWN_PHONE, OWN_EMAIL = "+37255512345", "mari@hammas.example"


@pytest.fixture
def smsc() -> Iterator[SMSCPeer]:
    peer = SMSCPeer.start()
    yield peer
    peer.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPPeer]:
    server = SMTPPeer.start()
    yield server
    server.stop()


@pytest.fixture
def gateways(settings: Any, smsc: SMSCPeer, smtp_server: SMTPPeer) -> tuple[SMSCPeer, SMTPPeer]:
    settings.MASSPOST_SMS_URL = f"smpp://masspost:secret@{smsc.host}:{smsc.port}?timeout=5"
    settings.MASSPOST_EMAIL_URL = f"smtp://{smtp_server.host}:{smtp_server.port}?timeout=5"
    return smsc, smtp_server


def token_of(spec: CampaignSpec, scope: Scope) -> str:
    """The token a preview shows now (campaign_preview's, without its snapshot and audit row)."""
    audience = audience_resolve(audience=spec.audience, scope=scope)
    return str(preview_token(spec=spec, audience=audience, result=sweep(spec=spec, resolved=audience)))


def staff(clinic: Clinic, *, phone: str = OWN_PHONE, email: str = OWN_EMAIL, name: str = "mari") -> Scope:
    user = get_user_model().objects.create_user(username=name, password="x")
    member = StaffMember.objects.create(user=user, role="preparer", phone=phone, email=email)
    member.clinics.set([clinic])
    scope = staff_scope(user=user)
    assert scope is not None
    return scope


BOTH = campaign(channel="both", content={
    "et": {"sms": "Tere {first_name}!", "email_subject": "Meeldetuletus",
           "email_body": "Tere {first_name}, tule kontrolli."},
    "en": {"sms": "Hello {first_name}!", "email_subject": "Reminder",
           "email_body": "Hello {first_name}, come for a check."}})


@pytest.fixture
def patients(make_patient: Any) -> list[Patient]:
    return [make_patient(language="et", first_name="Tõnu"), make_patient(language="et", first_name="Kati"),
            make_patient(language="en", first_name="Anna")]


def test_the_samples_reach_the_users_own_phone_and_e_mail_and_no_patient(
        clinic: Clinic, patients: list[Patient], gateways: tuple[SMSCPeer, SMTPPeer]) -> None:
    smsc, smtp = gateways
    outcome = campaign_test_send(spec=CampaignSpec.from_dict(BOTH), scope=staff(clinic))

    assert [(m.channel, m.language, m.to, m.ok) for m in outcome.messages] == [
        ("sms", "en", OWN_PHONE, True), ("sms", "et", OWN_PHONE, True),
        ("email", "en", OWN_EMAIL, True), ("email", "et", OWN_EMAIL, True)]
    assert outcome.missing == []
    # The sample is the lowest patient id's message in each language, marked as a test, from the clinic's sender.
    assert sorted(smsc.messages()) == [(OWN_PHONE[1:], "TEST: Hello Anna!"), (OWN_PHONE[1:], "TEST: Tere Tõnu!")]
    assert {s.source_addr for s in smsc.submits} == {"HammasTLN"}
    mails = smtp.wait_for_messages(2)
    assert sorted(m.message["Subject"] for m in mails) == ["[TEST] Meeldetuletus", "[TEST] Reminder"]
    assert {m.rcpt_tos for m in mails} == {(OWN_EMAIL,)}
    assert {m.mail_from for m in mails} == {"tallinn@hammas.example"}
    patient_addresses = {p.phone_e164.removeprefix("+") for p in patients} | {p.email for p in patients}
    assert not patient_addresses & ({s.destination_addr for s in smsc.submits} | {r for m in mails
                                                                                   for r in m.rcpt_tos})
    assert not OutboxMessage.objects.exists() and not Campaign.objects.exists()


def test_the_test_is_audited_without_addresses_or_text_and_counts_for_tested_before(
        clinic: Clinic, patients: list[Patient], gateways: Any) -> None:
    spec = CampaignSpec.from_dict(BOTH)
    assert not was_tested(spec=spec)
    campaign_test_send(spec=spec, scope=staff(clinic))
    [event] = AuditEvent.objects.filter(action="campaign_test_send")
    assert event.actor == "mari" and event.detail == {
        "settings": spec.settings_digest()[:10], "content": spec.content_digest()[:10], "messages": 4,
        "channels": ["sms", "email"], "failed": 0}
    said = json.dumps(event.detail, ensure_ascii=False)
    assert OWN_PHONE not in said and OWN_EMAIL not in said and "Tõnu" not in said and "Tere" not in said
    assert was_tested(spec=spec)
    # Another text or other settings is another campaign: not tested.
    changed = campaign(**{**BOTH, "content": {**BOTH["content"], "en": {**BOTH["content"]["en"], "sms": "Hi!"}}})
    assert not was_tested(spec=CampaignSpec.from_dict(changed))
    assert not was_tested(spec=CampaignSpec.from_dict({**BOTH, "fallback_language": "en"}))


def test_a_test_that_no_gateway_accepted_is_audited_but_is_not_a_test(
        clinic: Clinic, patients: list[Patient], gateways: tuple[SMSCPeer, SMTPPeer]) -> None:
    smsc, smtp = gateways
    smsc.reject_destination(OWN_PHONE[1:])
    smtp.fail_recipient(OWN_EMAIL, 550)
    spec = CampaignSpec.from_dict(BOTH)
    outcome = campaign_test_send(spec=spec, scope=staff(clinic))
    assert [m.ok for m in outcome.messages] == [False] * 4 and all(m.error for m in outcome.messages)
    assert AuditEvent.objects.get(action="campaign_test_send").detail["failed"] == 4
    assert not was_tested(spec=spec)


def test_a_channel_without_an_own_address_is_missing(clinic: Clinic, patients: list[Patient],
                                                      gateways: tuple[SMSCPeer, SMTPPeer]) -> None:
    smsc, smtp = gateways
    outcome = campaign_test_send(spec=CampaignSpec.from_dict(BOTH), scope=staff(clinic, phone=""))
    assert outcome.missing == ["sms"]
    assert [(m.channel, m.ok) for m in outcome.messages] == [("email", True), ("email", True)]
    assert smsc.submits == [] and len(smtp.wait_for_messages(2)) == 2


def test_no_own_address_at_all_is_refused_and_sends_nothing(clinic: Clinic, patients: list[Patient],
                                                             gateways: tuple[SMSCPeer, SMTPPeer]) -> None:
    smsc, smtp = gateways
    with pytest.raises(SpecError, match="masspost user change NAME --phone"):
        campaign_test_send(spec=CampaignSpec.from_dict(campaign()), scope=staff(clinic, phone=""))
    assert smsc.submits == [] and smtp.received == []
    assert not AuditEvent.objects.filter(action="campaign_test_send").exists()


def test_the_command_line_operator_has_no_address_of_its_own(clinic: Clinic, patients: list[Patient]) -> None:
    with pytest.raises(MasspostError, match="--user NAME"):
        campaign_test_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())


def test_a_stale_token_is_refused_as_the_send_refuses_it(clinic: Clinic, patients: list[Patient],
                                                         make_patient: Any,
                                                         gateways: tuple[SMSCPeer, SMTPPeer]) -> None:
    smsc, _ = gateways
    scope = staff(clinic)
    spec = CampaignSpec.from_dict(campaign())
    token = token_of(spec, scope)
    edited = CampaignSpec.from_dict(campaign(content={"en": {"sms": "Hi {first_name}!"}}))
    with pytest.raises(StaleTokenError, match="preview again"):
        campaign_test_send(spec=edited, scope=scope, token=token)
    make_patient(language="ru")  # one more recipient: the token no longer holds either
    with pytest.raises(StaleTokenError):
        campaign_test_send(spec=spec, scope=scope, token=token)
    assert smsc.submits == []
    fresh = token_of(spec, scope)
    assert all(m.ok for m in campaign_test_send(spec=spec, scope=scope, token=fresh).messages)


def test_nothing_to_test_when_no_patient_gets_a_message(clinic: Clinic, gateways: Any) -> None:
    with pytest.raises(NothingToSendError):
        campaign_test_send(spec=CampaignSpec.from_dict(campaign()), scope=staff(clinic))


def test_without_any_gateway_configured_it_says_which_setting(clinic: Clinic, patients: list[Patient],
                                                               settings: Any) -> None:
    settings.MASSPOST_SMS_URL = ""
    with pytest.raises(GatewayConfigError, match="MASSPOST_SMS_URL"):
        campaign_test_send(spec=CampaignSpec.from_dict(campaign()), scope=staff(clinic))


def test_a_gateway_refusing_the_credentials_is_the_messages_error_without_them(
        clinic: Clinic, patients: list[Patient], settings: Any, smtp_server: SMTPPeer) -> None:
    settings.MASSPOST_SMS_URL = "memory:sms"
    settings.MASSPOST_EMAIL_URL = f"smtp://clinic:Salajane-77@{smtp_server.host}:{smtp_server.port}?timeout=5"
    outcome = campaign_test_send(spec=CampaignSpec.from_dict(BOTH), scope=staff(clinic))
    by_channel = {(m.channel, m.language): m for m in outcome.messages}
    assert by_channel["sms", "et"].ok
    assert not by_channel["email", "et"].ok and by_channel["email", "et"].error
    assert "Salajane-77" not in json.dumps(outcome.to_dict())
