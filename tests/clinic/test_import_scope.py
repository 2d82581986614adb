"""CSV import in a clinic user's Scope (docs/import.md, "Scoped imports (the REST API)"): only their clinics, their
patients and the roles that may."""

from __future__ import annotations

from pathlib import Path

import pytest

from masspost.clinic.importer import ImportReport, import_file
from masspost.clinic.models import Clinic, Patient, Visit
from masspost.clinic.scope import Role, Scope
from masspost.errors import PermissionDeniedError
from tests.clinic.importing import (
    CLINIC_COLUMNS,
    assert_nothing_written,
    db_counts,
    patient_row,
    patients_file,
    problems,
    visits_file,
    write_csv,
)

pytestmark = pytest.mark.django_db


def scope_of(*clinics: Clinic, role: Role = Role.SENDER) -> Scope:
    return Scope(actor="x", clinic_ids=frozenset(c.id for c in clinics), role=role)


def clinic_row(code: str, **fields: str) -> dict[str, str]:
    row = {"code": code, "name": f"Hammas {code}", "country": "EE", "time_zone": "Europe/Tallinn",
           "default_language": "et", "phone": "", "email": "", "sms_sender": ""}
    return row | fields


def clinics_file(tmp_path: Path, rows: list[dict[str, str]], name: str = "clinics.csv") -> Path:
    return write_csv(tmp_path / name, CLINIC_COLUMNS, rows)


def reasons(report: ImportReport) -> list[tuple[int, str, str, str]]:
    return [(p.row, p.column, p.reason, p.ref) for p in report.errors]


# --- patients ------------------------------------------------------------------------------------------------

def test_a_scoped_patients_import_into_own_clinic_works(tmp_path: Path, clinic: Clinic, other_clinic: Clinic,
                                                        two_patients: None) -> None:
    path = patients_file(tmp_path, [patient_row("P1", first_name="Liis"), patient_row("P3")])
    report = import_file(kind="patients", path=path, scope=scope_of(clinic))
    assert (report.rows, report.imported, report.written, report.errors) == (2, 2, True, [])
    assert Patient.objects.get(external_id="P1").first_name == "Liis"
    assert Patient.objects.get(external_id="P3").clinic == clinic


def test_another_clinics_code_is_an_unknown_clinic_and_nothing_is_written(tmp_path: Path, clinic: Clinic,
                                                                          other_clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1"), patient_row("P2", clinic="TRT"),
                                    patient_row("P3", clinic="XXX")])
    before = db_counts()
    report = import_file(kind="patients", path=path, scope=scope_of(clinic))
    # The same words as for a code no clinic has: a code reveals nothing of the clinics beyond one's own.
    assert reasons(report) == [(3, "clinic", "unknown clinic 'TRT'", "P2"), (4, "clinic", "unknown clinic 'XXX'", "P3")]
    assert_nothing_written(report, before)
    report = import_file(kind="patients", path=path, scope=scope_of(clinic), skip_invalid=True)
    assert report.written and report.imported == 1
    assert list(Patient.objects.values_list("external_id", "clinic__code")) == [("P1", "TLN")]


def test_another_clinics_patient_is_refused_and_left_as_they_were(tmp_path: Path, clinic: Clinic,
                                                                  other_clinic: Clinic, two_patients: None) -> None:
    # P2 is a patient of TRT: the upsert on external_id would move them to TLN and overwrite their name.
    path = patients_file(tmp_path, [patient_row("P1", first_name="Liis"),
                                    patient_row("P2", first_name="Someone", accepts_sms="false")])
    before = db_counts()
    report = import_file(kind="patients", path=path, scope=scope_of(clinic))
    assert reasons(report) == [(3, "external_id", "belongs to a patient of a clinic outside your reach", "P2")]
    assert_nothing_written(report, before)
    assert Patient.objects.get(external_id="P1").first_name == "Mari"
    report = import_file(kind="patients", path=path, scope=scope_of(clinic), skip_invalid=True)
    assert report.written and report.imported == 1 and problems(report.errors) == [(3, "external_id")]
    p2 = Patient.objects.get(external_id="P2")
    assert (p2.clinic, p2.first_name, p2.accepts_sms) == (other_clinic, "Mari", True)
    assert Patient.objects.get(external_id="P1").first_name == "Liis"


def test_a_patient_of_a_clinic_in_the_scope_may_move_between_its_clinics(tmp_path: Path, clinic: Clinic,
                                                                         other_clinic: Clinic,
                                                                         two_patients: None) -> None:
    path = patients_file(tmp_path, [patient_row("P2", clinic="TLN")])
    report = import_file(kind="patients", path=path, scope=scope_of(clinic, other_clinic))
    assert report.written and report.errors == []
    assert Patient.objects.get(external_id="P2").clinic == clinic


# --- visits --------------------------------------------------------------------------------------------------

def test_visits_of_another_clinics_patient_are_for_an_unknown_patient(tmp_path: Path, clinic: Clinic,
                                                                      other_clinic: Clinic,
                                                                      two_patients: None) -> None:
    path = visits_file(tmp_path, [("P1", "TLN", "2025-03-14T09:30", "attended"),
                                  ("P2", "TLN", "2025-03-14T10:00", "attended"),   # a patient of TRT
                                  ("P9", "TLN", "2025-03-14T10:30", "attended"),   # no such patient
                                  ("P1", "TRT", "2025-03-14T11:00", "attended")])  # a visit at TRT
    before = db_counts()
    report = import_file(kind="visits", path=path, scope=scope_of(clinic))
    assert reasons(report) == [(3, "patient", "unknown patient (import the patients first)", "P2"),
                               (4, "patient", "unknown patient (import the patients first)", "P9"),
                               (5, "clinic", "unknown clinic 'TRT'", "P1")]
    assert_nothing_written(report, before)
    report = import_file(kind="visits", path=path, scope=scope_of(clinic), skip_invalid=True)
    assert report.imported == 1
    assert list(Visit.objects.values_list("patient__external_id", "clinic__code")) == [("P1", "TLN")]


# --- roles ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["patients", "visits"])
def test_a_preparer_may_not_import_patients_or_visits(tmp_path: Path, clinic: Clinic, kind: str) -> None:
    # Asked before the file is read: this one does not even exist.
    with pytest.raises(PermissionDeniedError):
        import_file(kind=kind, path=tmp_path / "absent.csv", scope=scope_of(clinic, role=Role.PREPARER))


def test_a_sender_may_not_import_clinics(tmp_path: Path, clinic: Clinic) -> None:
    path = clinics_file(tmp_path, [clinic_row("TLN", name="Renamed")])
    with pytest.raises(PermissionDeniedError):
        import_file(kind="clinics", path=path, scope=scope_of(clinic, role=Role.SENDER))
    with pytest.raises(PermissionDeniedError):
        import_file(kind="clinics", path=path, scope=Scope(actor="x", clinic_ids=None, role=Role.SENDER))
    assert Clinic.objects.get().name == "Hammas Tallinn"


# --- clinics -------------------------------------------------------------------------------------------------

def test_a_clinic_admin_updates_their_clinic_but_cannot_add_one_or_touch_another(tmp_path: Path, clinic: Clinic,
                                                                                 other_clinic: Clinic) -> None:
    path = clinics_file(tmp_path, [clinic_row("TLN", name="Hammas Tallinn Kesklinn"),
                                   clinic_row("TRT", name="Taken over"), clinic_row("NEW")])
    admin = scope_of(clinic, role=Role.ADMIN)
    report = import_file(kind="clinics", path=path, scope=admin)
    # Another clinic's code and a code no clinic has get one answer (issue 16, point 12): the file learns
    # nothing of which codes other clinics use.
    why = "is not one of your clinics (only an admin of every clinic may add a clinic)"
    assert reasons(report) == [(3, "code", f"clinic 'TRT' {why}", "TRT"), (4, "code", f"clinic 'NEW' {why}", "NEW")]
    assert_nothing_written(report, (2, 0, 0))
    report = import_file(kind="clinics", path=path, scope=admin, skip_invalid=True)
    assert report.written and report.imported == 1
    assert dict(Clinic.objects.values_list("code", "name")) == {"TLN": "Hammas Tallinn Kesklinn",
                                                                "TRT": "Hammas Tartu"}


@pytest.mark.parametrize("every", ["listed", "none"])
def test_an_admin_of_every_clinic_may_add_one(tmp_path: Path, clinic: Clinic, other_clinic: Clinic,
                                              every: str) -> None:
    ids = None if every == "none" else frozenset({clinic.id, other_clinic.id})
    path = clinics_file(tmp_path, [clinic_row("TRT", name="Hammas Tartu Annelinn"), clinic_row("NEW")])
    report = import_file(kind="clinics", path=path, scope=Scope(actor="x", clinic_ids=ids, role=Role.ADMIN))
    assert (report.imported, report.written, report.errors) == (2, True, [])
    assert dict(Clinic.objects.values_list("code", "name")) == {"TLN": "Hammas Tallinn",
                                                                "TRT": "Hammas Tartu Annelinn",
                                                                "NEW": "Hammas NEW"}


# --- no scope: the operator ----------------------------------------------------------------------------------

def test_no_scope_is_the_operator_as_before(tmp_path: Path, clinic: Clinic, other_clinic: Clinic,
                                            two_patients: None) -> None:
    assert import_file(kind="clinics", path=clinics_file(tmp_path, [clinic_row("NEW")])).errors == []
    # A patient moves to another clinic, and visits are at any clinic.
    report = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P2", clinic="NEW")]))
    assert report.written and report.errors == []
    assert Patient.objects.get(external_id="P2").clinic.code == "NEW"
    path = visits_file(tmp_path, [("P1", "TRT", "2025-03-14T09:30", "attended"),
                                  ("P2", "TLN", "2025-03-14T10:00", "attended")])
    report = import_file(kind="visits", path=path)
    assert (report.imported, report.errors) == (2, [])
    assert db_counts() == (3, 2, 2)


def test_a_patient_another_clinic_stores_after_the_check_is_refused_and_not_moved(
        tmp_path: Path, clinic: Clinic, other_clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clinics import at once: between the write pass's check for other clinics' patients and its upsert,
    another clinic's import commits P2. The upsert's condition leaves P2 in its clinic; the import is refused
    with the check's own answer and writes nothing."""
    from masspost.clinic import importer
    real = importer._foreign_patients
    checks: list[int] = []

    def check_then_other_clinic_commits(refs: list[str], scope: Scope) -> frozenset[str]:
        checks.append(1)
        if len(checks) == 1:  # the check pass: P2 is nobody's yet; the other clinic stores it afterwards
            found = real(refs, scope)
            Patient.objects.create(external_id="P2", clinic=other_clinic, first_name="Jaan", last_name="Tamm")
            return found
        if len(checks) == 2:  # the write pass's check ran just before the other clinic's import committed
            return frozenset()
        return real(refs, scope)

    monkeypatch.setattr(importer, "_foreign_patients", check_then_other_clinic_commits)
    path = patients_file(tmp_path, [patient_row("P1", first_name="Liis"), patient_row("P2", first_name="Someone")])
    report = import_file(kind="patients", path=path, scope=scope_of(clinic), skip_invalid=True)
    assert reasons(report) == [(3, "external_id", "belongs to a patient of a clinic outside your reach", "P2")]
    assert (report.written, report.imported) == (False, 0)
    assert not Patient.objects.filter(external_id="P1").exists()
    p2 = Patient.objects.get(external_id="P2")
    assert (p2.clinic_id, p2.first_name) == (other_clinic.id, "Jaan")
