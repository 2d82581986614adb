"""Which time zone a page shows times in (issue 17, point 4; the rule: masspost.web.templatetags.masspost_format).

The zone of the user's clinics when they all share one (Clinic.time_zone); otherwise — clinics in several zones,
no clinic, signed out — MASSPOST_DISPLAY_TIME_ZONE (Europe/Tallinn). settings.TIME_ZONE stays UTC: it is what the
database, the API and the logs keep; only what a page shows is local."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from masspost.clinic.scope import Scope

DEFAULT_ZONE = "Europe/Tallinn"
API_PATH = "/api/"


def default_zone() -> ZoneInfo:
    return _zone(getattr(settings, "MASSPOST_DISPLAY_TIME_ZONE", "") or DEFAULT_ZONE) or ZoneInfo(DEFAULT_ZONE)


def _zone(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def display_zone(scope: Scope | None) -> ZoneInfo:
    """The zone a user with this scope reads times in."""
    if scope is not None:
        zones = set(scope.clinics().values_list("time_zone", flat=True).distinct()[:2])
        if len(zones) == 1:
            return _zone(zones.pop()) or default_zone()
    return default_zone()


def local_day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the active zone: a date filter's bound ("from 07.12.2026" = from local midnight).
    The first and last days a date can hold are taken as the ends of time (in UTC): their local midnight is out
    of the datetime range once converted (0001-01-01 00:00 in Tallinn is in the year 0 in UTC)."""
    if day <= dt.date.min + dt.timedelta(days=1):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    if day >= dt.date.max - dt.timedelta(days=1):
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


SESSION_KEY = "masspost_display_zone"  # [the clinic set it was worked out for, the zone's key]


def _clinic_set(scope: Scope) -> str:
    return "all" if scope.clinic_ids is None else ",".join(map(str, sorted(scope.clinic_ids)))


def _is_partial(request: HttpRequest) -> bool:
    """An htmx request for a part of a page already shown (a progress poll, a count), not a whole page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and not headers.get("HX-Boosted") \
        and not headers.get("HX-History-Restore-Request")


def request_zone(request: HttpRequest) -> ZoneInfo:
    """The zone of this request's page. A whole page works it out (one query) and notes it in the session beside
    the clinic set it is for; a part of a page — the progress poll every 2 seconds, the live count — takes the
    note, so that it makes no query and shows its times in the zone of the page around it. A note for another
    clinic set (the user's clinics changed) is not used."""
    scope: Scope | None = getattr(request, "scope", None)
    session = getattr(request, "session", None)
    if scope is None or session is None:
        return display_zone(scope)
    clinics = _clinic_set(scope)
    noted = session.get(SESSION_KEY)
    if _is_partial(request) and isinstance(noted, list) and len(noted) == 2 and noted[0] == clinics \
            and (zone := _zone(str(noted[1]))):
        return zone
    zone = display_zone(scope)
    if noted != [clinics, zone.key]:
        session[SESSION_KEY] = [clinics, zone.key]
    return zone


class TimeZoneMiddleware:
    """Activates the display zone for the request (after StaffScopeMiddleware, which sets request.scope).

    The zone is active while the view runs and its template renders; a StreamingHttpResponse (the CSV downloads)
    is iterated after this returns, outside the zone: a streamed body that showed local times would have to
    convert them itself (the CSVs write UTC, so none does today)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # path_info: the path within the site, also when it is mounted under a prefix (SCRIPT_NAME)
        if request.path_info.startswith(API_PATH):  # the API speaks UTC, with offsets (docs/api.md)
            return self.get_response(request)
        with timezone.override(request_zone(request)):
            return self.get_response(request)
