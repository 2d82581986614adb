"""`masspost gateway check [--json]`: whether the configured SMS and e-mail gateways accept their credentials,
without sending anything, the webhooks to register with an HTTP SMS provider and the DKIM records to publish
(masspost.delivery.setup; docs/delivery.md, "Checking the gateways"). `masspost gateway dkim [--clinic CODE]
[--json]`: the DNS TXT records alone (masspost.delivery.dkim; docs/consent.md, "DKIM")."""

from __future__ import annotations

import functools
from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand, ensure_schema, one_line_usage_error
from masspost.delivery.dkim import DkimRecord, dns_records
from masspost.delivery.setup import CheckStatus, GatewayCheck, gateway_check

CHANNEL_NAMES = {"sms": "SMS", "email": "e-mail"}


class Command(MasspostCommand):
    help = ("Check the SMS and e-mail gateways: whether each accepts its credentials, without sending anything. "
            "SMTP connects and logs in, SMPP binds, Twilio and Messente answer an account request; then the "
            "webhooks to register with an HTTP SMS provider and the DKIM records to publish are printed. Exits "
            "non-zero when a gateway is not ready.")
    requires_system_checks: list[str] = []
    needs_schema = False  # the gateways only: no database

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="{check,dkim}", required=True)
        text = ("Open each gateway and close it again: ok, refused (credentials, account, certificate or URL) or "
                "unreachable; file:, console: and memory: write locally and have nothing to check.")
        check: CommandParser = actions.add_parser("check", help=text, description=text)
        check.error = functools.partial(one_line_usage_error, check)  # type: ignore[method-assign]
        check.add_argument("--sms-url", help="check this SMS gateway URL instead of MASSPOST_SMS_URL")
        check.add_argument("--email-url", help="check this e-mail gateway URL instead of MASSPOST_EMAIL_URL")
        check.add_argument("--json", action="store_true", help="print the result as JSON")
        text = ("Print the DNS TXT record(s) that let receivers verify masspost's DKIM signatures: the "
                "installation's key (MASSPOST_DKIM_SELECTOR, MASSPOST_DKIM_KEY_FILE) under each clinic's e-mail "
                "domain, and each clinic's own key. Exits non-zero when no key is set or a key cannot be used.")
        dkim: CommandParser = actions.add_parser("dkim", help=text, description=text)
        dkim.error = functools.partial(one_line_usage_error, dkim)  # type: ignore[method-assign]
        dkim.add_argument("--clinic", metavar="CODE", help="only the record(s) for this clinic's e-mails")
        dkim.add_argument("--json", action="store_true", help="print the records as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "dkim":
            self._dkim(clinic=options["clinic"], as_json=options["json"])
            return
        checks = gateway_check(sms_url=options["sms_url"], email_url=options["email_url"])
        if options["json"]:
            self.print_json({"ok": all(check.fine for check in checks), "gateways": [_as_json(c) for c in checks]})
        else:
            for check in checks:
                self.stdout.write("\n".join(_as_lines(check)))
        failed = [check for check in checks if not check.fine]
        if failed:
            raise CommandError("; ".join(_failure(check) for check in failed))


    def _dkim(self, *, clinic: str | None, as_json: bool) -> None:
        ensure_schema()  # the clinics' own keys and e-mail domains are in the database
        records = dns_records(clinic_code=clinic)
        if as_json:
            self.print_json([_record_json(record) for record in records])
        else:
            for record in records:
                self.stdout.write(record.line())
        if not records:
            raise CommandError("no DKIM key is set: set MASSPOST_DKIM_SELECTOR and MASSPOST_DKIM_KEY_FILE, or a "
                               "clinic's own selector and key in its settings")


def _record_json(record: DkimRecord) -> dict[str, Any]:
    return {"name": record.name, "type": "TXT", "value": record.value, "selector": record.selector,
            "domain": record.domain or None, "clinic": record.clinic or None, "clinics": list(record.clinics),
            "fingerprint": record.fingerprint}


def _record_lines(record: DkimRecord) -> list[str]:
    whose = f"clinic {record.clinic}'s own key" if record.clinic else "the installation's key"
    for_ = f", for {', '.join(record.clinics)}" if record.clinics and not record.clinic else ""
    domain = "" if record.domain else " (write the clinics' e-mail domain for <your-domain>)"
    return [f"  DKIM: {whose}, selector {record.selector}, {record.fingerprint}{for_}; publish{domain}:",
            f"    {record.line()}"]


def _as_json(check: GatewayCheck) -> dict[str, Any]:
    said: dict[str, Any] = {"channel": str(check.channel), "scheme": check.scheme, "status": str(check.status),
            "detail": check.detail, "webhooks": check.webhooks, "note": check.note, "optout": list(check.optout)}
    if check.channel == "email":
        said["dkim"] = [_record_json(record) for record in check.dkim]
        said["dkim_note"] = check.dkim_note
    return said


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
    lines += [f"  {line}" for line in check.optout]
    for record in check.dkim:
        lines += _record_lines(record)
    if check.dkim_note:
        lines.append(f"  {check.dkim_note}")
    return lines
