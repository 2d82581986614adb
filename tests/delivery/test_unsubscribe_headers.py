"""List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058): which claimed messages carry them and what the
e-mail's headers then are."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Patient
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.delivery.gateways.smtp_message import EmailWriter, InvalidMessageError
from masspost.delivery.optout import optout_key
from masspost.delivery.turn import list_unsubscribe, outbox_turn
from tests.conftest import campaign

PUBLIC = "https://post.hammas.example"
MAILTO = "unsubscribe@hammas.example"


@pytest.fixture(autouse=True)
def own_secret_key(settings: Any) -> None:
    """Links on a public host need a secret key of the installation's own (delivery.optout.optout_links_problem)."""
    settings.SECRET_KEY = "test-secret-key-not-the-development-one"


def message(list_unsubscribe: str = "", **fields: Any) -> OutgoingMessage:
    return OutgoingMessage(**{"message_id": 1, "campaign_id": 7, "patient_ref": "P1", "channel": Channel.EMAIL,
                              "to": "mari@example.com", "language": "et", "text": "Tere", "subject": "Pakkumine",
                              "sender": "info@hammas.example", "sender_name": "Hammas", "marketing": True,
                              "list_unsubscribe": list_unsubscribe, **fields})


def headers(wire: bytes) -> Any:
    return email.message_from_bytes(wire, policy=email.policy.default)


@pytest.mark.parametrize("html", [False, True])
def test_an_https_link_gets_the_one_click_header(html: bool) -> None:
    value = f"<{PUBLIC}/u/abcDEF123456>, <mailto:{MAILTO}?subject=unsubscribe%20abcDEF123456>"
    text = "<html><body><p>Tere</p></body></html>" if html else "Tere"
    wire, _ = EmailWriter().wire(message(value, text=text))
    mail = headers(wire)
    assert " ".join(str(mail["List-Unsubscribe"]).split()) == value
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("value", [f"<mailto:{MAILTO}?subject=unsubscribe%20abcDEF123456>",
                                   "<http://localhost:8000/u/abcDEF123456>"])
def test_no_one_click_without_an_https_link(value: str) -> None:
    """RFC 8058 one-click is for an https URI only: a mailto: (or a plain-http test site) is offered, not posted."""
    mail = headers(EmailWriter().wire(message(value))[0])
    assert str(mail["List-Unsubscribe"]) == value
    assert "List-Unsubscribe-Post" not in mail


def test_no_headers_without_a_link() -> None:
    mail = headers(EmailWriter().wire(message(""))[0])
    assert "List-Unsubscribe" not in mail and "List-Unsubscribe-Post" not in mail


def test_a_line_break_in_the_value_refuses_the_message() -> None:
    with pytest.raises(InvalidMessageError):
        EmailWriter().wire(message(f"<{PUBLIC}/u/x>\r\nBcc: everyone@example.com"))


def test_the_message_value_wins_over_the_writers_hook() -> None:
    writer = EmailWriter(list_unsubscribe=lambda _m: "<https://hook.example/u/1>")
    assert str(headers(writer.wire(message(f"<{PUBLIC}/u/own>"))[0])["List-Unsubscribe"]) == f"<{PUBLIC}/u/own>"
    assert str(headers(writer.wire(message(""))[0])["List-Unsubscribe"]) == "<https://hook.example/u/1>"


STORED = "St0redKey123"  # the key the send stored (OptOutLink), whatever the secret key is now


@pytest.mark.parametrize(("public", "mailto", "stored", "expected"), [
    ("", "", STORED, ""),
    (PUBLIC, "", STORED, "<{public}/u/{stored}>"),
    (PUBLIC, "", "", ""),  # no link stored (links were off at the send): an https part would lead nowhere
    ("", MAILTO, "", "<mailto:{mailto}?subject=unsubscribe%20{key}>"),
    (PUBLIC, MAILTO, STORED, "<{public}/u/{stored}>, <mailto:{mailto}?subject=unsubscribe%20{stored}>"),
    (PUBLIC, "Hammas <unsubscribe@hammas.example>", STORED, "<{public}/u/{stored}>"),  # not one plain address
    ("http://post.hammas.example", MAILTO, STORED, "<mailto:{mailto}?subject=unsubscribe%20{stored}>"),
])
def test_the_value_has_the_parts_that_are_configured(settings: Any, public: str, mailto: str, stored: str,
                                                     expected: str) -> None:
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO = public, mailto
    key = optout_key(campaign_id=7, patient_id=42, channel="email")
    assert list_unsubscribe(stored_key=stored, campaign_id=7, patient_id=42) == expected.format(
        public=PUBLIC, mailto=MAILTO, key=key, stored=stored)


def test_no_https_part_with_the_development_key_on_a_public_host(settings: Any) -> None:
    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO = PUBLIC, ""
    assert list_unsubscribe(stored_key=STORED, campaign_id=7, patient_id=42) == ""


@pytest.mark.django_db
@pytest.mark.parametrize("purpose", ["marketing", "service"])
def test_only_a_marketing_emails_claim_carries_it(settings: Any, purpose: str,
                                                  make_patient: Callable[..., Patient]) -> None:
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO = PUBLIC, MAILTO
    patient = make_patient()
    content = {"et": {"sms": "Tere {first_name}!", "email_subject": "Pakkumine", "email_body": "Tere {first_name}!"}}
    sent = campaign_send(spec=CampaignSpec.from_dict(campaign(purpose=purpose, channel="both", content=content)),
                         scope=Scope.operator())
    claimed = {channel: outbox_turn(worker_id="w1", now=timezone.now() + dt.timedelta(seconds=1),
                                    lease=dt.timedelta(minutes=1), channel=channel, limit=10).claimed
               for channel in ("sms", "email")}

    [sms], [mail] = claimed["sms"], claimed["email"]
    assert (sms.marketing, mail.marketing) == (purpose == "marketing",) * 2
    assert (sms.patient_id, mail.patient_id, mail.clinic_id) == (patient.id, patient.id, patient.clinic_id)
    assert sms.list_unsubscribe == ""
    key = optout_key(campaign_id=sent.campaign_id, patient_id=patient.id, channel="email")
    assert mail.list_unsubscribe == (f"<{PUBLIC}/u/{key}>, <mailto:{MAILTO}?subject=unsubscribe%20{key}>"
                                     if purpose == "marketing" else "")
    outgoing = mail.outgoing()
    assert (outgoing.list_unsubscribe, outgoing.marketing, outgoing.clinic_id) == (
        mail.list_unsubscribe, mail.marketing, patient.clinic_id)
