"""Changing campaigns: the send (one confirmation → one campaign and its whole outbox, in one transaction)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from masspost.audience.selectors import ResolvedAudience, audience_resolve
from masspost.bulk import statistics_refresh
from masspost.campaigns.approvals import RecipientsByClinic, approval_need, is_author
from masspost.campaigns.audit import audit_record
from masspost.campaigns.changes import Change, recipient_changes
from masspost.campaigns.controls import control_refusal
from masspost.campaigns.models import Approval, Campaign, CampaignState, IdempotentSend
from masspost.campaigns.price import sms_part_price
from masspost.campaigns.selectors import (
    campaign_get,
    needs_test_send,
    preview_token,
    sms_parts,
    token_setup_check,
)
from masspost.campaigns.snapshot import Seen, snapshot_load
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Recipient, sweep
from masspost.campaigns.test_send import tested_before
from masspost.campaigns.timing import Timing, campaign_timing
from masspost.campaigns.token import Token
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import CampaignGate, MessageStatus, OutboxMessage
from masspost.delivery.outbox import OutboxWriter, outbox_cancel, outbox_hold, outbox_requeue_unknown
from masspost.delivery.selectors import outbox_status_counts
from masspost.delivery.windows import APPROVAL, SCHEDULED, gate_close, gate_open, windows_write
from masspost.errors import (
    ConflictError,
    ConflictingRequestError,
    NothingToSendError,
    StaleTokenError,
    StateError,
)

ANALYZE_AFTER = 20_000  # messages: a send this large refreshes the outbox's statistics


NOTHING_TO_SEND = "nothing to send: no patient gets a message (the preview says who is left out and why)"
TEST_REQUIRED = ("a test first: a clinic of this marketing campaign asks for a test to yourself before it is sent "
                 "(“Send a test to me” on the preview, or masspost test-send); then send it")


@dataclass(frozen=True, kw_only=True, slots=True)
class SendOutcome:
    campaign_id: int
    messages: int
    created: bool  # False: this confirmation had already been sent, nothing new was written
    approval: str = ""  # "pending": a second sender must approve it before it goes (campaigns.models.Approval)
    send_at: dt.datetime | None = None  # when it starts (the earliest clinic's start); None: at once
    deadline: dt.datetime | None = None  # what is not handed over by then expires


def _outcome(campaign: Campaign, *, created: bool) -> SendOutcome:
    return SendOutcome(campaign_id=campaign.id, messages=campaign.messages, created=created,
                       approval=campaign.approval, send_at=campaign.send_at, deadline=campaign.deadline)


class _Stale(Exception):
    """Leaves the send's transaction (rolling it back) when what it saw differs from the preview."""


def campaign_send(*, spec: CampaignSpec, scope: Scope, token: str | None = None,
                  now: dt.datetime | None = None) -> SendOutcome:
    """Send what the preview with `token` showed; with no token, what a preview made now would show (`now`: the
    clock the campaign's timing is worked out by, for tests).

    Stale token → StaleTokenError saying what changed, and nothing is written. No message at all →
    NothingToSendError. The same confirmation twice → the first campaign, unchanged. A marketing campaign a
    clinic asks a test for (`test_before_marketing`) with no such test sent → ConflictError "test_required".

    Each message waits for its clinic's start (`send_at`) and sending window, and expires at its clinic's
    deadline (campaigns.timing); a campaign that starts later is held until then (CampaignGate "scheduled"), one
    over a clinic's approval rule until a second sender approves it (CampaignGate "approval", Campaign.approval
    "pending"). The gates are written with the messages, in one transaction: no worker sees one without the other.
    """
    scope.require(Role.SENDER)
    previewed = Token.parse(token) if token else None
    audience = audience_resolve(audience=spec.audience, scope=scope)
    if previewed is not None:
        token_setup_check(spec=spec, audience=audience, previewed=previewed)
        if previewed.messages == 0:
            raise NothingToSendError(NOTHING_TO_SEND)
        existing = Campaign.objects.filter(token=str(previewed)).first()
        if existing is not None:
            return _outcome(existing, created=False)

    now = now or timezone.now()
    price = sms_part_price()
    timing = campaign_timing(spec=spec, clinics=audience.clinics, now=now)
    if needs_test_send(spec=spec, audience=audience) and not tested_before(spec=spec):
        raise ConflictError(TEST_REQUIRED, reason="test_required")
    clinics = {c.id: c for c in audience.clinics}
    when = {t.clinic_id: t for t in timing.clinics}
    starts_at = timing.starts_at if timing.scheduled else None
    current: Token | None = None
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                name=spec.name, purpose=spec.purpose.value, channel=spec.channel.value,
                fallback_language=spec.fallback_language or "", spec=spec.to_dict(),
                audience=_stored_audience(audience, now=now), token=f"pending-{uuid.uuid4()}",
                deadline=timing.deadline,
                send_at=starts_at, created_by=scope.who, created_by_user_id=scope.user_id)
            writer = OutboxWriter(campaign_id=campaign.id, deadline=campaign.deadline, marketing=spec.marketing)
            counted = RecipientsByClinic()

            def write(r: Recipient) -> None:
                clinic = clinics[r.clinic_id]
                t = when[r.clinic_id]
                sms = r.channel == "sms"
                # A clinic with no opening before its deadline: its rows wait there and expire (the preview said).
                writer.add(patient_id=r.patient_id, patient_ref=r.patient_ref, channel=r.channel, address=r.address,
                           language=r.language, subject=r.subject, body=r.text, encoding=r.encoding, parts=r.parts,
                           sender=clinic.sms_sender if sms else clinic.email, sender_name="" if sms else clinic.name,
                           clinic_id=r.clinic_id, next_attempt_at=t.opens_at or t.starts_at, deadline=t.deadline,
                           optout_key=r.optout_key)
                counted.add(r)

            # The campaign's own rows, written as the pass goes, never make its patients "recently messaged";
            # their opt-out links carry this campaign's keys (the preview showed the sample key in their place).
            result = sweep(spec=spec, resolved=audience, on_recipient=write, ignore_campaign=campaign.id, now=now,
                           keys_for=campaign.id)
            writer.flush()
            current = preview_token(spec=spec, audience=audience, result=result)
            if previewed is not None and current != previewed:
                raise _Stale
            if writer.written == 0:
                raise NothingToSendError(NOTHING_TO_SEND)
            need = approval_need(clinics=audience.clinics, recipients=counted.counts, sms_parts=sms_parts(result),
                                 marketing=spec.marketing, price=price)
            windows_write(campaign_id=campaign.id, intervals={t.clinic_id: t.intervals for t in timing.clinics})
            if starts_at is not None:
                gate_close(campaign_id=campaign.id, reason=SCHEDULED, until=starts_at, marketing=spec.marketing)
            if need is not None:
                campaign.approval = Approval.PENDING
                gate_close(campaign_id=campaign.id, reason=APPROVAL, marketing=spec.marketing)
            campaign.token = str(current)
            campaign.messages = writer.written
            campaign.save(update_fields=["token", "messages", "approval"])
            audit_record(scope=scope, action="campaign_send", campaign=campaign,
                         detail={"messages": writer.written, "token": str(current),
                                 "sms_parts": sms_parts(result),
                                 # who was left out, kept for the campaign's page (campaigns.detail): counts only
                                 "patients": result.patients,
                                 "excluded": {ch: {r: n for r, n in reasons.items() if n}
                                              for ch, reasons in result.excluded.items()},
                                 "send_at": starts_at.isoformat() if starts_at else None,
                                 "deadline": timing.deadline.isoformat(),
                                 "approval": need.to_dict() if need is not None else None})
    except _Stale:
        assert previewed is not None and current is not None
        changed = _what_changed(spec, audience, previewed, current)
        raise StaleTokenError(changed) from None
    except IntegrityError:
        # Another confirmation of the same preview committed first: that campaign is this one.
        existing = Campaign.objects.filter(token=str(current)).first() if current else None
        if existing is None:
            raise
        return _outcome(existing, created=False)
    if campaign.messages >= ANALYZE_AFTER:
        # The planner sees the new rows before the first polls of the campaign's progress come (they come at once).
        statistics_refresh([OutboxMessage])
    return _outcome(campaign, created=True)


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
            done = Campaign.objects.filter(id=earlier.campaign_id).first()
            if done is not None:
                return _outcome(done, created=False)
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
    """Cancel every message not yet handed to a gateway; returns how many. A campaign still waiting for its start
    or its approval is cancelled whole (its gates go with it)."""
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_cancel", state=CampaignState.CANCELLED,
                    change=_cancel_all)


def _cancel_all(campaign: Campaign) -> int:
    return outbox_cancel(campaign_id=campaign.id)  # its gates go too


def campaign_resend_unknown(*, campaign_id: int, scope: Scope) -> int:
    """The operator's decision: queue again the messages whose fate is unknown (they may arrive twice)."""
    return _control(campaign_id=campaign_id, scope=scope, action="campaign_resend_unknown", state=None,
                    change=lambda c: outbox_requeue_unknown(campaign_id=c.id))


# --- scheduling and approval ------------------------------------------------------------------------------------

def campaign_reschedule(*, campaign_id: int, scope: Scope, send_at: dt.datetime | None,
                        deadline: dt.datetime | None, now: dt.datetime | None = None) -> Timing:
    """Move a campaign that has not started yet: a new `send_at` (an instant, or a local time in each clinic's
    zone; None: start now — the worker's next look starts it, with the start's check of the audience) and a new
    `deadline` (None: 3 days after the start). Its sending windows, its messages' first attempts and deadlines and
    its start are rewritten in one transaction. Only while it waits for its start: else ConflictError "started";
    a cancelled campaign: ConflictError "cancelled"; a time that has passed: SpecError. Audited. `now`: the
    clock, for tests."""
    scope.require(Role.SENDER)
    now = now or timezone.now()
    with transaction.atomic():
        campaign = campaign_get(campaign_id=campaign_id, scope=scope, for_update=True)
        if campaign.state == CampaignState.CANCELLED:
            raise ConflictError(f"campaign {campaign.id} is cancelled: nothing can be rescheduled any more",
                                reason="cancelled")
        # The campaign's row lock (taken first, as the start in delivery.windows.outbox_start_due takes it) keeps
        # the start from lifting the gate meanwhile; the start re-reads the gate as still due once it holds it.
        gate = (CampaignGate.objects.select_for_update()
                .filter(campaign_id=campaign.id, reason=SCHEDULED).first())
        if gate is None:
            raise ConflictError(f"campaign {campaign.id} has started: only one that waits for its start can be "
                                "rescheduled (pause or cancel it instead)", reason="started")
        spec = dataclasses.replace(CampaignSpec.from_dict(campaign.spec), send_at=send_at, deadline=deadline)
        stored = campaign.audience if isinstance(campaign.audience, dict) else {}
        clinics = tuple(Clinic.objects.filter(code__in=[c for c in stored.get("clinics", []) if isinstance(c, str)]))
        timing = campaign_timing(spec=spec, clinics=clinics, now=now)
        windows_write(campaign_id=campaign.id, intervals={t.clinic_id: t.intervals for t in timing.clinics})
        for t in timing.clinics:
            OutboxMessage.objects.filter(campaign_id=campaign.id, clinic_id=t.clinic_id,
                                         status=MessageStatus.QUEUED).update(
                next_attempt_at=t.opens_at or t.starts_at, deadline=t.deadline)
        starts_at = timing.starts_at if timing.scheduled else None
        # Starting now: the gate is due at once, so the worker's start lifts it after checking the audience.
        CampaignGate.objects.filter(id=gate.id).update(until=starts_at or now)
        campaign.send_at = starts_at
        campaign.deadline = timing.deadline
        campaign.save(update_fields=["send_at", "deadline"])
        audit_record(scope=scope, action="campaign_reschedule", campaign=campaign,
                     detail={"send_at": starts_at.isoformat() if starts_at else None,
                             "deadline": timing.deadline.isoformat()})
    return timing


def campaign_approve(*, campaign_id: int, scope: Scope) -> int:
    """A second sender lets a campaign waiting for approval go; returns its messages waiting to be sent. Refused:
    a preparer (PermissionDeniedError); its author (ConflictError "own_campaign"); one not waiting for approval
    ("not_pending"); one whose audience or texts no longer give the token that was sent ("stale": what would go
    now is not what its author previewed — nothing changes; the author cancels it and sends again). Audited.

    The token is checked as the author's send saw it: over the clinics it resolved to, with its reference dates,
    recently messaged counted back from its send — so approving it another day, or by a sender who reaches more
    clinics, finds it unchanged; a patient who opted out, a clinic's changed sender or a changed text do not.
    The check (a pass over the audience) runs before the campaign's row is locked, so the worker's housekeeping
    does not wait for it; the state is checked again under the lock."""
    scope.require(Role.SENDER)
    campaign = campaign_get(campaign_id=campaign_id, scope=scope)
    _approvable(campaign, scope)
    if _token_at_send(campaign=campaign, scope=scope) != campaign.token:
        raise ConflictError(f"campaign {campaign.id} cannot be approved: its audience or texts have changed "
                            "since it was previewed, so what would go now is not what was sent for approval; "
                            "its author can cancel it and send it again", reason="stale")
    with transaction.atomic():
        campaign = campaign_get(campaign_id=campaign_id, scope=scope, for_update=True)
        _approvable(campaign, scope)  # cancelled, rejected or approved by another while the check ran
        campaign.approval = Approval.APPROVED
        campaign.approved_by = scope.who
        campaign.approved_by_user_id = scope.user_id
        campaign.approved_at = timezone.now()
        campaign.save(update_fields=["approval", "approved_by", "approved_by_user", "approved_at"])
        gate_open(campaign_id=campaign.id, reason=APPROVAL)
        waiting = OutboxMessage.objects.filter(campaign_id=campaign.id, status=MessageStatus.QUEUED).count()
        audit_record(scope=scope, action="campaign_approve", campaign=campaign,
                     detail={"messages": waiting, "token": campaign.token})
    return waiting


def _stored_audience(audience: ResolvedAudience, *, now: dt.datetime) -> dict[str, object]:
    """Campaign.audience: the fingerprint (the filter, the clinics, the reference dates) and, under "pinned",
    what resolves it again as at the send (ResolvedAudience.pinned, and the send's clock)."""
    return {**audience.fingerprint(), "pinned": {**audience.pinned(), "now": now.isoformat()}}


def _token_at_send(*, campaign: Campaign, scope: Scope) -> str:
    """The token the pass over the campaign's stored spec gives now, resolved as its author's send resolved it
    (its clinics, reference dates and clock: Campaign.audience), read in `scope` (which must reach those clinics).
    The campaign's own messages do not make its patients "recently messaged" (`ignore_campaign`)."""
    spec = CampaignSpec.from_dict(campaign.spec)
    stored: dict[str, Any] = campaign.audience if isinstance(campaign.audience, dict) else {}
    kept = stored.get("pinned")
    pinned: dict[str, Any] = kept if isinstance(kept, dict) else {}
    codes = [c for c in stored.get("clinics", []) if isinstance(c, str)]
    by_clinic = pinned.get("reference_dates")
    if isinstance(by_clinic, dict):
        dates = {code: dt.date.fromisoformat(day) for code, day in by_clinic.items()}
    else:  # a campaign sent before the per-clinic dates were kept: one date for all, when it had one
        days = stored.get("reference_dates") or []
        dates = {code: dt.date.fromisoformat(days[0]) for code in codes} if len(days) == 1 else {}
    anywhere = pinned.get("visits_anywhere")
    audience = audience_resolve(audience=spec.audience, scope=scope, clinics=codes, reference_dates=dates,
                                visits_anywhere=anywhere if isinstance(anywhere, bool) else None)
    now = dt.datetime.fromisoformat(pinned["now"]) if isinstance(pinned.get("now"), str) else campaign.created_at
    result = sweep(spec=spec, resolved=audience, ignore_campaign=campaign.id, now=now)
    return str(preview_token(spec=spec, audience=audience, result=result))


def campaign_reject(*, campaign_id: int, scope: Scope) -> int:
    """A second sender refuses a campaign waiting for approval: it is cancelled, its messages with it; returns how
    many. The same refusals as campaign_approve, but for a stale token (a rejection needs none). Audited."""
    scope.require(Role.SENDER)
    with transaction.atomic():
        campaign = campaign_get(campaign_id=campaign_id, scope=scope, for_update=True)
        _approvable(campaign, scope)
        campaign.approval = Approval.REJECTED
        campaign.approved_by = scope.who
        campaign.approved_by_user_id = scope.user_id
        campaign.approved_at = timezone.now()
        campaign.state = CampaignState.CANCELLED
        campaign.save(update_fields=["approval", "approved_by", "approved_by_user", "approved_at", "state"])
        count = _cancel_all(campaign)
        audit_record(scope=scope, action="campaign_reject", campaign=campaign, detail={"messages": count})
    return count


def _approvable(campaign: Campaign, scope: Scope) -> None:
    if campaign.approval != Approval.PENDING or campaign.state == CampaignState.CANCELLED:
        raise ConflictError(f"campaign {campaign.id} is not waiting for approval", reason="not_pending")
    if is_author(campaign=campaign, scope=scope):
        raise ConflictError(f"campaign {campaign.id} is your own: another sender must approve it",
                            reason="own_campaign")
