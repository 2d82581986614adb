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


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceFilter:
    clinics: tuple[str, ...] = ()  # clinic codes; () = every clinic in scope
    age_min: int | None = None
    age_max: int | None = None
    countries: tuple[str, ...] = ()
    visited: DateRange | None = None
    not_visited: DateRange | None = None
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


def _range(value: Any, where: str) -> DateRange | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise SpecError(f'{where}: must be {{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}}')
    start, end = _date(value["from"], f"{where}.from"), _date(value["to"], f"{where}.to")
    if start > end:
        raise SpecError(f"{where}: from {start} is after to {end}")
    return DateRange(start=start, end=end)
