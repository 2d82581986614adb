"""Look-alike suggestions: punctuation, spaces and invisible characters only, never letters."""

import unicodedata

import pytest

from masspost.sms import GSM7, LOOKALIKES, UCS2, Replacement, suggest
from tests.sms.reference import GSM_CHARS


def test_word_processor_apostrophe_costs_a_part() -> None:
    text = "Tere Mari! Teie visiit on homme kell 14:30. Ootame Teid, Hambakliinik’s. " * 2
    result = suggest(text)
    assert (result.original.encoding, len(result.original.parts)) == (UCS2, 3)
    assert (result.suggested.encoding, len(result.suggested.parts)) == (GSM7, 1)
    assert result.parts_saved == 2
    assert result.text == text.replace("’", "'")
    assert result.replacements == (
        Replacement(position=69, original="’", replacement="'"),
        Replacement(position=142, original="’", replacement="'"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Tere”", '"Tere"'),
        ("„Tere“", '"Tere"'),
        ("«Привет»", '"Привет"'),
        ("9–17 — kohe", "9-17 - kohe"),
        ("−5", "-5"),
        ("Oota…", "Oota..."),
        ("10\u00a0000\u202f€", "10 000 €"),
        ("a\tb", "a b"),
        ("hamba\u00adarst\u200b", "hambaarst"),
        ("\ufeffTere", "Tere"),
        ("rida\u2028rida", "rida\nrida"),
        ("a\u200db", "ab"),  # a joiner between GSM-7 characters changes nothing visible
    ],
)
def test_replacements(text: str, expected: str) -> None:
    assert suggest(text).text == expected


def test_letters_are_never_replaced() -> None:
    for text in ["Tõnis šokolaad žürii", "Здравствуйте", "ça", "Ελλάδα"]:
        result = suggest(text)
        assert result.replacements == ()
        assert result.text == text
        assert result.parts_saved == 0


def test_no_lookalike_is_a_letter_and_every_replacement_is_gsm7() -> None:
    for char, replacement in LOOKALIKES.items():
        assert not unicodedata.category(char).startswith("L"), char
        assert char not in GSM_CHARS
        assert all(new in GSM_CHARS for new in replacement), char


def test_emoji_sequences_keep_their_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    thumbs = "\U0001f44d\ufe0f"
    assert suggest(f"Tere {family} {thumbs}").replacements == ()


def test_ucs2_text_gets_no_replacement_that_costs_units() -> None:
    # Cyrillic stays UCS-2: "…" -> "..." would cost two units, the dash costs nothing.
    result = suggest("Ждём вас – до встречи…")
    assert result.text == "Ждём вас - до встречи…"
    assert result.suggested.units == result.original.units


def test_removing_invisible_characters_can_save_a_part_in_ucs2() -> None:
    text = "õ" * 70 + "\u200b"
    result = suggest(text)
    assert (len(result.original.parts), len(result.suggested.parts), result.parts_saved) == (2, 1, 1)


def test_a_suggestion_never_needs_more_parts() -> None:
    # 70 ellipses are one UCS-2 SMS; as 210 dots they would be two GSM-7 parts.
    result = suggest("…" * 70)
    assert result.parts_saved == 0
    assert len(result.suggested.parts) == 1


def test_nothing_to_suggest() -> None:
    result = suggest("Tere!")
    assert result.replacements == ()
    assert result.suggested == result.original
    assert result.parts_saved == 0
