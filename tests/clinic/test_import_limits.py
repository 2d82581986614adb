"""Issue 16, point 1: an import file cannot pin a worker or hold the write lock while it is read — absurd headers
are refused at once, and the whole file is checked before the first write."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from masspost.clinic import importer
from masspost.clinic.csvfile import open_rows
from masspost.clinic.importer import PATIENT_COLUMNS, PATIENT_OPTIONAL, import_file
from masspost.clinic.models import Clinic, Patient
from masspost.errors import MasspostError
from tests.clinic.importing import patient_row, patients_file

pytestmark = pytest.mark.django_db


def _writes(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_header_of_300000_columns_is_refused_at_once_naming_the_limit(tmp_path: Path) -> None:
    # The old check counted each name in the whole header (quadratic): 20,000 names took 5 s, 300,000 minutes.
    path = tmp_path / "patients.csv"
    path.write_text("external_id,clinic," + ",".join(f"c{i}" for i in range(300_000)) + "\nP1,TLN\n")
    started = time.monotonic()
    with pytest.raises(MasspostError, match=r"^patients.csv: the header row is longer than 8192 characters: not a "
                                            r"masspost import file \(it has at most 64 columns; docs/import.md\)$"):
        open_rows(path, PATIENT_COLUMNS, PATIENT_OPTIONAL, name="patients.csv")
    assert time.monotonic() - started < 1


def test_a_header_of_more_columns_than_any_file_has_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(",".join(["external_id", "clinic", *(f"x{i}" for i in range(64))]) + "\n")
    with pytest.raises(MasspostError, match=r"the header row has 66 columns; an import file has at most 64"):
        open_rows(path, PATIENT_COLUMNS, PATIENT_OPTIONAL, name="patients.csv")


def test_many_repeated_names_are_found_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text("external_id,clinic,phone,Phone,email,EMAIL ,phone\n")
    with pytest.raises(MasspostError, match=r"names 'email', 'phone' more than once"):
        open_rows(path, PATIENT_COLUMNS, PATIENT_OPTIONAL, name="patients.csv")


def test_a_bad_row_at_the_end_of_a_large_file_writes_nothing_at_all(tmp_path: Path, clinic: Clinic,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the batches before the bad row were written (under the write lock) and then rolled back.
    monkeypatch.setattr(importer, "BATCH", 10)
    rows = [patient_row(f"P{i}") for i in range(35)] + [patient_row("P99", clinic="XXX")]
    with CaptureQueriesContext(connection) as queries:
        report = import_file(kind="patients", path=patients_file(tmp_path, rows))
    assert (report.written, report.rows, [(p.row, p.column) for p in report.errors]) == (False, 36, [(37, "clinic")])
    assert _writes(queries.captured_queries) == []
    assert not Patient.objects.exists()


def test_every_row_is_read_and_checked_before_the_first_write(tmp_path: Path, clinic: Clinic,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 10)
    rows = [patient_row(f"P{i}") for i in range(35)]
    read: list[int] = []
    written: list[int] = []
    with CaptureQueriesContext(connection) as queries:
        def checked(n: int) -> None:
            assert _writes(queries.captured_queries) == [], "a write before the whole file was checked"
            read.append(n)

        def wrote(n: int) -> None:
            assert sum(read) == 35
            written.append(n)

        report = import_file(kind="patients", path=patients_file(tmp_path, rows), progress=checked, writing=wrote)
    assert report.written and report.imported == 35
    assert read == [10, 10, 10, 5] and written == [10, 10, 10, 5]
    assert Patient.objects.count() == 35
