"""User names (docs/ui.md, "Staff"): the one rule every place that makes a user applies — `masspost user add`,
the staff page, and Django's own commands (createsuperuser), through the user model's field (staff.apps).

Django's rule (NFKC, then letters, digits and @ . + - _ only: no slash, space, line break, control or
direction mark), and the letters of one alphabet: "аdminB" with a Cyrillic "а" is refused, so a name cannot pass
for another in a list or in the audit log. Jüri and Мария are names; Jüri-Мария is not. (Two names in one
alphabet can still look alike — "Admin" and "admin" are the same name here, `username_taken` says so.)

A name is shown safely wherever it is printed (`printable`): a name stored before this rule may hold anything."""

from __future__ import annotations

import enum
import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

NAME_MAX = 150


class NameProblem(enum.StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    INVISIBLE = "invisible"
    CHARACTERS = "characters"
    MIXED = "mixed"


# What the command line and the API say (the web UI says it in the user's language: web.views.users).
MESSAGES = {
    NameProblem.EMPTY: "a user needs a name",
    NameProblem.TOO_LONG: f"a user name has at most {NAME_MAX} characters",
    NameProblem.INVISIBLE: "a user name cannot hold a line break, a control character or an invisible mark "
                           "(such as a direction mark)",
    NameProblem.CHARACTERS: "a user name may hold only letters, digits and @ . + - _ (no spaces or slashes)",
    NameProblem.MIXED: "a user name must not mix alphabets (such as Latin and Cyrillic letters that look alike)",
}


def username_normal(value: str) -> str:
    """As Django stores it (AbstractBaseUser.normalize_username): NFKC, so look-alike forms become one."""
    return unicodedata.normalize("NFKC", value)


def username_problem(value: str) -> NameProblem | None:
    """What is wrong with `value` (already normalised) as a new user name, or None."""
    if not value:
        return NameProblem.EMPTY
    if len(value) > NAME_MAX:
        return NameProblem.TOO_LONG
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in value):
        return NameProblem.INVISIBLE  # Cc, Cf (direction marks, zero widths), Zl/Zp, odd spaces
    try:
        UnicodeUsernameValidator()(value)
    except ValidationError:
        return NameProblem.CHARACTERS
    if len({_alphabet(c) for c in value if c.isalpha()}) > 1:
        return NameProblem.MIXED
    return None


def _alphabet(letter: str) -> str:
    # The first word of a letter's Unicode name is its script: LATIN, CYRILLIC, GREEK, ARABIC, HANGUL, CJK, …
    return unicodedata.name(letter, "?").split(" ", 1)[0]


def username_taken(value: str) -> str | None:
    """The existing name `value` would be confused with (the same but for case), or None."""
    return get_user_model()._default_manager.filter(username__iexact=value).values_list(
        "username", flat=True).first()


def validate_username(value: str) -> None:
    """The rule as a Django validator, on the user model's field: Django's own commands apply it too."""
    if (problem := username_problem(username_normal(value))) is not None:
        raise ValidationError(MESSAGES[problem], code=f"username_{problem.value}")


def printable(name: str) -> str:
    """A stored name as one line of plain text: control characters, line breaks and invisible marks as \\u escapes,
    so an odd name stored before the rule cannot forge a line or turn text around."""
    return "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else f"\\u{ord(c):04x}" for c in name)
