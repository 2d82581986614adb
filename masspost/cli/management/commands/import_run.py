from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.campaigns.import_jobs import import_job_run
from masspost.campaigns.models import ImportJobStatus
from masspost.cli.base import MasspostCommand


class Command(MasspostCommand):
    help = ("Run an import job of the REST API (started by the API itself: docs/api.md, \"Large files\"). "
            "The job's report is stored with the job.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", type=int, help="the job's id")

    def handle(self, *args: Any, **options: Any) -> None:
        job = import_job_run(job_id=options["job"])
        self.stdout.write(f"import job {job.id}: {job.status}"
                          + (f", {job.report['imported']} of {job.report['rows']} rows imported" if job.report else "")
                          + (f" ({job.reason})" if job.reason else ""))
        if job.status == ImportJobStatus.FAILED:
            raise CommandError(f"import job {job.id} failed")
