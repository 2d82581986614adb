"""The staff roles as a receptionist reads them, in the header and the staff page's lists: "saatja", not
"sender". The stored values (preparer, sender, admin) stay those of masspost.clinic.scope.Role; only the words
shown change. The form that gives a role names it the same way and says what it may do: role_described_choices."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from masspost.clinic.scope import Role

ROLE_NAMES: dict[Role, Promise] = {
    Role.PREPARER: pgettext_lazy("role", "preparer"),
    Role.SENDER: pgettext_lazy("role", "sender"),
    Role.ADMIN: pgettext_lazy("role", "administrator"),
}
# What each role may do, beyond the one before it: said after the role's name ("saatja: lisaks saadab, …").
ROLE_DUTIES: dict[Role, Promise] = {
    Role.PREPARER: _lazy("chooses the patients, writes the texts, looks at the preview"),
    Role.SENDER: _lazy("also sends, pauses and cancels"),
    Role.ADMIN: _lazy("also manages staff and reads the audit log"),
}


def role_name(role: Role | str) -> str:
    """"saatja" for Role.SENDER in Estonian; a value that is no role is shown as it is."""
    try:
        return str(ROLE_NAMES[Role(role)])
    except ValueError:
        return str(role)


def role_choices() -> list[tuple[str, str]]:
    """(value, name) for a select, lowest role first, in the active language."""
    return [(role.value, str(ROLE_NAMES[role])) for role in Role]


def role_described_choices() -> list[tuple[str, Promise]]:
    """(value, "sender: also sends, pauses and cancels") for the form that gives a role, lowest role first; lazy,
    so a form made at import time speaks each request's language."""
    return [(role.value, format_lazy("{}: {}", ROLE_NAMES[role], ROLE_DUTIES[role])) for role in Role]
