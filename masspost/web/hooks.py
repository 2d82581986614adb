"""The HTTP SMS providers' webhooks (`POST /hooks/<provider>/<kind>[/<secret>]`): read the call, hand it to
delivery.webhooks, answer. No sign-in and no CSRF token — the provider module authenticates the call (a signature,
or the secret in the path) — and POST only.

The answers are plain, for a provider rather than a person, and this is the one place the service's errors become
them: not found 404, refused 403, a busy database 503 with Retry-After (the provider calls again). None of them,
and no log line of this module, holds the body or the path: Messente's secret is in the path. Django's own
request log (a 5xx names the path) is told each answer was logged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from masspost.busy import RETRY_AFTER, database_busy
from masspost.delivery.webhooks import MAX_BODY, webhook_receive
from masspost.errors import NotFoundError, PermissionDeniedError
from masspost.logs import frames_of

log = logging.getLogger("masspost.web")


@csrf_exempt
@require_POST
def receive(request: HttpRequest, provider: str, kind: str, secret: str = "") -> HttpResponse:
    if _too_long(request):
        return _plain(413, "too large")
    try:
        # The path without SCRIPT_NAME: a prefix masspost is served under is part of MASSPOST_PUBLIC_URL already.
        answer = webhook_receive(provider=provider, kind=kind, secret=secret, path=request.get_full_path_info(),
                                 headers=dict(request.headers), body=request.body,
                                 content_type=request.content_type or "")
    except NotFoundError:
        return _plain(404, "not found")
    except PermissionDeniedError:
        return _plain(403, "refused")
    except Exception as exc:
        if database_busy(exc):
            response = _plain(503, "busy")
            response["Retry-After"] = str(RETRY_AFTER)
            return response
        name = provider if provider.isalnum() and len(provider) <= 20 else "?"
        log.error("%s webhook: unexpected error (the provider will call again): %s", name, frames_of(exc))
        return _plain(500, "error")
    response = HttpResponse(answer.body, content_type=answer.content_type, status=200)
    response._has_been_logged = True  # type: ignore[attr-defined]  # see _plain
    return response


def _too_long(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY
    except ValueError:
        return True


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
    # Django's request log names the path of every 4xx/5xx answer (at ERROR for a 5xx, which masspost's logging
    # shows): for Messente the path holds the webhook secret. Logged here, without it.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
