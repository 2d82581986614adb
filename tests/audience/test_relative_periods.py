"""Relative visit periods in the campaign file (docs/campaign.md, "Audience"): `{"last_months": N}` is parsed,
kept as it is (so it stays relative when the campaign is reused), and means the same day N months back to the
reference date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from masspost.audience.filter import AudienceFilter, DateRange, LastMonths, months_before
from masspost.errors import SpecError


def test_a_relative_period_is_kept_relative() -> None:
    f = AudienceFilter.from_dict({"not_visited": {"last_months": 12}, "visited": {"from": "2024-01-01",
                                                                                   "to": "2024-12-31"}})
    assert f.not_visited == LastMonths(months=12)
    assert f.visited == DateRange(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    assert f.to_dict() == {"not_visited": {"last_months": 12}, "visited": {"from": "2024-01-01", "to": "2024-12-31"}}
    assert AudienceFilter.from_dict(f.to_dict()) == f


@pytest.mark.parametrize(("day", "months", "start"), [
    (dt.date(2026, 12, 7), 12, dt.date(2025, 12, 7)),
    (dt.date(2026, 12, 7), 6, dt.date(2026, 6, 7)),
    (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2028, 3, 31), 1, dt.date(2028, 2, 29)),
    (dt.date(2026, 1, 15), 24, dt.date(2024, 1, 15)),
])
def test_the_last_months_on_a_day(day: dt.date, months: int, start: dt.date) -> None:
    assert months_before(day, months) == start
    assert LastMonths(months=months).on(day) == DateRange(start=start, end=day)


@pytest.mark.parametrize(("value", "message"), [
    ({"last_months": 0}, "audience.not_visited.last_months: must be a whole number of months from 1 to 240"),
    ({"last_months": 241}, "from 1 to 240"),
    ({"last_months": True}, "from 1 to 240"),
    ({"last_months": "12"}, "from 1 to 240"),
    ({"last_months": 12, "to": "2024-01-01"}, '{"last_months": N}'),
])
def test_a_bad_relative_period_is_refused_with_its_path(value: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("{", r"\{").replace("}", r"\}")):
        AudienceFilter.from_dict({"not_visited": value})
