"""A test send (docs/campaign.md, "Test send"): the preview's sample message in each language and channel, sent
now through the configured gateways to the signed-in user's own phone and e-mail (StaffMember.phone / .email) —
never to a patient, never in the outbox, audited as "campaign_test_send" with the campaign's content digest, which
is what a clinic's `test_before_marketing` rule asks for before a marketing send."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from masspost.audience.selectors import audience_resolve
from masspost.campaigns.audit import audit_record
from masspost.campaigns.models import AuditEvent
from masspost.campaigns.selectors import preview_token, token_setup_check
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Recipient, sweep
from masspost.campaigns.token import Token
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.delivery.direct import send_direct
from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.errors import MasspostError, NothingToSendError, SpecError, StaleTokenError
from masspost.sms import measure

# What marks a test: the e-mail's subject and the SMS's text begin with these (an SMS may grow by a part).
SMS_PREFIX = "TEST: "
SUBJECT_PREFIX = "[TEST] "
ACTION = "campaign_test_send"
NO_ADDRESS = ("you have no phone or e-mail of your own for this campaign's messages: add yours on your profile "
              "page, or with masspost user change NAME --phone +372… --email …")


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


def campaign_test_send(*, spec: CampaignSpec, scope: Scope, token: str | None = None, via: str = "") -> SampleOutcome:
    """Send the preview's samples to the user of `scope` (a REST API token's user; the command line: refused —
    `masspost test-send --user NAME` builds that user's scope). SpecError when the user has no own address for
    any of the campaign's channels.

    One message per channel and language that some patient gets: the preview's sample (its lowest patient id),
    rendered as that patient gets it, from the patient's clinic's sender, marked as a test (SMS_PREFIX,
    SUBJECT_PREFIX). A channel the user has no address for is in `missing`. With `token`, a preview that no longer
    holds is StaleTokenError, as the send says it, and nothing is sent. Audited as the user; `via` (the command
    line's "command line": its operator acted for the user) is kept in the audit row's detail."""
    if scope.user_id is None:
        raise MasspostError("a test send goes to a user's own phone and e-mail: name the user (--user NAME)")
    # campaigns does not import staff (tests/campaigns/test_layering.py): the model by name.
    member = apps.get_model("staff", "StaffMember").objects.filter(user_id=scope.user_id).only("phone", "email").first()
    own = {"sms": member.phone if member else "", "email": member.email if member else ""}
    previewed = Token.parse(token) if token else None
    audience = audience_resolve(audience=spec.audience, scope=scope)
    if previewed is not None:
        token_setup_check(spec=spec, audience=audience, previewed=previewed)
    result = sweep(spec=spec, resolved=audience)
    if previewed is not None:
        current = preview_token(spec=spec, audience=audience, result=result)
        if current != previewed:
            raise StaleTokenError(current.changes_since(previewed))
    samples = [(ch, lang, tally.sample) for ch, by_lang in result.tallies.items()
               for lang, tally in sorted(by_lang.items()) if tally.sample is not None]
    if not samples:
        raise NothingToSendError("nothing to test: no patient gets a message (the preview says who is left out "
                                 "and why)")
    channels = list(dict.fromkeys(ch for ch, _, _ in samples))
    missing = [ch for ch in channels if not own[ch]]
    to_send = [(ch, lang, sample) for ch, lang, sample in samples if own[ch]]
    if not to_send:
        raise SpecError(NO_ADDRESS)
    clinics = {c.id: c for c in audience.clinics}
    messages = [_message(sample, clinics[sample.clinic_id], own[ch]) for ch, _, sample in to_send]
    results = send_direct(messages)
    sent = [SentSample(channel=ch, language=lang, to=own[ch], ok=r.ok, error=r.error)
            for (ch, lang, _), r in zip(to_send, results, strict=True)]
    detail: dict[str, object] = {
        "settings": spec.settings_digest()[:10], "content": spec.content_digest()[:10], "messages": len(sent),
        "channels": list(dict.fromkeys(m.channel for m in sent)), "failed": sum(not m.ok for m in sent)}
    if via:
        detail["via"] = via
    audit_record(scope=scope, action=ACTION, detail=detail)
    return SampleOutcome(messages=sent, missing=missing)


def _message(sample: Recipient, clinic: Clinic, to: str) -> OutgoingMessage:
    """The sample as the send writes it (campaigns.services), to `to`, marked as a test. A marketing sample
    carries its opt-out line or footer as every message does — with the preview's SAMPLE_KEY, whose link goes
    nowhere (no OptOutLink is written for it: /u/<sample key> is refused like any unknown key), so the tester sees
    and pays for the line without a way to unsubscribe a patient. No List-Unsubscribe header for the same reason."""
    if sample.channel == "sms":
        text = SMS_PREFIX + sample.text
        encoding, _, parts = measure(text)
        return OutgoingMessage(message_id=0, campaign_id=0, patient_ref="test", channel=Channel.SMS, to=to,
                               language=sample.language, text=text, encoding=str(encoding), parts=parts,
                               sender=clinic.sms_sender)
    return OutgoingMessage(message_id=0, campaign_id=0, patient_ref="test", channel=Channel.EMAIL, to=to,
                           language=sample.language, text=sample.text, subject=SUBJECT_PREFIX + sample.subject,
                           sender=clinic.email, sender_name=clinic.name)


def tested_before(*, spec: CampaignSpec) -> bool:
    """Whether a test of this campaign (its content and settings digests) was sent by anyone: the
    `test_before_marketing` rule. A test counts when at least one of its messages was accepted by a gateway."""
    rows = AuditEvent.objects.filter(action=ACTION, detail__settings=spec.settings_digest()[:10],
                                     detail__content=spec.content_digest()[:10]).values_list("detail", flat=True)
    return any(int(d.get("messages", 0)) > int(d.get("failed", 0)) for d in rows)
