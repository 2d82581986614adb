"""One channel × language of the sweep: its compiled texts, its tally, and what the preview learns on the way.

Whatever can be decided once is decided here, not per patient: which merge fields the texts show, which clinics
leave one of them empty, whether an e-mail body is HTML, the cheaper punctuation for the SMS text. What depends on
the rendered text is learnt once per distinct text, through the measure cache: its parts, and for a UCS-2 text the
characters that forced it.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
    lowest: list[tuple[int, str]] = field(default_factory=list)  # max-heap of (-patient id, external id)

    def patients(self) -> list[str]:
        """External ids of the first EMPTY_LIST_CAP by patient id: the same list on every run."""
        return [ref for _, ref in sorted(self.lowest, reverse=True)]


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
        self._cache_size = cache_size
        self.measured: dict[str, tuple[str, int]] = {}
        self.ucs2: set[str] = set()
        self.text_characters: frozenset[str] = frozenset()
        self.suggestion: Suggestion | None = None
        self.alternative: Template | None = None  # the SMS text with the suggestion applied
        self.alternative_parts = 0
        self._alternative_measured: dict[str, int] = {}
        if self.sms is not None:
            self.text_characters = frozenset(NOT_GSM7.findall(self.sms.source))
            self._suggest(self.sms)
        self.html = self.body is not None and is_html_template(self.body)
        self.guard = self.body is not None and can_turn_html(self.body)
        self.long_subjects = 0

    def _suggest(self, template: Template) -> None:
        suggestion = suggest(template.source)
        if not suggestion.replacements:
            return
        try:
            alternative = compile_template(suggestion.text)
        except TemplateError:  # a replacement never touches a merge field; if one did, offer nothing
            return
        self.suggestion, self.alternative = suggestion, alternative

    def measure(self, text: str) -> tuple[str, int]:
        """(encoding, parts) of a text not in the cache; a UCS-2 text's forcing characters are noted."""
        if len(self.measured) >= self._cache_size:
            self.measured.clear()
        encoding, _, parts = measure(text)
        if encoding == UCS2:
            self.ucs2.update(NOT_GSM7.findall(text))
        found = self.measured[text] = (encoding, parts)
        return found

    def measure_alternative(self, values: Mapping[str, str]) -> None:
        """Count the parts this recipient's SMS would take with the suggested punctuation."""
        assert self.alternative is not None
        text = self.alternative.render(values)
        parts = self._alternative_measured.get(text)
        if parts is None:
            if len(self._alternative_measured) >= self._cache_size:
                self._alternative_measured.clear()
            parts = self._alternative_measured[text] = measure(text)[2]
        self.alternative_parts += parts

    def note_empty(self, pid: int, ref: str, first: str, last: str, clinic_id: int) -> tuple[str, ...]:
        """Count a recipient whose text shows an empty merge field; returns which fields."""
        fields = [name for name, used, value in (("first_name", self.uses_first, first),
                                                 ("last_name", self.uses_last, last)) if used and not value.strip()]
        fields += self.clinic_gaps.get(clinic_id, ())
        empty = self.empty
        empty.recipients += 1
        for name in fields:
            empty.fields[name] = empty.fields.get(name, 0) + 1
        if len(empty.lowest) < EMPTY_LIST_CAP:
            heapq.heappush(empty.lowest, (-pid, ref))
        elif -empty.lowest[0][0] > pid:
            heapq.heapreplace(empty.lowest, (-pid, ref))
        return tuple(fields)
