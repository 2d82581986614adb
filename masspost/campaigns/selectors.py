"""Reading campaigns: the preview (what a send would do) and a campaign's progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from masspost.audience.selectors import ResolvedAudience, audience_groups, audience_not_selected, audience_resolve
from masspost.campaigns.approvals import ApprovalNeed, RecipientsByClinic, approval_need, approval_rules_apply
from masspost.campaigns.audit import audit_record
from masspost.campaigns.models import Campaign, CampaignState
from masspost.campaigns.price import Price, sms_part_price
from masspost.campaigns.recent import RecentOverlap, recent_overlap, rule_counts
from masspost.campaigns.report import preview_dict
from masspost.campaigns.rules import REASONS, exclusion, sender_problem
from masspost.campaigns.snapshot import snapshot_keep
from masspost.campaigns.spec import CampaignSpec, Purpose, compile_content
from masspost.campaigns.sweep import Exclusion, Recipient, SweepResult, sweep
from masspost.campaigns.timing import Timing, campaign_timing
from masspost.campaigns.token import Token
from masspost.clinic.consent import patient_in_scope
from masspost.clinic.scope import Scope
from masspost.content import choose_language
from masspost.delivery.models import PENDING, MessageStatus
from masspost.delivery.selectors import OutboxRow, outbox_of_patient, outbox_status_counts
from masspost.errors import NotFoundError, StaleTokenError


@dataclass(frozen=True, kw_only=True, slots=True)
class Preview:
    spec: CampaignSpec
    audience: ResolvedAudience
    result: SweepResult
    token: Token
    not_selected: dict[str, int]  # patients the filter matches who are never selected, by status
    price: Price | None  # of one SMS part, when configured
    timing: Timing  # when each clinic's messages go, and the deadline
    recent: RecentOverlap | None = None  # a campaign sent in the last 24 h to most of these recipients
    approval: ApprovalNeed | None = None  # a second sender must approve the send (None: not needed)
    test_required: bool = False  # a clinic asks for a test to oneself before this (marketing) campaign is sent
    tested: bool = False  # such a test was sent (the same texts and settings)

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "campaign": {"name": self.spec.name, "purpose": self.spec.purpose.value,
                         "channel": self.spec.channel.value, "fallback_language": self.spec.fallback_language},
            "audience": {"patients": r.patients, "matched": r.patients + sum(self.not_selected.values()),
                         "not_selected": self.not_selected, **self.audience.fingerprint()},
            **preview_dict(result=r, price=self.price),
            "email_sanitised": self.spec.email_removed(),  # what the HTML cleaning took out, per language
            "token": str(self.token),
            "schedule": self.timing.to_dict(),
            "recent_campaign": self.recent.to_dict() if self.recent is not None else None,
            "approval": self.approval.to_dict() if self.approval is not None else None,
            "test_send": {"required": self.test_required, "done": self.tested},
        }


def preview_token(*, spec: CampaignSpec, audience: ResolvedAudience, result: SweepResult) -> Token:
    return Token.make(settings=spec.settings_digest(), content=spec.content_digest(),
                      audience=audience.fingerprint(), clinics=result.clinics, digest=result.digest,
                      messages=result.messages)


def token_setup_check(*, spec: CampaignSpec, audience: ResolvedAudience, previewed: Token) -> None:
    """The cheap parts of a previewed token, before any pass over the patients (no need to walk a million of
    them to see that the text changed): StaleTokenError naming what changed in the campaign itself."""
    now_setup = Token.make(settings=spec.settings_digest(), content=spec.content_digest(),
                           audience=audience.fingerprint(), clinics=previewed.clinics,
                           digest=int(previewed.recipients, 16), messages=previewed.messages)
    if changes := now_setup.setup_changes_since(previewed):
        raise StaleTokenError(changes)


def campaign_preview(*, spec: CampaignSpec, scope: Scope,
                     on_recipient: Callable[[Recipient], None] | None = None,
                     on_excluded: Callable[[Exclusion], None] | None = None, audit: bool = True,
                     now: dt.datetime | None = None, ignore_campaign: int | None = None) -> Preview:
    """What a send would do now (`now`: the clock, for tests; `ignore_campaign`: a sent campaign run again, whose
    own messages do not make its patients "recently messaged"). Its fingerprint is kept a day under the token
    (campaigns.snapshot), so that a send refused as stale can say exactly what changed, and the preview is audited
    (who, how many) — the only things a preview writes. `audit=False` for a pass that audits itself (a download).

    Beyond the counts: when each clinic's messages go and the deadline (SpecError for a send_at that has passed,
    a deadline before the start), a campaign sent in the last 24 hours to most of the same patients, whether a
    second sender must approve it, and whether a clinic asks for a test to oneself first."""
    now = now or timezone.now()
    price = sms_part_price()  # a bad setting is an error before the long pass, not after it
    audience = audience_resolve(audience=spec.audience, scope=scope)
    timing = campaign_timing(spec=spec, clinics=audience.clinics, now=now)
    result = sweep(spec=spec, resolved=audience, on_recipient=on_recipient, on_excluded=on_excluded,
                   fingerprint=True, ignore_campaign=ignore_campaign, now=now)
    token = preview_token(spec=spec, audience=audience, result=result)
    assert result.fingerprint is not None
    snapshot_keep(token=str(token), fingerprint=result.fingerprint, actor=scope.actor_key)
    if audit:
        audit_record(scope=scope, action="preview", detail={"patients": result.patients,
                                                            "messages": result.messages, "token": str(token)})
    approval = None
    if approval_rules_apply(audience.clinics):
        recipients = RecipientsByClinic.from_fingerprint(result.fingerprint)
        approval = approval_need(clinics=audience.clinics, recipients=recipients.counts, marketing=spec.marketing,
                                 sms_parts=sms_parts(result), price=price)
    required = needs_test_send(spec=spec, audience=audience)
    from masspost.campaigns.test_send import tested_before  # it renders the preview's samples: imports this module
    return Preview(spec=spec, audience=audience, result=result, token=token,
                   not_selected=audience_not_selected(audience), price=price, timing=timing,
                   recent=recent_overlap(resolved=audience, spec=spec, recipients=result, now=now, scope=scope),
                   approval=approval,
                   test_required=required, tested=tested_before(spec=spec))


def sms_parts(result: SweepResult) -> int:
    """The SMS parts the campaign sends (what it costs)."""
    return sum(t.parts_total for t in result.tallies.get("sms", {}).values())


def needs_test_send(*, spec: CampaignSpec, audience: ResolvedAudience) -> bool:
    """Whether a clinic of the audience asks for a test to oneself before a marketing campaign is sent."""
    return spec.marketing and any(c.test_before_marketing for c in audience.clinics)


def campaign_counts(*, spec: CampaignSpec, scope: Scope) -> dict[str, Any]:
    """Recipients and exclusions from one GROUP BY query, without rendering: the live count for a form.

    Agrees with campaign_preview's counts (a test holds them together); it only skips what needs each text.
    """
    compile_content(spec)  # the same template errors as the preview
    audience = audience_resolve(audience=spec.audience, scope=scope)
    marketing = spec.purpose is Purpose.MARKETING
    available = {ch: spec.languages_with(ch) for ch in spec.channels}
    has_sender = {ch: {c.id: sender_problem(c, ch) is None for c in audience.clinics} for ch in spec.channels}
    # Grouped by clinic too only when some clinic cannot send: the common query stays the small one.
    by_clinic = not all(ok for by_clinic in has_sender.values() for ok in by_clinic.values())
    recipients: dict[str, dict[str, int]] = {}
    excluded: dict[str, dict[str, int]] = {ch: dict.fromkeys(REASONS, 0) for ch in spec.channels}
    patients = 0
    languages: dict[str, int] = {}
    no_language: dict[str, int] = {}  # patients given their clinic's language, by that language
    for clinic_id, lang, acc_sms, acc_email, mkt_sms, mkt_email, phone_state, email_state, unset, n in (
            audience_groups(audience, by_clinic=by_clinic)):
        patients += n
        languages[lang] = languages.get(lang, 0) + n
        if unset:
            no_language[lang] = no_language.get(lang, 0) + unset
        for channel in spec.channels:
            sms = channel == "sms"
            chosen = choose_language(lang, available[channel], spec.fallback_language)
            reason = exclusion(accepts=acc_sms if sms else acc_email, marketing=marketing,
                               consent=mkt_sms if sms else mkt_email,
                               language=chosen, address_state=phone_state if sms else email_state,
                               has_sender=clinic_id is None or has_sender[channel][clinic_id])
            if reason:
                excluded[channel][reason] += n
            else:
                assert chosen is not None
                recipients.setdefault(chosen, {"sms": 0, "email": 0})[channel] += n
    # recently_messaged and shared_address need more than the groups: what they change, counted apart.
    rule_counts(spec=spec, resolved=audience).apply(recipients=recipients, excluded=excluded)
    not_selected = audience_not_selected(audience)
    return {"audience": {"patients": patients, "matched": patients + sum(not_selected.values()),
                         "not_selected": not_selected, "languages": dict(sorted(languages.items()))},
            "recipients": dict(sorted(recipients.items())),
            "excluded": {"sms": excluded.get("sms", {}), "email": excluded.get("email", {})},
            "no_language": dict(sorted(no_language.items()))}


def campaign_get(*, campaign_id: int, scope: Scope, for_update: bool = False) -> Campaign:
    """A campaign the actor may see: one drawn only from clinics in their scope. Any other is "not found", like
    a campaign that does not exist, so ids reveal nothing."""
    qs = Campaign.objects.select_for_update() if for_update else Campaign.objects.all()
    campaign = qs.filter(id=campaign_id).first()
    if campaign is None or not campaign_visibility(scope)(campaign):
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def campaign_visibility(scope: Scope) -> Callable[[Campaign], bool]:
    """The rule of campaign_get as a test, for lists of campaigns: drawn only from clinics in the scope. One
    query for the scope's clinic codes (none for the operator), however many campaigns it then tests."""
    if scope.clinic_ids is None:
        return lambda campaign: True
    reachable = set(scope.clinics().values_list("code", flat=True))
    return lambda campaign: set(campaign.audience.get("clinics", [])) <= reachable


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientMessage:
    campaign_id: int
    campaign_name: str
    message: OutboxRow


def patient_messages(*, scope: Scope, external_id: str, limit: int = 100) -> list[PatientMessage]:
    """What a patient's card shows: their newest messages, newest first, in the campaigns the actor may see
    (campaign_get's rule). A patient outside the scope's clinics is NotFoundError, as one that does not exist."""
    patient = patient_in_scope(scope=scope, external_id=external_id)
    rows = outbox_of_patient(patient_id=patient.id, limit=limit)
    campaigns = Campaign.objects.only("id", "name", "audience").in_bulk({campaign_id for campaign_id, _ in rows})
    visible = campaign_visibility(scope)
    return [PatientMessage(campaign_id=campaign_id, campaign_name=campaigns[campaign_id].name, message=row)
            for campaign_id, row in rows if visible(campaigns[campaign_id])]


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
