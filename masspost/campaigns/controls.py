"""When each campaign control applies (docs/ui.md, "Controls"): one rule for the services, which refuse a control
that does not apply (ConflictError, nothing changed), and for the campaign page, which shows only the buttons
that do.

- pause: the campaign is not paused or cancelled, and has queued messages (held back from the workers);
- resume: the campaign is paused;
- cancel: the campaign is not cancelled, and has messages not yet handed to a gateway (queued, paused or not);
- resend-unknown: the campaign is not cancelled, and has messages whose fate is unknown.

A message a worker has claimed (`sending`) is being handed over: it is neither held nor cancelled, so it makes no
control apply.
"""

from __future__ import annotations

from collections.abc import Mapping

from masspost.campaigns.models import CampaignState
from masspost.delivery.models import MessageStatus
from masspost.errors import ConflictError

CONTROLS = ("pause", "resume", "cancel", "resend-unknown")


def control_refusal(*, action: str, campaign_id: int, state: str, counts: Mapping[str, int]) -> ConflictError | None:
    """Why `action` does not apply to a campaign in `state` with these outbox `counts` (per status), as the error
    to raise — its `reason` a code the web UI says in the user's language; None when it applies."""
    queued = counts.get(MessageStatus.QUEUED, 0)
    if state == CampaignState.CANCELLED:
        return ConflictError(f"campaign {campaign_id} is cancelled: nothing can be {_DONE[action]} any more",
                             reason="cancelled")
    if action == "pause":
        if state == CampaignState.PAUSED:
            return ConflictError(f"campaign {campaign_id} is paused already", reason="paused")
        if not queued:
            return ConflictError(f"nothing to pause: campaign {campaign_id} has no message waiting to be sent "
                                 f"({_summary(counts)})", reason="nothing_waiting")
    elif action == "resume":
        if state != CampaignState.PAUSED:
            return ConflictError(f"campaign {campaign_id} is not paused", reason="not_paused")
    elif action == "cancel":
        if not queued:
            return ConflictError(f"nothing to cancel: campaign {campaign_id} has no message waiting to be sent "
                                 f"({_summary(counts)})", reason="nothing_waiting")
    elif action == "resend-unknown":
        if not counts.get(MessageStatus.UNKNOWN, 0):
            return ConflictError(f"campaign {campaign_id} has no message whose fate is unknown", reason="no_unknown")
    else:
        raise ValueError(action)
    return None


def controls_applicable(*, state: str, counts: Mapping[str, int]) -> frozenset[str]:
    """The controls that apply now: the buttons a campaign's page shows."""
    return frozenset(a for a in CONTROLS
                     if control_refusal(action=a, campaign_id=0, state=state, counts=counts) is None)


_DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled", "resend-unknown": "resent"}


def _summary(counts: Mapping[str, int]) -> str:
    """The outbox in a few words: "202 sent, 3 failed"."""
    shown = [f"{n} {status}" for status, n in counts.items() if n]
    return ", ".join(shown) if shown else "it has no messages"
