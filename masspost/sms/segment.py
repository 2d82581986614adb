"""Encoding choice, unit counting and splitting of SMS text into parts.

The rules (3GPP TS 23.038 / 23.040) and their reasons are in docs/sms.md. Two entry points share one
classifier so they can never disagree: `measure` (hot path: the preview calls it for every recipient,
so it builds no part strings) and `segment` (the full value: parts, units per part, forcing characters).
"""

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Final, Literal

from masspost.sms.alphabet import (
    BASIC_ASCII_BYTES,
    EXTENSION,
    EXTENSION_ASCII_BYTES,
    NOT_BASIC,
    NOT_GSM7,
)

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Final[Encoding] = "GSM-7"
UCS2: Final[Encoding] = "UCS-2"

#: Septets in a message sent as one SMS, and in each part of a concatenated one: the 6-octet UDH
#: (concatenation, 8-bit reference) takes 48 bits, i.e. 7 septets after padding to a septet boundary.
GSM7_SINGLE_PART: Final = 160
GSM7_MULTI_PART: Final = 153
#: UTF-16 code units in one SMS (140 octets) and in each part of a concatenated one (134 octets).
UCS2_SINGLE_PART: Final = 70
UCS2_MULTI_PART: Final = 67

SINGLE_PART_LIMIT: Final[dict[Encoding, int]] = {GSM7: GSM7_SINGLE_PART, UCS2: UCS2_SINGLE_PART}
MULTI_PART_LIMIT: Final[dict[Encoding, int]] = {GSM7: GSM7_MULTI_PART, UCS2: UCS2_MULTI_PART}

#: Characters that cost two units: the extension table in GSM-7, characters outside the BMP in UCS-2.
_WIDE: Final[dict[Encoding, re.Pattern[str]]] = {GSM7: EXTENSION, UCS2: re.compile("[\U00010000-\U0010ffff]")}


@dataclass(frozen=True, kw_only=True, slots=True)
class Segmentation:
    """How a text goes out: its encoding and the parts a phone reassembles into it.

    `units` are septets for GSM-7 (an extension character counts two) and UTF-16 code units for UCS-2
    (a character outside the BMP, such as most emoji, counts two). `part_units[i]` is the size of
    `parts[i]`; `units_left` is what still fits in the last part without adding one.
    """

    text: str
    encoding: Encoding
    parts: tuple[str, ...]
    part_units: tuple[int, ...]
    units: int
    units_left: int

    @property
    def part_limit(self) -> int:
        """Units one part may hold: the single-SMS limit for one part, the concatenated limit otherwise."""
        if len(self.parts) == 1:
            return SINGLE_PART_LIMIT[self.encoding]
        return MULTI_PART_LIMIT[self.encoding]

    @property
    def forcing(self) -> tuple[tuple[int, str], ...]:
        """(position in `text`, character) for every character that forces UCS-2; empty for GSM-7.

        Computed on access: the preview segments a million texts and never looks at it.
        """
        if self.encoding == GSM7:
            return ()
        return tuple((found.start(), found.group()) for found in NOT_GSM7.finditer(self.text))


def measure(text: str) -> tuple[Encoding, int, int]:
    """(encoding, units, number of parts) of `text`, exactly as `segment` would say, but fast.

    Raises ValueError for a text holding a lone surrogate (not Unicode text; nothing can send it).
    """
    encoding, units = _classify(text)
    if units <= SINGLE_PART_LIMIT[encoding]:
        return encoding, units, 1
    per_part = MULTI_PART_LIMIT[encoding]
    fewest = -(-units // per_part)
    if units == len(text):
        # No two-unit character: every boundary falls between characters.
        return encoding, units, fewest
    # A two-unit character that would straddle a boundary moves whole to the next part, so every part
    # but the last holds at least per_part - 1 units. When that cannot add a part, no walk is needed.
    most = (units - 1) // (per_part - 1) + 1
    if most == fewest:
        return encoding, units, fewest
    return encoding, units, len(_split(text, encoding, units)[1])


def segment(text: str) -> Segmentation:
    """Split `text` into SMS parts: greedy fill, never splitting an escape pair or a surrogate pair.

    Empty text is one GSM-7 part of zero units. Raises ValueError for a lone surrogate.
    """
    encoding, units = _classify(text)
    parts, part_units = _split(text, encoding, units)
    limit = SINGLE_PART_LIMIT[encoding] if len(parts) == 1 else MULTI_PART_LIMIT[encoding]
    return Segmentation(
        text=text,
        encoding=encoding,
        parts=parts,
        part_units=part_units,
        units=units,
        units_left=limit - part_units[-1],
    )


def _classify(text: str) -> tuple[Encoding, int]:
    if text.isascii():
        # Most texts: deleting the basic-table bytes in C leaves only what needs a closer look.
        rest = text.encode("ascii").translate(None, BASIC_ASCII_BYTES)
        if not rest:
            return GSM7, len(text)
        if not rest.translate(None, EXTENSION_ASCII_BYTES):
            return GSM7, len(text) + len(rest)
        return UCS2, len(text)  # ` TAB ESC DEL and other controls; ASCII is all in the BMP
    found = NOT_BASIC.search(text)
    if found is None:
        return GSM7, len(text)
    start = found.start()
    if NOT_GSM7.search(text, start) is None:
        return GSM7, len(text) + len(EXTENSION.findall(text, start))
    return UCS2, _utf16_units(text)


def _utf16_units(text: str) -> int:
    try:
        return len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError as error:
        raise ValueError(f"text has a lone surrogate at position {error.start}: not Unicode text") from None


def _split(text: str, encoding: Encoding, units: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if units <= SINGLE_PART_LIMIT[encoding]:
        return (text,), (units,)
    per_part = MULTI_PART_LIMIT[encoding]
    length = len(text)
    if units == length:
        full = (length - 1) // per_part
        parts = tuple([text[start : start + per_part] for start in range(0, length, per_part)])
        return parts, (per_part,) * full + (length - full * per_part,)
    wide = [found.start() for found in _WIDE[encoding].finditer(text)]
    split_parts: list[str] = []
    split_units: list[int] = []
    start = 0
    first_wide = 0  # index in `wide` of the first two-unit character at or after `start`
    while start < length:
        # At most per_part characters fit; drop characters from the end until their units fit too.
        end = start + per_part
        if end >= length:
            end = length
        after = bisect_left(wide, end, first_wide)
        size = end - start + after - first_wide
        while size > per_part:
            end -= 1
            if after > first_wide and wide[after - 1] == end:
                after -= 1
                size -= 2
            else:
                size -= 1
        split_parts.append(text[start:end])
        split_units.append(size)
        start = end
        first_wide = after
    return tuple(split_parts), tuple(split_units)
