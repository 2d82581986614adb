"""The audience filter: an immutable value, parsed from the campaign file's "audience" (docs/campaign.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from masspost.clinic.csvfile import ISO_DATE
from masspost.content.languages import is_country
from masspost.errors import SpecError


@dataclass(frozen=True, kw_only=True, slots=True)
class DateRange:
    start: dt.date
    end: dt.date

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


MONTHS_MAX = 240  # 20 years: the longest relative period a campaign may name


@dataclass(frozen=True, kw_only=True, slots=True)
class LastMonths:
    """A period that stays relative: the last `months` months up to the reference date (the day the audience is
    resolved, in each clinic's time zone, or `reference_date`) — a campaign used as a start a month later looks a
    month later too (docs/campaign.md, "Audience")."""

    months: int

    def to_dict(self) -> dict[str, int]:
        return {"last_months": self.months}

    def on(self, day: dt.date) -> DateRange:
        """The dates this period means on `day`: from the same day `months` months back, to `day`, inclusive."""
        return DateRange(start=months_before(day, self.months), end=day)


Period = DateRange | LastMonths


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` months before `day`, or the month's last day when it is shorter (31 March → 28/29
    February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceFilter:
    clinics: tuple[str, ...] = ()  # clinic codes; () = every clinic in scope
    age_min: int | None = None
    age_max: int | None = None
    countries: tuple[str, ...] = ()
    visited: Period | None = None
    not_visited: Period | None = None
    reference_date: dt.date | None = None  # None = today in each clinic's time zone

    def to_dict(self) -> dict[str, Any]:
        """The canonical form: sorted, only what is set. Hashing this makes the preview token."""
        out: dict[str, Any] = {}
        if self.clinics:
            out["clinics"] = sorted(self.clinics)
        if self.age_min is not None or self.age_max is not None:
            out["age"] = {k: v for k, v in (("min", self.age_min), ("max", self.age_max)) if v is not None}
        if self.countries:
            out["countries"] = sorted(self.countries)
        if self.visited:
            out["visited"] = self.visited.to_dict()
        if self.not_visited:
            out["not_visited"] = self.not_visited.to_dict()
        if self.reference_date:
            out["reference_date"] = self.reference_date.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> AudienceFilter:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise SpecError("audience: must be an object")
        unknown = set(data) - {"clinics", "age", "countries", "visited", "not_visited", "reference_date"}
        if unknown:
            raise SpecError(f"audience: unknown key(s) {', '.join(sorted(unknown))}")
        clinics = _strings(data.get("clinics"), "audience.clinics")
        countries = tuple(c.upper() for c in _strings(data.get("countries"), "audience.countries"))
        for code in countries:
            if not is_country(code):
                raise SpecError(f"audience.countries: unknown country code {code!r} (ISO 3166-1 alpha-2)")
        age_min = age_max = None
        age = data.get("age")
        if age is not None:
            if not isinstance(age, dict) or set(age) - {"min", "max"}:
                raise SpecError('audience.age: must be {"min": N, "max": N}')
            age_min, age_max = _age(age.get("min"), "min"), _age(age.get("max"), "max")
            if age_min is not None and age_max is not None and age_min > age_max:
                raise SpecError(f"audience.age: min {age_min} is greater than max {age_max}")
        ref = data.get("reference_date")
        return cls(
            clinics=tuple(dict.fromkeys(clinics)),
            age_min=age_min,
            age_max=age_max,
            countries=tuple(dict.fromkeys(countries)),
            visited=_range(data.get("visited"), "audience.visited"),
            not_visited=_range(data.get("not_visited"), "audience.not_visited"),
            reference_date=_date(ref, "audience.reference_date") if ref is not None else None,
        )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{where}: must be a list of codes")
    return tuple(value)


def _age(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150:
        raise SpecError(f"audience.age.{key}: must be a whole number of years from 0 to 150")
    return value


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise SpecError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _range(value: Any, where: str) -> Period | None:
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"last_months"}:
        months = value["last_months"]
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= MONTHS_MAX:
            raise SpecError(f"{where}.last_months: must be a whole number of months from 1 to {MONTHS_MAX}")
        return LastMonths(months=months)
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise SpecError(f'{where}: must be {{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}} or {{"last_months": N}}')
    start, end = _date(value["from"], f"{where}.from"), _date(value["to"], f"{where}.to")
    if start > end:
        raise SpecError(f"{where}: from {start} is after to {end}")
    return DateRange(start=start, end=end)
