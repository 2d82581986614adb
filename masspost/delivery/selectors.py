"""Reading the outbox and what came in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from masspost.delivery.models import InboundKind, InboundMessage, MessageStatus, OutboxMessage


def outbox_status_counts(*, campaign_id: int) -> dict[str, int]:
    counts = dict.fromkeys(MessageStatus.values, 0)
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).values("status").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True, kw_only=True, slots=True)
class InboundCounts:
    received: int  # incoming SMS stored
    stops: int  # of them, stop words
    unmatched: int  # of them, from a number no patient has
    unmatched_stops: int  # stop words from such a number: nobody opted out — worth a look
    opted_out: int  # patients whose SMS a stop word turned off


def inbound_counts(*, since: dt.datetime | None = None) -> InboundCounts:
    """Incoming SMS received since `since` (all, without it), counted in one query: what an operator checks
    to see that replies and stop words arrive and match patients (docs/delivery.md, "Stop words")."""
    rows = InboundMessage.objects.all()
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    stop, unmatched = Q(kind=InboundKind.STOP), Q(patients=0)
    totals = rows.aggregate(received=Count("id"), stops=Count("id", filter=stop),
                            unmatched=Count("id", filter=unmatched),
                            unmatched_stops=Count("id", filter=stop & unmatched), opted_out=Sum("opted_out"))
    return InboundCounts(**{name: value or 0 for name, value in totals.items()})
