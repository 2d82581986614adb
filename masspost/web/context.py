from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from masspost.clinic.scope import Role


def staff(request: HttpRequest) -> dict[str, Any]:
    """What the page frame shows: the user's role (for the menu) — never used to allow anything."""
    scope = getattr(request, "scope", None)
    return {"scope": scope, "may_send": bool(scope and scope.may(Role.SENDER)),
            "is_admin": bool(scope and scope.may(Role.ADMIN))}
