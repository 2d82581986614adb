"""When each campaign control applies (docs/ui.md, "Controls"): one rule for the services, which refuse a control
that does not apply (ConflictError, nothing changed), and for the campaign page, which shows only the buttons
that do.

- pause: the campaign is not paused or cancelled, and has queued messages (held back from the workers);
- resume: the campaign is paused;
- cancel: the campaign is not cancelled, and has messages not yet handed to a gateway (queued, paused or not);
- resend-unknown: the campaign is not cancelled, and has messages whose fate is unknown;
- reschedule: the campaign is not cancelled and waits for its start (a CampaignGate "scheduled");
- approve, reject: the campaign is not cancelled and waits for a second sender's approval (not the author's:
  campaigns.approvals.is_author, which the services check and the page asks separately).

A campaign waiting for its start or its approval has queued messages, so it can be paused and cancelled as any.

A message a worker has claimed (`sending`) is being handed over: it is neither held nor cancelled, so it makes no
control apply.
"""

from __future__ import annotations

from collections.abc import Mapping

from masspost.campaigns.models import Approval, CampaignState
from masspost.delivery.models import MessageStatus
from masspost.errors import ConflictError

CONTROLS = ("pause", "resume", "cancel", "resend-unknown", "reschedule", "approve", "reject")


def control_refusal(*, action: str, campaign_id: int, state: str, counts: Mapping[str, int],
                    scheduled: bool = False, approval: str = "") -> ConflictError | None:
    """Why `action` does not apply to a campaign in `state` with these outbox `counts` (per status), as the error
    to raise — its `reason` a code the web UI says in the user's language; None when it applies. `scheduled`: it
    waits for its start; `approval`: Campaign.approval."""
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
    elif action == "reschedule":
        if not scheduled:
            return ConflictError(f"campaign {campaign_id} has started: only one that waits for its start can be "
                                 "rescheduled (pause or cancel it instead)", reason="started")
    elif action in ("approve", "reject"):
        if approval != Approval.PENDING:
            return ConflictError(f"campaign {campaign_id} is not waiting for approval", reason="not_pending")
    else:
        raise ValueError(action)
    return None


def controls_applicable(*, state: str, counts: Mapping[str, int], scheduled: bool = False,
                        approval: str = "") -> frozenset[str]:
    """The controls that apply now: the buttons a campaign's page shows (approve and reject also to its author,
    unless the page leaves them out: campaigns.approvals.is_author)."""
    return frozenset(a for a in CONTROLS
                     if control_refusal(action=a, campaign_id=0, state=state, counts=counts, scheduled=scheduled,
                                        approval=approval) is None)


_DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled", "resend-unknown": "resent",
         "reschedule": "rescheduled", "approve": "approved", "reject": "rejected"}


def _summary(counts: Mapping[str, int]) -> str:
    """The outbox in a few words: "202 sent, 3 failed"."""
    shown = [f"{n} {status}" for status, n in counts.items() if n]
    return ", ".join(shown) if shown else "it has no messages"
