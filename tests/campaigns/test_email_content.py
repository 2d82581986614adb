"""E-mail content from the preview to the wire: HTML bodies escape merge values, subjects fit RFC 5322's lines."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.content import compile_template, looks_like_html
from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.delivery.gateways.smtp_message import EmailWriter
from masspost.delivery.models import OutboxMessage
from masspost.errors import SpecError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()


def email_spec(body: str, subject: str = "Tere") -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(channel="email",
                                           content={"et": {"email_subject": subject, "email_body": body}}))


def sent_messages(spec: CampaignSpec) -> dict[str, email.message.EmailMessage]:
    """Send, then write each outbox row as the SMTP gateway would, and parse what went on the wire."""
    outcome = campaign_send(spec=spec, scope=OPERATOR)
    writer = EmailWriter()
    out = {}
    for row in OutboxMessage.objects.filter(campaign_id=outcome.campaign_id):
        wire, _ = writer.wire(OutgoingMessage(
            message_id=row.id, campaign_id=row.campaign_id, patient_ref=row.patient_ref, channel=Channel.EMAIL,
            to=row.address, language=row.language, text=row.body, subject=row.subject, sender=row.sender,
            sender_name=row.sender_name, reply_to=row.sender))
        assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
        out[row.patient_ref] = email.message_from_bytes(wire, policy=email.policy.default)
    return out


def parts(message: email.message.EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


def test_html_body_escapes_merge_values(make_patient: Any, clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(name="Hammas & Co")
    bold = make_patient(first_name="<b>x</b>")
    tom = make_patient(first_name="Tom & Jerry", last_name='"O\'Brien"')
    spec = email_spec("<p>Tere {first_name} {last_name}!</p><p>{clinic_name}</p>", subject="Tere {first_name}")
    preview = campaign_preview(spec=spec, scope=OPERATOR).to_dict()
    assert preview["email"]["et"]["format"] == "html"
    messages = sent_messages(spec)
    html = parts(messages[bold.external_id])["text/html"]
    assert "Tere &lt;b&gt;x&lt;/b&gt; Maasikas!" in html and "<b>x</b>" not in html
    assert "Hammas &amp; Co" in html
    assert "Tere <b>x</b> Maasikas!" in parts(messages[bold.external_id])["text/plain"]
    assert "Tom &amp; Jerry &quot;O&#x27;Brien&quot;" in parts(messages[tom.external_id])["text/html"]
    # The subject is a header, not HTML: the name as it is.
    assert messages[tom.external_id]["Subject"] == "Tere Tom & Jerry"


def test_plain_body_keeps_merge_values_as_they_are(make_patient: Any) -> None:
    tom = make_patient(first_name="Tom & Jerry")
    spec = email_spec("Tere {first_name}!\n\n<- see below")
    messages = sent_messages(spec)
    assert parts(messages[tom.external_id]) == {"text/plain": "Tere Tom & Jerry!\r\n\r\n<- see below"}


def test_plain_body_stays_plain_when_a_name_starts_like_a_tag(make_patient: Any) -> None:
    # The writer takes a body that begins with "<" for HTML. A plain-text template that begins with a merge field
    # must not turn into an HTML e-mail because of a patient's name.
    odd = make_patient(first_name="<b>x</b>")
    spec = email_spec("{first_name}, tere!\nTeie kliinik")
    preview = campaign_preview(spec=spec, scope=OPERATOR).to_dict()
    assert preview["email"]["et"]["format"] == "text"
    body = parts(sent_messages(spec)[odd.external_id])
    assert list(body) == ["text/plain"]
    assert body["text/plain"].lstrip("\u200b") == "<b>x</b>, tere!\r\nTeie kliinik"


def test_subject_longer_than_a_header_line_is_refused_at_preview(make_patient: Any) -> None:
    make_patient(first_name="Mari")
    make_patient(first_name="Maximiliana")
    subject = "x" * 985 + " {first_name}"  # 990 and 997 characters: both fit
    campaign_preview(spec=email_spec("Tere", subject=subject), scope=OPERATOR)
    long_subject = "x" * 990 + " {first_name}"  # 995 for Mari, 1002 for Maximiliana
    with pytest.raises(SpecError) as err:
        campaign_preview(spec=email_spec("Tere", subject=long_subject), scope=OPERATOR)
    assert str(err.value).startswith("content.et e-mail subject: 1 recipient's subject is longer than 998")
    assert "Maximiliana" not in str(err.value)


@pytest.mark.parametrize("subject", [
    "x" * 995,  # one long word: "Subject: " + 995 characters is more than a line may hold
    "Aeg " * 240,  # long, with spaces to fold at
    "õ" * 700,  # non-ASCII: encoded words, folded
    "Tere " + "y" * 600 + " õ " + "z" * 300,
])
def test_long_subjects_are_folded_on_the_wire(subject: str) -> None:
    message = OutgoingMessage(message_id=1, campaign_id=1, patient_ref="T1", channel=Channel.EMAIL,
                              to="mari@example.com", language="et", text="Tere", subject=subject,
                              sender="tallinn@hammas.example", sender_name="Hammas Tallinn")
    for text in ("Tere", "<p>Tere</p>"):
        wire, _ = EmailWriter().wire(OutgoingMessage(**{**_fields(message), "text": text}))
        assert max(len(line) for line in wire.split(b"\r\n")) <= 998
        parsed = email.message_from_bytes(wire, policy=email.policy.default)
        assert str(parsed["Subject"]) == subject


def _fields(message: OutgoingMessage) -> dict[str, Any]:
    return {name: getattr(message, name) for name in message.__slots__}  # type: ignore[attr-defined]


def test_one_rule_decides_what_is_html() -> None:
    assert looks_like_html("  <p>Tere</p>") and looks_like_html("<!doctype html><html></html>")
    assert not looks_like_html("Tere <b>Mari</b>") and not looks_like_html("")
    assert compile_template("<p>{first_name}</p>").render({"first_name": "<i>&"}, escape=True) == \
        "<p>&lt;i&gt;&amp;</p>"
    assert compile_template("{first_name}").render({"first_name": "<i>&"}) == "<i>&"
