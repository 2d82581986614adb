"""One way to show time and money (masspost.web.templatetags.masspost_format, masspost.web.timezone): local time in
the language's own format, 24-hour, the zone named where a time could be misread; money as the language writes it.
Across both clock changes of Europe/Tallinn in 2026 (29 March, 01:00 UTC; 25 October, 01:00 UTC)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.web.templatetags.masspost_format import day, money, when, zone_label
from masspost.web.timezone import display_zone

TALLINN = ZoneInfo("Europe/Tallinn")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def tallinn() -> Iterator[None]:
    timezone.activate(TALLINN)
    yield
    timezone.deactivate()


def in_language(language: str, fn, *args):  # type: ignore[no-untyped-def]
    with translation.override(language):
        return fn(*args)


@pytest.mark.parametrize(("at", "et", "en"), [
    (utc(2026, 12, 7, 12, 5), "07.12.2026 14:05", "7 Dec 2026, 14:05"),  # winter: UTC+2
    (utc(2026, 7, 7, 12, 5), "07.07.2026 15:05", "7 Jul 2026, 15:05"),  # summer: UTC+3
    (utc(2026, 3, 29, 0, 59), "29.03.2026 02:59", "29 Mar 2026, 02:59"),  # the last minute of winter time
    (utc(2026, 3, 29, 1, 0), "29.03.2026 04:00", "29 Mar 2026, 04:00"),  # 03:00 does not exist that night
    (utc(2026, 10, 25, 0, 30), "25.10.2026 03:30\xa0EEST", "25 Oct 2026, 03:30\xa0EEST"),  # 03:30 happens twice:
    (utc(2026, 10, 25, 1, 30), "25.10.2026 03:30\xa0EET", "25 Oct 2026, 03:30\xa0EET"),  # the zone tells them apart
    (utc(2026, 10, 25, 2, 30), "25.10.2026 04:30", "25 Oct 2026, 04:30"),
    (utc(2026, 12, 31, 22, 30), "01.01.2027 00:30", "1 Jan 2027, 00:30"),  # a new year locally, not in UTC
])
def test_when_is_local_24_hour_in_each_language(at: dt.datetime, et: str, en: str) -> None:
    assert in_language("et", when, at) == et
    assert in_language("ru", when, at) == et  # Russian in Estonia writes dates as Estonian does
    assert in_language("en", when, at) == en


def test_english_is_never_american() -> None:
    afternoon = utc(2026, 12, 7, 23, 11)  # 01:11 on the 8th in Tallinn
    text = in_language("en", when, afternoon)
    assert text == "8 Dec 2026, 01:11"
    assert "a.m." not in text and "AM" not in text and "12/08" not in text and "08/12" not in text
    rendered = in_language("en", lambda: Template("{{ at }} · {{ at|date }} · {{ d }}").render(
        Context({"at": afternoon, "d": dt.date(2026, 12, 8)})))
    assert rendered == "8 Dec 2026, 01:11 · 8 Dec 2026 · 8 Dec 2026"  # Django's own defaults follow suit


def test_zone_named_on_request() -> None:
    assert in_language("et", when, utc(2026, 12, 7, 12, 5), "zone") == "07.12.2026 14:05\xa0EET"
    assert in_language("en", when, utc(2026, 7, 7, 12, 5), "zone") == "7 Jul 2026, 15:05\xa0EEST"
    timezone.activate(ZoneInfo("Asia/Dubai"))  # a zone without a lettered abbreviation ("+04")
    assert in_language("en", when, utc(2026, 7, 7, 12, 5), "zone") == "7 Jul 2026, 16:05\xa0UTC+04"


def test_short_leaves_out_what_today_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: utc(2026, 12, 7, 21, 0))  # 23:00 on the 7th in Tallinn
    assert in_language("et", when, utc(2026, 12, 7, 6, 5), "short") == "08:05"
    assert in_language("et", when, utc(2026, 12, 7, 22, 5), "short") == "08.12 00:05"  # tomorrow, locally
    assert in_language("en", when, utc(2026, 3, 1, 12, 0), "short") == "1 Mar, 14:00"
    assert in_language("ru", when, utc(2025, 3, 1, 12, 0), "short") == "01.03.2025 14:00"


def test_naive_and_empty_values() -> None:
    assert in_language("et", when, dt.datetime(2026, 12, 7, 12, 5)) == "07.12.2026 14:05"  # naive is UTC
    assert when(None) == "" and day(None) == "" and money(None) == ""
    assert in_language("et", when, dt.date(2026, 12, 7)) == "07.12.2026"  # a date alone: as `day` shows it


@pytest.mark.parametrize(("value", "et", "en"), [
    (dt.date(2026, 12, 7), "07.12.2026", "7 Dec 2026"),
    (utc(2026, 12, 6, 22, 30), "07.12.2026", "7 Dec 2026"),  # a date-time: its local date
    (utc(2026, 10, 24, 21, 30), "25.10.2026", "25 Oct 2026"),  # summer time: +3
])
def test_day(value: dt.date, et: str, en: str) -> None:
    assert in_language("et", day, value) == et
    assert in_language("ru", day, value) == et
    assert in_language("en", day, value) == en


@pytest.mark.parametrize(("amount", "currency", "et", "en"), [
    (Decimal("5.53"), "EUR", "5,53\xa0€", "€5.53"),
    ("5.53", "EUR", "5,53\xa0€", "€5.53"),
    (5.53, "EUR", "5,53\xa0€", "€5.53"),
    (5, "EUR", "5,00\xa0€", "€5.00"),
    ("1234.5", "EUR", "1\xa0234,50\xa0€", "€1,234.50"),
    ("20.735", "EUR", "20,74\xa0€", "€20.74"),  # 319 parts at 0.065: to the cent, half up
    ("0.065", "EUR", "0,065\xa0€", "€0.065"),  # a price per part keeps its precision
    ("0.5", "EUR", "0,50\xa0€", "€0.50"),
    ("5.53", "SEK", "5,53\xa0SEK", "SEK\xa05.53"),
    ("-5.5", "EUR", "−5,50\xa0€", "−€5.50"),
])
def test_money(amount: object, currency: str, et: str, en: str) -> None:
    assert in_language("et", money, amount, currency) == et
    assert in_language("ru", money, amount, currency) == et
    assert in_language("en", money, amount, currency) == en


def test_money_in_a_template() -> None:
    template = Template('{% load masspost_format %}{{ cost|money:"EUR" }}')
    assert in_language("et", template.render, Context({"cost": "103.845"})) == "103,85\xa0€"
    assert in_language("en", template.render, Context({"cost": "103.845"})) == "€103.85"


def test_zone_names() -> None:
    assert in_language("et", zone_label) == "Tallinna aeg"
    assert in_language("ru", zone_label) == "таллинское время"
    assert in_language("en", zone_label) == "Tallinn time"
    assert in_language("en", zone_label, "America/New_York") == "New York"


@pytest.mark.django_db
def test_the_zone_is_the_clinics_when_they_share_one() -> None:
    helsinki = Clinic.objects.create(code="HEL", name="Hammas Helsinki", country="FI", time_zone="Europe/Helsinki",
                                     default_language="fi")
    espoo = Clinic.objects.create(code="ESP", name="Hammas Espoo", country="FI", time_zone="Europe/Helsinki",
                                  default_language="fi")
    tokyo = Clinic.objects.create(code="TYO", name="Tokyo", country="JP", time_zone="Asia/Tokyo",
                                  default_language="ja")
    assert display_zone(Scope(actor="x", clinic_ids=frozenset({helsinki.id, espoo.id}))).key == "Europe/Helsinki"
    assert display_zone(Scope(actor="x", clinic_ids=frozenset({helsinki.id, tokyo.id}))).key == "Europe/Tallinn"
    assert display_zone(Scope(actor="x", clinic_ids=None)).key == "Europe/Tallinn"  # every clinic: two zones
    assert display_zone(Scope(actor="x", clinic_ids=frozenset())).key == "Europe/Tallinn"
    assert display_zone(None).key == "Europe/Tallinn"


@pytest.mark.django_db
def test_each_request_shows_its_users_zone(ada: Client, clinic: Clinic) -> None:
    assert "When (Tallinn time)" in ada.get("/audit/").content.decode()
    Clinic.objects.filter(id=clinic.id).update(time_zone="Europe/Helsinki")
    assert "When (Helsinki time)" in ada.get("/audit/").content.decode()
    assert timezone.get_current_timezone_name() == "Europe/Tallinn"  # the request's zone did not stay behind


@pytest.mark.django_db
def test_a_progress_poll_makes_no_zone_query_and_keeps_its_pages_zone(alice: Client, tln_campaign: int,
                                                                      clinic: Clinic,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import masspost.web.timezone as web_timezone

    worked_out: list[str] = []

    def counted(scope: Scope | None) -> ZoneInfo:
        zone = display_zone(scope)
        worked_out.append(zone.key)
        return zone

    monkeypatch.setattr(web_timezone, "display_zone", counted)
    assert alice.get(f"/campaigns/{tln_campaign}/").status_code == 200
    assert worked_out == ["Europe/Tallinn"]  # the page: once
    Clinic.objects.filter(id=clinic.id).update(time_zone="Europe/Helsinki")
    for _ in range(3):  # the polls: none, and in the zone of the page they update
        poll = alice.get(f"/campaigns/{tln_campaign}/progress/", HTTP_HX_REQUEST="true")
        assert poll.status_code == 200
    assert worked_out == ["Europe/Tallinn"]
    alice.get(f"/campaigns/{tln_campaign}/")  # the next page: the clinic's zone as it is now
    assert worked_out == ["Europe/Tallinn", "Europe/Helsinki"]


def test_the_api_keeps_utc(rf: RequestFactory) -> None:
    from django.http import HttpResponse

    from masspost.web.timezone import TimeZoneMiddleware

    seen: list[str] = []

    def view(request: object) -> HttpResponse:
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    timezone.deactivate()
    middleware = TimeZoneMiddleware(view)  # type: ignore[arg-type]
    middleware(rf.get("/api/audit"))
    middleware(rf.get("/audit/"))
    middleware(rf.get("/api/audit", SCRIPT_NAME="/masspost"))  # the site under a prefix: path /masspost/api/…
    assert seen == ["UTC", "Europe/Tallinn", "UTC"]
