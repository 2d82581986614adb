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


class TimeZoneMiddleware:
    """Activates the display zone for the request (after StaffScopeMiddleware, which sets request.scope)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PATH):  # the API speaks UTC, with offsets (docs/api.md)
            return self.get_response(request)
        with timezone.override(display_zone(getattr(request, "scope", None))):
            return self.get_response(request)
