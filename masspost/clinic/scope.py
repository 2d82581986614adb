"""Which clinics an actor may reach, and what their role lets them do. Every query that touches patients goes
through a Scope; every service that sends, controls or administers asks it first (`require`)."""

from __future__ import annotations

import enum
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    actor: str  # who acts: a user name, or "cli" for the operator at the command line
    clinic_ids: frozenset[int] | None  # None: every clinic (the operator)
    role: Role = Role.ADMIN
    address: str = ""  # the client's address, for the audit log; "" at the command line
    via: str = ""  # how they act when it is not the web UI or the CLI: "api:TOKEN NAME" for the REST API

    @classmethod
    def operator(cls) -> Scope:
        return cls(actor="cli", clinic_ids=None)

    def clinics(self) -> QuerySet[Clinic]:
        qs = Clinic.objects.all()
        return qs if self.clinic_ids is None else qs.filter(id__in=self.clinic_ids)

    def may(self, needed: Role) -> bool:
        return self.role.allows(needed)

    def require(self, needed: Role) -> None:
        if not self.may(needed):
            raise PermissionDeniedError(f"a {self.role.value} may not do this: it needs the {needed.value} role")
