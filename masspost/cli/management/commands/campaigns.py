from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandParser

from masspost.campaigns.listing import STATUSES, CampaignSummary, campaign_list
from masspost.campaigns.models import Approval, Campaign
from masspost.campaigns.selectors import campaign_get
from masspost.cli.base import MasspostCommand
from masspost.cli.wording import count
from masspost.clinic.scope import Scope

COLUMNS = ("ID", "CREATED (UTC)", "AUTHOR", "PURPOSE", "STATUS", "PROGRESS", "NAME")


class Command(MasspostCommand):
    help = "List the campaigns, newest first: id, created, author, purpose, status and progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", nargs="+", choices=STATUSES, metavar="STATUS",
                            help=f"only campaigns with these statuses: {', '.join(STATUSES)}")
        parser.add_argument("--limit", type=int, default=50, help="list at most this many (0: all; default 50)")
        parser.add_argument("--json", action="store_true", help="print the list as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = max(options["limit"], 0)
        statuses = frozenset(options["status"]) if options["status"] else None
        # One more than shown: whether some were left out, without counting them all.
        listed = campaign_list(scope=Scope.operator(), statuses=statuses, limit=limit + 1 if limit else None)
        shown = listed[:limit] if limit else listed
        # Each shown campaign's start and approval (the listing has neither): one small read each.
        stored = {c.id: campaign_get(campaign_id=c.id, scope=Scope.operator()) for c in shown}
        if options["json"]:
            self.print_json({"campaigns": [_as_json(c, stored[c.id]) for c in shown]})
        elif not shown:
            self.stdout.write("no campaigns yet (send one with: masspost send FILE --yes)" if statuses is None
                              else "no campaigns with status " + " or ".join(sorted(statuses)))
        else:
            self._table(shown, stored)
        if len(listed) > len(shown):
            self.stderr.write(f"the newest {count(limit, 'campaign')} shown (--limit 0 lists all)"
                              if limit != 1 else "the newest campaign shown (--limit 0 lists all)")

    def _table(self, campaigns: list[CampaignSummary], stored: dict[int, Campaign]) -> None:
        rows = [COLUMNS] + [(str(c.id), c.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"), c.author,
                             c.purpose, _status(c, stored[c.id]), _progress(c), c.name) for c in campaigns]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
        for row in rows:  # the id right-aligned, the name last and as long as it is
            cells = [row[0].rjust(widths[0])] + [cell.ljust(w) for cell, w in zip(row[1:-1], widths[1:], strict=True)]
            self.stdout.write("  ".join([*cells, row[-1]]))


def _waiting(c: CampaignSummary, campaign: Campaign) -> str:
    """"approval" (held for a second sender), "scheduled" (its start not reached), or ""."""
    if c.status in ("done", "cancelled"):
        return ""
    if campaign.approval == Approval.PENDING:
        return "approval"
    return "scheduled" if campaign.send_at is not None and campaign.started_at is None else ""


def _status(c: CampaignSummary, campaign: Campaign) -> str:
    waiting = _waiting(c, campaign)
    if waiting == "approval":
        return "awaiting approval"
    if waiting == "scheduled" and campaign.send_at is not None:
        return f"scheduled {campaign.send_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return c.status


def _progress(c: CampaignSummary) -> str:
    text = f"{c.sent:,} of {c.total:,} sent"
    for status in ("failed", "unknown", "expired", "suppressed"):
        if c.messages[status]:
            text += f" · {c.messages[status]:,} {status}"
    return text


def _as_json(c: CampaignSummary, campaign: Campaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "author": c.author, "created_at": c.created_at.isoformat(),
            "purpose": c.purpose, "channel": c.channel, "status": c.status, "messages": c.messages,
            "waiting": _waiting(c, campaign), "approval": campaign.approval,
            "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
            "progress": {"total": c.total, "sent": c.sent, "pending": c.pending, "problems": c.problems}}
