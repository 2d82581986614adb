"""When messages go (issue 19): each clinic's sending windows, public holidays, DST, several zones, scheduled
starts with their check, and deadlines — all through the worker with a frozen clock (worker_run(clock=…)).

Campaigns and outbox rows are written here as the send writes them (OutboxWriter, windows_write, gate_close),
with windows from masspost.schedule, so these tests pin the delivery side alone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.claims import outbox_claim
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import CampaignGate, MessageStatus, OutboxMessage, SendingWindow
from masspost.delivery.outbox import OutboxWriter, outbox_cancel
from masspost.delivery.selectors import outbox_left_out_counts, outbox_status_counts
from masspost.delivery.turn import outbox_due_exists, outbox_turn
from masspost.delivery.windows import (
    gate_close,
    gate_open,
    outbox_first_openings,
    outbox_hold_closed,
    outbox_start_due,
    windows_write,
)
from masspost.delivery.worker import GatewayConfig, WorkerStats, worker_run
from masspost.schedule import MARKETING_DEFAULT, SERVICE_DEFAULT, open_intervals, parse_window, public_holidays

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]
MEMORY = GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"})
TALLINN = ZoneInfo("Europe/Tallinn")
UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def run(at: dt.datetime) -> WorkerStats:
    """One worker until idle, its clock frozen at `at`."""
    return worker_run(until_idle=True, gateways=MEMORY, clock=lambda: at)


def sent_to() -> list[str]:
    return sorted(m.to for m in MemoryGateway.outboxes.get("sms", []))


def statuses() -> dict[str, int]:
    return {status: n for status, n in outbox_status_counts(campaign_id=_only_campaign()).items() if n}


def _only_campaign() -> int:
    return Campaign.objects.get().id


def make_campaign(*, deadline: dt.datetime, purpose: str = "service") -> int:
    return Campaign.objects.create(name="Windows", purpose=purpose, channel="sms", spec={}, audience={},
                                   token=f"test-{uuid.uuid4()}", deadline=deadline, created_by="test").id


def queue(campaign_id: int, patients: Iterable[Patient], *, deadline: dt.datetime,
          next_attempt_at: dt.datetime | None = None,
          first: Callable[[Patient], dt.datetime | None] | None = None,
          channels: Sequence[str] = ("sms",)) -> None:
    """Outbox rows as the send writes them: the patient's clinic, its first opening (or `next_attempt_at`); one
    row per patient and channel of `channels`."""
    writer = OutboxWriter(campaign_id=campaign_id, deadline=deadline)
    for p in patients:
        for channel in channels:
            sms = channel == "sms"
            writer.add(patient_id=p.id, patient_ref=p.external_id, channel=channel,
                       address=p.phone_e164 if sms else p.email_normalized, language="et",
                       subject="" if sms else "Tere", body="Tere!", encoding="GSM-7" if sms else "",
                       parts=1 if sms else 0, sender="Hammas" if sms else "tallinn@hammas.example", sender_name="",
                       clinic_id=p.clinic_id, next_attempt_at=first(p) if first else next_attempt_at,
                       deadline=deadline)
    writer.flush()


def intervals_of(clinic: Clinic, *, start: dt.datetime, end: dt.datetime, window: str,
                 holidays: bool) -> list[tuple[dt.datetime, dt.datetime]]:
    closed = public_holidays(clinic.country, range(start.year, end.year + 1)) if holidays else frozenset()
    return open_intervals(window=parse_window(window), zone=clinic.time_zone, start=start, end=end,
                          closed_days=closed)


@pytest.fixture
def london(db: Any) -> Clinic:
    return Clinic.objects.create(code="LON", name="Hammas London", country="GB", time_zone="Europe/London",
                                 default_language="en", email="london@hammas.example", sms_sender="HammasLON")


# -- quiet hours ---------------------------------------------------------------------------------------------------


def test_a_row_due_after_the_window_closed_waits_for_the_next_opening(clinic: Clinic,
                                                                      make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    start = local(TALLINN, 2027, 1, 12, 20, 30)  # a Tuesday, after 20:00
    deadline = start + dt.timedelta(days=3)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals_of(
        clinic, start=start, end=deadline, window=MARKETING_DEFAULT, holidays=True)})
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=start)  # due now, but closed

    # The claim refuses it while closed, however due it is.
    assert not outbox_due_exists(channel="sms", now=start)
    assert outbox_turn(worker_id="w", now=start, lease=dt.timedelta(minutes=5), channel="sms", limit=10).claimed == []
    assert outbox_claim(worker_id="w", now=start, limit=10, lease=dt.timedelta(minutes=5)) == []

    stats = run(start)
    assert stats.sent == 0 and stats.held == 1
    row = OutboxMessage.objects.get()
    # Held, never failed: queued, no attempt counted, due at 09:00 Tallinn on Wednesday (07:00 UTC in winter).
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 0, utc(2027, 1, 13, 7, 0))

    assert run(utc(2027, 1, 13, 6, 59)).sent == 0
    assert run(utc(2027, 1, 13, 7, 0)).sent == 1
    assert sent_to() == [patient.phone_e164]
    assert OutboxMessage.objects.get().status == "sent"


def test_a_row_sent_in_an_open_window_goes_at_once(clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = start + dt.timedelta(days=3)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals_of(
        clinic, start=start, end=deadline, window=MARKETING_DEFAULT, holidays=True)})
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=start)
    assert outbox_first_openings(campaign_id=campaign_id, now=start) == {clinic.id: start}
    assert run(start + dt.timedelta(minutes=1)).sent == 1


def test_estonian_independence_day_is_closed_for_marketing_not_for_service(
        clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    marketing_patient, service_patient = make_patient(), make_patient()
    start = local(TALLINN, 2027, 2, 23, 21, 30)  # Tuesday night; 24 February 2027 is a Wednesday
    deadline = start + dt.timedelta(days=3)
    first_opening: dict[int, dt.datetime] = {}
    for patient, purpose, window in ((marketing_patient, "marketing", MARKETING_DEFAULT),
                                     (service_patient, "service", SERVICE_DEFAULT)):
        campaign_id = make_campaign(deadline=deadline, purpose=purpose)
        intervals = intervals_of(clinic, start=start, end=deadline, window=window, holidays=purpose == "marketing")
        windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals})
        first_opening[patient.id] = intervals[0][0]
        queue(campaign_id, [patient], deadline=deadline, next_attempt_at=intervals[0][0])
    # Marketing opens on Thursday 25 February at 09:00; service on the holiday itself at 08:00 (06:00 UTC).
    assert first_opening == {marketing_patient.id: utc(2027, 2, 25, 7, 0), service_patient.id: utc(2027, 2, 24, 6, 0)}

    on_the_holiday = local(TALLINN, 2027, 2, 24, 12, 0)
    # Were the marketing row due then (a retry, an operator's requeue), the holiday still holds it.
    OutboxMessage.objects.filter(patient=marketing_patient).update(next_attempt_at=on_the_holiday)
    assert run(on_the_holiday).sent == 1
    assert sent_to() == [service_patient.phone_e164]
    held = OutboxMessage.objects.get(patient=marketing_patient)
    assert (held.status, held.next_attempt_at) == ("queued", utc(2027, 2, 25, 7, 0))

    assert run(utc(2027, 2, 25, 7, 0)).sent == 1
    assert sent_to() == sorted([service_patient.phone_e164, marketing_patient.phone_e164])


@pytest.mark.parametrize(("sunday", "before", "opens"), [
    # Summer time begins: 03:00 becomes 04:00; 08:00 on that Sunday is 05:00 UTC (UTC+3), the Saturday's 06:00.
    (dt.date(2027, 3, 28), utc(2027, 3, 27, 6, 0), utc(2027, 3, 28, 5, 0)),
    # Summer time ends: 04:00 becomes 03:00; 08:00 on that Sunday is 06:00 UTC (UTC+2), the Saturday's 05:00.
    (dt.date(2027, 10, 31), utc(2027, 10, 30, 5, 0), utc(2027, 10, 31, 6, 0)),
])
def test_the_window_opens_at_the_right_instant_on_both_dst_changes(
        clinic: Clinic, make_patient: Callable[..., Patient], sunday: dt.date, before: dt.datetime,
        opens: dt.datetime) -> None:
    patient = make_patient()
    saturday = local(TALLINN, sunday.year, sunday.month, sunday.day - 1, 0, 0)
    deadline = saturday + dt.timedelta(days=3)
    campaign_id = make_campaign(deadline=deadline)
    intervals = intervals_of(clinic, start=saturday, end=deadline, window=SERVICE_DEFAULT, holidays=False)
    windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals})
    assert [opening for opening, _closing in intervals[:2]] == [before, opens]  # the offset changed in between
    start = local(TALLINN, sunday.year, sunday.month, sunday.day - 1, 21, 30)  # Saturday, after the window
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=start)
    assert outbox_first_openings(campaign_id=campaign_id, now=start) == {clinic.id: opens}

    assert run(start).sent == 0
    assert OutboxMessage.objects.get().next_attempt_at == opens
    # An hour off either way is the bug this catches: a minute before is still closed, the instant itself open.
    assert run(opens - dt.timedelta(minutes=1)).sent == 0
    assert run(opens).sent == 1


def test_two_clinics_in_two_zones_open_clinic_by_clinic(clinic: Clinic, london: Clinic,
                                                        make_patient: Callable[..., Patient]) -> None:
    tallinn_patient, london_patient = make_patient(), make_patient(clinic=london, country="GB")
    start = utc(2027, 1, 12, 5, 0)  # a Tuesday: 07:00 in Tallinn, 05:00 in London
    deadline = start + dt.timedelta(days=3)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    windows = {c.id: intervals_of(c, start=start, end=deadline, window=MARKETING_DEFAULT, holidays=True)
               for c in (clinic, london)}
    windows_write(campaign_id=campaign_id, intervals=windows)
    queue(campaign_id, [tallinn_patient, london_patient], deadline=deadline,
          first=lambda p: windows[p.clinic_id][0][0])
    assert outbox_first_openings(campaign_id=campaign_id, now=start) == {
        clinic.id: utc(2027, 1, 12, 7, 0), london.id: utc(2027, 1, 12, 9, 0)}

    assert run(utc(2027, 1, 12, 6, 59)).sent == 0
    assert run(utc(2027, 1, 12, 7, 0)).sent == 1  # 09:00 in Tallinn, 07:00 in London
    assert sent_to() == [tallinn_patient.phone_e164]
    assert run(utc(2027, 1, 12, 8, 59)).sent == 0
    assert run(utc(2027, 1, 12, 9, 0)).sent == 1  # 09:00 in London
    assert sent_to() == sorted([tallinn_patient.phone_e164, london_patient.phone_e164])
    # At 19:00 UTC Tallinn (21:00) is closed and London (19:00) open: the first openings say so.
    assert outbox_first_openings(campaign_id=campaign_id, now=utc(2027, 1, 12, 19, 0)) == {
        clinic.id: utc(2027, 1, 13, 7, 0), london.id: utc(2027, 1, 12, 19, 0)}


def test_rows_written_before_windows_existed_wait_for_no_window(clinic: Clinic,
                                                                make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    now = local(TALLINN, 2027, 1, 12, 23, 0)
    campaign_id = make_campaign(deadline=now + dt.timedelta(days=1))
    writer = OutboxWriter(campaign_id=campaign_id, deadline=now + dt.timedelta(days=1))
    writer.add(patient_id=patient.id, patient_ref=patient.external_id, channel="sms", address=patient.phone_e164,
               language="et", subject="", body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="")
    writer.flush()
    assert OutboxMessage.objects.get().clinic_id is None
    assert run(now).sent == 1


# -- scheduled starts ----------------------------------------------------------------------------------------------


def test_a_scheduled_start_holds_everything_then_leaves_out_who_is_no_longer_in_the_audience(
        clinic: Clinic, other_clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    stays = make_patient()
    opted_out = make_patient()
    deceased = make_patient()
    archived = make_patient()
    moved = make_patient()
    no_consent = make_patient()
    new_phone = make_patient()
    send = local(TALLINN, 2027, 1, 11, 12, 0)
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = start + dt.timedelta(days=3)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    patients = [stays, opted_out, deceased, archived, moved, no_consent, new_phone]
    windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals_of(
        clinic, start=start, end=deadline, window=MARKETING_DEFAULT, holidays=True)})
    gate_close(campaign_id=campaign_id, reason="scheduled", until=start, marketing=True)
    # Written as the send writes a scheduled campaign: the start is every row's first attempt. Here one row is due
    # already, to show the gate alone holds it.
    queue(campaign_id, patients, deadline=deadline, next_attempt_at=start)
    OutboxMessage.objects.filter(patient=stays).update(next_attempt_at=send)

    # Between the send and the start, the patients change.
    Patient.objects.filter(pk=opted_out.pk).update(accepts_sms=False)
    Patient.objects.filter(pk=deceased.pk).update(status="deceased")
    Patient.objects.filter(pk=archived.pk).update(status="archived")
    Patient.objects.filter(pk=moved.pk).update(clinic=other_clinic)
    Patient.objects.filter(pk=no_consent.pk).update(marketing_sms=False)
    Patient.objects.filter(pk=new_phone.pk).update(phone="5999999", phone_e164="+3725999999")

    before = run(start - dt.timedelta(minutes=1))
    assert (before.sent, before.started) == (0, 0)
    assert statuses() == {"queued": 7}
    assert CampaignGate.objects.filter(campaign_id=campaign_id).exists()
    assert Campaign.objects.get().started_at is None

    at_start = run(start)
    assert (at_start.started, at_start.left_out, at_start.sent) == (1, 6, 1)
    assert sent_to() == [stays.phone_e164]
    assert statuses() == {"sent": 1, "left_out": 6}
    assert outbox_left_out_counts(campaign_id=campaign_id) == {
        "opted_out": 1, "deceased": 1, "archived": 1, "moved_clinic": 1, "no_marketing_consent": 1,
        "address_changed": 1}
    reasons = dict(OutboxMessage.objects.filter(status="left_out").values_list("patient_id", "last_error"))
    assert reasons == {opted_out.id: "opted_out", deceased.id: "deceased", archived.id: "archived",
                       moved.id: "moved_clinic", no_consent.id: "no_marketing_consent", new_phone.id: "address_changed"}
    assert Campaign.objects.get().started_at == start
    assert not CampaignGate.objects.filter(campaign_id=campaign_id).exists()
    # Left out is final: nothing more goes, and a second start finds nothing to start.
    assert run(start + dt.timedelta(hours=1)).sent == 0
    assert outbox_start_due(now=start + dt.timedelta(hours=1)) == []


def test_a_service_start_does_not_ask_for_marketing_consent(clinic: Clinic,
                                                            make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(marketing_sms=False, marketing_email=False)
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = start + dt.timedelta(days=1)
    campaign_id = make_campaign(deadline=deadline)
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(start, deadline)]})
    gate_close(campaign_id=campaign_id, reason="scheduled", until=start, marketing=False)
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=start, channels=("sms", "email"))
    assert outbox_start_due(now=start) == [(campaign_id, {})]
    assert run(start).sent == 2


def test_a_marketing_start_checks_each_rows_own_channels_consent(clinic: Clinic,
                                                                 make_patient: Callable[..., Patient]) -> None:
    """Between the send and the start one patient withdraws offers by SMS, another offers by e-mail: the start
    leaves out the first one's SMS and the second one's e-mail (no_marketing_consent) and keeps their other
    rows; a hard SMS opt-out leaves out the SMS as opted_out, whatever the marketing consent."""
    no_sms, no_email, opted_out = make_patient(), make_patient(), make_patient()
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = start + dt.timedelta(days=1)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(start, deadline)]})
    gate_close(campaign_id=campaign_id, reason="scheduled", until=start, marketing=True)
    queue(campaign_id, [no_sms, no_email, opted_out], deadline=deadline, next_attempt_at=start,
          channels=("sms", "email"))
    Patient.objects.filter(pk=no_sms.pk).update(marketing_sms=False)
    Patient.objects.filter(pk=no_email.pk).update(marketing_email=False)
    Patient.objects.filter(pk=opted_out.pk).update(accepts_sms=False)

    assert outbox_start_due(now=start) == [(campaign_id, {"opted_out": 1, "no_marketing_consent": 2})]
    rows = {(patient, channel): (status, error) for patient, channel, status, error in OutboxMessage.objects.filter(
        campaign_id=campaign_id).values_list("patient_id", "channel", "status", "last_error")}
    assert rows == {
        (no_sms.id, "sms"): ("left_out", "no_marketing_consent"), (no_sms.id, "email"): ("queued", ""),
        (no_email.id, "sms"): ("queued", ""), (no_email.id, "email"): ("left_out", "no_marketing_consent"),
        (opted_out.id, "sms"): ("left_out", "opted_out"), (opted_out.id, "email"): ("queued", ""),
    }


def test_an_approval_gate_holds_until_lifted(clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    now = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = now + dt.timedelta(days=1)
    campaign_id = make_campaign(deadline=deadline)
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(now, deadline)]})
    gate_close(campaign_id=campaign_id, reason="approval")
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=now)
    assert run(now).sent == 0
    assert OutboxMessage.objects.get().status == "queued"
    assert gate_open(campaign_id=campaign_id, reason="approval") == 1
    assert gate_open(campaign_id=campaign_id, reason="approval") == 0
    assert run(now).sent == 1


def test_cancelling_a_scheduled_campaign_cancels_its_rows_and_its_gates(
        clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    patients = [make_patient(), make_patient()]
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = start + dt.timedelta(days=1)
    campaign_id = make_campaign(deadline=deadline)
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(start, deadline)]})
    gate_close(campaign_id=campaign_id, reason="scheduled", until=start)
    gate_close(campaign_id=campaign_id, reason="approval")
    queue(campaign_id, patients, deadline=deadline, next_attempt_at=start)
    assert outbox_cancel(campaign_id=campaign_id) == 2
    assert not CampaignGate.objects.exists()
    assert outbox_start_due(now=start) == []
    assert run(start).sent == 0
    assert statuses() == {"cancelled": 2}


# -- deadlines -----------------------------------------------------------------------------------------------------


def test_a_clinic_with_no_opening_before_the_deadline_expires_there_and_nothing_goes_after(
        clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    start = local(TALLINN, 2027, 1, 16, 20, 30)  # Saturday evening
    deadline = local(TALLINN, 2027, 1, 17, 23, 0)  # Sunday night: no marketing opening in between
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    intervals = intervals_of(clinic, start=start, end=deadline, window=MARKETING_DEFAULT, holidays=True)
    assert intervals == []
    windows_write(campaign_id=campaign_id, intervals={clinic.id: intervals})
    queue(campaign_id, [patient], deadline=deadline, next_attempt_at=start)
    assert outbox_first_openings(campaign_id=campaign_id, now=start) == {clinic.id: None}

    assert run(start).sent == 0
    assert OutboxMessage.objects.get().next_attempt_at == deadline  # waits for the deadline, not read each turn
    assert run(deadline - dt.timedelta(minutes=1)).sent == 0
    after = run(deadline + dt.timedelta(minutes=1))
    assert (after.sent, after.expired) == (0, 1)
    # Monday's opening comes, and nothing goes: expired is final.
    assert run(local(TALLINN, 2027, 1, 18, 9, 0)).sent == 0
    assert statuses() == {"expired": 1}
    assert sent_to() == []


def test_rows_still_queued_at_the_deadline_expire_even_in_an_open_window(
        clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    first, second = make_patient(), make_patient()
    start = local(TALLINN, 2027, 1, 12, 10, 0)
    deadline = local(TALLINN, 2027, 1, 12, 12, 0)
    campaign_id = make_campaign(deadline=deadline)
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(start, deadline + dt.timedelta(hours=6))]})
    queue(campaign_id, [first], deadline=deadline, next_attempt_at=start)
    queue(campaign_id, [second], deadline=deadline, next_attempt_at=deadline + dt.timedelta(minutes=30))
    assert run(start).sent == 1
    stats = run(deadline + dt.timedelta(hours=1))
    assert (stats.sent, stats.expired) == (0, 1)
    assert statuses() == {"sent": 1, "expired": 1}


# -- the pieces ----------------------------------------------------------------------------------------------------


def test_windows_write_replaces_a_campaigns_windows(clinic: Clinic) -> None:
    now = utc(2027, 1, 12, 8, 0)
    campaign_id = make_campaign(deadline=now + dt.timedelta(days=1))
    windows_write(campaign_id=campaign_id, intervals={clinic.id: [(now, now + dt.timedelta(hours=2))]})
    later = [(now + dt.timedelta(hours=5), now + dt.timedelta(hours=6))]
    windows_write(campaign_id=campaign_id, intervals={clinic.id: later})
    assert list(SendingWindow.objects.values_list("opens_at", "closes_at")) == later
    assert outbox_first_openings(campaign_id=campaign_id, now=now) == {clinic.id: later[0][0]}
    assert outbox_first_openings(campaign_id=campaign_id, now=later[0][1]) == {clinic.id: None}


def test_outbox_writer_keeps_each_rows_clinic_first_attempt_and_deadline(
        clinic: Clinic, london: Clinic, make_patient: Callable[..., Patient]) -> None:
    a, b, c = make_patient(), make_patient(clinic=london), make_patient()
    deadline = utc(2027, 1, 15, 12, 0)
    campaign_id = make_campaign(deadline=deadline)
    writer = OutboxWriter(campaign_id=campaign_id, deadline=deadline)
    before = timezone.now()
    spec: Sequence[tuple[Patient, dt.datetime | None, dt.datetime | None]] = (
        (a, utc(2027, 1, 12, 7, 0), None), (b, None, utc(2027, 1, 16, 12, 0)), (c, utc(2027, 1, 12, 9, 0), None))
    for p, first, own_deadline in spec:
        writer.add(patient_id=p.id, patient_ref=p.external_id, channel="sms", address=p.phone_e164, language="et",
                   subject="", body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="",
                   clinic_id=p.clinic_id, next_attempt_at=first, deadline=own_deadline)
    writer.flush()
    assert writer.written == 3
    rows = list(OutboxMessage.objects.order_by("id").values_list("patient_id", "clinic_id", "next_attempt_at",
                                                                  "deadline"))
    assert [r[:2] for r in rows] == [(a.id, clinic.id), (b.id, london.id), (c.id, clinic.id)]  # in order added
    assert rows[0][2:] == (utc(2027, 1, 12, 7, 0), deadline)
    assert rows[1][2] >= before - dt.timedelta(seconds=1) and rows[1][3] == utc(2027, 1, 16, 12, 0)
    assert rows[2][2:] == (utc(2027, 1, 12, 9, 0), deadline)
    # Compared as instants on either database (SQLite compares the stored text).
    assert OutboxMessage.objects.filter(next_attempt_at__lte=utc(2027, 1, 12, 7, 30)).count() == 2  # a, and b (now)


def test_hold_closed_moves_only_rows_due_in_a_closed_window(clinic: Clinic, london: Clinic,
                                                            make_patient: Callable[..., Patient]) -> None:
    tallinn_patient, london_patient = make_patient(), make_patient(clinic=london)
    now = utc(2027, 1, 12, 19, 0)  # 21:00 in Tallinn (closed), 19:00 in London (open)
    deadline = now + dt.timedelta(days=2)
    campaign_id = make_campaign(deadline=deadline, purpose="marketing")
    windows_write(campaign_id=campaign_id, intervals={c.id: intervals_of(
        c, start=now, end=deadline, window=MARKETING_DEFAULT, holidays=True) for c in (clinic, london)})
    queue(campaign_id, [tallinn_patient, london_patient], deadline=deadline, next_attempt_at=now)
    assert outbox_hold_closed(now=now) == 1
    assert outbox_hold_closed(now=now) == 0  # moved past `now`: not read again
    rows = dict(OutboxMessage.objects.values_list("patient_id", "next_attempt_at"))
    assert rows == {tallinn_patient.id: utc(2027, 1, 13, 7, 0), london_patient.id: now}
    assert OutboxMessage.objects.get(patient=tallinn_patient).status == MessageStatus.QUEUED
    # Due again in the closed window (a retry, say), before housekeeping looks: the claim takes London's alone.
    OutboxMessage.objects.update(next_attempt_at=now)
    claimed = outbox_turn(worker_id="w", now=now, lease=dt.timedelta(minutes=5), channel="sms", limit=10).claimed
    assert [row.patient_ref for row in claimed] == [london_patient.external_id]
