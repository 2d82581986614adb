"""Import files as clinics really have them (docs/import.md, "The files"): quoting read strictly, values that must
stay on one line, the models' length limits, semicolon and tab files, other encodings, header mistakes, repeated
visit rows, and the progress shown on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.clinic import importer
from masspost.clinic.importer import import_file
from masspost.clinic.models import Clinic, Patient, Visit
from masspost.errors import MasspostError
from tests.clinic.importing import (
    CLINIC_COLUMNS,
    PATIENT_COLUMNS,
    assert_nothing_written,
    db_counts,
    patient_row,
    patients_file,
    problems,
    visits_file,
    write_csv,
)

pytestmark = pytest.mark.django_db

HEADER = "external_id,clinic,first_name,last_name,phone,email\n"


def write(tmp_path: Path, text: str, name: str = "patients.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_import(*args: str, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --- point 1: an unclosed quote ------------------------------------------------------------------------------

def test_an_unclosed_quote_is_a_bad_row_and_the_patients_after_it_are_still_read(tmp_path: Path,
                                                                                 clinic: Clinic) -> None:
    path = write(tmp_path, HEADER
                 + 'P1,TLN,"Mari,Maasikas,5123 4567,mari@example.com\n'
                 + "P2,TLN,Jaan,Tamm,5234 5678,jaan@example.com\n"
                 + "P3,TLN,Liis,Kask,5345 6789,liis@example.com\n")
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(2, "first_name")]
    assert report.errors[0].ref == "P1" and "never closed" in report.errors[0].reason
    assert report.rows == 3
    assert_nothing_written(report, (1, 0, 0))

    with pytest.raises(CommandError, match="1 bad row"):
        run_import("patients", str(path))
    assert Patient.objects.count() == 0

    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert report.written and report.imported == 2
    stored = {p.external_id: (p.first_name, p.phone_e164, p.email) for p in Patient.objects.all()}
    assert stored == {"P2": ("Jaan", "+37252345678", "jaan@example.com"),
                      "P3": ("Liis", "+37253456789", "liis@example.com")}


def test_an_unclosed_quote_in_a_long_file_loses_no_row(tmp_path: Path, clinic: Clinic,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Past 131,072 characters the csv module gives up on the quoted value before the end of the file.
    monkeypatch.setattr(importer, "BATCH", 500)
    rows = "".join(f"P{i:05d},TLN,Jaan,Tamm,5{i:07d},p{i}@example.com\n" for i in range(4000))
    path = write(tmp_path, HEADER + 'P0,TLN,Mari,"Maasikas,5123 4567,mari@example.com\n' + rows)
    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert problems(report.errors) == [(2, "last_name")]
    assert (report.rows, report.imported) == (4001, 4000)
    assert Patient.objects.count() == 4000
    assert not Patient.objects.filter(external_id="P0").exists()
    assert set(Patient.objects.values_list("last_name", flat=True)) == {"Tamm"}


def test_a_quote_that_closes_lines_later_is_a_bad_row(tmp_path: Path, clinic: Clinic) -> None:
    path = write(tmp_path, HEADER
                 + 'P1,TLN,"Mari,Maasikas,5123 4567,mari@example.com\n'
                 + 'P2,TLN,Jaan",Tamm,5234 5678,jaan@example.com\n'
                 + "P3,TLN,Liis,Kask,5345 6789,liis@example.com\n")
    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert problems(report.errors) == [(2, "first_name")]
    assert report.errors[0].reason.startswith("contains a line break") and "lines 2-3" in report.errors[0].reason
    assert list(Patient.objects.values_list("external_id", "first_name")) == [("P3", "Liis")]


def test_text_after_a_closing_quote_is_a_bad_row(tmp_path: Path, clinic: Clinic) -> None:
    path = write(tmp_path, HEADER + 'P1,TLN,"Mari"Liis,Maasikas,,\nP2,TLN,"Jaan ""Juku""",Tamm,,\n')
    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert problems(report.errors) == [(2, "first_name")]
    assert list(Patient.objects.values_list("external_id", "first_name")) == [("P2", 'Jaan "Juku"')]


@pytest.mark.parametrize(("value", "reason"), [
    ("Mari\nLiis", "contains a line break"),
    ("Mari\r\nLiis", "contains a line break"),
    ("Mari\rLiis", "contains a line break"),
    ("Mari\u2028Liis", "contains a line break"),
    ("Mari\u2029Liis", "contains a line break"),
    ("Mari\x85Liis", "contains a line break"),
    ("Mari\x0bLiis", "contains a line break"),
    ("Mari\tLiis", "contains a control character (U+0009)"),
    ("Mari\x07", "contains a control character (U+0007)"),
    ("Ma\x00ri", "contains a control character (U+0000)"),
    ("Mari\x1b[2J", "contains a control character (U+001B)"),
    ("Mari\x9b", "contains a control character (U+009B)"),
    ("Mari\x7f", "contains a control character (U+007F)"),
])
@pytest.mark.parametrize("column", ["first_name", "last_name", "external_id", "phone", "email", "language"])
def test_a_line_break_or_control_character_in_any_value_is_a_bad_row(tmp_path: Path, clinic: Clinic, value: str,
                                                                     reason: str, column: str) -> None:
    path = patients_file(tmp_path, [patient_row("P1"), patient_row("P2") | {column: value}, patient_row("P3")])
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(3, column)]
    assert report.errors[0].reason.startswith(reason)  # a value over two lines also names them
    assert report.errors[0].ref == ("" if column == "external_id" else "P2")
    assert_nothing_written(report, (1, 0, 0))


PATIENT_LIMITS = [("external_id", Patient, "external_id"), ("clinic", Clinic, "code"),
                  ("first_name", Patient, "first_name"), ("last_name", Patient, "last_name"),
                  ("phone", Patient, "phone"), ("email", Patient, "email")]


@pytest.mark.parametrize(("column", "model", "field"), PATIENT_LIMITS)
def test_every_patient_value_keeps_to_the_models_length_limit(tmp_path: Path, clinic: Clinic, column: str,
                                                              model: Any, field: str) -> None:
    limit = model._meta.get_field(field).max_length
    over = "x" * (limit + 1)
    path = patients_file(tmp_path, [patient_row("P1"), patient_row("P2") | {column: over}])
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(3, column)]
    assert report.errors[0].reason == f"longer than {limit} characters ({limit + 1})"
    assert report.errors[0].ref == ("" if column == "external_id" else "P2")
    assert_nothing_written(report, (1, 0, 0))


def test_values_up_to_the_limit_are_stored_whole(tmp_path: Path, clinic: Clinic) -> None:
    ref = "P" * Patient._meta.get_field("external_id").max_length
    name = "õ" * Patient._meta.get_field("first_name").max_length
    report = import_file(kind="patients", path=patients_file(tmp_path, [patient_row(ref, first_name=name)]))
    assert report.errors == [] and report.imported == 1
    assert Patient.objects.get(external_id=ref).first_name == name


def test_a_130000_character_name_and_a_5000_character_id_are_refused(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1", first_name="M" * 130_000), patient_row("X" * 5000)])
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(2, "first_name"), (3, "external_id")]
    assert all(len(str(p)) < 200 for p in report.errors)  # the value is never repeated
    assert_nothing_written(report, (1, 0, 0))


# --- point 2: a clinic's name goes into e-mail headers ---------------------------------------------------------

def clinic_row(**fields: str) -> dict[str, str]:
    return {"code": "TLN", "name": "Hammas Tallinn", "country": "EE", "time_zone": "Europe/Tallinn",
            "default_language": "et", "phone": "+372 600 1000", "email": "tallinn@hammas.example",
            "sms_sender": "HammasTLN"} | fields


@pytest.mark.parametrize(("column", "value"), [
    ("name", "Hammas\nTallinn"), ("name", "Hammas Tallinn\r\nBcc: all@example.com"),
    ("name", "Hammas\u2028Tallinn"), ("phone", "+372 600\n1000"), ("sms_sender", "Hammas\nTLN"), ("code", "T\tLN"),
    ("email", "tallinn@hammas.example\nBcc: all@example.com"),
])
def test_a_line_break_in_a_clinic_value_is_refused_with_row_and_column(tmp_path: Path, column: str,
                                                                       value: str) -> None:
    path = write_csv(tmp_path / "clinics.csv", CLINIC_COLUMNS, [clinic_row(code="TRT"), clinic_row(**{column: value})])
    report = import_file(kind="clinics", path=path)
    assert problems(report.errors) == [(3, column)]
    assert report.errors[0].reason.startswith("contains a ")
    assert_nothing_written(report, (0, 0, 0))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import", "clinics", str(path), stdout=io.StringIO(), stderr=err)
    ref = "" if column == "code" else " (TLN)"
    assert err.getvalue().startswith(f"error: row 3{ref}, column {column}: contains a ")


@pytest.mark.parametrize("column", ["code", "name", "phone", "email"])
def test_every_clinic_value_keeps_to_the_models_length_limit(tmp_path: Path, column: str) -> None:
    limit = Clinic._meta.get_field(column).max_length
    path = write_csv(tmp_path / "clinics.csv", CLINIC_COLUMNS, [clinic_row(**{column: "x" * (limit + 1)})])
    report = import_file(kind="clinics", path=path)
    assert [(p.row, p.column, p.reason) for p in report.errors] == [
        (2, column, f"longer than {limit} characters ({limit + 1})")]


# --- point 3: semicolons, tabs, encodings, headers, repeated visits, years 1 and 9999 ------------------------

@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path: Path, clinic: Clinic, delimiter: str) -> None:
    lines = [["external_id", "clinic", "first_name", "last_name", "phone"],
             ["P1", "TLN", "Mari, Liis", "Maasikas", "5123 4567"],      # a comma is only text here
             ["P2", "TLN", '"Jaan ""Juku"" Tamm"', "Tamm", ""]]
    path = write(tmp_path, "\r\n".join(delimiter.join(line) for line in lines) + "\r\n")
    report = import_file(kind="patients", path=path)
    assert (report.errors, report.imported) == ([], 2)
    assert sorted(Patient.objects.values_list("external_id", "first_name", "phone_e164")) == [
        ("P1", "Mari, Liis", "+37251234567"), ("P2", 'Jaan "Juku" Tamm', "")]


def test_the_header_row_decides_the_delimiter(tmp_path: Path, clinic: Clinic) -> None:
    # A comma file whose values have semicolons stays a comma file, and the reverse.
    path = write(tmp_path, "external_id,clinic,first_name\nP1,TLN,Mari;Liis\nP2,TLN,A;B;C;D\n")
    assert import_file(kind="patients", path=path).imported == 2
    assert Patient.objects.get(external_id="P2").first_name == "A;B;C;D"
    path = write(tmp_path, "external_id;clinic;first_name\nP3;TLN;Mari,Liis,Kai\n", "b.csv")
    assert import_file(kind="patients", path=path).imported == 1
    assert Patient.objects.get(external_id="P3").first_name == "Mari,Liis,Kai"


def test_a_shifted_row_of_a_semicolon_file_names_the_semicolon(tmp_path: Path, clinic: Clinic) -> None:
    path = write(tmp_path, "external_id;clinic;first_name\nP1;TLN;Mari;Liis\n")
    report = import_file(kind="patients", path=path)
    assert len(report.errors) == 1 and "a semicolon inside a value" in report.errors[0].reason


def test_a_file_that_is_not_utf8_names_the_line_and_byte_and_says_how_to_save_it(tmp_path: Path,
                                                                                 clinic: Clinic) -> None:
    text = HEADER + "P1,TLN,Mari,Maasikas,,\nP2,TLN,Jüri,Mägi,,\n"
    path = write(tmp_path, text, encoding="cp1257")
    with pytest.raises(MasspostError) as raised:
        import_file(kind="patients", path=path)
    message = str(raised.value)
    offset = text.encode("cp1257").index("ü".encode("cp1257"))
    assert f"line 3, byte offset {offset}" in message
    assert "CSV UTF-8" in message and "--encoding cp1257" in message and "\n" not in message
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(("encoding", "names"), [
    ("cp1257", ("Jüri", "Šmigun-Žukova")), ("cp1252", ("Jürgen", "Müller")), ("latin-1", ("Åsa", "Öberg")),
])
def test_other_encodings_are_read_when_named(tmp_path: Path, clinic: Clinic, encoding: str,
                                             names: tuple[str, str]) -> None:
    path = write(tmp_path, f"external_id;clinic;first_name;last_name\r\nP1;TLN;{names[0]};{names[1]}\r\n",
                 encoding=encoding)
    out, _ = run_import("patients", str(path), "--encoding", encoding)
    assert out.strip() == "imported 1 of 1 patients row"
    assert Patient.objects.values_list("first_name", "last_name").get() == names


def test_an_encoding_that_does_not_fit_the_file_is_refused(tmp_path: Path, clinic: Clinic) -> None:
    utf8_with_bom = write(tmp_path, "\ufeff" + HEADER + "P1,TLN,Jüri,Mägi,,\n")
    with pytest.raises(MasspostError, match="UTF-8 .*leave out --encoding"):
        import_file(kind="patients", path=utf8_with_bom, encoding="cp1257")
    undefined_in_cp1252 = tmp_path / "b.csv"
    undefined_in_cp1252.write_bytes(HEADER.encode() + b"P1,TLN,Mari\x81,,,\n")  # 0x81 is no cp1252 character
    with pytest.raises(MasspostError, match=f"line 2, byte offset {len(HEADER) + len('P1,TLN,Mari')}"):
        import_file(kind="patients", path=undefined_in_cp1252, encoding="cp1252")
    with pytest.raises(CommandError, match="invalid choice"):
        run_import("patients", str(utf8_with_bom), "--encoding", "utf-16")


def test_a_utf16_file_says_so(tmp_path: Path, clinic: Clinic) -> None:
    path = write(tmp_path, HEADER, encoding="utf-16")  # Excel's "Unicode Text"
    with pytest.raises(MasspostError, match="UTF-16.*CSV UTF-8"):
        import_file(kind="patients", path=path)


@pytest.mark.parametrize(("header", "fragment"), [
    ("external_id,clinic,phone,Phone", "'phone' more than once"),
    ("external_id,clinic,,phone", "column 3 of the header row has no name"),
    ("external_id,clinic,phone,", "column 4 of the header row has no name"),
    ("external_id;clinic;;phone", "column 3 of the header row has no name"),
])
def test_a_header_that_repeats_a_column_or_has_a_blank_one_is_an_error(tmp_path: Path, clinic: Clinic,
                                                                        header: str, fragment: str) -> None:
    path = write(tmp_path, header + "\nP1,TLN,5123 4567,5234 5678\n")
    with pytest.raises(MasspostError) as raised:
        import_file(kind="patients", path=path)
    assert fragment in str(raised.value)
    assert Patient.objects.count() == 0


def test_a_visit_row_repeated_identically_is_a_warning_and_counted_once(tmp_path: Path, two_patients: None,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)  # the repeat in the same batch and in a later one
    path = visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended"),
                                  ("P1", "TLN", "2025-01-15T10:00", "attended"),          # row 3: same batch
                                  ("P2", "TRT", "2025-01-15T10:00", "attended"),
                                  ("P1", "TLN", "2025-01-15T08:00Z", "Attended")])        # row 5: the same moment
    report = import_file(kind="visits", path=path)
    assert report.errors == []
    assert [(p.row, p.column, p.ref, p.reason) for p in report.warnings] == [
        (3, "start", "P1", "the same visit as row 2, repeated: counted once"),
        (5, "start", "P1", "the same visit as row 2, repeated: counted once")]
    assert (report.rows, report.imported, report.written) == (4, 2, True)
    assert Visit.objects.count() == 2

    out, err = run_import("visits", str(path))
    assert out.strip() == "imported 2 of 4 visits rows, 2 warnings"
    assert err.splitlines()[0] == "warning: row 3 (P1), column start: the same visit as row 2, repeated: counted once"


def test_the_same_visit_with_another_status_stays_a_bad_row(tmp_path: Path, two_patients: None) -> None:
    path = visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended"),
                                  ("P1", "TLN", "2025-01-15T10:00", "attended"),
                                  ("P1", "TLN", "2025-01-15T10:00", "no_show")])
    report = import_file(kind="visits", path=path)
    assert [(p.row, p.column, p.reason) for p in report.errors] == [
        (4, "start", "the same visit (patient, clinic, start) as row 2, with another status")]
    assert_nothing_written(report, (2, 2, 0))


@pytest.mark.parametrize("start", ["0001-01-01T10:00", "0001-01-01T00:30+05:00", "9999-12-31T23:30",
                                   "9999-12-31T23:30-05:00", "9999-12-31", "1899-12-31T10:00", "2101-01-01T10:00"])
def test_a_visit_in_year_1_or_9999_is_a_bad_row(tmp_path: Path, two_patients: None, start: str) -> None:
    path = visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended"), ("P2", "TRT", start, "attended")])
    report = import_file(kind="visits", path=path)
    assert [(p.row, p.column) for p in report.errors] == [(3, "start")]
    assert report.errors[0].reason == f"year {start[:4].lstrip('0')} is out of range (1900-2100)"
    assert_nothing_written(report, (2, 2, 0))
    with pytest.raises(CommandError, match="1 bad row"):
        run_import("visits", str(path))


def test_visits_at_the_ends_of_the_range_are_kept(tmp_path: Path, two_patients: None) -> None:
    path = visits_file(tmp_path, [("P1", "TLN", "1900-01-01T00:00", "attended"),
                                  ("P1", "TLN", "2100-12-31T23:59", "cancelled")])
    assert import_file(kind="visits", path=path).imported == 2


# --- progress on a terminal ----------------------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_import_service_reports_progress_in_rows(tmp_path: Path, clinic: Clinic,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 4)
    seen: list[int] = []
    path = patients_file(tmp_path, [patient_row(f"P{i}") for i in range(10)])
    report = import_file(kind="patients", path=path, progress=seen.append)
    assert seen == [4, 4, 2] and report.imported == 10


def test_the_command_shows_rows_and_rate_on_a_terminal_only(tmp_path: Path, clinic: Clinic,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = patients_file(tmp_path, [patient_row(f"P{i}") for i in range(30)])
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    out, _ = run_import("patients", str(path), "--json")
    assert json.loads(out)["imported"] == 30  # standard output stays JSON
    shown = terminal.getvalue()
    assert "30 rows" in shown and "rows/s" in shown

    quiet = io.StringIO()
    monkeypatch.setattr("sys.stderr", quiet)
    run_import("patients", str(path))
    assert quiet.getvalue() == ""


def test_a_file_of_every_column_still_round_trips(tmp_path: Path, clinic: Clinic) -> None:
    # The strict reader keeps what a spreadsheet program writes: quotes around commas, doubled quotes, CRLF.
    path = tmp_path / "patients.csv"
    path.write_text(",".join(PATIENT_COLUMNS) + "\r\n"
                    + 'P1,TLN,"Mari, Liis","O""Brien",1980-05-17,EE,et,5123 4567,mari@example.com,true,true,no,\r\n',
                    encoding="utf-8")
    report = import_file(kind="patients", path=path)
    assert (report.errors, report.imported) == ([], 1)
    assert Patient.objects.values_list("first_name", "last_name").get() == ("Mari, Liis", 'O"Brien')
    assert db_counts() == (1, 1, 0)
