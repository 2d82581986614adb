"""Reading campaigns: the preview (what a send would do) and a campaign's progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from masspost.audience.selectors import ResolvedAudience, audience_groups, audience_resolve
from masspost.campaigns.models import Campaign, CampaignState
from masspost.campaigns.rules import REASONS, exclusion
from masspost.campaigns.spec import CampaignSpec, Purpose, compile_content
from masspost.campaigns.sweep import Exclusion, Recipient, SweepResult, sweep
from masspost.campaigns.token import Token
from masspost.clinic.scope import Scope
from masspost.content import choose_language
from masspost.delivery.models import PENDING, MessageStatus
from masspost.delivery.selectors import outbox_status_counts
from masspost.errors import NotFoundError


@dataclass(frozen=True, kw_only=True, slots=True)
class Preview:
    spec: CampaignSpec
    audience: ResolvedAudience
    result: SweepResult
    token: Token

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        recipients: dict[str, dict[str, int]] = {}
        for channel, by_lang in r.tallies.items():
            for lang, tally in by_lang.items():
                recipients.setdefault(lang, {"sms": 0, "email": 0})[channel] = tally.recipients
        sms = {lang: _tally_dict(t) for lang, t in r.tallies.get("sms", {}).items()}
        email = {lang: _tally_dict(t) for lang, t in r.tallies.get("email", {}).items()}
        return {
            "campaign": {"name": self.spec.name, "purpose": self.spec.purpose.value,
                         "channel": self.spec.channel.value, "fallback_language": self.spec.fallback_language},
            "audience": {"patients": r.patients, **self.audience.fingerprint()},
            "recipients": dict(sorted(recipients.items())),
            "excluded": {"sms": r.excluded.get("sms", {}), "email": r.excluded.get("email", {})},
            "no_content_languages": r.no_content_languages,
            "fallback": r.fallback,
            "sms": sms,
            "email": email,
            "sms_parts_total": sum(t.parts_total for t in r.tallies.get("sms", {}).values()),
            "emails_total": sum(t.recipients for t in r.tallies.get("email", {}).values()),
            "messages_total": r.messages,
            "token": str(self.token),
        }


def _tally_dict(tally: Any) -> dict[str, Any]:
    def sample(rec: Recipient | None) -> dict[str, Any] | None:
        if rec is None:
            return None
        out: dict[str, Any] = {"patient": rec.patient_ref, "text": rec.text}
        if rec.channel == "sms":
            out |= {"encoding": rec.encoding, "parts": rec.parts}
        else:
            out["subject"] = rec.subject
        return out

    out = {"recipients": tally.recipients, "sample": sample(tally.sample)}
    if tally.encodings:
        out |= {"encodings": tally.encodings, "parts_min": tally.parts_min, "parts_max": tally.parts_max,
                "parts_total": tally.parts_total, "longest": sample(tally.longest)}
    return out


def preview_token(*, spec: CampaignSpec, audience: ResolvedAudience, result: SweepResult) -> Token:
    return Token.make(settings=spec.settings_digest(), content=spec.content_digest(),
                      audience=audience.fingerprint(), digest=result.digest, messages=result.messages)


def campaign_preview(*, spec: CampaignSpec, scope: Scope,
                     on_recipient: Callable[[Recipient], None] | None = None,
                     on_excluded: Callable[[Exclusion], None] | None = None) -> Preview:
    audience = audience_resolve(audience=spec.audience, scope=scope)
    result = sweep(spec=spec, resolved=audience, on_recipient=on_recipient, on_excluded=on_excluded)
    return Preview(spec=spec, audience=audience, result=result,
                   token=preview_token(spec=spec, audience=audience, result=result))


def campaign_counts(*, spec: CampaignSpec, scope: Scope) -> dict[str, Any]:
    """Recipients and exclusions from one GROUP BY query, without rendering: the live count for a form.

    Agrees with campaign_preview's counts (a test holds them together); it only skips what needs each text.
    """
    compile_content(spec)  # the same template errors as the preview
    audience = audience_resolve(audience=spec.audience, scope=scope)
    marketing = spec.purpose is Purpose.MARKETING
    available = {ch: spec.languages_with(ch) for ch in spec.channels}
    recipients: dict[str, dict[str, int]] = {}
    excluded: dict[str, dict[str, int]] = {ch: dict.fromkeys(REASONS, 0) for ch in spec.channels}
    patients = 0
    for lang, acc_sms, acc_email, consent, phone_state, email_state, n in audience_groups(audience):
        patients += n
        for channel in spec.channels:
            sms = channel == "sms"
            chosen = choose_language(lang, available[channel], spec.fallback_language)
            reason = exclusion(accepts=acc_sms if sms else acc_email, marketing=marketing, consent=consent,
                               language=chosen, address_state=phone_state if sms else email_state)
            if reason:
                excluded[channel][reason] += n
            else:
                assert chosen is not None
                recipients.setdefault(chosen, {"sms": 0, "email": 0})[channel] += n
    return {"audience": {"patients": patients}, "recipients": dict(sorted(recipients.items())),
            "excluded": {"sms": excluded.get("sms", {}), "email": excluded.get("email", {})}}


def campaign_get(*, campaign_id: int, scope: Scope, for_update: bool = False) -> Campaign:
    """A campaign the actor may see: one drawn only from clinics in their scope. Any other is "not found", like
    a campaign that does not exist, so ids reveal nothing."""
    qs = Campaign.objects.select_for_update() if for_update else Campaign.objects.all()
    campaign = qs.filter(id=campaign_id).first()
    if campaign is not None and scope.clinic_ids is not None:
        reachable = set(scope.clinics().values_list("code", flat=True))
        if not set(campaign.audience.get("clinics", [])) <= reachable:
            campaign = None
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def campaign_status(*, campaign_id: int, scope: Scope) -> dict[str, Any]:
    campaign = campaign_get(campaign_id=campaign_id, scope=scope)
    counts = outbox_status_counts(campaign_id=campaign.id)
    pending = sum(counts[s] for s in PENDING)
    if campaign.state != CampaignState.ACTIVE:
        status = campaign.state
    else:
        status = "sending" if pending else "done"
    return {"campaign": campaign.id, "name": campaign.name, "status": status, "messages": counts,
            "total": campaign.messages, "created_at": campaign.created_at.isoformat(),
            "problems": counts[MessageStatus.FAILED] + counts[MessageStatus.UNKNOWN] + counts[MessageStatus.EXPIRED]}
