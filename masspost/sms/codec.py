"""Payloads for SMPP submit_sm: the bare short_message bytes of one part, without a UDH.

The gateway adds the UDH for concatenated messages itself and sets data_coding from `DATA_CODING`.
"""

import codecs
from typing import Final

from masspost.sms.alphabet import NOT_GSM7, SEPTETS
from masspost.sms.segment import GSM7, UCS2, Encoding

#: SMPP data_coding for each encoding: 0 = SMSC default alphabet (GSM 03.38), 8 = UCS-2 (UTF-16BE).
DATA_CODING: Final[dict[Encoding, int]] = {GSM7: 0, UCS2: 8}

_SEPTET_MAP: Final = {ord(char): septets for char, septets in SEPTETS.items()}


def encode_part(part: str, encoding: Encoding) -> bytes:
    """The payload of one part: unpacked septets (one byte each, ESC + code for the extension table)
    for GSM-7, UTF-16 big-endian (surrogate pairs for characters outside the BMP) for UCS-2.

    Raises ValueError when `part` cannot be carried in `encoding` or `encoding` is unknown.
    """
    if encoding == GSM7:
        bad = NOT_GSM7.search(part)
        if bad is not None:
            char = bad.group()
            raise ValueError(f"{char!r} (U+{ord(char):04X}) at position {bad.start()} is not GSM-7")
        encoded: bytes = codecs.charmap_encode(part, "strict", _SEPTET_MAP)[0]  # type: ignore[attr-defined]
        return encoded
    if encoding == UCS2:
        try:
            return part.encode("utf-16-be")
        except UnicodeEncodeError as error:
            raise ValueError(f"part has a lone surrogate at position {error.start}: not Unicode text") from None
    raise ValueError(f"unknown encoding {encoding!r}: expected {GSM7!r} or {UCS2!r}")
