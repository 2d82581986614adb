"""Consent across re-imports (docs/import.md, "Consent"): a patient's own opt-out is never undone by an import, an
import changes a consent only where the clinic's value changed since the previous import of that patient, and
every change of consent is a consent event with its source."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from masspost.clinic import importer
from masspost.clinic.importer import ImportReport, import_file
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.services import clinic_data_reset
from masspost.delivery.inbound import inbound_record
from tests.clinic.importing import patient_row, patients_file

pytestmark = pytest.mark.django_db

class Files:
    """Numbered import files of one patient, P1, as a clinic system exports them again and again."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.n = 0

    def import_(self, **consents: str) -> ImportReport:
        self.n += 1
        row = patient_row("P1", phone="5123 4567", accepts_sms="true", accepts_email="true",
                          marketing_consent="true") | consents
        report = import_file(kind="patients", path=patients_file(self.tmp_path, [row], f"export-{self.n}.csv"))
        assert report.written and report.errors == []
        return report


def consents() -> tuple[bool, bool, bool, bool]:
    p = Patient.objects.get(external_id="P1")
    return p.accepts_sms, p.accepts_email, p.marketing_sms, p.marketing_email


def events() -> list[tuple[str, str, bool, str]]:
    return list(ConsentEvent.objects.filter(patient__external_id="P1").order_by("id")
                .values_list("channel", "purpose", "accepts", "source"))


@pytest.fixture
def files(tmp_path: Path, clinic: Clinic) -> Files:
    return Files(tmp_path)


def test_a_full_export_after_an_sms_stop_does_not_switch_sms_back_on(files: Files) -> None:
    files.import_()
    assert inbound_record("+37251234567", "STOP").opted_out == 1
    files.import_()
    files.import_()
    assert consents() == (False, True, True, True)
    # A new patient's channels are on without an event (a patient with no events takes service messages); the
    # file's marketing consent is one event per channel.
    assert events() == [("sms", "marketing", True, "import"), ("email", "marketing", True, "import"),
                        ("sms", "service", False, "sms-stop")]


def test_a_stop_holds_even_when_the_clinic_switches_its_value_off_and_on_again(files: Files) -> None:
    files.import_()
    inbound_record("+37251234567", "stopp")
    files.import_(accepts_sms="false")
    files.import_(accepts_sms="true")  # changed since the previous import, but the patient said stop
    assert consents()[0] is False
    assert [e for e in events() if e[:2] == ("sms", "service")] == [("sms", "service", False, "sms-stop")]


def test_a_value_the_clinic_changed_applies_and_is_a_consent_event(files: Files) -> None:
    files.import_()
    files.import_(accepts_email="false", marketing_consent="no")
    assert consents() == (True, False, False, False)
    files.import_(accepts_email="true")  # marketing_consent stays "true" in the file: changed again
    assert consents() == (True, True, True, True)
    assert events()[2:] == [("email", "service", False, "import"), ("sms", "marketing", False, "import"),
                            ("email", "marketing", False, "import"), ("email", "service", True, "import"),
                            ("sms", "marketing", True, "import"), ("email", "marketing", True, "import")]


def test_a_value_the_clinic_did_not_change_leaves_a_change_made_since(files: Files) -> None:
    files.import_()
    patient = Patient.objects.get(external_id="P1")
    # A receptionist records, at the patient's request, that they want no offers by e-mail (the patient page).
    consent_change(patient_id=patient.id, channel="email", purpose="marketing", accepts=False, source="staff:anna")
    files.import_()
    assert consents() == (True, True, True, False)
    # The clinic system catches up, and later changes its mind: a clinic's change is not the patient's own opt-out.
    files.import_(marketing_consent="false")
    files.import_(marketing_consent="true")
    assert consents() == (True, True, True, True)
    assert events()[-1] == ("email", "marketing", True, "import")


def test_an_opt_in_after_the_stop_lets_the_clinic_change_it_again(files: Files) -> None:
    files.import_()
    inbound_record("+37251234567", "STOP")
    patient = Patient.objects.get(external_id="P1")
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=True, source="staff:anna")
    files.import_(accepts_sms="false")
    assert consents()[0] is False
    files.import_(accepts_sms="true")
    assert consents()[0] is True
    assert [e for e in events() if e[:2] == ("sms", "service")][-2:] == [
        ("sms", "service", False, "import"), ("sms", "service", True, "import")]


def test_a_file_without_consent_columns_changes_no_consent_and_writes_no_event(tmp_path: Path, files: Files) -> None:
    files.import_(accepts_sms="false")
    before = events()
    (tmp_path / "phones.csv").write_text("external_id,clinic,phone\nP1,TLN,5999 8888\nP2,TLN,5888 7777\n",
                                         encoding="utf-8")
    assert import_file(kind="patients", path=tmp_path / "phones.csv").written
    assert consents() == (False, True, True, True) and events() == before
    # A new patient from such a file takes the defaults, with no event: no one has given or refused anything.
    p2 = Patient.objects.get(external_id="P2")
    assert (p2.accepts_sms, p2.accepts_email, p2.marketing_sms, p2.marketing_email) == (True, True, False, False)
    assert not ConsentEvent.objects.filter(patient=p2).exists()
    # …and the first file that does say something about them applies in full.
    (tmp_path / "p2.csv").write_text("external_id,clinic,accepts_sms\nP2,TLN,no\n", encoding="utf-8")
    import_file(kind="patients", path=tmp_path / "p2.csv")
    p2.refresh_from_db()
    assert p2.accepts_sms is False
    assert list(ConsentEvent.objects.filter(patient=p2).values_list("channel", "purpose", "accepts", "source",
                                                                    "wording")) == [
        ("sms", "service", False, "import", "file p2.csv")]


def test_consent_is_decided_per_patient_across_batches(tmp_path: Path, clinic: Clinic,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 3)
    rows = [patient_row(f"P{i}", phone=f"5{i:07d}", marketing_consent="yes") for i in range(10)]
    import_file(kind="patients", path=patients_file(tmp_path, rows, "a.csv"))
    for i in (2, 5, 9):
        inbound_record(f"+3725{i:07d}", "STOP")
    rows[4]["accepts_sms"] = "false"
    import_file(kind="patients", path=patients_file(tmp_path, rows, "b.csv"))
    off = set(Patient.objects.filter(accepts_sms=False).values_list("external_id", flat=True))
    assert off == {"P2", "P4", "P5", "P9"}
    imports = ConsentEvent.objects.filter(source="import")
    assert imports.count() == 10 * 2 + 1  # every new patient's marketing on both channels, then P4's change
    assert list(imports.filter(wording="file b.csv").values_list("patient__external_id", "channel", "purpose",
                                                                 "accepts")) == [("P4", "sms", "service", False)]
    assert set(imports.exclude(wording="file b.csv").values_list("wording", flat=True)) == {"file a.csv"}


def test_a_rolled_back_import_records_no_consent_event(files: Files, tmp_path: Path) -> None:
    files.import_()
    before = events()
    path = patients_file(tmp_path, [patient_row("P1", accepts_sms="false"), patient_row("P2", clinic="NOPE")])
    assert not import_file(kind="patients", path=path).written
    assert events() == before and consents()[0] is True


def test_the_clinic_data_reset_deletes_consent_events_too(files: Files) -> None:
    files.import_()
    clinic_data_reset()
    assert (Patient.objects.count(), ConsentEvent.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_takes_the_current_consents_as_the_previous_import(clinic: Clinic) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("clinic", "0001_initial")])
    old = executor.loader.project_state([("clinic", "0001_initial")]).apps
    old_clinic = old.get_model("clinic", "Clinic").objects.get(code="TLN")
    old.get_model("clinic", "Patient").objects.create(external_id="P1", clinic=old_clinic, accepts_sms=False,
                                                      accepts_email=True, marketing_consent=False)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    p = Patient.objects.get(external_id="P1")
    assert (p.imported_accepts_sms, p.imported_accepts_email, p.imported_marketing_sms,
            p.imported_marketing_email) == (False, True, False, False)


def test_the_models_and_their_migrations_agree() -> None:
    call_command("makemigrations", "clinic", "--check", "--dry-run", stdout=io.StringIO())
