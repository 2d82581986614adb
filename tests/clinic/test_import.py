"""CSV import of clinics, patients and visits (docs/import.md), through import_file and `masspost import`."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Exclusion
from masspost.clinic import importer
from masspost.clinic.importer import import_file
from masspost.clinic.models import AddressStatus, Clinic, Patient, Visit
from masspost.clinic.scope import Scope
from masspost.errors import MasspostError
from tests.clinic.importing import (
    CLINIC_COLUMNS,
    PATIENT_COLUMNS,
    UTC,
    assert_nothing_written,
    db_counts,
    patient_row,
    patients_file,
    problems,
    visits_file,
    write_csv,
)

pytestmark = pytest.mark.django_db


def sms_and_email_spec() -> CampaignSpec:
    return CampaignSpec.from_dict({
        "name": "Check", "purpose": "service", "channel": "both", "audience": {"reference_date": "2026-11-25"},
        "content": {lang: {"sms": f"{lang} {{first_name}}", "email_subject": "S", "email_body": "B"}
                    for lang in ("et", "ru", "en", "fi")},
    })


def excluded_by_ref() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}

    def collect(e: Exclusion) -> None:
        out[(e.patient_ref, e.channel)] = e.reason

    campaign_preview(spec=sms_and_email_spec(), scope=Scope.operator(), on_excluded=collect)
    return out


# --- clinics -------------------------------------------------------------------------------------------------

def test_clinics_import_with_all_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "clinics.csv", CLINIC_COLUMNS, [
        {"code": "TLN", "name": "Hammas Tallinn", "country": "ee", "time_zone": "Europe/Tallinn",
         "default_language": "ET", "phone": "+372 600 1000", "email": "tallinn@hammas.example",
         "sms_sender": "HammasTLN"},
        {"code": "HEL", "name": "Hammas Helsinki", "country": "FI", "time_zone": "Europe/Helsinki",
         "default_language": "fi", "phone": "", "email": "", "sms_sender": "+358401234567"},
    ])
    report = import_file(kind="clinics", path=path)
    assert (report.rows, report.imported, report.written, report.errors) == (2, 2, True, [])
    tln = Clinic.objects.get(code="TLN")
    assert (tln.name, tln.country, tln.time_zone, tln.default_language) == (
        "Hammas Tallinn", "EE", "Europe/Tallinn", "et")
    assert (tln.phone, tln.email, tln.sms_sender) == ("+372 600 1000", "tallinn@hammas.example", "HammasTLN")
    assert Clinic.objects.get(code="HEL").sms_sender == "+358401234567"


def test_clinics_optional_columns_may_be_left_out_and_reimport_updates_by_code(tmp_path: Path) -> None:
    (tmp_path / "c1.csv").write_text("code,name,country,time_zone,default_language\n"
                                     "TLN,Hammas Tallinn,EE,Europe/Tallinn,et\n", encoding="utf-8")
    (tmp_path / "c2.csv").write_text("code,name,country,time_zone,default_language,phone\n"
                                     "TLN,Hammas Tallinn Kesklinn,EE,Europe/Tallinn,ru,+372 600 1001\n",
                                     encoding="utf-8")
    assert import_file(kind="clinics", path=tmp_path / "c1.csv").written
    first_id = Clinic.objects.get(code="TLN").id
    assert import_file(kind="clinics", path=tmp_path / "c2.csv").written
    clinic = Clinic.objects.get()
    assert (clinic.id, clinic.name, clinic.default_language, clinic.phone) == (
        first_id, "Hammas Tallinn Kesklinn", "ru", "+372 600 1001")


def test_clinic_bad_rows_write_nothing_and_are_all_reported(tmp_path: Path) -> None:
    base = {"code": "", "name": "X", "country": "EE", "time_zone": "Europe/Tallinn", "default_language": "et",
            "phone": "", "email": "", "sms_sender": ""}
    path = write_csv(tmp_path / "clinics.csv", CLINIC_COLUMNS, [
        base | {"code": "OK1"},
        base | {"code": ""},                                       # row 3: missing code
        base | {"code": "OK1"},                                    # row 4: duplicate code
        base | {"code": "B1", "time_zone": "Europe/Atlantis"},     # row 5
        base | {"code": "B2", "default_language": "xx"},           # row 6
        base | {"code": "B3", "country": "XX"},                    # row 7
        base | {"code": "B4", "name": ""},                         # row 8
        base | {"code": "B5", "sms_sender": "A sender that is far too long"},  # row 9
        base | {"code": "OK2"},
    ])
    report = import_file(kind="clinics", path=path)
    assert problems(report.errors) == [(3, "code"), (4, "code"), (5, "time_zone"), (6, "default_language"),
                                       (7, "country"), (8, "name"), (9, "sms_sender")]
    assert_nothing_written(report, (0, 0, 0))
    report = import_file(kind="clinics", path=path, skip_invalid=True)
    assert report.written and report.imported == 2 and len(report.errors) == 7
    assert sorted(Clinic.objects.values_list("code", flat=True)) == ["OK1", "OK2"]


# --- patients: the good path ---------------------------------------------------------------------------------

def test_patients_import_every_column(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [
        patient_row("P1", first_name="Mari", last_name="Maasikas", birth_date="1980-05-17", country="ee",
                    language="ET", phone="5123 4567", email="Mari@Example.COM", accepts_sms="false",
                    accepts_email="1", marketing_consent="yes", status="archived"),
        patient_row("P2", birth_date="", country="", language="", phone="", email="", accepts_sms="",
                    accepts_email="", marketing_consent="", status=""),
        patient_row("P3", accepts_sms="0", accepts_email="no", marketing_consent="TRUE", status="Deceased"),
    ])
    report = import_file(kind="patients", path=path)
    assert (report.rows, report.imported, report.written, report.errors, report.warnings) == (3, 3, True, [], [])
    p1 = Patient.objects.get(external_id="P1")
    assert p1.clinic == clinic
    assert (p1.first_name, p1.last_name, p1.birth_date, p1.country, p1.language) == (
        "Mari", "Maasikas", dt.date(1980, 5, 17), "EE", "et")
    assert (p1.phone, p1.phone_e164, p1.email, p1.email_normalized) == (
        "5123 4567", "+37251234567", "Mari@Example.COM", "Mari@example.com")
    assert (p1.accepts_sms, p1.accepts_email, p1.marketing_sms, p1.marketing_email, p1.status) == (
        False, True, True, True, "archived")
    # Empty values take the documented defaults.
    p2 = Patient.objects.get(external_id="P2")
    assert (p2.birth_date, p2.country, p2.language, p2.phone, p2.phone_e164, p2.email) == (None, "", "", "", "", "")
    assert (p2.accepts_sms, p2.accepts_email, p2.marketing_sms, p2.marketing_email, p2.status) == (
        True, True, False, False, "active")
    p3 = Patient.objects.get(external_id="P3")
    assert (p3.accepts_sms, p3.accepts_email, p3.marketing_sms, p3.marketing_email, p3.status) == (
        False, False, True, True, "deceased")


def test_patients_optional_columns_may_be_left_out(tmp_path: Path, clinic: Clinic) -> None:
    path = tmp_path / "patients.csv"
    path.write_text("\ufeffExternal_ID, Clinic ,phone\nP1,TLN,51234567\n\n  P2 , TLN ,\n", encoding="utf-8")
    report = import_file(kind="patients", path=path)
    assert (report.rows, report.imported, report.errors) == (2, 2, [])
    assert Patient.objects.get(external_id="P1").phone_e164 == "+37251234567"
    assert Patient.objects.get(external_id="P2").language == ""


def test_empty_language_means_the_clinic_default_in_the_preview(tmp_path: Path, clinic: Clinic) -> None:
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1", language=""),
                                                                patient_row("P2", language="ru")]))
    preview = campaign_preview(spec=sms_and_email_spec(), scope=Scope.operator()).to_dict()
    recipients = {lang: n for lang, n in preview["recipients"].items() if any(n.values())}
    assert recipients == {"et": {"sms": 1, "email": 1}, "ru": {"sms": 1, "email": 1}}


@pytest.mark.parametrize(("clinic_code", "country", "phone", "expected"), [
    ("HEL", "FI", "+358 40 1234567", "+358401234567"),
    ("HEL", "FI", "040 1234567", "+358401234567"),
    ("TLN", "FI", "040 1234567", "+358401234567"),    # the patient's country, not the clinic's
    ("HEL", "", "040 1234567", "+358401234567"),      # no country: the clinic's
    ("TLN", "", "5123 4567", "+37251234567"),
    ("TLN", "EE", "+358 40 1234567", "+358401234567"),  # international numbers ignore the region
    ("HEL", "EE", "+372 5123 4567", "+37251234567"),
])
def test_national_phone_numbers_use_the_patients_country_or_else_the_clinics(
        tmp_path: Path, clinic: Clinic, helsinki: Clinic, clinic_code: str, country: str, phone: str,
        expected: str) -> None:
    report = import_file(kind="patients", path=patients_file(
        tmp_path, [patient_row("P1", clinic=clinic_code, country=country, phone=phone)]))
    assert report.warnings == []
    assert Patient.objects.get(external_id="P1").phone_e164 == expected


def test_reimport_updates_by_external_id(tmp_path: Path, clinic: Clinic, other_clinic: Clinic) -> None:
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1"), patient_row("P2")], "a.csv"))
    ids = dict(Patient.objects.values_list("external_id", "id"))
    report = import_file(kind="patients", path=patients_file(tmp_path, [
        patient_row("P1", clinic="TRT", first_name="Liis", phone="5999 8888", email="", status="archived",
                    accepts_sms="false"),
        patient_row("P3"),
    ], "b.csv"))
    assert report.written and report.imported == 2
    assert Patient.objects.count() == 3
    p1 = Patient.objects.get(external_id="P1")
    assert p1.id == ids["P1"]
    assert (p1.clinic, p1.first_name, p1.phone_e164, p1.email, p1.email_normalized, p1.status, p1.accepts_sms) == (
        other_clinic, "Liis", "+37259998888", "", "", "archived", False)
    assert (p1.phone_status, p1.email_status) == (AddressStatus.VALID, AddressStatus.NONE)
    assert Patient.objects.get(external_id="P2").first_name == "Mari"  # not in the file: left as it was


# --- patients: warnings (kept, flagged, excluded as invalid_address) -----------------------------------------

def test_unusable_phone_or_email_is_a_warning_and_shows_as_invalid_address(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [
        patient_row("P1", phone="12345"),                      # row 2: not a number
        patient_row("P2", phone="6123456"),                    # row 3: a Tallinn landline: takes no SMS
        patient_row("P3", email="mari@"),                      # row 4
        patient_row("P4", phone="040 1234567", country="EE"),  # row 5: Finnish national form, Estonian patient
        patient_row("P5"),                                     # row 6: fine
        patient_row("P6", phone="", email=""),                 # row 7: no address at all: not a warning
    ])
    report = import_file(kind="patients", path=path)
    assert report.written and report.imported == 6 and report.errors == []
    assert problems(report.warnings) == [(2, "phone"), (3, "phone"), (4, "email"), (5, "phone")]
    assert [w.ref for w in report.warnings] == ["P1", "P2", "P3", "P4"]
    p1, p2, p3 = (Patient.objects.get(external_id=ref) for ref in ("P1", "P2", "P3"))
    assert (p1.phone, p1.phone_e164) == ("12345", "")      # kept as written, flagged by the empty usable form
    assert (p2.phone, p2.phone_e164) == ("6123456", "")
    assert (p3.email, p3.email_normalized) == ("mari@", "")
    assert [(p.phone_status, p.email_status) for p in (p1, p2, p3)] == [
        (AddressStatus.INVALID, AddressStatus.VALID), (AddressStatus.INVALID, AddressStatus.VALID),
        (AddressStatus.VALID, AddressStatus.INVALID)]

    excluded = excluded_by_ref()
    assert excluded == {("P1", "sms"): "invalid_address", ("P2", "sms"): "invalid_address",
                        ("P3", "email"): "invalid_address", ("P4", "sms"): "invalid_address",
                        ("P6", "sms"): "no_address", ("P6", "email"): "no_address"}


# --- patients: bad rows --------------------------------------------------------------------------------------

BAD_PATIENT_ROWS = [
    pytest.param({"external_id": ""}, "external_id", id="missing-external-id"),
    pytest.param({"clinic": "XXX"}, "clinic", id="unknown-clinic"),
    pytest.param({"clinic": ""}, "clinic", id="missing-clinic"),
    pytest.param({"birth_date": "2023-02-30"}, "birth_date", id="impossible-date"),
    pytest.param({"birth_date": "17.05.1980"}, "birth_date", id="not-iso-date"),
    pytest.param({"birth_date": "1980-5-17"}, "birth_date", id="short-date"),
    pytest.param({"birth_date": "2020-W01-1"}, "birth_date", id="iso-week-date-is-not-YYYY-MM-DD"),
    pytest.param({"birth_date": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "birth_date",
                 id="future-birth-date"),
    pytest.param({"status": "inactive"}, "status", id="unknown-status"),
    pytest.param({"language": "xx"}, "language", id="unknown-language"),
    pytest.param({"language": "est"}, "language", id="three-letter-language"),
    pytest.param({"country": "XX"}, "country", id="unknown-country"),
    pytest.param({"accepts_sms": "maybe"}, "accepts_sms", id="bad-boolean-sms"),
    pytest.param({"accepts_email": "2"}, "accepts_email", id="bad-boolean-email"),
    pytest.param({"marketing_consent": "ja"}, "marketing_consent", id="bad-boolean-consent"),
]


@pytest.mark.parametrize(("change", "column"), BAD_PATIENT_ROWS)
def test_a_bad_patient_row_writes_nothing(tmp_path: Path, clinic: Clinic, make_patient: Any,
                                          change: dict[str, str], column: str) -> None:
    existing = make_patient(external_id="P0", first_name="Old")
    before = db_counts()
    path = patients_file(tmp_path, [patient_row("P0", first_name="New"), patient_row("P1"),
                                    patient_row("P2") | change, patient_row("P3")])
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(4, column)]
    assert report.errors[0].reason
    assert_nothing_written(report, before)
    existing.refresh_from_db()
    assert existing.first_name == "Old"  # the good rows were not applied either


def test_duplicate_external_id_in_one_file_is_a_bad_row(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1"), patient_row("P2"), patient_row("P1", first_name="Liis")])
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(4, "external_id")]
    assert report.errors[0].ref == "P1"
    assert_nothing_written(report, (1, 0, 0))


def test_every_bad_row_is_reported_even_across_batches(tmp_path: Path, clinic: Clinic, make_patient: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)  # earlier batches are written before the bad rows are seen
    make_patient(external_id="P0", first_name="Old")
    before = db_counts()
    rows = [patient_row("P0", first_name="New"), patient_row("P1"), patient_row("P2"),   # rows 2-4
            patient_row("P3", clinic="NOPE"),                                           # row 5
            patient_row("P4"), patient_row("P5", birth_date="2023-02-30"),              # rows 6-7
            patient_row("P1"),                                                          # row 8: duplicate
            patient_row("P6", language="xx"), patient_row("P7", status="gone"),         # rows 9-10
            patient_row("P8", accepts_email="maybe"), patient_row("")]                  # rows 11-12
    path = patients_file(tmp_path, rows)
    report = import_file(kind="patients", path=path)
    assert problems(report.errors) == [(5, "clinic"), (7, "birth_date"), (8, "external_id"), (9, "language"),
                                       (10, "status"), (11, "accepts_email"), (12, "external_id")]
    assert report.rows == 11
    assert_nothing_written(report, before)
    assert Patient.objects.get(external_id="P0").first_name == "Old"

    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert report.written and report.imported == 4 and len(report.errors) == 7
    assert set(Patient.objects.values_list("external_id", flat=True)) == {"P0", "P1", "P2", "P4"}
    assert Patient.objects.get(external_id="P0").first_name == "New"


def test_row_with_more_fields_than_the_header_is_a_bad_row(tmp_path: Path, clinic: Clinic) -> None:
    # An unquoted comma in a name shifts the row: that row cannot be a record, the others can.
    path = tmp_path / "patients.csv"
    path.write_text("external_id,clinic,first_name,last_name\n"
                    "P1,TLN,Mari,Maasikas\n"
                    "P2,TLN,Mari, Liis,Tamm\n"
                    "P3,TLN,Jaan,Tamm\n", encoding="utf-8")
    report = import_file(kind="patients", path=path, skip_invalid=True)
    assert problems(report.errors) == [(3, report.errors[0].column)]
    assert set(Patient.objects.values_list("external_id", flat=True)) == {"P1", "P3"}


def test_error_and_warning_messages_never_echo_patient_data(tmp_path: Path, clinic: Clinic) -> None:
    secrets = {"first_name": "Salajane", "last_name": "Privaatsus", "phone": "+372 5999 8877",
               "email": "salajane.privaatsus@example.com", "birth_date": "1975-02-30"}
    rows = [
        patient_row("P1", **secrets),                                             # bad birth date
        patient_row("P2", **(secrets | {"birth_date": "1975-02-28", "clinic": "NOPE"})),
        patient_row("P3", **(secrets | {"birth_date": "1975-02-28", "language": "zz"})),
        patient_row("P4", **(secrets | {"birth_date": "1975-02-28", "accepts_sms": "Salajane"})),
        patient_row("P5", **(secrets | {"birth_date": "1975-02-28", "phone": "5999 88",
                                        "email": "salajane.privaatsus@"})),      # warnings only
        patient_row("P5", **(secrets | {"birth_date": "1975-02-28"})),         # duplicate
    ]
    path = patients_file(tmp_path, rows)
    report = import_file(kind="patients", path=path)
    assert len(report.errors) == 5 and len(report.warnings) == 2
    err, out = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import", "patients", str(path), stdout=out, stderr=err)
    json_out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "patients", str(path), json=True, stdout=json_out, stderr=io.StringIO())
    texts = [str(p) for p in report.errors + report.warnings] + [err.getvalue(), out.getvalue(), str(raised.value),
                                                                 json_out.getvalue()]
    values = list(secrets.values()) + ["5999 88", "599988", "59998877", "salajane.privaatsus@"]
    for text in texts:
        for value in values:
            assert value.lower() not in text.lower(), (value, text)


# --- header and file problems --------------------------------------------------------------------------------

HEADER_PROBLEMS = [
    pytest.param(b"external_id,first_name\nP1,Mari\n", "missing column", "clinic", id="missing-column"),
    pytest.param(b"external_id,clinic,nickname\nP1,TLN,Mari\n", "unknown column", "nickname", id="unknown-column"),
    pytest.param(b"", "empty", "header", id="empty-file"),
    pytest.param("external_id,clinic,last_name\nP1,TLN,M\u00e4gi\n".encode("latin-1"), "UTF-8", "", id="latin-1"),
    pytest.param(b"\xff\xfee\x00x\x00", "UTF-8", "", id="utf-16"),
]


@pytest.mark.parametrize(("content", "fragment", "names"), HEADER_PROBLEMS)
def test_header_problems_are_one_clear_error_and_write_nothing(tmp_path: Path, clinic: Clinic, content: bytes,
                                                               fragment: str, names: str) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(content)
    before = db_counts()
    with pytest.raises(MasspostError) as raised:
        import_file(kind="patients", path=path)
    message = str(raised.value)
    assert fragment in message and names in message and "\n" not in message
    assert db_counts() == before
    with pytest.raises(CommandError) as raised_cli:
        call_command("import", "patients", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(raised_cli.value) == message
    assert db_counts() == before


def test_non_utf8_after_the_first_block_writes_nothing(tmp_path: Path, clinic: Clinic,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 10)
    lines = [",".join(PATIENT_COLUMNS)] + [",".join(patient_row(f"P{i}").values()) for i in range(2000)]
    data = ("\n".join(lines) + "\n").encode() + "P9999,TLN,J\u00fcri,Tamm\n".encode("latin-1")
    path = tmp_path / "patients.csv"
    path.write_bytes(data)
    with pytest.raises(MasspostError, match="UTF-8"):
        import_file(kind="patients", path=path)
    assert Patient.objects.count() == 0


def test_missing_file_is_one_clear_error(tmp_path: Path, clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="cannot read") as raised:
        call_command("import", "patients", str(tmp_path / "nope.csv"), stdout=io.StringIO(), stderr=io.StringIO())
    assert "\n" not in str(raised.value)


# --- visits --------------------------------------------------------------------------------------------------

def test_visits_import(tmp_path: Path, two_patients: None) -> None:
    path = visits_file(tmp_path, [
        ("P1", "TLN", "2025-03-14T09:30", "attended"),
        ("P1", "TRT", "2025-03-15T09:30", "CANCELLED"),  # a visit at another clinic than the home one
        ("P2", "TRT", "2025-03-14 10:00:00", "no_show"),
    ])
    report = import_file(kind="visits", path=path)
    assert (report.rows, report.imported, report.written, report.errors) == (3, 3, True, [])
    statuses = sorted(Visit.objects.values_list("patient__external_id", "clinic__code", "status"))
    assert statuses == [("P1", "TLN", "attended"), ("P1", "TRT", "cancelled"), ("P2", "TRT", "no_show")]


@pytest.mark.parametrize(("zone", "start", "utc", "local_date"), [
    ("Europe/Tallinn", "2025-01-15T23:30", dt.datetime(2025, 1, 15, 21, 30, tzinfo=UTC), dt.date(2025, 1, 15)),
    ("Europe/Tallinn", "2025-01-16T00:30", dt.datetime(2025, 1, 15, 22, 30, tzinfo=UTC), dt.date(2025, 1, 16)),
    ("Europe/Tallinn", "2025-07-15T00:30", dt.datetime(2025, 7, 14, 21, 30, tzinfo=UTC), dt.date(2025, 7, 15)),
    ("Europe/Tallinn", "2025-01-15T23:30+00:00", dt.datetime(2025, 1, 15, 23, 30, tzinfo=UTC),
     dt.date(2025, 1, 16)),
    ("Europe/Tallinn", "2025-01-15T23:30Z", dt.datetime(2025, 1, 15, 23, 30, tzinfo=UTC), dt.date(2025, 1, 16)),
    ("Europe/Tallinn", "2025-01-16T01:00+05:00", dt.datetime(2025, 1, 15, 20, 0, tzinfo=UTC),
     dt.date(2025, 1, 15)),
    ("America/New_York", "2025-01-15T23:30", dt.datetime(2025, 1, 16, 4, 30, tzinfo=UTC), dt.date(2025, 1, 15)),
])
def test_visit_start_is_clinic_local_unless_it_has_an_offset(tmp_path: Path, clinic: Clinic, make_patient: Any,
                                                             zone: str, start: str, utc: dt.datetime,
                                                             local_date: dt.date) -> None:
    clinic.time_zone = zone
    clinic.save()
    make_patient(external_id="P1")
    report = import_file(kind="visits", path=visits_file(tmp_path, [("P1", "TLN", start, "attended")]))
    assert report.errors == []
    visit = Visit.objects.get()
    assert visit.start == utc
    assert visit.local_date == local_date


def test_visit_reimport_updates_by_patient_clinic_and_start(tmp_path: Path, two_patients: None) -> None:
    import_file(kind="visits", path=visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended"),
                                                           ("P2", "TRT", "2025-01-15T10:00", "attended")], "a.csv"))
    report = import_file(kind="visits", path=visits_file(tmp_path, [
        ("P1", "TLN", "2025-01-15T08:00:00+00:00", "no_show"),   # the same moment, written in UTC
        ("P1", "TLN", "2025-01-16T10:00", "attended"),
    ], "b.csv"))
    assert report.written and report.imported == 2
    assert sorted(Visit.objects.values_list("patient__external_id", "local_date", "status")) == [
        ("P1", dt.date(2025, 1, 15), "no_show"), ("P1", dt.date(2025, 1, 16), "attended"),
        ("P2", dt.date(2025, 1, 15), "attended")]


BAD_VISIT_ROWS = [
    pytest.param(("P9", "TLN", "2025-01-15T10:00", "attended"), "patient", id="unknown-patient"),
    pytest.param(("", "TLN", "2025-01-15T10:00", "attended"), "patient", id="missing-patient"),
    pytest.param(("P1", "XXX", "2025-01-15T10:00", "attended"), "clinic", id="unknown-clinic"),
    pytest.param(("P1", "TLN", "2023-02-30T10:00", "attended"), "start", id="impossible-date"),
    pytest.param(("P1", "TLN", "15.01.2025 10:00", "attended"), "start", id="not-iso"),
    pytest.param(("P1", "TLN", "", "attended"), "start", id="missing-start"),
    pytest.param(("P1", "TLN", "2025-01-15T10:00", "done"), "status", id="unknown-status"),
    pytest.param(("P1", "TLN", "2025-01-15T10:00", ""), "status", id="missing-status"),
]


@pytest.mark.parametrize(("row", "column"), BAD_VISIT_ROWS)
def test_a_bad_visit_row_writes_nothing(tmp_path: Path, two_patients: None, row: tuple[str, str, str, str],
                                        column: str) -> None:
    before = db_counts()
    path = visits_file(tmp_path, [("P1", "TLN", "2025-01-10T10:00", "attended"), row,
                                  ("P2", "TRT", "2025-01-10T10:00", "attended")])
    report = import_file(kind="visits", path=path)
    assert problems(report.errors) == [(3, column)]
    assert_nothing_written(report, before)
    report = import_file(kind="visits", path=path, skip_invalid=True)
    assert report.written and report.imported == 2 and problems(report.errors) == [(3, column)]
    assert Visit.objects.count() == 2


def test_the_same_visit_twice_in_one_file_is_a_bad_row(tmp_path: Path, two_patients: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)
    path = visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended"),
                                  ("P2", "TRT", "2025-01-15T10:00", "attended"),
                                  ("P1", "TLN", "2025-01-15T10:00+02:00", "cancelled")])
    report = import_file(kind="visits", path=path)
    assert problems(report.errors) == [(4, "start")]
    assert_nothing_written(report, (2, 2, 0))


# --- through `masspost import` -------------------------------------------------------------------------------

def test_import_command_reports_and_refuses_bad_rows(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1", phone="12345"), patient_row("P2", clinic="NOPE"),
                                    patient_row("P3", birth_date="2023-02-30")])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import", "patients", str(path), stdout=out, stderr=err)
    assert "2 bad rows in" in str(raised.value) and "nothing was imported" in str(raised.value)
    lines = err.getvalue().splitlines()
    assert lines == ["warning: row 2 (P1), column phone: not a valid phone number for region EE",
                     "error: row 3 (P2), column clinic: unknown clinic 'NOPE'",
                     "error: row 4 (P3), column birth_date: not a date (expected YYYY-MM-DD, a real calendar day)"]
    assert Patient.objects.count() == 0

    out, err = io.StringIO(), io.StringIO()
    call_command("import", "patients", str(path), skip_invalid=True, stdout=out, stderr=err)
    assert out.getvalue().strip() == "imported 1 of 3 patients rows, 2 bad rows skipped, 1 warning"
    assert len(err.getvalue().splitlines()) == 3
    assert list(Patient.objects.values_list("external_id", flat=True)) == ["P1"]


def test_import_command_json_report(tmp_path: Path, clinic: Clinic) -> None:
    path = patients_file(tmp_path, [patient_row("P1", email="mari@"), patient_row("P2", status="x")])
    out = io.StringIO()
    call_command("import", "patients", str(path), "--skip-invalid", "--json", stdout=out, stderr=io.StringIO())
    data = json.loads(out.getvalue())
    assert data == {
        "kind": "patients", "rows": 2, "imported": 1, "written": True,
        "errors": [{"row": 3, "column": "status", "reason": "unknown status 'x' (active, archived or deceased)",
                    "ref": "P2"}],
        "warnings": [{"row": 2, "column": "email", "reason": "not a valid e-mail address", "ref": "P1"}],
    }


def test_import_all_three_files_through_the_command(tmp_path: Path) -> None:
    write_csv(tmp_path / "clinics.csv", CLINIC_COLUMNS, [
        {"code": "TLN", "name": "Hammas Tallinn", "country": "EE", "time_zone": "Europe/Tallinn",
         "default_language": "et", "phone": "+372 600 1000", "email": "", "sms_sender": "HammasTLN"}])
    patients_file(tmp_path, [patient_row("P1"), patient_row("P2")])
    visits_file(tmp_path, [("P1", "TLN", "2025-01-15T10:00", "attended")])
    for kind in ("clinics", "patients", "visits"):
        out = io.StringIO()
        call_command("import", kind, str(tmp_path / f"{kind}.csv"), stdout=out, stderr=io.StringIO())
        assert out.getvalue().startswith("imported ")
    assert db_counts() == (1, 2, 1)


def test_ten_thousand_patients_import_across_batches(tmp_path: Path, clinic: Clinic) -> None:
    # Speed is measured in benchmarks/bench_core.py (import); here: several full batches land whole.
    rows = [patient_row(f"P{i:06d}", phone=f"5{i:07d}", email=f"p{i}@example.com") for i in range(10_000)]
    report = import_file(kind="patients", path=patients_file(tmp_path, rows))
    assert report.imported == 10_000 and Patient.objects.count() == 10_000
    assert Patient.objects.filter(phone_status=1, email_status=1).count() == 10_000


def test_reimport_leaves_columns_the_file_does_not_have_unchanged(tmp_path: Path, clinic: Clinic) -> None:
    # A re-import with a narrower file (say, new phone numbers) must not undo an opt-out, wipe names or
    # birth dates: a column the file does not have is not "empty" for the patients already there.
    import_file(kind="patients", path=patients_file(tmp_path, [
        patient_row("P1", accepts_sms="false", accepts_email="false", marketing_consent="true", language="ru")]))
    (tmp_path / "phones.csv").write_text("external_id,clinic,phone\nP1,TLN,5999 8888\n", encoding="utf-8")
    report = import_file(kind="patients", path=tmp_path / "phones.csv")
    assert report.written
    p1 = Patient.objects.get(external_id="P1")
    assert p1.phone_e164 == "+37259998888"
    assert (p1.first_name, p1.last_name, p1.birth_date, p1.language, p1.email) == (
        "Mari", "Maasikas", dt.date(1980, 5, 17), "ru", "mari@example.com")
    assert (p1.accepts_sms, p1.accepts_email, p1.marketing_sms, p1.marketing_email) == (False, False, True, True)
