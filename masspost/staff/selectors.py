"""Reading staff: the one place a signed-in user's Scope is built, and the list of users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.staff.models import StaffMember


def staff_scope(*, user: Any, address: str = "") -> Scope | None:
    """What `user` may reach: their clinics and role. None for a user who is not staff (no clinics, no role) —
    such an account reaches nothing. Every view, API handler and export gets its Scope from here."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    member = StaffMember.objects.filter(user_id=user.pk).only("role").first()
    if member is None:
        return None
    clinic_ids = frozenset(member.clinics.values_list("id", flat=True))
    return Scope(actor=user.get_username(), user_id=user.pk, clinic_ids=clinic_ids, role=Role(member.role),
                 address=address)


def staff_contact(*, scope: Scope) -> tuple[str, str]:
    """The signed-in user's own test phone (E.164) and e-mail, ("", "") when none (or for the command line)."""
    if scope.user_id is None:
        return "", ""
    row = StaffMember.objects.filter(user_id=scope.user_id).values_list("phone", "email").first()
    return (row[0], row[1]) if row else ("", "")


def staff_language(*, user_id: int) -> str:
    return StaffMember.objects.filter(user_id=user_id).values_list("language", flat=True).first() or ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StaffRow:
    user_id: int  # what the staff page's buttons name the user by: a name may be anything stored before staff.names
    username: str
    role: str
    clinics: tuple[str, ...]
    active: bool
    last_login: Any
    phone: str = ""  # the user's own test addresses (their own, never a patient's)
    email: str = ""


def staff_list(*, scope: Scope) -> list[StaffRow]:
    """The staff an admin manages: those whose clinics are all within the admin's reach (the operator: all)."""
    scope.require(Role.ADMIN)
    members = StaffMember.objects.select_related("user").prefetch_related("clinics").order_by("user__username")
    return [StaffRow(user_id=m.user_id, username=m.user.get_username(), role=m.role,
                     clinics=tuple(sorted(c.code for c in m.clinics.all())), active=m.user.is_active,
                     last_login=m.user.last_login, phone=m.phone, email=m.email) for m in members
            if scope.clinic_ids is None or {c.id for c in m.clinics.all()} <= scope.clinic_ids]


def scope_clinics(*, scope: Scope) -> list[Clinic]:
    """The clinics a user may choose from, by name."""
    return list(scope.clinics().order_by("name", "code"))
