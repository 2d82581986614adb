"""A test send (docs/campaign.md, "Test send"): the preview's sample message in each language and channel, sent
now through the configured gateways to the signed-in user's own phone and e-mail (StaffMember.phone / .email) —
never to a patient, never in the outbox, audited as "campaign_test_send" with the campaign's content digest, which
is what a clinic's `test_before_marketing` rule asks for before a marketing send."""

from __future__ import annotations

from dataclasses import dataclass, field

from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope


@dataclass(frozen=True, kw_only=True, slots=True)
class SentSample:
    channel: str  # "sms" | "email"
    language: str
    to: str  # the user's own address
    ok: bool
    error: str = ""  # why the gateway refused it (no patient data)


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleOutcome:
    messages: list[SentSample] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # channels the user has no own address for

    def to_dict(self) -> dict[str, object]:
        return {"messages": [{"channel": m.channel, "language": m.language, "to": m.to, "ok": m.ok,
                              "error": m.error} for m in self.messages], "missing": self.missing}


def campaign_test_send(*, spec: CampaignSpec, scope: Scope, token: str | None = None) -> SampleOutcome:
    """Send the preview's samples to the user of `scope` (a REST API token's user; the command line: refused —
    `masspost test-send --user NAME` builds that user's scope). SpecError when the user has no own address for
    any of the campaign's channels."""
    raise NotImplementedError


def tested_before(*, spec: CampaignSpec) -> bool:
    """Whether a test of this campaign (its content and settings digests) was sent by anyone: the
    `test_before_marketing` rule."""
    raise NotImplementedError
