"""The audit log: who did what, when (UTC), how many, from which address. Append-only — rows are only ever
added, here; never a message body, a patient's name or contact (ids and counts only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.db.models import QuerySet

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope

# Every action written, for the log's filter (docs/ui.md, "Audit log").
ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "preview", "campaign_send", "campaign_pause", "campaign_resume",
    "campaign_cancel", "campaign_resend_unknown", "export", "user_add", "user_disable", "user_change",
    "demo.generate", "demo.reset", "import", "token_create", "token_revoke", "consent_record",
)


def audit_record(*, action: str, scope: Scope | None = None, actor: str = "", address: str = "",
                 campaign: Campaign | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    """One row. The actor and address come from the scope when there is one (a signed-in user, the CLI)."""
    via = ""
    if scope is not None:
        actor, address, via = scope.actor, scope.address, scope.via
    return AuditEvent.objects.create(actor=actor, action=action, campaign=campaign, detail=detail or {},
                                     address=address, via=via)


def audit_events(*, scope: Scope, action: str = "", actor: str = "", since: dt.datetime | None = None,
                 until: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    """Newest first, for admins only (PermissionDeniedError otherwise). An admin of some clinics sees what the
    staff they manage did (staff all of whose clinics they reach, as on the staff page); an admin of every clinic,
    like the operator, sees all (the command line's and failed sign-ins under unknown names too)."""
    scope.require(Role.ADMIN)
    qs = AuditEvent.objects.order_by("-at", "-id")
    if scope.clinic_ids is not None and Clinic.objects.exclude(id__in=scope.clinic_ids).exists():
        qs = qs.filter(actor__in=_managed_actors(scope))
    if action:
        qs = qs.filter(action=action)
    if actor:
        qs = qs.filter(actor=actor)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs


def _managed_actors(scope: Scope) -> list[str]:
    assert scope.clinic_ids is not None
    members = apps.get_model("staff", "StaffMember").objects.select_related("user").prefetch_related("clinics")
    return [m.user.get_username() for m in members if {c.id for c in m.clinics.all()} <= scope.clinic_ids]
