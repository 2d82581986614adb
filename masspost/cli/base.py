"""What every masspost command shares: the schema made or updated first, domain errors as one line."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError


class MasspostCommand(BaseCommand):
    needs_schema = True

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            if self.needs_schema:
                ensure_schema()
            return super().execute(*args, **options)
        except MasspostError as exc:
            raise CommandError(str(exc)) from None

    def print_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# pg_advisory_lock key ("mass" in ASCII) held while a command migrates: one process at a time.
MIGRATE_LOCK = 0x6D617373
MIGRATE_LOCK_POLL = 0.1  # seconds between tries for it


def ensure_schema() -> None:
    """Apply pending migrations. On PostgreSQL under an advisory lock: commands started together (workers on
    several machines after an upgrade) migrate one after the other — the later ones find nothing left to do —
    instead of racing to create the same tables and indexes.

    The lock is tried, not waited for: a session waiting inside `pg_advisory_lock` holds a snapshot, and the
    holder's `CREATE INDEX CONCURRENTLY` (delivery 0003) waits for every older snapshot to end — a deadlock."""
    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, verbosity=0)
        return
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK])
            if cursor.fetchone()[0]:
                break
        time.sleep(MIGRATE_LOCK_POLL)
    try:
        call_command("migrate", interactive=False, verbosity=0)
    finally:
        # A connection lost meanwhile has released the lock with it, and its error is the one to report.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])


def load_spec(path: str) -> CampaignSpec:
    try:
        text = Path(path).read_text(encoding="utf-8-sig") if path != "-" else sys.stdin.read()
    except OSError as exc:
        raise MasspostError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MasspostError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MasspostError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return CampaignSpec.from_dict(data)


class CampaignActionCommand(MasspostCommand):
    """pause / resume / cancel / resend-unknown: one campaign id in, one service call, a count out."""

    done = ""  # the report, formatted with {campaign} and {n}

    def action(self, *, campaign_id: int, scope: Scope) -> int:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = options["campaign"]
        n = self.action(campaign_id=campaign, scope=Scope.operator())
        if options["json"]:
            self.print_json({"campaign": campaign, "messages": n})
        else:
            self.stdout.write(self.done.format(campaign=campaign, n=n))
