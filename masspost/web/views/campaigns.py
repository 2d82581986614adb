"""Kampaaniad (the campaigns) and one campaign's page: live progress while it sends, the controls, its messages
and their CSV.

Every campaign is fetched through campaign_get first, which makes another clinic's campaign a 404; the outbox
selectors then read by its id. The controls' services check the sender role themselves (403 otherwise)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from masspost.campaigns.controls import controls_applicable
from masspost.campaigns.detail import (
    Sample,
    campaign_last_sent,
    recipient_names,
    recipients_page,
    speed_per_minute,
    speed_samples,
    speed_start,
    time_left,
)
from masspost.campaigns.detail import campaign_detail as campaign_detail_of
from masspost.campaigns.downloads import campaign_messages_csv
from masspost.campaigns.listing import HANDED_OVER, PROBLEMS
from masspost.campaigns.listing import campaign_list as list_campaigns
from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import campaign_get, campaign_status
from masspost.campaigns.services import campaign_cancel, campaign_pause, campaign_resend_unknown, campaign_resume
from masspost.clinic.scope import Role
from masspost.clinic.selectors import sees_contacts
from masspost.delivery.models import PENDING
from masspost.web.access import StaffRequest, staff
from masspost.web.campaign_page import (
    audience_words,
    author_words,
    left_out_view,
    speed_words,
    statuses_view,
    texts_view,
    time_left_words,
)
from masspost.web.forms_campaigns import (
    CAMPAIGN_STATUSES,
    CHANNELS,
    MESSAGE_STATUSES,
    PURPOSES,
    CampaignsFilter,
    MessagesFilter,
)
from masspost.web.presenting import ui_language_name
from masspost.web.query import whole_number

PER_PAGE = 50
COUNT_MAX = 10**9  # ?n=: how many messages the control changed
CONTROLS: dict[str, Callable[..., int]] = {
    "pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel,
    "resend-unknown": campaign_resend_unknown,
}


def _render(request: StaffRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Times in the user's clinics' zone: masspost.web.timezone activates it for every request."""
    return render(request, template, context, status=status)


def _progress(status: dict[str, Any], samples: tuple[Sample, ...] = (), now: dt.datetime | None = None
              ) -> dict[str, Any]:
    """campaign_status's answer as the progress partial shows it: the statuses that have messages, and while it
    sends, the speed over the samples (campaigns.detail) and the time the waiting messages still take."""
    counts: dict[str, int] = status["messages"]
    sent = sum(counts[s] for s in HANDED_OVER)
    progress = {"status": status["status"], "status_label": CAMPAIGN_STATUSES.get(status["status"], status["status"]),
                "total": status["total"], "sent": sent, "problems": sum(counts[s] for s in PROBLEMS),
                "counts": counts, "per_status": statuses_view(counts), "pending": sum(counts[s] for s in PENDING),
                "problem_status": next((s for s in PROBLEMS if counts[s]), "")}
    if status["status"] == "sending":
        at = int((now or timezone.now()).timestamp())
        kept = speed_samples(samples, at=at, sent=sent)
        per_minute = speed_per_minute(kept, at=at, sent=sent)
        left = time_left(pending=progress["pending"], per_minute=per_minute)
        progress |= {"speed": speed_words(per_minute) if per_minute is not None else "",
                     "left": time_left_words(left) if left is not None else "",
                     "poll": urlencode({"polling": 1, "s": " ".join(f"{t}:{n}" for t, n in kept)})}
    return progress


def _samples(text: str) -> tuple[Sample, ...]:
    """The samples a poll brought back ("t:n t:n"); anything else is no sample (the speed is then worked out
    anew)."""
    samples = []
    for item in text.split()[:2]:
        t, _sep, n = item.partition(":")
        if not (t.isdigit() and n.isdigit() and len(t) <= 12 and len(n) <= 12):
            return ()
        samples.append((int(t), int(n)))
    return tuple(samples)


def _header(campaign: Campaign) -> dict[str, Any]:
    return {"id": campaign.id, "name": campaign.name,
            "author": author_words(campaign.created_by, campaign.created_by_user_id),
            "created_at": campaign.created_at, "deadline": campaign.deadline,
            "purpose": PURPOSES.get(campaign.purpose, campaign.purpose),
            "channel": CHANNELS.get(campaign.channel, campaign.channel)}


def _messages_context(request: StaffRequest, campaign_id: int, data: Any) -> dict[str, Any]:
    """One page of the recipients' messages, with the patients' names for a role that may see them
    (campaigns.detail.recipient_names) and each language by name."""
    form = MessagesFilter(data)
    values = form.values()
    page = recipients_page(scope=request.scope, campaign_id=campaign_id, status=values["status"], query=values["q"],
                           page=values["page"] or 1, per_page=PER_PAGE)
    query = {k: v for k, v in (("status", values["status"]), ("q", values["q"])) if v}
    names = recipient_names(scope=request.scope, message_ids=[r.id for r in page.rows])
    rows = [{"m": r, "label": MESSAGE_STATUSES.get(r.status, r.status), "name": names.get(r.id, ""),
             "language": ui_language_name(r.language) if r.language else ""} for r in page.rows]
    return {"filter": form, "page": page, "rows": rows, "query": urlencode(query), "filtered": bool(query),
            "sees_names": sees_contacts(request.scope)}


@staff()
@require_GET
def campaign_list(request: StaffRequest) -> HttpResponse:
    form = CampaignsFilter(request.GET)
    values = form.values()
    listed = list_campaigns(scope=request.scope,
                            statuses=frozenset({values["status"]}) if values["status"] else None)
    page = Paginator(listed, PER_PAGE).get_page(values["page"])
    rows = [{"c": c, "status_label": CAMPAIGN_STATUSES.get(c.status, c.status),
             "purpose": PURPOSES.get(c.purpose, c.purpose), "channel": CHANNELS.get(c.channel, c.channel),
             "author": author_words(c.author, None)}  # no user name has a space: "command line (…)" is the CLI
            for c in page.object_list]
    query = urlencode({"status": values["status"]}) if values["status"] else ""
    return _render(request, "web/campaigns.html", {"nav": "campaigns", "filter": form, "page": page, "rows": rows,
                                                   "query": query})


@staff()
@require_GET
def campaign_detail(request: StaffRequest, campaign_id: int) -> HttpResponse:
    """Header, progress, the controls that apply now (campaigns.controls: pause while messages wait, resume while
    paused, cancel while messages wait, resend-unknown while some are unknown), who it went to and who was left
    out, its texts, the messages."""
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    status = campaign_status(campaign_id=campaign.id, scope=request.scope)
    now = timezone.now()
    sent = sum(status["messages"][s] for s in HANDED_OVER)
    start = (speed_start(campaign_id=campaign.id, now=now, sent=sent, created_at=campaign.created_at)
             if status["status"] == "sending" else ())
    progress = _progress(status, start, now)
    detail = campaign_detail_of(campaign=campaign)
    done = request.GET.get("done", "")
    context = {"nav": "campaigns", "c": _header(campaign), "p": progress,
               "may_send": request.scope.may(Role.SENDER),
               "controls": controls_applicable(state=campaign.state, counts=progress["counts"]),
               "done": done if done in CONTROLS else "",
               "done_count": whole_number("n", request.GET.get("n", ""), low=0, high=COUNT_MAX),
               "audience": audience_words(detail.audience), "left_out": left_out_view(detail),
               "texts": texts_view(detail), "fallback_language": detail.fallback_language and
               ui_language_name(detail.fallback_language),
               "last_sent": campaign_last_sent(campaign_id=campaign.id) if progress["status"] == "done" else None}
    return _render(request, "web/campaign.html", context | _messages_context(request, campaign.id, request.GET))


@staff()
@require_GET
def campaign_progress(request: StaffRequest, campaign_id: int) -> HttpResponse:
    """Polled every 2 s while the campaign sends; the answer for any other status has no trigger, so the polling
    stops by itself (listmonk). When the status leaves "sending" under a poll, the page reloads once: its
    controls and messages are then those of the new status. Each poll brings back the samples the speed is
    measured over (`s`), so that it costs no query of its own."""
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    progress = _progress(campaign_status(campaign_id=campaign.id, scope=request.scope),
                         _samples(request.GET.get("s", "")))
    response = _render(request, "web/partials/progress.html",
                       {"c": {"id": campaign.id, "deadline": campaign.deadline}, "p": progress})
    if request.htmx and request.GET.get("polling") and progress["status"] != "sending":
        response["HX-Refresh"] = "true"
    return response


@staff()
@require_GET
def campaign_messages(request: StaffRequest, campaign_id: int) -> HttpResponse:
    """The per-recipient list, re-fetched by the filter form; without htmx, the campaign's page shows it."""
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    if not request.htmx:
        target = reverse("web:campaign", args=[campaign.id])
        return HttpResponseRedirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)
    return _render(request, "web/partials/messages.html", {"c": {"id": campaign.id}}
                   | _messages_context(request, campaign.id, request.GET))


@staff(Role.SENDER)
@require_POST
def campaign_control(request: StaffRequest, campaign_id: int, action: str) -> HttpResponse:
    """Pause, resume, cancel or resend-unknown, confirmed in a dialog; then the campaign's page anew (a GET),
    saying what was done and to how many messages."""
    control = CONTROLS.get(action)
    if control is None:
        raise Http404(action)
    count = control(campaign_id=campaign_id, scope=request.scope)
    target = reverse("web:campaign", args=[campaign_id])
    return HttpResponseRedirect(f"{target}?{urlencode({'done': action, 'n': count})}")


@staff()
@require_GET
def campaign_export(request: StaffRequest, campaign_id: int) -> StreamingHttpResponse:
    """The campaign's messages as CSV: external ids and statuses only (no text, no address), times in UTC,
    streamed row by row from a chunked cursor; each download audited."""
    campaign, lines = campaign_messages_csv(campaign_id=campaign_id, scope=request.scope)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.id}-messages.csv"'
    return response
