"""Phone and e-mail checks at import. An unusable address is kept as written and flagged, never a bad row."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType


def address_status(raw: str, usable: str) -> int:
    """The flag stored beside an address (clinic.models.AddressStatus)."""
    return 0 if not raw.strip() else (1 if usable else 2)


_SMS_CAPABLE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_phone(raw: str, region: str) -> tuple[str, str]:
    """(E.164 form, "") for a number that can take an SMS; ("", reason) otherwise; ("", "") when empty."""
    raw = raw.strip()
    if not raw:
        return "", ""
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        return "", "not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "", "not a valid phone number" + (f" for region {region}" if region else "")
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        return "", "not a mobile number (cannot receive SMS)"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def normalize_email(raw: str) -> tuple[str, str]:
    """(normalised address, "") or ("", reason); ("", "") when empty. No DNS look-up: imports run offline."""
    raw = raw.strip()
    if not raw:
        return "", ""
    try:
        # Nothing but ASCII before the "@": the SMTP gateway sends without SMTPUTF8 and refuses any other address,
        # so such an address is unusable (invalid_address at preview) rather than a message failed at the worker.
        return validate_email(raw, check_deliverability=False, allow_smtputf8=False).normalized, ""
    except EmailNotValidError:
        if not raw.rpartition("@")[0].isascii():
            return "", "cannot be sent: letters other than a–z before the @ (SMTPUTF8 is not supported)"
        return "", "not a valid e-mail address"
