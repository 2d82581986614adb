"""The audited import: `import_file` scoped to the actor, with its outcome in the audit log (the REST API's
`POST /imports/…`; the command line's operator imports with `import_file` itself, as before)."""

from __future__ import annotations

from pathlib import Path

from masspost.campaigns.audit import audit_record
from masspost.clinic.importer import ImportReport, import_file
from masspost.clinic.scope import Scope


def data_import(*, kind: str, path: Path, scope: Scope, skip_invalid: bool = False,
                encoding: str = "utf-8") -> ImportReport:
    """Import one CSV file into the scope's clinics (docs/import.md, "Scoped imports"): all or nothing unless
    `skip_invalid`. Audited with its counts, refused or not; never a value from the file."""
    report = import_file(kind=kind, path=path, skip_invalid=skip_invalid, encoding=encoding, scope=scope)
    audit_record(scope=scope, action="import", detail={
        "kind": kind, "rows": report.rows, "imported": report.imported, "written": report.written,
        "errors": len(report.errors), "warnings": len(report.warnings)})
    return report
