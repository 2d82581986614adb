"""Logi (the audit log), for admins: the newest first, a hundred a page, filtered by action, who and dates (UTC).

The log holds ids and counts only (campaigns.audit), so showing every detail shows no patient data."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from masspost.campaigns.audit import audit_events
from masspost.campaigns.models import AuditEvent
from masspost.clinic.scope import Role
from masspost.web.access import StaffRequest, staff
from masspost.web.forms_campaigns import AuditFilter

PER_PAGE = 100
DETAIL_VALUE_MAX = 40  # a preview token is long; its beginning is enough to tell two apart


def _detail(detail: Any) -> str:
    """{"messages": 12, "list": "messages"} → "list=messages messages=12"."""
    if not isinstance(detail, dict):
        return str(detail)
    pairs = []
    for key in sorted(detail):
        value = detail[key]
        text = "" if value is None else str(value)
        if len(text) > DETAIL_VALUE_MAX:
            text = text[:DETAIL_VALUE_MAX - 1] + "…"
        pairs.append(f"{key}={text}")
    return " ".join(pairs)


def _entry(event: AuditEvent) -> dict[str, Any]:
    return {"at": event.at, "actor": event.actor, "action": event.action, "campaign_id": event.campaign_id,
            "detail": _detail(event.detail), "address": event.address,
            "via": event.via.removeprefix("api:")}


@staff(Role.ADMIN)
@require_GET
def audit_log(request: StaffRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    values = form.values()
    since, until = form.period()
    events = audit_events(scope=request.scope, action=values["action"], actor=values["actor"], since=since,
                          until=until)
    page = Paginator(events, PER_PAGE).get_page(values["page"])
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and k in form.fields and v})
    return render(request, "web/audit.html", {"nav": "audit", "filter": form, "page": page, "query": query,
                                              "entries": [_entry(e) for e in page.object_list]})
