"""Import jobs (docs/api.md, "Large files"): a large import over the REST API runs in its own process,
`masspost import-run JOB`, started by the request that uploaded the file and detached from it, so that no request
time limit (gunicorn's 60 s) can end it half way. The job's row tells its progress and, at the end, the import's
report: the same report and the same all-or-nothing result as the synchronous answer.

A running job beats a heartbeat into its row; a job whose heartbeat stopped and whose process is gone is shown as
failed (never `running` for ever), and the next submission deletes what it left. The uploaded file is owner-only
and deleted when the job ends, however it ends."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from masspost.campaigns.audit import audit_record
from masspost.campaigns.imports import import_audit, report_data, upload_name
from masspost.campaigns.models import ImportJob, ImportJobStatus
from masspost.clinic.importer import ROLES, import_file
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError, NotFoundError
from masspost.logs import frames_of

logger = logging.getLogger("masspost.imports")

HEARTBEAT = 5.0  # seconds between a running job's heartbeats
STALE = dt.timedelta(seconds=60)  # a job not heard of for this long, whose process is gone, has failed
LIVE = (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)


def upload_directory() -> Path:
    """Where uploads wait for their job: owner-only, in the data directory (the job's process runs on the same
    machine as the request that started it)."""
    directory = Path(settings.DATA_DIR) / "imports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def import_job_submit(*, kind: str, save: Callable[[Path], str | None], scope: Scope, skip_invalid: bool = False,
                      encoding: str = "utf-8") -> ImportJob:
    """Store the upload (owner-only: it holds patient data) and start a job importing it, once the role has been
    checked. The job runs `import_file` in the scope of `scope`'s user (a member of staff) as they are when it
    starts, through the same token (`scope.via`). Audited."""
    scope.require(ROLES[kind])
    if scope.user_id is None:
        raise ValueError("an import job is a member of staff's: the scope has no user")
    user_id = scope.user_id
    import_jobs_sweep()
    path = upload_directory() / f"{kind}-{secrets.token_hex(12)}.csv"
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        name = save(path)
        job = ImportJob.objects.create(kind=kind, user_id=user_id, via=scope.via, address=scope.address,
                                       skip_invalid=skip_invalid, encoding=encoding, upload=str(path),
                                       file_name=upload_name(name))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit_record(scope=scope, action="import", detail={"kind": kind, "job": job.id, "status": "queued",
                                                       "bytes": path.stat().st_size})
    transaction.on_commit(lambda: launch(job.id))
    return job


def launch(job_id: int) -> None:
    """Start `masspost import-run JOB` in a new session, detached from the request (and from gunicorn's worker:
    a worker recycled or timed out does not take the job with it). A thread reaps it when it ends."""
    try:
        process = subprocess.Popen([sys.executable, "-m", "masspost", "import-run", str(job_id)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=None,
                                   start_new_session=True, close_fds=True)
    except OSError as exc:
        logger.error("import job %s: its process could not be started: %s", job_id, exc.strerror)
        job = ImportJob.objects.get(id=job_id)
        Path(job.upload).unlink(missing_ok=True)
        ImportJob.objects.filter(id=job_id).update(status=ImportJobStatus.FAILED, upload="", finished_at=timezone.now(),
                                                   reason="the import's process could not be started (the server's "
                                                          "log says why); nothing was imported")
        return
    threading.Thread(target=process.wait, name=f"import-job-{job_id}", daemon=True).start()


@dataclass
class _Progress:
    phase: str = "checking"
    read: int = 0
    written: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportJobOwner:
    """Whom a job imports for, to build its Scope with (staff.selectors.staff_scope: the `import-run` command)."""
    user_id: int
    address: str
    via: str  # "api:TOKEN NAME": the audit rows say which token sent the file


def import_job_owner(*, job_id: int) -> ImportJobOwner | None:
    job = ImportJob.objects.filter(id=job_id).only("user_id", "address", "via").first()
    return None if job is None else ImportJobOwner(user_id=job.user_id, address=job.address, via=job.via)


def import_job_run(*, job_id: int, scope: Scope | None) -> ImportJob:
    """Run a queued job to its end (the `masspost import-run` command): claim it, import its file with a
    heartbeat, store the report, delete the file. Runs once: a job already claimed is refused. `scope`: the job's
    user as they are now (import_job_owner; None: disabled or no longer staff, and the job is refused)."""
    claimed = ImportJob.objects.filter(id=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING, host=socket.gethostname(), pid=os.getpid(), started_at=timezone.now(),
        heartbeat_at=timezone.now(), phase="checking")
    if not claimed:
        raise MasspostError(f"import job {job_id} is not waiting to run (no such job, or it ran already)")
    job = ImportJob.objects.get(id=job_id)
    progress = _Progress()
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(job_id, progress, stop), name="heartbeat", daemon=True)
    beat.start()
    status, report, reason = ImportJobStatus.FAILED, None, ""
    try:
        if scope is None:
            status, reason = ImportJobStatus.REFUSED, "the user is disabled or no longer a member of staff"
        else:
            def writing(rows: int) -> None:
                progress.phase, progress.written = "writing", progress.written + rows

            def reading(rows: int) -> None:
                progress.read += rows

            result = import_file(kind=job.kind, path=Path(job.upload), skip_invalid=job.skip_invalid,
                                 encoding=job.encoding, scope=scope, name=f"{job.kind}.csv", progress=reading,
                                 writing=writing, file_name=job.file_name)
            report = report_data(result)
            status = ImportJobStatus.DONE if result.written else ImportJobStatus.REFUSED
            import_audit(scope=scope, report=result, job=job.id)
    except MasspostError as exc:  # a fault of the whole file, or a role the user no longer has
        status, reason = ImportJobStatus.REFUSED, str(exc)
    except Exception as exc:  # noqa: BLE001 — the job must end as failed, whatever happened
        # The frames only: a database error's message can quote a row.
        logger.error("import job %s failed: %s", job_id, frames_of(exc))
        reason = "masspost failed while importing (the server's log has the details); nothing was imported"
    finally:
        stop.set()
        beat.join()
        Path(job.upload).unlink(missing_ok=True)
    ImportJob.objects.filter(id=job_id).update(
        status=status, report=report, reason=reason[:500], upload="", phase="", finished_at=timezone.now(),
        heartbeat_at=timezone.now(), rows_read=progress.read, rows_written=progress.written)
    if scope is not None and status != ImportJobStatus.DONE and report is None:
        audit_record(scope=scope, action="import", detail={"kind": job.kind, "job": job.id, "status": status})
    return ImportJob.objects.get(id=job_id)


def _heartbeat(job_id: int, progress: _Progress, stop: threading.Event) -> None:
    """Its own connection: the import's transaction does not hide the beats. On SQLite a beat waits while the
    import writes (one writer at a time); a job's liveness is then told by its process (import_job_view)."""
    try:
        while not stop.wait(HEARTBEAT):
            with contextlib.suppress(DatabaseError):
                ImportJob.objects.filter(id=job_id, status=ImportJobStatus.RUNNING).update(
                    heartbeat_at=timezone.now(), phase=progress.phase, rows_read=progress.read,
                    rows_written=progress.written)
    finally:
        connection.close()


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportJobView:
    id: int
    kind: str
    status: str
    phase: str
    rows_read: int
    rows_written: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    report: dict[str, Any] | None
    reason: str


def import_job_view(*, job_id: int, scope: Scope) -> ImportJobView:
    """A job as its user sees it, through any token of theirs; anyone else's, or none, is NotFoundError. A job
    whose process died shows as failed."""
    job = ImportJob.objects.filter(id=job_id, user_id=scope.user_id).first() if scope.user_id is not None else None
    if job is None:
        raise NotFoundError(f"no import job {job_id}")
    view = ImportJobView(id=job.id, kind=job.kind, status=job.status, phase=job.phase, rows_read=job.rows_read,
                         rows_written=job.rows_written, created_at=job.created_at, started_at=job.started_at,
                         finished_at=job.finished_at, report=job.report, reason=job.reason)
    if _dead(job):
        view = dataclasses.replace(view, status=ImportJobStatus.FAILED, phase="", reason=DEAD)
    return view


DEAD = "the import's process ended before the import did; nothing was imported (send the file again)"


def _dead(job: ImportJob, now: dt.datetime | None = None) -> bool:
    """A queued or running job not heard of for STALE, whose process is not running here (a job runs on the
    machine that took its upload; its pid is checked there, its heartbeat anywhere)."""
    if job.status not in LIVE:
        return False
    heard = job.heartbeat_at or job.created_at
    if (now or timezone.now()) - heard < STALE:
        return False
    return not (job.pid and job.host == socket.gethostname() and _alive(job.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a pid taken again by another program is no job
        return b"import-run" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def import_jobs_sweep() -> int:
    """Record the jobs whose process died as failed and delete the files they left; how many there were."""
    dead = [job for job in ImportJob.objects.filter(Q(status__in=LIVE)) if _dead(job)]
    for job in dead:
        if job.upload:
            Path(job.upload).unlink(missing_ok=True)
        ImportJob.objects.filter(id=job.id, status=job.status).update(
            status=ImportJobStatus.FAILED, reason=DEAD, upload="", finished_at=timezone.now())
    return len(dead)
