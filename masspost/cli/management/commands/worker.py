from __future__ import annotations

import signal
import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser

from masspost.cli.base import MasspostCommand
from masspost.cli.production import refuse_development_key
from masspost.cli.progress import WorkerLine
from masspost.delivery.worker import worker_run


class Command(MasspostCommand):
    help = ("Deliver due outbox messages through the configured gateways (MASSPOST_SMS_URL, MASSPOST_EMAIL_URL). "
            "On a terminal, a live line shows what was sent and failed, and the rate.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
        parser.add_argument("--batch", type=int, default=500,
                            help="messages of one channel sent before the other channel gets its turn")
        parser.add_argument("--lease", type=int, default=300, help="seconds a claim is held")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def execute(self, *args: Any, **options: Any) -> Any:
        refuse_development_key("worker")  # before the schema is touched
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the message in hand, record it, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # The live line goes to the real stream: Django's OutputWrapper would end each redraw with a newline.
        with WorkerLine(options.get("stderr") or sys.stderr) as line:
            stats = worker_run(until_idle=options["until_idle"], batch_size=options["batch"],
                               lease=timedelta(seconds=options["lease"]), should_stop=lambda: stopping,
                               on_progress=line)
        if options["json"]:
            self.print_json(vars(stats))
        else:
            self.stdout.write(f"worker: {stats.sent} sent, {stats.retried} to retry, {stats.failed} failed, "
                              f"{stats.expired} expired, {stats.unknown} unknown"
                              + (f", {stats.suppressed} suppressed (opted out)" if stats.suppressed else ""))
