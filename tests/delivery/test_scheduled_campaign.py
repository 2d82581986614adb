"""A campaign from the preview to the phone (issue 19): previewed and sent through campaign_send with a `send_at`,
delivered by worker_run with a frozen clock (no test waits for a time) and the memory gateway. Its start leaves
out whoever is no longer theirs to get it, counted by reason, and adds no one; the quiet hours and a holiday
hold its messages until the opening; what is not handed over by the deadline expires."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from masspost.campaigns.detail import campaign_summary
from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient, PatientStatus
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import CampaignGate, OutboxMessage
from masspost.delivery.worker import GatewayConfig, WorkerStats, worker_run
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]
OPERATOR = Scope.operator()
MEMORY = GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"})
UTC = dt.UTC
NOW = dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # Monday 12:00 in Tallinn


@pytest.fixture(autouse=True)
def clinic_windows(settings: Any) -> None:
    """Each clinic's sending windows and holidays apply (the default, whatever a test setup chose)."""
    settings.MASSPOST_SENDING_WINDOWS = "clinics"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def run(at: dt.datetime) -> WorkerStats:
    """One worker until idle, its clock frozen at `at`."""
    return worker_run(until_idle=True, gateways=MEMORY, clock=lambda: at)


def sent_to() -> list[str]:
    return sorted(m.to for m in MemoryGateway.outboxes.get("sms", []))


def statuses(campaign_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def send(purpose: str = "service", **overrides: Any) -> int:
    """Preview, then send with its token (as a user does), at NOW."""
    spec = CampaignSpec.from_dict(campaign(purpose=purpose, **overrides))
    token = str(campaign_preview(spec=spec, scope=OPERATOR, now=NOW).token)
    return campaign_send(spec=spec, scope=OPERATOR, token=token, now=NOW).campaign_id


def test_the_start_leaves_out_whoever_changed_counted_by_reason_and_adds_no_one(
        clinic: Clinic, other_clinic: Clinic, make_patient: Any) -> None:
    stays, opts_out, dies, moves, stays_too = (make_patient() for _ in range(5))
    cid = send(send_at="2027-03-02T10:00")  # Tuesday 10:00 in Tallinn = 08:00 UTC
    assert Campaign.objects.get(id=cid).messages == 5
    # Before the start: a patient opts out of SMS, one dies, one moves to Tartu; a new patient joins Tallinn.
    Patient.objects.filter(id=opts_out.id).update(accepts_sms=False)
    Patient.objects.filter(id=dies.id).update(status=PatientStatus.DECEASED)
    Patient.objects.filter(id=moves.id).update(clinic=other_clinic)
    make_patient()

    assert run(utc(2027, 3, 2, 7, 59)).sent == 0  # a minute before the start: held
    assert statuses(cid) == {"queued": 5}
    assert Campaign.objects.get(id=cid).started_at is None

    start = utc(2027, 3, 2, 8, 0)
    assert run(start).sent == 2
    assert sent_to() == sorted([stays.phone_e164, stays_too.phone_e164])
    assert statuses(cid) == {"sent": 2, "left_out": 3}
    c = Campaign.objects.get(id=cid)
    assert c.started_at == start and not CampaignGate.objects.filter(campaign_id=cid).exists()
    detail = campaign_summary(campaign=c, now=start)
    assert detail.left_out_at_start == {"opted_out": 1, "deceased": 1, "moved_clinic": 1}
    assert (detail.send_at, detail.started_at, detail.scheduled) == (start, start, False)
    assert [(o.code, o.opens_at) for o in detail.openings] == [("TLN", start), ("TRT", start)]  # the audience's
    assert run(utc(2027, 3, 2, 9, 0)).sent == 0  # nobody else, ever


def test_the_campaign_page_before_the_start(clinic: Clinic, make_patient: Any) -> None:
    make_patient()
    cid = send(send_at="2027-03-02T07:00")  # before the service window (08:00) opens
    detail = campaign_summary(campaign=Campaign.objects.get(id=cid), now=NOW)
    assert detail.scheduled and detail.send_at == utc(2027, 3, 2, 5, 0) and detail.started_at is None
    assert detail.deadline == utc(2027, 3, 5, 5, 0)
    assert [(o.code, o.name, o.opens_at) for o in detail.openings] == [("TLN", "Hammas Tallinn",
                                                                         utc(2027, 3, 2, 6, 0))]
    assert detail.left_out_at_start == {} and detail.approval == ""


def test_quiet_hours_hold_the_messages_until_the_morning(clinic: Clinic, make_patient: Any) -> None:
    patient = make_patient()
    cid = send("marketing", send_at="2027-03-01T20:30")  # Monday 20:30: the marketing window closed at 20:00
    assert run(utc(2027, 3, 1, 18, 30)).sent == 0
    assert run(utc(2027, 3, 2, 6, 59)).sent == 0  # Tuesday 08:59
    assert statuses(cid) == {"queued": 1}  # held, never failed
    assert run(utc(2027, 3, 2, 7, 0)).sent == 1  # 09:00
    assert sent_to() == [patient.phone_e164]


def test_an_estonian_holiday_holds_marketing_until_the_next_day(clinic: Clinic, make_patient: Any) -> None:
    make_patient()
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", send_at="2027-02-24T10:00"))
    at = utc(2027, 2, 20, 10, 0)
    cid = campaign_send(spec=spec, scope=OPERATOR, now=at).campaign_id
    assert run(utc(2027, 2, 24, 8, 0)).sent == 0  # Independence Day, 10:00
    assert run(utc(2027, 2, 24, 17, 0)).sent == 0
    assert statuses(cid) == {"queued": 1}
    assert run(utc(2027, 2, 25, 7, 0)).sent == 1  # Thursday 09:00


def test_a_passed_deadline_expires_the_messages_and_nothing_goes_after_it(clinic: Clinic,
                                                                           make_patient: Any) -> None:
    make_patient(), make_patient()
    # Monday 20:30 with a deadline at 23:00: the marketing window does not open again before it.
    cid = send("marketing", send_at="2027-03-01T20:30", deadline="2027-03-01T23:00")
    assert run(utc(2027, 3, 1, 19, 0)).sent == 0
    assert run(utc(2027, 3, 1, 20, 59)).expired == 0
    assert run(utc(2027, 3, 1, 21, 1)).expired == 2  # 23:01 in Tallinn
    assert statuses(cid) == {"expired": 2}
    assert run(utc(2027, 3, 2, 7, 0)).sent == 0  # the morning's opening sends nothing
    assert sent_to() == []
