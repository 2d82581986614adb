"""Changing campaigns: the send (one confirmation → one campaign and its whole outbox, in one transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from masspost.audience.selectors import audience_resolve
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.campaigns.selectors import preview_token
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Recipient, sweep
from masspost.campaigns.token import Token
from masspost.clinic.scope import Scope
from masspost.delivery.outbox import OutboxWriter
from masspost.errors import StaleTokenError

DEFAULT_DEADLINE = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True, slots=True)
class SendOutcome:
    campaign_id: int
    messages: int
    created: bool  # False: this confirmation had already been sent, nothing new was written


def campaign_send(*, spec: CampaignSpec, scope: Scope, token: str | None = None,
                  deadline: timedelta = DEFAULT_DEADLINE) -> SendOutcome:
    """Send what the preview with `token` showed; with no token, what a preview made now would show.

    Stale token → StaleTokenError saying what changed, and nothing is written. The same confirmation twice
    → the first campaign, unchanged.
    """
    previewed = Token.parse(token) if token else None
    audience = audience_resolve(audience=spec.audience, scope=scope)
    if previewed is not None:
        # The cheap parts of the token first: no need to walk a million patients to see the text changed.
        now_cheap = Token.make(settings=spec.settings_digest(), content=spec.content_digest(),
                               audience=audience.fingerprint(), digest=int(previewed.recipients, 16),
                               messages=previewed.messages)
        if changes := now_cheap.changes_since(previewed):
            raise StaleTokenError(f"preview again: {'; '.join(changes)}")
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
                created_by=scope.actor)
            writer = OutboxWriter(campaign_id=campaign.id, now=now, deadline=campaign.deadline)

            def write(r: Recipient) -> None:
                clinic = clinics[r.clinic_id]
                sms = r.channel == "sms"
                writer.add(patient_id=r.patient_id, patient_ref=r.patient_ref, channel=r.channel, address=r.address,
                           language=r.language, subject=r.subject, body=r.text, encoding=r.encoding, parts=r.parts,
                           sender=clinic.sms_sender if sms else clinic.email, sender_name="" if sms else clinic.name)

            result = sweep(spec=spec, resolved=audience, on_recipient=write)
            writer.flush()
            current = preview_token(spec=spec, audience=audience, result=result)
            if previewed is not None and (changes := current.changes_since(previewed)):
                raise StaleTokenError(f"preview again: {'; '.join(changes)}")
            campaign.token = str(current)
            campaign.messages = writer.written
            campaign.save(update_fields=["token", "messages"])
            AuditEvent.objects.create(actor=scope.actor, action="campaign_send", campaign=campaign,
                                      detail={"messages": writer.written, "token": str(current)})
    except IntegrityError:
        # Another confirmation of the same preview committed first: that campaign is this one.
        existing = Campaign.objects.filter(token=str(current)).first() if current else None
        if existing is None:
            raise
        return SendOutcome(campaign_id=existing.id, messages=existing.messages, created=False)
    return SendOutcome(campaign_id=campaign.id, messages=campaign.messages, created=True)
