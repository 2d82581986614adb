"""Why a text is UCS-2, grouped the way a receptionist acts on it: the language's own letters (named once, by
script, or listed for Latin letters GSM-7 lacks) apart from the characters that could be replaced."""

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from masspost.sms import GSM7, UCS2, Ucs2Reasons, segment, ucs2_reasons
from tests.sms.reference import BASIC_CHARS, EXTENSION_CHARS


@pytest.mark.parametrize(("text", "expected"), [
    ("Tere Mari! Äge, öö, ü.", Ucs2Reasons()),  # ä ö ü are GSM-7
    ("", Ucs2Reasons()),
    # Russian: the script, once — not 24 letters — and the quotes and dash apart.
    ("Здравствуйте! «Запись» на завтра – ждём вас.",
     Ucs2Reasons(scripts=("cyrillic",), replaceable=(("«", 1), ("»", 1), ("–", 1)))),
    # Estonian: the letters GSM-7 lacks, each once, whatever their case.
    ("Tere õhtust, Õie! Šokolaad ja žürii, õ.", Ucs2Reasons(letters=("õ", "š", "ž"))),
    ("Tere o\u0303htust", Ucs2Reasons(letters=("o\u0303",))),  # õ pasted as o + a combining tilde
    ("À la carte", Ucs2Reasons(letters=("À",))),  # à is GSM-7, À is not: shown as it is
    # Punctuation, spaces, invisible characters: what could be replaced, with how often.
    ("Teie “aeg” on homme – palun tulge…",
     Ucs2Reasons(replaceable=(("“", 1), ("”", 1), ("–", 1), ("…", 1)))),
    ("10\u00a0000\u00a0€ ’’", Ucs2Reasons(replaceable=(("\u00a0", 2), ("’", 2)))),
    ("Tere\u200bMari\tx", Ucs2Reasons(replaceable=(("\u200b", 1), ("\t", 1)))),
    ("Kliinikuʼs", Ucs2Reasons(replaceable=(("ʼ", 1),))),  # a modifier letter used as an apostrophe
    ("ﬁnal Ａ", Ucs2Reasons(replaceable=(("ﬁ", 1), ("Ａ", 1)))),
    # Emoji: one each, with what shapes them.
    ("Ootame ❤️ 👍🏽 👩\u200d⚕️ 👍🏽", Ucs2Reasons(replaceable=(("❤️", 1), ("👍🏽", 2), ("👩\u200d⚕️", 1)))),
    # Several scripts, in the order they appear.
    ("牙医 Привет Γεια σας", Ucs2Reasons(scripts=("cjk", "cyrillic", "greek"))),
    ("ნახვამდის", Ucs2Reasons(scripts=("georgian",))),
    ("ᠮᠣᠩᠭᠣᠯ", Ucs2Reasons(scripts=("other",))),  # Mongolian: a script a screen does not name
    ("Tere õ 😀", Ucs2Reasons(letters=("õ",), replaceable=(("😀", 1),))),
])
def test_reasons(text: str, expected: Ucs2Reasons) -> None:
    assert ucs2_reasons(text) == expected


def test_letters_force_it_replaceable_characters_alone_do_not() -> None:
    assert ucs2_reasons("Привет – да").by_letters
    assert ucs2_reasons("Tere õ").by_letters
    assert not ucs2_reasons("Tere “x”").by_letters
    assert ucs2_reasons("Tere “x”") and not ucs2_reasons("Tere x")


_BASIC = "".join(sorted(BASIC_CHARS))
_EXTENSION = "".join(sorted(EXTENSION_CHARS))
_FOREIGN = "õšžçÀЖя牙γ\u0303\u0306\u20e3\u00a0\t\x1b’–…«ʼ\u200b\u200d\ufe0f😀👍\U0001f3fdﬁＡ"
texts = st.one_of(
    st.text(alphabet=st.one_of(st.sampled_from(_BASIC), st.sampled_from(_EXTENSION), st.sampled_from(_FOREIGN)),
            max_size=40),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
)


def _without(text: str, reasons: Ucs2Reasons) -> str:
    for cluster, _n in sorted(reasons.replaceable, key=lambda kept: -len(kept[0])):
        text = text.replace(cluster, "")
    return text


@settings(max_examples=1000, deadline=None)
@given(texts)
def test_the_reasons_say_what_replacing_would_do(text: str) -> None:
    """A text has reasons exactly when it is UCS-2; without its replaceable characters it is GSM-7 exactly when
    no letters of its own force UCS-2."""
    reasons = ucs2_reasons(text)
    # A combining mark on nothing (at the start, after a space) is replaceable, the same mark on a letter is part
    # of it: removing every copy of the lone one, as below, would take the letter's too.
    assume(not any(len(c) == 1 and unicodedata.category(c).startswith("M") for c, _n in reasons.replaceable))
    assert bool(reasons) == (segment(text).encoding == UCS2)
    assert (segment(_without(text, reasons)).encoding == GSM7) == (not reasons.by_letters)
