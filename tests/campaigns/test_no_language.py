"""Patients without a communication language of their own get their clinic's default language: the preview and
the live count say how many, per language given (docs/campaign.md, "Preview"), in the CLI too."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def unset(make_patient: Any, clinic: Clinic, other_clinic: Clinic) -> None:
    """Tallinn speaks Estonian by default, Tartu (here) Russian. Without a language: two in Tallinn, one in Tartu
    (and an archived one, never selected); with one: an Estonian speaker in each, a Russian in Tallinn."""
    Clinic.objects.filter(pk=other_clinic.pk).update(default_language="ru")
    make_patient(language="")
    make_patient(language="", accepts_sms=False)  # left out of the SMS, still given Estonian
    make_patient(language="", clinic=other_clinic)
    make_patient(language="", status="archived")
    make_patient(language="et")
    make_patient(language="et", clinic=other_clinic)
    make_patient(language="ru")


def test_the_preview_counts_who_gets_their_clinics_language(unset: None) -> None:
    data = campaign_preview(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator(), audit=False).to_dict()
    assert data["no_language"] == {"et": 2, "ru": 1}
    assert data["audience"]["patients"] == 6


def test_the_live_count_says_the_same(unset: None) -> None:
    spec = CampaignSpec.from_dict(campaign())
    assert campaign_counts(spec=spec, scope=Scope.operator())["no_language"] == {"et": 2, "ru": 1}
    # Grouped by clinic too when a clinic cannot send: the same numbers.
    Clinic.objects.filter(code="TRT").update(sms_sender="")
    assert campaign_counts(spec=spec, scope=Scope.operator())["no_language"] == {"et": 2, "ru": 1}


def test_nobody_without_a_language_is_an_empty_object(make_patient: Any) -> None:
    make_patient(language="et")
    spec = CampaignSpec.from_dict(campaign())
    assert campaign_preview(spec=spec, scope=Scope.operator(), audit=False).to_dict()["no_language"] == {}
    assert campaign_counts(spec=spec, scope=Scope.operator())["no_language"] == {}


def test_the_outcome_is_the_same_as_with_the_language_written(make_patient: Any, clinic: Clinic) -> None:
    """Telling the two apart changes only the count: who gets what, and the token, are the same."""
    patient = make_patient(language="")
    spec = CampaignSpec.from_dict(campaign())
    unset = campaign_preview(spec=spec, scope=Scope.operator(), audit=False).to_dict()
    type(patient).objects.filter(pk=patient.pk).update(language="et")
    written = campaign_preview(spec=spec, scope=Scope.operator(), audit=False).to_dict()
    assert unset["recipients"] == written["recipients"]
    assert unset["recipients"]["et"] == {"sms": 1, "email": 0}
    assert unset["token"] == written["token"]
    assert (unset["no_language"], written["no_language"]) == ({"et": 1}, {})


def _cli(tmp_path: Path, *args: str) -> str:
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign()), encoding="utf-8")
    out = io.StringIO()
    call_command("preview", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_cli_says_it(unset: None, tmp_path: Path) -> None:
    screen = _cli(tmp_path)
    assert "2 patients have no language set: they get et, their clinic's language" in screen
    assert "1 patient has no language set: they get ru, their clinic's language" in screen
    assert json.loads(_cli(tmp_path, "--json"))["no_language"] == {"et": 2, "ru": 1}
    assert json.loads(_cli(tmp_path, "--counts-only"))["no_language"] == {"et": 2, "ru": 1}


def test_decides_carries_whether_the_language_is_the_clinics(make_patient: Any, other_clinic: Clinic) -> None:
    from masspost.audience.filter import AudienceFilter
    from masspost.audience.selectors import Decides, audience_resolve, audience_rows

    own = make_patient(language="et", clinic=other_clinic)
    given = make_patient(language="", clinic=other_clinic)
    resolved = audience_resolve(audience=AudienceFilter(), scope=Scope.operator())
    rows = {row[0]: row for chunk in audience_rows(resolved) for row in chunk}
    assert (rows[own.id][4], rows[given.id][4]) == ("et", "et")  # the language used: the same
    assert Decides.unpack(rows[own.id][5]).language_unset is False
    assert Decides.unpack(rows[given.id][5]).language_unset is True
    assert Decides.unpack(rows[given.id][5]).clinic_id == other_clinic.id
