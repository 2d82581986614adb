"""The audit log: who did what, when (UTC), how many, from which address. Append-only — rows are only ever
added, here; never a message body, a patient's name or contact (ids and counts only).

Who acted is a kind and, for staff, a user id (docs/ui.md, "Audit log"): what an admin may read is decided by the
id, never by a name, so no member of staff can be named into someone else's trail — nor into the command line's."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.clinic.scope import ActorKind, Role, Scope
from masspost.staff.names import username_normal, username_problem

ACTOR_MAX = AuditEvent._meta.get_field("actor").max_length or 150

# Every action written, for the log's filter (docs/ui.md, "Audit log").
ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "preview", "campaign_send", "campaign_pause", "campaign_resume",
    "campaign_cancel", "campaign_resend_unknown", "campaign_reschedule", "campaign_approve", "campaign_reject",
    "campaign_test_send", "export", "user_add", "user_disable", "user_change", "staff_contact", "clinic_settings",
    "demo.generate", "demo.reset", "import", "token_create", "token_revoke",
)


def audit_record(*, action: str, scope: Scope | None = None, user: Any = None, actor: str = "",
                 address: str = "", campaign: Campaign | None = None,
                 detail: dict[str, Any] | None = None) -> AuditEvent:
    """One row. Who acted comes from the scope when there is one (a signed-in user, a token, the command line);
    else from `user`, a Django user signing in or out; else `actor` is the name a visitor typed (a failed
    sign-in), tied to the account of that name if there is one (it concerns that account). A visitor's name is
    whatever they sent: it is stored cleaned (`visitor_name`), and looked up only when it is a name a user can have."""
    via = ""
    if scope is not None:
        kind, name, user_id = scope.kind, scope.actor, scope.user_id
        address, via = scope.address, scope.via
    elif user is not None:
        kind, name, user_id = ActorKind.USER, user.get_username(), user.pk
    else:
        kind, name, user_id = ActorKind.VISITOR, visitor_name(actor), None
        if name and username_problem(username_normal(name)) is None:
            user_id = get_user_model()._default_manager.filter(username=name).values_list("pk", flat=True).first()
    return AuditEvent.objects.create(actor=name, actor_kind=kind.value, actor_user_id=user_id, action=action,
                                     campaign=campaign, detail=detail or {}, address=address, via=via)


def visitor_name(typed: str) -> str:
    """The name a visitor typed as the log keeps it: without control or invisible characters (PostgreSQL refuses a
    NUL in text; a line break would forge a line where the log is printed), cut to the column's length."""
    kept = "".join(c for c in typed if unicodedata.category(c)[0] != "C")
    return kept[:ACTOR_MAX]


def audit_events(*, scope: Scope, action: str = "", actor: str = "", actor_id: int | None = None,
                 actor_kind: ActorKind | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    """Newest first, for admins only (PermissionDeniedError otherwise). An admin of some clinics sees what the
    staff they manage did (staff all of whose clinics they reach, as on the staff page), by user id; an admin of
    every clinic, like the operator, sees all (the command line's and failed sign-ins under unknown names too).

    Filters: `actor`, a user's name as it is now, and `actor_id` select that user's rows (a name that is nobody's
    selects none); `actor_kind` one kind's: ActorKind.COMMAND_LINE the command line's."""
    scope.require(Role.ADMIN)
    qs = AuditEvent.objects.order_by("-at", "-id")
    if not audit_sees_all(scope=scope):
        qs = qs.filter(actor_kind__in=[ActorKind.USER, ActorKind.VISITOR],
                       actor_user_id__in=_managed_user_ids(scope))
    if action:
        qs = qs.filter(action=action)
    if actor:
        found = get_user_model()._default_manager.filter(username=actor).values_list("pk", flat=True).first()
        qs = qs.filter(actor_user_id=found) if found is not None else qs.none()
    if actor_id is not None:
        qs = qs.filter(actor_user_id=actor_id)
    if actor_kind is not None:
        qs = qs.filter(actor_kind=actor_kind.value)
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return qs


def audit_sees_all(*, scope: Scope) -> bool:
    """An admin of every clinic (the operator too) reads the whole log, the command line's rows included."""
    return scope.may(Role.ADMIN) and (
        scope.clinic_ids is None or not Clinic.objects.exclude(id__in=scope.clinic_ids).exists())


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditActor:
    user_id: int
    name: str  # as it is now


def audit_actors(*, scope: Scope) -> list[AuditActor]:
    """The users an admin may filter the log by: the staff they manage (everyone's, for an admin of every clinic),
    by name. The command line is a choice only where `audit_sees_all`."""
    scope.require(Role.ADMIN)
    members = apps.get_model("staff", "StaffMember").objects.select_related("user")
    if not audit_sees_all(scope=scope):
        members = members.filter(user_id__in=_managed_user_ids(scope))
    return [AuditActor(user_id=m.user_id, name=m.user.get_username()) for m in members.order_by("user__username")]


def _managed_user_ids(scope: Scope) -> list[int]:
    """Staff all of whose clinics are within the admin's (disabled ones too: their past stays theirs to read)."""
    assert scope.clinic_ids is not None
    members = apps.get_model("staff", "StaffMember").objects.prefetch_related("clinics")
    return [m.user_id for m in members if {c.id for c in m.clinics.all()} <= scope.clinic_ids]
