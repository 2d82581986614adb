"""Opt-outs take effect at once (docs/consent.md, "Opt-outs take effect at once").

An opt-out — an unsubscribe link, a stop word, a provider opt-out, staff, an import — cancels the patient's
messages of that channel (and, for a marketing opt-out, only the marketing ones) that are not yet handed off:
status `suppressed`, `last_error` the reason (the event's source kind). A message already handed off (claimed:
`sending`, or further) is as it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def outbox_suppress(*, patient_ids: Iterable[int], channel: str, purpose: str, reason: str) -> int:
    """Inside the caller's transaction (the one that appended the opt-out's event): the patients' queued messages
    on `channel` — all of them for purpose "service" (the channel as a whole), the marketing ones for
    "marketing" — become `suppressed` with `reason`. Returns how many."""
    raise NotImplementedError


def opt_out(*, patient_ids: Iterable[int], channel: str, purpose: str, source: str, wording: str = "",
            campaign_id: int | None = None) -> list[int]:
    """The patients withdraw consent for (channel, purpose): a ledger event for each whose consent it changes
    (masspost.clinic.ledger.consent_change_many) and their queued messages suppressed, in one transaction.
    Returns the ids of the patients whose consent changed."""
    raise NotImplementedError


def suppress_withdrawn(*, since: dt.datetime) -> int:
    """Housekeeping, at least every 30 s in each worker: messages still queued for a patient whose consent no
    longer allows them, for the opt-outs recorded since `since` by paths that do not suppress themselves (an
    import, a staff record). Returns how many it suppressed."""
    raise NotImplementedError
