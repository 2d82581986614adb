"""The audit log in words (issue 17, point 6): each action a translated name, its details a short sentence in the
user's language — "“Recall A”: 216 messages to 154 patients of Hammas Tallinn" — never a Python dict, a raw
action code or a preview token (a token is named by its name). An action this module does not know reads as
"Other action" with its counts in words.

The log keeps ids and counts only (campaigns.audit); campaigns and clinics are named here, from the database, as
they are now. Sentences are HTML-safe strings: a campaign's name links to its page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext, ngettext_lazy, pgettext

from masspost.campaigns.audit import ACTIONS
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.delivery.models import OutboxMessage
from masspost.web.consent_words import CHANNELS as CONSENT_CHANNELS
from masspost.web.consent_words import METHODS, PURPOSES
from masspost.web.presenting import CHANNELS, reason_sentence
from masspost.web.roles import role_name
from masspost.web.templatetags.masspost_format import when

ACTION_NAMES: dict[str, Promise] = {
    "sign_in": _lazy("Signed in"),
    "sign_in_failed": _lazy("Sign-in failed"),
    "sign_out": _lazy("Signed out"),
    "preview": _lazy("Preview"),
    "campaign_send": _lazy("Campaign sent"),
    "campaign_pause": _lazy("Campaign paused"),
    "campaign_resume": _lazy("Campaign resumed"),
    "campaign_cancel": _lazy("Campaign cancelled"),
    "campaign_resend_unknown": _lazy("Messages of unknown fate sent again"),
    "export": _lazy("List downloaded"),
    "user_add": _lazy("User added"),
    "user_change": _lazy("User changed"),
    "user_disable": _lazy("User disabled"),
    "demo.generate": _lazy("Demo data made"),
    "demo.reset": _lazy("Demo data removed"),
    "import": _lazy("Import"),
    "token_create": _lazy("API token made"),
    "token_revoke": _lazy("API token revoked"),
    "consent_record": _lazy("Consent recorded"),
    "campaign_test_send": _lazy("Test sent to oneself"),
    "campaign_approve": _lazy("Campaign approved"),
    "campaign_reject": _lazy("Campaign rejected"),
    "campaign_reschedule": _lazy("Campaign rescheduled"),
    "clinic_settings": _lazy("Clinic settings changed"),
    "staff_contact": _lazy("Own test phone or e-mail changed"),
}
# A clinic's sending rules by name (campaigns.clinic_settings.FIELDS): the audit log's sentences and the clinic
# settings page say them alike.
CLINIC_SETTINGS: dict[str, Promise] = {
    "marketing_window": _lazy("Marketing hours"),
    "service_window": _lazy("Service hours"),
    "holidays": _lazy("No marketing on public holidays"),
    "approval_over": _lazy("Approval over recipients"),
    "approval_cost_over": _lazy("Approval over cost"),
    "test_before_marketing": _lazy("Test before marketing"),
    "recently_messaged_days": _lazy("Recently messaged (days)"),
    "sms_reply_number": _lazy("Number for STOP replies"),
    "dkim_selector": _lazy("DKIM selector"),
    "dkim_key": _lazy("DKIM key"),
}
CONTACT_FIELDS: dict[str, Promise] = {"phone": _lazy("phone"), "email": _lazy("e-mail")}
OTHER_ACTION = _lazy("Other action")
IMPORT_KINDS = {"clinics": _lazy("clinics"), "patients": _lazy("patients"), "visits": _lazy("visits")}


def action_name(action: str) -> str:
    return str(ACTION_NAMES.get(action, OTHER_ACTION))


def action_choices() -> list[tuple[str, str]]:
    """The log filter's actions, by name, in alphabetical order of the user's language."""
    codes = dict.fromkeys([*ACTIONS, *ACTION_NAMES])
    return sorted(((code, action_name(code)) for code in codes), key=lambda c: c[1].casefold())


@dataclass(frozen=True, kw_only=True, slots=True)
class Known:
    """What the sentences name, looked up once for a page of events."""

    campaigns: Mapping[int, Campaign]
    clinics: Mapping[str, str]  # code → name
    patients_by_campaign: Mapping[int, int]  # a sent campaign → the patients its messages went to


def known_for(events: Iterable[AuditEvent]) -> Known:
    events = list(events)
    campaign_ids: set[int] = {e.campaign_id for e in events if e.campaign_id is not None}
    for e in events:  # an export of a campaign's messages names it in its detail too
        if isinstance(e.detail, dict) and isinstance(e.detail.get("campaign"), int):
            campaign_ids.add(e.detail["campaign"])
    campaigns = {c.id: c for c in Campaign.objects.filter(id__in=campaign_ids).only("id", "name", "audience")}
    codes: set[str] = set()
    for c in campaigns.values():
        codes.update(_codes(c.audience.get("clinics") if isinstance(c.audience, dict) else None))
    for e in events:
        if isinstance(e.detail, dict):
            codes.update(_codes(e.detail.get("clinics")))
            if isinstance(e.detail.get("clinic"), str):
                codes.add(e.detail["clinic"])
    clinics = dict(Clinic.objects.filter(code__in=codes).values_list("code", "name"))
    # To how many patients a campaign went: the outbox's rows (one per patient and channel), one grouped query.
    sends = [e.campaign_id for e in events if e.action == "campaign_send" and e.campaign_id]
    patients = dict(OutboxMessage.objects.filter(campaign_id__in=sends).values("campaign_id").annotate(
        n=Count("patient_id", distinct=True)).values_list("campaign_id", "n")) if sends else {}
    return Known(campaigns=campaigns, clinics=clinics, patients_by_campaign=patients)


def _codes(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def sentence(event: AuditEvent, known: Known) -> SafeString:
    """The event's details as a short sentence in the active language; "" when the action says it all."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    words = SENTENCES.get(event.action, _other)
    try:
        return words(event, detail, known)
    except (KeyError, TypeError, ValueError, AttributeError):  # a detail of an older or unexpected shape
        return _other(event, detail, known)


def _fill(template: str, **values: Any) -> SafeString:
    """`template` (a translation, plain text) with its %(name)s filled in, every value escaped."""
    return mark_safe(conditional_escape(template) % {k: conditional_escape(v) for k, v in values.items()})


def _n(value: Any) -> int:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else 0


def _number(n: int) -> str:
    return str(intcomma(n))


def _messages(n: int) -> str:
    return ngettext("%(n)s message", "%(n)s messages", n) % {"n": _number(n)}


def _quoted(name: str) -> str:
    return _("“%(name)s”") % {"name": name}


def _campaign(event: AuditEvent, known: Known, campaign_id: Any = None) -> SafeString | None:
    """The campaign by its name, linked to its page; None for one that is gone."""
    cid = event.campaign_id or campaign_id
    campaign = known.campaigns.get(cid) if isinstance(cid, int) else None
    if campaign is None:
        return None
    return format_html('<a href="{}">{}</a>', reverse("web:campaign", args=[campaign.id]), _quoted(campaign.name))


def _clinic_names(codes: Iterable[str], known: Known) -> str:
    return ", ".join(sorted(known.clinics.get(code, code) for code in codes))


def _with_campaign(event: AuditEvent, known: Known, what: str) -> SafeString:
    campaign = _campaign(event, known)
    if campaign is None:
        return _fill("%(what)s", what=what)
    return _fill(_("%(campaign)s: %(what)s"), campaign=campaign, what=what)


def _nothing(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return SafeString("")


def _preview(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    """"216 messages; 154 patients match the filters": the patients are those the filters chose, some of whom may be
    left out of every channel — not the recipients (the send's sentence counts those)."""
    messages, patients = _n(detail.get("messages")), _n(detail.get("patients"))
    return _fill(ngettext("%(messages)s; %(n)s patient matches the filters",
                          "%(messages)s; %(n)s patients match the filters", patients),
                 messages=_messages(messages), n=_number(patients))


def _send(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    messages = _messages(_n(detail.get("messages")))
    patients = known.patients_by_campaign.get(event.campaign_id) if event.campaign_id else None
    what = messages if patients is None else _("%(messages)s %(to_patients)s") % {
        "messages": messages,
        "to_patients": ngettext("to %(n)s patient", "to %(n)s patients", patients) % {"n": _number(patients)}}
    campaign = known.campaigns.get(event.campaign_id) if event.campaign_id else None
    codes = _codes(campaign.audience.get("clinics")) if campaign is not None and isinstance(
        campaign.audience, dict) else []
    if codes:
        what = ngettext("%(what)s of %(clinics)s", "%(what)s of %(clinics)s", len(codes)) % {
            "what": what, "clinics": _clinic_names(codes, known)}
    return _with_campaign(event, known, what)


def _control(plural: Promise) -> Callable[[AuditEvent, dict[str, Any], Known], SafeString]:
    """`plural`: an ngettext_lazy(…, "count") of the messages the control touched, with %(n)s the number shown."""
    def words(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
        n = _n(detail.get("messages"))
        return _with_campaign(event, known, str(plural % {"count": n, "n": _number(n)}))
    return words


def _export(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    rows = _n(detail.get("rows"))
    lines = ngettext("%(n)s row", "%(n)s rows", rows) % {"n": _number(rows)}
    kind = detail.get("list")
    if kind == "messages":
        campaign = _campaign(event, known, detail.get("campaign"))
        if campaign is None:
            return _fill(_("the campaign's messages, %(rows)s"), rows=lines)
        return _fill(_("%(campaign)s: its messages, %(rows)s"), campaign=campaign, rows=lines)
    if kind == "recipients":
        text = _("the preview's recipients, %(rows)s") % {"rows": lines}
    elif detail.get("reason"):  # "12 patients have no phone number", in the words of the preview
        who = reason_sentence(str(detail.get("channel", "")), str(detail["reason"]), rows)
        return _fill(_("the preview's patients left out: %(who)s"), who=who)
    else:
        text = _("the preview's patients left out, %(rows)s") % {"rows": lines}
    channel = _lower(str(CHANNELS.get(detail.get("channel", ""), "")))
    return _fill("%(text)s (%(channel)s)" if channel else "%(text)s", text=text, channel=channel)


def _user(detail: dict[str, Any]) -> str:
    return _quoted(str(detail.get("user", "")))


def _role(value: Any) -> str:
    return role_name(str(value))


def _user_add(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    codes = _codes(detail.get("clinics"))
    return _fill(_("%(user)s: %(role)s, %(clinics)s"), user=_user(detail), role=_role(detail.get("role")),
                 clinics=_clinic_names(codes, known) or "—")


def _user_change(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    parts = []
    if "role" in detail:
        parts.append(_("role: %(role)s") % {"role": _role(detail["role"])})
    if "clinics" in detail:
        parts.append(_("clinics: %(clinics)s") % {"clinics": _clinic_names(_codes(detail["clinics"]), known) or "—"})
    if revoked := _n(detail.get("tokens_revoked")):
        parts.append(ngettext("%(n)s API token revoked", "%(n)s API tokens revoked", revoked) % {"n": revoked})
    return _fill(_("%(user)s: %(changes)s") if parts else "%(user)s", user=_user(detail), changes="; ".join(parts))


def _user_disable(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _fill("%(user)s", user=_user(detail))


def _token(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _fill(_("%(token)s for %(user)s"), token=_quoted(str(detail.get("token", ""))), user=_user(detail))


# The counts a detail may hold that have words of their own ("3 clinics"), in the order they are said.
COUNTS: dict[str, Promise] = {
    "clinics": ngettext_lazy("%(n)s clinic", "%(n)s clinics", "count"),
    "patients": ngettext_lazy("%(n)s patient", "%(n)s patients", "count"),
    "visits": ngettext_lazy("%(n)s visit", "%(n)s visits", "count"),
    "campaigns": ngettext_lazy("%(n)s campaign", "%(n)s campaigns", "count"),
    "messages": ngettext_lazy("%(n)s message", "%(n)s messages", "count"),
    "rows": ngettext_lazy("%(n)s row", "%(n)s rows", "count"),
    "consent_events": ngettext_lazy("%(n)s consent change", "%(n)s consent changes", "count"),
}
COUNTED = tuple(COUNTS)


def _counts(detail: dict[str, Any], keys: Iterable[str]) -> str:
    out = []
    for key in keys:
        if key not in detail:
            continue
        value = detail[key]
        n = len(value) if isinstance(value, dict | list) else _n(value)
        out.append(str(COUNTS[key] % {"count": n, "n": _number(n)}))
    return ", ".join(out)


def _demo_generate(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _fill("%(counts)s", counts=_counts(detail, ("clinics", "patients", "visits")))


def _demo_reset(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _fill(_("removed: %(counts)s"), counts=_counts(
        detail, ("clinics", "patients", "visits", "campaigns", "messages", "consent_events")))


def _import(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    kind = str(IMPORT_KINDS.get(str(detail.get("kind", "")), detail.get("kind", "")))
    if "rows" in detail:
        rows, written, errors = _n(detail["rows"]), _n(detail.get("written")), _n(detail.get("errors"))
        text = ngettext("%(n)s row", "%(n)s rows", rows) % {"n": _number(rows)}
        text += ", " + _("%(n)s saved") % {"n": _number(written)}
        if errors:
            text += ", " + ngettext("%(n)s with an error", "%(n)s with errors", errors) % {"n": _number(errors)}
        return _fill(_("%(kind)s: %(outcome)s"), kind=kind, outcome=text)
    status = {"queued": _("file received, in the queue"), "refused": _("nothing imported"),
              "failed": _("failed, nothing imported"), "done": _("done")}.get(str(detail.get("status")), "")
    return _fill(_("%(kind)s: %(outcome)s") if status else "%(kind)s", kind=kind, outcome=status)


def _consent(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    channel = _lower(str(dict(CONSENT_CHANNELS).get(str(detail.get("channel")), detail.get("channel", ""))))
    if detail.get("purpose") == "marketing" and detail.get("channel") != "marketing":  # rows before issue 20: none
        channel = _fill(_("%(channel)s, %(purpose)s"), channel=channel, purpose=str(dict(PURPOSES)["marketing"]))
    answer = pgettext("consent", "yes") if detail.get("accepts") else pgettext("consent", "no")
    methods = {str(code): str(words) for code, words in METHODS.items()}
    method = methods.get(str(detail.get("method")), str(detail.get("method", "")))
    return _fill(_("patient %(patient)s, %(channel)s: %(answer)s (%(method)s)"),
                 patient=str(detail.get("patient", "")), channel=channel, answer=answer, method=method)


def _lower(word: str) -> str:
    """"E-mail" → "e-mail" inside a sentence; "SMS" stays."""
    return word if word[:2].isupper() else word[:1].lower() + word[1:]


def _test_send(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    """"2 messages to their own phone or e-mail (SMS, e-mail)": never an address or a text (none is kept)."""
    n = _n(detail.get("messages"))
    names = [str(CHANNELS[c]) for c in detail.get("channels") or [] if c in CHANNELS]
    channels = [w if w.isupper() else w[:1].lower() + w[1:] for w in names]  # "SMS" stays, "E-mail" → "e-mail"
    what = ngettext("%(n)s message to their own phone or e-mail", "%(n)s messages to their own phone or e-mail",
                    n) % {"n": _number(n)}
    if channels:
        what = f"{what} ({', '.join(channels)})"
    if failed := _n(detail.get("failed")):
        what += ", " + ngettext("%(n)s failed", "%(n)s failed", failed) % {"n": _number(failed)}
    return _fill("%(what)s", what=what)


def _reschedule(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    """"“Recall A”: starts 08.12.2026 09:00, deadline 11.12.2026 09:00" (local time, the language's form)."""
    parts = []
    if start := _instant(detail.get("send_at")):
        parts.append(_("starts %(when)s") % {"when": when(start)})
    if deadline := _instant(detail.get("deadline")):
        parts.append(_("deadline %(when)s") % {"when": when(deadline)})
    return _with_campaign(event, known, ", ".join(parts)) if parts else _campaign_only(event, detail, known)


def _instant(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _campaign_only(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _campaign(event, known, detail.get("campaign")) or SafeString("")


def _names(values: Any, words: Mapping[str, Promise]) -> str:
    keys = list(values) if isinstance(values, dict | list | tuple) else []
    return ", ".join(str(words[k]) for k in keys if k in words)


def _clinic_settings(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    code = detail.get("clinic")
    clinic = known.clinics.get(code, code) if isinstance(code, str) else ""
    fields = _names(detail.get("fields", detail.get("changed")), CLINIC_SETTINGS)
    if clinic and fields:
        return _fill(_("%(clinic)s: %(fields)s"), clinic=clinic, fields=fields)
    return _fill("%(text)s", text=clinic or fields)


def _staff_contact(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    return _fill("%(fields)s", fields=_names(detail.get("fields", detail.get("changed")), CONTACT_FIELDS))


def _other(event: AuditEvent, detail: dict[str, Any], known: Known) -> SafeString:
    """An action or a detail this module does not know: only the counts it can say in the user's language
    ("3 patients, 5 messages"), never a raw key; nothing when it has none."""
    keys = [key for key in COUNTED if isinstance(detail.get(key), dict | list) or str(detail.get(key, "")).isdigit()]
    return _fill("%(counts)s", counts=_counts(detail, keys))


SENTENCES: dict[str, Callable[[AuditEvent, dict[str, Any], Known], SafeString]] = {
    "sign_in": _nothing,
    "sign_in_failed": _nothing,
    "sign_out": _nothing,
    "preview": _preview,
    "campaign_send": _send,
    "campaign_pause": _control(ngettext_lazy("%(n)s message held back", "%(n)s messages held back", "count")),
    "campaign_resume": _control(ngettext_lazy("%(n)s message back in the queue", "%(n)s messages back in the queue",
                                              "count")),
    "campaign_cancel": _control(ngettext_lazy("%(n)s message will not be sent", "%(n)s messages will not be sent",
                                              "count")),
    "campaign_resend_unknown": _control(ngettext_lazy("%(n)s message of unknown fate sent again",
                                                      "%(n)s messages of unknown fate sent again", "count")),
    "export": _export,
    "user_add": _user_add,
    "user_change": _user_change,
    "user_disable": _user_disable,
    "demo.generate": _demo_generate,
    "demo.reset": _demo_reset,
    "import": _import,
    "token_create": _token,
    "token_revoke": _token,
    "consent_record": _consent,
    "campaign_test_send": _test_send,
    "campaign_approve": _control(ngettext_lazy("%(n)s message may go now", "%(n)s messages may go now", "count")),
    "campaign_reject": _control(ngettext_lazy("%(n)s message will not be sent", "%(n)s messages will not be sent",
                                              "count")),
    "campaign_reschedule": _reschedule,
    "clinic_settings": _clinic_settings,
    "staff_contact": _staff_contact,
}
