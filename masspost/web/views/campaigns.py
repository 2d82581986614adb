"""Kampaaniad (the campaigns) and one campaign's page: live progress while it sends, the controls, its messages
and their CSV.

Every campaign is fetched through campaign_get first, which makes another clinic's campaign a 404; the outbox
selectors then read by its id. The controls' services check the sender role themselves (403 otherwise)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from masspost.campaigns.controls import controls_applicable
from masspost.campaigns.detail import (
    Sample,
    campaign_email_html,
    campaign_last_sent,
    campaign_recipient_names,
    campaign_recipients_page,
    campaign_speed_start,
    campaign_summary,
    speed_per_minute,
    speed_samples,
    time_left,
)
from masspost.campaigns.downloads import campaign_messages_csv
from masspost.campaigns.listing import HANDED_OVER, PROBLEMS
from masspost.campaigns.listing import campaign_list as list_campaigns
from masspost.campaigns.models import Approval, Campaign, CampaignState
from masspost.campaigns.selectors import campaign_get, campaign_status
from masspost.campaigns.services import (
    campaign_approve,
    campaign_cancel,
    campaign_pause,
    campaign_reject,
    campaign_reschedule,
    campaign_resend_unknown,
    campaign_resume,
)
from masspost.campaigns.timing import DEFAULT_DEADLINE
from masspost.clinic.scope import Role
from masspost.clinic.selectors import sees_contacts
from masspost.delivery.models import PENDING, MessageStatus
from masspost.errors import ConflictError, SpecError
from masspost.schedule import local_instant
from masspost.web.access import StaffRequest, staff
from masspost.web.campaign_page import (
    SUPPRESSED_REASONS,
    audience_words,
    author_words,
    left_out_view,
    speed_words,
    statuses_view,
    texts_view,
    time_left_words,
)
from masspost.web.forms import RescheduleForm
from masspost.web.forms_campaigns import (
    CAMPAIGN_STATUSES,
    CHANNELS,
    MESSAGE_STATUSES,
    PURPOSES,
    CampaignsFilter,
    MessagesFilter,
)
from masspost.web.presenting import moment_words, ui_language_name
from masspost.web.query import whole_number
from masspost.web.refusals import conflict_message

PER_PAGE = 50
COUNT_MAX = 10**9  # ?n=: how many messages the control changed


CONTROLS: dict[str, Callable[..., int]] = {
    "pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel,
    "resend-unknown": campaign_resend_unknown, "approve": campaign_approve, "reject": campaign_reject,
}
DONE = (*CONTROLS, "reschedule")
# Why a patient previewed was left out when a scheduled campaign started (delivery.outbox_start_due's codes).
START_REASONS = {
    "archived": _lazy("Archived since the preview"), "deceased": _lazy("Deceased"),
    "moved_clinic": _lazy("Moved to another clinic"), "opted_out": _lazy("Opted out since the preview"),
    # Counted over both channels (outbox_left_out_counts), so not worded per channel as the preview's is.
    "no_marketing_consent": _lazy("No consent to marketing"),
    "address_changed": _lazy("Phone or e-mail changed since the preview"),
}

# The page of one e-mail, shown in a frame on the campaign's page (or on its own): as an e-mail client shows it,
# with the styles and https: images the cleaning kept (masspost.content.sanitise), and nothing else — no script,
# no form, no font or request of its own; framed by this site only, and sandboxed even when opened on its own
# (links open in a new tab, outside the sandbox). The app's pages keep their strict policy (settings); this one is
# set on the response itself, which the CSP middleware then leaves as it is.
EMAIL_CSP = "; ".join((
    "default-src 'none'", "style-src 'unsafe-inline'", "img-src https: data:", "form-action 'none'",
    "base-uri 'none'", "frame-ancestors 'self'", "sandbox allow-popups allow-popups-to-escape-sandbox"))


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
    anew).

    They come from the client, and that is acceptable: at most two, each at most 12 digits, and speed_samples
    drops any that could not be true now. A forged sample changes only the speed and time left shown to the
    page that sent it, for a campaign its user may already see; it reaches no query, no other page and nothing
    stored. Keeping them in the poll spares the server a query, or state, per poll every 2 s."""
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
            "channel": CHANNELS.get(campaign.channel, campaign.channel),
            "send_at": campaign.send_at, "started_at": campaign.started_at, "approval": campaign.approval,
            "approved_by": campaign.approved_by, "approved_at": campaign.approved_at,
            "scheduled": _waiting_to_start(campaign)}


def _waiting_to_start(campaign: Campaign) -> bool:
    """Scheduled and not started yet: it can still be rescheduled or cancelled."""
    return (campaign.send_at is not None and campaign.started_at is None
            and campaign.state != CampaignState.CANCELLED and campaign.send_at > timezone.now())


def _messages_context(request: StaffRequest, campaign_id: int) -> dict[str, Any]:
    """One page of the recipients' messages, with the patients' names for a role that may see them
    (campaigns.detail.campaign_recipient_names) and each language by name.

    A patient's name never goes into a URL: the filter form is a POST (htmx's hx-post, or a plain POST that renders
    the whole page), and while it holds a search text the pager is a POST form carrying it too. A GET's `q` (a
    hand-made URL) is searched for as an external id only; the status and the page stay links."""
    posted = request.method == "POST"
    form = MessagesFilter(request.POST if posted else request.GET)
    values = form.values()
    page = campaign_recipients_page(scope=request.scope, campaign_id=campaign_id, status=values["status"],
                                    query=values["q"], by_name=posted, page=values["page"] or 1, per_page=PER_PAGE)
    names = campaign_recipient_names(scope=request.scope, message_ids=[r.id for r in page.rows])
    rows = [{"m": r, "label": MESSAGE_STATUSES.get(r.status, r.status), "name": names.get(r.id, ""),
             "language": ui_language_name(r.language) if r.language else "", "reason": _reason_words(r)}
            for r in page.rows]
    # a GET's own query goes on in its links: it is in the URL already, and searched for as an ID only
    query = {k: v for k, v in (("status", values["status"]), ("q", "" if posted else values["q"])) if v}
    return {"filter": form, "page": page, "rows": rows, "status": values["status"], "query": urlencode(query),
            "posted_search": values["q"] if posted else "", "filtered": bool(values["status"] or values["q"]),
            "sees_names": sees_contacts(request.scope)}


def _reason_words(row: Any) -> str:
    """A left-out or suppressed message's reason in the user's language (its code is English); a gateway's own
    error as the gateway said it."""
    if row.status == MessageStatus.SUPPRESSED:
        return str(SUPPRESSED_REASONS.get(row.last_error, row.last_error))
    if row.status == MessageStatus.LEFT_OUT:
        return str(START_REASONS.get(row.last_error, row.last_error))
    return str(row.last_error)


@staff()
@require_GET
def campaign_list(request: StaffRequest) -> HttpResponse:
    form = CampaignsFilter(request.GET)
    values = form.values()
    listed = list_campaigns(scope=request.scope,
                            statuses=frozenset({values["status"]}) if values["status"] else None)
    page = Paginator(listed, PER_PAGE).get_page(values["page"])
    badges = _badges([c.id for c in page.object_list])
    rows = [{"c": c, "status_label": CAMPAIGN_STATUSES.get(c.status, c.status),
             "purpose": PURPOSES.get(c.purpose, c.purpose), "channel": CHANNELS.get(c.channel, c.channel),
             "author": author_words(c.author, None),  # no user name has a space: "command line (…)" is the CLI
             "badge": badges.get(c.id, "")}
            for c in page.object_list]
    query = urlencode({"status": values["status"]}) if values["status"] else ""
    return render(request, "web/campaigns.html", {"nav": "campaigns", "filter": form, "page": page, "rows": rows,
                                                   "query": query})


def _badges(ids: list[int]) -> dict[int, str]:
    """"approval" (waiting for a second approver) or "scheduled" (its time has not come) for the listed campaigns
    (already scoped by campaign_list): one query over their ids."""
    now = timezone.now()
    out = {}
    for campaign_id, send_at, started_at, approval, state in Campaign.objects.filter(id__in=ids).values_list(
            "id", "send_at", "started_at", "approval", "state"):
        if state == CampaignState.CANCELLED:
            continue
        if approval == Approval.PENDING:
            out[campaign_id] = "approval"
        elif send_at is not None and started_at is None and send_at > now:
            out[campaign_id] = "scheduled"
    return out


@staff()
@require_http_methods(["GET", "POST"])
def campaign_detail(request: StaffRequest, campaign_id: int) -> HttpResponse:
    """Header, progress, the controls that apply now (campaigns.controls: pause while messages wait, resume while
    paused, cancel while messages wait, resend-unknown while some are unknown), who it went to and who was left
    out, its texts, the messages. A POST is the messages' filter or pager without JavaScript: the same page,
    filtered (_messages_context)."""
    return _campaign_page(request, campaign_id)


def _campaign_page(request: StaffRequest, campaign_id: int, reschedule: RescheduleForm | None = None,
                   status_code: int = 200) -> HttpResponse:
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    status = campaign_status(campaign_id=campaign.id, scope=request.scope)
    now = timezone.now()
    sent = sum(status["messages"][s] for s in HANDED_OVER)
    start = (campaign_speed_start(campaign_id=campaign.id, now=now, sent=sent, created_at=campaign.created_at)
             if status["status"] == "sending" else ())
    progress = _progress(status, start, now)
    if campaign.approval == Approval.PENDING or _waiting_to_start(campaign):
        # Held by its gate: not "sending" (no speed, no polling) until it is approved and its time has come.
        waiting = "approval" if campaign.approval == Approval.PENDING else "scheduled"
        progress = {k: v for k, v in progress.items() if k not in ("speed", "left", "poll")} | {
            "status": waiting, "status_label": _("waiting for approval") if waiting == "approval" else _("scheduled")}
    detail = campaign_summary(campaign=campaign)
    done = request.GET.get("done", "")
    context = {"nav": "campaigns", "c": _header(campaign), "p": progress,
               "may_send": request.scope.may(Role.SENDER),
               "controls": controls_applicable(state=campaign.state, counts=progress["counts"]),
               "done": done if done in DONE else "",
               "done_count": whole_number("n", request.GET.get("n", ""), low=0, high=COUNT_MAX),
               "audience": audience_words(detail.audience), "left_out": left_out_view(detail),
               "texts": texts_view(detail), "fallback_language": detail.fallback_language and
               ui_language_name(detail.fallback_language),
               "last_sent": campaign_last_sent(campaign_id=campaign.id) if progress["status"] == "done" else None}
    context |= _schedule_context(request, campaign, detail, reschedule)
    return render(request, "web/campaign.html", context | _messages_context(request, campaign.id),
                  status=status_code)


def _schedule_context(request: StaffRequest, campaign: Campaign, detail: Any,
                      reschedule: RescheduleForm | None) -> dict[str, Any]:
    """Issue 19 on the campaign's page: when each clinic's messages go, who was left out at the start (and why),
    the approval and who may give it, and the reschedule form while it waits to start."""
    openings = [{"name": o.name, "code": o.code, "never": o.opens_at is None,
                 "words": moment_words(o.opens_at) if o.opens_at is not None else
                 _("no opening before the deadline: its messages will not be sent")}
                for o in (getattr(detail, "openings", None) or ())]
    at_start = getattr(detail, "left_out_at_start", None) or {}
    pending = campaign.approval == Approval.PENDING
    own = campaign.created_by_user_id is not None and campaign.created_by_user_id == request.user.id
    may_send = request.scope.may(Role.SENDER)
    initial, shown_in = reschedule_initial(campaign=campaign, zones={
        o.time_zone for o in (getattr(detail, "openings", None) or ()) if getattr(o, "time_zone", "")})
    if reschedule is None:
        reschedule = RescheduleForm(initial=initial, shown_in=shown_in)
    else:  # a form refused: what was typed, its errors, and the same help
        reschedule.show_zones(shown_in)
    return {"openings": openings,
            "at_start": [{"reason": r, "label": START_REASONS.get(r, r), "count": n}
                         for r, n in sorted(at_start.items(), key=lambda kv: -kv[1]) if n],
            "approval_pending": pending, "may_approve": pending and may_send and not own,
            "approval_refusal": "" if not pending or (may_send and not own) else
            conflict_message(ConflictError("own", reason="own_campaign")) if own
            else _("Only a user with the sender role can approve it."),
            "reschedule": reschedule}


FIELD_FORMAT = "%Y-%m-%dT%H:%M"  # a datetime-local box's value


def reschedule_initial(*, campaign: Campaign, zones: set[str]) -> tuple[dict[str, str],
                                                                         tuple[list[str], str] | None]:
    """The reschedule form's start and deadline, as local times the form reads in EACH clinic's zone (`zones`:
    those of the campaign's clinics), chosen so that saving the form unchanged moves nothing:

    - the campaign file's own local times while the campaign still starts (and ends) at them — it was given a
      local time and not moved since; a deadline it left out shows as its clinics' shared wall time 3 days on, or
      empty (3 days after the start, as it is) when a clock change makes it differ between zones;
    - else the current start and deadline in the clinics' zone, when they all share one;
    - else (an instant, or moved since, over several zones) no local time keeps every clinic where it is: the
      current start and deadline in one of the zones, and the second value (the zones, the one shown) makes the
      form's help say so."""
    if campaign.send_at is None or not zones:
        return ({"send_at": _field(timezone.localtime(campaign.send_at)) if campaign.send_at else "",
                 "deadline": _field(timezone.localtime(campaign.deadline)) if campaign.deadline else ""}, None)
    spec = campaign.spec if isinstance(campaign.spec, dict) else {}
    given, until = _spec_time(spec.get("send_at")), _spec_time(spec.get("deadline"))
    if given is not None and given.tzinfo is None and campaign.deadline is not None:
        starts = {z: _instant(given, z) for z in zones}
        if _same(min(starts.values()), campaign.send_at):
            if until is not None and until.tzinfo is None and _same(max(_instant(until, z) for z in zones),
                                                                    campaign.deadline):
                return {"send_at": _field(given), "deadline": _field(until)}, None
            if until is None:
                walls = {_field((start + DEFAULT_DEADLINE).astimezone(ZoneInfo(z))) for z, start in starts.items()}
                ends = max(start + DEFAULT_DEADLINE for start in starts.values())
                if _same(ends, campaign.deadline):
                    return {"send_at": _field(given), "deadline": walls.pop() if len(walls) == 1 else ""}, None
    ordered = sorted(zones)
    shown = timezone.get_current_timezone_name() if timezone.get_current_timezone_name() in zones else ordered[0]
    zone = ZoneInfo(shown)
    initial = {"send_at": _field(campaign.send_at.astimezone(zone)),
               "deadline": _field(campaign.deadline.astimezone(zone)) if campaign.deadline else ""}
    return initial, None if len(zones) == 1 else (ordered, shown)


def _field(when: dt.datetime) -> str:
    return when.strftime(FIELD_FORMAT)


def _spec_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _instant(when: dt.datetime, zone: str) -> dt.datetime:
    """A naive `when` as that wall time in `zone` (as the campaign's timing reads it)."""
    return local_instant(when.date(), when.hour * 60 + when.minute, ZoneInfo(zone))


def _same(a: dt.datetime, b: dt.datetime) -> bool:
    return abs(a - b) < dt.timedelta(minutes=1)


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
    response = render(request, "web/partials/progress.html",
                       {"c": {"id": campaign.id, "deadline": campaign.deadline}, "p": progress})
    if request.htmx and request.GET.get("polling") and progress["status"] != "sending":
        response["HX-Refresh"] = "true"
    return response


@staff()
@require_http_methods(["GET", "POST"])
def campaign_messages(request: StaffRequest, campaign_id: int) -> HttpResponse:
    """The per-recipient list, re-fetched by the filter form (a POST) and the pager; without htmx, the campaign's
    page shows it (a GET is sent there, a POST answered with it)."""
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    if not request.htmx:
        if request.method == "POST":
            return _campaign_page(request, campaign.id)
        target = reverse("web:campaign", args=[campaign.id])
        return HttpResponseRedirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)
    return render(request, "web/partials/messages.html", {"c": {"id": campaign.id}}
                  | _messages_context(request, campaign.id))


@staff()
@require_GET
@xframe_options_sameorigin
def campaign_email(request: StaffRequest, campaign_id: int, language: str) -> HttpResponse:
    """One language's HTML e-mail as a document of its own (EMAIL_CSP), cleaned again as it is read: the campaign's
    page frames it, so that the e-mail's styles and images show as the patient sees them while the page keeps
    its own policy, outline and stylesheet. A plain-text body is shown on the page itself; it has no such page."""
    campaign = campaign_get(campaign_id=campaign_id, scope=request.scope)
    email = campaign_email_html(campaign=campaign, language=language)
    if email is None:
        raise Http404(language)
    subject, body = email
    response = render(request, "web/email_body.html", {"language": language, "subject": subject, "body": body})
    response["Content-Security-Policy"] = EMAIL_CSP
    return response


@staff(Role.SENDER)
@require_POST
def campaign_control(request: StaffRequest, campaign_id: int, action: str) -> HttpResponse:
    """Pause, resume, cancel or resend-unknown, confirmed in a dialog; then the campaign's page anew (a GET),
    saying what was done and to how many messages."""
    target = reverse("web:campaign", args=[campaign_id])
    if action == "reschedule":
        form = RescheduleForm(request.POST)
        if not form.is_valid():
            return _campaign_page(request, campaign_id, reschedule=form, status_code=422)
        try:
            campaign_reschedule(campaign_id=campaign_id, scope=request.scope, send_at=form.cleaned_data["send_at"],
                                deadline=form.cleaned_data.get("deadline"))
        except SpecError:  # a time one of its clinics' zones cannot use
            form.add_error("send_at", _("This time cannot be used in every clinic: give a time to come, at most 90 "
                                        "days ahead, before the deadline."))
            return _campaign_page(request, campaign_id, reschedule=form, status_code=422)
        return HttpResponseRedirect(f"{target}?{urlencode({'done': action})}")
    control = CONTROLS.get(action)
    if control is None:
        raise Http404(action)
    count = control(campaign_id=campaign_id, scope=request.scope)
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
