"""Helpers shared by the import tests: CSV files written the way a clinic system writes them, and report checks."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from masspost.clinic.importer import ImportReport
from masspost.clinic.models import Clinic, Patient, Visit

CLINIC_COLUMNS = ["code", "name", "country", "time_zone", "default_language", "phone", "email", "sms_sender"]
PATIENT_COLUMNS = ["external_id", "clinic", "first_name", "last_name", "birth_date", "country", "language", "phone",
                   "email", "accepts_sms", "accepts_email", "marketing_consent", "status"]
VISIT_COLUMNS = ["patient", "clinic", "start", "status"]
UTC = dt.UTC


# --- helpers -------------------------------------------------------------------------------------------------

def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def patient_row(external_id: str, **fields: str) -> dict[str, str]:
    row = {"external_id": external_id, "clinic": "TLN", "first_name": "Mari", "last_name": "Maasikas",
           "birth_date": "1980-05-17", "country": "EE", "language": "et", "phone": "5123 4567",
           "email": "mari@example.com", "accepts_sms": "true", "accepts_email": "true",
           "marketing_consent": "false", "status": "active"}
    row.update(fields)
    return row


def patients_file(tmp_path: Path, rows: list[dict[str, str]], name: str = "patients.csv") -> Path:
    return write_csv(tmp_path / name, PATIENT_COLUMNS, rows)


def visits_file(tmp_path: Path, rows: list[tuple[str, str, str, str]], name: str = "visits.csv") -> Path:
    return write_csv(tmp_path / name, VISIT_COLUMNS, [dict(zip(VISIT_COLUMNS, r, strict=True)) for r in rows])


def db_counts() -> tuple[int, int, int]:
    return Clinic.objects.count(), Patient.objects.count(), Visit.objects.count()


def problems(items: list[Any]) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in items]


def assert_nothing_written(report: ImportReport, before: tuple[int, int, int]) -> None:
    assert not report.written
    assert report.imported == 0
    assert db_counts() == before


