"""The phone numbers an incoming SMS's source can be (docs/delivery.md, "Stop words").

An SMSC gives the source of a mobile-originated SMS with a type of number (SMPP `source_addr_ton`): international
(1) — the country code and the number, without "+" — national (2), in the SMSC's own country's form
("51234567"), or unknown (0), which may be either, or carry an international call prefix ("0037251234567").
Patients' numbers are stored in E.164 (`Patient.phone_e164`), so the source is read into E.164 with
phonenumbers: a national number in each country the clinics are in (the SMSC's country is one of them; which,
masspost does not know). Only valid numbers count. No Django here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL = 0, 1, 2
TON_ALPHANUMERIC, TON_ABBREVIATED = 5, 6  # a sender name or a short code: never a patient's number
_SEPARATORS = re.compile(r"[\s().\-/]")


def incoming_numbers(source: str, *, ton: int, countries: Iterable[str]) -> tuple[str, ...]:
    """The E.164 numbers `source` can be, most certain first, without repeats; () when it cannot be a phone
    number. `countries`: ISO 3166-1 alpha-2 codes to read a national number in."""
    if ton in (TON_ALPHANUMERIC, TON_ABBREVIATED):
        return ()
    text = _SEPARATORS.sub("", source)
    international = text.startswith(("+", "00")) or ton == TON_INTERNATIONAL
    digits = text.removeprefix("+")
    if not digits.isdigit():
        return ()
    if text.startswith("00"):
        digits = digits[2:]  # an international call prefix, whatever the type of number says
    readings: list[str | None] = []
    if international:
        readings.append(_valid(f"+{digits}", None))
    else:
        readings += [_valid(digits, country) for country in countries]
        if ton == TON_UNKNOWN:
            readings.append(_valid(f"+{digits}", None))  # an international number without its "+"
    return tuple(dict.fromkeys(reading for reading in readings if reading))


def _valid(number: str, country: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
