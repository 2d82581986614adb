"""Suggestions that replace typographic look-alikes by GSM-7 characters to save parts.

Only punctuation, spaces and invisible characters are ever touched — never a letter: õ stays õ and
Cyrillic stays Cyrillic, because the patient must read their own language. See docs/sms.md.
"""

from dataclasses import dataclass
from typing import Final

from masspost.sms.alphabet import EXTENSION_CHARACTERS, GSM7_CHARACTERS
from masspost.sms.segment import GSM7, Segmentation, segment

_SINGLE_QUOTE = "'"
_DOUBLE_QUOTE = '"'

#: Look-alike -> GSM-7 replacement ("" removes it). Keys are never letters (Unicode category L*).
LOOKALIKES: Final[dict[str, str]] = {
    # Single quotes, apostrophes, primes and accents used as apostrophes.
    "\u2018": _SINGLE_QUOTE,  # ‘ LEFT SINGLE QUOTATION MARK
    "\u2019": _SINGLE_QUOTE,  # ’ RIGHT SINGLE QUOTATION MARK (the word processor's apostrophe)
    "\u201a": _SINGLE_QUOTE,  # ‚ SINGLE LOW-9 QUOTATION MARK
    "\u201b": _SINGLE_QUOTE,  # ‛ SINGLE HIGH-REVERSED-9 QUOTATION MARK
    "\u2039": _SINGLE_QUOTE,  # ‹
    "\u203a": _SINGLE_QUOTE,  # ›
    "\u2032": _SINGLE_QUOTE,  # ′ PRIME
    "\u2035": _SINGLE_QUOTE,  # ‵ REVERSED PRIME
    "\u00b4": _SINGLE_QUOTE,  # ´ ACUTE ACCENT
    "\u0060": _SINGLE_QUOTE,  # ` GRAVE ACCENT (not in GSM 03.38)
    # Double quotes.
    "\u201c": _DOUBLE_QUOTE,  # “
    "\u201d": _DOUBLE_QUOTE,  # ”
    "\u201e": _DOUBLE_QUOTE,  # „ (Estonian, German and Russian opening quote)
    "\u201f": _DOUBLE_QUOTE,  # ‟
    "\u00ab": _DOUBLE_QUOTE,  # «
    "\u00bb": _DOUBLE_QUOTE,  # »
    "\u2033": _DOUBLE_QUOTE,  # ″ DOUBLE PRIME
    "\u2036": _DOUBLE_QUOTE,  # ‶
    # Hyphens, dashes and the minus sign.
    "\u2010": "-",  # HYPHEN
    "\u2011": "-",  # NON-BREAKING HYPHEN
    "\u2012": "-",  # FIGURE DASH
    "\u2013": "-",  # EN DASH
    "\u2014": "-",  # EM DASH
    "\u2015": "-",  # HORIZONTAL BAR
    "\u2212": "-",  # MINUS SIGN
    "\ufe58": "-",  # SMALL EM DASH
    "\ufe63": "-",  # SMALL HYPHEN-MINUS
    # Dots and slashes.
    "\u2026": "...",  # … HORIZONTAL ELLIPSIS
    "\u2024": ".",  # ONE DOT LEADER
    "\u2044": "/",  # FRACTION SLASH
    "\u2215": "/",  # DIVISION SLASH
    # Spaces: tab, no-break and the typographic widths.
    "\t": " ",
    "\u00a0": " ",  # NO-BREAK SPACE
    "\u1680": " ",
    **{chr(code): " " for code in range(0x2000, 0x200B)},  # EN QUAD .. HAIR SPACE
    "\u202f": " ",  # NARROW NO-BREAK SPACE (French and Estonian thousands)
    "\u205f": " ",  # MEDIUM MATHEMATICAL SPACE
    "\u3000": " ",  # IDEOGRAPHIC SPACE
    # Line breaks that are not LF or CR.
    "\u0085": "\n",  # NEXT LINE
    "\u2028": "\n",  # LINE SEPARATOR
    "\u2029": "\n",  # PARAGRAPH SEPARATOR
    # Invisible characters, removed.
    "\u00ad": "",  # SOFT HYPHEN
    "\u200b": "",  # ZERO WIDTH SPACE
    "\u2060": "",  # WORD JOINER
    "\ufeff": "",  # ZERO WIDTH NO-BREAK SPACE (a BOM pasted into the text)
}

#: Invisible characters that shape their neighbours (emoji sequences, Indic and Arabic scripts, bidi
#: text): removed only between GSM-7 characters, where they cannot change what the patient sees.
JOINERS: Final = frozenset("\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufe0e\ufe0f")


@dataclass(frozen=True, kw_only=True, slots=True)
class Replacement:
    """One proposed change: `original` at `position` of the text becomes `replacement` ("" = removed)."""

    position: int
    original: str
    replacement: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Suggestion:
    """The text with look-alikes replaced, and what that changes. `replacements` is empty when nothing
    in the text is worth replacing; `suggested` is then `original`."""

    original: Segmentation
    suggested: Segmentation
    replacements: tuple[Replacement, ...]

    @property
    def text(self) -> str:
        return self.suggested.text

    @property
    def parts_saved(self) -> int:
        return len(self.original.parts) - len(self.suggested.parts)


def suggest(text: str) -> Suggestion:
    """Propose GSM-7 replacements for typographic look-alikes in `text` and count the parts saved.

    When letters keep the text in UCS-2, replacements that would cost units there (… -> "...") are left
    out; a suggestion never needs more parts than the original.
    """
    original = segment(text)
    every = _replacements(text)
    if not every:
        return Suggestion(original=original, suggested=original, replacements=())
    neutral = every if all(_is_cost_neutral(change) for change in every) else _neutral(every)
    candidates = [(every, segment(_apply(text, every)))]
    if neutral is not every:
        candidates.append((neutral, segment(_apply(text, neutral))))
    changes, suggested = min(
        candidates,
        key=lambda candidate: (len(candidate[1].parts), candidate[1].encoding != GSM7, candidate[1].units),
    )
    return Suggestion(original=original, suggested=suggested, replacements=changes)


def _replacements(text: str) -> tuple[Replacement, ...]:
    changes: list[Replacement] = []
    last = len(text) - 1
    for position, char in enumerate(text):
        replacement = LOOKALIKES.get(char)
        if replacement is None and char in JOINERS and _between_gsm7(text, position, last):
            replacement = ""
        if replacement is not None:
            changes.append(Replacement(position=position, original=char, replacement=replacement))
    return tuple(changes)


def _between_gsm7(text: str, position: int, last: int) -> bool:
    before = text[position - 1] if position > 0 else " "
    after = text[position + 1] if position < last else " "
    return _is_plain(before) and _is_plain(after)


def _is_plain(char: str) -> bool:
    return char in GSM7_CHARACTERS or char in LOOKALIKES


def _is_cost_neutral(change: Replacement) -> bool:
    """In UCS-2 a replacement costs nothing more when it is at most one BMP character."""
    return len(change.replacement) <= 1 and change.replacement not in EXTENSION_CHARACTERS


def _neutral(changes: tuple[Replacement, ...]) -> tuple[Replacement, ...]:
    return tuple(change for change in changes if _is_cost_neutral(change))


def _apply(text: str, changes: tuple[Replacement, ...]) -> str:
    pieces: list[str] = []
    start = 0
    for change in changes:
        pieces.append(text[start : change.position])
        pieces.append(change.replacement)
        start = change.position + 1
    pieces.append(text[start:])
    return "".join(pieces)
