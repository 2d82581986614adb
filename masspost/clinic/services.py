"""Changing clinic data as a whole, and the consent rule of an import (docs/import.md, "Consent"); the import
itself lives in clinic.importer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from masspost.bulk import bulk_insert
from masspost.clinic.models import (
    IMPORT_SOURCE,
    PATIENT_OWN_SOURCES,
    STAFF_SOURCE,
    Clinic,
    ConsentChannel,
    ConsentEvent,
    Patient,
)

# The consent columns of patients.csv and the channel their events name.
CONSENT_COLUMNS = {"accepts_sms": ConsentChannel.SMS, "accepts_email": ConsentChannel.EMAIL,
                   "marketing_consent": "marketing"}  # FIXME(issue 20, helper): per channel


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


class ConsentChange(NamedTuple):  # a tuple: a first import of 100,000 patients makes 300,000 of them
    patient: ImportedPatient  # its id is known once the batch is written
    channel: str
    accepts: bool


class ConsentKept(NamedTuple):
    """A consent value of the file that the import did not apply, and why (a warning of the import's report)."""

    patient: ImportedPatient
    column: str
    reason: str


# How a patient's own opt-out came, as the warning says it.
_OWN_OPT_OUT = {"sms-stop": "by SMS", "unsubscribe": "through an e-mail's unsubscribe link"}


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
    """Apply the import rule to the consent `columns` of a batch of patients, each holding the file's values;
    return the changes, to be recorded as consent events once the patients are written, and each file value that
    was not applied with why (docs/import.md, "Consent").

    A new patient takes the file's value. A patient already here keeps the value they have unless the clinic's
    value changed since the previous import of them, and never goes from off to on while the latest of their
    consent events for that channel that is not an import is their own opt-out (PATIENT_OWN_SOURCES)."""
    changes: list[ConsentChange] = []
    switch_on: list[tuple[ImportedPatient, str]] = []  # off to on: allowed only where the patient did not opt out
    not_applied: list[tuple[ImportedPatient, str]] = []  # the file's value is not what the patient keeps
    named = [(column, f"imported_{column}", CONSENT_COLUMNS[column]) for column in columns]
    for patient in patients:
        known = stored.get(patient.external_id)
        for column, imported, channel in named:
            given: bool = getattr(patient, column)
            setattr(patient, imported, given)
            if known is None:
                changes.append(ConsentChange(patient, channel, given))
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
                    changes.append(ConsentChange(patient, channel, False))
    latest = _latest_own_word({(stored[p.external_id].patient_id, CONSENT_COLUMNS[c])
                               for p, c in (*switch_on, *not_applied)})
    for patient, column in switch_on:
        channel = CONSENT_COLUMNS[column]
        event = latest.get((stored[patient.external_id].patient_id, channel))
        if event is not None and not event.accepts and event.source in PATIENT_OWN_SOURCES:
            setattr(patient, column, False)
            not_applied.append((patient, column))
        else:
            changes.append(ConsentChange(patient, channel, True))
    kept = [ConsentKept(patient, column, _why_kept(patient, getattr(patient, column), latest.get(
        (stored[patient.external_id].patient_id, CONSENT_COLUMNS[column])))) for patient, column in not_applied]
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


def consent_record(changes: Sequence[ConsentChange]) -> None:
    """The changes of a written batch as consent events. Through masspost.bulk: a first import of 100,000
    patients records 300,000 of them, and model instances would double the import's time."""
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    bulk_insert(ConsentEvent, ("patient_id", "channel", "accepts", "source", "at"),
                ((c.patient.pk, str(c.channel), c.accepts, IMPORT_SOURCE, at) for c in changes))


def _latest_own_word(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], _Event]:
    """Of (patient id, channel) pairs, the latest consent event of each that is not an import (the patient's own
    word, or staff's). One query for a batch; most batches have nothing to ask."""
    if not pairs:
        return {}
    latest: dict[tuple[int, str], _Event] = {}
    events = (ConsentEvent.objects.filter(patient_id__in={p for p, _ in pairs}, channel__in={c for _, c in pairs})
              .exclude(source=IMPORT_SOURCE).order_by("patient_id", "channel", "-at", "-id")
              .values_list("patient_id", "channel", "accepts", "source", "at"))
    for patient_id, channel, accepts, source, at in events:
        if (patient_id, channel) in pairs:
            latest.setdefault((patient_id, channel), _Event(accepts, source, at))
    return latest
