"""Whole numbers from text a client wrote — an id, a page, a cursor — read by one rule for the web UI
(web.query) and the REST API (api.*): the digits 0-9 only ("²" and "１" are digits to str.isdigit, not to a
database), and no larger than what the database's integers hold. No Django here: both interfaces use it."""

from __future__ import annotations

import re

ID_MAX = 2**62  # the largest id the web UI and the API take: the database's integers reach 2**63 - 1
DIGITS = re.compile(r"[0-9]+")


def at_most(text: str, high: int) -> int | None:
    """The number `text` writes with the digits 0-9, when it is at most `high`; None when it is not written so
    or is larger. Never an int() of a thousand digits."""
    significant = text.lstrip("0")
    if not DIGITS.fullmatch(text) or len(significant) > len(str(high)):
        return None
    value = int(significant or "0")
    return value if value <= high else None
