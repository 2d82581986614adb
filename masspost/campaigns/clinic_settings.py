"""A clinic's sending rules (docs/campaign.md): its windows for marketing and service messages, public holidays,
approval thresholds, the test-before-marketing rule and the recently-messaged days. Admins change them on the
clinic settings page, over the API (`PATCH /api/v1/clinics/{code}`) and in the clinics import; each change audited
("clinic_settings", the fields changed, never values that are patient data — there are none here)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from masspost.campaigns.audit import audit_record
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.errors import NotFoundError, SpecError
from masspost.schedule import parse_window

FIELDS = ("marketing_window", "service_window", "holidays", "approval_over", "approval_cost_over",
          "test_before_marketing", "recently_messaged_days")
RECENTLY_MESSAGED_MAX = 365
APPROVAL_OVER_MAX = 2_147_483_647  # the column's (PositiveIntegerField) largest value
COST_MAX = Decimal("99999999.99")  # max_digits=10, decimal_places=2


def clinic_settings_list(*, scope: Scope) -> list[Clinic]:
    """The clinics `scope` reaches, by code."""
    return list(scope.clinics().order_by("code"))


def clinic_settings_change(*, scope: Scope, code: str, values: Mapping[str, Any]) -> Clinic:
    """Change the given FIELDS of clinic `code` (admin of that clinic; another clinic: NotFoundError). Windows are
    checked with masspost.schedule.parse_window and stored as it writes them; SpecError names the field and why,
    and nothing is changed."""
    scope.require(Role.ADMIN)
    clean = clinic_settings_clean(values)
    with transaction.atomic():
        clinic = scope.clinics().select_for_update().filter(code=code).first()
        if clinic is None:
            raise NotFoundError(f"no clinic {code!r} of yours")
        changed = [name for name, value in clean.items() if getattr(clinic, name) != value]
        for name in changed:
            setattr(clinic, name, clean[name])
        if changed:
            clinic.save(update_fields=changed)
            audit_record(action="clinic_settings", scope=scope, detail={"clinic": clinic.code, "fields": changed})
    return clinic


def clinic_settings_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` checked and converted field by field, in FIELDS' order; SpecError "FIELD: why" at the first bad
    one. Also what the clinics import uses for its columns (with text already turned into values)."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise SpecError(f"{unknown[0]}: not a clinic setting (they are {', '.join(FIELDS)})")
    clean: dict[str, Any] = {}
    for name in FIELDS:
        if name in values:
            clean[name] = _CHECKS[name](name, values[name])
    return clean


def _window(name: str, value: Any) -> str:
    try:
        return str(parse_window(value))
    except ValueError as exc:
        raise SpecError(f"{name}: {exc}") from None


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name}: must be true or false")
    return value


def _count_or_none(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= APPROVAL_OVER_MAX:
        raise SpecError(f"{name}: must be a whole number of at least 1, or none")
    return value


def _cost_or_none(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise SpecError(f"{name}: must be an amount of at least 0, or none")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SpecError(f"{name}: must be an amount of at least 0, or none") from None
    if not amount.is_finite() or amount < 0 or amount > COST_MAX:
        raise SpecError(f"{name}: must be an amount of at least 0 and at most {COST_MAX}, or none")
    if amount != amount.quantize(Decimal("0.01")):
        raise SpecError(f"{name}: at most 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= RECENTLY_MESSAGED_MAX:
        raise SpecError(f"{name}: must be a whole number of days from 0 (off) to {RECENTLY_MESSAGED_MAX}")
    return value


_CHECKS: dict[str, Any] = {
    "marketing_window": _window, "service_window": _window, "holidays": _flag, "approval_over": _count_or_none,
    "approval_cost_over": _cost_or_none, "test_before_marketing": _flag, "recently_messaged_days": _days,
}
