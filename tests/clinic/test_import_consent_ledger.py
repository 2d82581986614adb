"""Issue 20: the patients import writes the consent ledger by channel and purpose — marketing per channel
(marketing_sms, marketing_email, or marketing_consent for both), an event with source "import" and the file's name
for every consent it changes and for none it leaves, the patient's own opt-out kept per channel and purpose, and
the consent columns equal to the ledger's fold afterwards (docs/import.md, "Consent")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from masspost.campaigns.imports import data_import
from masspost.clinic.demo import DEMO_WORDING, demo_generate
from masspost.clinic.importer import import_file
from masspost.clinic.ledger import consent_change, ledger_state
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.consent import ConsentState
from tests.clinic.importing import patient_row, patients_file, write_csv

pytestmark = pytest.mark.django_db

COLUMNS = ["external_id", "clinic", "phone", "email", "accepts_sms", "accepts_email", "marketing_consent",
           "marketing_sms", "marketing_email"]


def row(ref: str, **cells: str) -> dict[str, str]:
    return {"external_id": ref, "clinic": "TLN", "phone": "5123 4567", "email": "mari@example.com",
            "accepts_sms": "", "accepts_email": "", "marketing_consent": "", "marketing_sms": "",
            "marketing_email": ""} | cells


def state(ref: str) -> ConsentState:
    p = Patient.objects.get(external_id=ref)
    return ConsentState(accepts_sms=p.accepts_sms, accepts_email=p.accepts_email, marketing_sms=p.marketing_sms,
                        marketing_email=p.marketing_email)


def events(ref: str) -> list[tuple[str, str, bool, str, str]]:
    return list(ConsentEvent.objects.filter(patient__external_id=ref).order_by("id")
                .values_list("channel", "purpose", "accepts", "source", "wording"))


def assert_columns_are_the_ledger() -> None:
    for p in Patient.objects.all():
        assert state(p.external_id) == ledger_state(p.id), p.external_id


def test_a_channels_own_marketing_column_wins_over_marketing_consent_where_its_cell_is_given(
        tmp_path: Path, clinic: Clinic) -> None:
    path = write_csv(tmp_path / "patients.csv", COLUMNS, [
        row("P1", marketing_consent="yes"),
        row("P2", marketing_consent="yes", marketing_email="no"),
        row("P3", marketing_consent="no", marketing_sms="yes"),
        row("P4", marketing_sms="yes"),
        row("P5", accepts_sms="no", marketing_email="yes"),
    ])
    report = import_file(kind="patients", path=path)
    assert report.written and report.errors == [] and report.warnings == []
    assert state("P1") == ConsentState(marketing_sms=True, marketing_email=True)
    assert state("P2") == ConsentState(marketing_sms=True, marketing_email=False)
    assert state("P3") == ConsentState(marketing_sms=True, marketing_email=False)
    assert state("P4") == ConsentState(marketing_sms=True, marketing_email=False)
    assert state("P5") == ConsentState(accepts_sms=False, marketing_email=True)
    assert_columns_are_the_ledger()


def test_a_bad_marketing_cell_is_a_bad_row_even_where_the_other_column_wins(tmp_path: Path, clinic: Clinic) -> None:
    path = write_csv(tmp_path / "patients.csv", COLUMNS, [row("P1", marketing_consent="ja", marketing_sms="yes",
                                                              marketing_email="yes"),
                                                          row("P2", marketing_email="jah")])
    report = import_file(kind="patients", path=path)
    assert not report.written
    assert [(p.row, p.column, p.ref) for p in report.errors] == [(2, "marketing_consent", "P1"),
                                                                 (3, "marketing_email", "P2")]
    assert not Patient.objects.exists() and not ConsentEvent.objects.exists()


def test_every_change_is_an_import_event_with_the_files_name_and_a_new_patient_with_the_defaults_has_none(
        tmp_path: Path, clinic: Clinic) -> None:
    import_file(kind="patients", path=write_csv(tmp_path / "export 2026-12.csv", COLUMNS, [
        row("P1", marketing_consent="yes"),
        row("P2", accepts_sms="yes", accepts_email="yes", marketing_consent="no"),  # the defaults
        row("P3", accepts_sms="no"),
    ]))
    assert events("P1") == [("sms", "marketing", True, "import", "file export 2026-12.csv"),
                            ("email", "marketing", True, "import", "file export 2026-12.csv")]
    assert events("P2") == []
    assert events("P3") == [("sms", "service", False, "import", "file export 2026-12.csv")]
    import_file(kind="patients", path=write_csv(tmp_path / "next.csv", COLUMNS, [
        row("P1", marketing_consent="yes", marketing_email="no"),
        row("P2", accepts_email="no", marketing_consent="no"),
        row("P3", accepts_sms="no"),
    ]))
    assert events("P1")[2:] == [("email", "marketing", False, "import", "file next.csv")]
    assert events("P2") == [("email", "service", False, "import", "file next.csv")]
    assert len(events("P3")) == 1
    assert_columns_are_the_ledger()


def test_a_reimport_that_changes_nothing_writes_no_event(tmp_path: Path, clinic: Clinic) -> None:
    rows = [row("P1", marketing_consent="yes"), row("P2", accepts_sms="no", accepts_email="no"),
            row("P3", marketing_sms="yes", marketing_email="no")]
    import_file(kind="patients", path=write_csv(tmp_path / "first.csv", COLUMNS, rows))
    before = list(ConsentEvent.objects.order_by("id").values_list("id", flat=True))
    assert len(before) == 5
    report = import_file(kind="patients", path=write_csv(tmp_path / "again.csv", COLUMNS, rows))
    assert report.written and report.imported == 3 and report.warnings == []
    assert list(ConsentEvent.objects.order_by("id").values_list("id", flat=True)) == before


def test_an_unsubscribe_from_marketing_email_is_not_undone_by_a_reimport_saying_marketing_yes(
        tmp_path: Path, clinic: Clinic) -> None:
    rows = [patient_row("P1", marketing_consent="yes")]
    import_file(kind="patients", path=patients_file(tmp_path, rows, "a.csv"))
    patient = Patient.objects.get(external_id="P1")
    consent_change(patient_id=patient.id, channel="email", purpose="marketing", accepts=False,
                   source="unsubscribe", wording="No more offers by e-mail")
    # The same export again; then the clinic switches marketing off and on again (its value changed, twice).
    import_file(kind="patients", path=patients_file(tmp_path, rows, "b.csv"))
    assert state("P1") == ConsentState(marketing_sms=True, marketing_email=False)
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", marketing_consent="no")], "c.csv"))
    report = import_file(kind="patients", path=patients_file(tmp_path, rows, "d.csv"))
    # SMS marketing follows the clinic; e-mail marketing stays off, and the report says why.
    assert state("P1") == ConsentState(marketing_sms=True, marketing_email=False)
    assert [(w.column, w.reason.split(":")[0]) for w in report.warnings] == [
        ("marketing_consent", "e-mail marketing not applied (stays no)")]
    assert "opted out through an unsubscribe link" in report.warnings[0].reason
    assert events("P1")[-2:] == [("sms", "marketing", False, "import", "file c.csv"),
                                 ("sms", "marketing", True, "import", "file d.csv")]
    assert_columns_are_the_ledger()


def test_a_hard_opt_out_of_a_channel_is_kept_apart_from_its_marketing(tmp_path: Path, clinic: Clinic) -> None:
    # "No e-mail at all" (service) is the patient's; the clinic may still record that they take offers, which the
    # hard opt-out keeps from being sent (ConsentState.allows).
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1")], "a.csv"))
    patient = Patient.objects.get(external_id="P1")
    consent_change(patient_id=patient.id, channel="email", purpose="service", accepts=False, source="unsubscribe")
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", accepts_email="no")], "b.csv"))
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", marketing_consent="yes")], "c.csv"))
    now = state("P1")
    assert (now.accepts_email, now.marketing_email) == (False, True)
    assert not now.allows("email", marketing=True) and now.allows("sms", marketing=True)
    assert_columns_are_the_ledger()


def test_the_columns_are_the_ledgers_fold_after_imports_and_opt_outs(tmp_path: Path, clinic: Clinic) -> None:
    values = ("yes", "no", "")
    rows = [row(f"P{i}", accepts_sms=values[i % 3], accepts_email=values[i // 3 % 3],
                marketing_consent=values[i // 9 % 3], marketing_email=values[(i + 1) % 3]) for i in range(27)]
    import_file(kind="patients", path=write_csv(tmp_path / "a.csv", COLUMNS, rows))
    assert_columns_are_the_ledger()
    for i, p in enumerate(Patient.objects.order_by("external_id")):
        if i % 4 == 0:
            consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="sms-stop")
        if i % 5 == 0:
            consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False,
                           source="unsubscribe")
    flipped = [r | {"accepts_sms": values[(i + 1) % 3], "marketing_consent": values[(i + 2) % 3]}
               for i, r in enumerate(rows)]
    for name, file_rows in (("b.csv", flipped), ("c.csv", rows), ("d.csv", flipped)):
        assert import_file(kind="patients", path=write_csv(tmp_path / name, COLUMNS, file_rows)).written
        assert_columns_are_the_ledger()


def test_the_events_name_the_file_the_way_it_came(tmp_path: Path, clinic: Clinic) -> None:
    # The command line's file is named by its own name, never its directory.
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", accepts_sms="no")], "mine.csv"))
    # Standard input (or any stream) has no name.
    path = patients_file(tmp_path, [patient_row("P2", accepts_sms="no")], "piped.csv")
    with path.open("rb") as stream:
        import_file(kind="patients", path=Path(f"/proc/self/fd/{stream.fileno()}"))
    # An upload: the name it came with (only its last part), or none for a body without one.
    operator = Scope.operator()

    def upload(rows: list[dict[str, str]], name: str | None) -> Callable[[Path], str | None]:
        def save(target: Path) -> str | None:
            patients_file(target.parent, rows, target.name)
            return name
        return save

    data_import(kind="patients", save=upload([patient_row("P3", accepts_sms="no")], "C:\\Exports\\export.csv"),
                scope=operator)
    data_import(kind="patients", save=upload([patient_row("P4", accepts_sms="no")], None), scope=operator)
    # A file stored under a private name (an import job's upload, which errors call by `name`) is never named by
    # it: without the upload's own name it has none.
    private = patients_file(tmp_path, [patient_row("P5", accepts_sms="no")], "patients-5f0c9a1e.csv")
    import_file(kind="patients", path=private, name="patients.csv")
    assert {ref: events(ref)[0][4] for ref in ("P1", "P2", "P3", "P4", "P5")} == {
        "P1": "file mine.csv", "P2": "file (no name)", "P3": "file export.csv", "P4": "file (no name)",
        "P5": "file (no name)"}


def test_the_demos_consents_are_its_ledgers(db: Any) -> None:
    demo_generate(patients=200, seed=3, actor="test")
    demo = Patient.objects.all()
    assert demo.count() == 200
    assert set(ConsentEvent.objects.values_list("source", "wording")) == {("import", DEMO_WORDING)}
    # The defaults have no event: only the opt-outs and the marketing consents are written.
    assert ConsentEvent.objects.count() == (demo.filter(accepts_sms=False).count()
                                            + demo.filter(accepts_email=False).count()
                                            + demo.filter(marketing_sms=True).count()
                                            + demo.filter(marketing_email=True).count())
    assert demo.filter(marketing_sms=True).exists() and demo.filter(accepts_sms=False).exists()
    assert_columns_are_the_ledger()
