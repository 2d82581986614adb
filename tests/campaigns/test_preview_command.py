"""`masspost preview` and `masspost send` show what the preview learnt: the screen and --json, in-process."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


def run(*args: Any, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def write(tmp_path: Path, **overrides: Any) -> str:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign(**overrides), ensure_ascii=False), encoding="utf-8")
    return str(path)


CONTENT = {"et": {"sms": "Tere {first_name}! Aeg on homme – tule!", "email_subject": "Tere",
                  "email_body": "<p>Tere {first_name}</p>"}}


def test_preview_screen_says_what_the_preview_learnt(make_patient: Any, clinic: Clinic, tmp_path: Path) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(email="")
    make_patient(first_name="Tõnu")
    nameless = make_patient(first_name="")
    make_patient(status="deceased")
    with override_settings(MASSPOST_SMS_PART_PRICE="0.05 EUR"):
        screen = run("preview", write(tmp_path, channel="both", content=CONTENT))
    assert "not selected: 1 deceased (3 match the filter in all)" in screen
    assert "  et: 2 sms, 0 email\n" in screen
    assert "UCS-2 (70 characters a part instead of 160) because of: 'õ' (U+00F5 LATIN SMALL LETTER O WITH TILDE, " \
           "in names or clinic details), '–' (U+2013 EN DASH, in the text)" in screen
    assert "cheaper" not in screen  # one part each either way
    assert "left out of email: 2 — their clinic has no usable sender (TLN: the clinic has no e-mail address)" in screen
    assert f"warning: 1 SMS recipient (et) gets an empty merge field ({{first_name}} 1): {nameless.external_id}" \
        in screen
    assert "Total: 2 SMS parts (0.10 EUR at 0.05 a part), 0 e-mails" in screen


def test_preview_screen_offers_the_cheaper_punctuation(make_patient: Any, tmp_path: Path) -> None:
    make_patient(first_name="Mari")
    text = "Tere {first_name}! " + "Teie aeg on homme. " * 3 + "Tule – ootame!"
    screen = run("preview", write(tmp_path, content={"et": {"sms": text}}))
    assert f"cheaper: replace '–' by '-' at {text.index('–') + 1} to save 1 part (2 → 1)" in screen


def test_preview_json_keeps_its_keys_and_adds_new_ones(make_patient: Any, tmp_path: Path) -> None:
    make_patient()
    data = json.loads(run("preview", write(tmp_path, channel="both", content=CONTENT), json=True))
    assert set(data) >= {"recipients", "excluded", "sms_parts_total", "emails_total", "token",
                         "no_sender_clinics", "empty_merge_fields", "sms_cost"}
    assert set(data["audience"]) >= {"patients", "matched", "not_selected"}
    assert set(data["sms"]["et"]) >= {"ucs2_characters", "suggestion", "cost"}
    assert data["email"]["et"]["format"] == "html"


def test_nothing_to_send(make_patient: Any, tmp_path: Path) -> None:
    make_patient(accepts_sms=False)
    path = write(tmp_path)
    screen = run("preview", path)
    assert "Nothing to send: no patient gets a message." in screen and "Token:" not in screen
    token = json.loads(run("preview", path, json=True))["token"]
    for options in ({"token": token}, {}):
        with pytest.raises(CommandError, match="^nothing to send: no patient gets a message"):
            run("send", path, yes=True, **options)
    assert Campaign.objects.count() == 0
