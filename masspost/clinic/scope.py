"""Which clinics an actor may reach, and what their role lets them do. Every query that touches patients goes
through a Scope; every service that sends, controls or administers asks it first (`require`)."""

from __future__ import annotations

import enum
import getpass
from dataclasses import dataclass

from django.db.models import QuerySet

from masspost.clinic.models import Clinic
from masspost.errors import PermissionDeniedError


class Role(enum.StrEnum):
    """What a member of staff may do, each role all that the one before it may (docs/ui.md, "Roles")."""

    PREPARER = "preparer"  # filter, compose, preview
    SENDER = "sender"  # also send, pause, resume, cancel, resend-unknown
    ADMIN = "admin"  # also users and the audit log

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class ActorKind(enum.StrEnum):
    """Who acted, in the audit log (docs/ui.md, "Audit log"): never told apart by a name alone."""

    USER = "user"  # a member of staff, by user id (the web UI, or an API token of theirs)
    COMMAND_LINE = "cli"  # the operator at the command line: reaches every clinic
    VISITOR = "visitor"  # someone not signed in (a failed sign-in, under the name they typed)


# How the command line is named where a name is shown (a campaign's author, a token's maker): with a space and
# parentheses, which no user name may have (staff.names), so no member of staff can ever be taken for it.
COMMAND_LINE_LABEL = "command line"


OS_USER_MAX = 32  # as long as a Linux user name can be (useradd)


def os_user() -> str:
    """The operating-system user running the command, when it can be told ("" otherwise). getpass reads $USER or
    $LOGNAME first, which may hold anything: only its printable characters are kept, at most OS_USER_MAX of them —
    it is written into the audit log and shown as "command line (…)", one line in a bounded column."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""
    return "".join(c for c in name if c.isprintable()).strip()[:OS_USER_MAX]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    actor: str  # who acts, by name: the user's name (as it is now), or the OS user at the command line ("" unknown)
    clinic_ids: frozenset[int] | None  # None: every clinic (the operator)
    role: Role = Role.ADMIN
    address: str = ""  # the client's address, for the audit log; "" at the command line
    via: str = ""  # how they act when it is not the web UI or the CLI: "api:TOKEN NAME" for the REST API
    user_id: int | None = None  # the member of staff acting (the audit log keys on it); None at the command line
    kind: ActorKind = ActorKind.USER

    @classmethod
    def operator(cls) -> Scope:
        return cls(actor=os_user(), clinic_ids=None, kind=ActorKind.COMMAND_LINE)

    @property
    def who(self) -> str:
        """The actor as a name to show that cannot be mistaken: a user's name, or "command line (root)"."""
        if self.kind is ActorKind.COMMAND_LINE:
            return f"{COMMAND_LINE_LABEL} ({self.actor})" if self.actor else COMMAND_LINE_LABEL
        return self.actor

    @property
    def actor_key(self) -> str:
        """The actor as a key that no two actors share: "user:12" (by id, whatever the name), or "cli"."""
        if self.kind is ActorKind.COMMAND_LINE:
            return "cli"
        return f"user:{self.user_id}" if self.user_id is not None else f"name:{self.actor}"

    def clinics(self) -> QuerySet[Clinic]:
        qs = Clinic.objects.all()
        return qs if self.clinic_ids is None else qs.filter(id__in=self.clinic_ids)

    def may(self, needed: Role) -> bool:
        return self.role.allows(needed)

    def require(self, needed: Role) -> None:
        if not self.may(needed):
            raise PermissionDeniedError(f"a {self.role.value} may not do this: it needs the {needed.value} role")
