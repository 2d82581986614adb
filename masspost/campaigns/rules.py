"""Who is left out of a channel, and why (DESIGN.md "Exclusion reasons"): the first reason that applies."""

from __future__ import annotations

from masspost.audience.selectors import INVALID_ADDRESS, NO_ADDRESS

OPTED_OUT = "opted_out"
NO_MARKETING_CONSENT = "no_marketing_consent"
NO_CONTENT = "no_content"
NO_ADDRESS_REASON = "no_address"
INVALID_ADDRESS_REASON = "invalid_address"
REASONS = (OPTED_OUT, NO_MARKETING_CONSENT, NO_CONTENT, NO_ADDRESS_REASON, INVALID_ADDRESS_REASON)


def exclusion(*, accepts: bool, marketing: bool, consent: bool, language: str | None, address_state: int) -> str | None:
    """None when the patient gets this channel; otherwise the reason, in DESIGN.md's order."""
    if not accepts:
        return OPTED_OUT
    if marketing and not consent:
        return NO_MARKETING_CONSENT
    if language is None:
        return NO_CONTENT
    if address_state == NO_ADDRESS:
        return NO_ADDRESS_REASON
    if address_state == INVALID_ADDRESS:
        return INVALID_ADDRESS_REASON
    return None
