"""Sending windows and gates in the outbox (docs/delivery.md, "When messages go"): a campaign's messages wait for
its start (CampaignGate "scheduled"), a second approval (CampaignGate "approval"), and each clinic's open
intervals (SendingWindow). All times come from the caller (`now`): the worker's clock is injectable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

Interval = tuple[dt.datetime, dt.datetime]


def windows_write(*, campaign_id: int, intervals: Mapping[int, Sequence[Interval]]) -> None:
    """The campaign's open intervals per clinic id (replacing any it had), inside the caller's transaction."""
    raise NotImplementedError


def gate_close(*, campaign_id: int, reason: str, until: dt.datetime | None = None, marketing: bool = False) -> None:
    """Hold the campaign: reason "scheduled" (until its start) or "approval"."""
    raise NotImplementedError


def gate_open(*, campaign_id: int, reason: str) -> int:
    """Lift one gate; returns 1 if it was there."""
    raise NotImplementedError


def outbox_first_openings(*, campaign_id: int, now: dt.datetime) -> dict[int, dt.datetime | None]:
    """Per clinic id of the campaign's windows: the first instant at or after `now` its messages may go (now when
    open now; None: no interval left before the deadline). For the campaign page."""
    raise NotImplementedError


def outbox_start_due(*, now: dt.datetime) -> list[tuple[int, dict[str, int]]]:
    """Start the scheduled campaigns whose start has come: in one transaction each, its queued rows whose patient
    is no longer theirs to get — archived, deceased, moved clinic, opted out of the channel, lost marketing
    consent, changed address — become `left_out` (last_error: the reason code), then its "scheduled" gate is
    lifted. Returns (campaign id, reason → rows) for each campaign started."""
    raise NotImplementedError


def outbox_hold_closed(*, now: dt.datetime) -> int:
    """Move queued rows due now whose clinic's window is closed to the window's next opening (so a claim does not
    read them again and again); returns how many. Claims never take such a row anyway (delivery.turn)."""
    raise NotImplementedError
