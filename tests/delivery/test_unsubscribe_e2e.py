"""A marketing e-mail campaign end to end (issue 20): sent by the worker through a real SMTP server on loopback,
every e-mail carries its visible unsubscribe link and the RFC 8058 headers; the mail provider's one-click POST to
the header's link unsubscribes (a GET of it changed nothing), and the next preview leaves the patient out."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Exclusion
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OptOutLink
from masspost.delivery.optout import optout_key
from masspost.delivery.worker import GatewayConfig, worker_run
from tests.conftest import campaign
from tests.peers.smtp_server import SMTPPeer

pytestmark = pytest.mark.django_db
PUBLIC = "https://post.hammas.example"
MAILTO = "unsubscribe@hammas.example"
CONTENT = {lang: {"sms": "", "email_subject": subject, "email_body": body} for lang, subject, body in (
    ("et", "Sügisene pakkumine", "Tere {first_name}! Suuhügieen -20% novembri lõpuni."),
    ("en", "Autumn offer", "Hello {first_name}! Dental hygiene -20% until the end of November."),
    ("ru", "Осеннее предложение", "Здравствуйте, {first_name}! Гигиена полости рта -20% до конца ноября."))}


@pytest.fixture
def configured(settings: Any, smtp_server: SMTPPeer) -> str:
    settings.SECRET_KEY = "test-secret-key-not-the-development-one"  # the development key writes no links here
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    settings.MASSPOST_UNSUBSCRIBE_MAILTO = MAILTO
    return f"smtp://{smtp_server.host}:{smtp_server.port}?timeout=5"


def test_a_marketing_email_campaign_can_be_left_in_one_click(
        configured: str, smtp_server: SMTPPeer, clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    clinic.recently_messaged_days = 0  # the next preview is minutes later: only the opt-out may leave anyone out
    clinic.save()
    patients = {p.email_normalized: p for p in (make_patient(language=lang) for lang in ("et", "en", "ru"))}
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", channel="email", content=CONTENT))
    scope = Scope.operator()

    sent = campaign_send(spec=spec, scope=scope)
    assert sent.messages == 3
    assert worker_run(until_idle=True, gateways=GatewayConfig(urls={"email": configured})).sent == 3

    mails = smtp_server.wait_for_messages(3)
    links: dict[str, str] = {}
    for mail in mails:
        patient = patients[str(mail.message["To"])]
        key = optout_key(campaign_id=sent.campaign_id, patient_id=patient.id, channel="email")
        url = f"{PUBLIC}/u/{key}"
        assert OptOutLink.objects.filter(key=key, patient=patient, campaign_id=sent.campaign_id, channel="email",
                                         marketing=True).exists()
        body = mail.message.get_content()  # type: ignore[attr-defined]
        assert url in body, body  # the visible link, in the e-mail's text
        header = " ".join(str(mail.message["List-Unsubscribe"]).split())  # unfolded
        assert header == f"<{url}>, <mailto:{MAILTO}?subject=unsubscribe%20{key}>"
        assert str(mail.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        links[patient.email_normalized] = header
    assert len(set(links.values())) == 3

    leaving = next(p for p in patients.values() if p.language == "ru")
    header_url = re.search(r"<(https://[^>]+)>", links[leaving.email_normalized])
    assert header_url is not None
    path = urllib.parse.urlsplit(header_url.group(1)).path
    provider = Client(enforce_csrf_checks=True)

    assert provider.get(path).status_code == 200  # a mail scanner following the link
    assert not ConsentEvent.objects.filter(source="unsubscribe").exists()
    leaving.refresh_from_db()
    assert leaving.marketing_email

    one_click = provider.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert one_click.status_code == 200
    [event] = ConsentEvent.objects.filter(source="unsubscribe")
    assert (event.patient_id, event.channel, event.purpose, event.campaign_id, event.wording) == (
        leaving.id, "email", "marketing", sent.campaign_id, "Отписаться от предложений")
    excluded: list[Exclusion] = []
    preview = campaign_preview(spec=spec, scope=scope, on_excluded=excluded.append, audit=False)
    assert [(e.patient_ref, e.channel, e.reason) for e in excluded] == [
        (leaving.external_id, "email", "no_marketing_consent")]
    recipients = preview.to_dict()["recipients"]
    assert sum(by_channel.get("email", 0) for by_channel in recipients.values()) == 2
