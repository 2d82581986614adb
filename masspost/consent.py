"""A patient's consent as their ledger gives it: a pure fold over consent events, no Django (docs/consent.md).

Two channels (sms, email), two purposes. "service" is the channel as a whole: withdrawn, nothing goes on the
channel — not even a reminder of an appointment (a hard opt-out). "marketing" is offers on the channel: withdrawn,
service messages still go. Before any event a patient takes service messages on both channels (the clinic's
legitimate interest in its own patients' care) and no marketing on either (marketing needs consent on record).
The latest event for a (channel, purpose) is the consent; `masspost.clinic.ledger` keeps the Patient's columns
equal to this fold in the same transaction that appends an event."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

CHANNELS = ("sms", "email")
PURPOSES = ("service", "marketing")

# (channel, purpose) → the ConsentState field (and the Patient column) that holds it.
FIELDS = {("sms", "service"): "accepts_sms", ("email", "service"): "accepts_email",
          ("sms", "marketing"): "marketing_sms", ("email", "marketing"): "marketing_email"}


@dataclass(frozen=True, slots=True)
class ConsentState:
    accepts_sms: bool = True
    accepts_email: bool = True
    marketing_sms: bool = False
    marketing_email: bool = False

    def allows(self, channel: str, *, marketing: bool) -> bool:
        """Whether a message of this purpose may go on this channel: the channel as a whole, and for marketing
        the channel's marketing consent too."""
        whole = self.accepts_sms if channel == "sms" else self.accepts_email
        if not marketing:
            return whole
        return whole and (self.marketing_sms if channel == "sms" else self.marketing_email)

    def get(self, channel: str, purpose: str) -> bool:
        return bool(getattr(self, FIELDS[(channel, purpose)]))

    def columns(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in FIELDS.values()}


NONE_RECORDED = ConsentState()


def consent_fold(events: Iterable[tuple[str, str, bool]], start: ConsentState = NONE_RECORDED) -> ConsentState:
    """The consent after `events` — (channel, purpose, accepts), oldest first — starting from `start`."""
    state = start
    for channel, purpose, accepts in events:
        state = replace(state, **{FIELDS[(channel, purpose)]: accepts})
    return state
