"""Reading the outbox."""

from __future__ import annotations

from django.db.models import Count

from masspost.delivery.models import MessageStatus, OutboxMessage


def outbox_status_counts(*, campaign_id: int) -> dict[str, int]:
    counts = dict.fromkeys(MessageStatus.values, 0)
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).values("status").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts
