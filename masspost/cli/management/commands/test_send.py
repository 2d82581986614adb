from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from masspost.campaigns.test_send import campaign_test_send
from masspost.cli.base import MasspostCommand, load_spec
from masspost.staff.names import printable
from masspost.staff.selectors import staff_scope

CHANNEL_TEXT = {"sms": "SMS", "email": "e-mail"}


class Command(MasspostCommand):
    help = ("Send a test of a campaign file to a user's own phone and e-mail: the preview's sample in each language, "
            "marked as a test, never to a patient.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="campaign JSON file (docs/campaign.md), or - for standard input")
        parser.add_argument("--token", required=True,
                            help="the token `masspost preview` printed: refuse if anything changed since")
        parser.add_argument("--user", required=True, metavar="NAME",
                            help="the user whose own phone and e-mail get the test (masspost user change NAME "
                                 "--phone … --email … sets them); the test is sent as that user, over their clinics")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = load_spec(options["file"])
        name = options["user"]
        user = get_user_model()._default_manager.filter(username=name).first() if "\x00" not in name else None
        scope = staff_scope(user=user) if user is not None else None
        if scope is None:
            raise CommandError(f"no active user {printable(name)!r} (masspost user list shows them)")
        # Audited as the user, saying the server's operator ran it for them.
        outcome = campaign_test_send(spec=spec, scope=scope, token=options["token"], via="command line")
        if options["json"]:
            self.print_json(outcome.to_dict())
        else:
            for m in outcome.messages:
                result = "sent" if m.ok else f"failed: {m.error}"
                self.stdout.write(f"{CHANNEL_TEXT[m.channel]} {m.language} to {printable(m.to)}: {result}")
            for channel in outcome.missing:
                self.stdout.write(f"{CHANNEL_TEXT[channel]}: not sent, {printable(name)} has no "
                                  f"{'phone' if channel == 'sms' else 'e-mail'} of their own "
                                  f"(masspost user change {printable(name)} "
                                  f"--{'phone' if channel == 'sms' else 'email'} …)")
        if failed := sum(not m.ok for m in outcome.messages):
            raise CommandError(f"{failed} of {len(outcome.messages)} test messages failed")
