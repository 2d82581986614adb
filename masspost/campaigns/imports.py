"""The audited import: `import_file` scoped to the actor, with its outcome in the audit log (the REST API's
`POST /imports/…`; the command line's operator imports with `import_file` itself, as before). A large file runs
as a job instead (campaigns.import_jobs), with the same report and the same audit."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from masspost.campaigns.audit import audit_record
from masspost.clinic.csvfile import RowProblem
from masspost.clinic.importer import ROLES, ImportReport, import_file
from masspost.clinic.scope import Scope


def data_import(*, kind: str, save: Callable[[Path], str | None], scope: Scope, skip_invalid: bool = False,
                encoding: str = "utf-8", file_name: str = "") -> ImportReport:
    """Import one CSV file into the scope's clinics (docs/import.md, "Scoped imports"): all or nothing unless
    `skip_invalid`. `save(path)` writes the file to a private temporary path, only once the role has been
    checked (a preparer's upload is refused before it is stored), and the file is deleted after; it returns the
    upload's own name where it has one (a multipart upload's filename), which the consent events the import makes
    give as their wording — else `file_name`, else none ("file (no name)": a text/csv body has none). Audited
    with its counts, refused or not; never a value from the file."""
    scope.require(ROLES[kind])
    with tempfile.TemporaryDirectory(prefix="masspost-import-") as directory:
        path = Path(directory) / f"{kind}.csv"
        file_name = save(path) or file_name
        # A fault of the whole file (its header, its encoding) names the upload, never the private temporary path
        # it was stored under.
        report = import_file(kind=kind, path=path, skip_invalid=skip_invalid, encoding=encoding, scope=scope,
                             name=f"{kind}.csv", file_name=upload_name(file_name))
    import_audit(scope=scope, report=report)
    return report


def upload_name(name: str | None) -> str:
    """An uploaded file's name as the import's consent events give it: its last part only (a browser may send
    a path), without control characters, at most 200 characters; "" when it has none."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200]


def import_audit(*, scope: Scope, report: ImportReport, job: int | None = None) -> None:
    """An import's outcome in the audit log: counts only."""
    detail: dict[str, Any] = {
        "kind": report.kind, "rows": report.rows, "imported": report.imported, "written": report.written,
        "errors": len(report.errors), "warnings": len(report.warnings)}
    if job is not None:
        detail["job"] = job
    audit_record(scope=scope, action="import", detail=detail)


def report_data(report: ImportReport) -> dict[str, Any]:
    """The report as the API and `masspost import --json` give it."""
    return {"kind": report.kind, "rows": report.rows, "imported": report.imported, "written": report.written,
            "warnings": [problem_data(p) for p in report.warnings], "errors": [problem_data(p) for p in report.errors]}


def problem_data(p: RowProblem) -> dict[str, Any]:
    return {"row": p.row, "column": p.column, "reason": p.reason, "ref": p.ref}
