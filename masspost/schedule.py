"""When a clinic's messages may go: sending windows in the clinic's own time zone, and its public holidays.

A window is written as in the clinics file: ``Mon-Sat 09:00-20:00`` — days (English abbreviations; ranges and
commas: ``Mon-Fri,Sun``), then local 24-hour times, the end after the start (``24:00`` = midnight at the day's end).
``Mon-Sun 00:00-24:00`` is always open. `open_intervals` turns a window into instants (UTC) between two instants,
day by day in the zone, so a DST change moves the instants, never the local hours: 09:00 in Tallinn is 07:00 UTC
in winter and 06:00 UTC in summer. A local time that does not exist (the spring change's skipped hour) opens at
the first instant after it; one that exists twice (the autumn change) opens at the first of the two.

Pure: no Django (docs/architecture.md). docs/campaign.md, "Quiet hours and holidays".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MARKETING_DEFAULT = "Mon-Sat 09:00-20:00"
SERVICE_DEFAULT = "Mon-Sun 08:00-21:00"
_DAY_MINUTES = 24 * 60
_FORM = re.compile(r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """Open on `days` (0 = Monday) from `start` to `end`, in minutes after local midnight (end up to 1440)."""

    days: frozenset[int]
    start: int
    end: int

    @property
    def always(self) -> bool:
        return self.days == frozenset(range(7)) and self.start == 0 and self.end == _DAY_MINUTES

    def __str__(self) -> str:
        return f"{_days_text(self.days)} {_clock(self.start)}-{_clock(self.end)}"


ALWAYS = Window(days=frozenset(range(7)), start=0, end=_DAY_MINUTES)


def parse_window(text: str) -> Window:
    """`text` as a Window; ValueError saying what is wrong (never echoing more than the text's own parts)."""
    if not isinstance(text, str):
        raise ValueError("a sending window is text like 'Mon-Sat 09:00-20:00'")
    match = _FORM.match(text)
    if match is None:
        raise ValueError("write a sending window as days and hours, like 'Mon-Sat 09:00-20:00'")
    days: set[int] = set()
    for item in match["days"].replace(" ", "").split(","):
        if not item:
            raise ValueError("an empty day in the sending window's days")
        first, _, last = item.partition("-")
        a, b = _day(first), _day(last) if last else _day(first)
        if b < a:
            raise ValueError(f"the days {item!r} run backwards: write them Monday first, like 'Mon-Sat'")
        days.update(range(a, b + 1))
    start, end = _minutes(match["start"]), _minutes(match["end"])
    if end <= start:
        raise ValueError(f"the sending window's end {match['end']} must be after its start {match['start']}")
    return Window(days=frozenset(days), start=start, end=end)


def _day(name: str) -> int:
    for i, day in enumerate(DAYS):
        if name.lower() == day.lower():
            return i
    raise ValueError(f"{name[:10]!r} is not a day: use {', '.join(DAYS)}")


def _minutes(text: str) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_text(days: frozenset[int]) -> str:
    runs: list[str] = []
    ordered = sorted(days)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(DAYS[ordered[i]] if i == j else f"{DAYS[ordered[i]]}-{DAYS[ordered[j]]}")
        i = j + 1
    return ",".join(runs)


def local_instant(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    """The instant (UTC) of local `minutes` after midnight on `day` in `zone`; a skipped local time (spring DST)
    gives the first instant after the gap, a repeated one (autumn) the first of the two."""
    if minutes >= _DAY_MINUTES:
        return local_instant(day + dt.timedelta(days=1), minutes - _DAY_MINUTES, zone)
    naive = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
    for step in range(24 * 60):  # a gap is at most a few hours: the first wall time after it that exists
        wall = naive + dt.timedelta(minutes=step)
        utc = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == wall:
            return utc
    raise ValueError(f"no local time at or after {naive} exists in {zone}")  # pragma: no cover


def open_intervals(*, window: Window, zone: str, start: dt.datetime, end: dt.datetime,
                   closed_days: Container[dt.date] = ()) -> list[tuple[dt.datetime, dt.datetime]]:
    """The instants (aware, UTC) in [start, end) when `window` is open in `zone`, skipping `closed_days` (local
    dates), as sorted, disjoint, non-empty intervals; adjacent days' intervals (an always-open window) are joined."""
    if end <= start:
        return []
    tz = ZoneInfo(zone)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    while day <= last:
        if day.weekday() in window.days and day not in closed_days:
            opens = max(local_instant(day, window.start, tz), start)
            closes = min(local_instant(day, window.end, tz), end)
            if opens < closes:
                if out and out[-1][1] >= opens:
                    out[-1] = (out[-1][0], max(out[-1][1], closes))
                else:
                    out.append((opens, closes))
        day += dt.timedelta(days=1)
    return [(a.astimezone(dt.UTC), b.astimezone(dt.UTC)) for a, b in out]


def next_opening(*, window: Window, zone: str, at: dt.datetime, closed_days: Container[dt.date] = (),
                 horizon: dt.timedelta = dt.timedelta(days=366)) -> dt.datetime | None:
    """The first instant at or after `at` when the window is open (`at` itself when open); None within `horizon`."""
    step = dt.timedelta(days=14)
    begin = at
    while begin < at + horizon:
        found = open_intervals(window=window, zone=zone, start=begin, end=begin + step, closed_days=closed_days)
        if found:
            return found[0][0]
        begin += step
    return None


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    import holidays  # imported when first needed: it loads every country's calendar

    try:
        return frozenset(holidays.country_holidays(country.upper(), years=year).keys())
    except NotImplementedError:  # a country the package does not know: no public holidays
        return frozenset()


def public_holidays(country: str, years: Iterable[int]) -> frozenset[dt.date]:
    """The country's (ISO 3166-1 alpha-2) public holidays in `years`, from the `holidays` package; none for a
    country it does not know."""
    out: set[dt.date] = set()
    for year in years:
        out |= _holidays(country, year)
    return frozenset(out)
