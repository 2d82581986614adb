"""Who the token is, its clinics, and their patients."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.problems import body_fields
from masspost.api.schemas import ClinicOut, ClinicSettingsIn, MeIn, MeOut, PatientsOut, Problem, QueryText, page_of
from masspost.campaigns.clinic_settings import DKIM_KEY_MAX, clinic_settings_change
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.clinic.selectors import patient_page
from masspost.delivery.dkim import clinic_record
from masspost.staff.selectors import scope_clinics, staff_contact
from masspost.staff.services import staff_set_contact

router = Router(tags=["clinics and patients"])
PER_PAGE_MAX = 200


def _me(scope: Scope, *, phone: str, email: str) -> dict[str, Any]:
    return {"user": scope.actor, "role": scope.role.value, "token": scope.via.removeprefix("api:"),
            "clinics": [c.code for c in scope_clinics(scope=scope)], "phone": phone, "email": email}


@router.get("/me", response=MeOut, summary="The token's user, role, clinics and own phone and e-mail")
def me(request: HttpRequest) -> Any:
    """`phone` and `email` are your own, where test sends go (`POST /campaigns/test`)."""
    scope = scope_of(request)
    phone, email = staff_contact(scope=scope)
    return _me(scope, phone=phone, email=email)


@router.patch("/me", response={200: MeOut, 422: Problem}, summary="Set your own phone and e-mail")
def me_change(request: HttpRequest, body: MeIn) -> Any:
    """Where your test sends go; any role may set their own. A key left out stays as it is, "" removes it. A
    value that cannot be used is 422 naming the field, and nothing changes."""
    scope = scope_of(request)
    with body_fields():
        member = staff_set_contact(scope=scope, phone=body.phone, email=body.email)
    return _me(scope, phone=member.phone, email=member.email)


class ClinicSettingsOut(ClinicOut):
    """A clinic with its settings; its DKIM key is never returned, only whether one is set and what to publish."""

    sms_reply_number: str = Field(description="the number patients can text STOP to, named in a marketing SMS's "
                                  "opt-out line when there is no link (E.164; \"\": none)")
    dkim_selector: str = Field(description="the clinic's own DKIM selector (\"\": the installation's key signs)")
    dkim_key_set: bool = Field(description="whether the clinic has its own DKIM private key (write-only)")
    dkim_key_fingerprint: str | None = Field(description="SHA-256 of the key's public half, `SHA256:…`; null: none")
    dkim_dns_record: str | None = Field(description="the DNS TXT record to publish for the clinic's own key: "
                                        "`SELECTOR._domainkey.DOMAIN TXT \"v=DKIM1; k=rsa; p=…\"`; null: none")

    @staticmethod
    def resolve_dkim_key_set(obj: Clinic) -> bool:
        return bool(obj.dkim_key)

    @staticmethod
    def resolve_dkim_key_fingerprint(obj: Clinic) -> str | None:
        record = clinic_record(obj)
        return record.fingerprint if record else None

    @staticmethod
    def resolve_dkim_dns_record(obj: Clinic) -> str | None:
        record = clinic_record(obj)
        return record.line() if record else None


class ClinicSettingsPatch(ClinicSettingsIn):
    sms_reply_number: str | None = Field(None, max_length=40, examples=["+37251234567"],
                                         description="a number that can take SMS; \"\" or null: none")
    dkim_selector: str | None = Field(None, max_length=63, examples=["mail2026"],
                                      description="letters, digits and hyphens, dots between parts; \"\": none")
    dkim_key: str | None = Field(None, max_length=DKIM_KEY_MAX,
                                 description="WRITE-ONLY: the clinic's own PEM RSA private key (unencrypted, at least "
                                 "1024 bits), checked by signing with it; null or \"\" removes it (and the "
                                 "selector, unless one is given)")


@router.get("/clinics", response=list[ClinicSettingsOut],
            summary="The clinics the token reaches, with their settings")
def clinics(request: HttpRequest) -> Any:
    """Each clinic's contacts and its sending rules: its windows for marketing and service messages (in its own
    time zone), public holidays, approval thresholds, the test-before-marketing rule, the recently-messaged
    days; its SMS reply number, and its own DKIM selector and whether it has its own key (never the key: its
    fingerprint and the TXT record to publish)."""
    return scope_clinics(scope=scope_of(request))


CLINIC = Path(..., min_length=1, max_length=32, description="the clinic's code")


@router.patch("/clinics/{code}", response={200: ClinicSettingsOut, 403: Problem, 404: Problem, 422: Problem},
              summary="Change a clinic's settings (admin)")
def clinic_change(request: HttpRequest, body: ClinicSettingsPatch, code: QueryText = CLINIC) -> Any:
    """The keys given change, the rest stay; `null` clears a threshold, the reply number or the DKIM key. A
    window that cannot be read (like `Mon-Sat 09:00-20:00`), a key that cannot sign or another bad value is 422
    naming the field, and nothing changes. `dkim_key` is write-only: the answer says `dkim_key_set` and the key's
    fingerprint. Another clinic than yours: 404. Audited ("clinic_settings", the fields changed; of the key only
    "set" or "removed")."""
    with body_fields():
        return clinic_settings_change(scope=scope_of(request), code=code, values=body.model_dump(exclude_unset=True))


class PatientsQuery(Schema):
    clinic: QueryText = Field("", max_length=32, description="one clinic's code; none: all of yours")
    q: QueryText = Field("", max_length=64,
                         description="external ids starting with this (an exact id is its own prefix)")
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=PER_PAGE_MAX)


@router.get("/patients", response={200: PatientsOut, 404: Problem}, summary="Patients, by external id")
def patients(request: HttpRequest, query: Query[PatientsQuery]) -> Any:
    """Names, birth dates and contacts only for the sender and admin roles (null for a preparer)."""
    page = patient_page(scope=scope_of(request), clinic=query.clinic, ref_prefix=query.q, page=query.page,
                        per_page=query.per_page)
    return page_of(page.rows, page=page.number, per_page=page.per_page, count=page.count)
