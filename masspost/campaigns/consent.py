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
from masspost.clinic.consent import RECORDS_CONSENT, ConsentEntry, consent_entry, patient_in_scope
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import API_SOURCE, STAFF_SOURCE, ConsentEvent, ConsentMethod
from masspost.clinic.scope import ActorKind, Scope
from masspost.consent import CHANNELS, PURPOSES
from masspost.delivery.suppress import outbox_suppress
from masspost.errors import MasspostError

NOTE_MAX = ConsentEvent._meta.get_field("note").max_length or 200
SOURCE_MAX = ConsentEvent._meta.get_field("source").max_length or 100
OPERATOR_SOURCE = "operator"  # the command line's operator: no staff user, and a name no user can have
# The channel API clients knew before consent by purpose: the one marketing consent, now both channels' marketing.
LEGACY_MARKETING = "marketing"


def consent_record_by_staff(*, scope: Scope, patient_external_id: str, channel: str, accepts: bool, method: str,
                            note: str = "", purpose: str = "service") -> ConsentEntry:
    """Record that the patient gives (accepts=True) or withdraws consent for `purpose` on `channel` ("service":
    the channel as a whole; "marketing": offers on it), as staff heard it by `method`, with an optional short note;
    append it to the ledger (always: also when it changes nothing, it is the record of what the patient said) and
    audit it (the note is not in the audit log: it may name the patient). A withdrawal suppresses the patient's
    queued messages it no longer allows, in the same transaction. The channel "marketing" (as API clients sent it
    before consent by purpose) is marketing on both channels: two events, the e-mail one returned.

    Sender and admin only (PermissionDeniedError); a patient outside the scope's clinics is NotFoundError, as one
    that does not exist; a channel, purpose, method or note that is not valid is MasspostError, naming the field."""
    scope.require(RECORDS_CONSENT)
    channels: tuple[str, ...]
    if channel == LEGACY_MARKETING:
        channels, purpose = CHANNELS, "marketing"
    elif channel in CHANNELS:
        channels = (channel,)
    else:
        raise MasspostError(f"channel: must be one of {', '.join(CHANNELS)} (or {LEGACY_MARKETING}: marketing on "
                            "both)")
    if purpose not in PURPOSES:
        raise MasspostError(f"purpose: must be one of {', '.join(PURPOSES)}")
    if method not in ConsentMethod.values:
        raise MasspostError(f"method: must be one of {', '.join(ConsentMethod.values)}")
    note = consent_note(note)
    staff_id, source = _staff(scope)
    with transaction.atomic():
        patient = patient_in_scope(scope=scope, external_id=patient_external_id)
        for each in channels:
            # consent_change locks the patient's row: an SMS STOP arriving meanwhile comes after this, not under it.
            event = consent_change(patient_id=patient.id, channel=each, purpose=purpose, accepts=accepts,
                                   source=source, staff_id=staff_id, method=method, note=note)
            if not accepts:
                outbox_suppress(patient_ids=[patient.id], channel=each, purpose=purpose,
                                reason=source.partition(":")[0])
        audit_record(action="consent_record", scope=scope,
                     detail={"patient": patient.external_id, "channel": channel, "purpose": purpose,
                             "accepts": accepts, "method": method})
    return consent_entry(event, zone=ZoneInfo(patient.clinic.time_zone), notes=True)


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
    naming them as they were called then — "staff:<name>" on the web, "api:<name>" through an API token of theirs —
    cut to the column: the event shows the user's name from the id, and the name in the source is only the last
    word for a user deleted since. The command line's operator is not a staff user (a user may be called "cli"),
    so their events name no user."""
    if scope.kind is ActorKind.COMMAND_LINE:
        return None, OPERATOR_SOURCE
    prefix = API_SOURCE if scope.via.startswith(API_SOURCE) else STAFF_SOURCE
    return scope.user_id, (prefix + scope.actor)[:SOURCE_MAX]
