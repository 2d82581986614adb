"""Counts in masspost's English (the command line, the API's and the services' messages): "1 patient", "2
patients", "12 messages" — never "1 patients". Free of Django: campaigns, clinic and the CLI all use it."""

from __future__ import annotations


def count(n: int, one: str, many: str | None = None, *, grouped: bool = False) -> str:
    """`n` and the noun (or phrase) that agrees with it: `count(1, "patient")` is "1 patient", `count(2,
    "patient")` "2 patients"; `many` for a plural that is not the singular with an "s" ("1 recipient's subject
    is", "2 recipients' subjects are"); `grouped`: thousands separated by commas ("1,000 patients")."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {one if n == 1 else many or one + 's'}"


def agree(n: int, one: str, many: str) -> str:
    """The word (a verb, an article) that agrees with `n`: `agree(n, "has", "have")`."""
    return one if n == 1 else many
