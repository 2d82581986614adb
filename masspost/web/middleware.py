"""Per request: the user's Scope (built once, in masspost.staff), the idle-session limit, and the one place
where domain errors become HTTP responses."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from masspost.errors import MasspostError, NotFoundError, PermissionDeniedError
from masspost.http import client_address
from masspost.staff.selectors import staff_scope


class StaffScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get("seen", now)
            if now - last > settings.MASSPOST_SESSION_IDLE:
                logout(request)
            elif now - last >= 60 or "seen" not in request.session:
                request.session["seen"] = now  # a write a minute at most, not one per request
        request.scope = staff_scope(user=request.user, address=client_address(request))  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFoundError | Http404):
            # Another clinic's campaign is "not found", exactly like one that does not exist.
            return render(request, "web/error.html", {"title": _("Not found"),
                                                      "message": _("There is nothing here, or not for you.")},
                          status=404)
        if isinstance(exception, PermissionDeniedError):
            return render(request, "web/error.html", {"title": _("Not allowed"),
                                                      "message": _("Your role may not do this.")}, status=403)
        if isinstance(exception, MasspostError):
            return render(request, "web/error.html", {"title": _("Cannot do that"), "message": str(exception)},
                          status=400)
        return None
