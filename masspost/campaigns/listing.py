"""The campaigns an actor may see, newest first, each with its progress (`masspost campaigns`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from masspost.campaigns.models import Campaign, CampaignState
from masspost.campaigns.selectors import campaign_visibility
from masspost.clinic.scope import Scope
from masspost.delivery.models import PENDING, MessageStatus, OutboxMessage

# Statuses a campaign is listed with: its state when paused or cancelled; an active one is "sending" while any
# message is still queued or being sent, "done" after (as campaign_status says it).
STATUSES = ("sending", "done", CampaignState.PAUSED.value, CampaignState.CANCELLED.value)
HANDED_OVER = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
PROBLEMS = (MessageStatus.FAILED, MessageStatus.UNKNOWN, MessageStatus.EXPIRED)
# Up to this many campaigns, their messages are counted by id (a parameter each; SQLite allows 999); more, and
# the one GROUP BY runs over the whole outbox, along its (campaign, status) index.
MAX_LISTED_IDS = 500


@dataclass(frozen=True, kw_only=True, slots=True)
class CampaignSummary:
    id: int
    name: str
    author: str
    created_at: dt.datetime
    purpose: str
    channel: str
    status: str
    messages: dict[str, int]  # per outbox status, every status present
    send_at: dt.datetime | None = None  # when it starts (scheduled), None: at once
    started_at: dt.datetime | None = None  # when its start's check ran
    approval: str = ""  # campaigns.models.Approval: "pending" waits for a second sender

    @property
    def waits_for_start(self) -> bool:
        """Scheduled and not started yet (nor cancelled)."""
        return self.send_at is not None and self.started_at is None and self.status != CampaignState.CANCELLED

    @property
    def total(self) -> int:
        return sum(self.messages.values())

    @property
    def sent(self) -> int:  # handed to a gateway, whatever the receipt said since
        return sum(self.messages[s] for s in HANDED_OVER)

    @property
    def pending(self) -> int:
        return sum(self.messages[s] for s in PENDING)

    @property
    def problems(self) -> int:
        return sum(self.messages[s] for s in PROBLEMS)


def campaign_list(*, scope: Scope, statuses: frozenset[str] | None = None,
                  limit: int | None = None) -> list[CampaignSummary]:
    """Newest first; only campaigns drawn from clinics in the scope (as campaign_get decides). Two queries
    whatever the count: the campaigns, then their messages' statuses in one GROUP BY."""
    campaigns = Campaign.objects.order_by("-created_at", "-id").only(
        "id", "name", "created_by", "created_at", "purpose", "channel", "state", "audience", "send_at", "started_at",
        "approval")
    visible_to_scope = campaign_visibility(scope)
    visible = [c for c in campaigns if visible_to_scope(c)]
    if statuses is None and limit:
        visible = visible[:limit]  # no status to filter by: the messages of the rest need not be counted
    counts: dict[int, dict[str, int]] = {c.id: dict.fromkeys(MessageStatus.values, 0) for c in visible}
    rows = OutboxMessage.objects.values_list("campaign_id", "status").annotate(n=Count("id")).order_by()
    if len(counts) <= MAX_LISTED_IDS:
        rows = rows.filter(campaign_id__in=list(counts))
    for campaign_id, status, n in rows:
        if campaign_id in counts:
            counts[campaign_id][status] = n
    listed = []
    for c in visible:
        pending = sum(counts[c.id][s] for s in PENDING)
        status = c.state if c.state != CampaignState.ACTIVE else ("sending" if pending else "done")
        if statuses is None or status in statuses:
            listed.append(CampaignSummary(id=c.id, name=c.name, author=c.created_by, created_at=c.created_at,
                                          purpose=c.purpose, channel=c.channel, status=str(status),
                                          messages=counts[c.id], send_at=c.send_at, started_at=c.started_at,
                                          approval=c.approval))
    return listed[:limit] if limit else listed
