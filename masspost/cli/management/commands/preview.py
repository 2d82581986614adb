from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from masspost.campaigns.export import CsvExport
from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.cli.base import MasspostCommand, load_spec
from masspost.clinic.scope import Scope

REASON_TEXT = {
    "opted_out": "does not accept this channel",
    "no_marketing_consent": "no marketing consent",
    "no_content": "no text in their language",
    "no_address": "no address",
    "invalid_address": "address cannot be used",
}


class Command(MasspostCommand):
    help = "Preview a campaign file: who gets what, in which language, how many SMS parts, who is left out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="campaign JSON file (docs/campaign.md), or - for standard input")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--csv-dir", help="also write recipients.csv and excluded.csv into this directory")
        parser.add_argument("--counts-only", action="store_true",
                            help="only the counts, from one GROUP BY query (no rendering, no token)")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = load_spec(options["file"])
        if options["counts_only"]:
            self.print_json(campaign_counts(spec=spec, scope=Scope.operator()))
            return
        export = CsvExport(Path(options["csv_dir"])) if options["csv_dir"] else None
        with export or nullcontext():
            preview = campaign_preview(spec=spec, scope=Scope.operator(),
                                       on_recipient=export.recipient if export else None,
                                       on_excluded=export.excluded if export else None)
        data = preview.to_dict()
        if options["json"]:
            self.print_json(data)
        else:
            self._human(data)
        if export:
            self.stderr.write(f"wrote {export.directory / 'recipients.csv'} and {export.directory / 'excluded.csv'}")

    def _human(self, data: dict[str, Any]) -> None:
        out = self.stdout.write
        c = data["campaign"]
        out(f"Preview of \"{c['name']}\" ({c['purpose']}, {c['channel']}), "
            f"{data['audience']['patients']} patients match the audience")
        for lang, by_channel in data["recipients"].items():
            out(f"  {lang}: " + ", ".join(f"{n} {ch}" for ch, n in by_channel.items() if ch in data[ch] or n))
        for lang, t in data["sms"].items():
            if t["recipients"]:
                enc = ", ".join(f"{k} {v}" for k, v in t["encodings"].items())
                out(f"  SMS {lang}: {t['recipients']} recipients, {t['parts_min']}–{t['parts_max']} parts each "
                    f"({enc}), {t['parts_total']} parts in all")
                out(f"    sample: {t['sample']['text']!r}")
        for lang, t in data["email"].items():
            if t["recipients"]:
                out(f"  e-mail {lang}: {t['recipients']} recipients; sample subject: {t['sample']['subject']!r}")
        for channel, reasons in data["excluded"].items():
            for reason, n in reasons.items():
                if n:
                    extra = ""
                    if reason == "no_content":
                        langs = data["no_content_languages"].get(channel, {})
                        extra = " (" + ", ".join(f"{k or '?'}: {v}" for k, v in sorted(langs.items())) + ")"
                    out(f"  left out of {channel}: {n} — {REASON_TEXT[reason]}{extra}")
        for channel, n in data["fallback"].items():
            if n:
                out(f"  {n} {channel} recipients get the fallback language {c['fallback_language']!r}")
        out(f"Total: {data['sms_parts_total']} SMS parts, {data['emails_total']} e-mails")
        out(f"Token: {data['token']}")
        out("Send with: masspost send FILE --token TOKEN --yes")
