"""The send of a scheduled campaign (issue 19): each clinic's sending windows, its messages' first attempts and
deadlines, the "scheduled" gate until the start; reschedule and cancel until it starts; a clinic's rule that a
marketing campaign is tested on oneself first. The clock is `now=` (no test waits for a time)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from masspost.campaigns.controls import controls_applicable
from masspost.campaigns.listing import campaign_list
from masspost.campaigns.models import AuditEvent, Campaign, CampaignState
from masspost.campaigns.selectors import campaign_get, campaign_preview
from masspost.campaigns.services import campaign_cancel, campaign_reschedule, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.test_send import campaign_test_send
from masspost.campaigns.timing import campaign_timing
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import CampaignGate, OutboxMessage, SendingWindow
from masspost.delivery.windows import outbox_first_openings, outbox_start_due
from masspost.errors import ConflictError, SpecError
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_scope
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()
UTC = dt.UTC
NOW = dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # Monday 12:00 in Tallinn, 11:00 in Berlin


@pytest.fixture(autouse=True)
def clinic_windows(settings: Any) -> None:
    """Each clinic's sending windows and holidays apply (production's default; the tests' default is "always")."""
    settings.MASSPOST_SENDING_WINDOWS = "clinics"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def spec(purpose: str = "marketing", **overrides: Any) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(purpose=purpose, **overrides))


@pytest.fixture
def berlin(db: Any) -> Clinic:
    return Clinic.objects.create(code="BER", name="Zahn Berlin", country="DE", time_zone="Europe/Berlin",
                                 default_language="en", phone="+49 30 1000", email="berlin@zahn.example",
                                 sms_sender="ZahnBER")


@pytest.fixture
def patients(clinic: Clinic, berlin: Clinic, make_patient: Any) -> list[Patient]:
    return [make_patient(), make_patient(language="ru"), make_patient(clinic=berlin, language="en")]


def rows(campaign_id: int) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    """clinic id → [(next_attempt_at, deadline)] of the campaign's messages."""
    out: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for clinic_id, due, deadline in (OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id")
                                     .values_list("clinic_id", "next_attempt_at", "deadline")):
        out.setdefault(clinic_id, []).append((due, deadline))
    return out


def windows(campaign_id: int) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    out: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for clinic_id, a, b in (SendingWindow.objects.filter(campaign_id=campaign_id).order_by("clinic_id", "opens_at")
                            .values_list("clinic_id", "opens_at", "closes_at")):
        out.setdefault(clinic_id, []).append((a, b))
    return out


def test_a_scheduled_send_writes_each_clinics_windows_first_attempts_and_deadlines(
        clinic: Clinic, berlin: Clinic, patients: list[Patient]) -> None:
    s = spec(send_at="2027-03-02T08:30")  # local: 06:30 UTC in Tallinn, 07:30 UTC in Berlin — before 09:00
    preview = campaign_preview(spec=s, scope=OPERATOR, now=NOW)
    outcome = campaign_send(spec=s, scope=OPERATOR, token=str(preview.token), now=NOW)
    timing = campaign_timing(spec=s, clinics=(clinic, berlin), now=NOW)
    ber, tln = timing.clinics
    assert tln.opens_at == utc(2027, 3, 2, 7, 0) and ber.opens_at == utc(2027, 3, 2, 8, 0)

    assert outcome.created and outcome.messages == 3 and outcome.approval == ""
    assert outcome.send_at == utc(2027, 3, 2, 6, 30)  # the earliest clinic's start
    c = Campaign.objects.get(id=outcome.campaign_id)
    assert (c.send_at, c.deadline, c.started_at) == (utc(2027, 3, 2, 6, 30), ber.deadline, None)
    gate = CampaignGate.objects.get(campaign_id=c.id)
    assert (gate.reason, gate.until, gate.marketing) == ("scheduled", utc(2027, 3, 2, 6, 30), True)
    assert rows(c.id) == {clinic.id: [(tln.opens_at, tln.deadline)] * 2, berlin.id: [(ber.opens_at, ber.deadline)]}
    assert windows(c.id) == {clinic.id: list(tln.intervals), berlin.id: list(ber.intervals)}
    assert outbox_first_openings(campaign_id=c.id, now=NOW) == {clinic.id: tln.opens_at, berlin.id: ber.opens_at}
    detail = AuditEvent.objects.get(action="campaign_send").detail
    assert (detail["send_at"], detail["deadline"], detail["approval"]) == (
        "2027-03-02T06:30:00+00:00", ber.deadline.isoformat(), None)
    # The preview said the same.
    schedule = preview.to_dict()["schedule"]
    assert schedule["scheduled"] and schedule["send_at"] == "2027-03-02T08:30:00"
    assert [(x["clinic"], x["opens_at"], x["held"]) for x in schedule["clinics"]] == [
        ("BER", ber.opens_at.isoformat(), "quiet_hours"), ("TLN", tln.opens_at.isoformat(), "quiet_hours")]


def test_a_send_at_once_inside_the_window_has_no_gate(patients: list[Patient], clinic: Clinic) -> None:
    outcome = campaign_send(spec=spec("service"), scope=OPERATOR, now=NOW)
    assert outcome.send_at is None and not CampaignGate.objects.exists()
    assert {due for due, _ in rows(outcome.campaign_id)[clinic.id]} == {NOW}
    assert {deadline for _, deadline in rows(outcome.campaign_id)[clinic.id]} == {NOW + dt.timedelta(days=3)}
    assert Campaign.objects.get(id=outcome.campaign_id).deadline == NOW + dt.timedelta(days=3)  # every clinic's


def test_a_clinic_with_no_opening_before_the_deadline_still_gets_its_rows_which_wait_to_expire(
        clinic: Clinic, make_patient: Any) -> None:
    make_patient()
    s = spec(send_at="2027-03-06T20:30", deadline="2027-03-06T23:00")  # Saturday evening, closed until Monday
    preview = campaign_preview(spec=s, scope=OPERATOR, now=NOW)
    assert preview.to_dict()["schedule"]["clinics"][0]["opens_at"] is None
    outcome = campaign_send(spec=s, scope=OPERATOR, now=NOW)
    assert rows(outcome.campaign_id) == {clinic.id: [(utc(2027, 3, 6, 18, 30), utc(2027, 3, 6, 21, 0))]}
    assert outbox_first_openings(campaign_id=outcome.campaign_id, now=NOW) == {clinic.id: None}


def test_a_passed_send_at_is_refused_and_nothing_is_written(patients: list[Patient]) -> None:
    with pytest.raises(SpecError, match="has passed"):
        campaign_send(spec=spec(send_at="2027-03-01T09:00"), scope=OPERATOR, now=NOW)
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()


def test_reschedule_moves_rows_windows_and_the_start(clinic: Clinic, berlin: Clinic,
                                                     patients: list[Patient]) -> None:
    outcome = campaign_send(spec=spec(send_at="2027-03-02T08:30"), scope=OPERATOR, now=NOW)
    cid = outcome.campaign_id
    timing = campaign_reschedule(campaign_id=cid, scope=OPERATOR, send_at=dt.datetime(2027, 3, 3, 19, 30),
                                 deadline=dt.datetime(2027, 3, 4, 12, 0), now=NOW)
    ber, tln = timing.clinics
    assert tln.starts_at == utc(2027, 3, 3, 17, 30) and tln.opens_at == tln.starts_at  # 19:30, open until 20:00
    assert ber.starts_at == utc(2027, 3, 3, 18, 30) and ber.opens_at == ber.starts_at  # 19:30 Berlin
    assert rows(cid) == {clinic.id: [(tln.opens_at, utc(2027, 3, 4, 10, 0))] * 2,
                         berlin.id: [(ber.opens_at, utc(2027, 3, 4, 11, 0))]}
    assert windows(cid)[clinic.id][0] == (tln.starts_at, utc(2027, 3, 3, 18, 0))
    assert CampaignGate.objects.get(campaign_id=cid).until == tln.starts_at
    c = Campaign.objects.get(id=cid)
    assert (c.send_at, c.deadline) == (tln.starts_at, utc(2027, 3, 4, 11, 0))
    event = AuditEvent.objects.get(action="campaign_reschedule")
    assert event.campaign_id == cid and event.detail == {"send_at": tln.starts_at.isoformat(),
                                                          "deadline": c.deadline.isoformat()}


def test_reschedule_to_now_lets_the_worker_start_it_at_once(clinic: Clinic, patients: list[Patient]) -> None:
    cid = campaign_send(spec=spec(send_at="2027-03-02T08:30"), scope=OPERATOR, now=NOW).campaign_id
    campaign_reschedule(campaign_id=cid, scope=OPERATOR, send_at=None, deadline=None, now=NOW)
    assert CampaignGate.objects.get(campaign_id=cid).until == NOW
    assert Campaign.objects.get(id=cid).send_at is None
    assert {due for due, _ in rows(cid)[clinic.id]} == {NOW}
    assert [c for c, _ in outbox_start_due(now=NOW)] == [cid]
    # Started: it can no longer be rescheduled.
    with pytest.raises(ConflictError) as refused:
        campaign_reschedule(campaign_id=cid, scope=OPERATOR, send_at=None, deadline=None, now=NOW)
    assert refused.value.reason == "started"


def test_reschedule_refuses_a_time_that_has_passed_and_changes_nothing(patients: list[Patient]) -> None:
    cid = campaign_send(spec=spec(send_at="2027-03-02T08:30"), scope=OPERATOR, now=NOW).campaign_id
    before = rows(cid)
    with pytest.raises(SpecError, match="has passed"):
        campaign_reschedule(campaign_id=cid, scope=OPERATOR, send_at=dt.datetime(2027, 2, 1, 9, 0), deadline=None,
                            now=NOW)
    assert rows(cid) == before and not AuditEvent.objects.filter(action="campaign_reschedule").exists()


def test_a_scheduled_campaign_cancelled_before_its_start_is_cancelled_whole(patients: list[Patient]) -> None:
    cid = campaign_send(spec=spec(send_at="2027-03-02T08:30"), scope=OPERATOR, now=NOW).campaign_id
    assert campaign_cancel(campaign_id=cid, scope=OPERATOR) == 3
    assert not CampaignGate.objects.exists()
    assert campaign_get(campaign_id=cid, scope=OPERATOR).state == CampaignState.CANCELLED
    with pytest.raises(ConflictError) as refused:
        campaign_reschedule(campaign_id=cid, scope=OPERATOR, send_at=None, deadline=None, now=NOW)
    assert refused.value.reason == "cancelled"


# --- a test to oneself first ----------------------------------------------------------------------------------

def sender(clinic: Clinic, name: str = "mari") -> Scope:
    user = get_user_model().objects.create_user(username=name, password="x")
    member = StaffMember.objects.create(user=user, role="sender", phone="+37255512345")
    member.clinics.set([clinic])
    scope = staff_scope(user=user)
    assert scope is not None
    return scope


def test_a_clinic_asking_for_a_test_first_refuses_the_marketing_send_until_one_was_sent(
        clinic: Clinic, make_patient: Any, settings: Any) -> None:
    settings.MASSPOST_SMS_URL = "memory:sms"
    MemoryGateway.reset()
    make_patient()
    clinic.test_before_marketing = True
    clinic.save()
    scope = sender(clinic)
    s = spec()
    preview = campaign_preview(spec=s, scope=scope, now=NOW)
    assert preview.to_dict()["test_send"] == {"required": True, "done": False}
    with pytest.raises(ConflictError, match="a test to yourself") as refused:
        campaign_send(spec=s, scope=scope, token=str(preview.token), now=NOW)
    assert refused.value.reason == "test_required"
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()
    # A service campaign is not asked for one.
    assert campaign_preview(spec=spec("service"), scope=scope, now=NOW).to_dict()["test_send"]["required"] is False

    campaign_test_send(spec=s, scope=scope, token=str(preview.token))
    assert [m.to for m in MemoryGateway.outboxes["sms"]] == ["+37255512345"]
    assert campaign_preview(spec=s, scope=scope, now=NOW).to_dict()["test_send"] == {"required": True, "done": True}
    assert campaign_send(spec=s, scope=scope, token=str(preview.token), now=NOW).created
    # Other texts are another campaign: tested anew.
    other = spec(content={"et": {"sms": "Uus tekst"}})
    with pytest.raises(ConflictError, match="a test to yourself"):
        campaign_send(spec=other, scope=scope, now=NOW)
    MemoryGateway.reset()


@pytest.mark.parametrize(("state", "scheduled", "approval", "applicable"), [
    ("active", True, "", {"pause", "cancel", "reschedule"}),
    ("active", False, "pending", {"pause", "cancel", "approve", "reject"}),
    ("active", True, "pending", {"pause", "cancel", "reschedule", "approve", "reject"}),
    ("active", False, "approved", {"pause", "cancel"}),
    ("paused", True, "", {"resume", "cancel", "reschedule"}),
    ("cancelled", True, "pending", set()),
])
def test_which_controls_apply_to_a_waiting_campaign(state: str, scheduled: bool, approval: str,
                                                    applicable: set[str]) -> None:
    assert controls_applicable(state=state, counts={"queued": 2}, scheduled=scheduled,
                               approval=approval) == applicable


def test_the_campaign_list_says_which_wait_for_their_start(patients: list[Patient]) -> None:
    later = campaign_send(spec=spec(send_at="2027-03-02T08:30"), scope=OPERATOR, now=NOW).campaign_id
    at_once = campaign_send(spec=spec("service"), scope=OPERATOR, now=NOW).campaign_id
    listed = {c.id: c for c in campaign_list(scope=OPERATOR)}
    assert listed[later].waits_for_start and listed[later].send_at == utc(2027, 3, 2, 6, 30)
    assert not listed[at_once].waits_for_start and listed[at_once].approval == ""
