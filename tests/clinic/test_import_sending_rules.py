"""The clinics import's sending-rule columns and the patients import's household_contact (docs/import.md): optional,
checked like every column (row, column, why; nothing written), and a column left out keeps each clinic's value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from masspost.clinic.importer import import_file
from masspost.clinic.models import Clinic, Patient
from tests.clinic.importing import (
    PATIENT_COLUMNS,
    assert_nothing_written,
    db_counts,
    patient_row,
    problems,
    write_csv,
)

BASE = ["code", "name", "country", "time_zone", "default_language"]
RULES = ["marketing_window", "service_window", "holidays", "approval_over", "approval_cost_over",
         "test_before_marketing", "recently_messaged_days"]


def clinic_row(code: str, **fields: str) -> dict[str, str]:
    return {"code": code, "name": f"Hammas {code}", "country": "EE", "time_zone": "Europe/Tallinn",
            "default_language": "et"} | fields


def clinics_file(tmp_path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    return write_csv(tmp_path / "clinics.csv", columns, rows)


def rules_of(code: str) -> tuple[object, ...]:
    return tuple(Clinic.objects.filter(code=code).values_list(*RULES).get())


def test_every_rule_column_is_read_and_stored_as_written_forms_are_normalised(tmp_path: Path, db: None) -> None:
    report = import_file(kind="clinics", path=clinics_file(tmp_path, BASE + RULES, [
        clinic_row("TLN", marketing_window="mon-fri 9:00-18:00", service_window="Mon-Sun 00:00-24:00",
                   holidays="no", approval_over="500", approval_cost_over="12,50", test_before_marketing="yes",
                   recently_messaged_days="30"),
        clinic_row("TRT", marketing_window="", service_window="", holidays="", approval_over="",
                   approval_cost_over="", test_before_marketing="", recently_messaged_days="")]))
    assert report.written and not report.errors, report.errors
    assert rules_of("TLN") == ("Mon-Fri 09:00-18:00", "Mon-Sun 00:00-24:00", False, 500, Decimal("12.50"), True,
                               30)
    # Empty cells: masspost's defaults, and no approval threshold.
    assert rules_of("TRT") == ("Mon-Sat 09:00-20:00", "Mon-Sun 08:00-21:00", True, None, None, False, 14)


def test_a_column_left_out_keeps_each_clinics_value(tmp_path: Path, db: None) -> None:
    import_file(kind="clinics", path=clinics_file(tmp_path, BASE + RULES, [
        clinic_row("TLN", marketing_window="Mon-Fri 10:00-17:00", service_window="Mon-Fri 08:00-18:00",
                   holidays="no", approval_over="100", approval_cost_over="5", test_before_marketing="yes",
                   recently_messaged_days="7")]))
    report = import_file(kind="clinics", path=clinics_file(tmp_path, [*BASE, "approval_over"], [
        clinic_row("TLN", name="Hammas Tallinn", approval_over="200"), clinic_row("NEW", approval_over="")]))
    assert report.written, report.errors
    assert rules_of("TLN") == ("Mon-Fri 10:00-17:00", "Mon-Fri 08:00-18:00", False, 200, Decimal("5.00"), True, 7)
    assert Clinic.objects.get(code="TLN").name == "Hammas Tallinn"
    assert rules_of("NEW") == ("Mon-Sat 09:00-20:00", "Mon-Sun 08:00-21:00", True, None, None, False, 14)


@pytest.mark.parametrize(("column", "value", "why"), [
    ("marketing_window", "whenever", "like 'Mon-Sat 09:00-20:00'"),
    ("service_window", "Mon-Fri 18:00-08:00", ""),
    ("holidays", "maybe", "not a boolean"),
    ("approval_over", "0", "at least 1"),
    ("approval_over", "1.5", "whole number"),
    ("approval_cost_over", "-3", "amount"),
    ("approval_cost_over", "1.234", "at most 2 decimals"),
    ("test_before_marketing", "perhaps", "not a boolean"),
    ("recently_messaged_days", "366", "0 (off) to 365"),
    ("recently_messaged_days", "-1", "whole number"),
])
def test_a_bad_value_is_a_row_error_naming_the_column_and_nothing_is_written(
        tmp_path: Path, db: None, column: str, value: str, why: str) -> None:
    Clinic.objects.create(code="TLN", name="Hammas Tallinn", country="EE", time_zone="Europe/Tallinn",
                          default_language="et")
    before, rules = db_counts(), rules_of("TLN")
    report = import_file(kind="clinics", path=clinics_file(tmp_path, [*BASE, column], [
        clinic_row("TLN", **{column: ""}), clinic_row("TRT", **{column: value})]))
    assert_nothing_written(report, before)
    assert problems(report.errors) == [(3, column)]
    assert report.errors[0].ref == "TRT" and why in report.errors[0].reason
    assert rules_of("TLN") == rules


def test_household_contact_is_read_and_left_alone_when_the_column_is_absent(tmp_path: Path, clinic: Clinic) -> None:
    columns = [*PATIENT_COLUMNS, "household_contact"]
    report = import_file(kind="patients", path=write_csv(tmp_path / "p.csv", columns, [
        patient_row("P1", household_contact="yes"), patient_row("P2", household_contact="")]))
    assert report.written, report.errors
    assert dict(Patient.objects.values_list("external_id", "household_contact")) == {"P1": True, "P2": False}
    import_file(kind="patients", path=write_csv(tmp_path / "p2.csv", PATIENT_COLUMNS, [
        patient_row("P1", first_name="Kati"), patient_row("P3")]))
    assert dict(Patient.objects.values_list("external_id", "household_contact")) == {"P1": True, "P2": False,
                                                                                      "P3": False}


def test_a_bad_household_contact_is_a_row_error(tmp_path: Path, clinic: Clinic) -> None:
    before = db_counts()
    report = import_file(kind="patients", path=write_csv(tmp_path / "p.csv", [*PATIENT_COLUMNS, "household_contact"],
                                                         [patient_row("P1", household_contact="sometimes")]))
    assert_nothing_written(report, before)
    assert problems(report.errors) == [(2, "household_contact")]
