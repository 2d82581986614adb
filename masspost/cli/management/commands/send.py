from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.campaigns.services import campaign_send
from masspost.cli.base import MasspostCommand, load_spec
from masspost.cli.wording import agree, count
from masspost.clinic.scope import Scope


class Command(MasspostCommand):
    help = "Send a campaign file: writes the campaign and its outbox; `masspost worker` delivers it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="campaign JSON file (docs/campaign.md), or - for standard input")
        parser.add_argument("--token", help="the token `masspost preview` printed: refuse to send if anything "
                                            "changed since that preview")
        parser.add_argument("--yes", action="store_true", help="confirm the send")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = load_spec(options["file"])
        if not options["yes"]:
            raise CommandError("nothing sent: confirm with --yes (preview first with `masspost preview`)")
        outcome = campaign_send(spec=spec, scope=Scope.operator(), token=options["token"])
        if options["json"]:
            self.print_json({"campaign": outcome.campaign_id, "messages": outcome.messages,
                             "created": outcome.created, "approval": outcome.approval,
                             "send_at": outcome.send_at.isoformat() if outcome.send_at else None})
        elif outcome.created:
            when = (f", scheduled for {outcome.send_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if outcome.send_at
                    else "")
            if outcome.approval == "pending":
                self.stdout.write(f"campaign {outcome.campaign_id}: {count(outcome.messages, 'message')} waiting "
                                  f"for approval{when}: a clinic's rule needs another sender to approve it (web UI "
                                  "or API) before anything goes")
            else:
                self.stdout.write(f"campaign {outcome.campaign_id}: {count(outcome.messages, 'message')} queued"
                                  f"{when} (run `masspost worker` to deliver {agree(outcome.messages, 'it', 'them')})")
        else:
            self.stdout.write(f"campaign {outcome.campaign_id} was already sent with this preview: "
                              f"{count(outcome.messages, 'message')}, nothing new queued")
