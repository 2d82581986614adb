"""Counts in the command line's English: "1 patient", "2 patients", "12 messages" — never "1 patients"."""

from __future__ import annotations


def count(n: int, one: str, many: str | None = None) -> str:
    """`n` and the noun (or phrase) that agrees with it: `count(1, "patient")` is "1 patient", `count(2,
    "patient")` "2 patients"; `many` for a plural that is not the singular with an "s" ("1 recipient's subject
    is", "2 recipients' subjects are")."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def agree(n: int, one: str, many: str) -> str:
    """The word (a verb, an article) that agrees with `n`: `agree(n, "has", "have")`."""
    return one if n == 1 else many
