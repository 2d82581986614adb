"""`masspost campaigns` lists the campaigns with their progress; commands that take a campaign id say so."""

from __future__ import annotations

import getpass
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from masspost.campaigns.listing import campaign_list
from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.cli.test_commands import masspost, one_line_error, run, write_json
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


def send(tmp_path: Path, **overrides: Any) -> int:
    path = write_json(tmp_path / f"c{Campaign.objects.count()}.json", campaign(**overrides))
    return int(json.loads(run("send", str(path), yes=True, json=True))["campaign"])


@pytest.fixture
def three_campaigns(clinic: Clinic, other_clinic: Clinic, make_patient: Any, tmp_path: Path) -> dict[str, int]:
    for _ in range(3):
        make_patient(language="et")
    make_patient(language="et", clinic=other_clinic)
    recall = send(tmp_path, name="Recall", audience={"clinics": ["TLN"], "reference_date": "2026-11-25"})
    OutboxMessage.objects.filter(campaign_id=recall, id__in=OutboxMessage.objects.filter(
        campaign_id=recall).order_by("id").values("id")[:2]).update(status="sent")
    OutboxMessage.objects.filter(campaign_id=recall, status="queued").update(status="failed")
    offer = send(tmp_path, name="Offer", purpose="marketing")
    run("pause", str(offer))
    tartu = send(tmp_path, name="Tartu only", audience={"clinics": ["TRT"], "reference_date": "2026-11-25"})
    return {"recall": recall, "offer": offer, "tartu": tartu}


def test_campaigns_lists_newest_first_with_author_purpose_status_and_progress(three_campaigns: dict[str, int]
                                                                              ) -> None:
    listed = json.loads(run("campaigns", json=True))
    assert [c["name"] for c in listed["campaigns"]] == ["Tartu only", "Offer", "Recall"]
    recall = listed["campaigns"][2]
    assert recall["id"] == three_campaigns["recall"]
    assert (recall["author"], recall["purpose"], recall["channel"], recall["status"]) == (
        f"command line ({getpass.getuser()})", "service", "sms", "done")  # no user name can be that
    assert recall["progress"] == {"total": 3, "sent": 2, "pending": 0, "problems": 1}
    assert recall["messages"]["failed"] == 1 and recall["created_at"].startswith("20")
    offer, tartu = listed["campaigns"][1], listed["campaigns"][0]
    assert (offer["purpose"], offer["status"], offer["progress"]["pending"]) == ("marketing", "paused", 4)
    assert (tartu["status"], tartu["progress"]) == ("sending", {"total": 1, "sent": 0, "pending": 1,
                                                                "problems": 0})


def test_campaigns_as_a_table(three_campaigns: dict[str, int]) -> None:
    lines = run("campaigns").splitlines()
    assert lines[0].split() == ["ID", "CREATED", "(UTC)", "AUTHOR", "PURPOSE", "STATUS", "PROGRESS", "NAME"]
    recall = next(line for line in lines if line.endswith("Recall"))
    assert f"{three_campaigns['recall']}" == recall.split()[0]
    assert "2 of 3 sent · 1 failed" in recall and " done " in recall and " service " in recall


def test_campaigns_filtered_by_status(three_campaigns: dict[str, int]) -> None:
    listed = json.loads(run("campaigns", json=True, status=["paused", "sending"]))
    assert [c["name"] for c in listed["campaigns"]] == ["Tartu only", "Offer"]
    with pytest.raises(CommandError, match="invalid choice"):
        run("campaigns", "--status", "lost")


def test_a_user_sees_only_campaigns_of_their_clinics(three_campaigns: dict[str, int], clinic: Clinic) -> None:
    scope = Scope(actor="mari", clinic_ids=frozenset({clinic.id}))
    assert [c.name for c in campaign_list(scope=scope)] == ["Recall"]  # "Offer" reached Tartu too


def test_campaigns_progress_takes_one_query_for_all_campaigns(three_campaigns: dict[str, int]) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = campaign_list(scope=Scope.operator())
    assert len(rows) == 3 and len(queries) == 2  # the campaigns, then one GROUP BY over their messages


def test_campaigns_limit_says_what_it_left_out(three_campaigns: dict[str, int]) -> None:
    err = io.StringIO()
    out = io.StringIO()
    call_command("campaigns", limit=2, stdout=out, stderr=err)
    assert [line.split()[-1] for line in out.getvalue().splitlines()[1:]] == ["only", "Offer"]
    assert "the newest 2 campaigns shown" in err.getvalue() and "--limit 0" in err.getvalue()


def test_no_campaigns_yet(db: Any) -> None:
    assert "no campaigns yet" in run("campaigns")
    assert json.loads(run("campaigns", json=True)) == {"campaigns": []}


@pytest.mark.parametrize("command", ["status", "pause", "resume", "cancel", "resend-unknown"])
@pytest.mark.parametrize("argument", [[], ["twelve"]])
def test_a_command_that_takes_a_campaign_id_says_so(tmp_path: Path, command: str, argument: list[str]) -> None:
    message = one_line_error(masspost(tmp_path, command, *argument))
    assert message == (f"CommandError: {command} takes a campaign id: masspost {command} 12; "
                       "list them with masspost campaigns")
