"""Changing campaigns: the send (one confirmation → one campaign and its whole outbox, in one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from masspost.audience.selectors import ResolvedAudience, audience_resolve
from masspost.bulk import statistics_refresh
from masspost.campaigns.audit import audit_record
from masspost.campaigns.changes import Change, recipient_changes
from masspost.campaigns.controls import control_refusal
from masspost.campaigns.models import Campaign, CampaignState, IdempotentSend
from masspost.campaigns.selectors import campaign_get, preview_token
from masspost.campaigns.snapshot import Seen, snapshot_load
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Recipient, sweep
from masspost.campaigns.token import Token
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import OutboxMessage
from masspost.delivery.outbox import OutboxWriter, outbox_cancel, outbox_hold, outbox_requeue_unknown
from masspost.delivery.selectors import outbox_status_counts
from masspost.errors import (
    ConflictError,
    ConflictingRequestError,
    NothingToSendError,
    StaleTokenError,
    StateError,
)

DEFAULT_DEADLINE = timedelta(hours=24)
ANALYZE_AFTER = 20_000  # messages: a send this large refreshes the outbox's statistics


NOTHING_TO_SEND = "nothing to send: no patient gets a message (the preview says who is left out and why)"


@dataclass(frozen=True, kw_only=True, slots=True)
class SendOutcome:
    campaign_id: int
    messages: int
    created: bool  # False: this confirmation had already been sent, nothing new was written


class _Stale(Exception):
    """Leaves the send's transaction (rolling it back) when what it saw differs from the preview."""


def campaign_send(*, spec: CampaignSpec, scope: Scope, token: str | None = None,
                  deadline: timedelta = DEFAULT_DEADLINE) -> SendOutcome:
    """Send what the preview with `token` showed; with no token, what a preview made now would show.

    Stale token → StaleTokenError saying what changed, and nothing is written. No message at all →
    NothingToSendError. The same confirmation twice → the first campaign, unchanged.
    """
    scope.require(Role.SENDER)
    previewed = Token.parse(token) if token else None
    audience = audience_resolve(audience=spec.audience, scope=scope)
    if previewed is not None:
        # The cheap parts of the token first: no need to walk a million patients to see the text changed.
        now_setup = Token.make(settings=spec.settings_digest(), content=spec.content_digest(),
                               audience=audience.fingerprint(), clinics=previewed.clinics,
                               digest=int(previewed.recipients, 16), messages=previewed.messages)
        if changes := now_setup.setup_changes_since(previewed):
            raise StaleTokenError(changes)
        if previewed.messages == 0:
            raise NothingToSendError(NOTHING_TO_SEND)
        existing = Campaign.objects.filter(token=str(previewed)).first()
        if existing is not None:
            return SendOutcome(campaign_id=existing.id, messages=existing.messages, created=False)

    now = timezone.now()
    clinics = {c.id: c for c in audience.clinics}
    current: Token | None = None
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                name=spec.name, purpose=spec.purpose.value, channel=spec.channel.value,
                fallback_language=spec.fallback_language or "", spec=spec.to_dict(),
                audience=audience.fingerprint(), token=f"pending-{uuid.uuid4()}", deadline=now + deadline,
                created_by=scope.who, created_by_user_id=scope.user_id)
            writer = OutboxWriter(campaign_id=campaign.id, deadline=campaign.deadline)

            def write(r: Recipient) -> None:
                clinic = clinics[r.clinic_id]
                sms = r.channel == "sms"
                writer.add(patient_id=r.patient_id, patient_ref=r.patient_ref, channel=r.channel, address=r.address,
                           language=r.language, subject=r.subject, body=r.text, encoding=r.encoding, parts=r.parts,
                           sender=clinic.sms_sender if sms else clinic.email, sender_name="" if sms else clinic.name)

            result = sweep(spec=spec, resolved=audience, on_recipient=write)
            writer.flush()
            current = preview_token(spec=spec, audience=audience, result=result)
            if previewed is not None and current != previewed:
                raise _Stale
            if writer.written == 0:
                raise NothingToSendError(NOTHING_TO_SEND)
            campaign.token = str(current)
            campaign.messages = writer.written
            campaign.save(update_fields=["token", "messages"])
            audit_record(scope=scope, action="campaign_send", campaign=campaign,
                         detail={"messages": writer.written, "token": str(current),
                                 "sms_parts": sum(t.parts_total for t in result.tallies.get("sms", {}).values()),
                                 # who was left out, kept for the campaign's page (campaigns.detail): counts only
                                 "patients": result.patients,
                                 "excluded": {ch: {r: n for r, n in reasons.items() if n}
                                              for ch, reasons in result.excluded.items()}})
    except _Stale:
        assert previewed is not None and current is not None
        changed = _what_changed(spec, audience, previewed, current)
        raise StaleTokenError(changed) from None
    except IntegrityError:
        # Another confirmation of the same preview committed first: that campaign is this one.
        existing = Campaign.objects.filter(token=str(current)).first() if current else None
        if existing is None:
            raise
        return SendOutcome(campaign_id=existing.id, messages=existing.messages, created=False)
    if campaign.messages >= ANALYZE_AFTER:
        # The planner sees the new rows before the first polls of the campaign's progress come (they come at once).
        statistics_refresh([OutboxMessage])
    return SendOutcome(campaign_id=campaign.id, messages=campaign.messages, created=True)


IDEMPOTENCY_KEPT = timedelta(days=7)
IDEMPOTENCY_ABANDONED = timedelta(minutes=10)  # longer than any send takes


def campaign_send_once(*, spec: CampaignSpec, scope: Scope, token: str, key: str, body_digest: str) -> SendOutcome:
    """campaign_send under an idempotency key (the REST API's `Idempotency-Key`): the first request with `key`
    sends; the same key with the same body (`body_digest`) again answers as the first did and sends nothing; the
    same key with another body is ConflictingRequestError. The key is claimed before the send, so a retry that
    overtakes a send still under way is StateError ("in progress") rather than a second send; a send that
    fails frees its key. Keys are the actor's — a user's by id (`Scope.actor_key`), whichever token of theirs —
    and kept IDEMPOTENCY_KEPT."""
    scope.require(Role.SENDER)
    IdempotentSend.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_KEPT).delete()
    try:
        with transaction.atomic():
            claim = IdempotentSend.objects.create(actor=scope.actor_key, key=key, body_digest=body_digest)
    except IntegrityError:
        earlier = IdempotentSend.objects.filter(actor=scope.actor_key, key=key).first()
        if earlier is None:  # it failed and freed the key meanwhile: this request may try
            return campaign_send_once(spec=spec, scope=scope, token=token, key=key, body_digest=body_digest)
        if earlier.body_digest != body_digest:
            raise ConflictingRequestError("this Idempotency-Key was used for another request: use a new key for "
                                          "a new send") from None
        if earlier.campaign_id is not None:
            return SendOutcome(campaign_id=earlier.campaign_id, messages=earlier.messages, created=False)
        # A claim left by a process that died mid-send is taken over: the send is keyed by its preview token,
        # so if that send had committed, this one finds its campaign instead of making another.
        abandoned = timezone.now() - IDEMPOTENCY_ABANDONED
        if not IdempotentSend.objects.filter(id=earlier.id, campaign=None, created_at__lt=abandoned).update(
                created_at=timezone.now()):
            raise StateError("a request with this Idempotency-Key is still being handled: retry in a moment"
                             ) from None
        claim = earlier
    try:
        outcome = campaign_send(spec=spec, scope=scope, token=token)
    except BaseException:
        claim.delete()
        raise
    IdempotentSend.objects.filter(id=claim.id).update(campaign_id=outcome.campaign_id, messages=outcome.messages)
    return outcome


def _what_changed(spec: CampaignSpec, audience: ResolvedAudience, previewed: Token, current: Token) -> list[Change]:
    """The send's refusal in the user's words: with counts when the preview's fingerprint is still kept, from a
    second pass over the audience (only a refused send pays for it)."""
    before = snapshot_load(token=str(previewed))
    details: list[Change] = []
    if before is not None:
        result = sweep(spec=spec, resolved=audience, fingerprint=True)
        assert result.fingerprint is not None
        details = recipient_changes(before, Seen.read(result.fingerprint))
    return current.changes_since(previewed, recipients=details)


def _control(*, campaign_id: int, scope: Scope, action: str, state: CampaignState | None,
             change: Callable[[Campaign], int]) -> int:
    """One control action in one transaction: lock the campaign, refuse it (ConflictError, nothing changed) when
    it does not apply (campaigns.controls), set the campaign's state, change its outbox, audit with the count."""
    scope.require(Role.SENDER)
    with transaction.atomic():
        campaign = campaign_get(campaign_id=campaign_id, scope=scope, for_update=True)
        refusal = control_refusal(action=action.removeprefix("campaign_").replace("_", "-"),
                                  campaign_id=campaign.id, state=campaign.state,
                                  counts=outbox_status_counts(campaign_id=campaign.id))
        if refusal is not None:
            raise refusal
        was = campaign.state
        if state is not None:
            campaign.state = state
            campaign.save(update_fields=["state"])
        count = change(campaign)
        if not count and action != "campaign_resume":
            # A worker claimed (or finished) the last rows between the check and the change: the control no longer
            # applies. Refused inside the transaction, so neither the state, the hold nor an audit row is kept.
            raise _refusal_now(action=action, campaign_id=campaign.id, state=was)
        audit_record(scope=scope, action=action, campaign=campaign, detail={"messages": count})
    return count


def _refusal_now(*, action: str, campaign_id: int, state: str) -> ConflictError:
    """Why a control that found nothing to change does not apply, from the outbox as it is now (`state`: the
    campaign's state before the control)."""
    name = action.removeprefix("campaign_").replace("_", "-")
    refusal = control_refusal(action=name, campaign_id=campaign_id, state=state,
                              counts=outbox_status_counts(campaign_id=campaign_id))
    return refusal or ConflictError(f"nothing to {name}: campaign {campaign_id} has no message left to change",
                                    reason="nothing_waiting")


def campaign_pause(*, campaign_id: int, scope: Scope) -> int:
    """Stop handing the campaign's queued messages to workers; those already being sent finish. Returns how many
    were held. A worker that claimed a row first keeps it (the row lock decides), so nothing is sent twice."""
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_pause", state=CampaignState.PAUSED,
                    change=lambda c: outbox_hold(campaign_id=c.id, held=True))


def campaign_resume(*, campaign_id: int, scope: Scope) -> int:
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_resume", state=CampaignState.ACTIVE,
                    change=lambda c: outbox_hold(campaign_id=c.id, held=False))


def campaign_cancel(*, campaign_id: int, scope: Scope) -> int:
    """Cancel every message not yet handed to a gateway; returns how many."""
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_cancel", state=CampaignState.CANCELLED,
                    change=lambda c: outbox_cancel(campaign_id=c.id))


def campaign_resend_unknown(*, campaign_id: int, scope: Scope) -> int:
    """The operator's decision: queue again the messages whose fate is unknown (they may arrive twice)."""
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_resend_unknown", state=None,
                    change=lambda c: outbox_requeue_unknown(campaign_id=c.id))
