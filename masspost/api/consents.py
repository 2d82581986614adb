"""One patient, their consent now and every change of it as proof; consent recorded by staff (docs/api.md,
"A patient's consent"; docs/consent.md). No route updates or deletes an event: the ledger is append-only."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field, model_validator

from masspost.api.auth import scope_of
from masspost.api.schemas import PatientOut, Problem, QueryText, Strict
from masspost.campaigns.consent import NOTE_MAX, consent_record_by_staff
from masspost.clinic.consent import patient_detail
from masspost.clinic.models import ConsentMethod
from masspost.clinic.selectors import consent_event_json, consent_proof

router = Router(tags=["clinics and patients"])

EXTERNAL_ID = Path(..., min_length=1, max_length=64, description="the patient's external id")
Method = ConsentMethod  # the model's choices: in-person, signed-form, phone, email, other
SOURCES = ("import (the clinic's file; `wording` names it) | unsubscribe (the patient's unsubscribe link: "
           "`wording` is the button they pressed, `campaign_id` the message's campaign) | sms-stop (the patient's "
           "SMS STOP) | provider (the patient opted out with the SMS provider: Twilio 21610) | staff (recorded by "
           "`staff` in the web UI) | api (recorded by `staff` through an API token) | operator (the command line) "
           "| migrated (a consent masspost held before its ledger, with no event to show for it); another value: "
           "a source of a later version, as stored")


class ConsentEventOut(Schema):
    id: int
    at: dt.datetime = Field(description="when, in the clinic's time zone (with its offset)")
    channel: Literal["sms", "email"]
    purpose: Literal["service", "marketing"] = Field(
        description="service: the channel as a whole (withdrawn, nothing goes on it); marketing: offers on it")
    accepts: bool = Field(description="true: consent given; false: withdrawn")
    source: str = Field(description=SOURCES)
    staff: str | None = Field(description="the member of staff who recorded it (staff, api); null otherwise")
    method: Method | None = Field(description="how the patient gave it, for staff, api and operator events; "
                                              "null otherwise")
    note: str | None = Field(description="the staff's note (staff, api, operator); null for other sources and "
                                         "for a preparer")
    wording: str | None = Field(description="what the patient was shown and agreed to (an unsubscribe page's "
                                             "button), or the import's file: proof; null where there was none")
    campaign_id: int | None = Field(description="the campaign the event came from (an unsubscribe link's), "
                                                "if any")


class ChannelConsentOut(Schema):
    service: bool = Field(description="messages on the channel at all (appointment reminders and the like)")
    marketing: bool = Field(description="offers on the channel (sent only where `service` is true too)")


class ConsentNowOut(Schema):
    sms: ChannelConsentOut
    email: ChannelConsentOut


class PatientDetailOut(PatientOut):
    clinic_name: str
    time_zone: str
    consents: list[ConsentEventOut] = Field(description="every change of the patient's consent, oldest first")


class ConsentOut(Schema):
    external_id: str
    clinic: str = Field(description="the patient's clinic's code")
    time_zone: str = Field(description="the clinic's time zone: every event's `at` is in it")
    consent: ConsentNowOut = Field(description="the consent now: the latest event of each channel and purpose "
                                               "(none: service yes, marketing no)")
    events: list[ConsentEventOut] = Field(description="every change of the patient's consent, oldest first")
    items: list[ConsentEventOut] = Field(deprecated=True,
                                         description="deprecated: the same list as `events`, for clients of the "
                                                     "`…/consents` of earlier versions")


class ConsentIn(Strict):
    channel: Literal["sms", "email", "marketing"] = Field(
        description="sms or email; \"marketing\" (deprecated, from before purposes) is purpose marketing on both "
                    "channels: two events")
    purpose: Literal["service", "marketing"] | None = Field(
        None, description="service (default): the channel as a whole — withdrawn, nothing goes on it; marketing: "
                          "offers on the channel")
    accepts: bool = Field(description="true: the patient gives consent; false: withdraws it")
    method: Method = Field(description="how the patient gave it: in person, a signed form, a phone call, an "
                                       "e-mail from them, other (say how in the note)")
    note: str = Field("", max_length=NOTE_MAX, description="optional, one line; only senders and admins read it")

    @model_validator(mode="after")
    def _legacy_marketing(self) -> ConsentIn:
        if self.channel == "marketing" and self.purpose == "service":
            raise ValueError('channel "marketing" is purpose marketing on both channels: give channel sms or '
                             'email for purpose service')
        return self


@router.get("/patients/{external_id}", response={200: PatientDetailOut, 404: Problem},
            summary="One patient, with their consents")
def patient(request: HttpRequest, external_id: QueryText = EXTERNAL_ID) -> Any:
    """Names, birth date and contacts only for the sender and admin roles (null for a preparer), as in
    `GET /patients`. Another clinic's patient is 404, as one that does not exist."""
    detail = patient_detail(scope=scope_of(request), external_id=external_id)
    return {**_fields(detail.patient), "clinic_name": detail.clinic_name, "time_zone": detail.time_zone,
            "consents": [consent_event_json(e) for e in detail.history]}


@router.get("/patients/{external_id}/consent", response={200: ConsentOut, 404: Problem},
            summary="A patient's consent and its history, as proof")
def consent(request: HttpRequest, external_id: QueryText = EXTERNAL_ID) -> Any:
    """The consent now, per channel and purpose, and every event that made it, oldest first — when, where it
    came from, who recorded it and how, the words the patient was shown, the campaign. The same as `masspost
    consent export EXTERNAL_ID --json`. Notes are null for a preparer. Another clinic's patient is 404."""
    return _proof(request, external_id)


@router.get("/patients/{external_id}/consents", response={200: ConsentOut, 404: Problem}, deprecated=True,
            summary="A patient's consent history (alias of …/consent)")
def consents(request: HttpRequest, external_id: QueryText = EXTERNAL_ID) -> Any:
    """The same as `GET /patients/{external_id}/consent`, kept for clients of earlier versions (which read
    `items`)."""
    return _proof(request, external_id)


@router.post("/patients/{external_id}/consents", response={201: ConsentEventOut, 403: Problem, 404: Problem},
             summary="Record a patient's consent")
def consent_add(request: HttpRequest, body: ConsentIn, external_id: QueryText = EXTERNAL_ID) -> Any:
    """What the patient told staff: consent given (or withdrawn) for a channel and purpose, and how. Sets the
    patient's consent and adds it to their history under the token's user; audited. This is how a patient's own
    opt-out (an SMS STOP, an unsubscribe link), which no import undoes, is renewed. Sender and admin roles only.
    The deprecated channel "marketing" records marketing on both channels: two events, the e-mail one (the
    later) is the answer."""
    entry = consent_record_by_staff(scope=scope_of(request), patient_external_id=external_id,
                                    channel=body.channel, purpose=body.purpose or "service", accepts=body.accepts,
                                    method=body.method, note=body.note)
    return Status(201, consent_event_json(entry))


def _proof(request: HttpRequest, external_id: str) -> dict[str, Any]:
    proof = consent_proof(patient_detail(scope=scope_of(request), external_id=external_id))
    return proof | {"items": proof["events"]}


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PatientOut.model_fields}
