"""The staff roles as a receptionist reads them, in the header and the staff page's lists: "saatja", not
"sender". The stored values (preparer, sender, admin) stay those of masspost.clinic.scope.Role; only the words
shown change. (The form that gives a role says what each may do: web.views.users.ROLES.)"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from masspost.clinic.scope import Role

ROLE_NAMES: dict[Role, Promise] = {
    Role.PREPARER: pgettext_lazy("role", "preparer"),
    Role.SENDER: pgettext_lazy("role", "sender"),
    Role.ADMIN: pgettext_lazy("role", "administrator"),
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
