"""A clinic's sending rules (docs/campaign.md): its windows for marketing and service messages, public holidays,
approval thresholds, the test-before-marketing rule and the recently-messaged days; and how its messages say who
they are from (docs/consent.md): the number patients text STOP to, and its own DKIM selector and key. Admins change
them on the clinic settings page, over the API (`PATCH /api/v1/clinics/{code}`) and in the clinics import; each
change audited ("clinic_settings", the fields changed, never values that are patient data — there are none here).

The DKIM key is write-only: it is checked by signing with it, stored, and never shown, returned or audited — the
audit says only `"dkim_key": "set"` or `"removed"`; what is shown of it is its public key's fingerprint and the TXT
record to publish (delivery.dkim). A selector and a key go together: removing the key clears the selector too
unless the same change gives one."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from masspost.campaigns.audit import audit_record
from masspost.clinic.contact import normalize_phone
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.delivery.dkim import DkimKeyError, key_from_pem, selector_problem
from masspost.errors import NotFoundError, SpecError
from masspost.schedule import parse_window

FIELDS = ("marketing_window", "service_window", "holidays", "approval_over", "approval_cost_over",
          "test_before_marketing", "recently_messaged_days", "sms_reply_number", "dkim_selector", "dkim_key")
WRITE_ONLY = frozenset({"dkim_key"})  # stored, never shown, returned or audited
DKIM_KEY_MAX = 20_000  # characters: a 4096-bit PEM key is about 3,300
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
    with transaction.atomic():
        clinic = scope.clinics().select_for_update().filter(code=code).first()
        if clinic is None:
            raise NotFoundError(f"no clinic {code!r} of yours")
        clean = clinic_settings_clean(values, country=clinic.country)
        if clean.get("dkim_key") == "" and "dkim_selector" not in values:
            clean["dkim_selector"] = ""  # a selector without its key means nothing
        _dkim_pair(selector=clean.get("dkim_selector", clinic.dkim_selector),
                   key=clean.get("dkim_key", clinic.dkim_key))
        changed = [name for name, value in clean.items() if getattr(clinic, name) != value]
        for name in changed:
            setattr(clinic, name, clean[name])
        if changed:
            clinic.save(update_fields=changed)
            detail: dict[str, Any] = {"clinic": clinic.code, "fields": changed}
            if "dkim_key" in changed:
                detail["dkim_key"] = "set" if clinic.dkim_key else "removed"  # never the key itself
            audit_record(action="clinic_settings", scope=scope, detail=detail)
    return clinic


def _dkim_pair(*, selector: str, key: str) -> None:
    if selector and not key:
        raise SpecError("dkim_key: a DKIM selector needs its private key (or clear the selector)")
    if key and not selector:
        raise SpecError("dkim_selector: a DKIM key needs its selector, the name its TXT record is published under")


def clinic_settings_clean(values: Mapping[str, Any], *, country: str = "") -> dict[str, Any]:
    """`values` checked and converted field by field, in FIELDS' order; SpecError "FIELD: why" at the first bad
    one. Also what the clinics import uses for its columns (with text already turned into values). `country`: the
    clinic's, for a reply number written without its country code. `dkim_key` None or "" removes the key."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise SpecError(f"{unknown[0]}: not a clinic setting (they are {', '.join(FIELDS)})")
    clean: dict[str, Any] = {}
    for name in FIELDS:
        if name in values:
            clean[name] = (_reply_number(name, values[name], country) if name == "sms_reply_number"
                           else _CHECKS[name](name, values[name]))
    return clean


def _text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SpecError(f"{name}: must be text")
    return value.strip()


def _reply_number(name: str, value: Any, country: str) -> str:
    """The number patients can text STOP to, in E.164 ("" none): a number that can take an SMS, as patients'
    numbers are checked (clinic.contact)."""
    number, problem = normalize_phone(_text(name, value), country)
    if problem:
        raise SpecError(f"{name}: {problem}")
    return number


def _selector(name: str, value: Any) -> str:
    selector = _text(name, value)
    if selector and (problem := selector_problem(selector)):
        raise SpecError(f"{name}: {problem}")
    return selector


def _dkim_key(name: str, value: Any) -> str:
    """The PEM text as stored (line ends made LF), checked by signing with it; "" removes. The key's text never
    reaches the error."""
    text = _text(name, value)
    if not text:
        return ""
    if len(text) > DKIM_KEY_MAX:
        raise SpecError(f"{name}: too long for a PEM private key")
    try:
        key = key_from_pem("check", text)
    except DkimKeyError as exc:
        raise SpecError(f"{name}: {exc}") from None
    return key.pem.decode("ascii", "replace")


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
    "dkim_selector": _selector, "dkim_key": _dkim_key,
}
