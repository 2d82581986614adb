"""The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038, section 6.2.1).

Everything here is data, built once at import: the tables, the sets derived from them and the
precompiled patterns that `segment.py` and `codec.py` use on hot paths. See docs/sms.md for the rules.
"""

import re
from typing import Final

#: Septet value that announces a character of the extension table. It is a code, not a character:
#: U+001B in a text is not GSM-7 (a phone would read it together with the septet that follows).
ESCAPE: Final = 0x1B

#: The basic table, indexed by septet value. Position 0x1B holds the escape code, not a character.
#: 0x09 is capital Ç (3GPP); some old documents show small ç there, which is wrong.
BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

#: The extension table: septet value after ESC -> character. Each costs two septets (ESC + value).
#: 0x0A is FORM FEED (a page break); 0x0D (CR2) and 0x1B (another extension) are not characters.
EXTENSION_TABLE: Final[dict[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

#: Characters of the basic table (one septet each).
BASIC_CHARACTERS: Final = frozenset(BASIC_TABLE) - {chr(ESCAPE)}
#: Characters of the extension table (two septets each).
EXTENSION_CHARACTERS: Final = frozenset(EXTENSION_TABLE.values())
#: Every character GSM-7 can carry.
GSM7_CHARACTERS: Final = BASIC_CHARACTERS | EXTENSION_CHARACTERS

#: Septets for each GSM-7 character, unpacked: one value, or ESC and a value for the extension table.
SEPTETS: Final[dict[str, bytes]] = {
    **{char: bytes([value]) for value, char in enumerate(BASIC_TABLE) if value != ESCAPE},
    **{char: bytes([ESCAPE, value]) for value, char in EXTENSION_TABLE.items()},
}


def _class_of(chars: frozenset[str]) -> str:
    return "[" + "".join(re.escape(char) for char in sorted(chars)) + "]"


#: First character outside the basic table (an extension character or a non-GSM one).
NOT_BASIC: Final = re.compile("[^" + _class_of(BASIC_CHARACTERS)[1:])
#: Any character GSM-7 cannot carry.
NOT_GSM7: Final = re.compile("[^" + _class_of(GSM7_CHARACTERS)[1:])
#: Any extension character.
EXTENSION: Final = re.compile(_class_of(EXTENSION_CHARACTERS))

#: ASCII bytes of the basic table; deleting them from an ASCII text leaves what needs a closer look.
BASIC_ASCII_BYTES: Final = bytes(sorted(ord(char) for char in BASIC_CHARACTERS if char.isascii()))
#: ASCII bytes of the extension table.
EXTENSION_ASCII_BYTES: Final = bytes(sorted(ord(char) for char in EXTENSION_CHARACTERS if char.isascii()))


def is_gsm7(char: str) -> bool:
    """Whether one character can be sent in GSM-7 (basic or extension table)."""
    return char in GSM7_CHARACTERS
