"""A second approver (docs/campaign.md, "Approval"): a clinic's `approval_over` (recipients) or
`approval_cost_over` (a marketing campaign's SMS cost) makes a campaign wait, held by a CampaignGate "approval",
until another user with the sender role approves the token that was previewed. The author cannot approve their own;
a preparer cannot approve; a stale token (the audience changed since) cannot be approved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from masspost.campaigns.models import Approval, Campaign, CampaignState
from masspost.campaigns.price import Price
from masspost.campaigns.rules import REASONS
from masspost.campaigns.snapshot import Seen
from masspost.campaigns.sweep import Recipient
from masspost.clinic.models import Clinic
from masspost.clinic.scope import ActorKind, Role, Scope

RULE_RECIPIENTS = "recipients"
RULE_COST = "cost"


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalNeed:
    rule: str  # "recipients" | "cost"
    over: str  # the clinic's threshold as text ("150", "20.00 EUR")
    clinic: str  # the clinic code whose rule applies (the strictest of the campaign's clinics)
    value: str  # the campaign's recipients or cost, as text

    def to_dict(self) -> dict[str, object]:
        return {"needed": True, "rule": self.rule, "over": self.over, "clinic": self.clinic, "value": self.value}


@dataclass(kw_only=True)
class RecipientsByClinic:
    """Patients who get at least one message, per clinic id: fed the send's recipients one by one (a patient's
    channels come one after the other in the sweep), or read from a preview's fingerprint."""

    counts: dict[int, int] = field(default_factory=dict)
    _last: int = -1

    def add(self, recipient: Recipient) -> None:
        if recipient.patient_id != self._last:
            self._last = recipient.patient_id
            self.counts[recipient.clinic_id] = self.counts.get(recipient.clinic_id, 0) + 1

    @classmethod
    def from_fingerprint(cls, fingerprint: bytes | bytearray) -> RecipientsByClinic:
        seen = Seen.read(fingerprint)
        outcomes: dict[str, list[str]] = seen.header["outcomes"]  # type: ignore[assignment]
        channels: list[str] = seen.header["channels"]  # type: ignore[assignment]
        # Per channel, the outcome codes that are a message (a language), not a reason to leave the patient out.
        sends = [frozenset(i for i, name in enumerate(outcomes[ch]) if name not in REASONS) for ch in channels]
        counts: dict[int, int] = {}
        for i, clinic_id in enumerate(seen.clinics):
            if any((values[i] >> 16) in ok for values, ok in zip(seen.channels, sends, strict=True)):
                counts[clinic_id] = counts.get(clinic_id, 0) + 1
        return cls(counts=counts)


def approval_need(*, clinics: Iterable[Clinic], recipients: Mapping[int, int], sms_parts: int, marketing: bool,
                  price: Price | None) -> ApprovalNeed | None:
    """Whether the campaign needs a second approver, and by which rule: among the clinics with recipients
    (`recipients`: clinic id → patients who get at least one message), the lowest `approval_over` that the
    campaign's recipients exceed, else (marketing, with a price per SMS part configured) the lowest
    `approval_cost_over` that its SMS cost (parts × price) exceeds. None: no approval needed."""
    with_recipients = sorted((c for c in clinics if recipients.get(c.id)), key=lambda c: c.code)
    total = sum(recipients.get(c.id, 0) for c in with_recipients)
    by_count = [c for c in with_recipients if c.approval_over is not None]
    if by_count:
        strictest = min(by_count, key=lambda c: c.approval_over or 0)
        assert strictest.approval_over is not None
        if total > strictest.approval_over:
            return ApprovalNeed(rule=RULE_RECIPIENTS, over=str(strictest.approval_over), clinic=strictest.code,
                                value=str(total))
    if marketing and price is not None and sms_parts:
        by_cost = [c for c in with_recipients if c.approval_cost_over is not None]
        if by_cost:
            strictest = min(by_cost, key=lambda c: c.approval_cost_over or Decimal(0))
            assert strictest.approval_cost_over is not None
            cost = price.amount * sms_parts
            if cost > strictest.approval_cost_over:
                return ApprovalNeed(rule=RULE_COST, over=f"{strictest.approval_cost_over:.2f} {price.currency}",
                                    clinic=strictest.code, value=f"{cost} {price.currency}")
    return None


def approval_rules_apply(clinics: Iterable[Clinic]) -> bool:
    """Whether any of `clinics` has an approval rule at all (else nothing need be counted)."""
    return any(c.approval_over is not None or c.approval_cost_over is not None for c in clinics)


def is_author(*, campaign: Campaign, scope: Scope) -> bool:
    """Whether `scope`'s actor sent the campaign: the same user (by id), or the command line for one it sent."""
    if campaign.created_by_user_id is None:
        return scope.kind is ActorKind.COMMAND_LINE
    return scope.user_id == campaign.created_by_user_id


def approvals_pending(*, scope: Scope) -> list[Campaign]:
    """Campaigns waiting for approval that `scope` can see (all its clinics), oldest first."""
    from masspost.campaigns.selectors import campaign_visibility  # selectors shows ApprovalNeed in the preview

    visible = campaign_visibility(scope)
    pending = (Campaign.objects.filter(approval=Approval.PENDING).exclude(state=CampaignState.CANCELLED)
               .defer("spec").order_by("created_at", "id"))
    return [c for c in pending if visible(c)]


def approvals_waiting(*, scope: Scope) -> int:
    """How many of them `scope` could approve (not its own; sender role or above): the navigation's badge."""
    if not scope.may(Role.SENDER):
        return 0
    return sum(1 for c in approvals_pending(scope=scope) if not is_author(campaign=c, scope=scope))
