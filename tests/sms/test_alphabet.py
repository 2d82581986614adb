"""Every character of both GSM 03.38 tables, checked against the reference typed from 3GPP TS 23.038."""

import pytest

from masspost.sms import (
    BASIC_CHARACTERS,
    EXTENSION_CHARACTERS,
    GSM7,
    UCS2,
    encode_part,
    is_gsm7,
    measure,
    segment,
)
from tests.sms.reference import BASIC, ESC, EXTENSION

BASIC_ROWS = sorted((septet, chr(code)) for septet, code in BASIC.items() if code is not None)
EXTENSION_ROWS = sorted((septet, chr(code)) for septet, code in EXTENSION.items())


def test_tables_have_the_3gpp_sizes() -> None:
    assert len(BASIC_ROWS) == 127  # 128 septets, one of them the escape code
    assert len(EXTENSION_ROWS) == 10
    assert {char for _, char in BASIC_ROWS} == BASIC_CHARACTERS
    assert {char for _, char in EXTENSION_ROWS} == EXTENSION_CHARACTERS


@pytest.mark.parametrize(("septet", "char"), BASIC_ROWS, ids=[f"{s:02X}" for s, _ in BASIC_ROWS])
def test_basic_character(septet: int, char: str) -> None:
    assert is_gsm7(char)
    assert measure(char) == (GSM7, 1, 1)
    assert encode_part(char, GSM7) == bytes([septet])
    assert measure(char * 160) == (GSM7, 160, 1)
    assert measure(char * 161) == (GSM7, 161, 2)


@pytest.mark.parametrize(("septet", "char"), EXTENSION_ROWS, ids=[f"{s:02X}" for s, _ in EXTENSION_ROWS])
def test_extension_character(septet: int, char: str) -> None:
    assert is_gsm7(char)
    assert measure(char) == (GSM7, 2, 1)
    assert encode_part(char, GSM7) == bytes([ESC, septet])
    assert measure(char * 80) == (GSM7, 160, 1)
    assert segment(char * 81).part_units == (152, 10)


@pytest.mark.parametrize(
    "char",
    [
        "\x1b",
        "\t",
        "\x00",
        "\x7f",
        "\v",
        "`",
        "ç",
        "õ",
        "Õ",
        "š",
        "Š",
        "ž",
        "Ž",
        "\u00a0",
        "’",
        "–",
        "…",
        "Ж",
    ],
)
def test_not_gsm7(char: str) -> None:
    assert not is_gsm7(char)
    assert measure(char) == (UCS2, 1, 1)
    assert segment("Tere " + char).forcing == ((5, char),)


def test_every_bmp_character_outside_the_tables_forces_ucs2() -> None:
    gsm = {chr(code) for code in BASIC.values() if code is not None} | {chr(c) for c in EXTENSION.values()}
    wrong = [
        f"U+{code:04X}"
        for code in range(0x10000)
        if not 0xD800 <= code <= 0xDFFF and (measure(chr(code))[0] == GSM7) != (chr(code) in gsm)
    ]
    assert wrong == []
