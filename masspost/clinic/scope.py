"""Which clinics an actor may reach. Every query that touches patients goes through a Scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from masspost.clinic.models import Clinic


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    actor: str  # who acts: a user name, or "cli" for the operator at the command line
    clinic_ids: frozenset[int] | None  # None: every clinic (the operator)

    @classmethod
    def operator(cls) -> Scope:
        return cls(actor="cli", clinic_ids=None)

    def clinics(self) -> QuerySet[Clinic]:
        qs = Clinic.objects.all()
        return qs if self.clinic_ids is None else qs.filter(id__in=self.clinic_ids)
