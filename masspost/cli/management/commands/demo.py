from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand
from masspost.clinic.demo import demo_generate
from masspost.clinic.services import clinic_data_exists, clinic_data_reset


class Command(MasspostCommand):
    help = "Fill the database with a demo clinic group (3 clinics, patients, three years of visits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reset", action="store_true",
                            help="delete every clinic, patient, visit, campaign and message first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 1:
            raise CommandError("--patients must be at least 1")
        if options["reset"]:
            clinic_data_reset()
        elif clinic_data_exists():
            raise CommandError("the database already has clinic data: use --reset to replace it with demo data")
        result = demo_generate(patients=options["patients"], seed=options["seed"])
        self.stdout.write(f"demo data: {result.clinics} clinics, {result.patients} patients, {result.visits} visits")
