"""What every masspost command shares: the schema made or updated first, domain errors as one line, help
without Django's own options, masspost's version, and the campaign id argument said plainly when missing."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.utils import translation

from masspost import version as masspost_version
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.errors import ConflictError, MasspostError
from masspost.wording import agree

# Django's options for every command: they still work, but `masspost COMMAND --help` does not list them.
DJANGO_OPTIONS = frozenset({"--settings", "--pythonpath", "--traceback", "--no-color", "--force-color",
                            "--skip-checks", "--verbosity"})


class MasspostCommand(BaseCommand):
    needs_schema = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, self.command_name, **kwargs)
        for action in parser._actions:
            if DJANGO_OPTIONS.intersection(action.option_strings):
                action.help = argparse.SUPPRESS
        parser.error = functools.partial(one_line_usage_error, parser)  # type: ignore[method-assign]
        return parser

    def get_version(self) -> str:
        return f"masspost {masspost_version()}"  # `masspost status --version` as `masspost --version`

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            # The command line speaks English, whatever language the web UI defaults to.
            with translation.override("en"):
                if self.needs_schema:
                    ensure_schema()
                return super().execute(*args, **options)
        except ConflictError as exc:
            # A control that does not apply (pausing a finished campaign): refused, nothing changed — exit 2.
            raise CommandError(str(exc), returncode=2) from None
        except MasspostError as exc:
            raise CommandError(str(exc)) from None

    def print_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str))

    @property
    def command_name(self) -> str:
        """As typed on the command line: `resend-unknown` for the module resend_unknown."""
        return self.__module__.rsplit(".", 1)[-1].replace("_", "-")

    def add_campaign_argument(self, parser: CommandParser) -> None:
        # Optional to argparse, so that a missing id gets our one line, not argparse's usage block.
        parser.add_argument("campaign", nargs="?", help="the campaign's id (masspost campaigns lists them)")

    def campaign_id(self, value: str | None) -> int:
        if value is None or not value.isdigit():
            raise CommandError(f"{self.command_name} takes a campaign id: masspost {self.command_name} 12; "
                               "list them with masspost campaigns")
        return int(value)


def one_line_usage_error(parser: CommandParser, message: str) -> None:
    """A mistake in the arguments is one line, like every other error, instead of argparse's usage block. Every
    command's parser gets it (MasspostCommand); a command with subcommands gives it to each subparser too."""
    if parser.called_from_command_line:
        parser.exit(2, f"{parser.prog}: {message} (see {parser.prog} --help)\n")
    raise CommandError(f"Error: {message}")  # call_command, as Django does


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

    done = ("", "")  # the report for one message and for any other count, formatted with {campaign} and {n}

    def action(self, *, campaign_id: int, scope: Scope) -> int:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_campaign_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = self.campaign_id(options["campaign"])
        n = self.action(campaign_id=campaign, scope=Scope.operator())
        if options["json"]:
            self.print_json({"campaign": campaign, "messages": n})
        else:
            one, many = self.done
            self.stdout.write(agree(n, one, many).format(campaign=campaign, n=n))
