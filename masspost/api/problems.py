"""Errors as RFC 9457 problem details (`application/problem+json`), from one set of handlers: domain errors
by class, request validation with each field's path, authentication, limits — and anything unexpected as a
bare 500 that names no value (the traceback goes to the log, its message does not: a database error can quote
a row)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from masspost.api.schemas import Campaign
from masspost.busy import RETRY_AFTER, database_busy
from masspost.errors import (
    ConflictError,
    ConflictingRequestError,
    MasspostError,
    NotFoundError,
    NothingToSendError,
    PermissionDeniedError,
    SpecError,
    StaleTokenError,
    StateError,
)
from masspost.logs import frames_of

logger = logging.getLogger("masspost.api")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:masspost:problem:"  # type URIs (docs/api.md, "Errors"); not addresses to fetch

# Domain error → (status, type, title); the most specific class first, MasspostError last.
DOMAIN: list[tuple[type[MasspostError], int, str, str]] = [
    (NotFoundError, 404, "not-found", "Not found"),
    (PermissionDeniedError, 403, "forbidden", "Your role may not do this"),
    (StaleTokenError, 409, "stale-token", "The preview is out of date"),
    (StateError, 409, "conflict", "Not in a state that allows this"),
    (ConflictingRequestError, 422, "idempotency-key-reused", "Idempotency-Key used for another request"),
    (SpecError, 422, "invalid-campaign", "The campaign is not valid"),
    (NothingToSendError, 422, "nothing-to-send", "Nothing to send"),
    (MasspostError, 422, "invalid-request", "The request cannot be done"),
]
# A SpecError's message starts with the path of what is wrong: "audience.age.min: must be …".
SPEC_PATH = re.compile(r"^([A-Za-z_]+(?:\.[A-Za-z_]+)*)(?: [^:]{0,40})?: ")


class BodySpecError(SpecError):
    """A SpecError of the campaign at `at` in the request's body ("": the body is the campaign), so that the
    problem's `errors` name the field as the body has it."""

    def __init__(self, message: str, *, at: str, code: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.at = at
        self.code, self.params = code, params or {}


@contextlib.contextmanager
def campaign_at(at: str) -> Iterator[None]:
    """A SpecError raised inside (by the campaign's parse or by its audience's resolution) as a BodySpecError
    naming where the campaign is in the body: "" for a body that is the campaign itself."""
    try:
        yield
    except BodySpecError:
        raise
    except SpecError as exc:
        raise BodySpecError(str(exc), at=at, code=getattr(exc, "code", ""),
                            params=getattr(exc, "params", None)) from None


class BodyFieldError(MasspostError):
    """A value of the body that a service refused (SpecError "FIELD: why"), outside a campaign: a clinic's
    settings, your own phone or e-mail. 422 naming the field, as the schema's own checks do."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@contextlib.contextmanager
def body_fields() -> Iterator[None]:
    """A SpecError raised inside as a BodyFieldError naming the body's field its message starts with."""
    try:
        yield
    except SpecError as exc:
        match = SPEC_PATH.match(str(exc))
        raise BodyFieldError(str(exc), field=match.group(1) if match else "") from None


class ApiLimitError(Exception):
    """A limit of the API: the rate (429, with Retry-After) or the body's size (413)."""

    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


def problem(status: int, slug: str, title: str, detail: str = "", **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_JSON)


def _domain(request: HttpRequest, exc: MasspostError) -> HttpResponse:
    if isinstance(exc, BodyFieldError):
        return problem(422, "invalid-request", "The request is not valid", str(exc),
                       errors=[{"field": exc.field or "body", "in": "body", "message": str(exc)}])
    status, slug, title = next((s, t, ti) for cls, s, t, ti in DOMAIN if isinstance(exc, cls))
    extra: dict[str, Any] = {}
    if isinstance(exc, StaleTokenError):
        # Each change in English, and the same changes as stable codes with their values (docs/api.md, "Errors");
        # a token that cannot be compared at all: its code, as a template error's.
        extra["changes"] = [str(change) for change in exc.changes]
        extra["change_codes"] = [change.as_dict() for change in exc.changes]
        if exc.unreadable is not None:
            extra |= exc.unreadable.as_dict()
    if isinstance(exc, ConflictError) and exc.reason:
        # Why the campaign's state refuses it, stable for a client (docs/api.md, "Errors"): test_required,
        # own_campaign, not_pending, stale, started, and the controls' reasons.
        extra["code"] = exc.reason
    if isinstance(exc, SpecError):
        match = SPEC_PATH.match(str(exc))
        if match and match.group(1).split(".")[0] not in Campaign.model_fields:
            match = None  # "empty campaign: …" names no field
        at = exc.at if isinstance(exc, BodySpecError) else "campaign"
        where = ".".join(part for part in (at, match.group(1) if match else "") if part) or "body"
        extra["errors"] = [{"field": where, "in": "body", "message": str(exc)}]
        # A template error has a stable code and its values (docs/api.md, "Errors"): a client says it in its own
        # words from these; `detail` stays the English sentence.
        if code := getattr(exc, "code", ""):
            extra["code"] = code
            extra["params"] = getattr(exc, "params", {})
            extra["errors"][0] |= {"code": code, "params": extra["params"]}
    return problem(status, slug, title, str(exc), **extra)


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ninja puts where the value came from first ("body", "query", "header", "path"), then its path; a body's
        # path starts with the handler's parameter (`body`), which is no part of what the client sent.
        if loc[:2] == ["body", "body"]:
            del loc[1]
        errors.append({"field": ".".join(loc[1:]) or (loc[0] if loc else ""), "in": loc[0] if loc else "",
                       "message": str(error.get("msg", "invalid"))})
    return problem(422, "invalid-request", "The request is not valid",
                   "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)


def _unauthorised(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(401, "unauthorized", "A valid API token is needed",
                       "send Authorization: Bearer TOKEN with a live token (masspost token create)")
    response["WWW-Authenticate"] = 'Bearer realm="masspost"'
    return response


def _limit(request: HttpRequest, exc: ApiLimitError) -> HttpResponse:
    if exc.status == 429:
        response = problem(429, "rate-limited", "Too many requests", exc.detail)
        response["Retry-After"] = str(max(1, math.ceil(exc.retry_after or 1)))
        return response
    return problem(exc.status, "too-large", "The request body is too large", exc.detail)


def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) on a body read whole, without a Content-Length to check.
    return problem(413, "too-large", "The request body is too large", str(exc))


def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return problem(400, "unreadable-body", "The body cannot be read", "the request is malformed")


def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return problem(400, "unreadable-body", "The body cannot be read", str(exc))
    return problem(exc.status_code, "http-" + str(exc.status_code), str(exc) or "Error")


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(404, "not-found", "Not found")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if database_busy(exc):  # the write lock held past the busy timeout (a large import writing): try again soon
        response = problem(503, "busy", "The database is busy", "nothing was changed: retry after Retry-After "
                           "seconds")
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    # The frames only: an exception's message may quote a value, which the log must not hold.
    logger.error("API %s %s failed: %s", request.method, request.path, frames_of(exc))
    return problem(500, "internal", "Something went wrong on the server", "nothing was changed by this request "
                   "unless its response said so; the server's log has the details")


HANDLERS: list[tuple[type[Exception], Any]] = [
    (MasspostError, _domain), (ValidationError, _validation), (AuthenticationError, _unauthorised),
    (ApiLimitError, _limit), (HttpError, _http), (Http404, _not_found), (RequestDataTooBig, _too_big),
    (SuspiciousOperation, _suspicious), (Exception, _unexpected),
]


def install(api: NinjaAPI) -> None:
    for exc_class, handler in HANDLERS:
        api.add_exception_handler(exc_class, handler)
