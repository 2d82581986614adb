"""Numbers and dates from a page's query string (or a small form), read in one place: digits 0–9 only ("²" is a
digit to str.isdigit, not to int), within the range the page can use. A value out of range — or a number where
one is required that is not one — is refused with a 400 page naming the parameter and why (QueryError, shown by
web.middleware); a filter's value that does not parse at all is still as if it were not given
(web.forms_campaigns)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import converters, register_converter
from django.utils.translation import gettext as _

from masspost.errors import MasspostError
from masspost.numbers import DIGITS, ID_MAX, at_most

PAGE_MAX = 1_000_000
DATE_MIN, DATE_MAX = dt.date(1, 1, 1), dt.date(9998, 12, 31)  # a day after the last is still a date
RANGE_ERRORS = frozenset({"min_value", "max_value"})


class QueryError(MasspostError):
    """A query parameter the page cannot use: the message names it and says why (a 400 page)."""


def whole_number(name: str, text: str, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """`text` as a whole number from `low` to `high`; None when it is empty."""
    if not text:
        return None
    if not DIGITS.fullmatch(text):
        raise QueryError(_("“%(name)s” must be a whole number written with the digits 0–9.") % {"name": name})
    value = at_most(text, high)
    if value is None or value < low:
        raise QueryError(_("“%(name)s” must be from %(low)s to %(high)s.") % {"name": name, "low": low,
                                                                               "high": high})
    return value


class IdConverter:
    """`<id:name>` in a URL: 1 to 18 digits 0-9, an id the database's integers hold; anything longer does not
    match (404), where Django's `<int:…>` would hand the view a number the database refuses (a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def id_converter() -> None:
    """Register `<id:…>` for the web's URL modules (once, whichever imports it first)."""
    if "id" not in converters.get_converters():
        register_converter(IdConverter, "id")


class PageField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, min_value=1, max_value=PAGE_MAX, **kwargs)


class QueryDateField(forms.DateField):
    """A date from DATE_MIN to DATE_MAX: a period's end may be the day after it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validators=[MinValueValidator(DATE_MIN), MaxValueValidator(DATE_MAX)], **kwargs)


def refuse_out_of_range(form: forms.Form) -> None:
    """A QueryError for the first field of `form` whose value parsed but is out of its range."""
    for name, errors in form.errors.as_data().items():
        if any(error.code in RANGE_ERRORS for error in errors):
            field = form.fields.get(name)
            label = str(field.label) if field is not None and field.label else name
            raise QueryError(f"{label}: {' '.join(m for e in errors for m in e.messages)}")
