"""Per request: the user's Scope (built once, in masspost.staff), the session's limits (8 hours from sign-in,
an hour idle), `Cache-Control: no-store` on whatever may show patient data, and the one place where domain errors
become HTTP responses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout, user_logged_in
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import OperationalError
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from masspost.busy import RETRY_AFTER, database_busy
from masspost.errors import ConflictError, MasspostError, NotFoundError, PermissionDeniedError
from masspost.http import client_address
from masspost.staff.selectors import staff_scope
from masspost.web.refusals import conflict_message

SIGNED_IN_AT = "signed_in_at"  # in the session: when its user signed in (seconds since the epoch)
API_PATH = "/api/"


def clock() -> int:
    """Now, in whole seconds since the epoch: the session limits' clock (tests move it)."""
    return int(time.time())


@receiver(user_logged_in, dispatch_uid="masspost.web.signed_in_at")
def _signed_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = clock()  # the 8 hours start now


class StaffScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in:
            _session_limits(request)
        request.scope = staff_scope(user=request.user, address=client_address(request))  # type: ignore[attr-defined]
        response = self.get_response(request)
        if signed_in or request.path.startswith(API_PATH):
            # A signed-in page or any API answer may hold names and contacts (lists, CSVs, the preview): never
            # kept by the browser or a proxy — reception PCs are shared. Static files never come this far.
            add_never_cache_headers(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFoundError | Http404):
            # Another clinic's campaign is "not found", exactly like one that does not exist.
            return render(request, "web/error.html", {"title": _("Not found"),
                                                      "message": _("There is nothing here, or not for you.")},
                          status=404)
        if isinstance(exception, PermissionDeniedError):
            return render(request, "web/error.html", {"title": _("Not allowed"),
                                                      "message": _("Your role may not do this.")}, status=403)
        if isinstance(exception, ConflictError):
            # A control that does not apply to the campaign as it is now: refused, nothing changed.
            return render(request, "web/error.html", {"title": _("Not possible now"),
                                                      "message": conflict_message(exception)}, status=409)
        if database_busy(exception):  # a write lock held past the busy timeout: never a 500 (masspost.busy)
            return busy_page(request)
        if isinstance(exception, MasspostError):
            return render(request, "web/error.html", {"title": _("Cannot do that"), "message": str(exception)},
                          status=400)
        return None


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, but a session that cannot be saved because the database is busy (the save comes after the view,
    past process_exception) is the busy page, not a 500."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except OperationalError as exc:
            if not database_busy(exc):
                raise
            return busy_page(request)


def busy_words() -> str:
    return _("The database is busy (a large import is being written). Nothing was changed: try again in a moment.")


def busy_page(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the database is busy (masspost.busy). Also the 500 handler's answer for a busy
    database met outside any view (masspost.web.views.errors)."""
    response = render(request, "web/error.html", {"title": _("Busy"), "message": busy_words()}, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    add_never_cache_headers(response)
    return response


def _session_limits(request: HttpRequest) -> None:
    """Signed out 8 hours (SESSION_COOKIE_AGE) after signing in, whatever happened since, or after an hour
    without a request (MASSPOST_SESSION_IDLE). Django's own expiry slides with every save of the session, so
    the sign-in time is kept in the session and checked here; a session from before it was kept starts its
    8 hours now."""
    now = clock()
    since = request.session.setdefault(SIGNED_IN_AT, now)
    last = request.session.get("seen", now)
    if now - since >= settings.SESSION_COOKIE_AGE or now - last > settings.MASSPOST_SESSION_IDLE:
        logout(request)
    elif now - last >= 60 or "seen" not in request.session:
        request.session["seen"] = now  # a write a minute at most, not one per request
