"""The pass over an audience that both the preview and the send make (docs/campaign.md, "Preview").

One streamed query yields every selected patient; each is classified per channel (campaigns.rules), and each
recipient's text is rendered and its SMS parts counted with masspost.sms. The preview aggregates what the pass
sees; the send writes it to the outbox. Sharing the pass is what makes "what is sent is what was previewed"
true by construction, and the token proves the two passes saw the same thing.

What can be decided once is decided before the loop: each clinic's sender per channel (`no_sender`), and per
channel × language everything `campaigns.lanes` holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from zlib import crc32

from masspost.audience.selectors import ResolvedAudience, audience_rows
from masspost.campaigns.lanes import SUBJECT_LIMIT, Lane, LanguageTally
from masspost.campaigns.rules import NO_CONTENT, NO_SENDER, REASONS, exclusion, sender_problem
from masspost.campaigns.snapshot import Fingerprint, short_hash
from masspost.campaigns.spec import CampaignSpec, Purpose, compile_content
from masspost.campaigns.token import digest
from masspost.clinic.models import Clinic
from masspost.content import choose_language, keep_plain
from masspost.errors import SpecError

# Rendered SMS texts repeat (same first name, same clinic); measuring each distinct text once is most of the
# pass's speed. The cache is cleared when full, so memory does not grow with the audience; its size is shared by
# the SMS languages.
_MEASURE_CACHE_SIZE = 20_000
_MASK = (1 << 64) - 1

__all__ = ["Exclusion", "LanguageTally", "Recipient", "SweepResult", "clinic_details", "sweep"]


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
    empty_fields: tuple[str, ...] = ()  # merge fields the text shows that rendered empty (a warning)


@dataclass(frozen=True, kw_only=True, slots=True)
class Exclusion:
    patient_ref: str
    first_name: str
    last_name: str
    channel: str
    reason: str
    language: str  # the patient's communication language


@dataclass(kw_only=True)
class SweepResult:
    patients: int = 0
    tallies: dict[str, dict[str, LanguageTally]] = field(default_factory=dict)  # channel → language → tally
    lanes: dict[str, dict[str, Lane]] = field(default_factory=dict)  # channel → language → what was learnt
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → reason → count
    no_content_languages: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → patient lang → n
    # channel → clinic code → {"problem": why, "messages": patients left out as no_sender}
    no_sender: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    fallback: dict[str, int] = field(default_factory=dict)  # channel → recipients given the fallback text
    digest: int = 0  # order-independent sum of per-patient hashes: who gets what, at which address
    clinics: str = ""  # digest of the clinics' details that the messages show or are sent with
    fingerprint: bytes | None = None  # per-patient hashes (campaigns.snapshot), when asked for

    @property
    def messages(self) -> int:
        return sum(t.recipients for by_lang in self.tallies.values() for t in by_lang.values())


def clinic_details(clinics: tuple[Clinic, ...], lanes: dict[str, dict[str, Lane]]) -> dict[int, dict[str, str]]:
    """Per clinic, the details that some message shows (name, phone) or is sent with (SMS sender, e-mail)."""
    used = sorted(set().union(*(lane.clinic_fields for by_lang in lanes.values() for lane in by_lang.values())))
    return {c.id: {f: getattr(c, f) for f in used} for c in clinics}


def sweep(*, spec: CampaignSpec, resolved: ResolvedAudience,
          on_recipient: Callable[[Recipient], None] | None = None,
          on_excluded: Callable[[Exclusion], None] | None = None, fingerprint: bool = False) -> SweepResult:
    compiled = compile_content(spec)
    clinics = {c.id: c for c in resolved.clinics}
    marketing = spec.purpose is Purpose.MARKETING
    available = {ch: spec.languages_with(ch) for ch in spec.channels}
    cache_size = max(1000, _MEASURE_CACHE_SIZE // max(1, len(available.get("sms", ()))))
    lanes = {ch: {lang: Lane(channel=ch, language=lang, texts=compiled[lang], clinics=resolved.clinics,
                             cache_size=cache_size) for lang in sorted(available[ch])} for ch in spec.channels}
    problems = {ch: {c.id: sender_problem(c, ch) for c in resolved.clinics} for ch in spec.channels}
    result = SweepResult(
        tallies={ch: {lang: lane.tally for lang, lane in by_lang.items()} for ch, by_lang in lanes.items()},
        lanes=lanes,
        excluded={ch: dict.fromkeys(REASONS, 0) for ch in spec.channels},
        no_content_languages={ch: {} for ch in spec.channels},
        no_sender={ch: {clinics[cid].code: {"problem": problem, "messages": 0}
                        for cid, problem in problems[ch].items() if problem} for ch in spec.channels},
        fallback=dict.fromkeys(spec.channels, 0),
    )
    details = clinic_details(resolved.clinics, lanes)
    result.clinics = digest({str(k): v for k, v in details.items()})
    every_lane = [lane for by_lang in lanes.values() for lane in by_lang.values()]
    # A change of a name no text shows changes nothing that is sent: the digest covers the names shown.
    shows_first = any(lane.uses_first for lane in every_lane)
    shows_last = any(lane.uses_last for lane in every_lane)
    fp = Fingerprint(
        channels=spec.channels, outcomes={ch: REASONS + tuple(sorted(available[ch])) for ch in spec.channels},
        clinics={cid: {f: short_hash(v) for f, v in fields.items()} for cid, fields in details.items()},
        lane_fields={ch: {lang: sorted(lane.clinic_fields) for lang, lane in by_lang.items()}
                     for ch, by_lang in lanes.items()},
    ) if fingerprint else None
    # Per channel, all the loop needs, looked up once; the fingerprint's sink and codes are None without one.
    plans = [(ch, ch == "sms", available[ch], lanes[ch], result.excluded[ch], result.no_content_languages[ch],
              {cid: p is None for cid, p in problems[ch].items()},
              fp.channels[i].append if fp is not None else None, fp.codes[i] if fp is not None else {})
             for i, ch in enumerate(spec.channels)]
    if fp is not None:  # the patient's part of the fingerprint, appended in the loop (Fingerprint's docstring)
        fp_ids, add_id, add_clinic, add_names = fp.ids, fp.ids.append, fp.clinics.append, fp.names.append
    no_sender_counts = {ch: dict.fromkeys(clinics, 0) for ch in spec.channels}
    fallback = spec.fallback_language
    digest_sum = 0
    for row in audience_rows(resolved):
        (pid, ref, first, last, clinic_id, lang, acc_sms, acc_email, consent,
         phone, phone_status, email, email_status) = row
        result.patients += 1
        clinic = clinics[clinic_id]
        values = {"first_name": first, "last_name": last, "clinic_name": clinic.name, "clinic_phone": clinic.phone}
        names = (first if shows_first else "") + "\x1f" + (last if shows_last else "")
        decisions = [str(pid), names, str(clinic_id)]
        for channel, sms, languages, channel_lanes, excluded, no_content, has_sender, fp_sink, fp_codes in plans:
            chosen = choose_language(lang, languages, fallback)
            reason = exclusion(accepts=bool(acc_sms if sms else acc_email), marketing=marketing,
                               consent=bool(consent), language=chosen,
                               address_state=phone_status if sms else email_status, has_sender=has_sender[clinic_id])
            if reason is not None:
                excluded[reason] += 1
                if reason == NO_CONTENT:
                    no_content[lang] = no_content.get(lang, 0) + 1
                elif reason == NO_SENDER:
                    no_sender_counts[channel][clinic_id] += 1
                decisions.append(reason)
                if fp_sink is not None:
                    fp_sink(fp_codes[reason])
                if on_excluded:
                    on_excluded(Exclusion(patient_ref=ref, first_name=first, last_name=last,
                                          channel=channel, reason=reason, language=lang))
                continue
            assert chosen is not None
            lane = channel_lanes[chosen]
            subject = ""
            if sms:
                assert lane.sms is not None
                text = lane.sms.render(values)
                found = lane.measured.get(text)
                if found is None:
                    found = lane.measure(text)
                encoding, parts = found
                if lane.alternative is not None:
                    lane.measure_alternative(values)
                address = phone
            else:
                assert lane.subject is not None and lane.body is not None
                subject = lane.subject.render(values)
                if len(subject) > SUBJECT_LIMIT:
                    lane.long_subjects += 1
                text = lane.body.render(values, escape=lane.html)
                if lane.guard:
                    text = keep_plain(text)
                encoding, parts, address = "", 1, email
            empty: tuple[str, ...] = ()
            if (lane.uses_first and not first.strip()) or (lane.uses_last and not last.strip()) \
                    or clinic_id in lane.clinic_gaps:
                empty = lane.note_empty(pid, ref, first, last, clinic_id)
            tally = lane.tally
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
            if fp_sink is not None:
                fp_sink(fp_codes[chosen] | (crc32(address.encode()) & 0xFFFF))
            first_sample = tally.sample is None or pid < tally.sample.patient_id
            longest = tally.longest is None or parts > tally.longest.parts
            if first_sample or longest or on_recipient:
                recipient = Recipient(patient_id=pid, patient_ref=ref, first_name=first, last_name=last,
                                      clinic_id=clinic_id, channel=channel, language=chosen,
                                      fallback=is_fallback, address=address, subject=subject, text=text,
                                      encoding=encoding, parts=parts, empty_fields=empty)
                if first_sample:
                    tally.sample = recipient
                if longest:
                    tally.longest = recipient
                if on_recipient:
                    on_recipient(recipient)
        key = "\x1f".join(decisions).encode()
        digest_sum = (digest_sum + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")) & _MASK
        if fp is not None:
            add_id(pid)
            add_clinic(clinic_id)
            add_names(crc32(names.encode()) & 0xFFFF)
            if len(fp_ids) >= Fingerprint.CHUNK:
                fp.flush()
    result.digest = digest_sum
    for channel, counts in no_sender_counts.items():
        for clinic_id, n in counts.items():
            if n:
                result.no_sender[channel][clinics[clinic_id].code]["messages"] = n
    _refuse_long_subjects(lanes.get("email", {}))
    if fp is not None:
        result.fingerprint = fp.finish()
    return result


def _refuse_long_subjects(lanes: dict[str, Lane]) -> None:
    for lang, lane in lanes.items():
        if n := lane.long_subjects:
            whose = "1 recipient's subject is" if n == 1 else f"{n} recipients' subjects are"
            raise SpecError(f"content.{lang} e-mail subject: {whose} longer than {SUBJECT_LIMIT} characters, the "
                            "most an e-mail header line may hold (RFC 5322): shorten the subject")
