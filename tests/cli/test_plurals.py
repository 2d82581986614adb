"""The command line counts in proper English: "1 patient", "1 message queued" — never "1 patients" (issue 16,
point 18)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from masspost.cli.wording import agree, count
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
WRONG = re.compile(r"\b1 (patients|recipients|messages|parts|SMS parts|e-mails|campaigns|clinics|visits)\b")


def run(*args: Any, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_count_and_agree() -> None:
    assert [count(n, "patient") for n in (0, 1, 2)] == ["0 patients", "1 patient", "2 patients"]
    assert count(1, "recipient gets", "recipients get") == "1 recipient gets"
    assert count(3, "recipient gets", "recipients get") == "3 recipients get"
    assert (agree(1, "has", "have"), agree(5, "has", "have")) == ("has", "have")


def test_one_patient_one_message_one_part(make_patient: Any, tmp_path: Path) -> None:
    make_patient()
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign(content={"et": {"sms": "Tere {first_name}!"}})), encoding="utf-8")
    screen = run("preview", str(path))
    assert "1 patient matches the audience" in screen
    assert "  SMS et: 1 recipient, 1 part each (GSM-7 1), 1 part in all" in screen
    assert "Total: 1 SMS part, 0 e-mails" in screen
    sent = run("send", str(path), "--yes")
    assert re.search(r"campaign \d+: 1 message queued \(run `masspost worker` to deliver it\)", sent)
    campaign_id = re.search(r"campaign (\d+)", sent)[1]  # type: ignore[index]
    paused = run("pause", campaign_id)
    assert paused == f"campaign {campaign_id} paused: 1 queued message held (messages being sent finish)\n"
    assert run("resume", campaign_id) == f"campaign {campaign_id} resumed: 1 message queued again\n"
    assert run("cancel", campaign_id) == f"campaign {campaign_id} cancelled: 1 queued message will not be sent\n"
    for output in (screen, sent, paused):
        assert not WRONG.search(output), output


def test_the_newest_campaign_shown(make_patient: Any, tmp_path: Path) -> None:
    make_patient()
    path = tmp_path / "campaign.json"
    for name in ("One", "Two"):
        path.write_text(json.dumps(campaign(name=name)), encoding="utf-8")
        run("send", str(path), "--yes")
    err = io.StringIO()
    call_command("campaigns", limit=1, stdout=io.StringIO(), stderr=err)
    assert "the newest campaign shown (--limit 0 lists all)" in err.getvalue()
