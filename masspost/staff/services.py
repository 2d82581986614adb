"""Changing staff: add, disable, change a role or clinics, remember a UI language. Each change is audited."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from masspost.campaigns.audit import audit_record
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.errors import MasspostError, NotFoundError
from masspost.staff.models import StaffMember


def _clinics(codes: Sequence[str], scope: Scope) -> list[Clinic]:
    """The clinics named, all of which the admin must reach: an admin of one clinic cannot give anyone another."""
    if not codes:
        raise MasspostError("a user needs at least one clinic (--clinic CODE)")
    found = {c.code: c for c in scope.clinics().filter(code__in=codes)}
    if missing := [c for c in codes if c not in found]:
        raise MasspostError(f"no clinic {', '.join(missing)} (masspost import clinics adds clinics)")
    return [found[c] for c in dict.fromkeys(codes)]


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise MasspostError(f"role {value!r} is not one of {' | '.join(r.value for r in Role)}") from None


def staff_add(*, username: str, password: str, clinics: Sequence[str], role: str, scope: Scope) -> StaffMember:
    """A new member of staff who can sign in. The password must pass Django's validators (length, not common,
    not all digits, not like the user name)."""
    scope.require(Role.ADMIN)
    username = username.strip()
    if not username:
        raise MasspostError("a user needs a name")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise MasspostError(f"user {username!r} exists already")
    the_role, chosen = _role(role), _clinics(clinics, scope)
    candidate = user_model(username=username)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise MasspostError("password: " + " ".join(exc.messages)) from None
    with transaction.atomic():
        user = user_model.objects.create_user(username=username, password=password)
        member = StaffMember.objects.create(user=user, role=the_role.value)
        member.clinics.set(chosen)
        audit_record(scope=scope, action="user_add",
                     detail={"user": username, "role": the_role.value, "clinics": [c.code for c in chosen]})
    return member


def staff_change(*, username: str, scope: Scope, role: str | None = None,
                 clinics: Sequence[str] | None = None) -> StaffMember:
    scope.require(Role.ADMIN)
    member = _member(username, scope)
    detail: dict[str, object] = {"user": username}
    with transaction.atomic():
        if role is not None:
            member.role = _role(role).value
            member.save(update_fields=["role"])
            detail["role"] = member.role
        if clinics is not None:
            chosen = _clinics(clinics, scope)
            member.clinics.set(chosen)
            detail["clinics"] = [c.code for c in chosen]
        audit_record(scope=scope, action="user_change", detail=detail)
    return member


def staff_disable(*, username: str, scope: Scope) -> None:
    """The user can no longer sign in, and their open sessions stop working (Django checks is_active on every
    request). Their name stays on the campaigns they made and in the audit log."""
    scope.require(Role.ADMIN)
    member = _member(username, scope)
    if username == scope.actor:
        raise MasspostError("you cannot disable yourself: ask another admin")
    with transaction.atomic():
        user = member.user
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(scope=scope, action="user_disable", detail={"user": username})


def staff_set_language(*, user_id: int, language: str) -> None:
    """Remember the UI language a user chose, for their next sign-in on any machine."""
    StaffMember.objects.filter(user_id=user_id).update(language=language)


def _member(username: str, scope: Scope) -> StaffMember:
    """A member of staff the admin may manage: every clinic of theirs within the admin's reach (as for
    campaigns); anyone else is "not found"."""
    member = StaffMember.objects.select_related("user").filter(user__username=username).first()
    if member is not None and scope.clinic_ids is not None \
            and not set(member.clinics.values_list("id", flat=True)) <= scope.clinic_ids:
        member = None
    if member is None:
        raise NotFoundError(f"no user {username!r}")
    return member
