"""Consent recorded by staff: a patient says yes (or no) to SMS, e-mail or marketing at the desk, on a signed
form, on the phone, by e-mail — and a member of staff records it on the patient's page, stating how it was given.

This is the one way to renew a consent the patient withdrew themselves (an SMS STOP, an unsubscribe link): an
import never switches that back on (docs/import.md, "Consent"), but a staff event is the patient's word as staff
heard it, so it is the latest word for the import's rule too. It lives here, not in masspost.clinic, because it
is audited and the audit log (`audit_record`) is in campaigns; clinic never imports campaigns."""

from __future__ import annotations

import enum
import unicodedata
from zoneinfo import ZoneInfo

from django.db import transaction

from masspost.campaigns.audit import audit_record
from masspost.clinic.consent import CONSENT_FIELDS, RECORDS_CONSENT, ConsentEntry, consent_entry, patient_in_scope
from masspost.clinic.models import STAFF_SOURCE, ConsentChannel, ConsentEvent, ConsentMethod, Patient
from masspost.clinic.scope import ActorKind, Scope
from masspost.errors import MasspostError

NOTE_MAX = ConsentEvent._meta.get_field("note").max_length or 200
SOURCE_MAX = ConsentEvent._meta.get_field("source").max_length or 100
OPERATOR_SOURCE = "operator"  # the command line's operator: no staff user, and a name no user can have


def consent_record_by_staff(*, scope: Scope, patient_external_id: str, channel: str, accepts: bool, method: str,
                   note: str = "") -> ConsentEntry:
    """Record that the patient gives (accepts=True) or withdraws consent for `channel`, as staff heard it by
    `method`, with an optional short note; set the patient's consent to it and audit it (the note is not in the
    audit log: it may name the patient). Sender and admin only (PermissionDeniedError); a patient outside the
    scope's clinics is NotFoundError, as one that does not exist; a channel, method or note that is not valid is
    MasspostError, naming the field."""
    scope.require(RECORDS_CONSENT)
    if channel not in ConsentChannel.values:
        raise MasspostError(f"channel: must be one of {', '.join(ConsentChannel.values)}")
    if method not in ConsentMethod.values:
        raise MasspostError(f"method: must be one of {', '.join(ConsentMethod.values)}")
    note = consent_note(note)
    staff_id, source = _staff(scope)
    with transaction.atomic():
        found = patient_in_scope(scope=scope, external_id=patient_external_id)
        # Locked until the event is written: an SMS STOP arriving meanwhile comes after it, not under it.
        patient = Patient.objects.select_for_update().select_related("clinic").get(id=found.id)
        event = ConsentEvent.objects.create(patient=patient, channel=channel, accepts=accepts, source=source,
                                            staff_id=staff_id, method=method, note=note)
        field = CONSENT_FIELDS[ConsentChannel(channel)]
        if getattr(patient, field) != accepts:
            setattr(patient, field, accepts)
            patient.save(update_fields=[field])
        audit_record(action="consent_record", scope=scope,
                     detail={"patient": patient.external_id, "channel": channel, "accepts": accepts,
                             "method": method})
    event.refresh_from_db(fields=["at"])
    return consent_entry(event, zone=_zone(patient), notes=True)


class NoteProblem(enum.StrEnum):
    TOO_LONG = "too_long"
    INVISIBLE = "invisible"


def consent_note_normal(note: str) -> str:
    """A note as it is kept: one line (it is shown in a table row), runs of white space as one space."""
    return " ".join(note.split())


def consent_note_problem(note: str) -> NoteProblem | None:
    """What is wrong with a note (already normal), or None: the one rule, for the service and the patient page's
    form (which says it in the user's language)."""
    if len(note) > NOTE_MAX:
        return NoteProblem.TOO_LONG
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in note):
        return NoteProblem.INVISIBLE
    return None


def consent_note(note: str) -> str:
    """The note as it is kept, or MasspostError naming the field."""
    note = consent_note_normal(note)
    problem = consent_note_problem(note)
    if problem is NoteProblem.TOO_LONG:
        raise MasspostError(f"note: at most {NOTE_MAX} characters (it has {len(note)})")
    if problem is NoteProblem.INVISIBLE:
        raise MasspostError("note: has a control or invisible formatting character")
    return note


def _staff(scope: Scope) -> tuple[int | None, str]:
    """Who records: the staff user by id (a staff scope always carries it: never looked up by name), and the source
    naming them as they were called then — cut to the column: the event shows the user's name from the id,
    and the name in the source is only the last word for a user deleted since. The command line's operator is not
    a staff user (a user may be called "cli"), so their events name no user."""
    if scope.kind is ActorKind.COMMAND_LINE:
        return None, OPERATOR_SOURCE
    return scope.user_id, (STAFF_SOURCE + scope.actor)[:SOURCE_MAX]


def _zone(patient: Patient) -> ZoneInfo:
    return ZoneInfo(patient.clinic.time_zone)
