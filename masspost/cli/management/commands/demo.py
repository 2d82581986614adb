from __future__ import annotations

import sys
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand
from masspost.cli.wording import count
from masspost.clinic.demo import DemoInventory, demo_generate, demo_inventory, demo_reset
from masspost.clinic.scope import Scope


class Command(MasspostCommand):
    help = "Fill an empty database with a demo clinic group (3 clinics, patients, three years of visits)."
    stealth_options = ("stdin",)  # tests answer the question through it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reset", action="store_true",
                            help="first delete the data an earlier demo made, and the campaigns sent to it (asks; "
                                 "refuses a database with any other data; the audit log is kept)")
        parser.add_argument("--yes", action="store_true", help="delete without asking (for scripts)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 1:
            raise CommandError("--patients must be at least 1")
        inventory = demo_inventory()
        if inventory.foreign.any():
            if options["reset"]:
                raise CommandError(f"{inventory.refusal()}; refusing to reset")
            raise CommandError(f"{inventory.refusal()}: the demo fills an empty database")
        if inventory.demo.any():
            if not options["reset"]:
                raise CommandError(f"the database already holds demo data ({inventory.demo.describe()}): "
                                   "use --reset to replace it")
            if not options["yes"]:
                self._confirm(inventory, options.get("stdin") or sys.stdin)
            demo_reset(confirmed=inventory, actor=Scope.operator().actor)
        result = demo_generate(patients=options["patients"], seed=options["seed"], actor=Scope.operator().actor)
        self.stdout.write(f"demo data: {count(result.clinics, 'clinic')}, {count(result.patients, 'patient')}, "
                          f"{count(result.visits, 'visit')}")

    def _confirm(self, inventory: DemoInventory, stdin: IO[str]) -> None:
        what = inventory.demo.describe()
        if not stdin.isatty():
            raise CommandError(f"--reset would delete {what}: confirm with --yes (no terminal to ask on); "
                               "nothing deleted")
        self.stderr.write(f"Delete {what}? The audit log is kept. [y/N] ", ending="")
        self.stderr.flush()
        if stdin.readline().strip().lower() not in ("y", "yes"):
            raise CommandError("nothing deleted")
