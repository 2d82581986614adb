"""`masspost gateway check [--json]`: whether the configured SMS and e-mail gateways accept their credentials,
without sending anything, and the webhooks to register with an HTTP SMS provider (masspost.delivery.setup;
docs/delivery.md, "Checking the gateways")."""

from __future__ import annotations

import functools
from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand, one_line_usage_error
from masspost.delivery.setup import CheckStatus, GatewayCheck, gateway_check

CHANNEL_NAMES = {"sms": "SMS", "email": "e-mail"}


class Command(MasspostCommand):
    help = ("Check the SMS and e-mail gateways: whether each accepts its credentials, without sending anything. "
            "SMTP connects and logs in, SMPP binds, Twilio and Messente answer an account request; then the "
            "webhooks to register with an HTTP SMS provider are printed. Exits non-zero when a gateway is not "
            "ready.")
    requires_system_checks: list[str] = []
    needs_schema = False  # the gateways only: no database

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="check", required=True)
        text = ("Open each gateway and close it again: ok, refused (credentials, account, certificate or URL) or "
                "unreachable; file:, console: and memory: write locally and have nothing to check.")
        check: CommandParser = actions.add_parser("check", help=text, description=text)
        check.error = functools.partial(one_line_usage_error, check)  # type: ignore[method-assign]
        check.add_argument("--sms-url", help="check this SMS gateway URL instead of MASSPOST_SMS_URL")
        check.add_argument("--email-url", help="check this e-mail gateway URL instead of MASSPOST_EMAIL_URL")
        check.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        checks = gateway_check(sms_url=options["sms_url"], email_url=options["email_url"])
        if options["json"]:
            self.print_json({"ok": all(check.fine for check in checks), "gateways": [_as_json(c) for c in checks]})
        else:
            for check in checks:
                self.stdout.write("\n".join(_as_lines(check)))
        failed = [check for check in checks if not check.fine]
        if failed:
            raise CommandError("; ".join(_failure(check) for check in failed))


def _as_json(check: GatewayCheck) -> dict[str, Any]:
    return {"channel": str(check.channel), "scheme": check.scheme, "status": str(check.status),
            "detail": check.detail, "webhooks": check.webhooks, "note": check.note}


def _failure(check: GatewayCheck) -> str:
    """The one line on standard error for a gateway that is not ready."""
    name = CHANNEL_NAMES[check.channel]
    if check.status == CheckStatus.REFUSED:
        return f"the {name} gateway refused: fix {check.setting}"
    return f"the {name} gateway is {check.status}: try again once it can be reached"


def _as_lines(check: GatewayCheck) -> list[str]:
    scheme = f" ({check.scheme})" if check.scheme else ""
    said = check.detail if check.status == CheckStatus.LOCAL else f"{check.status}: {check.detail}"
    lines = [f"{CHANNEL_NAMES[check.channel]} gateway{scheme}: {said}"]
    if check.webhooks:
        lines.append("  register these webhooks with the provider:")
        width = max(len(name) for name in check.webhooks) + 2
        lines += [f"    {name:<{width}}{url}" for name, url in check.webhooks.items()]
    if check.note:
        lines.append(f"  {check.note}")
    return lines
