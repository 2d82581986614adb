"""HTML e-mail bodies are cleaned when the campaign is read (issue 16, point 10): the cleaned body is what the
preview shows, what its token covers and what is sent; the preview says what was taken out."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import SpecError
from tests.conftest import campaign

OPERATOR = Scope.operator()
DIRTY = ('<p onclick="steal()">Tere {first_name}!</p><script>fetch("https://evil.example")</script>'
         '<p><a href="javascript:alert(1)">Broneeri</a> <a href="https://hammas.example/aeg">aeg</a></p>')
CLEAN = '<p>Tere {first_name}!</p><p><a>Broneeri</a> <a href="https://hammas.example/aeg">aeg</a></p>'


def email_campaign(body: str = DIRTY, **overrides: Any) -> dict[str, Any]:
    return campaign(channel="email", content={"et": {"email_subject": "Meeldetuletus", "email_body": body}},
                    **overrides)


def test_the_spec_holds_the_cleaned_body_and_what_went() -> None:
    spec = CampaignSpec.from_dict(email_campaign())
    assert dict(spec.content)["et"].email_body == CLEAN
    assert [r["text"] for r in spec.email_removed()["et"]] == ["onclick attribute", "<script> element",
                                                               "javascript: link"]
    # The same texts written clean are the same campaign: the same content digest, so the same token.
    assert spec.content_digest() == CampaignSpec.from_dict(email_campaign(CLEAN)).content_digest()
    assert CampaignSpec.from_dict(spec.to_dict()).content_digest() == spec.content_digest()


def test_a_plain_text_body_is_not_touched() -> None:
    text = "Tere {first_name}! <script> is just text here"
    spec = CampaignSpec.from_dict(email_campaign(text))
    assert dict(spec.content)["et"].email_body == text and spec.email_removed() == {}


def test_a_body_of_nothing_but_script_is_refused() -> None:
    with pytest.raises(SpecError, match=r"^content\.et\.email_body: nothing is left .* \(<script> element\)"):
        CampaignSpec.from_dict(email_campaign("<script>alert(1)</script>"))


@pytest.mark.django_db
def test_what_is_sent_is_the_cleaned_body_the_preview_showed(make_patient: Any) -> None:
    make_patient(first_name="<b>Mari</b>")
    spec = CampaignSpec.from_dict(email_campaign())
    preview = campaign_preview(spec=spec, scope=OPERATOR).to_dict()
    sample = preview["email"]["et"]["sample"]["text"]
    assert "<script" not in sample and "onclick" not in sample and "javascript:" not in sample
    assert "Tere &lt;b&gt;Mari&lt;/b&gt;!" in sample  # merge values still escaped
    assert preview["email_sanitised"]["et"][0] == {"kind": "attribute", "name": "onclick", "count": 1,
                                                   "text": "onclick attribute"}
    campaign_send(spec=CampaignSpec.from_dict(email_campaign()), scope=OPERATOR, token=preview["token"])
    assert list(OutboxMessage.objects.values_list("body", flat=True)) == [sample]


@pytest.mark.django_db
def test_the_cli_preview_says_what_was_removed(make_patient: Any, tmp_path: Path) -> None:
    make_patient()
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(email_campaign()), encoding="utf-8")
    out = io.StringIO()
    call_command("preview", str(path), stdout=out, stderr=io.StringIO())
    assert "  removed from the e-mail (et): onclick attribute, <script> element, javascript: link\n" in out.getvalue()
    out = io.StringIO()
    call_command("preview", str(path), "--json", stdout=out, stderr=io.StringIO())
    assert [r["text"] for r in json.loads(out.getvalue())["email_sanitised"]["et"]] == [
        "onclick attribute", "<script> element", "javascript: link"]
