"""One patient, their consents and their history; consent recorded by staff (docs/api.md, "Consent")."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.schemas import PatientOut, Problem, QueryText, Strict
from masspost.campaigns.consent import NOTE_MAX, consent_record_by_staff
from masspost.clinic.consent import ConsentEntry, consent_history, patient_detail
from masspost.clinic.models import ConsentMethod

router = Router(tags=["clinics and patients"])

EXTERNAL_ID = Path(..., min_length=1, max_length=64, description="the patient's external id")
Method = ConsentMethod  # the model's choices: in-person, signed-form, phone, email, other


class ConsentEventOut(Schema):
    id: int
    at: dt.datetime = Field(description="when, in the clinic's time zone (with its offset)")
    channel: Literal["sms", "email", "marketing"]
    accepts: bool
    source: str = Field(description="import | sms-stop (the patient's SMS STOP) | unsubscribe (the patient's "
                                    "unsubscribe link) | provider (the patient opted out with the SMS provider: "
                                    "Twilio 21610) | staff (recorded by `staff`) | operator (the command line)")
    staff: str | None = Field(description="the member of staff who recorded it; null for other sources")
    method: Method | None = Field(description="how the patient gave it, for staff events; null otherwise")
    note: str | None = Field(description="the staff's note; null for other sources and for a preparer")


class PatientDetailOut(PatientOut):
    clinic_name: str
    time_zone: str
    consents: list[ConsentEventOut] = Field(description="every change of the patient's consent, oldest first")


class ConsentsOut(Schema):
    external_id: str
    items: list[ConsentEventOut] = Field(description="oldest first")


class ConsentIn(Strict):
    channel: Literal["sms", "email", "marketing"]
    accepts: bool = Field(description="true: the patient gives consent; false: withdraws it")
    method: Method = Field(description="how the patient gave it: in person, a signed form, a phone call, an "
                                       "e-mail from them, other (say how in the note)")
    note: str = Field("", max_length=NOTE_MAX, description="optional, one line; only senders and admins read it")


def _event(e: ConsentEntry) -> dict[str, Any]:
    recorded = e.source in ("staff", "operator")
    return {"id": e.id, "at": e.at, "channel": e.channel, "accepts": e.accepts, "source": e.source,
            "staff": e.staff if e.source == "staff" else None, "method": e.method or None,
            "note": e.note if recorded else None}


@router.get("/patients/{external_id}", response={200: PatientDetailOut, 404: Problem},
            summary="One patient, with their consents")
def patient(request: HttpRequest, external_id: QueryText = EXTERNAL_ID) -> Any:
    """Names, birth date and contacts only for the sender and admin roles (null for a preparer), as in
    `GET /patients`. Another clinic's patient is 404, as one that does not exist."""
    detail = patient_detail(scope=scope_of(request), external_id=external_id)
    return {**_fields(detail.patient), "clinic_name": detail.clinic_name, "time_zone": detail.time_zone,
            "consents": [_event(e) for e in detail.history]}


@router.get("/patients/{external_id}/consents", response={200: ConsentsOut, 404: Problem},
            summary="A patient's consent history")
def consents(request: HttpRequest, external_id: QueryText = EXTERNAL_ID) -> Any:
    history = consent_history(scope=scope_of(request), external_id=external_id)
    return {"external_id": external_id, "items": [_event(e) for e in history]}


@router.post("/patients/{external_id}/consents", response={201: ConsentEventOut, 403: Problem, 404: Problem},
             summary="Record a patient's consent")
def consent_add(request: HttpRequest, body: ConsentIn, external_id: QueryText = EXTERNAL_ID) -> Any:
    """What the patient told staff: consent given (or withdrawn) for a channel, and how. Sets the patient's
    consent and adds it to their history under the token's user; audited. This is how a patient's own opt-out
    (an SMS STOP, an unsubscribe link), which no import undoes, is renewed. Sender and admin roles only."""
    entry = consent_record_by_staff(scope=scope_of(request), patient_external_id=external_id,
                                    channel=body.channel, accepts=body.accepts, method=body.method, note=body.note)
    return Status(201, _event(entry))


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PatientOut.model_fields}
