"""Why a text goes out as UCS-2, told the way the person writing it can act on it (docs/sms.md).

One character outside GSM-7 makes the whole text UCS-2: 70 characters in one SMS instead of 160. Those characters
are of two kinds for a receptionist:

- the letters of the patient's language — a whole script (Cyrillic, Greek, …) or Latin letters GSM-7 lacks (the
  Estonian õ š ž, the Lithuanian ą …). They stay: the patient reads their own language. The screen says so once
  ("Cyrillic letters: 70 characters per part") instead of listing every letter;
- everything else — look-alike punctuation (“ ” „ – …), odd spaces, invisible characters, emoji and other
  symbols. These could be replaced or removed, so the screen points at each of them.

Pure Python (unicodedata), like the rest of masspost.sms: the web counter and the preview both ask here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from masspost.sms.alphabet import GSM7_CHARACTERS

#: The scripts a screen names ("Cyrillic letters"); a letter of any other script is reported as OTHER_SCRIPT.
#: Keys are the first word of a character's Unicode name; "cjk" covers the unified ideographs.
SCRIPTS = ("cyrillic", "greek", "arabic", "hebrew", "armenian", "georgian", "cjk", "hiragana", "katakana",
           "hangul", "thai", "devanagari")
OTHER_SCRIPT = "other"
ZWJ = "\u200d"


@dataclass(frozen=True, kw_only=True, slots=True)
class Ucs2Reasons:
    """The characters that make a text UCS-2, in the order they first appear.

    `scripts`: scripts whose letters are in the text (see SCRIPTS). `letters`: Latin letters GSM-7 lacks, each
    once, in lower case unless that one is GSM-7; a letter with combining marks is one entry, as a reader sees it.
    `replaceable`: every other character outside GSM-7 with how often it occurs (an emoji with its modifiers is
    one). All empty for a GSM-7 text."""

    scripts: tuple[str, ...] = ()
    letters: tuple[str, ...] = ()
    replaceable: tuple[tuple[str, int], ...] = ()

    @property
    def by_letters(self) -> bool:
        """The language's own letters force UCS-2: replacing anything else would not bring the text to GSM-7."""
        return bool(self.scripts or self.letters)

    def __bool__(self) -> bool:
        return bool(self.scripts or self.letters or self.replaceable)


def ucs2_reasons(text: str) -> Ucs2Reasons:
    """Sort the characters of `text` that GSM-7 cannot carry into scripts, letters and replaceable characters."""
    scripts: dict[str, None] = {}
    letters: dict[str, None] = {}
    replaceable: dict[str, int] = {}
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        index += 1
        if char in GSM7_CHARACTERS and not _marked(text, index):
            continue
        kind = _kind(char)
        if kind == "latin":
            # A letter and its combining marks (o + U+0303 = õ, as pasted from some systems) are one letter.
            end = index
            while end < length and unicodedata.category(text[end]).startswith("M"):
                end += 1
            letter = text[index - 1 : end]
            # õ and Õ are one letter to a reader; but À is not GSM-7 where à is, so À stays À.
            letters.setdefault(letter.lower() if letter.lower()[0] not in GSM7_CHARACTERS else letter, None)
            index = end
        elif kind == "replaceable":
            # An emoji with what shapes it (a variation selector, a skin tone, joined emoji) is one character.
            end = _cluster_end(text, index)
            cluster = text[index - 1 : end]
            replaceable[cluster] = replaceable.get(cluster, 0) + 1
            index = end
        else:
            scripts.setdefault(kind, None)
            while index < length and unicodedata.category(text[index]).startswith("M"):
                index += 1  # its marks (Cyrillic й as и + U+0306, Arabic vowels) belong to the script
    return Ucs2Reasons(scripts=tuple(scripts), letters=tuple(letters), replaceable=tuple(replaceable.items()))


def _marked(text: str, index: int) -> bool:
    """A combining mark follows the character at index - 1: together they are a letter GSM-7 lacks."""
    return index < len(text) and unicodedata.category(text[index]).startswith("M") and text[index - 1].isalpha()


def _cluster_end(text: str, index: int) -> int:
    """Where the character before `index` ends with what modifies it: combining marks and variation selectors,
    skin tones (U+1F3FB..U+1F3FF), and a zero width joiner with the character it joins (👩‍⚕️)."""
    length = len(text)
    while index < length:
        char = text[index]
        if unicodedata.category(char).startswith("M") or "\U0001f3fb" <= char <= "\U0001f3ff":
            index += 1
        elif char == ZWJ and index + 1 < length:
            index += 2
        else:
            break
    return index


def _kind(char: str) -> str:
    """"latin" for a Latin letter, a script key for another script's letter, "replaceable" for everything else:
    punctuation, spaces, symbols, emoji, digits, controls — and a combining mark on its own."""
    category = unicodedata.category(char)
    if not category.startswith("L") or category == "Lm":  # Lm: modifier letters such as ʼ, used as punctuation
        return "replaceable"
    if "\ufb00" <= char <= "\ufb06":
        return "replaceable"  # ﬁ ﬂ: typesetting ligatures of plain letters
    first = unicodedata.name(char, "").split(" ", 1)[0].lower()
    if first == "fullwidth":
        return "replaceable"  # Ａ: a plain letter in another width
    if first == "latin":
        return "latin"
    return first if first in SCRIPTS else OTHER_SCRIPT
