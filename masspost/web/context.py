from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from masspost.campaigns.approvals import approvals_waiting
from masspost.clinic.scope import Role, Scope
from masspost.web.roles import role_name


def staff(request: HttpRequest) -> dict[str, Any]:
    """What the page frame shows: the user's role (for the menu, in words), for a user of one clinic its name,
    and for senders and admins how many campaigns wait for their approval (the badge) — never used to allow
    anything."""
    scope = getattr(request, "scope", None)
    return {"scope": scope, "may_send": bool(scope and scope.may(Role.SENDER)),
            "is_admin": bool(scope and scope.may(Role.ADMIN)),
            "role_name": role_name(scope.role) if scope else "",
            # Callables: the template calls them, so a page that shows no header (a partial) makes no query.
            "own_clinic": (lambda: _own_clinic(scope)) if scope else "",
            "approvals_badge": (lambda: _approvals_badge(request, scope)) if scope else 0}


def _own_clinic(scope: Scope) -> str:
    """The name of the user's clinic when they have exactly one (a receptionist's usual case), else ""."""
    if scope.clinic_ids is None or len(scope.clinic_ids) != 1:
        return ""
    clinic = scope.clinics().only("name").first()
    return clinic.name if clinic else ""


_BADGE = "_masspost_approvals_waiting"


def _approvals_badge(request: HttpRequest, scope: Scope) -> int:
    """How many campaigns wait for this user's approval: one COUNT (approvals_waiting), once per request however
    often the page asks; 0 for a preparer, who cannot approve, without a query."""
    if not scope.may(Role.SENDER):
        return 0
    cached = getattr(request, _BADGE, None)
    if cached is None:
        cached = approvals_waiting(scope=scope)
        setattr(request, _BADGE, cached)
    return int(cached)
