"""CSV import of clinics, patients and visits (docs/import.md).

Two passes (docs/import.md, "Scale"). The check reads the whole file, validates and normalises every row and
spools the good ones to a private temporary file, reading the database but holding no lock and no transaction.
A bad row (one that cannot be a record) ends the import there, nothing written, unless `skip_invalid` is set;
every bad row is reported either way. Only then does the write take the write lock: one transaction that upserts
the spooled rows in batches and applies the consent rule, still all or nothing. An unusable phone or e-mail is a
warning: the value is kept as written and flagged.

An import runs in a Scope (docs/import.md, "Scoped imports"): the operator's reaches every clinic; a clinic
user's (the REST API) knows only their clinics, and a row reaching beyond them is a bad row like any other.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, models, transaction
from django.db.models import QuerySet

from masspost.bulk import statistics_refresh
from masspost.clinic.contact import address_status, normalize_email, normalize_phone
from masspost.clinic.csvfile import CsvFile, FieldError, RowProblem, open_rows, parse_bool, parse_date
from masspost.clinic.models import Clinic, Patient, PatientStatus, Visit, VisitStatus
from masspost.clinic.scope import Role, Scope
from masspost.clinic.services import (
    CONSENT_COLUMNS,
    ConsentKept,
    consent_from_import,
    consent_record,
    import_wording,
    patients_stored,
)
from masspost.content.languages import is_country, is_language
from masspost.schedule import parse_window

BATCH = 2000
VISIT_YEARS = (1900, 2100)  # a visit outside them is a typo or a placeholder (0001-01-01), not a visit

CLINIC_COLUMNS = ("code", "name", "country", "time_zone", "default_language")
# A clinic's sending rules (docs/import.md, "Clinics"): a column left out keeps each clinic's value (a new clinic:
# masspost's default); an empty cell is the default too, or no threshold for the approval columns.
CLINIC_RULES = ("marketing_window", "service_window", "holidays", "approval_over", "approval_cost_over",
                "test_before_marketing", "recently_messaged_days")
CLINIC_OPTIONAL = ("phone", "email", "sms_sender", *CLINIC_RULES)
PATIENT_COLUMNS = ("external_id", "clinic")
PATIENT_OPTIONAL = ("first_name", "last_name", "birth_date", "country", "language", "phone", "email",
                    "accepts_sms", "accepts_email", "marketing_consent", "marketing_sms", "marketing_email", "status",
                    "household_contact")
# patients.csv's consent columns (docs/import.md, "Consent"), each with the Patient fields it gives: the channels
# as a whole (purpose "service"), and marketing on both channels or on one. A channel's own marketing column wins
# over marketing_consent in a row where its cell is not empty.
CONSENT_FILE_COLUMNS = {"accepts_sms": ("accepts_sms",), "accepts_email": ("accepts_email",),
                        "marketing_consent": ("marketing_sms", "marketing_email"),
                        "marketing_sms": ("marketing_sms",), "marketing_email": ("marketing_email",)}
RECENTLY_MESSAGED_MAX = 365
APPROVAL_OVER_MAX = 2_147_483_647  # the column's largest value
COST_MAX = Decimal("99999999.99")  # the column's (10 digits, 2 after the point)
VISIT_COLUMNS = ("patient", "clinic", "start", "status")

# The role each kind of file needs: adding or changing a clinic is administration, patients and visits are the
# data a sender works with.
ROLES = {"clinics": Role.ADMIN, "patients": Role.SENDER, "visits": Role.SENDER}

# A row whose external_id is a patient of a clinic outside the scope: external ids are unique across all clinics,
# so such an id cannot be a new patient of the importer's clinics either.
_FOREIGN = "belongs to a patient of a clinic outside your reach"

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


class _Spool:
    """The checked rows, batch by batch, in an anonymous temporary file (private, gone when closed): what the
    write pass writes, without reading, parsing or checking the CSV file again."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.header: tuple[str, ...] = ()
        self.wording = ""  # the consent events' (_Source.wording)

    def add(self, batch: list[Any]) -> None:
        if batch:
            pickle.dump(batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def batches(self) -> Iterator[list[Any]]:
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # noqa: S301 — our own file, written above
            except EOFError:
                return


@dataclass(frozen=True, kw_only=True, slots=True)
class _Source:
    path: Path
    encoding: str
    progress: Callable[[int], None]
    name: str  # what errors call the file; "": its path
    wording: str  # what the consent events the file makes say they came with ("file patients.csv")

    def open(self, required: tuple[str, ...], optional: tuple[str, ...], *, ref: str,
             limits: dict[str, int]) -> CsvFile:
        return open_rows(self.path, required, optional, ref=ref, limits=limits, encoding=self.encoding,
                         name=self.name)

    def batches(self, rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
        """The rows in batches of BATCH; progress is told of each batch once it has been handled."""
        batch: list[tuple[int, dict[str, str]]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                yield batch
                self.progress(len(batch))
                batch = []
        if batch:
            yield batch
            self.progress(len(batch))


def import_file(*, kind: str, path: Path, skip_invalid: bool = False, encoding: str = "utf-8",
                progress: Callable[[int], None] | None = None, scope: Scope | None = None,
                name: str = "", writing: Callable[[int], None] | None = None,
                file_name: str | None = None) -> ImportReport:
    """Import one CSV file of `kind` clinics | patients | visits, in `encoding` (csvfile.ENCODINGS); `progress`
    is called with the number of rows read each time a batch of them has been checked, `writing` with the number
    of rows written each time a batch of them is. `scope` is who imports (None: the operator, every clinic); its
    role is checked before the file is read (PermissionDeniedError). `name`: what errors about the whole file
    call it (its path when not given). `file_name`: the file's own name, as its consent events' wording gives it
    ("file patients-2026-12.csv"; "" for a file that came without one); None: the name of `path` when it is the
    operator's own file (the command line's; standard input has none), none when `name` is given (the path is
    then a private temporary one, whose name says nothing)."""
    checkers: dict[str, Callable[[_Source, ImportReport, Scope, _Spool], None]] = {
        "clinics": _check_clinics, "patients": _check_patients, "visits": _check_visits,
    }
    writers: dict[str, Callable[[_Spool, ImportReport, Scope, Callable[[int], None]], None]] = {
        "clinics": _write_clinics, "patients": _write_patients, "visits": _write_visits,
    }
    scope = Scope.operator() if scope is None else scope
    scope.require(ROLES[kind])
    report = ImportReport(kind=kind)
    source = _Source(path=path, encoding=encoding, progress=progress or (lambda rows: None), name=name,
                     wording=import_wording(file_name if file_name is not None else "" if name else _file_name(path)))
    with tempfile.TemporaryFile(prefix="masspost-import-") as spooled:
        spool = _Spool(spooled)
        spool.wording = source.wording
        # The check holds no lock: other users' writes go on while a large file is read.
        checkers[kind](source, report, scope, spool)
        report.errors.sort(key=lambda p: p.row)
        if report.errors and not skip_invalid:
            return report
        try:
            with transaction.atomic():
                writers[kind](spool, report, scope, writing or (lambda rows: None))
                report.errors.sort(key=lambda p: p.row)
                if report.errors and not skip_invalid:
                    raise _Rollback  # a row the database changed under between the check and the write
                report.written = True
        except _Rollback:
            report.imported = 0
    report.warnings.sort(key=lambda p: p.row)  # stable: a row's own order of columns is kept
    if report.written and report.imported:
        statistics_refresh([Clinic, Patient, Visit])
    return report


def _file_name(path: Path) -> str:
    """The name of a file the command line was given: none for standard input or another stream (a pipe's name
    under /dev/fd or /proc says nothing of the file)."""
    text = str(path)
    if text in ("-", "/dev/stdin") or text.startswith(("/dev/fd/", "/proc/")):
        return ""
    return path.name


def _limits(model: type[models.Model], columns: Iterable[str], **stored_in: Any) -> dict[str, int]:
    """The longest value of each column: the max_length of the model field it is stored in (`stored_in` names
    the field of a column that is not the model's own, e.g. clinic=Clinic.code), so SQLite, which does not
    enforce lengths, stores nothing PostgreSQL would refuse."""
    limits = {}
    for column in columns:
        limit = getattr(stored_in.get(column) or model._meta.get_field(column), "max_length", None)
        if limit:
            limits[column] = limit
    return limits


# --- clinics -------------------------------------------------------------------------------------------------

def _check_clinics(source: _Source, report: ImportReport, scope: Scope, spool: _Spool) -> None:
    seen: set[str] = set()
    reach = _ClinicReach.of(scope)
    limits = _limits(Clinic, (*CLINIC_COLUMNS, *CLINIC_OPTIONAL))
    with source.open(CLINIC_COLUMNS, CLINIC_OPTIONAL, ref="code", limits=limits) as csv_file:
        for batch in source.batches(csv_file.rows):
            spool.add(_checked_clinics(batch, report, seen, reach))
        _add_file_problems(csv_file, report)
    spool.header = csv_file.header


def _checked_clinics(batch: list[tuple[int, dict[str, str]]], report: ImportReport, seen: set[str],
                     reach: _ClinicReach) -> list[dict[str, Any]]:
    good: list[dict[str, Any]] = []
    for number, rec in batch:
        report.rows += 1
        code = rec["code"]
        try:
            if not code:
                raise FieldError("code", "missing")
            if code in seen:
                raise FieldError("code", f"clinic {code!r} appears twice in this file")
            seen.add(code)
            reach.check(code)
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
            rules = {column: _CLINIC_RULE[column](column, rec[column]) for column in CLINIC_RULES if column in rec}
        except FieldError as exc:
            report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason, ref=code))
            continue
        good.append({"code": code, "name": rec["name"], "country": rec["country"].upper(),
                     "time_zone": rec["time_zone"], "default_language": rec["default_language"].lower(),
                     "phone": rec.get("phone", ""), "email": email, "sms_sender": sender, **rules})
    return good


def _default(column: str) -> Any:
    """A new clinic's value of a sending rule (the model's default)."""
    found = Clinic._meta.get_field(column)
    assert isinstance(found, models.Field)
    return found.get_default()


def _window(column: str, text: str) -> str:
    if not text:
        return str(_default(column))
    try:
        return str(parse_window(text))
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None


def _flag(column: str, text: str) -> bool:
    return parse_bool(column, text, bool(_default(column)))


def _recipients_over(column: str, text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= APPROVAL_OVER_MAX:
        raise FieldError(column, "not a whole number of at least 1 (empty: no approval by recipients)")
    return int(text)


def _cost_over(column: str, text: str) -> Decimal | None:
    if not text:
        return None
    try:
        # A decimal comma too, as spreadsheets write it where it is the custom (the file then uses semicolons).
        amount = Decimal(text.replace(",", ".") if "." not in text else text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or not 0 <= amount <= COST_MAX or amount != amount.quantize(Decimal("0.01")):
        raise FieldError(column, f"not an amount from 0 to {COST_MAX} with at most 2 decimals (empty: no "
                                 "approval by cost)")
    return amount.quantize(Decimal("0.01"))


def _days(column: str, text: str) -> int:
    if not text:
        return int(_default(column))
    if not text.isdigit() or int(text) > RECENTLY_MESSAGED_MAX:
        raise FieldError(column, f"not a whole number of days from 0 (off) to {RECENTLY_MESSAGED_MAX}")
    return int(text)


_CLINIC_RULE: dict[str, Callable[[str, str], Any]] = {
    "marketing_window": _window, "service_window": _window, "holidays": _flag, "approval_over": _recipients_over,
    "approval_cost_over": _cost_over, "test_before_marketing": _flag, "recently_messaged_days": _days,
}


def _write_clinics(spool: _Spool, report: ImportReport, scope: Scope, writing: Callable[[int], None]) -> None:
    # A re-import updates the columns the file has; one it leaves out keeps its value.
    present = [c for c in CLINIC_OPTIONAL if c in spool.header]
    for batch in spool.batches():
        Clinic.objects.bulk_create(
            [Clinic(**values) for values in batch], update_conflicts=True, unique_fields=["code"],
            update_fields=["name", "country", "time_zone", "default_language", *present],
        )
        report.imported += len(batch)
        writing(len(batch))


@dataclass(frozen=True, kw_only=True, slots=True)
class _ClinicReach:
    """Which rows of a clinics file a scope may write: an update of one of its clinics, and a new clinic only
    when it reaches every clinic there is. Adding a clinic changes the clinic group as a whole, so it is for
    whoever answers for all of it (the operator, or an admin of every clinic), not for one clinic's admin."""

    codes: frozenset[str] | None  # the codes of its clinics; None: every clinic
    existing: frozenset[str]  # the codes of every stored clinic, when codes is not None
    may_add: bool

    @classmethod
    def of(cls, scope: Scope) -> _ClinicReach:
        if scope.clinic_ids is None:
            return cls(codes=None, existing=frozenset(), may_add=True)
        stored = dict(Clinic.objects.values_list("code", "id"))
        return cls(codes=frozenset(c for c, i in stored.items() if i in scope.clinic_ids),
                   existing=frozenset(stored), may_add=set(stored.values()) <= scope.clinic_ids)

    def check(self, code: str) -> None:
        # One answer for another clinic's code and a code no clinic has: the file learns nothing of other clinics.
        if self.codes is None or code in self.codes or (self.may_add and code not in self.existing):
            return
        raise FieldError("code", f"clinic {code!r} is not one of your clinics (only an admin of every clinic may "
                                 "add a clinic)")


# --- patients ------------------------------------------------------------------------------------------------

def _patient_columns() -> list[models.Field[Any, Any]]:
    """The patient table's columns as the spool keeps a checked patient's values: ready for the database."""
    return [f for f in Patient._meta.concrete_fields if not f.primary_key]


def _to_database(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """A fast converter of one column's value for the database driver (Django's own, per value, doubled the time
    the write held the lock): text as str, flags as bool, numbers as int, dates as the backend stores them."""
    if isinstance(field, models.ForeignKey):
        return lambda value: value
    if isinstance(field, models.CharField):
        return lambda value: None if value is None else str(value)
    if isinstance(field, models.BooleanField):
        return lambda value: None if value is None else bool(value)
    if isinstance(field, models.IntegerField):
        return lambda value: None if value is None else int(value)
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datefield_value
    return lambda value: field.get_db_prep_save(value, connection)


def _check_patients(source: _Source, report: ImportReport, scope: Scope, spool: _Spool) -> None:
    # Only the scope's clinics are known: another clinic's code is as unknown as a code no clinic has.
    clinics = {c.code: c for c in scope.clinics()}
    today = dt.date.today()
    seen: set[str] = set()
    limits = _limits(Patient, (*PATIENT_COLUMNS, *PATIENT_OPTIONAL), clinic=Clinic._meta.get_field("code"),
                     marketing_consent=Patient._meta.get_field("marketing_sms"))
    columns = [(f.attname, _to_database(f)) for f in _patient_columns()]
    with source.open(PATIENT_COLUMNS, PATIENT_OPTIONAL, ref="external_id", limits=limits) as csv_file:
        # Without a country column a national phone number is read in the stored patient's country.
        stored_country = "country" not in csv_file.header and "phone" in csv_file.header
        for batch in source.batches(csv_file.rows):
            refs = [r["external_id"] for _, r in batch]
            foreign = _foreign_patients(refs, scope)
            # Read without a lock: the write pass reads the consents again, under its lock.
            stored = patients_stored([r for r in refs if r not in foreign], consents=()) if stored_country else {}
            good: list[tuple[int, tuple[Any, ...]]] = []
            for number, rec in batch:
                report.rows += 1
                ref = rec["external_id"]
                try:
                    patient = _patient(rec, clinics, seen, today, foreign)
                except FieldError as exc:
                    report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason, ref=ref))
                    continue
                known = stored.get(ref)
                region = patient.country or (known.country if known else "") or patient.clinic.country
                patient.phone_e164, problem = normalize_phone(patient.phone, region)
                if problem:
                    report.warnings.append(RowProblem(row=number, column="phone", reason=problem, ref=ref))
                patient.email_normalized, problem = normalize_email(patient.email)
                if problem:
                    report.warnings.append(RowProblem(row=number, column="email", reason=problem, ref=ref))
                patient.phone_status = address_status(patient.phone, patient.phone_e164)
                patient.email_status = address_status(patient.email, patient.email_normalized)
                good.append((number, tuple(convert(getattr(patient, name)) for name, convert in columns)))
            spool.add(good)
        _add_file_problems(csv_file, report)
    spool.header = csv_file.header


class _Consenting:
    """A checked patient as the consent rule sees them (clinic.services.ImportedPatient), without a model
    instance: the rule runs while the write lock is held."""

    def __init__(self, external_id: str, clinic: Clinic, values: dict[str, Any]) -> None:
        self.external_id: str = external_id
        self.clinic: Clinic = clinic
        self.pk: int | None = None
        self.__dict__.update(values)


def _write_patients(spool: _Spool, report: ImportReport, scope: Scope, writing: Callable[[int], None]) -> None:
    """The checked patients, upserted a batch at a time with one prepared statement; the consent rule decides
    each consent of a patient already here under the lock (PostgreSQL: their rows locked)."""
    clinics = {c.id: c for c in scope.clinics()}
    fields = _patient_columns()
    at = {f.attname: i for i, f in enumerate(fields)}
    consents = consent_fields(spool.header)
    decided = [*consents, *(f"imported_{c}" for c in consents)]
    column = {f.name: str(f.column) for f in fields}
    updated = [column[name] for name in _patient_update_fields(spool.header)]
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(Patient._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) VALUES "
    one_row = f"({', '.join(['%s'] * len(fields))})"
    conflict = (f" ON CONFLICT ({quote('external_id')}) DO UPDATE SET "
                + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in updated))
    allowed: list[int] = []
    postgresql = connection.vendor == "postgresql"
    if scope.clinic_ids is not None:
        # Only a patient of the importer's clinics is updated: one another clinic stored after the check below
        # (another import committing in between) is left as it is and refused, never moved into this clinic.
        allowed = sorted(scope.clinic_ids)
        owner = f"{quote(Patient._meta.db_table)}.{quote(column['clinic'])}"
        conflict += (f" WHERE {owner} = ANY(%s)" if postgresql
                     else f" WHERE {owner} IN ({', '.join(str(int(i)) for i in allowed)})")
    for batch in spool.batches():
        # A patient another clinic stored since the check is refused here as it would have been there.
        foreign = _foreign_patients([values[at["external_id"]] for _, values in batch], scope)
        rows: dict[str, int] = {}
        good: list[list[Any]] = []
        for number, values in batch:
            ref = values[at["external_id"]]
            if ref in foreign:
                report.errors.append(RowProblem(row=number, column="external_id", reason=_FOREIGN, ref=ref))
                continue
            rows[ref] = number
            good.append(list(values))
        people = [_Consenting(row[at["external_id"]], clinics[row[at["clinic_id"]]],
                              {c: row[at[c]] for c in consents}) for row in good] if consents else []
        stored = patients_stored(list(rows), consents=consents) if consents else {}
        changes, kept = consent_from_import(patients=people, stored=stored, columns=consents)
        for person, row in zip(people, good, strict=False):  # people: none when the file has no consent column
            for name in decided:
                row[at[name]] = getattr(person, name)
        ids, count = _upsert(good, insert, one_row, conflict, [allowed] if allowed and postgresql else [])
        if count < len(good):
            # Rows the upsert's condition refused: patients another clinic stored since the check. The same answer
            # the check gives, and nothing of the import is kept (all or nothing, whatever skip_invalid says).
            refused = (set(rows) - set(ids)) if ids is not None else _foreign_patients(list(rows), scope)
            report.errors += [RowProblem(row=rows[ref], column="external_id", reason=_FOREIGN, ref=ref)
                              for ref in refused]
            raise _Rollback
        if changes:
            if ids is None:
                ids = dict(Patient.objects.filter(external_id__in=list(rows)).values_list("external_id", "id"))
            for person in people:
                person.pk = ids[person.external_id]
        # The events of the consents the upsert just changed, in its transaction (the import's): the columns and
        # the ledger move together, all or nothing.
        consent_record(changes, wording=spool.wording)
        report.warnings += [_kept_warning(rows[k.patient.external_id], k, spool.header) for k in kept]
        report.imported += len(good)
        writing(len(batch))


def _upsert(rows: list[list[Any]], insert: str, row: str, conflict: str,
            extra: list[Any]) -> tuple[dict[str, int] | None, int]:
    """Rows into the patient table; returns how many were written and, on PostgreSQL, their ids by external id
    (a row the conflict's condition refused is neither counted nor returned). `extra`: the parameters of the
    conflict clause, after each statement's rows. PostgreSQL: statements of many rows, returning the ids; SQLite:
    one prepared statement run for each row (its statements take at most 32,766 values, and a prepared statement
    there costs nothing to run again)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            if not rows:
                return None, 0
            cursor.executemany(insert + row + conflict, [[*r, *extra] for r in rows] if extra else rows)
            return None, cursor.rowcount
        ids: dict[str, int] = {}
        per = max(1, 65_000 // max(1, len(rows[0]) if rows else 1))  # PostgreSQL takes 65,535 parameters
        returning = f" RETURNING {connection.ops.quote_name('external_id')}, {connection.ops.quote_name('id')}"
        for start in range(0, len(rows), per):
            part = rows[start:start + per]
            cursor.execute(insert + ", ".join([row] * len(part)) + conflict + returning,
                           [*(v for r in part for v in r), *extra])
            ids.update(cursor.fetchall())
        return ids, len(ids)


def _foreign_patients(refs: list[str], scope: Scope) -> frozenset[str]:
    """The external ids among `refs` of stored patients outside the scope's clinics, in one query a batch. The
    upsert is on external_id, so such a row would move another clinic's patient into the importer's clinic (and
    overwrite their data): it is a bad row instead."""
    if scope.clinic_ids is None:
        return frozenset()
    return frozenset(Patient.objects.filter(external_id__in=refs).exclude(clinic_id__in=scope.clinic_ids)
                     .values_list("external_id", flat=True))


def _reachable_patients(scope: Scope) -> QuerySet[Patient]:
    """The patients of the scope's clinics: a visit of any other patient is for an unknown patient."""
    qs = Patient.objects.all()
    return qs if scope.clinic_ids is None else qs.filter(clinic_id__in=scope.clinic_ids)


def _add_file_problems(csv_file: CsvFile, report: ImportReport) -> None:
    """The rows the file itself made bad (quoting, too many fields, a value no column may have) are rows read."""
    report.errors.extend(csv_file.problems)
    report.rows += len(csv_file.problems)


def _patient_update_fields(header: tuple[str, ...]) -> list[str]:
    """What a re-import overwrites: the columns the file has (and what is derived from them), nothing else, so
    a file of new phone numbers cannot undo an opt-out or wipe a birth date."""
    fields = ["clinic", *[c for c in PATIENT_OPTIONAL if c in header and c not in CONSENT_FILE_COLUMNS]]
    if "phone" in header:
        fields += ["phone_e164", "phone_status"]
    if "email" in header:
        fields += ["email_normalized", "email_status"]
    consents = consent_fields(header)
    return fields + consents + [f"imported_{c}" for c in consents]


def consent_fields(header: tuple[str, ...]) -> list[str]:
    """The Patient consent fields a file with `header` gives (CONSENT_COLUMNS' order): only those are decided by
    the import; the others keep their value (a new patient: a patient with no events' value)."""
    given = {f for column in CONSENT_FILE_COLUMNS if column in header for f in CONSENT_FILE_COLUMNS[column]}
    return [f for f in CONSENT_COLUMNS if f in given]


def _kept_warning(row: int, kept: ConsentKept, header: tuple[str, ...]) -> RowProblem:
    """The warning of a consent value the import did not apply. It names the file's column: the field's own where
    the file has it, else marketing_consent, and then which of its two channels the warning is about."""
    ref = kept.patient.external_id
    if kept.column in header:
        return RowProblem(row=row, column=kept.column, reason=kept.reason, ref=ref)
    channel = "SMS" if kept.column == "marketing_sms" else "e-mail"
    return RowProblem(row=row, column="marketing_consent", reason=f"{channel} marketing {kept.reason}", ref=ref)


def _patient(rec: dict[str, str], clinics: dict[str, Clinic], seen: set[str], today: dt.date,
             foreign: frozenset[str]) -> Patient:
    ref = rec["external_id"]
    if not ref:
        raise FieldError("external_id", "missing")
    if ref in seen:
        raise FieldError("external_id", "appears twice in this file")
    seen.add(ref)
    if ref in foreign:
        raise FieldError("external_id", _FOREIGN)
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
        **_marketing(rec),
        "household_contact": parse_bool("household_contact", rec.get("household_contact", ""), False),
    }
    return Patient(external_id=ref, clinic=clinic, first_name=rec.get("first_name", ""),
                   last_name=rec.get("last_name", ""), birth_date=birth, country=country, language=language,
                   phone=rec.get("phone", ""), email=rec.get("email", ""), status=status, **values)


def _marketing(rec: dict[str, str]) -> dict[str, bool]:
    """A row's marketing consent per channel: the channel's own column where its cell is not empty, else
    marketing_consent (both channels), else none. Every cell given is checked, the one not used too."""
    both = parse_bool("marketing_consent", rec.get("marketing_consent", ""), False)
    return {column: parse_bool(column, rec.get(column, ""), both) for column in ("marketing_sms", "marketing_email")}


# --- visits --------------------------------------------------------------------------------------------------

def _check_visits(source: _Source, report: ImportReport, scope: Scope, spool: _Spool) -> None:
    # As for patients, another clinic (or another clinic's patient) is as unknown as one that does not exist.
    clinics = {c.code: (c, ZoneInfo(c.time_zone)) for c in scope.clinics()}
    seen: dict[tuple[int, int, dt.datetime], tuple[int, str]] = {}  # visit → (its first row, its status)
    limits = _limits(Visit, VISIT_COLUMNS, patient=Patient._meta.get_field("external_id"),
                     clinic=Clinic._meta.get_field("code"))
    with source.open(VISIT_COLUMNS, (), ref="patient", limits=limits) as csv_file:
        for batch in source.batches(csv_file.rows):
            refs = {rec["patient"] for _, rec in batch}
            patients = dict(_reachable_patients(scope).filter(external_id__in=refs)
                            .values_list("external_id", "id"))
            good: list[tuple[int, int, dt.datetime, dt.date, str]] = []
            for number, rec in batch:
                report.rows += 1
                try:
                    visit = _visit(rec, clinics, patients)
                    key = (visit.patient_id, visit.clinic_id, visit.start)
                    first = seen.setdefault(key, (number, visit.status))
                    if first[0] != number and first[1] != visit.status:
                        raise FieldError("start", f"the same visit (patient, clinic, start) as row {first[0]}, "
                                                  "with another status")
                except FieldError as exc:
                    report.errors.append(RowProblem(row=number, column=exc.column, reason=exc.reason,
                                                    ref=rec["patient"]))
                    continue
                if first[0] != number:
                    # Exports made from a join repeat rows: the same visit once more is no news.
                    report.warnings.append(RowProblem(row=number, column="start", ref=rec["patient"],
                                                      reason=f"the same visit as row {first[0]}, repeated: "
                                                             "counted once"))
                    continue
                good.append((visit.patient_id, visit.clinic_id, visit.start, visit.local_date, visit.status))
            spool.add(good)
        _add_file_problems(csv_file, report)


def _write_visits(spool: _Spool, report: ImportReport, scope: Scope, writing: Callable[[int], None]) -> None:
    for batch in spool.batches():
        Visit.objects.bulk_create([Visit(patient_id=patient_id, clinic_id=clinic_id, start=start, local_date=day,
                                         status=status) for patient_id, clinic_id, start, day, status in batch],
                                  update_conflicts=True, unique_fields=["patient", "clinic", "start"],
                                  update_fields=["status", "local_date"])
        report.imported += len(batch)
        writing(len(batch))


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
    if not VISIT_YEARS[0] <= start.year <= VISIT_YEARS[1]:
        # Checked as written, before the time zone: year 1 or 9999 would overflow in the conversion to UTC.
        raise FieldError("start", f"year {start.year} is out of range ({VISIT_YEARS[0]}-{VISIT_YEARS[1]})")
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    status = rec["status"].lower()
    if status not in VisitStatus.values:
        raise FieldError("status", f"unknown status {rec['status']!r} (attended, cancelled or no_show)"
                         if status else "missing")
    return Visit(patient_id=patient_id, clinic=clinic, start=start.astimezone(dt.UTC),
                 local_date=start.astimezone(zone).date(), status=status)
