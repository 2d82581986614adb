"""Reading patients for an interface that lists them (the REST API's `GET /patients`): scoped, paginated, and
with names and contacts only for a role that may see them; and a patient's consent as proof, in the one shape the
API's `GET /patients/{external_id}/consent` and `masspost consent export --json` give (docs/consent.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from masspost.clinic.models import AddressStatus, Patient
from masspost.clinic.scope import Role, Scope
from masspost.consent import CHANNELS, PURPOSES
from masspost.errors import NotFoundError

if TYPE_CHECKING:
    from masspost.clinic.consent import ConsentEntry, PatientDetail

# Who may see a patient's name, birth date and contacts: the roles that send to them. A preparer composes and
# previews from counts and external ids — in every interface: GET /patients, the preview's recipients.csv and
# excluded.csv (web, API), each through sees_contacts (docs/ui.md, "Roles").
SEES_CONTACTS = Role.SENDER


def sees_contacts(scope: Scope) -> bool:
    """Whether the actor may see patients' names and contacts: the one rule every list of patients keeps."""
    return scope.may(SEES_CONTACTS)


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientRow:
    external_id: str
    clinic: str
    language: str
    country: str
    status: str
    accepts_sms: bool  # the channel as a whole ("service"): withdrawn, nothing goes on it
    accepts_email: bool
    marketing_sms: bool  # offers on the channel (sent only where the channel as a whole is accepted too)
    marketing_email: bool
    phone_status: str  # none | valid | invalid: whether an SMS could reach them
    email_status: str
    # Only for SEES_CONTACTS; None otherwise.
    first_name: str | None = None
    last_name: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def marketing_consent(self) -> bool:
        """Deprecated (before issue 20 marketing was one consent): marketing consent on either channel."""
        return self.marketing_sms or self.marketing_email


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientPage:
    rows: list[PatientRow]
    number: int
    per_page: int
    count: int


def patient_page(*, scope: Scope, clinic: str = "", ref_prefix: str = "", page: int = 1,
                 per_page: int = 50) -> PatientPage:
    """Patients of the scope's clinics (of `clinic` only, when given: another clinic's code is NotFoundError,
    as one that does not exist), by external id, optionally those whose external id starts with `ref_prefix`
    (an exact id is its own prefix). A page past the last is empty."""
    rows = Patient.objects.filter(clinic__in=scope.clinics())
    if clinic:
        if not scope.clinics().filter(code=clinic).exists():
            raise NotFoundError(f"no clinic {clinic!r}")
        rows = rows.filter(clinic__code=clinic)
    if ref_prefix:
        rows = rows.filter(external_id__startswith=ref_prefix)
    count = rows.count()
    number = max(page, 1)
    start = (number - 1) * per_page
    contacts = sees_contacts(scope)
    listed = rows.select_related("clinic").order_by("external_id")[start:start + per_page]
    return PatientPage(rows=[patient_row(p, contacts) for p in listed], number=number, per_page=per_page, count=count)


def patient_row(p: Patient, contacts: bool) -> PatientRow:
    """A patient as a list or page shows them: names, birth date and contacts only if `contacts` (sees_contacts)."""
    extra: dict[str, Any] = {"first_name": p.first_name, "last_name": p.last_name, "birth_date": p.birth_date,
             "phone": p.phone_e164 or p.phone, "email": p.email_normalized or p.email} if contacts else {}
    return PatientRow(external_id=p.external_id, clinic=p.clinic.code, language=p.language, country=p.country,
                      status=p.status, accepts_sms=p.accepts_sms, accepts_email=p.accepts_email,
                      marketing_sms=p.marketing_sms, marketing_email=p.marketing_email,
                      phone_status=AddressStatus(p.phone_status).name.lower(),
                      email_status=AddressStatus(p.email_status).name.lower(), **extra)


def scope_narrowed(*, scope: Scope, clinic: str) -> Scope:
    """The scope with one of its clinics only (the command line's `--clinic CODE`); a clinic outside it is
    NotFoundError, as one that does not exist."""
    found = scope.clinics().filter(code=clinic).values_list("id", flat=True).first()
    if found is None:
        raise NotFoundError(f"no clinic {clinic!r}")
    return replace(scope, clinic_ids=frozenset({found}))


# The sources (ConsentEntry's kinds) recorded by someone: their `staff`, `method` and `note` mean something (the
# command line's operator names nobody).
RECORDED_BY_STAFF = frozenset({"staff", "api", "operator"})


def consent_event_json(entry: ConsentEntry) -> dict[str, Any]:
    """One event as proof: when (in the clinic's time, with its offset), what, where it came from, who recorded
    it and how, the words the patient was shown (or the import's file), and the campaign it came from. `note` is
    None where the reader may not see it (a preparer: it may name the patient) and for events that have none."""
    by_staff = entry.source in RECORDED_BY_STAFF
    return {"id": entry.id, "at": entry.at, "channel": entry.channel, "purpose": entry.purpose,
            "accepts": entry.accepts, "source": entry.source,
            "staff": (entry.staff or None) if by_staff else None,
            "method": entry.method or None, "note": entry.note if by_staff else None,
            "wording": entry.wording or None, "campaign_id": entry.campaign_id}


def consent_proof(detail: PatientDetail) -> dict[str, Any]:
    """A patient's consent now and every change of it, oldest first: the API's `GET …/consent` and the command
    line's `consent export --json` alike."""
    return {"external_id": detail.patient.external_id, "clinic": detail.patient.clinic,
            "time_zone": detail.time_zone,
            "consent": {channel: {purpose: detail.consent.get(channel, purpose) for purpose in PURPOSES}
                        for channel in CHANNELS},
            "events": [consent_event_json(e) for e in detail.history]}
