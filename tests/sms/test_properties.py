"""Properties that hold for every text, checked against the independent reference in reference.py."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from masspost.sms import encode_part, measure, segment, suggest
from tests.sms.reference import (
    BASIC_CHARS,
    EXTENSION_CHARS,
    decode_gsm7,
    encoding_of,
    minimal_parts,
    units_of,
)

_BASIC = "".join(sorted(BASIC_CHARS))
_EXTENSION = "".join(sorted(EXTENSION_CHARS))
_FOREIGN = "õšžçЖя牙\u00a0\t\x1b’–…\u200b\u200d\ufe0f"
_ASTRAL = "\U0001f600\U0001f44d\U0001f3fd\U0001f1ea\U00020000"

# Texts around the part boundaries, heavy in two-unit characters so that they land on boundaries.
_GSM_ALPHABET = st.one_of(st.sampled_from(_BASIC), st.sampled_from(_EXTENSION))
_UCS_ALPHABET = st.one_of(
    st.sampled_from(_BASIC), st.sampled_from(_EXTENSION), st.sampled_from(_FOREIGN), st.sampled_from(_ASTRAL)
)
texts = st.one_of(
    st.text(alphabet=_GSM_ALPHABET, max_size=40),
    st.text(alphabet=_GSM_ALPHABET, min_size=140, max_size=480),
    st.text(alphabet=_UCS_ALPHABET, max_size=40),
    st.text(alphabet=_UCS_ALPHABET, min_size=60, max_size=240),
    st.text(max_size=300),  # every Unicode character except lone surrogates
)
PROPERTY = settings(max_examples=1000, deadline=None)


@PROPERTY
@given(texts)
def test_parts_join_to_the_text_and_fit_their_limit(text: str) -> None:
    result = segment(text)
    assert "".join(result.parts) == text
    assert result.encoding == encoding_of(text)
    assert result.units == units_of(text, result.encoding)
    assert result.part_units == tuple(units_of(part, result.encoding) for part in result.parts)
    assert all(units <= result.part_limit for units in result.part_units)
    assert result.units_left == result.part_limit - result.part_units[-1] >= 0
    assert all(result.parts) or result.parts == ("",)


@PROPERTY
@given(texts)
def test_number_of_parts_is_minimal(text: str) -> None:
    result = segment(text)
    assert len(result.parts) == minimal_parts(text, result.encoding)


@PROPERTY
@given(texts)
def test_measure_agrees_with_segment(text: str) -> None:
    result = segment(text)
    assert measure(text) == (result.encoding, result.units, len(result.parts))


@PROPERTY
@given(texts)
def test_parts_round_trip_through_their_payload(text: str) -> None:
    result = segment(text)
    for part in result.parts:
        payload = encode_part(part, result.encoding)
        if result.encoding == "GSM-7":
            assert len(payload) == units_of(part, "GSM-7")
            assert decode_gsm7(payload) == part
        else:
            assert payload.decode("utf-16-be") == part


@PROPERTY
@given(texts)
def test_forcing_lists_exactly_the_characters_outside_gsm7(text: str) -> None:
    result = segment(text)
    outside = tuple((i, c) for i, c in enumerate(text) if c not in BASIC_CHARS | EXTENSION_CHARS)
    assert result.forcing == (outside if result.encoding == "UCS-2" else ())


@PROPERTY
@given(texts)
def test_suggestion_keeps_letters_and_never_costs_parts(text: str) -> None:
    result = suggest(text)
    assert result.parts_saved >= 0
    assert result.original == segment(text)
    assert result.suggested == segment(result.text)

    def letters(value: str) -> list[str]:
        return [c for c in value if unicodedata.category(c)[0] in "LMN" and c not in "\ufe0e\ufe0f"]

    assert letters(result.text) == letters(text)
    for change in result.replacements:
        assert text[change.position] == change.original
