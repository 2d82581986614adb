"""`GET /audit`: the audit log of the UI's Logi page, for admins — who did what, when, from where, over what."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from masspost.api.auth import scope_of
from masspost.api.schemas import AuditOut, Problem, QueryText, QueryTime, page_of
from masspost.campaigns.audit import audit_events
from masspost.clinic.scope import ActorKind
from masspost.numbers import ID_MAX

router = Router(tags=["audit"])
PER_PAGE_MAX = 500


class AuditQuery(Schema):
    action: QueryText = Field("", max_length=50, description="one action: send, pause, import, export, sign-in, …")
    actor: QueryText = Field("", max_length=150, description="one user's rows, by the user's name (as it is now)")
    actor_id: int | None = Field(None, ge=1, le=ID_MAX, description="one user's rows, by the user's id")
    actor_kind: Literal["", "user", "cli", "visitor"] = Field(
        "", description="only a member of staff's rows (user), the command line's (cli: for an admin of every "
                        "clinic) or those of someone not signed in (visitor: failed sign-ins)")
    since: QueryTime | None = Field(None, description="from this time on (UTC when no offset is given)",
                                   examples=["2026-12-01T08:00:00+02:00"])
    until: QueryTime | None = Field(None, description="before this time (UTC when no offset is given)",
                                   examples=["2026-12-31T23:59:59Z"])
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(100, ge=1, le=PER_PAGE_MAX)


@router.get("/audit", response={200: AuditOut, 403: Problem}, summary="The audit log, newest first")
def audit(request: HttpRequest, query: Query[AuditQuery]) -> Any:
    """Admins only. An admin of some clinics sees what the staff they manage did; an admin of every clinic sees
    everything. Ids and counts only, never patient data."""
    events = audit_events(scope=scope_of(request), action=query.action, actor=query.actor, actor_id=query.actor_id,
                          actor_kind=ActorKind(query.actor_kind) if query.actor_kind else None,
                          since=query.since, until=query.until)
    count = events.count()
    start = (query.page - 1) * query.per_page
    items = [{"id": e.id, "at": e.at, "actor": e.actor, "actor_kind": e.actor_kind, "actor_id": e.actor_user_id,
              "action": e.action, "campaign": e.campaign_id,
              "detail": e.detail if isinstance(e.detail, dict) else {"value": e.detail}, "address": e.address,
              "via": e.via.removeprefix("api:")} for e in events[start:start + query.per_page]]
    return page_of(items, page=query.page, per_page=query.per_page, count=count)
