from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandParser

from masspost.campaigns.models import Approval
from masspost.campaigns.selectors import campaign_get, campaign_status
from masspost.cli.base import MasspostCommand
from masspost.clinic.scope import Scope


class Command(MasspostCommand):
    help = "A campaign's progress: its status and its messages per status."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_campaign_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the status as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        status = campaign_status(campaign_id=self.campaign_id(options["campaign"]), scope=Scope.operator())
        if options["json"]:
            self.print_json(status)
            return
        self.stdout.write(f"campaign {status['campaign']} \"{status['name']}\": {status['status']}")
        campaign = campaign_get(campaign_id=status["campaign"], scope=Scope.operator())
        if campaign.approval == Approval.PENDING:
            self.stdout.write("  waiting for approval: another sender must approve it (web UI or API)")
        elif campaign.approval in (Approval.APPROVED, Approval.REJECTED):
            self.stdout.write(f"  {campaign.approval} by {campaign.approved_by}")
        if campaign.send_at is not None:
            started = (f"started {campaign.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if campaign.started_at
                       else "not started yet")
            self.stdout.write(f"  scheduled for {campaign.send_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC, {started}")
        self.stdout.write(f"  deadline {campaign.deadline.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
        for name, n in status["messages"].items():
            if n:
                self.stdout.write(f"  {name:<12} {n:>9}")
        self.stdout.write(f"  {'total':<12} {status['total']:>9}")
