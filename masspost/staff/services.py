"""Changing staff: add, disable, change a role or clinics, remember a UI language. Each change is audited."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from masspost.campaigns.audit import audit_record
from masspost.clinic.contact import normalize_email, normalize_phone
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.errors import MasspostError, NotFoundError, SpecError
from masspost.staff.models import ApiToken, StaffMember
from masspost.staff.names import MESSAGES, username_normal, username_problem, username_taken


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


def staff_add(*, username: str, password: str, clinics: Sequence[str], role: str, scope: Scope, phone: str = "",
              email: str = "") -> StaffMember:
    """A new member of staff who can sign in. The name must pass staff.names (Django's rule, one alphabet, not
    another's but for case); the password Django's validators (length, not common, not all digits, not like the
    user name). `phone` / `email`: the user's own, for test sends (checked as `staff_set_contact` does)."""
    scope.require(Role.ADMIN)
    username = username_normal(username.strip())
    if (problem := username_problem(username)) is not None:
        raise MasspostError(MESSAGES[problem])
    user_model = get_user_model()
    if (taken := username_taken(username)) is not None:
        raise MasspostError(f"user {username!r} exists already" if taken == username
                            else f"user {taken!r} exists already, and {username!r} differs from it only in case")
    the_role, chosen = _role(role), _clinics(clinics, scope)
    contact = _contact(phone=phone or None, email=email or None, region=_region(chosen))
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
        _contact_save(member, contact, scope)
    return member


def staff_change(*, scope: Scope, username: str = "", user_id: int | None = None, role: str | None = None,
                 clinics: Sequence[str] | None = None, phone: str | None = None,
                 email: str | None = None) -> StaffMember:
    """A new role or clinics for a user the admin manages (by name, or by id as the staff page does). A role
    raised revokes the live API tokens someone else made for the user (docs/api.md, "Tokens"): tokens for others
    are made only below one's own role, and a raise must not carry one above it. `phone` / `email` (None:
    unchanged, "": removed): the user's own test addresses, as `staff_set_contact` checks them."""
    scope.require(Role.ADMIN)
    member = _member(username, scope, user_id=user_id)
    contact = _contact(phone=phone, email=email, region=_region(list(member.clinics.all())))
    detail: dict[str, object] = {"user": member.user.get_username()}
    with transaction.atomic():
        _contact_save(member, contact, scope)
        if contact and role is None and clinics is None:
            return member  # only the test addresses: their own audit row says so
        if role is not None:
            before, after = Role(member.role), _role(role)
            member.role = after.value
            member.save(update_fields=["role"])
            detail["role"] = member.role
            if after.rank > before.rank and (revoked := ApiToken.objects.filter(
                    user_id=member.user_id, revoked_at=None).exclude(
                    created_by=member.user.get_username()).update(revoked_at=timezone.now())):
                detail["tokens_revoked"] = revoked
        if clinics is not None:
            chosen = _clinics(clinics, scope)
            member.clinics.set(chosen)
            detail["clinics"] = [c.code for c in chosen]
        audit_record(scope=scope, action="user_change", detail=detail)
    return member


def staff_disable(*, scope: Scope, username: str = "", user_id: int | None = None) -> None:
    """The user can no longer sign in, and their open sessions stop working (Django checks is_active on every
    request). Their name stays on the campaigns they made and in the audit log."""
    scope.require(Role.ADMIN)
    member = _member(username, scope, user_id=user_id)
    if scope.user_id is not None and member.user_id == scope.user_id:
        raise MasspostError("you cannot disable yourself: ask another admin")
    with transaction.atomic():
        user = member.user
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(scope=scope, action="user_disable", detail={"user": user.get_username()})


def staff_set_contact(*, scope: Scope, phone: str | None = None, email: str | None = None) -> StaffMember:
    """The signed-in user's own phone and e-mail, where their test sends go (any role may set their own; the web
    profile page and `PATCH /api/v1/me` call this). None leaves a field as it is, "" removes it. The phone is
    stored in E.164 (a number without a country code is read in the country of the user's first clinic), the
    e-mail normalised; a value that cannot be used is SpecError naming the field and why, and nothing changes.
    Audited as "staff_contact" with the fields changed, never their values."""
    if scope.user_id is None:
        raise MasspostError("the command line has no phone or e-mail of its own: set a user's with "
                            "masspost user change NAME --phone … --email …")
    member = StaffMember.objects.select_related("user").filter(user_id=scope.user_id).first()
    if member is None:
        raise NotFoundError("no staff member for this user")
    contact = _contact(phone=phone, email=email, region=_region(list(member.clinics.all())))
    with transaction.atomic():
        _contact_save(member, contact, scope)
    return member


def _region(clinics: Sequence[Clinic]) -> str:
    """Where a phone number written without its country code is read: the country of the user's first clinic."""
    return min(clinics, key=lambda c: c.code).country if clinics else ""


def _contact(*, phone: str | None, email: str | None, region: str) -> dict[str, str]:
    """The fields given, checked and normalised (field → value; "" removes it); SpecError naming the first field
    that cannot be used and why."""
    out: dict[str, str] = {}
    if phone is not None:
        value, problem = normalize_phone(phone, region)
        if problem:
            raise SpecError(f"phone: {problem} (write it with its country code, e.g. +372 5123 4567)")
        out["phone"] = value
    if email is not None:
        value, problem = normalize_email(email)
        if problem:
            raise SpecError(f"e-mail: {problem}")
        out["email"] = value
    return out


def _contact_save(member: StaffMember, contact: dict[str, str], scope: Scope) -> list[str]:
    """Store the checked fields; an audit row "staff_contact" names those that changed (never their values)."""
    changed = [f for f, value in contact.items() if getattr(member, f) != value]
    if changed:
        for f in changed:
            setattr(member, f, contact[f])
        member.save(update_fields=changed)
        audit_record(scope=scope, action="staff_contact", detail={"user": member.user.get_username(),
                                                                  "changed": changed})
    return changed


def staff_set_language(*, user_id: int, language: str) -> None:
    """Remember the UI language a user chose, for their next sign-in on any machine."""
    StaffMember.objects.filter(user_id=user_id).update(language=language)


def _member(username: str, scope: Scope, *, user_id: int | None = None) -> StaffMember:
    """A member of staff the admin may manage, by name or by user id: every clinic of theirs within the admin's
    reach (as for campaigns); anyone else is "not found"."""
    members = StaffMember.objects.select_related("user")
    if user_id is None and "\x00" in username:
        member = None  # no name holds a NUL (PostgreSQL's text cannot): not found, not a database error
    else:
        member = (members.filter(user_id=user_id) if user_id is not None
                  else members.filter(user__username=username)).first()
    if member is not None and scope.clinic_ids is not None \
            and not set(member.clinics.values_list("id", flat=True)) <= scope.clinic_ids:
        member = None
    if member is None:
        raise NotFoundError(f"no user {username!r}" if user_id is None else f"no user #{user_id}")
    return member
