"""Payloads for SMPP: unpacked GSM-7 septets (data_coding 0) and UTF-16BE (data_coding 8)."""

import pytest

from masspost.sms import DATA_CODING, GSM7, UCS2, encode_part, segment
from tests.sms.reference import decode_gsm7


def test_gsm7_payload_is_unpacked_septets_with_escape_codes() -> None:
    assert encode_part("@£$ Ç€[x", GSM7) == b"\x00\x01\x02\x20\x09\x1b\x65\x1b\x3cx"


def test_gsm7_payload_round_trips() -> None:
    text = "Tere Jürgen! Visiit {kell} 14:30, hind 10€ [~^|\\] ΔΩ ¿¡ §\n\r\f"
    assert decode_gsm7(encode_part(text, GSM7)) == text


def test_ucs2_payload_is_utf16_big_endian_with_surrogate_pairs() -> None:
    assert encode_part("õ\U0001f600", UCS2) == b"\x00\xf5\xd8\x3d\xde\x00"


def test_empty_part() -> None:
    assert encode_part("", GSM7) == b""
    assert encode_part("", UCS2) == b""


@pytest.mark.parametrize("char", ["õ", "\x1b", "\t", "ç", "`", "\U0001f600"])
def test_gsm7_refuses_characters_outside_the_alphabet(char: str) -> None:
    with pytest.raises(ValueError, match=r"at position 2 is not GSM-7"):
        encode_part("ab" + char, GSM7)


def test_ucs2_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="lone surrogate at position 1"):
        encode_part("a\ud83d", UCS2)


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        encode_part("a", "latin-1")  # type: ignore[arg-type]


def test_data_coding() -> None:
    assert DATA_CODING == {GSM7: 0, UCS2: 8}


def test_parts_encode_to_their_unit_counts() -> None:
    result = segment("a" * 152 + "€" * 10)
    assert [len(encode_part(part, result.encoding)) for part in result.parts] == list(result.part_units)
    result = segment("õ" * 60 + "\U0001f600" * 10)
    assert [len(encode_part(part, result.encoding)) // 2 for part in result.parts] == list(result.part_units)
