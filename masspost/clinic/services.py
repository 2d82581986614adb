"""Changing clinic data as a whole, and the consent rule of an import (docs/import.md, "Consent"); the import
itself lives in clinic.importer.

The import is the one writer of consent events and of the Patient's consent columns besides
masspost.clinic.ledger (and the demo generator, which writes its patients the same way): a first import of
200,000 patients records hundreds of thousands of events, and the ledger's row-at-a-time writes would take the
import's whole time. It keeps the ledger's promise itself: every consent column it changes has its event, written
in bulk in the same transaction as the column (docs/consent.md, "The ledger")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from masspost.bulk import bulk_insert
from masspost.clinic.models import (
    IMPORT_FILE_WORDING,
    IMPORT_SOURCE,
    NO_FILE_NAME,
    PATIENT_OWN_SOURCES,
    PROVIDER_SOURCE,
    STAFF_SOURCE,
    Clinic,
    ConsentEvent,
    Patient,
)
from masspost.consent import FIELDS, NONE_RECORDED

# The Patient's consent fields, each with the (channel, purpose) of the ledger its events name. An import decides
# each of them on its own (patients.csv's columns give them: clinic.importer.consent_fields).
CONSENT_COLUMNS: dict[str, tuple[str, str]] = {column: key for key, column in FIELDS.items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredPatient:
    """A patient already in the database, as an import needs them: their country, and the consents of the
    file's consent columns, now and as the previous import gave them."""

    patient_id: int
    country: str
    current: Mapping[str, bool]  # by column
    imported: Mapping[str, bool | None]


class ImportedPatient(Protocol):
    """A patient as the import's consent rule sees them: the file's consent values as attributes (`accepts_sms`,
    and `imported_accepts_sms` … set by the rule), their clinic, and their id once written (a light object, not a
    model instance: the rule runs while the import holds the write lock)."""

    external_id: str
    clinic: Clinic
    pk: int | None


class ConsentChange(NamedTuple):  # a tuple: a first import of 100,000 patients makes 100,000s of them
    patient: ImportedPatient  # its id is known once the batch is written
    channel: str
    purpose: str
    accepts: bool


class ConsentKept(NamedTuple):
    """A consent value of the file that the import did not apply, and why (a warning of the import's report)."""

    patient: ImportedPatient
    column: str
    reason: str


# How a patient's own opt-out came, as the warning says it.
_OWN_OPT_OUT = {"sms-stop": "by SMS", "unsubscribe": "through an unsubscribe link",
                PROVIDER_SOURCE: "with their SMS provider"}


def clinic_data_exists() -> bool:
    return Clinic.objects.exists()


def clinic_data_reset() -> None:
    """Delete all clinic data and everything that refers to it (the benchmarks' setup)."""
    with transaction.atomic():
        apps.get_model("staff", "StaffMember").clinics.through.objects.all().delete()
        for label in ("delivery.SendingWindow", "delivery.CampaignGate", "delivery.HeldCampaign",
                      "delivery.OutboxMessage", "campaigns.AuditEvent", "campaigns.IdempotentSend",
                      "campaigns.Campaign", "clinic.Visit",
                      "clinic.ConsentEvent", "clinic.Patient", "clinic.Clinic"):
            # A plain DELETE per table, children first: the ORM's cascade collector would load every row.
            apps.get_model(label).objects.all()._raw_delete(using="default")


def patients_stored(refs: Iterable[str], *, consents: Sequence[str]) -> dict[str, StoredPatient]:
    """The patients among `refs` that are already stored. When `consents` are asked for, they are locked until
    the import commits (PostgreSQL, in id order): an SMS STOP arriving meanwhile waits, instead of being
    overwritten by a value decided before it."""
    query = Patient.objects.filter(external_id__in=list(refs)).order_by("id")
    if consents:
        query = query.select_for_update()
    n = len(consents)
    return {ref: StoredPatient(patient_id=pid, country=country, current=dict(zip(consents, values[:n], strict=True)),
                               imported=dict(zip(consents, values[n:], strict=True)))
            for ref, pid, country, *values in query.values_list(
                "external_id", "id", "country", *consents, *(f"imported_{c}" for c in consents))}


def consent_from_import(*, patients: Sequence[ImportedPatient], stored: Mapping[str, StoredPatient],
                        columns: Sequence[str]) -> tuple[list[ConsentChange], list[ConsentKept]]:
    """Apply the import rule to the consent `columns` (Patient fields: CONSENT_COLUMNS) of a batch of patients,
    each holding the file's values; return the changes, to be recorded as consent events once the patients are
    written, and each file value that was not applied with why (docs/import.md, "Consent").

    A new patient takes the file's value; it is a change (an event) only where it is not what a patient with no
    events has (masspost.consent.NONE_RECORDED: the channels on, marketing off). A patient already here keeps the
    value they have unless the clinic's value changed since the previous import of them, and never goes from off
    to on while the latest of their consent events for that channel and purpose that is not an import is their
    own opt-out (PATIENT_OWN_SOURCES)."""
    changes: list[ConsentChange] = []
    switch_on: list[tuple[ImportedPatient, str]] = []  # off to on: allowed only where the patient did not opt out
    not_applied: list[tuple[ImportedPatient, str]] = []  # the file's value is not what the patient keeps
    named = [(column, f"imported_{column}", *CONSENT_COLUMNS[column]) for column in columns]
    for patient in patients:
        known = stored.get(patient.external_id)
        for column, imported, channel, purpose in named:
            given: bool = getattr(patient, column)
            setattr(patient, imported, given)
            if known is None:
                if given != NONE_RECORDED.get(channel, purpose):
                    changes.append(ConsentChange(patient, channel, purpose, given))
                continue
            current, previous = known.current[column], known.imported[column]
            value = current if previous is not None and previous == given else given
            setattr(patient, column, value)
            if value != given:
                not_applied.append((patient, column))
            elif value != current:
                if value:
                    switch_on.append((patient, column))
                else:
                    changes.append(ConsentChange(patient, channel, purpose, False))
    latest = _latest_own_word({(stored[p.external_id].patient_id, *CONSENT_COLUMNS[c])
                               for p, c in (*switch_on, *not_applied)})
    for patient, column in switch_on:
        channel, purpose = CONSENT_COLUMNS[column]
        event = latest.get((stored[patient.external_id].patient_id, channel, purpose))
        if event is not None and not event.accepts and event.source in PATIENT_OWN_SOURCES:
            setattr(patient, column, False)
            not_applied.append((patient, column))
        else:
            changes.append(ConsentChange(patient, channel, purpose, True))
    kept = [ConsentKept(patient, column, _why_kept(patient, getattr(patient, column), latest.get(
        (stored[patient.external_id].patient_id, *CONSENT_COLUMNS[column])))) for patient, column in not_applied]
    return changes, kept


class _Event(NamedTuple):
    accepts: bool
    source: str
    at: dt.datetime


def _why_kept(patient: ImportedPatient, kept: bool, event: _Event | None) -> str:
    """Why a patient keeps `kept` where the file gave the other value. Names a source and a date in the clinic's
    time zone, never a value of the patient's."""
    stays = f"not applied (stays {'yes' if kept else 'no'})"
    if event is None:
        return (f"{stays}: changed since the previous import, which gave the same value as this file (a file "
                "changes a consent only where the clinic's value changed)")
    day = event.at.astimezone(ZoneInfo(patient.clinic.time_zone)).date().isoformat()
    if not event.accepts and event.source in PATIENT_OWN_SOURCES:
        how = _OWN_OPT_OUT.get(event.source, "themself")
        return f"{stays}: opted out {how} on {day}; only the patient can undo this"
    who = "by staff" if event.source.startswith(STAFF_SOURCE) else f"({event.source})"
    return (f"{stays}: switched {'on' if event.accepts else 'off'} {who} on {day}, after the previous import, "
            "which gave the same value as this file (a file changes a consent only where the clinic's value changed)")


def import_wording(file_name: str) -> str:
    """What an import's consent events say the patient's consent came with: the file, by the name it was given
    (never a path: an upload's is a private temporary one)."""
    return IMPORT_FILE_WORDING + (file_name or NO_FILE_NAME)


def consent_record(changes: Sequence[ConsentChange], *, wording: str) -> None:
    """The changes of a written batch as consent events, in the transaction that wrote the batch's consent
    columns. Through masspost.bulk, not masspost.clinic.ledger (whose writes are one patient, or one change, at a
    time): the one sanctioned bulk writer of the ledger besides it. A first import of 100,000 patients records
    100,000s of events, and model instances would double the import's time."""
    if not changes:
        return
    # One time for the batch: now, or its patients' latest event's should a clock have put one later — as the
    # ledger's writer does, an event never goes before one already there (the fold is the latest event's word).
    latest = (ConsentEvent.objects.filter(patient_id__in={c.patient.pk for c in changes}).order_by()
              .aggregate(latest=Max("at"))["latest"])
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(max(now, latest) if latest is not None else now)
    bulk_insert(ConsentEvent, ("patient_id", "channel", "purpose", "accepts", "source", "wording", "at"),
                ((c.patient.pk, c.channel, c.purpose, c.accepts, IMPORT_SOURCE, wording, at) for c in changes))


def _latest_own_word(keys: set[tuple[int, str, str]]) -> dict[tuple[int, str, str], _Event]:
    """Of (patient id, channel, purpose) keys, the latest consent event of each that is not an import (the
    patient's own word, or staff's). One query for a batch; most batches have nothing to ask."""
    if not keys:
        return {}
    latest: dict[tuple[int, str, str], _Event] = {}
    events = (ConsentEvent.objects.filter(patient_id__in={p for p, _, _ in keys},
                                          channel__in={c for _, c, _ in keys}, purpose__in={u for _, _, u in keys})
              .exclude(source=IMPORT_SOURCE).order_by("patient_id", "channel", "purpose", "-at", "-id")
              .values_list("patient_id", "channel", "purpose", "accepts", "source", "at"))
    for patient_id, channel, purpose, accepts, source, at in events:
        if (patient_id, channel, purpose) in keys:
            latest.setdefault((patient_id, channel, purpose), _Event(accepts, source, at))
    return latest
