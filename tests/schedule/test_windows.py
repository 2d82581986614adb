"""masspost.schedule: sending windows in a clinic's own zone, DST and public holidays (pure, no database)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masspost.schedule import (
    ALWAYS,
    MARKETING_DEFAULT,
    SERVICE_DEFAULT,
    Window,
    local_instant,
    next_opening,
    open_intervals,
    parse_window,
    public_holidays,
)

TALLINN = "Europe/Tallinn"
UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_the_defaults_read_as_the_issue_says() -> None:
    marketing, service = parse_window(MARKETING_DEFAULT), parse_window(SERVICE_DEFAULT)
    assert marketing == Window(days=frozenset(range(6)), start=9 * 60, end=20 * 60)
    assert service == Window(days=frozenset(range(7)), start=8 * 60, end=21 * 60)
    assert parse_window("Mon-Sun 00:00-24:00").always and parse_window("Mon-Sun 00:00-24:00") == ALWAYS


@pytest.mark.parametrize("text", ["Mon-Sat 09:00-20:00", "Mon-Fri,Sun 08:30-17:45", "Sat 10:00-14:00",
                                  "Mon,Wed,Fri 00:00-24:00"])
def test_a_window_is_written_back_as_it_reads(text: str) -> None:
    assert str(parse_window(text)) == text
    assert parse_window(str(parse_window(text))) == parse_window(text)


def test_days_and_spaces_are_forgiving() -> None:
    assert parse_window("mon-sat 9:00 - 20:00") == parse_window("Mon-Sat 09:00-20:00")


@pytest.mark.parametrize(("text", "says"), [
    ("Sat-Mon 09:00-10:00", "run backwards"),
    ("Mon 10:00-09:00", "must be after its start"),
    ("Mon 09:00-09:00", "must be after its start"),
    ("Maa 09:00-10:00", "is not a day"),
    ("Mon 24:30-25:00", "is not a time of day"),
    ("Mon 09:60-10:00", "is not a time of day"),
    ("09:00-20:00", "like 'Mon-Sat 09:00-20:00'"),
    ("", "like 'Mon-Sat 09:00-20:00'"),
])
def test_a_bad_window_says_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_window(text)


def test_evening_after_closing_waits_for_next_morning() -> None:
    # Tuesday 2 March 2027, 20:30 in Tallinn (UTC+2) = 18:30 UTC: opens Wednesday 09:00 local = 07:00 UTC.
    window = parse_window(MARKETING_DEFAULT)
    assert next_opening(window=window, zone=TALLINN, at=at(2027, 3, 2, 18, 30)) == at(2027, 3, 3, 7, 0)
    # Inside the window it is open at once.
    assert next_opening(window=window, zone=TALLINN, at=at(2027, 3, 2, 10, 0)) == at(2027, 3, 2, 10, 0)


def test_saturday_evening_waits_for_monday_and_a_holiday_is_skipped() -> None:
    window = parse_window(MARKETING_DEFAULT)
    # Saturday 20 February 2027 21:00 local → Sunday closed → Monday 22 February 09:00 local.
    assert next_opening(window=window, zone=TALLINN, at=at(2027, 2, 20, 19, 0)) == at(2027, 2, 22, 7, 0)
    # Tuesday 23 February 20:30 → Wednesday 24 February is Independence Day → Thursday 25 February 09:00.
    holidays = public_holidays("EE", [2027])
    assert dt.date(2027, 2, 24) in holidays
    assert next_opening(window=window, zone=TALLINN, at=at(2027, 2, 23, 18, 30),
                        closed_days=holidays) == at(2027, 2, 25, 7, 0)


def test_spring_change_moves_the_instant_not_the_local_hour() -> None:
    # Europe/Tallinn goes from UTC+2 to UTC+3 on Sunday 28 March 2027 at 03:00 local.
    window = parse_window("Mon-Sun 09:00-20:00")
    found = open_intervals(window=window, zone=TALLINN, start=at(2027, 3, 27, 0), end=at(2027, 3, 29, 0))
    assert found == [(at(2027, 3, 27, 7), at(2027, 3, 27, 18)), (at(2027, 3, 28, 6), at(2027, 3, 28, 17))]


def test_autumn_change_moves_the_instant_back() -> None:
    # UTC+3 → UTC+2 on Sunday 31 October 2027 at 04:00 local.
    window = parse_window("Mon-Sun 09:00-20:00")
    found = open_intervals(window=window, zone=TALLINN, start=at(2027, 10, 30, 0), end=at(2027, 11, 1, 0))
    assert found == [(at(2027, 10, 30, 6), at(2027, 10, 30, 17)), (at(2027, 10, 31, 7), at(2027, 10, 31, 18))]


def test_a_local_time_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    zone = ZoneInfo(TALLINN)
    # 03:30 does not exist on 28 March 2027: the first instant after it is 04:00 local = 01:00 UTC.
    assert local_instant(dt.date(2027, 3, 28), 3 * 60 + 30, zone) == at(2027, 3, 28, 1)
    # 03:30 exists twice on 31 October 2027: the first (UTC+3) is 00:30 UTC.
    assert local_instant(dt.date(2027, 10, 31), 3 * 60 + 30, zone) == at(2027, 10, 31, 0, 30)


def test_two_zones_open_clinic_by_clinic() -> None:
    window = parse_window(MARKETING_DEFAULT)
    start = at(2027, 3, 2, 20, 30)  # Tuesday 22:30 in Tallinn, 20:30 in London: both closed
    assert next_opening(window=window, zone=TALLINN, at=start) == at(2027, 3, 3, 7)
    assert next_opening(window=window, zone="Europe/London", at=start) == at(2027, 3, 3, 9)


def test_an_always_open_window_is_one_interval() -> None:
    found = open_intervals(window=ALWAYS, zone=TALLINN, start=at(2027, 3, 26, 12), end=at(2027, 3, 30, 12))
    assert found == [(at(2027, 3, 26, 12), at(2027, 3, 30, 12))]


def test_an_unknown_country_has_no_holidays() -> None:
    assert public_holidays("XX", [2027]) == frozenset()
    assert dt.date(2027, 12, 24) in public_holidays("ee", [2027])  # the code in any case


windows = st.builds(
    lambda days, a, b: Window(days=frozenset(days), start=min(a, b), end=max(a, b) + 1),
    st.sets(st.integers(0, 6), min_size=1), st.integers(0, 1438), st.integers(0, 1438))
zones = st.sampled_from([TALLINN, "Europe/London", "Europe/Helsinki", "America/New_York", "Asia/Kolkata"])
instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2028, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(window=windows, zone=zones, start=instants, hours=st.integers(1, 24 * 20))
def test_intervals_are_inside_the_window_in_local_time(window: Window, zone: str, start: dt.datetime,
                                                       hours: int) -> None:
    end = start + dt.timedelta(hours=hours)
    found = open_intervals(window=window, zone=zone, start=start, end=end)
    tz = ZoneInfo(zone)
    for (a, b), following in zip(found, [*found[1:], (end, end)], strict=False):
        assert start <= a < b <= end and b <= following[0]
        # The middle of every interval is inside the window on its local day.
        middle = (a + (b - a) / 2).astimezone(tz)
        minutes = middle.hour * 60 + middle.minute
        assert middle.weekday() in window.days
        assert window.start <= minutes <= window.end
    # And a minute well inside a window's day, within [start, end), is in an interval.
    probe = start + dt.timedelta(hours=hours / 2)
    local = probe.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    inside = (local.weekday() in window.days and window.start + 2 <= minutes <= window.end - 2
              and start <= probe < end)
    if inside and probe.fold == 0:
        assert any(a <= probe < b for a, b in found)
