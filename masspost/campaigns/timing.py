"""When a campaign's messages go, clinic by clinic: its start (`send_at`, an instant or each clinic's local time),
its deadline, and each clinic's first opening after the start — its sending window for the campaign's purpose, in
its own time zone, closed on its country's public holidays for marketing (masspost.schedule). What the preview and
the campaign page say ("Hammas Tallinn: tomorrow 09:00, after the quiet hours"), and what the send writes as the
campaign's SendingWindow rows. docs/campaign.md, "Scheduling" and "Quiet hours and holidays"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timedelta

from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic

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

    def to_dict(self) -> dict[str, object]:
        """The preview's `schedule` (docs/api.md)."""
        return {"send_at": self.send_at, "scheduled": self.scheduled, "deadline": self.deadline.isoformat(),
                "clinics": [c.to_dict() for c in self.clinics]}


def campaign_timing(*, spec: CampaignSpec, clinics: tuple[Clinic, ...], now: dt.datetime) -> Timing:
    """The campaign's timing for `clinics` (those its audience reaches) as of `now`. SpecError for a send_at more
    than 5 minutes in the past, a deadline not after the start, or a send_at more than 90 days ahead."""
    raise NotImplementedError
