"""When a campaign's messages go, clinic by clinic (campaigns.timing): the start, the deadline, the window for the
purpose in the clinic's own zone, and public holidays for marketing. Every case at a fixed `now`."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.timing import HELD_HOLIDAY, HELD_QUIET_HOURS, campaign_timing
from masspost.clinic.models import Clinic
from masspost.errors import SpecError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
TALLINN = ZoneInfo("Europe/Tallinn")
UTC = dt.UTC


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


def test_at_once_inside_the_window_goes_at_the_start(clinic: Clinic) -> None:
    now = utc(2027, 3, 2, 10, 0)  # Tuesday 12:00 in Tallinn
    timing = campaign_timing(spec=spec(), clinics=(clinic,), now=now)
    (tln,) = timing.clinics
    assert not timing.scheduled and timing.send_at is None
    assert tln.starts_at == tln.opens_at == now and tln.held == ""
    assert tln.deadline == timing.deadline == now + dt.timedelta(days=3)  # the default deadline
    assert tln.window == "Mon-Sat 09:00-20:00"
    # Three days of the marketing window: Tue (rest), Wed, Thu, Fri (until 12:00)
    assert tln.intervals[0] == (now, utc(2027, 3, 2, 18, 0))
    assert tln.intervals[-1] == (utc(2027, 3, 5, 7, 0), now + dt.timedelta(days=3))
    assert len(tln.intervals) == 4


def test_an_evening_start_waits_for_the_morning(clinic: Clinic) -> None:
    now = utc(2027, 3, 1, 10, 0)
    timing = campaign_timing(spec=spec(send_at="2027-03-01T20:30"), clinics=(clinic,), now=now)
    (tln,) = timing.clinics
    assert timing.scheduled and timing.send_at == "2027-03-01T20:30:00"
    assert tln.starts_at == utc(2027, 3, 1, 18, 30)  # 20:30 in Tallinn, winter (UTC+2)
    assert tln.opens_at == utc(2027, 3, 2, 7, 0) and tln.held == HELD_QUIET_HOURS  # Tuesday 09:00
    assert tln.deadline == tln.starts_at + dt.timedelta(days=3)


def test_an_estonian_holiday_is_closed_for_marketing_but_not_for_service(clinic: Clinic) -> None:
    now = utc(2027, 2, 20, 10, 0)
    marketing = campaign_timing(spec=spec(send_at="2027-02-24T10:00"), clinics=(clinic,), now=now).clinics[0]
    assert marketing.starts_at == utc(2027, 2, 24, 8, 0)  # Independence Day, a Wednesday
    assert marketing.opens_at == utc(2027, 2, 25, 7, 0) and marketing.held == HELD_HOLIDAY
    service = campaign_timing(spec=spec("service", send_at="2027-02-24T10:00"), clinics=(clinic,),
                              now=now).clinics[0]
    assert service.opens_at == service.starts_at and service.held == ""
    assert service.window == "Mon-Sun 08:00-21:00"
    clinic.holidays = False  # the clinic's setting: holidays are ordinary days
    kept_open = campaign_timing(spec=spec(send_at="2027-02-24T10:00"), clinics=(clinic,), now=now).clinics[0]
    assert kept_open.opens_at == kept_open.starts_at


def test_the_spring_change_moves_the_instant_not_the_local_hour(clinic: Clinic) -> None:
    now = utc(2027, 3, 20, 10, 0)
    # Saturday 27 March 20:30 (UTC+2). Marketing: Sunday (Easter Sunday too) is closed → Monday 09:00,
    # which is UTC+3 by then. Service: Sunday 08:00, after the 03:00 → 04:00 change.
    marketing = campaign_timing(spec=spec(send_at="2027-03-27T20:30"), clinics=(clinic,), now=now).clinics[0]
    assert marketing.starts_at == utc(2027, 3, 27, 18, 30)
    assert marketing.opens_at == utc(2027, 3, 29, 6, 0)
    assert marketing.opens_at.astimezone(TALLINN).hour == 9
    service = campaign_timing(spec=spec("service", send_at="2027-03-27T21:30"), clinics=(clinic,),
                              now=now).clinics[0]
    assert service.opens_at == utc(2027, 3, 28, 5, 0) and service.held == HELD_QUIET_HOURS
    assert service.opens_at.astimezone(TALLINN).hour == 8
    # Each day's interval closes at 21:00 local, whichever offset the day has.
    assert [b.astimezone(TALLINN).hour for _, b in service.intervals[:-1]] == [21, 21]


def test_the_autumn_change(clinic: Clinic) -> None:
    now = utc(2027, 10, 25, 10, 0)
    service = campaign_timing(spec=spec("service", send_at="2027-10-30T22:00"), clinics=(clinic,),
                              now=now).clinics[0]
    assert service.starts_at == utc(2027, 10, 30, 19, 0)  # UTC+3
    assert service.opens_at == utc(2027, 10, 31, 6, 0)  # 08:00 at UTC+2, after the 04:00 → 03:00 change


def test_a_local_send_at_starts_clinic_by_clinic_in_two_zones(clinic: Clinic, berlin: Clinic) -> None:
    now = utc(2027, 3, 1, 10, 0)
    timing = campaign_timing(spec=spec(send_at="2027-03-02T09:00"), clinics=(clinic, berlin), now=now)
    ber, tln = timing.clinics  # by code
    assert (ber.code, tln.code) == ("BER", "TLN")
    assert tln.starts_at == tln.opens_at == utc(2027, 3, 2, 7, 0)
    assert ber.starts_at == ber.opens_at == utc(2027, 3, 2, 8, 0)
    assert timing.starts_at == tln.starts_at
    assert timing.deadline == ber.deadline == utc(2027, 3, 5, 8, 0)  # the latest clinic's
    # An instant is the same instant everywhere: 09:00 in Tallinn is 08:00 in Berlin, both open.
    instant = campaign_timing(spec=spec(send_at="2027-03-02T09:00+02:00"), clinics=(clinic, berlin), now=now)
    assert {t.starts_at for t in instant.clinics} == {utc(2027, 3, 2, 7, 0)}
    # 08:30 in Tallinn is 07:30 in Berlin: Tallinn waits 30 minutes, Berlin an hour and a half.
    early = campaign_timing(spec=spec(send_at="2027-03-02T08:30+02:00"), clinics=(clinic, berlin), now=now)
    ber, tln = early.clinics
    assert tln.opens_at == utc(2027, 3, 2, 7, 0) and ber.opens_at == utc(2027, 3, 2, 8, 0)
    assert tln.held == ber.held == HELD_QUIET_HOURS


def test_a_deadline_before_any_opening_leaves_none(clinic: Clinic) -> None:
    now = utc(2027, 3, 1, 10, 0)
    timing = campaign_timing(spec=spec(send_at="2027-03-06T20:30", deadline="2027-03-06T23:00"),
                             clinics=(clinic,), now=now)
    (tln,) = timing.clinics
    assert tln.opens_at is None and tln.intervals == () and tln.held == HELD_QUIET_HOURS
    assert tln.deadline == utc(2027, 3, 6, 21, 0)
    assert timing.to_dict()["clinics"][0]["opens_at"] is None


def test_always_open_setting_ignores_windows_and_holidays(clinic: Clinic, settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "always"
    now = utc(2027, 2, 20, 10, 0)
    (tln,) = campaign_timing(spec=spec(send_at="2027-02-24T22:00"), clinics=(clinic,), now=now).clinics
    assert tln.opens_at == tln.starts_at and tln.held == ""
    assert tln.intervals == ((tln.starts_at, tln.deadline),)


@pytest.mark.parametrize(("data", "message"), [
    ({"send_at": "2027-03-01T11:50"}, "send_at: 2027-03-01 11:50 in clinic TLN has passed"),
    ({"send_at": "2027-03-02T09:00", "deadline": "2027-03-02T08:00"},
     "deadline: must be after send_at"),  # the campaign file's own check
    ({"deadline": "2027-03-01T11:00+02:00"}, "deadline: 2027-03-01 11:00 in clinic TLN is not after"),
    ({"send_at": "2027-06-01T09:00"}, "send_at: at most 90 days ahead"),
    ({"deadline": "2027-06-01T09:00"}, "deadline: at most 90 days after the campaign's start"),
    ({"send_at": "9999-12-31T23:59"}, "send_at: a date between the years 2000 and 2100"),
    ({"deadline": "0001-01-01T00:00"}, "deadline: a date between the years 2000 and 2100"),
])
def test_refused_times(clinic: Clinic, data: dict[str, str], message: str) -> None:
    now = utc(2027, 3, 1, 10, 0)  # 12:00 in Tallinn
    with pytest.raises(SpecError, match=message):
        campaign_timing(spec=spec(**data), clinics=(clinic,), now=now)


def test_a_send_at_a_few_minutes_ago_means_now(clinic: Clinic) -> None:
    now = utc(2027, 3, 1, 10, 0)
    (tln,) = campaign_timing(spec=spec(send_at="2027-03-01T11:57"), clinics=(clinic,), now=now).clinics
    assert tln.starts_at == utc(2027, 3, 1, 9, 57) == tln.opens_at


def test_a_bad_stored_window_names_the_clinic_and_field(clinic: Clinic) -> None:
    clinic.marketing_window = "weekdays 9-5"
    with pytest.raises(SpecError, match="clinic TLN: marketing_window: "):
        campaign_timing(spec=spec(), clinics=(clinic,), now=utc(2027, 3, 1, 10, 0))
    # A service campaign does not read the marketing window.
    campaign_timing(spec=spec("service"), clinics=(clinic,), now=utc(2027, 3, 1, 10, 0))
