from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from masspost.cli.base import MasspostCommand
from masspost.cli.wording import count
from masspost.clinic.csvfile import ENCODINGS
from masspost.clinic.importer import import_file

MAX_LISTED = 200
PROGRESS_WIDTH = 100


class Command(MasspostCommand):
    help = "Import clinics, patients or visits from a CSV file (docs/import.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["clinics", "patients", "visits"])
        parser.add_argument("file")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="import the good rows even when some rows are bad (bad rows are still reported)")
        parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8",
                            help="the file's text encoding (default utf-8, with or without a byte-order mark)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        # Rows and rate on a terminal, on standard error (so --json output stays clean); nothing when redirected.
        # The last line stays: the rows read and the average rate. The size is given, not asked: a terminal that
        # reports 0×0 (some ptys) would hide the line.
        with tqdm(desc=f"importing {options['kind']}", unit=" rows", unit_scale=False, file=sys.stderr,
                  disable=not sys.stderr.isatty(), ncols=PROGRESS_WIDTH, nrows=24) as bar:
            report = import_file(kind=options["kind"], path=Path(options["file"]),
                                 skip_invalid=options["skip_invalid"], encoding=options["encoding"],
                                 progress=bar.update)
        if options["json"]:
            self.print_json({
                "kind": report.kind, "rows": report.rows, "imported": report.imported, "written": report.written,
                "errors": [vars_of(p) for p in report.errors], "warnings": [vars_of(p) for p in report.warnings],
            })
        else:
            for label, problems in (("warning", report.warnings), ("error", report.errors)):
                for problem in problems[:MAX_LISTED]:
                    self.stderr.write(f"{label}: {problem}")
                if len(problems) > MAX_LISTED:
                    self.stderr.write(f"... and {count(len(problems) - MAX_LISTED, 'more ' + label)} (use --json for "
                                      "all)")
            if report.written:
                self.stdout.write(f"imported {report.imported} of {count(report.rows, report.kind + ' row')}"
                                  + (f", {count(len(report.errors), 'bad row')} skipped" if report.errors else "")
                                  + (f", {count(len(report.warnings), 'warning')}" if report.warnings else ""))
        if not report.written:
            raise CommandError(f"{count(len(report.errors), 'bad row')} in {options['file']}: nothing was imported "
                               "(fix them, or use --skip-invalid to import the good rows)")


def vars_of(problem: Any) -> dict[str, Any]:
    return {"row": problem.row, "column": problem.column, "reason": problem.reason, "ref": problem.ref}
