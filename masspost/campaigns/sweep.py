"""The pass over an audience that both the preview and the send make (docs/campaign.md, "Preview").

One streamed query yields every selected patient; each is classified per channel (campaigns.rules), and each
recipient's text is rendered and its SMS parts counted with masspost.sms. The preview aggregates what the pass
sees; the send writes it to the outbox. Sharing the pass is what makes "what is sent is what was previewed"
true by construction, and the token proves the two passes saw the same thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from masspost.audience.selectors import ResolvedAudience, audience_rows
from masspost.campaigns.rules import NO_CONTENT, REASONS, exclusion
from masspost.campaigns.spec import CampaignSpec, Purpose, compile_content
from masspost.content import choose_language
from masspost.sms import measure

# Rendered SMS texts repeat (same first name, same clinic); measuring each distinct text once is most of the
# pass's speed. The cache is cleared when full, so memory does not grow with the audience.
_MEASURE_CACHE_SIZE = 20_000
_MASK = (1 << 64) - 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Recipient:
    patient_id: int
    patient_ref: str
    first_name: str
    last_name: str
    clinic_id: int
    channel: str
    language: str
    fallback: bool  # the text is the fallback language's, not the patient's own
    address: str
    subject: str
    text: str
    encoding: str
    parts: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Exclusion:
    patient_ref: str
    first_name: str
    last_name: str
    channel: str
    reason: str
    language: str  # the patient's communication language


@dataclass(kw_only=True)
class LanguageTally:
    recipients: int = 0
    parts_total: int = 0
    parts_min: int | None = None
    parts_max: int | None = None
    encodings: dict[str, int] = field(default_factory=dict)
    sample: Recipient | None = None  # the recipient with the lowest patient id: stable between runs
    longest: Recipient | None = None  # a recipient whose SMS has the most parts


@dataclass(kw_only=True)
class SweepResult:
    patients: int = 0
    tallies: dict[str, dict[str, LanguageTally]] = field(default_factory=dict)  # channel → language → tally
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → reason → count
    no_content_languages: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → patient lang → n
    fallback: dict[str, int] = field(default_factory=dict)  # channel → recipients given the fallback text
    digest: int = 0  # order-independent sum of per-patient hashes: who gets what, at which address

    @property
    def messages(self) -> int:
        return sum(t.recipients for by_lang in self.tallies.values() for t in by_lang.values())


def sweep(*, spec: CampaignSpec, resolved: ResolvedAudience,
             on_recipient: Callable[[Recipient], None] | None = None,
             on_excluded: Callable[[Exclusion], None] | None = None) -> SweepResult:
    compiled = compile_content(spec)
    clinics = {c.id: c for c in resolved.clinics}
    marketing = spec.purpose is Purpose.MARKETING
    available = {ch: spec.languages_with(ch) for ch in spec.channels}
    result = SweepResult(
        tallies={ch: {lang: LanguageTally() for lang in sorted(available[ch])} for ch in spec.channels},
        excluded={ch: dict.fromkeys(REASONS, 0) for ch in spec.channels},
        no_content_languages={ch: {} for ch in spec.channels},
        fallback=dict.fromkeys(spec.channels, 0),
    )
    measured: dict[str, tuple[str, int, int]] = {}
    digest = 0
    channels = spec.channels
    fallback = spec.fallback_language
    for row in audience_rows(resolved):
        (pid, ref, first, last, clinic_id, lang, acc_sms, acc_email, consent,
         phone, phone_status, email, email_status) = row
        result.patients += 1
        clinic = clinics[clinic_id]
        values = {"first_name": first, "last_name": last, "clinic_name": clinic.name, "clinic_phone": clinic.phone}
        decisions = [str(pid), str(first), str(last), str(clinic_id)]
        for channel in channels:
            sms = channel == "sms"
            chosen = choose_language(lang, available[channel], fallback)
            reason = exclusion(accepts=bool(acc_sms if sms else acc_email), marketing=marketing,
                               consent=bool(consent), language=chosen,
                               address_state=phone_status if sms else email_status)
            if reason is not None:
                result.excluded[channel][reason] += 1
                if reason == NO_CONTENT:
                    counts = result.no_content_languages[channel]
                    counts[lang] = counts.get(lang, 0) + 1
                decisions.append(reason)
                if on_excluded:
                    on_excluded(Exclusion(patient_ref=ref, first_name=first, last_name=last,
                                          channel=channel, reason=reason, language=lang))
                continue
            assert chosen is not None
            texts = compiled[chosen]
            subject = ""
            if sms:
                assert texts.sms is not None
                text = texts.sms.render(values)
                found = measured.get(text)
                if found is None:
                    if len(measured) >= _MEASURE_CACHE_SIZE:
                        measured.clear()
                    found = measured[text] = measure(text)
                encoding, _, parts = found
                address = phone
            else:
                assert texts.email_subject is not None and texts.email_body is not None
                subject = texts.email_subject.render(values)
                text = texts.email_body.render(values)
                encoding, parts, address = "", 1, email
            tally = result.tallies[channel][chosen]
            tally.recipients += 1
            tally.parts_total += parts
            if tally.parts_min is None or parts < tally.parts_min:
                tally.parts_min = parts
            if tally.parts_max is None or parts > tally.parts_max:
                tally.parts_max = parts
            if encoding:
                tally.encodings[encoding] = tally.encodings.get(encoding, 0) + 1
            is_fallback = chosen != lang
            if is_fallback:
                result.fallback[channel] += 1
            decisions.append(f"{chosen}:{address}")
            first_sample = tally.sample is None or pid < tally.sample.patient_id
            longest = tally.longest is None or parts > tally.longest.parts
            if first_sample or longest or on_recipient:
                recipient = Recipient(patient_id=pid, patient_ref=ref, first_name=first, last_name=last,
                                      clinic_id=clinic_id, channel=channel, language=chosen,
                                      fallback=is_fallback, address=address, subject=subject, text=text,
                                      encoding=encoding, parts=parts)
                if first_sample:
                    tally.sample = recipient
                if longest:
                    tally.longest = recipient
                if on_recipient:
                    on_recipient(recipient)
        key = "\x1f".join(decisions).encode()
        digest = (digest + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")) & _MASK
    result.digest = digest
    return result
