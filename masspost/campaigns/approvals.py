"""A second approver (docs/campaign.md, "Approval"): a clinic's `approval_over` (recipients) or
`approval_cost_over` (a marketing campaign's SMS cost) makes a campaign wait, held by a CampaignGate "approval",
until another user with the sender role approves the token that was previewed. The author cannot approve their own;
a preparer cannot approve; a stale token (the audience changed since) cannot be approved."""

from __future__ import annotations

from dataclasses import dataclass

from masspost.campaigns.models import Campaign
from masspost.clinic.scope import Scope


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalNeed:
    rule: str  # "recipients" | "cost"
    over: str  # the clinic's threshold as text ("150", "20.00 EUR")
    clinic: str  # the clinic code whose rule applies (the strictest of the campaign's clinics)
    value: str  # the campaign's recipients or cost, as text

    def to_dict(self) -> dict[str, object]:
        return {"needed": True, "rule": self.rule, "over": self.over, "clinic": self.clinic, "value": self.value}


def approvals_pending(*, scope: Scope) -> list[Campaign]:
    """Campaigns waiting for approval that `scope` can see (all its clinics), oldest first."""
    raise NotImplementedError


def approvals_waiting(*, scope: Scope) -> int:
    """How many of them `scope` could approve (not its own; sender role or above): the navigation's badge."""
    raise NotImplementedError
