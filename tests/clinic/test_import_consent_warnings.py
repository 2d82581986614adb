"""Issue 16, point 14: an import reports, per patient, each consent value of the file it did not apply, and why."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from masspost.clinic.importer import import_file
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.inbound import inbound_record
from tests.clinic.importing import patient_row, patients_file, write_csv

pytestmark = pytest.mark.django_db


def today_in_tallinn() -> str:
    return dt.datetime.now(ZoneInfo("Europe/Tallinn")).date().isoformat()


def warnings_of(report: object) -> list[tuple[int, str, str, str]]:
    return [(p.row, p.column, p.reason, p.ref) for p in report.warnings]  # type: ignore[attr-defined]


def test_an_sms_stop_not_undone_by_an_import_is_a_warning_naming_when(tmp_path: Path, clinic: Clinic) -> None:
    first = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1"), patient_row("P2")]))
    assert first.warnings == []
    assert inbound_record("+37251234567", "STOP").opted_out == 2
    # The same export again: the file says accepts_sms=true for both; neither gets it back.
    again = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1"), patient_row("P2")],
                                                            "again.csv"))
    assert again.written and again.imported == 2
    why = f"not applied (stays no): opted out by SMS on {today_in_tallinn()}; only the patient can undo this"
    assert warnings_of(again) == [(2, "accepts_sms", why, "P1"), (3, "accepts_sms", why, "P2")]
    # The clinic switching it off and on again changes nothing and says so again.
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", accepts_sms="no")], "off.csv"))
    on = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", accepts_sms="yes")], "on.csv"))
    assert warnings_of(on) == [(2, "accepts_sms", why, "P1")]
    assert Patient.objects.get(external_id="P1").accepts_sms is False


def test_a_value_changed_by_staff_since_the_previous_import_is_a_warning(tmp_path: Path, clinic: Clinic) -> None:
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", marketing_consent="yes")]))
    patient = Patient.objects.get(external_id="P1")
    consent_change(patient_id=patient.id, channel="sms", purpose="marketing", accepts=False, source="staff:anna")
    report = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", marketing_consent="yes")],
                                                             "again.csv"))
    # marketing_consent is both channels' marketing: the warning says which one stays.
    assert warnings_of(report) == [(2, "marketing_consent", (
        f"SMS marketing not applied (stays no): switched off by staff on {today_in_tallinn()}, after the previous "
        "import, which gave the same value as this file (a file changes a consent only where the clinic's value "
        "changed)"), "P1")]
    # A value the file applies, or one it gives as it is stored, is no warning.
    report = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", marketing_consent="no")],
                                                             "off.csv"))
    assert report.warnings == []


def test_the_command_lines_report_lists_the_consent_warnings(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1")])
    import_file(kind="patients", path=path)
    inbound_record("+37251234567", "STOP")
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "patients", str(path), stdout=out, stderr=err)
    why = f"not applied (stays no): opted out by SMS on {today_in_tallinn()}; only the patient can undo this"
    assert f"warning: row 2 (P1), column accepts_sms: {why}" in err.getvalue()
    assert out.getvalue().startswith("imported 1 of 1 patients")
    out = io.StringIO()
    call_command("import", "patients", str(path), "--json", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["warnings"] == [{"row": 2, "column": "accepts_sms", "reason": why,
                                                       "ref": "P1"}]


def test_a_channels_own_marketing_column_is_named_in_its_warning(tmp_path: Path, clinic: Clinic) -> None:
    columns = ["external_id", "clinic", "phone", "email", "marketing_sms", "marketing_email"]
    row = {"external_id": "P1", "clinic": "TLN", "phone": "5123 4567", "email": "mari@example.com",
           "marketing_sms": "yes", "marketing_email": "yes"}
    import_file(kind="patients", path=write_csv(tmp_path / "a.csv", columns, [row]))
    patient = Patient.objects.get(external_id="P1")
    consent_change(patient_id=patient.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail")
    report = import_file(kind="patients", path=write_csv(tmp_path / "b.csv", columns, [row]))
    assert warnings_of(report) == [(2, "marketing_email", (
        f"not applied (stays no): opted out through an unsubscribe link on {today_in_tallinn()}; only the patient "
        "can undo this"), "P1")]
