"""A patient as their page shows them: who they are (names and contacts only for a role that may see them, the
rule of `selectors.patient_page`), their consents now, and every change of them in order, each with when (in the
clinic's time), what and where it came from. The staff's own record of a consent is written by
masspost.campaigns.consent.consent_record_by_staff (it is audited, and the audit log lives in campaigns)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from masspost.clinic.models import API_SOURCE, STAFF_SOURCE, ConsentEvent, Patient
from masspost.clinic.scope import Role, Scope
from masspost.clinic.selectors import PatientRow, patient_row, sees_contacts
from masspost.consent import ConsentState
from masspost.errors import NotFoundError

# Who may record a patient's consent: the roles that send to them (and see who they are). A preparer reads the
# page — consents and their history, without names, contacts or staff notes — and records nothing.
RECORDS_CONSENT = Role.SENDER

EXTERNAL_ID_MAX = 64  # Patient.external_id's max_length


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentEntry:
    """One consent event. `source` is its kind: "sms-stop", "unsubscribe", "provider", "import", "staff" (on the
    patient's page), "api" (through the REST API), "operator" (the command line), "migrated" (held before the
    ledger), or, for a source this version does not know, the source as stored; `staff` (the user), `method` and
    `note` are for "staff" and "api" events."""

    id: int
    at: dt.datetime  # in the clinic's time zone
    channel: str
    accepts: bool
    source: str
    staff: str = ""  # the user's name now (as it was when recorded, for a user deleted since)
    method: str = ""
    note: str | None = None  # None: not for this role (selectors.sees_contacts); a note may name the patient
    purpose: str = "service"  # "service" (the channel as a whole) or "marketing"
    wording: str = ""  # what the patient was shown and agreed to, or the import's file: proof
    campaign_id: int | None = None  # the campaign the event came from (an unsubscribe link's), if any


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientDetail:
    patient: PatientRow  # names and contacts only where selectors.sees_contacts
    clinic_name: str
    time_zone: str
    history: list[ConsentEntry]  # oldest first
    consent: ConsentState  # now: the patient's columns, which equal the history's fold (masspost.consent)
    notes: bool  # whether the history carries the staff's notes (selectors.sees_contacts)


def patient_in_scope(*, scope: Scope, external_id: str) -> Patient:
    """The patient with this external id among the scope's clinics. Another clinic's patient is NotFoundError,
    with the same message as one that does not exist — and so is an id no patient can have (PostgreSQL refuses a
    NUL in a query's text)."""
    if "\x00" in external_id or len(external_id) > EXTERNAL_ID_MAX:
        raise NotFoundError(f"no patient {external_id!r}")
    patient = (Patient.objects.filter(external_id=external_id, clinic__in=scope.clinics())
               .select_related("clinic").first())
    if patient is None:
        raise NotFoundError(f"no patient {external_id!r}")
    return patient


def patient_detail(*, scope: Scope, external_id: str) -> PatientDetail:
    patient = patient_in_scope(scope=scope, external_id=external_id)
    return PatientDetail(patient=patient_row(patient, sees_contacts(scope)),
                         clinic_name=patient.clinic.name, time_zone=patient.clinic.time_zone,
                         history=_history(patient, scope), notes=sees_contacts(scope),
                         consent=ConsentState(accepts_sms=patient.accepts_sms, accepts_email=patient.accepts_email,
                                              marketing_sms=patient.marketing_sms,
                                              marketing_email=patient.marketing_email))


def consent_history(*, scope: Scope, external_id: str) -> list[ConsentEntry]:
    """The patient's consent events, oldest first (the order they happened in; events of one moment in the
    order they were written)."""
    return _history(patient_in_scope(scope=scope, external_id=external_id), scope)


# A source naming a user → its kind.
_USER_SOURCES = ((STAFF_SOURCE, "staff"), (API_SOURCE, "api"))


def consent_entry(event: ConsentEvent, *, zone: ZoneInfo, notes: bool) -> ConsentEntry:
    """The event as shown: a user's source as its kind and the user's name now (by id), or, for a user deleted
    since, the name as the source kept it."""
    source, staff = event.source, ""
    for prefix, kind in _USER_SOURCES:
        if source.startswith(prefix):
            staff = event.staff.get_username() if event.staff is not None else source.removeprefix(prefix)
            source = kind
            break
    return ConsentEntry(id=event.id, at=event.at.astimezone(zone), channel=event.channel, accepts=event.accepts,
                        source=source, staff=staff, method=event.method,
                        note=event.note if notes else None, purpose=event.purpose, wording=event.wording,
                        campaign_id=event.campaign_id)


def _history(patient: Patient, scope: Scope) -> list[ConsentEntry]:
    zone = ZoneInfo(patient.clinic.time_zone)
    notes = sees_contacts(scope)
    events = patient.consent_events.select_related("staff").order_by("at", "id")
    return [consent_entry(e, zone=zone, notes=notes) for e in events]
