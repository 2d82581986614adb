from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from masspost.campaigns.selectors import campaign_status
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
        for name, n in status["messages"].items():
            if n:
                self.stdout.write(f"  {name:<12} {n:>9}")
        self.stdout.write(f"  {'total':<12} {status['total']:>9}")
