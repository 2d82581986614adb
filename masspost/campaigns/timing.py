"""When a campaign's messages go, clinic by clinic: its start (`send_at`, an instant or each clinic's local time),
its deadline, and each clinic's first opening after the start — its sending window for the campaign's purpose, in
its own time zone, closed on its country's public holidays for marketing (masspost.schedule). What the preview and
the campaign page say ("Hammas Tallinn: tomorrow 09:00, after the quiet hours"), and what the send writes as the
campaign's SendingWindow rows. docs/campaign.md, "Scheduling" and "Quiet hours and holidays"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.errors import SpecError
from masspost.schedule import ALWAYS, Window, local_instant, open_intervals, parse_window, public_holidays

DEFAULT_DEADLINE = timedelta(days=3)  # after the start, when the campaign gives none
HELD_QUIET_HOURS = "quiet_hours"  # the start falls outside the clinic's window: its messages wait for the opening
HELD_HOLIDAY = "holiday"  # the start falls on the country's public holiday (marketing): they wait for the next day


@dataclass(frozen=True, kw_only=True, slots=True)
class ClinicTiming:
    clinic_id: int
    code: str
    name: str
    time_zone: str
    window: str  # the clinic's window for the campaign's purpose, as written ("Mon-Sat 09:00-20:00")
    starts_at: dt.datetime  # aware, UTC: the campaign's start for this clinic (send_at in its zone, or now)
    opens_at: dt.datetime | None  # aware, UTC: the first instant its messages may go; None: not before the deadline
    held: str  # "" (they go at the start), HELD_QUIET_HOURS or HELD_HOLIDAY
    deadline: dt.datetime  # aware, UTC
    intervals: tuple[tuple[dt.datetime, dt.datetime], ...]  # open intervals in [starts_at, deadline), UTC

    def to_dict(self) -> dict[str, object]:
        return {"clinic": self.code, "name": self.name, "time_zone": self.time_zone, "window": self.window,
                "starts_at": self.starts_at.isoformat(), "opens_at": self.opens_at.isoformat() if self.opens_at
                else None, "held": self.held, "deadline": self.deadline.isoformat()}


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    scheduled: bool  # the spec has a send_at in the future
    send_at: str | None  # as the campaign gave it (ISO 8601), None: at once
    deadline: dt.datetime  # the latest of the clinics' deadlines (aware, UTC)
    clinics: tuple[ClinicTiming, ...]  # by clinic code

    @property
    def starts_at(self) -> dt.datetime | None:
        """The earliest clinic's start (None: no clinic)."""
        return min((c.starts_at for c in self.clinics), default=None)

    def to_dict(self) -> dict[str, object]:
        """The preview's `schedule` (docs/api.md)."""
        return {"send_at": self.send_at, "scheduled": self.scheduled, "deadline": self.deadline.isoformat(),
                "clinics": [c.to_dict() for c in self.clinics]}


PAST_TOLERANCE = timedelta(minutes=5)  # a send_at this far in the past still means "now" (a form filled slowly)
AHEAD_MAX = timedelta(days=90)  # the furthest ahead a campaign may be scheduled
DEADLINE_MAX = timedelta(days=90)  # the longest a campaign may keep trying after its start
SCHEDULED_AFTER = timedelta(minutes=1)  # a start further ahead than this holds the campaign until it comes


def _instant(when: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An aware `when` as it is; a naive one as that wall time in `zone` (masspost.schedule.local_instant)."""
    if when.tzinfo is not None:
        return when.astimezone(dt.UTC)
    return local_instant(when.date(), when.hour * 60 + when.minute, zone)


def windows_apply() -> bool:
    """MASSPOST_SENDING_WINDOWS: "clinics" (the default) holds messages to each clinic's window and holidays;
    "always" ignores them (every window is always open)."""
    return getattr(settings, "MASSPOST_SENDING_WINDOWS", "clinics") != "always"


def _window(clinic: Clinic, marketing: bool) -> tuple[str, Window]:
    if not windows_apply():
        return str(ALWAYS), ALWAYS
    field = "marketing_window" if marketing else "service_window"
    text = getattr(clinic, field)
    try:
        return text, parse_window(text)
    except ValueError as e:
        raise SpecError(f"clinic {clinic.code}: {field}: {e}") from None


def clinic_timing(*, spec: CampaignSpec, clinic: Clinic, now: dt.datetime) -> ClinicTiming:
    """One clinic's part of campaign_timing (its checks included)."""
    zone = ZoneInfo(clinic.time_zone)
    start = _instant(spec.send_at, zone) if spec.send_at is not None else now.astimezone(dt.UTC)
    if start < now - PAST_TOLERANCE:
        raise SpecError(f"send_at: {_local(start, zone)} in clinic {clinic.code} has passed: give a time to come, or "
                        "none to send at once")
    if start > now + AHEAD_MAX:
        raise SpecError(f"send_at: at most {AHEAD_MAX.days} days ahead")
    deadline = _instant(spec.deadline, zone) if spec.deadline is not None else start + DEFAULT_DEADLINE
    if deadline <= start:
        raise SpecError(f"deadline: {_local(deadline, zone)} in clinic {clinic.code} is not after the campaign's "
                        f"start there ({_local(start, zone)})")
    if deadline > start + DEADLINE_MAX:
        raise SpecError(f"deadline: at most {DEADLINE_MAX.days} days after the campaign's start")
    text, window = _window(clinic, spec.marketing)
    closed: frozenset[dt.date] = frozenset()
    if spec.marketing and clinic.holidays and windows_apply():
        first, last = start.astimezone(zone).year, deadline.astimezone(zone).year
        closed = public_holidays(clinic.country, range(first, last + 1))
    intervals = open_intervals(window=window, zone=clinic.time_zone, start=start, end=deadline, closed_days=closed)
    opens_at = intervals[0][0] if intervals else None
    if opens_at == start:
        held = ""
    elif start.astimezone(zone).date() in closed:
        held = HELD_HOLIDAY
    else:
        held = HELD_QUIET_HOURS
    return ClinicTiming(clinic_id=clinic.id, code=clinic.code, name=clinic.name, time_zone=clinic.time_zone,
                        window=text, starts_at=start, opens_at=opens_at, held=held, deadline=deadline,
                        intervals=tuple(intervals))


def _local(when: dt.datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def campaign_timing(*, spec: CampaignSpec, clinics: tuple[Clinic, ...], now: dt.datetime) -> Timing:
    """The campaign's timing for `clinics` (those its audience reaches) as of `now`. SpecError for a send_at more
    than 5 minutes in the past, a deadline not after the start, or a send_at more than 90 days ahead."""
    per_clinic = tuple(sorted((clinic_timing(spec=spec, clinic=c, now=now) for c in clinics), key=lambda t: t.code))
    if per_clinic:
        deadline = max(t.deadline for t in per_clinic)
    else:  # no clinic: the campaign's own times, read in UTC (there is no message to send anyway)
        nowhere = spec.send_at.replace(tzinfo=dt.UTC) if spec.send_at and spec.send_at.tzinfo is None \
            else spec.send_at
        start = nowhere.astimezone(dt.UTC) if nowhere else now.astimezone(dt.UTC)
        if spec.deadline is None:
            deadline = start + DEFAULT_DEADLINE
        else:
            deadline = (spec.deadline.replace(tzinfo=dt.UTC) if spec.deadline.tzinfo is None
                        else spec.deadline).astimezone(dt.UTC)
    return Timing(scheduled=any(t.starts_at > now + SCHEDULED_AFTER for t in per_clinic),
                  send_at=spec.send_at.isoformat() if spec.send_at else None, deadline=deadline, clinics=per_clinic)
