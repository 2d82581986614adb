"""One way to show a time, a date and an amount of money, in the user's language (issue 17, point 4).

    {% load masspost_format %}
    {{ event.at|when }}           07.12.2026 14:05 (et, ru)   7 Dec 2026, 14:05 (en)
    {{ event.at|when:"short" }}   14:05 today · 07.12 14:05 / 7 Dec, 14:05 this year · else as above
    {{ event.at|when:"zone" }}    07.12.2026 14:05 EET        the zone on the value itself
    {{ visit.date|day }}          07.12.2026 (et, ru)         7 Dec 2026 (en)
    {{ amount|money:currency }}   5,53 € (et, ru)             €5.53 (en)
    {% zone_name %}               Tallinna aeg · Tallinn time · время Таллина

The rule:
- Every time is shown in local time: the zone of the user's clinics when they all share one, else the default
  (MASSPOST_DISPLAY_TIME_ZONE, Europe/Tallinn) — masspost.web.timezone activates it per request. Never UTC on a
  page (the database and the API keep UTC; the API says so with its offsets).
- The language's own numeric forms, 24-hour: et and ru "07.12.2026 14:05"; English as used in Estonia (en-GB) names
  the month, "7 Dec 2026, 14:05", so that 07.12 is never read as July (masspost/web/formats/).
- The zone is named where a time could be misread: pages that list events (the audit log, tokens, staff) name it
  once in the column heading, "When (Tallinn time)" — `{% zone_name %}`; a time in the hour that occurs twice
  when the clocks go back (the last Sunday of October, 03:00–04:00 in Tallinn) always carries its zone,
  "25.10.2026 03:30 EEST" then "25.10.2026 03:30 EET"; `when:"zone"` names it on any single value.
- Money: at least two decimals (an amount below one keeps up to four: a price per SMS part, 0,065 €), thousands
  grouped as the language groups numbers; the € sign after the amount in et and ru ("1 234,50 €"), before it in
  English ("€1,234.50"); a currency without a sign by its ISO code ("5,53 SEK", "SEK 5.53").
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()

SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}
SIGN_FIRST = {"en"}  # languages that write "€5.53"; the others "5,53 €"
MONEY_MAX_PLACES = 4  # a price per SMS part is 0.065; a total is rounded to cents


def _local(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):  # the database gives aware times (USE_TZ); a naive one is taken as UTC
        value = value.replace(tzinfo=dt.UTC)
    return timezone.localtime(value)


def occurs_twice(local: dt.datetime) -> bool:
    """True for a wall time in the hour that repeats when the clocks go back (03:00–04:00 in Tallinn)."""
    other = local.replace(fold=1 - local.fold)
    return other.utcoffset() != local.utcoffset()


def zone_abbreviation(local: dt.datetime) -> str:
    """"EET" / "EEST"; a zone without a lettered abbreviation by its offset, "UTC+04"."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


@register.filter(expects_localtime=False)
def when(value: Any, style: str = "") -> str:
    """A date-time in local time, the language's format; style "short" leaves out what today already says
    (only the time today, no year this year); "zone" names the zone on the value. See the module's rule."""
    if not isinstance(value, dt.datetime):
        return day(value)  # a date alone: as `day` shows it
    local = _local(value)
    if style == "short":
        today = timezone.localtime().date()
        if local.date() == today:
            text = date_format(local, formats.get_format("TIME_FORMAT"))
        elif local.year == today.year:
            text = _month_day_time(local)
        else:
            text = formats.date_format(local, "SHORT_DATETIME_FORMAT")
    else:
        text = formats.date_format(local, "SHORT_DATETIME_FORMAT")
    if style == "zone" or occurs_twice(local):
        text = f"{text}\xa0{zone_abbreviation(local)}"
    return text


def _month_day_time(local: dt.datetime) -> str:
    day = formats.date_format(local, "MONTH_DAY_FORMAT")
    time = date_format(local, formats.get_format("TIME_FORMAT"))
    return f"{day}, {time}" if (get_language() or "").startswith("en") else f"{day} {time}"


@register.filter(expects_localtime=False)
def day(value: Any) -> str:
    """A date (a date-time: its local date) in the language's format: "07.12.2026", "7 Dec 2026"."""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    if not isinstance(value, dt.date):
        return "" if value in (None, "") else str(value)
    return formats.date_format(value, "SHORT_DATE_FORMAT")


@register.filter
def money(amount: Any, currency: str = "EUR") -> str:
    """`{{ cost|money:"EUR" }}` → "5,53 €" (et, ru), "€5.53" (en). Amount: Decimal, int, str or float."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).normalize()
    except (InvalidOperation, ValueError):
        return str(amount)
    places = 2
    exponent = value.as_tuple().exponent
    if abs(value) < 1 and isinstance(exponent, int):
        places = min(max(2, -exponent), MONEY_MAX_PLACES)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    number = formats.number_format(abs(value), places, use_l10n=True, force_grouping=True)
    code = (currency or "").upper()
    sign = SIGNS.get(code)
    minus = "−" if value < 0 else ""
    if (get_language() or "").split("-")[0] in SIGN_FIRST:
        return f"{minus}{sign}{number}" if sign else f"{minus}{code}\xa0{number}".strip()
    return f"{minus}{number}\xa0{sign or code}".rstrip()


def zone_label(zone: Any = None) -> str:
    """The zone as a receptionist names it: "Tallinn time" in the user's language; another zone by its name."""
    key = str(zone or timezone.get_current_timezone_name())
    names = {
        "Europe/Tallinn": _("Tallinn time"),
        "Europe/Helsinki": _("Helsinki time"),
        "Europe/Riga": _("Riga time"),
        "Europe/Vilnius": _("Vilnius time"),
        "UTC": "UTC",
    }
    return names.get(key, key.rsplit("/", 1)[-1].replace("_", " "))


@register.simple_tag
def zone_name() -> str:
    """The active zone's name, for a column heading: "When (Tallinn time)"."""
    return zone_label()
