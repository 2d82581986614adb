"""What the command line says of issue 19: `masspost preview` prints when each clinic's messages go, the deadline,
the 24 h warning and an approval needed; `masspost send` says "scheduled for …" or "waiting for approval";
`masspost campaigns` and `masspost status` show a campaign waiting for its start or its approval."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic, Patient
from tests.cli.test_commands import run, write_json
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_patient: Any) -> list[Patient]:
    return [make_patient(), make_patient(language="ru")]


def in_days(days: int) -> dt.date:
    return timezone.now().astimezone(dt.UTC).date() + dt.timedelta(days=days)


def file(tmp_path: Path, **overrides: Any) -> str:
    return str(write_json(tmp_path / "campaign.json", campaign(**overrides)))


def test_preview_says_when_each_clinic_starts_after_its_quiet_hours_and_the_deadline(
        tmp_path: Path, clinic: Clinic, two: list[Patient], settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"  # the tests' default is "always"
    day = in_days(2)
    out = run("preview", file(tmp_path, send_at=f"{day}T03:00"))
    assert f"Starts: {day} 03:00 in each clinic's local time" in out
    # 03:00 in Tallinn is before its service window opens at 08:00: its messages wait for the opening.
    assert f"  TLN: from {day:%a} {day} 08:00 Europe/Tallinn, after the quiet hours (window Mon-Sun 08:00-21:00)" \
        in out
    deadline = (dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=ZoneInfo("Europe/Tallinn"))
                + dt.timedelta(days=3)).astimezone(dt.UTC)
    assert f"deadline {deadline:%Y-%m-%d %H:%M} UTC (what is not sent by then expires)" in out
    assert "Approval needed" not in out and "warning: campaign" not in out


def test_preview_without_send_at_starts_at_once(tmp_path: Path, clinic: Clinic, two: list[Patient],
                                               settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"
    Clinic.objects.filter(pk=clinic.pk).update(service_window="Mon-Sun 00:00-24:00")
    out = run("preview", file(tmp_path))
    assert "Starts: at once; deadline " in out and "  TLN: from " in out and "after the" not in out


def test_a_scheduled_send_says_so_and_the_list_and_status_show_it(tmp_path: Path, clinic: Clinic,
                                                                  two: list[Patient]) -> None:
    start = (timezone.now() + dt.timedelta(days=1)).astimezone(dt.UTC).replace(second=0, microsecond=0)
    path = file(tmp_path, send_at=start.isoformat())
    out = run("send", path, yes=True)
    sent = Campaign.objects.get().id  # ids are not reused between tests on PostgreSQL
    assert out.startswith(f"campaign {sent}: 2 messages queued, scheduled for " + f"{start:%Y-%m-%d %H:%M} UTC"), out
    listed = run("campaigns")
    assert f"scheduled {start:%Y-%m-%d %H:%M} UTC" in listed
    assert json.loads(run("campaigns", json=True))["campaigns"][0]["waiting"] == "scheduled"
    status = run("status", str(sent))
    assert f"  scheduled for {start:%Y-%m-%d %H:%M} UTC, not started yet" in status


def test_an_approval_is_announced_by_the_preview_and_the_send(tmp_path: Path, clinic: Clinic,
                                                             two: list[Patient]) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(approval_over=1)
    path = file(tmp_path)
    preview = run("preview", path)
    assert ("Approval needed: clinic TLN asks for a second sender's approval for more than 1 recipient (this "
            "campaign: 2)") in preview
    out = run("send", path, yes=True)
    sent = Campaign.objects.get().id
    assert out.startswith(f"campaign {sent}: 2 messages waiting for approval: "), out
    assert json.loads(run("send", path, yes=True, json=True))["approval"] == "pending"
    assert "awaiting approval" in run("campaigns")
    assert "  waiting for approval: another sender must approve it" in run("status", str(sent))


def test_the_preview_warns_of_a_campaign_to_the_same_patients_within_24_hours(
        tmp_path: Path, clinic: Clinic, two: list[Patient]) -> None:
    run("send", file(tmp_path, name="Earlier"), yes=True)
    out = run("preview", file(tmp_path, name="Again"))
    assert f'warning: campaign {Campaign.objects.get().id} "Earlier", sent ' in out
    assert "reached 2 of these 2 recipients in the last 24 hours" in out
