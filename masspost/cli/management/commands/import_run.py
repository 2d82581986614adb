from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from masspost.campaigns.import_jobs import import_job_owner, import_job_run
from masspost.campaigns.models import ImportJobStatus
from masspost.cli.base import MasspostCommand
from masspost.clinic.scope import Scope
from masspost.staff.selectors import staff_scope


class Command(MasspostCommand):
    help = ("Run an import job of the REST API (started by the API itself: docs/api.md, \"Large files\"). "
            "The job's report is stored with the job.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", type=int, help="the job's id")

    def handle(self, *args: Any, **options: Any) -> None:
        job = import_job_run(job_id=options["job"], scope=job_scope(options["job"]))
        self.stdout.write(f"import job {job.id}: {job.status}"
                          + (f", {job.report['imported']} of {job.report['rows']} rows imported" if job.report else "")
                          + (f" ({job.reason})" if job.reason else ""))
        if job.status == ImportJobStatus.FAILED:
            raise CommandError(f"import job {job.id} failed")


def job_scope(job_id: int) -> Scope | None:
    """The job's user as they are now (staff_scope, the one place a Scope is built), acting through the token
    that sent the file (its `via`, which the audit rows keep); None for a user disabled or no longer staff."""
    owner = import_job_owner(job_id=job_id)
    user = get_user_model()._default_manager.filter(pk=owner.user_id).first() if owner is not None else None
    scope = staff_scope(user=user, address=owner.address) if owner is not None and user is not None else None
    return dataclasses.replace(scope, via=owner.via) if scope is not None and owner is not None else None
