"""The price of one SMS part, from MASSPOST_SMS_PART_PRICE ("0.065 EUR"): what a preview's parts will cost."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pycountry
from django.conf import settings

from masspost.errors import MasspostError

_AMOUNT = re.compile(r"\d+(\.\d+)?\Z")


@dataclass(frozen=True, kw_only=True, slots=True)
class Price:
    amount: Decimal
    currency: str  # ISO 4217

    def times(self, parts: int) -> str:
        """The cost of `parts` parts, exact (Decimal: no binary rounding), as text."""
        return str(self.amount * parts)


def sms_part_price() -> Price | None:
    """The configured price per SMS part; None when none is set (then no cost is shown)."""
    raw = (getattr(settings, "MASSPOST_SMS_PART_PRICE", "") or "").strip()
    if not raw:
        return None
    bits = raw.split()
    currency = bits[1].upper() if len(bits) == 2 else ""
    if len(bits) != 2 or not _AMOUNT.match(bits[0]) or pycountry.currencies.get(alpha_3=currency) is None:
        raise MasspostError(f"MASSPOST_SMS_PART_PRICE: {raw!r} is not a price per SMS part: write the amount with "
                            "a decimal point and an ISO 4217 currency code, e.g. '0.065 EUR'")
    return Price(amount=Decimal(bits[0]), currency=currency)
