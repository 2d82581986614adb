"""The 24-hour warning (issue 19): a preview says when a campaign sent in the last 24 hours already messaged more
than half of the patients it would message ("152 of these 154 patients got “Recall A”")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from masspost.audience.selectors import audience_resolve
from masspost.campaigns.recent import RecentOverlap, recent_overlap
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import sweep
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from tests.campaigns.test_recently_messaged import sent_before
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
HOURS = dt.timedelta(hours=2)


def overlap(**fields: Any) -> RecentOverlap | None:
    spec = CampaignSpec.from_dict(campaign(**fields))
    resolved = audience_resolve(audience=spec.audience, scope=Scope.operator())
    result = sweep(spec=spec, resolved=resolved)
    return recent_overlap(resolved=resolved, spec=spec, recipients=result.recipients, now=timezone.now())


def test_152_of_these_154_patients_got_recall_a(make_patient: Any) -> None:
    patients = [make_patient() for _ in range(154)]
    recall = sent_before(patients[:152], purpose="service", name="Recall A", ago=HOURS)
    found = overlap()
    assert found is not None
    assert found.to_dict() == {"campaign_id": recall.id, "name": "Recall A", "sent_at": recall.created_at.isoformat(),
                               "patients": 152, "of": 154, "starts_at": None}
    data = campaign_preview(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator()).to_dict()
    assert data["recent_campaign"] == found.to_dict()


def test_a_campaign_still_waiting_for_its_start_is_named_with_its_start(make_patient: Any) -> None:
    patients = [make_patient() for _ in range(4)]
    scheduled = sent_before(patients, purpose="service", name="Recall C", ago=HOURS)
    start = timezone.now() + dt.timedelta(days=1)
    type(scheduled).objects.filter(id=scheduled.id).update(send_at=start)
    found = overlap()
    assert found is not None and found.starts_at == start  # "are to get", not "got"
    type(scheduled).objects.filter(id=scheduled.id).update(started_at=timezone.now())
    found = overlap()
    assert found is not None and found.starts_at is None  # it has started: they got it


def test_half_or_fewer_is_no_warning_more_than_half_is(make_patient: Any) -> None:
    patients = [make_patient() for _ in range(10)]
    sent_before(patients[:5], purpose="service", ago=HOURS)
    assert overlap() is None
    sent_before(patients[:6], purpose="service", name="Recall B", ago=HOURS)
    found = overlap()
    assert found is not None and (found.name, found.patients, found.of) == ("Recall B", 6, 10)


def test_only_the_last_24_hours_and_only_messages_that_went(make_patient: Any) -> None:
    patients = [make_patient() for _ in range(4)]
    sent_before(patients, purpose="service", ago=dt.timedelta(hours=25))
    sent_before(patients, purpose="service", ago=HOURS, status="cancelled")
    assert overlap() is None


def test_the_campaign_that_shares_the_most_is_named(make_patient: Any) -> None:
    patients = [make_patient() for _ in range(10)]
    sent_before(patients[:7], purpose="service", name="Recall A", ago=HOURS)
    sent_before(patients[:9], purpose="service", name="Recall B", ago=dt.timedelta(hours=5))
    found = overlap()
    assert found is not None and (found.name, found.patients) == ("Recall B", 9)


def test_patients_left_out_now_are_not_counted(make_patient: Any) -> None:
    # A marketing campaign today leaves its patients out of the next marketing campaign (recently_messaged): they
    # get nothing twice, so nothing to warn of.
    patients = [make_patient() for _ in range(4)]
    sent_before(patients[:3], purpose="marketing", ago=HOURS)
    assert overlap(purpose="marketing") is None
    # Opted out since: not among the recipients either.
    for p in patients[:3]:
        p.accepts_sms = False
        p.save()
    assert overlap(purpose="marketing", recently_messaged_days=0) is None


def test_a_campaign_the_user_may_not_see_is_not_named(make_patient: Any, other_clinic: Clinic) -> None:
    patients = [make_patient() for _ in range(4)]
    sent_before(patients, purpose="service", ago=HOURS, clinics=("TLN", "TRT"))
    spec = CampaignSpec.from_dict(campaign(audience={"reference_date": "2026-11-25", "clinics": ["TLN"]}))
    resolved = audience_resolve(audience=spec.audience, scope=Scope.operator())
    assert recent_overlap(resolved=resolved, spec=spec, recipients=4, now=timezone.now()) is None
    assert recent_overlap(resolved=resolved, spec=spec, recipients=4, now=timezone.now(),
                          scope=Scope.operator()) is not None
