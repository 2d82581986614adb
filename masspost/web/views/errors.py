"""The site's 500 handler (masspost.urls.handler500): what Django answers for an exception no view and no
process_exception handled — one raised in a middleware before the view (StaffScopeMiddleware signing out an
expired session writes the session there), say.

A busy database (masspost.busy) is the busy page, 503 with Retry-After, as everywhere else; anything else is
Django's plain 500 page. Django has logged the exception (`django.request`, its frames only: masspost.logs) before
it calls this."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from masspost.busy import RETRY_AFTER, database_busy
from masspost.web.middleware import busy_page, busy_words


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]  # Django calls the handler while it handles the exception
    if exc is None or not database_busy(exc):
        return defaults.server_error(request)
    try:
        return busy_page(request)
    except Exception:  # the page itself needs the database (the user, say), which is still busy: the words alone
        response = HttpResponse(busy_words(), status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER)
        add_never_cache_headers(response)
        return response
