"""An SMS text described as data: what `masspost sms-info --json` prints and `POST /api/v1/sms/measure` answers
(docs/sms.md). One function, so the command line and the API cannot drift apart."""

from __future__ import annotations

import unicodedata
from typing import Any

from masspost.sms.segment import GSM7, Segmentation, segment
from masspost.sms.suggest import Suggestion, suggest

UNIT_NAMES = {GSM7: "septets"}


def unit_name(result: Segmentation) -> str:
    return UNIT_NAMES.get(result.encoding, "UTF-16 units")


def sms_report(text: str) -> dict[str, Any]:
    """Encoding, units, parts with their units, the part limit, every character that forces UCS-2 (with its
    position and Unicode name), and the cheaper text replacing look-alikes would give (None when it saves no
    part). ValueError for a text that cannot be an SMS (e.g. a lone surrogate)."""
    result = segment(text)
    return report_of(result, suggest(text))


def report_of(result: Segmentation, suggestion: Suggestion) -> dict[str, Any]:
    saves = suggestion.parts_saved > 0
    return {
        "encoding": result.encoding,
        "units": result.units,
        "unit": unit_name(result),
        "units_left": result.units_left,
        "part_limit": result.part_limit,
        "parts": [{"text": part, "units": units} for part, units in zip(result.parts, result.part_units, strict=True)],
        "forcing": [{"position": position, "character": char, "code": f"U+{ord(char):04X}",
                     "name": unicodedata.name(char, "control character")} for position, char in result.forcing],
        "suggestion": {
            "text": suggestion.text,
            "encoding": suggestion.suggested.encoding,
            "parts": len(suggestion.suggested.parts),
            "parts_saved": suggestion.parts_saved,
            "replacements": [
                {"position": change.position, "original": change.original, "replacement": change.replacement}
                for change in suggestion.replacements
            ],
        }
        if saves
        else None,
    }
