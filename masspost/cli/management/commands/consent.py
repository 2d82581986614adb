"""`masspost consent export EXTERNAL_ID [--json] [--clinic CODE]`: a patient's consent as proof — the consent now
and every change of it, oldest first, with where it came from and the words the patient was shown
(docs/consent.md, "Proof")."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from masspost.cli.base import MasspostCommand, one_line_usage_error
from masspost.clinic.consent import patient_detail
from masspost.clinic.scope import Scope
from masspost.clinic.selectors import consent_proof, scope_narrowed

COLUMNS = ("WHEN", "CHANNEL", "PURPOSE", "CONSENT", "SOURCE", "BY", "HOW", "CAMPAIGN", "WORDING / NOTE")
CHANNEL_WORDS = {"sms": "SMS", "email": "e-mail"}
PURPOSE_WORDS = {"service": "all messages", "marketing": "offers"}
SOURCE_WORDS = {"import": "import", "unsubscribe": "unsubscribe link", "sms-stop": "SMS STOP",
                "provider": "SMS provider", "staff": "staff (web)", "api": "staff (API)",
                "operator": "command line", "migrated": "before the ledger"}


class Command(MasspostCommand):
    help = ("A patient's consent now and its whole history, as proof (consent export EXTERNAL_ID). Oldest "
            "first, with where each change came from and the words the patient was shown.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="{export}", required=True)
        text = ("Print a patient's consent now and every change of it, oldest first: when (in the clinic's time), "
                "channel, purpose, given or withdrawn, where it came from, who recorded it and how, the campaign, "
                "and the words the patient was shown (or staff's note).")
        export: CommandParser = actions.add_parser("export", help=text, description=text)
        export.error = functools.partial(one_line_usage_error, export)  # type: ignore[method-assign]
        export.add_argument("external_id", metavar="EXTERNAL_ID", help="the patient's id in the clinic's system")
        export.add_argument("--clinic", metavar="CODE", help="look only among this clinic's patients")
        export.add_argument("--json", action="store_true",
                            help="print it as JSON, in the shape of GET /api/v1/patients/{external_id}/consent")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = Scope.operator()
        if options["clinic"]:
            scope = scope_narrowed(scope=scope, clinic=options["clinic"])
        external_id = options["external_id"].strip()
        if not external_id:
            raise CommandError("consent export takes a patient's external id: masspost consent export P01042")
        proof = consent_proof(patient_detail(scope=scope, external_id=external_id))
        if options["json"]:
            # Django's encoder, as the API's: times to the millisecond, with the clinic's offset.
            self.stdout.write(json.dumps(proof, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder))
        else:
            self._text(proof)

    def _text(self, proof: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"patient {proof['external_id']} (clinic {proof['clinic']}); times in {proof['time_zone']}")
        write("")
        write("consent now:")
        write(f"  {'':<8}{'all messages':<14}offers")
        for channel, now in proof["consent"].items():
            write(f"  {CHANNEL_WORDS[channel]:<8}{_yes(now['service']):<14}{_yes(now['marketing'])}")
        write("")
        if not proof["events"]:
            write("history: no consent changes recorded (with none, a patient takes all messages and no offers)")
            return
        write("history, oldest first:")
        rows = [COLUMNS] + [_row(e) for e in proof["events"]]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
        for row in rows:  # the wording last and as long as it is
            write("  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip())


def _row(e: dict[str, Any]) -> tuple[str, ...]:
    when: dt.datetime = e["at"]
    said = f'"{e["wording"]}"' if e["wording"] else (f"note: {e['note']}" if e["note"] else "")
    return (when.strftime("%Y-%m-%d %H:%M:%S %z"), CHANNEL_WORDS.get(e["channel"], e["channel"]),
            PURPOSE_WORDS.get(e["purpose"], e["purpose"]), "given" if e["accepts"] else "withdrawn",
            SOURCE_WORDS.get(e["source"], e["source"]), e["staff"] or "", e["method"] or "",
            str(e["campaign_id"]) if e["campaign_id"] is not None else "", " ".join(said.split()))


def _yes(value: bool) -> str:
    return "yes" if value else "no"
