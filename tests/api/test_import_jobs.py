"""Issue 16, point 1 over the API: a large import runs as a job (202, progress, then the same report and the same
all-or-nothing result as the synchronous answer), scoped to its user, its upload owner-only and gone when it ends;
a database too busy to answer is a 503 with Retry-After, never a 500. And points 12 and 14 as an integrator sees
them: one answer for another clinic's code and an unknown one; consent values not applied are warnings."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone

from masspost.api import directory
from masspost.api import imports as imports_api
from masspost.campaigns import import_jobs
from masspost.campaigns.models import AuditEvent, ImportJob
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.inbound import inbound_record
from tests.api.conftest import Api

PATIENTS = ("external_id,clinic,first_name,phone,accepts_sms\n"
            "P-1,TLN,Mari,+37251234567,yes\nP-2,TLN,Jaan,+37251234568,yes\n")
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path,
         django_capture_on_commit_callbacks: Any) -> list[dict[str, Any]]:
    """The job runs in this process when the request's transaction commits (the real one starts `masspost
    import-run`, tests/live); what the upload was like when it started is kept."""
    settings.DATA_DIR = tmp_path
    seen: list[dict[str, Any]] = []

    def run_here(job_id: int) -> None:
        upload = Path(ImportJob.objects.get(id=job_id).upload)
        seen.append({"path": upload, "mode": stat.S_IMODE(upload.stat().st_mode),
                     "directory": stat.S_IMODE(upload.parent.stat().st_mode)})
        with contextlib.suppress(CommandError):  # a failed job: the command's exit status 1
            call_command("import_run", str(job_id), stdout=io.StringIO())

    monkeypatch.setattr(import_jobs, "launch", run_here)
    return seen


def post(api: Api, kind: str, body: str, headers: dict[str, str] | None = None, query: str = "") -> Any:
    return api.post(f"/imports/{kind}{query}", body, content_type="text/csv", headers=headers)


def test_prefer_respond_async_makes_a_job_with_the_synchronous_answers_report(
        alice: Api, jobs: list[dict[str, Any]], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(alice, "patients", PATIENTS, ASYNC)
    assert response.status_code == 202
    assert response["Preference-Applied"] == "respond-async"
    job = response.json()
    assert response["Location"] == f"/api/v1/imports/jobs/{job['id']}"
    assert (job["status"], job["kind"], job["report"]) == ("queued", "patients", None)
    done = alice.get(f"/imports/jobs/{job['id']}").json()
    assert (done["status"], done["rows_read"], done["rows_written"], done["reason"]) == ("done", 2, 2, "")
    assert done["report"] == {"kind": "patients", "rows": 2, "imported": 2, "written": True, "warnings": [],
                              "errors": []}
    assert Patient.objects.count() == 2
    # The same file answered synchronously gives the same report.
    assert post(alice, "patients", PATIENTS).json() == done["report"]
    # Owner-only while it waited, and gone now.
    assert jobs[0]["mode"] == 0o600 and jobs[0]["directory"] == 0o700
    assert not jobs[0]["path"].exists()
    events = [e.detail for e in AuditEvent.objects.filter(action="import").order_by("id")]
    assert events[0] | {"bytes": 0} == {"kind": "patients", "job": job["id"], "status": "queued", "bytes": 0}
    assert events[1] == {"kind": "patients", "rows": 2, "imported": 2, "written": True, "errors": 0,
                         "warnings": 0, "job": job["id"]}


def test_a_body_over_the_synchronous_limit_is_a_job_without_asking(
        alice: Api, jobs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    monkeypatch.setattr(imports_api, "SYNC_MAX_BYTES", 40)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(alice, "patients", PATIENTS)
    assert response.status_code == 202 and not response.has_header("Preference-Applied")
    assert alice.get(response["Location"].removeprefix("/api/v1")).json()["status"] == "done"


def test_a_job_with_a_bad_row_is_refused_and_writes_nothing(alice: Api, jobs: list[dict[str, Any]],
                                                           django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS + "P-3,TRT,Ivan,,\n", ASYNC).json()
    refused = alice.get(f"/imports/jobs/{job['id']}").json()
    assert refused["status"] == "refused"
    assert refused["report"]["written"] is False and refused["report"]["imported"] == 0
    assert refused["report"]["errors"] == [{"row": 4, "column": "clinic", "reason": "unknown clinic 'TRT'",
                                            "ref": "P-3"}]
    assert not Patient.objects.exists()
    assert not jobs[0]["path"].exists()


def test_a_fault_of_the_whole_file_refuses_the_job_with_its_reason(alice: Api, jobs: list[dict[str, Any]],
                                                                  django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", "external_id,first_name\nP-1,Mari\n", ASYNC).json()
    refused = alice.get(f"/imports/jobs/{job['id']}").json()
    assert (refused["status"], refused["report"]) == ("refused", None)
    assert refused["reason"] == "patients.csv: missing column(s) clinic in the header row"


def test_a_job_is_its_users_alone_and_needs_the_role(alice: Api, bob: Api, charlie: Api, make_api: Callable[..., Api],
                                                     clinic: Clinic, jobs: list[dict[str, Any]],
                                                     django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS, ASYNC).json()
    colleague = make_api("anna", "sender", clinic)
    for other in (charlie, colleague, bob):
        response = other.get(f"/imports/jobs/{job['id']}")
        assert response.status_code == 404
    assert alice.get("/imports/jobs/999999").status_code == 404
    assert post(bob, "patients", PATIENTS, ASYNC).status_code == 403
    assert ImportJob.objects.count() == 1 and len(jobs) == 1


def test_a_job_whose_process_died_is_failed_not_running_for_ever(alice: Api, jobs: list[dict[str, Any]],
                                                                 tmp_path: Path) -> None:
    user_id = Patient._meta.apps.get_model("staff", "ApiToken").objects.get().user_id
    upload = tmp_path / "left.csv"
    upload.write_text(PATIENTS)
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    job = ImportJob.objects.create(kind="patients", user_id=user_id, upload=str(upload), status="running",
                                   host=socket.gethostname(), pid=2**22 + 12345, started_at=long_ago,
                                   heartbeat_at=long_ago, phase="writing", rows_read=2)
    seen = alice.get(f"/imports/jobs/{job.id}").json()
    assert seen["status"] == "failed"
    assert seen["reason"].startswith("the import's process ended before the import did; nothing was imported")
    # One still beating is running.
    alive = ImportJob.objects.create(kind="patients", user_id=user_id, status="running", host="elsewhere",
                                     pid=1, heartbeat_at=timezone.now(), phase="checking")
    assert alice.get(f"/imports/jobs/{alive.id}").json()["status"] == "running"
    # The next job sweeps the dead one: recorded as failed, its file deleted.
    assert import_jobs.import_jobs_sweep() == 1
    job.refresh_from_db()
    assert (job.status, job.upload) == ("failed", "") and not upload.exists()


def test_a_busy_database_is_503_with_retry_after_never_500(alice: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(**kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    monkeypatch.setattr(directory, "scope_clinics", locked)
    response = alice.get("/me")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["type"] == "urn:masspost:problem:busy"

    def broken(**kwargs: Any) -> Any:
        raise OperationalError("no such table: x")

    monkeypatch.setattr(directory, "scope_clinics", broken)
    assert alice.get("/me").status_code == 500  # any other fault stays a fault


def test_another_clinics_code_and_an_unknown_code_get_one_answer(ada: Api, other_clinic: Clinic) -> None:
    body = ("code,name,country,time_zone,default_language\nTRT,Taken,EE,Europe/Tallinn,et\n"
            "NEW,New,EE,Europe/Tallinn,et\n")
    errors = post(ada, "clinics", body).json()["errors"]
    assert [e["reason"] for e in errors] == [
        "clinic 'TRT' is not one of your clinics (only an admin of every clinic may add a clinic)",
        "clinic 'NEW' is not one of your clinics (only an admin of every clinic may add a clinic)"]


def test_an_import_says_which_consent_it_did_not_apply_and_why(alice: Api) -> None:
    assert post(alice, "patients", PATIENTS).status_code == 200
    inbound_record("+37251234567", "STOP")
    again = post(alice, "patients", PATIENTS).json()
    day = dt.datetime.now(ZoneInfo("Europe/Tallinn")).date().isoformat()
    assert again["warnings"] == [{"row": 2, "column": "accepts_sms", "ref": "P-1", "reason":
                                  f"not applied (stays no): opted out by SMS on {day}; only the patient can undo this"}]
    assert Patient.objects.get(external_id="P-1").accepts_sms is False


def test_a_job_whose_process_cannot_start_is_failed_at_once_and_its_upload_deleted(
        alice: Api, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.DATA_DIR = tmp_path

    def no_process(*args: Any, **kwargs: Any) -> Any:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(import_jobs.subprocess, "Popen", no_process)
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS, ASYNC).json()
    failed = alice.get(f"/imports/jobs/{job['id']}").json()
    assert failed["status"] == "failed" and failed["reason"].startswith("the import's process could not be started")
    assert list((tmp_path / "imports").iterdir()) == []


def test_a_job_runs_as_its_user_now_through_its_token_and_the_audit_says_which(
        alice: Api, jobs: list[dict[str, Any]], django_capture_on_commit_callbacks: Any) -> None:
    """`masspost import-run` builds the job's Scope (staff_scope: the user as they are now) and keeps the token
    the file came through in the audit rows."""
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS, ASYNC).json()
    events = AuditEvent.objects.filter(action="import").order_by("id")
    assert [(e.actor_user_id is not None, e.via) for e in events] == [(True, "api:test"), (True, "api:test")]
    assert events[0].actor_user_id == events[1].actor_user_id
    assert alice.get(f"/imports/jobs/{job['id']}").json()["status"] == "done"


def test_a_job_whose_user_was_disabled_before_it_ran_is_refused(
        alice: Api, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.DATA_DIR = tmp_path
    started: list[int] = []
    monkeypatch.setattr(import_jobs, "launch", started.append)
    with django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS, ASYNC).json()
    get_user_model()._default_manager.filter(id=ImportJob.objects.get().user_id).update(is_active=False)
    out = io.StringIO()
    call_command("import_run", str(started[0]), stdout=out)
    assert out.getvalue().strip() == (f"import job {job['id']}: refused (the user is disabled or no longer a "
                                      "member of staff)")
    assert Patient.objects.count() == 0
    assert not list(tmp_path.glob("imports/*.csv"))


def test_a_failed_jobs_log_has_its_frames_not_its_message(
        alice: Api, jobs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        django_capture_on_commit_callbacks: Any) -> None:
    def fails(**kwargs: Any) -> Any:
        raise ValueError(kwargs["path"].read_text())  # a message that quotes the rows

    monkeypatch.setattr(import_jobs, "import_file", fails)
    with caplog.at_level(logging.ERROR, logger="masspost.imports"), \
            django_capture_on_commit_callbacks(execute=True):
        job = post(alice, "patients", PATIENTS, ASYNC).json()
    assert alice.get(f"/imports/jobs/{job['id']}").json()["status"] == "failed"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"import job {job['id']} failed: ValueError\n" in logged and "in fails" in logged
    assert "Mari" not in logged and "3725" not in logged
