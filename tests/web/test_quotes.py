"""A name quoted in a sentence is quoted the language's own way (issue 17): Estonian „…“, Russian «…», English
“…” — never an Estonian „ closed with the English ” (the staff page's token title once did)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "masspost" / "locale"
# A placeholder in quotes: the quote marks either side of it.
QUOTED = re.compile(r"([„“”«»\"])%\(\w+\)s([„“”«»\"])")
OWN = {"et": ("„", "“"), "ru": ("«", "»"), "en": ("“", "”")}


def entries(lang: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) of the language's catalogue, msgstr as the UI shows it (the msgid when it is empty)."""
    text = (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    found = []
    for block in text.split("\n\n"):
        lines = [x for x in block.splitlines() if not x.startswith("#")]
        parts: dict[str, str] = {}
        key = ""
        for line in lines:
            m = re.match(r'^(msgid|msgstr(?:\[0\])?|msgid_plural|msgctxt|msgstr\[\d\])\s+"(.*)"$', line)
            if m:
                key = m.group(1)
                parts[key] = m.group(2)
            elif line.startswith('"') and key:
                parts[key] += line[1:-1]
        if parts.get("msgid"):
            found.append((parts["msgid"], parts.get("msgstr") or parts.get("msgstr[0]") or parts["msgid"]))
    return found


@pytest.mark.parametrize("lang", ["et", "ru", "en"])
def test_a_quoted_name_is_quoted_the_languages_own_way(lang: str) -> None:
    wrong = [(msgid, msgstr) for msgid, msgstr in entries(lang)
             for opening, closing in QUOTED.findall(msgstr) if (opening, closing) != OWN[lang]]
    assert not wrong, wrong


def test_the_estonian_token_title_closes_with_the_low_high_pair() -> None:
    titles = dict(entries("et"))
    assert titles["Token “%(name)s” for %(user)s"].endswith("„%(name)s“")
