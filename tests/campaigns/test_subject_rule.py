"""A subject the SMTP gateway would refuse is refused at the preview, with the field and the position (issue 16,
point 9): through the campaign file, the CLI preview and the rule the gateway itself uses."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from masspost.campaigns.spec import CampaignSpec
from masspost.content.header import header_problem
from masspost.delivery.gateways.base import OutgoingMessage
from masspost.delivery.gateways.smtp_message import EmailWriter, InvalidMessageError
from masspost.errors import SpecError
from tests.conftest import campaign


def email(subject: str, lang: str = "et") -> dict[str, Any]:
    return campaign(channel="email", content={lang: {"email_subject": subject, "email_body": "Tere {first_name}"}})


@pytest.mark.parametrize(("subject", "message"), [
    ("Tere Mari,\r\nBcc: all@example.com", "content.et.email_subject: line break at character 11"),
    ("Meeldetuletus\naeg homme", "content.et.email_subject: line break at character 14"),
    ("Meeldetuletus\taeg", "content.et.email_subject: control character U+0009 at character 14"),
    ("Aeg\u2028homme", "content.et.email_subject: line break at character 4"),
])
def test_a_subject_the_gateway_refuses_is_refused_by_the_spec(subject: str, message: str) -> None:
    with pytest.raises(SpecError, match="^" + re.escape(message)):
        CampaignSpec.from_dict(email(subject))


def test_the_language_is_named_as_the_file_has_it_in_lower_case() -> None:
    with pytest.raises(SpecError, match=r"^content\.ru\.email_subject: line break at character 1 "):
        CampaignSpec.from_dict(email("\nПривет", lang="RU"))


def message(subject: str) -> OutgoingMessage:
    return OutgoingMessage(message_id=1, campaign_id=1, patient_ref="P1", channel="email", to="mari@example.com",
                           language="et", subject=subject, text="Tere", sender="tallinn@hammas.example",
                           sender_name="Hammas")


@given(st.text(max_size=60))
def test_what_the_spec_accepts_the_gateway_writes_and_what_it_refuses_the_gateway_refuses(subject: str) -> None:
    writer = EmailWriter()
    if header_problem(subject) is None:
        writer.wire(message(subject))
    else:
        with pytest.raises(InvalidMessageError):
            writer.wire(message(subject))


@pytest.mark.django_db
def test_the_cli_preview_refuses_it_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(email("Tere\r\nX-Injected: 1")), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("preview", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(refused.value) == "content.et.email_subject: line break at character 5 (a subject is one line)"
