"""The pass over an audience that both the preview and the send make (docs/campaign.md, "Preview").

One streamed query yields every selected patient; each is classified per channel (campaigns.rules), and each
recipient's text is rendered and its SMS parts counted with masspost.sms. The preview aggregates what the pass
sees; the send writes it to the outbox. Sharing the pass is what makes "what is sent is what was previewed"
true by construction, and the token proves the two passes saw the same thing.

What can be decided once is decided before the loop: each clinic's sender per channel (`no_sender`), and per
channel × language everything `campaigns.lanes` holds — the opt-out line or footer too (`_add_optout`): it is part
of each text's format before anything is measured, so characters, parts, encoding and cost include it. Per patient
only the send does more: the opt-out key (an HMAC) put in place of delivery.optout.SAMPLE_KEY, which the preview
shows (the same length and alphabet, so the same parts). The token never sees a key: it covers the texts with the
sample key (`result.clinics`), so the preview's token equals the send's.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from string import Formatter
from typing import Any
from zlib import crc32

from masspost.audience.selectors import Decides, ResolvedAudience, audience_rows, patient_refs
from masspost.campaigns.lanes import SUBJECT_LIMIT, Lane, LanguageTally
from masspost.campaigns.recent import recent_conditions, shared_losers
from masspost.campaigns.rules import NO_CONTENT, NO_SENDER, REASONS, SHARED_ADDRESS, exclusion, sender_problem
from masspost.campaigns.snapshot import Fingerprint, short_hash
from masspost.campaigns.spec import CampaignSpec, Purpose, compile_content
from masspost.campaigns.token import digest
from masspost.clinic.models import Clinic
from masspost.content import choose_language, keep_plain
from masspost.content.optout import (
    SMS_SEPARATOR,
    email_optout_footer,
    email_optout_footer_html,
    email_preferences_footer,
    email_preferences_footer_html,
    html_footer_position,
    sms_optout_line,
)
from masspost.delivery.optout import KEY_LEN, SAMPLE_KEY, optout_key, optout_url
from masspost.errors import SpecError
from masspost.wording import count

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
    optout_key: str = ""  # the send's: the key of the link the text carries (OptOutLink); "" none, or a preview


@dataclass(frozen=True, kw_only=True, slots=True)
class Exclusion:
    patient_ref: str
    first_name: str
    last_name: str
    channel: str
    reason: str
    language: str  # the patient's communication language
    got_it: str = ""  # shared_address: the external id of the patient who gets the message at this address


@dataclass(kw_only=True)
class SweepResult:
    patients: int = 0
    recipients: int = 0  # patients who get at least one message
    tallies: dict[str, dict[str, LanguageTally]] = field(default_factory=dict)  # channel → language → tally
    lanes: dict[str, dict[str, Lane]] = field(default_factory=dict)  # channel → language → what was learnt
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → reason → count
    no_content_languages: dict[str, dict[str, int]] = field(default_factory=dict)  # channel → patient lang → n
    # channel → clinic code → {"problem": why, "messages": patients left out as no_sender}
    no_sender: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    fallback: dict[str, int] = field(default_factory=dict)  # channel → recipients given the fallback text
    # patients without a language of their own, by the language they are given (their clinic's default)
    no_language: dict[str, int] = field(default_factory=dict)
    digest: int = 0  # order-independent sum of per-patient hashes: who gets what, at which address
    clinics: str = ""  # digest of the clinics' details that the messages show or are sent with
    fingerprint: bytearray | None = None  # per-patient hashes (campaigns.snapshot), when asked for
    # What the messages carry to opt out, per channel that carries something: SMS "link" | "stop_word"; e-mail
    # "link" | "reply" (a marketing e-mail without MASSPOST_PUBLIC_URL) | "preferences" (a service e-mail's link).
    optout: dict[str, str] = field(default_factory=dict)
    # "no_public_url": a marketing e-mail campaign without MASSPOST_PUBLIC_URL — no one-click unsubscribe, which
    # Gmail and Yahoo ask of bulk mail (a warning, not a refusal); "" none.
    optout_warning: str = ""

    @property
    def messages(self) -> int:
        return sum(t.recipients for by_lang in self.tallies.values() for t in by_lang.values())


def clinic_details(clinics: tuple[Clinic, ...], lanes: dict[str, dict[str, Lane]],
                   extra: frozenset[str] = frozenset()) -> dict[int, dict[str, str]]:
    """Per clinic, the details that some message shows (name, phone, the reply number of an opt-out line: `extra`)
    or is sent with (SMS sender, e-mail)."""
    used = sorted(set().union(extra, *(lane.clinic_fields for by_lang in lanes.values()
                                       for lane in by_lang.values())))
    return {c.id: {f: getattr(c, f) for f in used} for c in clinics}


def sweep(*, spec: CampaignSpec, resolved: ResolvedAudience,
          on_recipient: Callable[[Recipient], None] | None = None,
          on_excluded: Callable[[Exclusion], None] | None = None, fingerprint: bool = False,
          ignore_campaign: int | None = None, now: dt.datetime | None = None,
          keys_for: int | None = None) -> SweepResult:
    """The pass (module docstring). `ignore_campaign`: a sent campaign whose own messages do not make its patients
    recently messaged (a pass over that campaign's spec: an approval's check, its excluded list). `now`: the clock
    "recently messaged" is counted back from (None: now; an approval's check: its send's). `keys_for`: the send's
    campaign, whose opt-out keys the recipients' links carry (Recipient.optout_key); None: the preview's
    SAMPLE_KEY."""
    compiled = compile_content(spec)
    clinics = {c.id: c for c in resolved.clinics}
    marketing = spec.purpose is Purpose.MARKETING
    available = {ch: spec.languages_with(ch) for ch in spec.channels}
    cache_size = max(1000, _MEASURE_CACHE_SIZE // max(1, len(available.get("sms", ()))))
    lanes = {ch: {lang: Lane(channel=ch, language=lang, texts=compiled[lang], clinics=resolved.clinics,
                             cache_size=cache_size) for lang in sorted(available[ch])} for ch in spec.channels}
    problems = {ch: {c.id: sender_problem(c, ch) for c in resolved.clinics} for ch in spec.channels}
    url = optout_url(SAMPLE_KEY)
    # Per channel × language, per clinic: the characters after the opt-out key in a rendered text (None: no key).
    keyed: dict[str, dict[str, dict[int, int] | None]] = {ch: {} for ch in lanes}
    lines: dict[str, dict[str, str]] = {}  # channel.language → clinic → the line or footer, as the preview has it
    for ch, lane_of in lanes.items():
        for lang, one in lane_of.items():
            keyed[ch][lang], added = _add_optout(one, marketing=marketing, url=url, clinics=resolved.clinics)
            if added:
                lines[f"{ch}.{lang}"] = added
    # An SMS's stop-word line names the clinic's reply number: a detail its messages show.
    optout_fields = frozenset({"sms_reply_number"}) if marketing and "sms" in lanes and not url else frozenset()
    # Who was messaged lately (a flag in each row), and who shares an address with someone who gets the message
    # (one query per channel before the pass; their rows get the shared flags): campaigns.recent.
    recent = recent_conditions(spec=spec, resolved=resolved, now=now, ignore_campaign=ignore_campaign)
    losers = shared_losers(spec=spec, resolved=resolved, recent=recent,
                           senders={ch: frozenset(cid for cid, p in problems[ch].items() if p is None)
                                    for ch in spec.channels})
    result = SweepResult(
        tallies={ch: {lang: lane.tally for lang, lane in by_lang.items()} for ch, by_lang in lanes.items()},
        lanes=lanes,
        excluded={ch: dict.fromkeys(REASONS, 0) for ch in spec.channels},
        no_content_languages={ch: {} for ch in spec.channels},
        no_sender={ch: {clinics[cid].code: {"problem": problem, "messages": 0}
                        for cid, problem in problems[ch].items() if problem} for ch in spec.channels},
        fallback=dict.fromkeys(spec.channels, 0),
    )
    result.optout, result.optout_warning = _optout_kinds(spec=spec, marketing=marketing, linked=bool(url))
    details = clinic_details(resolved.clinics, lanes, optout_fields)
    # The opt-out lines as sent but for the key (their words, MASSPOST_PUBLIC_URL, a reply number): a change of
    # them changes the token; the key, which differs between the preview and the send, is never in it.
    result.clinics = digest({str(k): v for k, v in details.items()} | ({"optout": lines} if lines else {}))
    every_lane = [lane for by_lang in lanes.values() for lane in by_lang.values()]
    # A change of a name no text shows changes nothing that is sent: the digest covers the names shown.
    show_first = any(lane.uses_first for lane in every_lane)
    show_last = any(lane.uses_last for lane in every_lane)
    outcomes = {ch: REASONS + tuple(sorted(available[ch])) for ch in spec.channels}
    fp = Fingerprint(
        channels=spec.channels, outcomes=outcomes,
        clinics={cid: {f: short_hash(v) for f, v in fields.items()} for cid, fields in details.items()},
        lane_fields={ch: {lang: sorted(lane.clinic_fields | (optout_fields if ch == "sms" else frozenset()))
                          for lang, lane in by_lang.items()} for ch, by_lang in lanes.items()},
    ) if fingerprint else None
    # Per lane: [lowest patient id given as the sample, most parts given as the longest].
    best = {id(lane): [_NO_ID, -1] for lane in every_lane}

    def decide(code: int, lang: str) -> list[Any]:
        """The plan for every patient with this `decides` value and language: [patients so far, clinic id,
        one step per channel]. A step is a tuple, unpacked in the loop (faster than attributes): see `_step`."""
        d = Decides.unpack(code)
        steps = []
        for i, channel in enumerate(spec.channels):
            sms = channel == "sms"
            chosen = choose_language(lang, available[channel], spec.fallback_language)
            reason = exclusion(accepts=d.accepts_sms if sms else d.accepts_email, marketing=marketing,
                               consent=d.marketing_sms if sms else d.marketing_email, language=chosen,
                               address_state=d.phone_status if sms else d.email_status,
                               has_sender=problems[channel][d.clinic_id] is None,
                               recent=d.recent_sms if sms else d.recent_email,
                               shared=d.shared_sms if sms else d.shared_email)
            outcome = outcomes[channel].index(reason or chosen)  # type: ignore[arg-type]
            sink = fp.channels[i].append if fp is not None else None
            lane = lanes[channel][chosen] if reason is None and chosen is not None else None
            after = keyed[channel][chosen] if lane is not None and chosen is not None else None
            steps.append(_step(channel=channel, reason=reason, outcome=outcome, sink=sink, lane=lane, sms=sms,
                               clinic_id=d.clinic_id, language=chosen, fallback=chosen != lang,
                               best=best[id(lane)] if lane is not None else None,
                               after=after.get(d.clinic_id, -1) if after and keys_for is not None else -1))
        return [0, d.clinic_id, tuple(steps)]

    plans: dict[int, dict[str, list[Any]]] = {}  # decides → language → plan
    digest_sum = 0
    patients = 0
    if fp is not None:  # the patient's part of the fingerprint, appended in the loop (Fingerprint's docstring)
        fp_ids, add_id, add_clinic, add_names = fp.ids, fp.ids.append, fp.clinics.append, fp.names.append
    callbacks = on_recipient is not None or on_excluded is not None
    # A callback may write to the database (the send's outbox): then no chunk is fetched ahead of it.
    chunks = audience_rows(resolved, refs=callbacks, phones="sms" in spec.channels, emails="email" in spec.channels,
                           prefetch=not callbacks, recent=recent)
    for rows in chunks:
        patients += len(rows)
        for pid, ref, first, last, lang, code, phone, email in rows:
            lost = losers.get(pid) if losers else None
            if lost is not None:
                code |= lost[0]
            by_lang = plans.get(code)
            if by_lang is None:
                by_lang = plans[code] = {}
            plan = by_lang.get(lang)
            if plan is None:
                plan = by_lang[lang] = decide(code, lang)
            plan[0] += 1
            _, clinic_id, steps = plan
            if show_first:
                names = crc32(f"{first}\x1f{last}".encode()) if show_last else crc32(first.encode())
            else:
                names = crc32(last.encode()) if show_last else 0
            outcomes_term = 0  # every channel's outcome and address hash: with the patient, their digest term
            for (reason, outcome, sink, lane, sms, text_format, subject_format, by_names, names_key,
                 check_empty, channel, chosen, is_fallback, lane_best, after) in steps:
                if lane is None:
                    outcomes_term = (outcomes_term << 37) | (outcome << 32)
                    if sink is not None:
                        sink(outcome << 16)
                    if on_excluded is not None:
                        on_excluded(Exclusion(patient_ref=ref, first_name=first, last_name=last,
                                              channel=channel, reason=reason, language=lang,
                                              got_it=lost[1][channel] if reason == SHARED_ADDRESS and lost else ""))
                    continue
                subject = ""
                if sms:
                    # The SMS is decided by the clinic (this step's) and the names it shows: met before, it was
                    # rendered and measured then; it is rendered again below only for a recipient kept whole.
                    key = first if names_key == 1 else (first, last) if names_key == 3 else last if names_key else ""
                    found = by_names.get(key)
                    if found is None:
                        found = lane.sms_entry(clinic_id, key, first, last)
                    empty = found[4]
                    address = phone
                else:
                    subject = subject_format.format(first, last)
                    if len(subject) > SUBJECT_LIMIT:
                        lane.long_subjects += 1
                    found = lane.emails
                    empty = lane.empty_fields(first, last, clinic_id) if check_empty else ()
                    address = email
                found[2] += 1
                if empty:
                    lane.note_empty(pid, empty)
                where = crc32(address.encode())
                outcomes_term = (outcomes_term << 37) | (outcome << 32) | where
                if sink is not None:
                    sink((outcome << 16) | (where & 0xFFFF))
                if pid < lane_best[0] or found[1] > lane_best[1] or on_recipient is not None:
                    if sms:
                        text = text_format.format(first, last)
                    else:
                        text = text_format.format(html.escape(first), html.escape(last)) if lane.html \
                            else text_format.format(first, last)
                        if lane.guard:
                            text = keep_plain(text)
                    key = ""
                    if after >= 0:  # the send: this patient's key where the sample key stands (same length)
                        key = optout_key(campaign_id=keys_for, patient_id=pid, channel=channel)  # type: ignore[arg-type]
                        end = len(text) - after
                        text = text[:end - KEY_LEN] + key + text[end:]
                    recipient = Recipient(patient_id=pid, patient_ref=ref, first_name=first, last_name=last,
                                          clinic_id=clinic_id, channel=channel, language=chosen,
                                          fallback=is_fallback, address=address, subject=subject, text=text,
                                          encoding=found[0], parts=found[1], empty_fields=empty, optout_key=key)
                    tally = lane.tally
                    if pid < lane_best[0]:
                        lane_best[0], tally.sample = pid, recipient
                    if found[1] > lane_best[1]:
                        lane_best[1], tally.longest = found[1], recipient
                    if on_recipient is not None:
                        on_recipient(recipient)
            # Python's hash of a tuple of ints is the same in every process (only str and bytes hashes are salted).
            digest_sum += hash((pid, clinic_id, names, outcomes_term))
            if fp is not None:
                add_id(pid)
                add_clinic(clinic_id)
                add_names(names & 0xFFFF)
        if fp is not None and len(fp_ids) >= Fingerprint.CHUNK:
            fp.flush()
    result.patients = patients
    result.digest = digest_sum & _MASK
    _count_decisions(result, plans, clinics)
    for lane in every_lane:
        lane.finish()
    _name_patients(every_lane)
    _refuse_long_subjects(lanes.get("email", {}))
    if fp is not None:
        result.fingerprint = fp.finish()
    return result


_NO_ID = 1 << 63  # above every patient id: the first recipient of a lane becomes its sample


def _step(*, channel: str, reason: str | None, outcome: int, sink: Callable[[int], None] | None, lane: Lane | None,
          sms: bool, clinic_id: int, language: str | None, fallback: bool, best: list[int] | None,
          after: int = -1) -> tuple[Any, ...]:
    """One channel of a plan, in the order the loop unpacks it. `lane` None: the patient is left out (`reason`).
    `after`: the characters after the opt-out key in the rendered text, where the send puts the patient's key
    (-1: none to put, the text carries no link or this is a preview)."""
    if lane is None:
        return (reason, outcome, sink, None, sms, "", "", None, 0, False, channel, language, fallback, best, -1)
    formats = lane.sms_formats if sms else lane.body_formats
    return (None, outcome, sink, lane, sms, formats[clinic_id], lane.subject_formats.get(clinic_id, ""),
            lane.by_names[clinic_id], lane.names_key,
            lane.uses_first or lane.uses_last or clinic_id in lane.clinic_gaps, channel, language, fallback, best,
            after)


def _literal(text: str) -> str:
    """`text` as literal text of a format string."""
    return text.replace("{", "{{").replace("}", "}}")


def _has_fields(format_string: str) -> bool:
    return any(name is not None for _, name, _, _ in Formatter().parse(format_string))


def _add_optout(lane: Lane, *, marketing: bool, url: str, clinics: tuple[Clinic, ...]
                ) -> tuple[dict[int, int] | None, dict[str, str]]:
    """Put the opt-out line (a marketing SMS) or footer (a marketing e-mail; a service e-mail's preferences link
    when there is a link) into the lane's texts, per clinic, with the sample key: measured, shown and digested as
    sent. Returns per clinic how many characters follow the key in a rendered text (None: the lane carries no
    key), and per clinic (id as text) the line or footer added; a lane that carries nothing (a service SMS) is
    left as it was."""
    language = lane.language
    keyed: dict[int, int] = {}
    added: dict[str, str] = {}
    if lane.channel == "sms":
        if not marketing:
            return None, added
        for c in clinics:
            line = added[str(c.id)] = SMS_SEPARATOR + sms_optout_line(language, url, c.sms_reply_number)
            lane.sms_formats[c.id] += _literal(line)
            if c.id in lane.alternative_formats:
                lane.alternative_formats[c.id] += _literal(line)
            keyed[c.id] = 0  # the link ends the line
        return (keyed if url else None), added
    if not marketing and not url:
        return None, added
    if lane.html:
        footer = (email_optout_footer_html if marketing else email_preferences_footer_html)(language, url)
        shown_url = html.escape(url, quote=True)
    else:
        footer = (email_optout_footer if marketing else email_preferences_footer)(language, url)
        shown_url = url
    after_key = len(footer) - footer.index(shown_url) - len(shown_url) if url else 0
    for c in clinics:
        body = lane.body_formats[c.id]
        cut = html_footer_position(body) if lane.html else len(body)
        rest = body[cut:]
        if _has_fields(rest):  # a merge field after </body>: the footer goes at the very end
            cut, rest = len(body), ""
        lane.body_formats[c.id] = body[:cut] + _literal(footer) + rest
        keyed[c.id] = after_key + len(rest.format())
        added[str(c.id)] = footer
    return (keyed if url else None), added


def _optout_kinds(*, spec: CampaignSpec, marketing: bool, linked: bool) -> tuple[dict[str, str], str]:
    """What the campaign's messages carry to opt out, per channel, and the preview's warning (SweepResult)."""
    kinds = {}
    if "sms" in spec.channels and marketing:
        kinds["sms"] = "link" if linked else "stop_word"
    if "email" in spec.channels and (marketing or linked):
        kinds["email"] = ("link" if linked else "reply") if marketing else "preferences"
    return kinds, "no_public_url" if marketing and "email" in spec.channels and not linked else ""


def _count_decisions(result: SweepResult, plans: dict[int, dict[str, list[Any]]], clinics: dict[int, Clinic]
                     ) -> None:
    """The per-decision counts (exclusions by reason, no content by language, no sender by clinic, fallback,
    patients given their clinic's language) from the patients each plan met."""
    for code, by_lang_plan in plans.items():
        if Decides.unpack(code).language_unset:
            for lang, plan in by_lang_plan.items():
                result.no_language[lang] = result.no_language.get(lang, 0) + plan[0]
    result.no_language = dict(sorted(result.no_language.items()))
    for lang, (n, clinic_id, steps) in ((lang, plan) for by_lang in plans.values() for lang, plan in by_lang.items()):
        if any(step[3] is not None for step in steps):
            result.recipients += n
        for reason, _, _, lane, _, _, _, _, _, _, channel, _, is_fallback, _, _ in steps:
            if lane is not None:
                if is_fallback:
                    result.fallback[channel] += n
                continue
            result.excluded[channel][reason] += n
            if reason == NO_CONTENT:
                by_lang = result.no_content_languages[channel]
                by_lang[lang] = by_lang.get(lang, 0) + n
            elif reason == NO_SENDER:
                result.no_sender[channel][clinics[clinic_id].code]["messages"] += n  # type: ignore[operator]


def _name_patients(lanes: list[Lane]) -> None:
    """The external ids of the few patients the preview names (samples, empty merge fields): looked up once,
    after the pass, rather than carried in every row."""
    samples = [r for lane in lanes for r in (lane.tally.sample, lane.tally.longest) if r is not None]
    wanted = {r.patient_id for r in samples if not r.patient_ref} | {-p for lane in lanes for p in lane.empty.lowest}
    if not wanted:
        return
    refs = patient_refs(wanted)
    for lane in lanes:
        tally = lane.tally
        if tally.sample is not None and not tally.sample.patient_ref:
            tally.sample = replace(tally.sample, patient_ref=refs.get(tally.sample.patient_id, ""))
        if tally.longest is not None and not tally.longest.patient_ref:
            tally.longest = replace(tally.longest, patient_ref=refs.get(tally.longest.patient_id, ""))
        lane.empty.refs = {-p: refs.get(-p, "") for p in lane.empty.lowest}


def _refuse_long_subjects(lanes: dict[str, Lane]) -> None:
    for lang, lane in lanes.items():
        if n := lane.long_subjects:
            whose = count(n, "recipient's subject is", "recipients' subjects are")
            raise SpecError(f"content.{lang} e-mail subject: {whose} longer than {SUBJECT_LIMIT} characters, the "
                            "most an e-mail header line may hold (RFC 5322): shorten the subject")
