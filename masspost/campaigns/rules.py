"""Who is left out of a channel, and why (DESIGN.md "Exclusion reasons"): the first reason that applies.

`no_sender` comes last: it is the clinic's problem, not the patient's, so a patient who would be left out anyway
is counted under their own reason, and the `no_sender` count is exactly the messages a sender would add.
"""

from __future__ import annotations

from masspost.audience.selectors import INVALID_ADDRESS, NO_ADDRESS
from masspost.clinic.models import Clinic
from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.delivery.gateways.smpp_pdu import source_address
from masspost.delivery.gateways.smtp_message import EmailWriter, InvalidMessageError

OPTED_OUT = "opted_out"
NO_MARKETING_CONSENT = "no_marketing_consent"
NO_CONTENT = "no_content"
NO_ADDRESS_REASON = "no_address"
INVALID_ADDRESS_REASON = "invalid_address"
# Got a message of a campaign of the same purpose on this channel within the last N days (campaigns.recent).
RECENTLY_MESSAGED = "recently_messaged"
# Shares this channel's address with another recipient, who gets the one message (`one_per_address`).
SHARED_ADDRESS = "shared_address"
NO_SENDER = "no_sender"
REASONS = (OPTED_OUT, NO_MARKETING_CONSENT, NO_CONTENT, NO_ADDRESS_REASON, INVALID_ADDRESS_REASON, RECENTLY_MESSAGED,
           SHARED_ADDRESS, NO_SENDER)

# Any address will do: only the clinic's From and Reply-To are being checked.
_PROBE_RECIPIENT = "patient@example.org"


def exclusion(*, accepts: bool, marketing: bool, consent: bool, language: str | None, address_state: int,
              has_sender: bool = True, recent: bool = False, shared: bool = False) -> str | None:
    """None when the patient gets this channel; otherwise the reason, in DESIGN.md's order. `accepts`: the
    channel as a whole (withdrawn: nothing goes on it, service or marketing); `consent`: marketing consent on
    this channel (masspost.consent), which only a marketing campaign needs — the caller passes the channel's
    own, so `no_marketing_consent` on a channel's row says which consent is missing. `recent`: messaged on this
    channel by a campaign of the same purpose lately; `shared`: another patient who shares the address gets the
    one message (both decided by the sweep's queries, campaigns.recent)."""
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
    if recent:
        return RECENTLY_MESSAGED
    if shared:
        return SHARED_ADDRESS
    if not has_sender:
        return NO_SENDER
    return None


def sender_problem(clinic: Clinic, channel: str) -> str | None:
    """Why the gateways would refuse every message of `clinic` on `channel` (then `no_sender`); None if they take it.

    The gateways' own checks decide, once per clinic: an SMS sender id as SMPP's source address takes it (up to 11
    ASCII characters, or a number; none = the SMSC's default sender), an e-mail's From as the MIME writer builds
    it from the clinic's address and name.
    """
    if channel == "sms":
        try:
            source_address(clinic.sms_sender)
        except ValueError as exc:
            return f"the clinic's SMS sender cannot be used ({exc})"
        return None
    if not clinic.email.strip():
        return "the clinic has no e-mail address"
    probe = OutgoingMessage(message_id=0, campaign_id=0, patient_ref="", channel=Channel.EMAIL, to=_PROBE_RECIPIENT,
                            language="", text="", sender=clinic.email, sender_name=clinic.name, reply_to=clinic.email)
    try:
        EmailWriter().wire(probe)
    except InvalidMessageError as exc:
        return f"the clinic's e-mail address and name cannot make an e-mail's From ({exc})"
    return None
