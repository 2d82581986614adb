"""The header rule (masspost.content.header): what a subject may hold, and the position of what it may not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masspost.content.header import header_problem


@pytest.mark.parametrize(("value", "problem"), [
    ("Tere {first_name}, aeg on homme", None),
    ("Здравствуйте! Ваш визит 12.03 — 10:00 ✓", None),
    ("Tere\r\nBcc: all@example.com", (5, "line break")),
    ("Line one\nline two", (9, "line break")),
    ("Tere\u2028homme", (5, "line break")),
    ("Tere\x85homme", (5, "line break")),  # NEL
    ("Tab\there", (4, "control character U+0009")),
    ("NUL\x00", (4, "control character U+0000")),
    ("DEL\x7f", (4, "control character U+007F")),
    ("C1\x9b", (3, "control character U+009B")),
])
def test_what_a_header_may_hold(value: str, problem: tuple[int, str] | None) -> None:
    assert header_problem(value) == problem


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp", "Cs"))))
def test_printable_text_is_a_header(value: str) -> None:
    assert header_problem(value) is None


@given(st.text(), st.sampled_from("\r\n\x00\x1b\u2028"), st.text())
def test_the_first_bad_character_is_named_at_its_position(before: str, bad: str, after: str) -> None:
    problem = header_problem(before + bad + after)
    assert problem is not None and problem[0] <= len(before) + 1
