"""`POST /imports/clinics|patients|visits`: a CSV file, as a multipart upload (field `file`) or as the body
itself (`text/csv`), imported as `masspost import` does — all or nothing, each bad row reported. A large file (or
any file sent with `Prefer: respond-async`) is imported by a job: 202 and `GET /imports/jobs/{id}`."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.problems import problem
from masspost.api.schemas import ImportJobOut, ImportOut, ImportRefused, Problem
from masspost.campaigns.import_jobs import ImportJobView, import_job_submit, import_job_view
from masspost.campaigns.imports import data_import, report_data
from masspost.clinic.csvfile import ENCODINGS
from masspost.errors import MasspostError
from masspost.numbers import ID_MAX

router = Router(tags=["imports"])
CHUNK = 1024 * 1024
# A body larger than this is imported by a job whatever the client prefers: about 30,000 patient rows, some 10 s.
# The benchmark (docs/benchmarks.md, "Import") took ~30 s (SQLite) and ~34 s (PostgreSQL) for 100,000 rows (7 MB)
# synchronously on a loaded 2-core machine: much more would risk the request's time limit (gunicorn's 60 s).
SYNC_MAX_BYTES = 2 * 1024 * 1024
JOB_ID = Path(..., ge=1, le=ID_MAX, description="the job's id (its Location)")
RESPOND_ASYNC = re.compile(r"(?:^|,)\s*respond-async\s*(?:[;,]|$)", re.IGNORECASE)

BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "external_id,clinic,first_name,language,phone\n"
                                                          "P-1001,TLN,Mari,et,+37251234567\n"},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
}}}


class ImportQuery(Schema):
    skip_invalid: bool = Field(False, description="import the good rows even when some are bad")
    encoding: Literal[ENCODINGS] = Field("utf-8", description="the file's text encoding")  # type: ignore[valid-type]


@router.post("/imports/{kind}", response={200: ImportOut, 202: ImportJobOut, 403: Problem,
                                         422: ImportRefused | Problem},
             openapi_extra=BODY, summary="Import clinics, patients or visits from CSV")
def import_csv(request: HttpRequest, kind: Literal["clinics", "patients", "visits"],
               query: Query[ImportQuery]) -> Any:
    """The columns and rules of docs/import.md. A file with a bad row writes nothing (422, every bad row with
    its row number, column and reason) unless `skip_invalid`. Patients and visits need the sender role, clinics
    the admin role; rows of clinics outside the token's are refused.

    A body over 2 MiB, or any body sent with `Prefer: respond-async`, is imported by a job: 202, with the job in
    the body and its address in `Location` (`GET /imports/jobs/{id}`: progress, then the same report)."""
    scope = scope_of(request)
    if _asynchronous(request):
        job = import_job_submit(kind=kind, save=lambda path: _save_body(request, path), scope=scope,
                                skip_invalid=query.skip_invalid, encoding=query.encoding)
        return _accepted(request, import_job_view(job_id=job.id, scope=scope))
    report = data_import(kind=kind, save=lambda path: _save_body(request, path), scope=scope,
                         skip_invalid=query.skip_invalid, encoding=query.encoding)
    data = report_data(report)
    if not report.written:
        return problem(422, "import-refused", "Nothing was imported",
                       f"{len(report.errors)} bad row(s): fix them, or pass skip_invalid=true to import the good "
                       "rows", **data)
    return data


@router.get("/imports/jobs/{job_id}", response={200: ImportJobOut, 404: Problem}, summary="An import job")
def import_job(request: HttpRequest, job_id: int = JOB_ID) -> Any:
    """A job of this token's user (another user's is 404): `queued`, `running` (with `phase` and the rows read
    and written so far), then `done`, `refused` or `failed` with the report. Poll it every few seconds."""
    return _job_data(import_job_view(job_id=job_id, scope=scope_of(request)))


def _asynchronous(request: HttpRequest) -> bool:
    if RESPOND_ASYNC.search(request.headers.get("Prefer", "")):
        return True
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > SYNC_MAX_BYTES
    except ValueError:
        return False


def _accepted(request: HttpRequest, job: ImportJobView) -> HttpResponse:
    response = HttpResponse(json.dumps(_job_data(job), cls=DjangoJSONEncoder), status=202,
                            content_type="application/json")
    response["Location"] = f"/api/v1/imports/jobs/{job.id}"
    if RESPOND_ASYNC.search(request.headers.get("Prefer", "")):
        response["Preference-Applied"] = "respond-async"
    return response


def _job_data(job: ImportJobView) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status, "phase": job.phase, "rows_read": job.rows_read,
            "rows_written": job.rows_written, "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "report": job.report, "reason": job.reason}


def _save_body(request: HttpRequest, path: pathlib.Path) -> str | None:
    """The upload into `path`, a chunk at a time (a large file is never all in memory). Returns a multipart
    upload's file name (the consent events the import writes name it), None for a plain body."""
    content_type = request.content_type or ""
    with path.open("wb") as out:
        if content_type == "multipart/form-data":
            try:
                upload = request.FILES.get("file")
            except MultiPartParserError:
                raise HttpError(400, "not a multipart body (is its boundary missing?)") from None
            if upload is None:
                raise MasspostError("file: a multipart upload needs the CSV in a field named file")
            for chunk in upload.chunks(CHUNK):
                out.write(chunk)
            return upload.name
        elif content_type in ("text/csv", "text/plain", "application/octet-stream"):
            if getattr(request, "_body", None) is not None:
                out.write(request.body)
            else:
                shutil.copyfileobj(request, out, CHUNK)  # type: ignore[misc]
        else:
            raise MasspostError(f"Content-Type {content_type or 'missing'}: send the file as text/csv, or as "
                                "multipart/form-data with a field named file")
    return None
