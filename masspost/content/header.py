"""What an e-mail header value may hold (docs/campaign.md, "E-mail"): one rule for the campaign's subject at
preview (campaigns.spec) and for every header the SMTP gateway writes (delivery.gateways.smtp_message), so that a
subject the preview accepts is one the gateway sends.

A header is one line: a line break in it would end the header early — a message refused at the worker, or an
injected header. Other control characters (C0 including tab, DEL, C1) have no place in a subject either, and the
clinic import refuses them in every value the merge fields bring in (clinic.csvfile). Length is not a matter of
this rule: the gateway folds a long header, and the preview refuses a rendered subject longer than a header line
(campaigns.sweep).

A text of several lines — an SMS, an e-mail body — has the looser rule of `text_problem`: line breaks and tabs,
but no other C0 control character and no DEL (a NUL cannot even be stored in PostgreSQL's text and JSON).
"""

from __future__ import annotations

import re

# Everything str.splitlines splits on, which is what a mail program may take for the end of a line.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 but tab, LF and CR; DEL


def header_problem(value: str) -> tuple[int, str] | None:
    """The first character that cannot be in a header, as (1-based position, what it is), e.g.
    (12, "line break"); None when the value can be a header as it is."""
    return _first(_UNSAFE, value, LINE_BREAKS)


def text_problem(value: str) -> tuple[int, str] | None:
    """The first character a text of several lines cannot hold (a control character other than a tab or a line
    break: LF, CR), as header_problem says it; None when there is none."""
    return _first(_UNSAFE_IN_TEXT, value, frozenset())  # a vertical tab is no line break a text may have


def _first(unsafe: re.Pattern[str], value: str, breaks: frozenset[str]) -> tuple[int, str] | None:
    found = unsafe.search(value)
    if found is None:
        return None
    char = found.group()
    what = "line break" if char in breaks else f"control character U+{ord(char):04X}"
    return found.start() + 1, what
