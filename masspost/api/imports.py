"""`POST /imports/clinics|patients|visits`: a CSV file, as a multipart upload (field `file`) or as the body
itself (`text/csv`), imported as `masspost import` does — all or nothing, each bad row reported."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.problems import problem
from masspost.api.schemas import ImportOut, ImportRefused, Problem
from masspost.campaigns.imports import data_import
from masspost.clinic.csvfile import ENCODINGS
from masspost.errors import MasspostError

router = Router(tags=["imports"])
CHUNK = 1024 * 1024

BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "external_id,clinic,first_name,language,phone\n"
                                                          "P-1001,TLN,Mari,et,+37251234567\n"},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
}}}


class ImportQuery(Schema):
    skip_invalid: bool = Field(False, description="import the good rows even when some are bad")
    encoding: Literal[ENCODINGS] = Field("utf-8", description="the file's text encoding")  # type: ignore[valid-type]


@router.post("/imports/{kind}", response={200: ImportOut, 403: Problem, 422: ImportRefused | Problem},
             openapi_extra=BODY, summary="Import clinics, patients or visits from CSV")
def import_csv(request: HttpRequest, kind: Literal["clinics", "patients", "visits"],
               query: Query[ImportQuery]) -> Any:
    """The columns and rules of docs/import.md. A file with a bad row writes nothing (422, every bad row with
    its row number, column and reason) unless `skip_invalid`. Patients and visits need the sender role, clinics
    the admin role; rows of clinics outside the token's are refused."""
    report = data_import(kind=kind, save=lambda path: _save_body(request, path), scope=scope_of(request),
                         skip_invalid=query.skip_invalid, encoding=query.encoding)
    data = {"kind": report.kind, "rows": report.rows, "imported": report.imported, "written": report.written,
            "warnings": [vars_of(p) for p in report.warnings], "errors": [vars_of(p) for p in report.errors]}
    if not report.written:
        return problem(422, "import-refused", "Nothing was imported",
                       f"{len(report.errors)} bad row(s): fix them, or pass skip_invalid=true to import the good "
                       "rows", **data)
    return data


def vars_of(p: Any) -> dict[str, Any]:
    return {"row": p.row, "column": p.column, "reason": p.reason, "ref": p.ref}


def _save_body(request: HttpRequest, path: Path) -> None:
    """The upload into `path`, a chunk at a time (a large file is never all in memory)."""
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
        elif content_type in ("text/csv", "text/plain", "application/octet-stream"):
            if getattr(request, "_body", None) is not None:
                out.write(request.body)
            else:
                shutil.copyfileobj(request, out, CHUNK)  # type: ignore[misc]
        else:
            raise MasspostError(f"Content-Type {content_type or 'missing'}: send the file as text/csv, or as "
                                "multipart/form-data with a field named file")
