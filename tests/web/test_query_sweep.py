"""Every query parameter a page reads, swept over every page of the web UI with crafted values — times and
dates out of range, "²" and a full-width digit (digits to str.isdigit, not to int), numbers too big for the
database — and every id in a URL made too big for the database: never a 5xx. The parameters are found in the
views' code and the filter forms, so a new one is swept without touching this file."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from masspost.clinic.models import Patient
from masspost.web import forms_campaigns

pytestmark = pytest.mark.django_db

VIEWS = Path(__file__).resolve().parents[2] / "masspost" / "web" / "views"
CRAFTED = ["9999-12-31", "9999-12-31T23:59:59-05:00", "0000-01-01", "²", "１", "9" * 30, "-1", "0",
           "\x00", "T0\x00"]  # PostgreSQL refuses a NUL in a query's text: never may one reach a query
HUGE_ID = "9" * 25


def query_parameters() -> set[str]:
    read = set()
    for source in VIEWS.glob("*.py"):
        read |= set(re.findall(r"request\.GET\.get(?:list)?\(\"([a-z_]+)\"", source.read_text()))
    for form in (forms_campaigns.CampaignsFilter, forms_campaigns.MessagesFilter, forms_campaigns.AuditFilter):
        read |= set(form.base_fields)
    return read


def web_routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    """The web UI's URL patterns as routes ("campaigns/<id:campaign_id>/"); the API's are swept in tests/api."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("api"):
                continue
            yield from web_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def concrete(route: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), route)


def test_the_sweep_finds_the_parameters_and_pages() -> None:
    assert {"page", "since", "until", "start", "n", "status", "q"} <= query_parameters()
    assert any("<id:campaign_id>" in r for r in web_routes()) and "audit/" in set(web_routes())


def test_crafted_query_values_on_every_page_are_never_a_5xx(ada: Client, tln_campaign: int,
                                                           make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(first_name="Mari")
    ada.post("/bulk/preview/", {"name": "Sweep", "channel": "sms", "purpose": "service", "sms_et": "Tere!"})
    ids = {"campaign_id": str(tln_campaign), "user_id": str(get_user_model().objects.get(username="ada").pk),
           "kind": "recipients", "action": "pause", "external_id": patient.external_id}
    ada.raise_request_exception = False
    swept = 0
    for route in web_routes():
        path = concrete(route, ids)
        if ada.get(path).status_code == 405:
            continue
        for name in sorted(query_parameters()):
            for value in CRAFTED:
                response = ada.get(path, {name: value}, HTTP_HX_REQUEST="true")
                swept += 1
                assert response.status_code < 500, (path, name, value, response.status_code)
    assert swept > 500


def test_an_id_too_big_for_the_database_is_never_a_5xx(ada: Client, tln_campaign: int) -> None:
    ada.raise_request_exception = False
    for route in web_routes():
        if "<" not in route:
            continue
        for text in (HUGE_ID, "%00", "T0%00"):  # a NUL in a text slot: PostgreSQL refuses it in a query
            path = concrete(route, {"campaign_id": HUGE_ID, "user_id": HUGE_ID, "kind": "recipients",
                                    "action": "pause", "external_id": text})
            for response in (ada.get(path), ada.post(path, {})):
                assert response.status_code < 500, (path, response.status_code)
