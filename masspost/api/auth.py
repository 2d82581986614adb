"""The one place a request's bearer token becomes a Scope (through masspost.staff.tokens), with the per-token
rate limit and the body size limit checked before the body is read."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from masspost.api.problems import ApiLimitError
from masspost.clinic.scope import Scope
from masspost.http import client_address
from masspost.staff.tokens import TokenScope, token_rate_take, token_scope

IMPORT_PATH = "/imports/"


class BearerToken(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> TokenScope | None:
        _body_limit(request)
        found = token_scope(secret=token, address=client_address(request))
        if found is None:
            return None
        wait = token_rate_take(token_id=found.token_id)
        if wait:
            raise ApiLimitError(429, f"at most {settings.MASSPOST_API_RATE:g} requests a second per token "
                                     f"(bursts of {settings.MASSPOST_API_BURST}): retry after the time given",
                                retry_after=wait)
        return found


def _body_limit(request: HttpRequest) -> None:
    limit = settings.MASSPOST_API_MAX_IMPORT if IMPORT_PATH in request.path else settings.MASSPOST_API_MAX_BODY
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ApiLimitError(413, f"the body has {length} bytes; at most {limit} are taken here")


def scope_of(request: HttpRequest) -> Scope:
    auth: Any = request.auth  # type: ignore[attr-defined]
    assert isinstance(auth, TokenScope)
    return auth.scope
