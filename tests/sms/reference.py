"""An independent reference for the tests: 3GPP TS 23.038 tables typed from the specification as code
points, a GSM-7 decoder, unit counting and a minimal-parts search. Shares no code with masspost.sms."""

# Basic table, septet -> code point (None at 0x1B: the escape code is not a character).
BASIC: dict[int, int | None] = {
    0x00: 0x0040, 0x01: 0x00A3, 0x02: 0x0024, 0x03: 0x00A5, 0x04: 0x00E8, 0x05: 0x00E9, 0x06: 0x00F9,
    0x07: 0x00EC, 0x08: 0x00F2, 0x09: 0x00C7, 0x0A: 0x000A, 0x0B: 0x00D8, 0x0C: 0x00F8, 0x0D: 0x000D,
    0x0E: 0x00C5, 0x0F: 0x00E5, 0x10: 0x0394, 0x11: 0x005F, 0x12: 0x03A6, 0x13: 0x0393, 0x14: 0x039B,
    0x15: 0x03A9, 0x16: 0x03A0, 0x17: 0x03A8, 0x18: 0x03A3, 0x19: 0x0398, 0x1A: 0x039E, 0x1B: None,
    0x1C: 0x00C6, 0x1D: 0x00E6, 0x1E: 0x00DF, 0x1F: 0x00C9, 0x24: 0x00A4, 0x40: 0x00A1, 0x5B: 0x00C4,
    0x5C: 0x00D6, 0x5D: 0x00D1, 0x5E: 0x00DC, 0x5F: 0x00A7, 0x60: 0x00BF, 0x7B: 0x00E4, 0x7C: 0x00F6,
    0x7D: 0x00F1, 0x7E: 0x00FC, 0x7F: 0x00E0,
}  # fmt: skip
# The rest of 0x20-0x7F is ASCII at the same value.
for _septet in range(0x20, 0x80):
    BASIC.setdefault(_septet, _septet)
EXTENSION: dict[int, int] = {
    0x0A: 0x000C, 0x14: 0x005E, 0x28: 0x007B, 0x29: 0x007D, 0x2F: 0x005C,
    0x3C: 0x005B, 0x3D: 0x007E, 0x3E: 0x005D, 0x40: 0x007C, 0x65: 0x20AC,
}  # fmt: skip

BASIC_CHARS = frozenset(chr(code) for code in BASIC.values() if code is not None)
EXTENSION_CHARS = frozenset(chr(code) for code in EXTENSION.values())
GSM_CHARS = BASIC_CHARS | EXTENSION_CHARS
ESC = 0x1B


def decode_gsm7(payload: bytes) -> str:
    """Unpacked septets (one per byte) back to text; ESC + code reads the extension table."""
    chars: list[str] = []
    escaped = False
    for octet in payload:
        assert octet < 0x80, f"not a septet: {octet:#x}"
        if escaped:
            chars.append(chr(EXTENSION[octet]))
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            code = BASIC[octet]
            assert code is not None
            chars.append(chr(code))
    assert not escaped, "dangling escape code"
    return "".join(chars)


def encoding_of(text: str) -> str:
    return "GSM-7" if all(char in GSM_CHARS for char in text) else "UCS-2"


def weight(char: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if char in EXTENSION_CHARS else 1
    return 2 if ord(char) > 0xFFFF else 1


def units_of(text: str, encoding: str) -> int:
    return sum(weight(char, encoding) for char in text)


def minimal_parts(text: str, encoding: str) -> int:
    """Fewest parts with no character split, by dynamic programming over every cut (not greedy)."""
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    if units_of(text, encoding) <= single:
        return 1
    weights = [weight(char, encoding) for char in text]
    infinity = len(text) + 1
    fewest = [0] + [infinity] * len(text)
    for end in range(1, len(text) + 1):
        size = 0
        for start in range(end - 1, -1, -1):
            size += weights[start]
            if size > multi:
                break
            fewest[end] = min(fewest[end], fewest[start] + 1)
    return fewest[len(text)]
