"""CSV import of clinics, patients and visits (docs/import.md).

Rows stream through validation and are upserted in batches inside one transaction. A bad row (one that
cannot be a record) rolls the whole file back unless `skip_invalid` is set; every bad row is reported
either way. An unusable phone or e-mail is a warning: the value is kept as written and flagged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from masspost.clinic.contact import address_status, normalize_email, normalize_phone
from masspost.clinic.csvfile import FieldError, RowProblem, open_rows, parse_bool, parse_date
from masspost.clinic.models import Clinic, Patient, PatientStatus, Visit, VisitStatus
from masspost.content.languages import is_country, is_language

BATCH = 2000

CLINIC_COLUMNS = ("code", "name", "country", "time_zone", "default_language")
CLINIC_OPTIONAL = ("phone", "email", "sms_sender")
PATIENT_COLUMNS = ("external_id", "clinic")
PATIENT_OPTIONAL = ("first_name", "last_name", "birth_date", "country", "language", "phone", "email",
                    "accepts_sms", "accepts_email", "marketing_consent", "status")
VISIT_COLUMNS = ("patient", "clinic", "start", "status")

_ALNUM_SENDER = re.compile(r"[A-Za-z0-9 ._-]{1,11}\Z")
_NUMERIC_SENDER = re.compile(r"\+?[0-9]{1,15}\Z")


@dataclass(kw_only=True)
class ImportReport:
    kind: str
    rows: int = 0
    imported: int = 0
    written: bool = False
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)


class _Rollback(Exception):
    pass


def import_file(*, kind: str, path: Path, skip_invalid: bool = False) -> ImportReport:
    """Import one CSV file of `kind` clinics | patients | visits."""
    importers: dict[str, Callable[[Path, ImportReport], None]] = {
        "clinics": _import_clinics, "patients": _import_patients, "visits": _import_visits,
    }
    report = ImportReport(kind=kind)
    try:
        with transaction.atomic():
            importers[kind](path, report)
            report.errors.sort(key=lambda p: p.row)
            if report.errors and not skip_invalid:
                raise _Rollback
            report.written = True
    except _Rollback:
        report.imported = 0
    return report


def _batched(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# --- clinics -------------------------------------------------------------------------------------------------

def _import_clinics(path: Path, report: ImportReport) -> None:
    seen: set[str] = set()
    good: list[Clinic] = []
    with open_rows(path, CLINIC_COLUMNS, CLINIC_OPTIONAL) as csv_file:
        for number, rec in csv_file.rows:
            report.rows += 1
            code = rec["code"]
            try:
                if not code:
                    raise FieldError("code", "missing")
                if code in seen:
                    raise FieldError("code", f"clinic {code!r} appears twice in this file")
                seen.add(code)
                for column in ("name", "country", "time_zone", "default_language"):
                    if not rec[column]:
                        raise FieldError(column, "missing")
                if not is_country(rec["country"].upper()):
                    raise FieldError("country", f"unknown country code {rec['country']!r} (ISO 3166-1 alpha-2)")
                try:
                    ZoneInfo(rec["time_zone"])
                except (ZoneInfoNotFoundError, ValueError):
                    raise FieldError("time_zone", f"unknown time zone {rec['time_zone']!r}") from None
                if not is_language(rec["default_language"].lower()):
                    raise FieldError("default_language",
                                     f"unknown language code {rec['default_language']!r} (ISO 639-1)")
                sender = rec.get("sms_sender", "")
                if sender and not (_ALNUM_SENDER.match(sender) or _NUMERIC_SENDER.match(sender)):
                    raise FieldError("sms_sender", "not a valid SMS sender (up to 11 letters/digits, or a number)")
                email = rec.get("email", "")
                if email:
                    email, problem = normalize_email(email)
                    if problem:
                        raise FieldError("email", problem)
            except FieldError as exc:
                report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason, ref=code))
                continue
            good.append(Clinic(code=code, name=rec["name"], country=rec["country"].upper(),
                               time_zone=rec["time_zone"], default_language=rec["default_language"].lower(),
                               phone=rec.get("phone", ""), email=email, sms_sender=sender))
        report.errors.extend(csv_file.problems)
    # A re-import updates the columns the file has; one it leaves out keeps its value.
    present = [c for c in CLINIC_OPTIONAL if c in csv_file.header]
    Clinic.objects.bulk_create(
        good, update_conflicts=True, unique_fields=["code"],
        update_fields=["name", "country", "time_zone", "default_language", *present],
    )
    report.imported = len(good)


# --- patients ------------------------------------------------------------------------------------------------

def _import_patients(path: Path, report: ImportReport) -> None:
    clinics = {c.code: c for c in Clinic.objects.all()}
    today = dt.date.today()
    seen: set[str] = set()
    with open_rows(path, PATIENT_COLUMNS, PATIENT_OPTIONAL) as csv_file:
        update = _patient_update_fields(csv_file.header)
        for batch in _batched(csv_file.rows):
            # Without a country column a national phone number is read in the stored patient's country.
            stored_country = ({} if "country" in csv_file.header or "phone" not in csv_file.header else dict(
                Patient.objects.filter(external_id__in=[r["external_id"] for _, r in batch])
                .values_list("external_id", "country")))
            good: list[Patient] = []
            for number, rec in batch:
                report.rows += 1
                ref = rec["external_id"]
                try:
                    patient = _patient(rec, clinics, seen, today)
                except FieldError as exc:
                    report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason, ref=ref))
                    continue
                region = patient.country or stored_country.get(ref) or patient.clinic.country
                patient.phone_e164, problem = normalize_phone(patient.phone, region)
                if problem:
                    report.warnings.append(RowProblem(row=number, column="phone", reason=problem, ref=ref))
                patient.email_normalized, problem = normalize_email(patient.email)
                if problem:
                    report.warnings.append(RowProblem(row=number, column="email", reason=problem, ref=ref))
                patient.phone_status = address_status(patient.phone, patient.phone_e164)
                patient.email_status = address_status(patient.email, patient.email_normalized)
                good.append(patient)
            Patient.objects.bulk_create(good, update_conflicts=True, unique_fields=["external_id"],
                                        update_fields=update)
            report.imported += len(good)
        report.errors.extend(csv_file.problems)


def _patient_update_fields(header: tuple[str, ...]) -> list[str]:
    """What a re-import overwrites: the columns the file has (and what is derived from them), nothing else, so
    a file of new phone numbers cannot undo an opt-out or wipe a birth date."""
    fields = ["clinic", *[c for c in PATIENT_OPTIONAL if c in header]]
    if "phone" in header:
        fields += ["phone_e164", "phone_status"]
    if "email" in header:
        fields += ["email_normalized", "email_status"]
    return fields


def _patient(rec: dict[str, str], clinics: dict[str, Clinic], seen: set[str], today: dt.date) -> Patient:
    ref = rec["external_id"]
    if not ref:
        raise FieldError("external_id", "missing")
    if ref in seen:
        raise FieldError("external_id", "appears twice in this file")
    seen.add(ref)
    clinic = clinics.get(rec["clinic"])
    if clinic is None:
        raise FieldError("clinic", f"unknown clinic {rec['clinic']!r}" if rec["clinic"] else "missing")
    birth = parse_date("birth_date", rec.get("birth_date", ""))
    if birth and birth > today:
        raise FieldError("birth_date", "in the future")
    country = rec.get("country", "").upper()
    if country and not is_country(country):
        raise FieldError("country", f"unknown country code {rec['country']!r} (ISO 3166-1 alpha-2)")
    language = rec.get("language", "").lower()
    if language and not is_language(language):
        raise FieldError("language", f"unknown language code {rec['language']!r} (ISO 639-1)")
    status = rec.get("status", "").lower() or PatientStatus.ACTIVE
    if status not in PatientStatus.values:
        raise FieldError("status", f"unknown status {rec['status']!r} (active, archived or deceased)")
    values: dict[str, Any] = {
        "accepts_sms": parse_bool("accepts_sms", rec.get("accepts_sms", ""), True),
        "accepts_email": parse_bool("accepts_email", rec.get("accepts_email", ""), True),
        "marketing_consent": parse_bool("marketing_consent", rec.get("marketing_consent", ""), False),
    }
    return Patient(external_id=ref, clinic=clinic, first_name=rec.get("first_name", ""),
                   last_name=rec.get("last_name", ""), birth_date=birth, country=country, language=language,
                   phone=rec.get("phone", ""), email=rec.get("email", ""), status=status, **values)


# --- visits --------------------------------------------------------------------------------------------------

def _import_visits(path: Path, report: ImportReport) -> None:
    clinics = {c.code: (c, ZoneInfo(c.time_zone)) for c in Clinic.objects.all()}
    seen: set[tuple[int, int, dt.datetime]] = set()
    with open_rows(path, VISIT_COLUMNS) as csv_file:
        for batch in _batched(csv_file.rows):
            refs = {rec["patient"] for _, rec in batch}
            patients = dict(Patient.objects.filter(external_id__in=refs).values_list("external_id", "id"))
            good: list[Visit] = []
            for number, rec in batch:
                report.rows += 1
                try:
                    visit = _visit(rec, clinics, patients)
                    key = (visit.patient_id, visit.clinic_id, visit.start)
                    if key in seen:
                        raise FieldError("start", "the same visit (patient, clinic, start) appears twice")
                    seen.add(key)
                except FieldError as exc:
                    report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason,
                                                    ref=rec["patient"]))
                    continue
                good.append(visit)
            Visit.objects.bulk_create(good, update_conflicts=True, unique_fields=["patient", "clinic", "start"],
                                      update_fields=["status", "local_date"])
            report.imported += len(good)
        report.errors.extend(csv_file.problems)


def _visit(rec: dict[str, str], clinics: dict[str, tuple[Clinic, ZoneInfo]], patients: dict[str, int]) -> Visit:
    if not rec["patient"]:
        raise FieldError("patient", "missing")
    patient_id = patients.get(rec["patient"])
    if patient_id is None:
        raise FieldError("patient", "unknown patient (import the patients first)")
    found = clinics.get(rec["clinic"])
    if found is None:
        raise FieldError("clinic", f"unknown clinic {rec['clinic']!r}" if rec["clinic"] else "missing")
    clinic, zone = found
    if not rec["start"]:
        raise FieldError("start", "missing")
    try:
        start = dt.datetime.fromisoformat(rec["start"])
    except ValueError:
        raise FieldError("start", "not a date and time (ISO 8601, e.g. 2025-03-14T09:30)") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    status = rec["status"].lower()
    if status not in VisitStatus.values:
        raise FieldError("status", f"unknown status {rec['status']!r} (attended, cancelled or no_show)"
                         if status else "missing")
    return Visit(patient_id=patient_id, clinic=clinic, start=start.astimezone(dt.UTC),
                 local_date=start.astimezone(zone).date(), status=status)
