"""Who the token is, its clinics, and their patients."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.schemas import ClinicOut, PatientsOut, Problem, QueryText, page_of
from masspost.clinic.selectors import patient_page
from masspost.staff.selectors import scope_clinics

router = Router(tags=["clinics and patients"])
PER_PAGE_MAX = 200


class MeOut(Schema):
    user: str
    role: str
    token: str
    clinics: list[str]


@router.get("/me", response=MeOut, summary="The token's user, role and clinics")
def me(request: HttpRequest) -> Any:
    scope = scope_of(request)
    return {"user": scope.actor, "role": scope.role.value, "token": scope.via.removeprefix("api:"),
            "clinics": [c.code for c in scope_clinics(scope=scope)]}


@router.get("/clinics", response=list[ClinicOut], summary="The clinics the token reaches")
def clinics(request: HttpRequest) -> Any:
    return scope_clinics(scope=scope_of(request))


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
