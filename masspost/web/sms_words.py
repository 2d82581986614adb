"""What the screens say of an SMS's alphabet (issue 17, point 8): GSM-7 and UCS-2 explained in a few words, and
why a text is UCS-2 — the language's own letters named once ("Cyrillic letters: 70 characters per part instead of
160"), the characters a user could replace pointed at one by one. The sorting is masspost.sms.ucs2_reasons; this
module only words it, in the user's language. Used by the live SMS counter and the preview's Encoding column."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from masspost.sms import (
    GSM7_MULTI_PART,
    GSM7_SINGLE_PART,
    UCS2_MULTI_PART,
    UCS2_SINGLE_PART,
    Ucs2Reasons,
    ucs2_reasons,
)

SCRIPT_NAMES = {
    "cyrillic": _lazy("Cyrillic letters"),
    "greek": _lazy("Greek letters"),
    "arabic": _lazy("Arabic letters"),
    "hebrew": _lazy("Hebrew letters"),
    "armenian": _lazy("Armenian letters"),
    "georgian": _lazy("Georgian letters"),
    "cjk": _lazy("Chinese characters"),
    "hiragana": _lazy("Japanese characters"),
    "katakana": _lazy("Japanese characters"),
    "hangul": _lazy("Korean letters"),
    "thai": _lazy("Thai letters"),
    "devanagari": _lazy("Devanagari letters"),
    "other": _lazy("letters of another alphabet"),
}

ENCODING_TITLES = {
    "GSM-7": _lazy("GSM-7: the plain SMS alphabet, 160 characters in one SMS"),
    "UCS-2": _lazy("UCS-2: the SMS alphabet for every other character, 70 characters in one SMS"),
}


def encoding_title(encoding: str) -> str:
    """The few words a tooltip says of an encoding's name."""
    return str(ENCODING_TITLES.get(encoding, encoding))


def encoding_help() -> str:
    """The help line under a table or a counter that shows encodings: both in one sentence."""
    return _("GSM-7 fits 160 characters in one SMS, but only Latin letters without õ, š, ž and plain punctuation; "
             "any other character makes the whole SMS UCS-2, which fits 70.")


def limits(*, multi_part: bool) -> tuple[int, int]:
    """(UCS-2, GSM-7) characters per part: of a one-part SMS, or of each part of a longer one."""
    return (UCS2_MULTI_PART, GSM7_MULTI_PART) if multi_part else (UCS2_SINGLE_PART, GSM7_SINGLE_PART)


def _char_title(cluster: str) -> str:
    return " + ".join(f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in cluster)


def _shown(cluster: str) -> str:
    """A character as a highlight can show it: invisible ones by a visible stand-in."""
    if cluster.isspace() or unicodedata.category(cluster[0]) in ("Cf", "Cc", "Zs"):
        return "␣" if cluster.isspace() or unicodedata.category(cluster[0]) == "Zs" else "·"
    if unicodedata.category(cluster[0]).startswith("M"):
        return "◌" + cluster
    return cluster


def why_ucs2(text: str, *, multi_part: bool = False) -> dict[str, Any] | None:
    """Why `text` is UCS-2, for a template; None for GSM-7. `letters`: a sentence naming the script(s) or the
    letters that force it and what that costs; `replaceable`: the characters to point at (only when nothing else
    forces UCS-2 — otherwise replacing them changes nothing)."""
    reasons = ucs2_reasons(text)
    if not reasons:
        return None
    ucs2, gsm7 = limits(multi_part=multi_part)
    out: dict[str, Any] = {"letters": None, "replaceable": [], "ucs2": ucs2, "gsm7": gsm7}
    if reasons.by_letters:
        out["letters"] = letters_sentence(reasons.scripts, reasons.letters, ucs2=ucs2, gsm7=gsm7)
    else:
        out["replaceable"] = [{"char": _shown(c), "title": _char_title(c), "count": n} for c, n in reasons.replaceable]
    return out


def letters_sentence(scripts: Iterable[str], letters: Iterable[str], *, ucs2: int, gsm7: int) -> str:
    """"Cyrillic letters: 70 characters per part instead of 160." / "Letters õ, š: …"."""
    named = list(dict.fromkeys(str(SCRIPT_NAMES.get(s, SCRIPT_NAMES["other"])) for s in scripts))
    letters = list(letters)
    if letters:
        named.append(ngettext("letter %(letters)s", "letters %(letters)s", len(letters))
                     % {"letters": ", ".join(letters)})
    what = capfirst(", ".join(named))
    return _("%(what)s: %(ucs2)s characters per part instead of %(gsm7)s.") % {"what": what, "ucs2": ucs2,
                                                                              "gsm7": gsm7}


def names_sentence(reasons: Ucs2Reasons, *, ucs2: int, gsm7: int) -> str:
    """Characters that only some patients' names bring (the text itself is GSM-7, or UCS-2 for other reasons):
    "Some patients' names have characters GSM-7 lacks (š, Cyrillic letters): their SMS fit 70 …"."""
    chars = [str(SCRIPT_NAMES.get(s, SCRIPT_NAMES["other"])) for s in reasons.scripts]
    chars += list(reasons.letters) + [c for c, _n in reasons.replaceable]
    return _("Some patients' names have characters GSM-7 lacks (%(chars)s): their SMS fit %(ucs2)s characters per "
             "part instead of %(gsm7)s.") % {"chars": ", ".join(chars), "ucs2": ucs2, "gsm7": gsm7}
