"""Table-driven tests of encoding choice, units and parts at every boundary."""

import pytest

from masspost.sms import GSM7, UCS2, measure, segment

A = "a"
O_TILDE = "õ"  # forces UCS-2 and costs one unit, like "a"
EURO = "€"  # extension table: two septets
GRIN = "\U0001f600"  # outside the BMP: two UTF-16 units


def gsm(length: int) -> str:
    return A * length


def ucs(length: int) -> str:
    return O_TILDE + A * (length - 1)


# (length, parts, units_left) for plain one-unit characters; lengths around every boundary.
GSM_BOUNDARIES = [
    (0, 1, 160),
    (1, 1, 159),
    (70, 1, 90),
    (71, 1, 89),
    (134, 1, 26),
    (135, 1, 25),
    (153, 1, 7),
    (154, 1, 6),
    (160, 1, 0),
    (161, 2, 145),
    (306, 2, 0),
    (307, 3, 152),
    (459, 3, 0),
    (460, 4, 152),
]
UCS_BOUNDARIES = [
    (1, 1, 69),
    (70, 1, 0),
    (71, 2, 63),
    (134, 2, 0),
    (135, 3, 66),
    (153, 3, 48),
    (154, 3, 47),
    (160, 3, 41),
    (161, 3, 40),
    (201, 3, 0),
    (202, 4, 66),
    (306, 5, 29),
    (307, 5, 28),
    (459, 7, 10),
    (460, 7, 9),
]


@pytest.mark.parametrize(("length", "parts", "units_left"), GSM_BOUNDARIES)
def test_gsm7_boundaries(length: int, parts: int, units_left: int) -> None:
    text = gsm(length)
    result = segment(text)
    assert (result.encoding, result.units, len(result.parts), result.units_left) == (
        GSM7,
        length,
        parts,
        units_left,
    )
    assert "".join(result.parts) == text
    assert measure(text) == (GSM7, length, parts)


@pytest.mark.parametrize(("length", "parts", "units_left"), UCS_BOUNDARIES)
def test_ucs2_boundaries(length: int, parts: int, units_left: int) -> None:
    text = ucs(length)
    result = segment(text)
    assert (result.encoding, result.units, len(result.parts), result.units_left) == (
        UCS2,
        length,
        parts,
        units_left,
    )
    assert measure(text) == (UCS2, length, parts)


def test_empty_text_is_one_gsm7_part_of_zero_units() -> None:
    result = segment("")
    assert (result.encoding, result.parts, result.part_units, result.units) == (GSM7, ("",), (0,), 0)
    assert result.forcing == ()
    assert measure("") == (GSM7, 0, 1)


def test_parts_of_a_long_gsm7_text_are_153_septets() -> None:
    assert segment(gsm(307)).part_units == (153, 153, 1)
    assert segment(gsm(161)).parts == (gsm(153), gsm(8))


def test_parts_of_a_long_ucs2_text_are_67_units() -> None:
    assert segment(ucs(135)).part_units == (67, 67, 1)


# (text, part_units): an escape pair or a surrogate pair that would straddle a boundary moves whole.
TWO_UNIT_AT_BOUNDARY = [
    # Euro at septets 152-153: fits the first part exactly.
    (gsm(151) + EURO + gsm(9), (153, 9)),
    # Euro at septets 153-154: moves to the second part.
    (gsm(152) + EURO + gsm(9), (152, 11)),
    # Euro at 305-306 fits the second part; at 306-307 it moves to the third.
    (gsm(304) + EURO + gsm(1), (153, 153, 1)),
    (gsm(305) + EURO + gsm(1), (153, 152, 3)),
    # 306 septets would fit two parts, but the straddling escape pair needs a third.
    (gsm(152) + EURO + gsm(152), (152, 153, 1)),
    # Exactly 160 septets with escapes stays one SMS; 161 does not.
    (EURO * 80, (160,)),
    (EURO * 80 + A, (152, 9)),
    # Emoji at units 66-67 fits; at 67-68 it moves.
    (ucs(65) + GRIN + gsm(5), (67, 5)),
    (ucs(66) + GRIN + gsm(3), (66, 5)),
    # Emoji at units 133-134 fits the second part; at 134-135 it moves.
    (ucs(132) + GRIN + gsm(1), (67, 67, 1)),
    (ucs(133) + GRIN + gsm(1), (67, 66, 3)),
    # 134 units would fit two parts, but the straddling surrogate pair needs a third.
    (ucs(66) + GRIN + gsm(66), (66, 67, 1)),
    (GRIN * 35, (70,)),
    (GRIN * 35 + A, (66, 5)),
]


@pytest.mark.parametrize(("text", "part_units"), TWO_UNIT_AT_BOUNDARY)
def test_two_unit_characters_are_never_split(text: str, part_units: tuple[int, ...]) -> None:
    result = segment(text)
    assert result.part_units == part_units
    assert "".join(result.parts) == text
    assert measure(text) == (result.encoding, sum(part_units), len(part_units))
    for part in result.parts:
        assert not part.startswith("\udc00")  # no half of a surrogate pair can exist in a str part


def test_escape_pair_at_boundary_starts_the_next_part() -> None:
    result = segment(gsm(152) + EURO + gsm(9))
    assert result.parts[1].startswith(EURO)
    assert result.units_left == 153 - 11


# (text, encoding, units, forcing)
CHARACTERS = [
    ("\x1b", UCS2, 1, ((0, "\x1b"),)),
    ("a\tb", UCS2, 3, ((1, "\t"),)),
    ("12\u00a0000", UCS2, 6, ((2, "\u00a0"),)),
    ("Ça va", GSM7, 5, ()),
    ("ça va", UCS2, 5, ((0, "ç"),)),
    ("Tõnis", UCS2, 5, ((1, "õ"),)),
    ("šokolaad žürii", UCS2, 14, ((0, "š"), (9, "ž"))),
    ("Jürgen Öhlmann Ärzte Ü ä ö", GSM7, 26, ()),
    ("Здравствуйте", UCS2, 12, tuple(enumerate("Здравствуйте"))),
    ("牙科诊所", UCS2, 4, tuple(enumerate("牙科诊所"))),
    ("\U0001f44d\U0001f3fd", UCS2, 4, ((0, "\U0001f44d"), (1, "\U0001f3fd"))),  # thumbs up, skin tone
    # Family: man ZWJ woman ZWJ girl — three astral characters and two joiners.
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", UCS2, 8, tuple(enumerate("👨\u200d👩\u200d👧"))),
    ("\U0001f1ea\U0001f1ea", UCS2, 4, ((0, "\U0001f1ea"), (1, "\U0001f1ea"))),  # flag of Estonia
    ("1\ufe0f\u20e3", UCS2, 3, ((1, "\ufe0f"), (2, "\u20e3"))),  # keycap one
    ("{[~^|\\]}€\f", GSM7, 20, ()),
    ("ΔΦΓΛΩΠΨΣΘΞ", GSM7, 10, ()),
    ("Ελλάδα", UCS2, 6, tuple(enumerate("Ελλάδα"))),  # capital Ε looks Latin but is not GSM-7
    ("`", UCS2, 1, ((0, "`"),)),
    ("Hind 10 € ’", UCS2, 11, ((10, "’"),)),
]


@pytest.mark.parametrize(("text", "encoding", "units", "forcing"), CHARACTERS)
def test_characters(text: str, encoding: str, units: int, forcing: tuple[tuple[int, str], ...]) -> None:
    result = segment(text)
    assert (result.encoding, result.units, result.forcing) == (encoding, units, forcing)
    assert measure(text) == (encoding, units, 1)


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        segment("abc\ud800")
    with pytest.raises(ValueError, match="lone surrogate"):
        measure("\udfff")


def test_segmentation_is_frozen() -> None:
    result = segment("Tere")
    with pytest.raises(AttributeError):
        result.units = 3  # type: ignore[misc]


def test_part_limit() -> None:
    assert segment(gsm(160)).part_limit == 160
    assert segment(gsm(161)).part_limit == 153
    assert segment(ucs(70)).part_limit == 70
    assert segment(ucs(71)).part_limit == 67
