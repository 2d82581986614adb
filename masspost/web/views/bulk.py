"""Masspostitus (Bulk Mail) → Eelvaade (Preview) → Saada (Send) / Tagasi (Back).

The form's last state lives in the session (never in a URL), so Back finds every filter and text as it was and
Send sends exactly what the preview showed: the spec rebuilt from that state, with the preview's token."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from masspost.audience.selectors import audience_countries, audience_languages
from masspost.campaigns.downloads import preview_list_csv
from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import Preview, campaign_counts, campaign_get, campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.test_send import NO_ADDRESS, campaign_test_send
from masspost.clinic.scope import Role
from masspost.content import TemplateError, compile_template
from masspost.content.optout import SMS_SEPARATOR, sms_optout_line
from masspost.content.template import MERGE_FIELDS
from masspost.delivery.optout import SAMPLE_KEY, optout_url
from masspost.errors import GatewayConfigError, NotFoundError, NothingToSendError, SpecError, StaleTokenError
from masspost.sms import UCS2, segment, suggest
from masspost.staff.selectors import scope_clinics
from masspost.web.access import StaffRequest, staff
from masspost.web.forms import BulkForm, default_name, sms_label, spec_as_form_data, text_problems
from masspost.web.presenting import (
    approval_words,
    count_view,
    language_name,
    preview_view,
    recent_view,
    timing_view,
    ui_language_name,
)
from masspost.web.query import whole_number
from masspost.web.sms_words import encoding_title, why_ucs2
from masspost.web.stale_words import stale_view

DRAFT = "bulk_draft"
SENT = "bulk_sent"  # the last draft sent, under its token: the same confirmation again finds its campaign
FILTER_FIELDS = ("clinics", "age_min", "age_max", "countries", "visited_period", "visited_months", "visited_from",
                 "visited_to", "not_visited_period", "not_visited_months", "not_visited_from", "not_visited_to",
                 "channel", "purpose", "fallback_language", "recently_messaged_days", "one_per_address")


@staff()
@require_GET
def home(request: StaffRequest) -> HttpResponse:
    return redirect("web:bulk")


def _languages(request: StaffRequest, data: MultiValueDict[str, Any] | None) -> list[tuple[str, str]]:
    """The tabs: on the form's first showing, every language the user's clinics' patients use, most used first,
    then any the draft has texts in; on a post (count, preview), the tabs the page was drawn with — its fields say
    which — so that the live count does not pay for that survey on every key stroke (docs/benchmarks.md)."""
    posted = list(dict.fromkeys(key[4:] for key in (data or ()) if key.startswith("sms_") and len(key) == 6))
    if request.method == "POST" and posted:
        return [(c, language_name(c)) for c in posted]
    counts = audience_languages(scope=request.scope)
    codes = sorted(counts, key=lambda c: (-counts[c], c))
    for key in data or ():
        code = key.rsplit("_", 1)[-1]
        if key.split("_", 1)[0] in ("sms", "subject", "body") and len(code) == 2 and code not in codes \
                and data is not None and data.get(key):
            codes.append(code)
    return [(c, language_name(c)) for c in codes]


def _form(request: StaffRequest, data: MultiValueDict[str, Any] | None) -> BulkForm:
    return BulkForm(data=data, clinics=scope_clinics(scope=request.scope), languages=_languages(request, data),
                    initial={"name": default_name(), "channel": "sms", "purpose": "service"})


def _draft(request: StaffRequest) -> MultiValueDict[str, Any] | None:
    stored = request.session.get(DRAFT)
    return MultiValueDict(stored) if stored else None


def _keep_draft(request: StaffRequest) -> None:
    request.session[DRAFT] = {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"}


def _render_form(request: StaffRequest, form: BulkForm, status: int = 200,
                 extra: dict[str, Any] | None = None) -> HttpResponse:
    form.offer_countries(audience_countries(scope=request.scope))
    return render(request, "web/bulk.html", {"form": form, "nav": "bulk", "merge_fields": MERGE_FIELDS}
                  | (extra or {}), status=status)


def _campaign_to_start(request: StaffRequest, start: str) -> Campaign:
    """The past campaign `start` names, if the user may see it (another clinic's is a 404, like none)."""
    return campaign_get(campaign_id=whole_number("start", start) or 0,
                        scope=request.scope)


@staff()
@require_http_methods(["GET", "POST"])
def bulk(request: StaffRequest) -> HttpResponse:
    """The form: empty, or as the user left it (Back), or filled from a past campaign.

    Replacing the draft is a POST (CSRF-checked): `new` empties it (Start over), `start=ID` fills it from a past
    campaign (Use as a start). The same parameters in a GET — an old link, a bookmark, another site's page —
    change nothing: the form shows the draft as it is, with a question whose button makes the POST."""
    if request.method == "POST":
        if start := request.POST.get("start", ""):
            data = spec_as_form_data(_campaign_to_start(request, start).spec)
            request.session[DRAFT] = {k: v if isinstance(v, list) else [str(v)] for k, v in data.items()}
        elif request.POST.get("new"):
            request.session.pop(DRAFT, None)
        return HttpResponseRedirect(reverse("web:bulk"))
    ask: dict[str, Any] = {}
    if start := request.GET.get("start", ""):
        ask["ask_start"] = _campaign_to_start(request, start)
    elif request.GET.get("new"):
        ask["ask_new"] = True
    return _render_form(request, _form(request, _draft(request)), extra=ask)


@staff()
@require_POST
def count(request: StaffRequest) -> HttpResponse:
    """The live answer under the form: patients, recipients per channel, who is left out and why, the tabs'
    numbers. One GROUP BY (campaign_counts), the same rules as the preview."""
    form = _form(request, request.POST)
    form.is_valid()
    # Every filter's error slot comes back with the count (out of band): the message stands next to its field
    # while the user types, and goes away once the field is right.
    context: dict[str, Any] = {"form": form, "filter_fields": [form[name] for name in FILTER_FIELDS]}
    if set(FILTER_FIELDS) & set(form.errors):
        context["filter_errors"] = True
    else:
        spec = form.draft_spec()
        counts = campaign_counts(spec=spec, scope=request.scope)
        written = {code for code, _name in form.languages if all(code in spec.languages_with(ch)
                                                                 for ch in spec.channels)}
        # A text with a mistake is not a missing text: those it would reach wait for the fix, said as such
        # (a second count, only while a text has a mistake).
        faulty = form.faulty_languages()
        mended = campaign_counts(spec=form.draft_spec(mended=True), scope=request.scope) if faulty else None
        context["c"] = count_view(counts, form.cleaned_data.get("channel") or "sms",
                                  [code for code, _name in form.languages], written=written,
                                  fallback=spec.fallback_language, faulty=faulty, mended=mended)
    return render(request, "web/partials/count.html", context)


def _counter_context(name: str, text: str, line: str = "") -> dict[str, Any]:
    """What the SMS box's counter says: masspost.sms on the text as written, with a marketing SMS's opt-out `line`
    (its line break included) after it — the preview measures each patient's own text, line and all, with the
    same functions."""
    context: dict[str, Any] = {"name": name, "text": text, "chars": len(text), "optout_chars": len(line)}
    try:
        compile_template(text)
    except TemplateError as exc:
        context["template_error"] = exc
    try:
        seg = segment(text + line)
    except ValueError:
        context["invalid"] = True
        return context
    better = suggest(text + line)
    # Why UCS-2: the language's own letters named once, or the characters that could be replaced (masspost.sms).
    why = why_ucs2(text + line, multi_part=len(seg.parts) > 1) if seg.encoding == UCS2 else None
    context |= {"seg": seg, "parts": len(seg.parts), "why": why, "encoding_title": encoding_title(seg.encoding),
                "has_fields": "{" in text,
                "suggestion": better if better.parts_saved > 0 else None}
    return context


def _sms_field_name(request: StaffRequest) -> str:
    name = request.POST.get("field", "")
    if not (name.startswith("sms_") and len(name) == 6 and name[4:].isalpha()):
        name = "sms_xx"
    return name


def _optout_line(request: StaffRequest, name: str) -> str:
    """A marketing SMS's opt-out line in the box's language, with the line break before it, as the sweep appends
    it (campaigns.sweep); "" for a service SMS. Without MASSPOST_PUBLIC_URL the line names a clinic's reply
    number: the longest among the user's clinics (the preview counts each clinic's own)."""
    if request.POST.get("purpose") != "marketing":
        return ""
    language, url = name[4:], optout_url(SAMPLE_KEY)
    if url:
        return SMS_SEPARATOR + sms_optout_line(language, url, "")
    numbers = {c.sms_reply_number for c in scope_clinics(scope=request.scope)} or {""}
    return SMS_SEPARATOR + max((sms_optout_line(language, "", n) for n in numbers), key=len)


@staff()
@require_POST
def sms_counter(request: StaffRequest) -> HttpResponse:
    name = _sms_field_name(request)
    return render(request, "web/partials/sms_counter.html",
                  _counter_context(name, request.POST.get(name, ""), _optout_line(request, name)))


@staff()
@require_POST
def sms_fix(request: StaffRequest) -> HttpResponse:
    """Replace look-alike punctuation (“ ” – …) where it saves parts: the box and its counter, anew."""
    name = _sms_field_name(request)
    text = request.POST.get(name, "")
    better = suggest(text)
    fixed = better.text if better.parts_saved > 0 else text
    context = _counter_context(name, fixed, _optout_line(request, name)) | {
        "label": sms_label(language_name(name[4:])), "value": fixed,
        "fixed": better.parts_saved if fixed != text else 0}
    return render(request, "web/partials/sms_field.html", context)


@staff()
@require_POST
def text_check(request: StaffRequest) -> HttpResponse:
    """The live check under an e-mail subject or body: the error slot of that box, refilled with what the form
    would say of it (merge fields, line breaks) — the same words, from the same function."""
    name = request.POST.get("field", "")
    key, _, code = name.partition("_")
    if key not in ("subject", "body") or not (len(code) == 2 and code.isascii() and code.isalpha()):
        return HttpResponseBadRequest()
    problems = text_problems(key, request.POST.get(name, ""))
    return render(request, "web/partials/errors.html",
                  {"f": {"html_name": name, "auto_id": f"id_{name}", "errors": problems}})


@staff()
@require_http_methods(["GET", "POST"])
def preview(request: StaffRequest) -> HttpResponse:
    """Eelvaade. From the form (its data kept as the draft), or again from the kept draft: `again` (after a
    stale send), or a GET of masspost's own — a reload, a bookmark, a link on its pages (_own_navigation). Without
    a draft that makes a campaign, a GET goes back to the form, which shows the draft and what is wrong with it."""
    again = request.method == "GET" or bool(request.POST.get("again"))
    data: QueryDict | MultiValueDict[str, Any] | None = request.POST
    if again:
        data = _draft(request)
        if data is None or not _own_navigation(request):
            return HttpResponseRedirect(reverse("web:bulk"))
    form = _form(request, data)
    spec = form.spec()
    if spec is None:
        if request.method == "GET":
            return HttpResponseRedirect(reverse("web:bulk"))
        return _render_form(request, form, status=422)
    if not again:
        _keep_draft(request)
    try:
        result = campaign_preview(spec=spec, scope=request.scope)
    except SpecError as exc:  # the schedule, checked against each clinic's own zone (campaigns.timing)
        _timing_refused(form, exc)
        return _render_form(request, form, status=422)
    # The rows in the order of the form's tabs (most used language first), the clinics by name.
    names = {c.code: c.name for c in result.audience.clinics}
    context = preview_view(result.to_dict(), order=[code for code, _name in form.languages], clinic_names=names)
    # The opt-out the messages carry (campaigns.sweep): the SMS line is in the samples and counted; a marketing
    # e-mail without MASSPOST_PUBLIC_URL has no one-click unsubscribe — said, not refused.
    context |= {"optout_sms": "sms" in result.result.optout,
                "optout_no_link": result.result.optout_warning == "no_public_url"}
    return render(request, "web/preview.html", context | _schedule_context(result, names) | {"nav": "bulk"})


def _timing_refused(form: BulkForm, error: SpecError) -> None:
    """A schedule the clinics' own zones refuse, said on its field (the spec's English goes nowhere)."""
    if str(error).startswith("deadline"):
        form.add_error("deadline", _("The deadline must be after the start in every clinic, and to come."))
    else:
        form.add_error("send_at", _("This time cannot be used in every clinic: give a time to come, at most 90 days "
                                    "ahead."))


def _schedule_context(result: Preview, names: dict[str, str]) -> dict[str, Any]:
    """When it goes, the 24 h warning, the approval and the test send (issue 19): what the preview adds to its
    page."""
    return {"timing": timing_view(result.timing), "recent": recent_view(result.recent),
            "approval": approval_words(result.approval, names),
            "test_required": result.test_required, "tested": result.tested,
            "test_url": _url("web:test_send"), "profile_url": _url("web:profile")}


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page another part of the project adds (the profile, the test send)
        return ""


@staff()
@require_POST
def test_send(request: StaffRequest) -> HttpResponse:
    """"Send a test to me": the preview's sample in each language and channel to the user's own phone and e-mail,
    now, through the real gateways (campaigns.test_send) — never to a patient. The htmx answer is the result's
    partial; without htmx, a page of its own."""
    token = request.POST.get("token", "").strip()
    form = _form(request, _draft(request))
    spec = form.spec() if form.is_bound else None
    context: dict[str, Any] = {"messages": [], "missing": [], "gone": spec is None,
                               "profile_url": _url("web:profile"),
                               "required": bool(request.POST.get("required")),
                               "messages_total": whole_number("total", request.POST.get("total", ""), low=0,
                                                              high=10**9) or 0}
    if spec is not None:
        try:
            outcome = campaign_test_send(spec=spec, scope=request.scope, token=token or None)
        except StaleTokenError as exc:  # the preview no longer holds: what changed, in the user's language
            context["stale"] = stale_view(exc)["changes"]
        except NothingToSendError:  # no patient gets a message: no sample to test
            context["nothing"] = True
        except SpecError as exc:
            if str(exc) == NO_ADDRESS:  # no own address for any of the campaign's channels
                context["missing"] = list(spec.channels)
            else:  # a clinic no longer in the user's scope, a setting that no longer holds (its English goes nowhere)
                context["refused"] = True
        except GatewayConfigError:  # no gateway set up for a channel (MASSPOST_SMS_URL / MASSPOST_EMAIL_URL)
            context["no_gateway"] = True
        else:
            context["messages"] = [{"channel": m.channel, "language": ui_language_name(m.language), "to": m.to,
                                    "ok": m.ok, "error": m.error} for m in outcome.messages]
            context["missing"] = list(outcome.missing)
    context["sent"] = any(m["ok"] for m in context["messages"])
    template = "web/partials/test_send_result.html" if request.htmx else "web/partials/test_send_page.html"
    return render(request, template, context | {"nav": "bulk"})


def _own_navigation(request: StaffRequest) -> bool:
    """May this request run the preview's pass again? It is long and audited (a snapshot, an export), so a GET
    does only when the browser says the user asked for it here: `Sec-Fetch-Site: same-origin` (a link or form on
    masspost's own pages) or `none` (a reload, a bookmark, a typed address). Another site, a sibling subdomain
    (same-site) or a browser that says nothing gets the form, whose Preview is a POST (CSRF-checked)."""
    if request.method == "POST":
        return True
    return request.headers.get("Sec-Fetch-Site") in ("same-origin", "none")


@staff()
@require_GET
def preview_csv(request: StaffRequest, kind: str) -> HttpResponseBase:
    """The preview's full list (recipients or excluded), optionally one channel and reason, as CSV."""
    if kind not in ("recipients", "excluded"):
        raise NotFoundError(f"no list {kind!r}")
    if not _own_navigation(request):
        return HttpResponseRedirect(reverse("web:bulk"))
    form = _form(request, _draft(request))
    spec = form.spec() if form.is_bound else None
    if spec is None:
        return HttpResponseRedirect(reverse("web:bulk"))
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b")  # noqa: SIM115 (FileResponse closes it)
    preview_list_csv(spec=spec, scope=request.scope, kind=kind, out=out,
                     channel=request.GET.get("channel", ""), reason=request.GET.get("reason", ""))
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{kind}.csv", content_type="text/csv; charset=utf-8")


@staff(Role.SENDER)
@require_POST
def send(request: StaffRequest) -> HttpResponse:
    """Saada: exactly what the preview with this token showed — or refused, saying what changed.

    The same confirmation again (a double click, Back and Send once more) sends the draft it sent the first time,
    which campaign_send answers with the campaign it made then: nothing new is written."""
    token = request.POST.get("token", "").strip()
    if not token:  # a send is always of a preview: never "whatever the audience is now"
        return HttpResponseRedirect(reverse("web:bulk"))
    sent = request.session.get(SENT) or {}
    data = _draft(request)
    if sent.get("token") == token:
        data = MultiValueDict(sent["draft"])
    form = _form(request, data)
    spec = form.spec() if form.is_bound else None
    if spec is None:
        return HttpResponseRedirect(reverse("web:bulk"))
    try:
        outcome = campaign_send(spec=spec, scope=request.scope, token=token)
    except StaleTokenError as exc:
        # What changed, in the user's language (from the changes' codes: their str() is English, for the CLI and API).
        return render(request, "web/stale.html", stale_view(exc) | {"nav": "bulk"}, status=409)
    if (draft := request.session.pop(DRAFT, None)) is not None:
        request.session[SENT] = {"token": token, "draft": draft}
    return HttpResponseRedirect(reverse("web:campaign", args=[outcome.campaign_id]))
