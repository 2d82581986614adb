"""A campaign's name and texts hold no NUL and no other control character a text cannot have (issue 16, point 5):
PostgreSQL refuses a NUL in a JSON or text column, so such a campaign failed there with a 500 at the preview and
at sending. The campaign file's judge (CampaignSpec.from_dict) refuses it with the field and the position — the
subject's rule (masspost.content.header) for the name, line breaks and tabs allowed in an SMS and a body."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.spec import CampaignSpec
from masspost.errors import SpecError
from tests.conftest import campaign


def email(**texts: str) -> dict[str, Any]:
    return campaign(channel="both", content={"et": {"sms": "Tere {first_name}!", "email_subject": "Meeldetuletus",
                                                    "email_body": "Tere {first_name}"} | texts})


@pytest.mark.parametrize(("data", "message"), [
    (email(sms="Tere\x00"), "content.et.sms: control character U+0000 at character 5"),
    (email(email_body="Tere\r\n\x00 {first_name}"), "content.et.email_body: control character U+0000 at character 7"),
    (email(email_body="<p>Tere\x00</p>"), "content.et.email_body: control character U+0000 at character 8"),
    (email(email_body="Tere\x0b"), "content.et.email_body: control character U+000B at character 5"),
    (email(sms="Tere\x1b[31m"), "content.et.sms: control character U+001B at character 5"),
    (email(email_subject="Aeg\x00"), "content.et.email_subject: control character U+0000 at character 4"),
    (campaign(name="Kutse\x00"), "name: control character U+0000 at character 6 (a name is one line)"),
    (campaign(name="Kutse\nteine rida"), "name: line break at character 6 (a name is one line)"),
])
def test_a_control_character_is_refused_with_the_field_and_position(data: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match="^" + re.escape(message)):
        CampaignSpec.from_dict(data)


def test_line_breaks_and_tabs_in_texts_are_kept() -> None:
    spec = CampaignSpec.from_dict(email(sms="Tere!\r\nAeg:\thomme", email_body="Tere\n\n\t{first_name}"))
    texts = dict(spec.content)["et"]
    assert texts.sms == "Tere!\r\nAeg:\thomme" and texts.email_body == "Tere\n\n\t{first_name}"


@pytest.mark.django_db
def test_the_cli_preview_refuses_it_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(email(sms="Tere\u0000 {first_name}")), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("preview", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(refused.value) == ("content.et.sms: control character U+0000 at character 5 (a text may have line "
                                  "breaks and tabs, no other control character)")
