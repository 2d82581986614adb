"""One channel × language of the sweep: its compiled texts, its tally, and what the preview learns on the way.

Whatever can be decided once is decided here, not per patient: which merge fields the texts show, which clinics
leave one of them empty, whether an e-mail body is HTML, the cheaper punctuation for the SMS text. What depends on
the rendered text is learnt once per clinic and names shown, through `by_names`: its parts, the parts with the
cheaper punctuation, the merge fields left empty, and for a UCS-2 text the characters that forced it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from masspost.campaigns.spec import CompiledContent
from masspost.clinic.models import Clinic
from masspost.content import Template, TemplateError, can_turn_html, compile_template, is_html_template
from masspost.sms import UCS2, Suggestion, measure, suggest
from masspost.sms.alphabet import NOT_GSM7

if TYPE_CHECKING:
    from masspost.campaigns.sweep import Recipient

EMPTY_LIST_CAP = 20  # external ids listed per warning; the count is always whole
SUBJECT_LIMIT = 998  # RFC 5322 2.1.1: characters in a line, and a subject is meant to be one
_CLINIC_VALUES = {"clinic_name": "name", "clinic_phone": "phone"}


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
class EmptyFields:
    """Recipients whose text shows a merge field that renders empty ("Tere !")."""

    recipients: int = 0
    fields: dict[str, int] = field(default_factory=dict)
    lowest: list[int] = field(default_factory=list)  # max-heap of -patient id
    refs: dict[int, str] = field(default_factory=dict)  # external ids of those, looked up after the pass

    def patients(self) -> list[str]:
        """External ids of the first EMPTY_LIST_CAP by patient id: the same list on every run."""
        return [self.refs.get(pid, "") for pid in sorted(-p for p in self.lowest)]


class Lane:
    def __init__(self, *, channel: str, language: str, texts: CompiledContent, clinics: Sequence[Clinic],
                 cache_size: int) -> None:
        self.channel = channel
        self.language = language
        self.tally = LanguageTally()
        self.empty = EmptyFields()
        sms = channel == "sms"
        self.sms: Template | None = texts.sms if sms else None
        self.subject: Template | None = None if sms else texts.email_subject
        self.body: Template | None = None if sms else texts.email_body
        templates = [t for t in (self.sms, self.subject, self.body) if t is not None]
        self.fields: frozenset[str] = frozenset().union(*(t.fields for t in templates))
        self.uses_first = "first_name" in self.fields
        self.uses_last = "last_name" in self.fields
        # Per clinic, the clinic's merge fields this lane shows that are empty for it: decided once.
        self.clinic_gaps: dict[int, tuple[str, ...]] = {}
        for clinic in clinics:
            gaps = tuple(f for f, attr in _CLINIC_VALUES.items()
                         if f in self.fields and not getattr(clinic, attr).strip())
            if gaps:
                self.clinic_gaps[clinic.id] = gaps
        # What of a clinic its messages show or are sent with: a change of it changes what is sent.
        shown = {attr for f, attr in _CLINIC_VALUES.items() if f in self.fields}
        self.clinic_fields = frozenset(shown | ({"sms_sender"} if sms else {"name", "email"}))
        self.ucs2: set[str] = set()
        self.text_characters: frozenset[str] = frozenset()
        self.suggestion: Suggestion | None = None
        self.alternative: Template | None = None  # the SMS text with the suggestion applied
        self.alternative_parts = 0
        if self.sms is not None:
            self.text_characters = frozenset(NOT_GSM7.findall(self.sms.source))
            self._suggest(self.sms)
        self.html = self.body is not None and is_html_template(self.body)
        self.guard = self.body is not None and can_turn_html(self.body)
        self.long_subjects = 0
        # Per clinic, each text with the clinic's own values merged in (Template.bind): a recipient adds names.
        def bound(template: Template | None, *, escape: bool = False) -> dict[int, str]:
            if template is None:
                return {}
            return {c.id: template.bind({f: getattr(c, attr) for f, attr in _CLINIC_VALUES.items()}, escape=escape)
                    for c in clinics}
        self.sms_formats = bound(self.sms)
        self.alternative_formats = bound(self.alternative)
        self.subject_formats = bound(self.subject)
        self.body_formats = bound(self.body, escape=self.html)
        # Per clinic, what an SMS of this lane is for the names it shows (`names_key`), rendered and measured once:
        # [encoding, parts, recipients since the cache was last emptied, parts with the suggested punctuation,
        # merge fields that render empty]. Emptied in place when full (the counters are folded into `counts`).
        self.by_names: dict[int, dict[Any, list[Any]]] = {c.id: {} for c in clinics}
        self._per_clinic = max(200, cache_size // max(1, len(clinics)))  # memory stays flat with many clinics
        self.names_key = (1 if self.uses_first else 0) | (2 if self.uses_last else 0)  # see `sweep`
        self.counts: dict[tuple[str, int], int] = {}  # (encoding, parts) → recipients
        self.emails: list[Any] = ["", 1, 0, 0, ()]  # an e-mail counts like an SMS of one part without encoding

    def _suggest(self, template: Template) -> None:
        suggestion = suggest(template.source)
        if not suggestion.replacements:
            return
        try:
            alternative = compile_template(suggestion.text)
        except TemplateError:  # a replacement never touches a merge field; if one did, offer nothing
            return
        self.suggestion, self.alternative = suggestion, alternative

    def sms_entry(self, clinic_id: int, key: Any, first: str, last: str) -> list[Any]:
        """The `by_names` entry of an SMS whose clinic and names were not met yet, rendered and measured now; the
        characters that force UCS-2 are noted. The caller counts its recipient (the entry's third item)."""
        cache = self.by_names[clinic_id]
        if len(cache) >= self._per_clinic:
            self._fold(cache.values())
            cache.clear()
        text = self.sms_formats[clinic_id].format(first, last)
        encoding, _, parts = measure(text)
        if encoding == UCS2:
            self.ucs2.update(NOT_GSM7.findall(text))
        alternative = self.alternative_formats.get(clinic_id)
        cheaper = measure(alternative.format(first, last))[2] if alternative is not None else 0
        found = cache[key] = [encoding, parts, 0, cheaper, self.empty_fields(first, last, clinic_id)]
        return found

    def _fold(self, entries: Iterable[list[Any]]) -> None:
        counts = self.counts
        for encoding, parts, n, cheaper, _ in entries:
            if n:
                counts[(encoding, parts)] = counts.get((encoding, parts), 0) + n
                self.alternative_parts += cheaper * n

    def finish(self) -> None:
        """The tally's figures from the counters, once the pass is over."""
        for cache in self.by_names.values():
            self._fold(cache.values())
            cache.clear()
        self._fold([self.emails])
        tally = self.tally
        for (encoding, parts), n in self.counts.items():
            tally.recipients += n
            tally.parts_total += parts * n
            tally.parts_min = parts if tally.parts_min is None else min(tally.parts_min, parts)
            tally.parts_max = parts if tally.parts_max is None else max(tally.parts_max, parts)
            if encoding:
                tally.encodings[encoding] = tally.encodings.get(encoding, 0) + n
        tally.encodings = dict(sorted(tally.encodings.items()))

    def empty_fields(self, first: str, last: str, clinic_id: int) -> tuple[str, ...]:
        """The merge fields this lane's texts show that are empty for this recipient."""
        return tuple(name for name, used, value in (("first_name", self.uses_first, first),
                                                    ("last_name", self.uses_last, last))
                     if used and not value.strip()) + self.clinic_gaps.get(clinic_id, ())

    def note_empty(self, pid: int, fields: tuple[str, ...]) -> None:
        """Count a recipient whose text shows an empty merge field (`fields`: which)."""
        empty = self.empty
        empty.recipients += 1
        for name in fields:
            empty.fields[name] = empty.fields.get(name, 0) + 1
        if len(empty.lowest) < EMPTY_LIST_CAP:
            heapq.heappush(empty.lowest, -pid)
        elif -empty.lowest[0] > pid:
            heapq.heapreplace(empty.lowest, -pid)
