"""The SMS text engine: GSM-7 / UCS-2 choice, units, parts, payloads and look-alike suggestions.

Pure Python, stdlib only, no Django: the preview, the CLI, the API, the UI counter and the SMPP gateway
all count and build SMS through this package. The rules are explained in docs/sms.md.
"""

from masspost.sms.alphabet import (
    BASIC_CHARACTERS,
    BASIC_TABLE,
    EXTENSION_CHARACTERS,
    EXTENSION_TABLE,
    GSM7_CHARACTERS,
    is_gsm7,
)
from masspost.sms.codec import DATA_CODING, encode_part
from masspost.sms.reasons import Ucs2Reasons, ucs2_reasons
from masspost.sms.segment import (
    GSM7,
    GSM7_MULTI_PART,
    GSM7_SINGLE_PART,
    MULTI_PART_LIMIT,
    SINGLE_PART_LIMIT,
    UCS2,
    UCS2_MULTI_PART,
    UCS2_SINGLE_PART,
    Encoding,
    Segmentation,
    measure,
    segment,
)
from masspost.sms.suggest import LOOKALIKES, Replacement, Suggestion, suggest

__all__ = [
    "BASIC_CHARACTERS",
    "BASIC_TABLE",
    "DATA_CODING",
    "EXTENSION_CHARACTERS",
    "EXTENSION_TABLE",
    "GSM7",
    "GSM7_CHARACTERS",
    "GSM7_MULTI_PART",
    "GSM7_SINGLE_PART",
    "LOOKALIKES",
    "MULTI_PART_LIMIT",
    "SINGLE_PART_LIMIT",
    "UCS2",
    "UCS2_MULTI_PART",
    "UCS2_SINGLE_PART",
    "Encoding",
    "Replacement",
    "Segmentation",
    "Suggestion",
    "Ucs2Reasons",
    "encode_part",
    "is_gsm7",
    "measure",
    "segment",
    "suggest",
    "ucs2_reasons",
]
