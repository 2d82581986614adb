"""Per request: the user's Scope (built once, in masspost.staff), the idle-session limit, and the one place
where domain errors become HTTP responses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from masspost.errors import MasspostError, NotFoundError, PermissionDeniedError
from masspost.staff.selectors import staff_scope


def client_address(request: HttpRequest) -> str:
    # gunicorn sets REMOTE_ADDR from the forwarded header only for the proxies it is told to trust
    # (`--forwarded-allow-ips`), so a client cannot write its own address into the audit log.
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


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
            else:
                request.session["seen"] = now
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


def scope_of(request: Any) -> Any:
    return request.scope
