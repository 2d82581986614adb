"""Logi (the audit log), for admins: the newest first, a hundred a page, filtered by action, who and dates.

Each action by its name and its details as a sentence in the user's language (web.audit_words); times and the
date filter in local time (web.timezone: "from 07.12.2026" is from local midnight). The log holds ids and counts
only (campaigns.audit), so showing every detail shows no patient data. "Who" is chosen among the staff the admin
manages, and the command line for an admin of every clinic: its value is COMMAND_LINE_LABEL, which no user name
can be (staff.names)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from masspost.campaigns.audit import audit_actors, audit_events, audit_sees_all
from masspost.campaigns.models import AuditEvent
from masspost.clinic.scope import COMMAND_LINE_LABEL, ActorKind, Role
from masspost.web.access import StaffRequest, staff
from masspost.web.audit_words import Known, action_name, known_for, sentence
from masspost.web.forms_campaigns import AuditFilter
from masspost.web.timezone import local_day_start

PER_PAGE = 100


def _entry(event: AuditEvent, known: Known) -> dict[str, Any]:
    return {"at": event.at, "actor": event.actor, "command_line": event.actor_kind == ActorKind.COMMAND_LINE,
            "action": event.action, "action_name": action_name(event.action), "detail": sentence(event, known),
            "address": event.address, "via": event.via.removeprefix("api:")}


@staff(Role.ADMIN)
@require_GET
def audit_log(request: StaffRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    sees_all = audit_sees_all(scope=request.scope)
    form.fields["actor"].widget.choices = [  # type: ignore[attr-defined]
        ("", _("all")), *([(COMMAND_LINE_LABEL, _("command line"))] if sees_all else []),
        *((a.name, a.name) for a in audit_actors(scope=request.scope))]
    values = form.values()
    since = local_day_start(values["since"]) if values["since"] else None
    until = local_day_start(values["until"] + dt.timedelta(days=1)) if values["until"] else None
    command_line = values["actor"] == COMMAND_LINE_LABEL
    events = audit_events(scope=request.scope, action=values["action"], actor="" if command_line else values["actor"],
                          actor_kind=ActorKind.COMMAND_LINE if command_line else None, since=since, until=until)
    page = Paginator(events, PER_PAGE).get_page(values["page"])
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and k in form.fields and v})
    known = known_for(page.object_list)
    return render(request, "web/audit.html", {"nav": "audit", "filter": form, "page": page, "query": query,
                                              "entries": [_entry(e, known) for e in page.object_list]})
