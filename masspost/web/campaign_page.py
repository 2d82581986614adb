"""A campaign's page in words (issue 17, point 9): its audience as a sentence, who was left out per channel and
why, its texts per language, the statuses that have messages, the sending speed and the time left. Presentation
only: every number comes from campaigns.detail and campaign_status as they are."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from babel import UnknownLocaleError
from babel.lists import format_list
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from masspost.campaigns.detail import Audience, CampaignDetail
from masspost.campaigns.rules import REASONS
from masspost.clinic.scope import COMMAND_LINE_LABEL
from masspost.delivery.models import MessageStatus
from masspost.web.consent_words import SOURCES
from masspost.web.forms_campaigns import MESSAGE_STATUSES
from masspost.web.presenting import CHANNELS, LEFT_OUT, babel_language, country_name, language_name
from masspost.web.templatetags.masspost_format import day


def _names(items: list[str], style: Literal["standard", "or"] = "standard") -> str:
    """"Tallinn, Tartu and Narva" (style "or": "Estonia or Finland") in the user's language."""
    try:
        return format_list(items, style=style, locale=babel_language()) if items else ""
    except (UnknownLocaleError, ValueError):
        return ", ".join(items)


def _period(period: Any, reference: dt.date | None, *, visited: bool) -> str:
    if isinstance(period, int):
        if visited:
            return ngettext("visited in the last %(n)s month", "visited in the last %(n)s months",
                            period) % {"n": period}
        return ngettext("not visited in the last %(n)s month", "not visited in the last %(n)s months",
                        period) % {"n": period}
    start, end = period
    dates = {"from": day(start), "to": day(end)}
    until_today = reference is not None and end >= reference
    if visited:
        return (_("visited since %(from)s") if until_today else _("visited from %(from)s to %(to)s")) % dates
    return (_("not visited since %(from)s") if until_today else _("not visited from %(from)s to %(to)s")) % dates


def audience_words(audience: Audience) -> str:
    """"Patients of Hammas Tallinn, aged 18–65, living in Estonia, not visited since 07.12.2025"."""
    parts = [_("patients of %(clinics)s") % {"clinics": _names(audience.clinics)} if audience.clinics
             else _("patients of every clinic")]
    low, high = audience.age_min, audience.age_max
    if low is not None and high is not None:
        parts.append(_("aged %(min)s–%(max)s") % {"min": low, "max": high})
    elif low is not None:
        parts.append(_("aged %(min)s or over") % {"min": low})
    elif high is not None:
        parts.append(_("aged up to %(max)s") % {"max": high})
    if audience.countries:
        parts.append(_("living in %(countries)s") % {"countries": _names(
            [country_name(c) for c in audience.countries], "or")})
    if audience.visited is not None:
        parts.append(_period(audience.visited, audience.reference_date, visited=True))
    if audience.not_visited is not None:
        parts.append(_period(audience.not_visited, audience.reference_date, visited=False))
    return capfirst(", ".join(parts))


# Why an opt-out cancelled a message before it went (OutboxMessage.last_error of a `suppressed` row: the source
# kind of the opt-out, delivery.suppress); the patient's own words as the patient page says them. "migrated": a
# withdrawal the consent ledger's migration recorded (clinic migration 0007), found by the workers' look;
# "opted_out": the claim found the patient's consent refusing the row when it was due (delivery.turn.OPTED_OUT),
# whoever's word it was.
SUPPRESSED_REASONS: dict[str, Promise] = {
    "unsubscribe": SOURCES["unsubscribe"], "sms-stop": SOURCES["sms-stop"], "provider": SOURCES["provider"],
    "import": SOURCES["import"], "staff": _lazy("recorded by staff"), "api": _lazy("recorded through the API"),
    "operator": _lazy("recorded at the command line"), "migrated": SOURCES["migrated"],
    "opted_out": _lazy("opted out before it was sent"),
}
# Statuses the filter's list may not word (forms_campaigns.MESSAGE_STATUSES): still shown in the counts.
_FINAL_WORDS: dict[str, Promise] = {MessageStatus.LEFT_OUT.value: _lazy("left out at the start"),
                                    MessageStatus.SUPPRESSED.value: _lazy("opted out before sending")}


def suppressed_view(detail: CampaignDetail) -> dict[str, Any]:
    """"Opted out before sending: N", and by whose word: the messages an opt-out cancelled (delivery.suppress)."""
    reasons = getattr(detail, "suppressed", None) or {}
    return {"total": sum(reasons.values()),
            "reasons": [{"reason": r, "label": SUPPRESSED_REASONS.get(r, r), "count": n}
                        for r, n in reasons.items() if n]}


def left_out_view(detail: CampaignDetail) -> dict[str, Any]:
    """Per channel: how many got it, of how many patients, and who was left out and why; and who opted out before
    their message went (`suppressed`)."""
    known = detail.left_out.excluded
    patients = detail.left_out.patients
    channels = []
    for channel in detail.channels:
        reasons = (known or {}).get(channel, {})
        rows: list[dict[str, Any]] = [{"reason": r, "label": LEFT_OUT[channel].get(r, r), "count": reasons[r]}
                for r in REASONS if reasons.get(r)]
        channels.append({"channel": channel, "label": CHANNELS[channel],
                         "recipients": detail.recipients.get(channel, 0),
                         "excluded": sum(int(r["count"]) for r in rows), "reasons": rows})
    return {"known": known is not None, "patients": patients, "channels": channels,
            "suppressed": suppressed_view(detail)}


def author_words(created_by: str, user_id: int | None) -> str:
    """Who sent it: a user's name as it was, or "command line (root)" in the user's language."""
    if user_id is None and created_by.startswith(COMMAND_LINE_LABEL):
        return _("command line") + created_by[len(COMMAND_LINE_LABEL):]
    return created_by


def texts_view(detail: CampaignDetail) -> list[dict[str, Any]]:
    return [{"code": t.language, "name": language_name(t.language), "sms": t.sms,
             "subject": t.email_subject, "body": t.email_body, "html": t.email_html,
             "sms_count": t.recipients.get("sms", 0), "email_count": t.recipients.get("email", 0),
             "fallback": t.language == detail.fallback_language} for t in detail.texts]


def statuses_view(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Only the statuses that have messages, in the outbox's order, with their words: final ones the filter does
    not list (left out, suppressed) too, so that the counts add up to the total."""
    words = _FINAL_WORDS | MESSAGE_STATUSES
    return [{"status": s, "label": words[s], "n": counts.get(s, 0)} for s in MessageStatus.values
            if s in words and counts.get(s, 0)]


def time_left_words(left: dt.timedelta) -> str:
    """"less than a minute left", "about 14 min left", "about 2 h 5 min left" — short units, no plural to
    agree with."""
    minutes = round(left.total_seconds() / 60)
    if minutes < 1:
        return _("less than a minute left")
    hours, minutes = divmod(minutes, 60)
    if not hours:
        duration = _("%(m)s min") % {"m": minutes}
    elif not minutes:
        duration = _("%(h)s h") % {"h": hours}
    else:
        duration = _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return _("about %(left)s left") % {"left": duration}


def speed_words(per_minute: float) -> str:
    """"120 per minute"; below ten, to a tenth ("2,5"); a trickle under 0.1 as "under 0.1"; none at all said so."""
    if per_minute <= 0:
        return _("nothing sent in the last few minutes")
    if per_minute < 0.1:
        return _("under %(n)s per minute") % {"n": number_format(0.1, 1)}
    tenths = round(per_minute, 1)
    if per_minute < 10 and tenths != int(tenths):
        shown = number_format(tenths, 1)
    else:
        shown = number_format(round(per_minute), 0, force_grouping=True)
    return _("%(n)s per minute") % {"n": shown}
