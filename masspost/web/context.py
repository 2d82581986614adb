from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from masspost.clinic.scope import Role, Scope
from masspost.web.roles import role_name


def staff(request: HttpRequest) -> dict[str, Any]:
    """What the page frame shows: the user's role (for the menu, in words) and, for a user of one clinic, its
    name — never used to allow anything."""
    scope = getattr(request, "scope", None)
    return {"scope": scope, "may_send": bool(scope and scope.may(Role.SENDER)),
            "is_admin": bool(scope and scope.may(Role.ADMIN)),
            "role_name": role_name(scope.role) if scope else "",
            # A callable: the template calls it, so a page that shows no header (a partial) makes no query.
            "own_clinic": (lambda: _own_clinic(scope)) if scope else ""}


def _own_clinic(scope: Scope) -> str:
    """The name of the user's clinic when they have exactly one (a receptionist's usual case), else ""."""
    if scope.clinic_ids is None or len(scope.clinic_ids) != 1:
        return ""
    clinic = scope.clinics().only("name").first()
    return clinic.name if clinic else ""
