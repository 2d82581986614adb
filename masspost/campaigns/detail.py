"""What a campaign's page shows beyond its progress: the texts it sent, the audience it was sent to, who was left
out and why, the names of its recipients (for a role that may see them), and how fast it is sending.

Reads only. The caller has fetched the campaign through campaign_get (its scope may see it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.campaigns.rules import REASONS
from masspost.campaigns.snapshot import snapshot_load
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.clinic.selectors import sees_contacts
from masspost.content.html import looks_like_html
from masspost.content.sanitise import sanitise_html
from masspost.delivery.models import CampaignGate, OutboxMessage
from masspost.delivery.selectors import OutboxPage, outbox_left_out_counts, outbox_page, outbox_suppressed_counts
from masspost.delivery.windows import outbox_first_openings

# How far back the page's first estimate of the sending speed looks, and how long a later estimate's window is
# at least (it is between SPEED_WINDOW and twice that: see speed_samples).
SPEED_LOOKBACK = dt.timedelta(minutes=5)
SPEED_WINDOW = 60  # seconds
SPEED_MIN_SPAN = 10  # seconds: over less, a speed says little


@dataclass(frozen=True, kw_only=True, slots=True)
class Text:
    """One language's texts as the campaign sent them (merge fields as written, no patient's data)."""

    language: str
    sms: str
    email_subject: str
    email_body: str
    email_html: bool  # the body is HTML, cleaned by masspost.content.sanitise: shown as such
    recipients: dict[str, int]  # channel → messages in this language


@dataclass(frozen=True, kw_only=True, slots=True)
class Audience:
    """The filter as the send resolved it: clinics by name, the dates the age and "today" were taken on."""

    clinics: list[str]  # names, in the order of their codes (none chosen: every clinic the sender could reach)
    age_min: int | None
    age_max: int | None
    countries: list[str]  # ISO 3166-1 codes
    # (from, to), or the last N months as a period that stays relative (audience.filter's last_months)
    visited: tuple[dt.date, dt.date] | int | None
    not_visited: tuple[dt.date, dt.date] | int | None
    reference_date: dt.date | None  # the day ages and "until today" were counted on


@dataclass(frozen=True, kw_only=True, slots=True)
class LeftOut:
    """Who the campaign's preview left out, per channel and reason; None per field when not known."""

    patients: int | None  # patients the filter selected
    excluded: dict[str, dict[str, int]] | None  # channel → reason → patients (non-zero only), in REASONS' order


@dataclass(frozen=True, kw_only=True, slots=True)
class ClinicOpening:
    """When one clinic's messages may go next (its sending window, from the campaign's SendingWindow rows)."""

    code: str
    name: str
    time_zone: str
    opens_at: dt.datetime | None  # now or later, UTC; None: no opening left before the deadline


@dataclass(frozen=True, kw_only=True, slots=True)
class CampaignDetail:
    texts: list[Text]
    audience: Audience
    left_out: LeftOut
    channels: tuple[str, ...]
    fallback_language: str
    recipients: dict[str, int] = field(default_factory=dict)  # channel → messages
    send_at: dt.datetime | None = None  # when it starts (None: at once)
    started_at: dt.datetime | None = None  # when its start's check ran (None: not yet, or it started at once)
    scheduled: bool = False  # it still waits for its start (can be rescheduled)
    deadline: dt.datetime | None = None  # what is not handed over by then expires
    approval: str = ""  # campaigns.models.Approval
    approved_by: str = ""  # who approved or rejected it
    approved_at: dt.datetime | None = None
    openings: list[ClinicOpening] = field(default_factory=list)  # by clinic code
    # Messages left out when it started, by reason (archived, deceased, moved_clinic, opted_out, …)
    left_out_at_start: dict[str, int] = field(default_factory=dict)
    # Messages an opt-out cancelled before they went, by reason (unsubscribe, sms-stop, provider, staff, …), the
    # most first (delivery.suppress)
    suppressed: dict[str, int] = field(default_factory=dict)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _range(value: Any) -> tuple[dt.date, dt.date] | int | None:
    if not isinstance(value, dict):
        return None
    months = value.get("last_months")
    if isinstance(months, int) and not isinstance(months, bool):
        return months
    start, end = _date(value.get("from")), _date(value.get("to"))
    return (start, end) if start and end else None


def campaign_audience(campaign: Campaign) -> Audience:
    """The stored audience (Campaign.audience: the filter, the clinics it resolved to, its reference dates)."""
    stored: dict[str, Any] = campaign.audience if isinstance(campaign.audience, dict) else {}
    chosen: dict[str, Any] = stored["filter"] if isinstance(stored.get("filter"), dict) else {}
    codes = [c for c in stored.get("clinics", []) if isinstance(c, str)]
    names = dict(Clinic.objects.filter(code__in=codes).values_list("code", "name"))
    age: dict[str, Any] = chosen["age"] if isinstance(chosen.get("age"), dict) else {}
    references = sorted(d for d in (_date(v) for v in stored.get("reference_dates", [])) if d)
    return Audience(clinics=[names.get(code, code) for code in codes], age_min=age.get("min"), age_max=age.get("max"),
                    countries=[c for c in chosen.get("countries", []) if isinstance(c, str)],
                    visited=_range(chosen.get("visited")), not_visited=_range(chosen.get("not_visited")),
                    reference_date=references[-1] if references else None)


def _left_out(campaign: Campaign, channels: tuple[str, ...]) -> LeftOut:
    """From the send's audit row when it kept the counts; else from the preview's fingerprint (kept a day,
    campaigns.snapshot); else not known."""
    sent = (AuditEvent.objects.filter(campaign=campaign, action="campaign_send").order_by("id")
            .values_list("detail", flat=True).first())
    if isinstance(sent, dict) and isinstance(sent.get("excluded"), dict):
        stored = sent["excluded"]
        patients = sent.get("patients")
        return LeftOut(patients=patients if isinstance(patients, int) else None,
                       excluded={ch: {r: int(n) for r, n in (stored.get(ch) or {}).items() if n} for ch in channels})
    seen = snapshot_load(token=campaign.token)
    if seen is None:
        return LeftOut(patients=_previewed_patients(campaign), excluded=None)
    outcomes: dict[str, list[str]] = seen.header["outcomes"]  # type: ignore[assignment]
    seen_channels: list[str] = seen.header["channels"]  # type: ignore[assignment]
    excluded: dict[str, dict[str, int]] = {}
    for index, channel in enumerate(seen_channels):
        tally = Counter(value >> 16 for value in seen.channels[index])
        names = outcomes[channel]
        excluded[channel] = {names[i]: n for i, n in sorted(tally.items()) if names[i] in REASONS and n}
    return LeftOut(patients=len(seen.ids), excluded={ch: excluded.get(ch, {}) for ch in channels})


def _previewed_patients(campaign: Campaign) -> int | None:
    """The patients of the preview the send was confirmed with, from its audit row (kept as long as the log): the
    same token is the same preview. Looked for in the day before the send (along the log's time index)."""
    detail = (AuditEvent.objects.filter(action="preview", at__lte=campaign.created_at,
                                        at__gte=campaign.created_at - dt.timedelta(days=1),
                                        detail__token=campaign.token)
              .order_by("-at").values_list("detail", flat=True).first())
    patients = detail.get("patients") if isinstance(detail, dict) else None
    return patients if isinstance(patients, int) else None


def campaign_last_sent(*, campaign_id: int) -> dt.datetime | None:
    """When the campaign's last message was handed over (None: none was)."""
    last: dt.datetime | None = OutboxMessage.objects.filter(campaign_id=campaign_id).aggregate(
        last=Max("sent_at"))["last"]
    return last


def _email_body(content: dict[str, Any]) -> tuple[str, bool]:
    """A language's e-mail body and whether it is HTML: an HTML body cleaned again on the way out (the page never
    trusts stored HTML)."""
    body = str(content.get("email_body") or "")
    html = looks_like_html(body)
    return (sanitise_html(body).html if html else body), html


def _contents(campaign: Campaign) -> dict[str, dict[str, Any]]:
    spec = campaign.spec if isinstance(campaign.spec, dict) else {}
    contents = spec.get("content") if isinstance(spec.get("content"), dict) else {}
    return {language: c for language, c in (contents or {}).items() if isinstance(c, dict)}


def campaign_openings(*, campaign: Campaign, now: dt.datetime) -> list[ClinicOpening]:
    """Per clinic of the campaign's sending windows, by code: when its messages may go next."""
    openings = outbox_first_openings(campaign_id=campaign.id, now=now)
    clinics = Clinic.objects.filter(id__in=list(openings)).only("id", "code", "name", "time_zone")
    return sorted((ClinicOpening(code=c.code, name=c.name, time_zone=c.time_zone, opens_at=openings[c.id])
                   for c in clinics), key=lambda o: o.code)


def campaign_summary(*, campaign: Campaign, now: dt.datetime | None = None) -> CampaignDetail:
    """The campaign's texts with how many got each, its audience, who was left out (at the preview and at its
    start) and who opted out before their message went, and when it goes: its start, deadline, approval and each
    clinic's next opening (as of `now`)."""
    channels = ("sms", "email") if campaign.channel == "both" else (campaign.channel,)
    per_language: dict[str, dict[str, int]] = {}
    for language, channel, n in (OutboxMessage.objects.filter(campaign_id=campaign.id).order_by()
                                 .values_list("language", "channel").annotate(n=Count("*"))):
        per_language.setdefault(language, {})[channel] = n
    texts = []
    for language, content in sorted(_contents(campaign).items()):
        body, html = _email_body(content) if "email" in channels else ("", False)
        texts.append(Text(language=language, sms=str(content.get("sms") or "") if "sms" in channels else "",
                          email_subject=str(content.get("email_subject") or "") if body else "",
                          email_body=body, email_html=html, recipients=per_language.get(language, {})))
    texts.sort(key=lambda t: (-sum(t.recipients.values()), t.language))  # the languages most got first
    recipients: dict[str, int] = {}
    for by_channel in per_language.values():
        for channel, n in by_channel.items():
            recipients[channel] = recipients.get(channel, 0) + n
    return CampaignDetail(texts=texts, audience=campaign_audience(campaign), left_out=_left_out(campaign, channels),
                          channels=channels, fallback_language=campaign.fallback_language, recipients=recipients,
                          send_at=campaign.send_at, started_at=campaign.started_at,
                          scheduled=CampaignGate.objects.filter(campaign_id=campaign.id, reason="scheduled").exists(),
                          deadline=campaign.deadline, approval=campaign.approval, approved_by=campaign.approved_by,
                          approved_at=campaign.approved_at,
                          openings=campaign_openings(campaign=campaign, now=now or timezone.now()),
                          left_out_at_start=outbox_left_out_counts(campaign_id=campaign.id),
                          suppressed=outbox_suppressed_counts(campaign_id=campaign.id))


def campaign_email_html(*, campaign: Campaign, language: str) -> tuple[str, str] | None:
    """The subject and the cleaned HTML body of the campaign's e-mail in `language`, merge fields as written; None
    when the campaign sent no e-mail in it or its body is plain text."""
    content = _contents(campaign).get(language)
    if content is None or campaign.channel not in ("email", "both"):
        return None
    body, html = _email_body(content)
    return (str(content.get("email_subject") or ""), body) if html else None


NAME_WORDS_MAX = 4  # words of a name searched for: a first name, a last name, and a double one of each


def campaign_recipients_page(*, scope: Scope, campaign_id: int, status: str = "", query: str = "",
                             by_name: bool = True, page: int = 1, per_page: int = 50) -> OutboxPage:
    """delivery.selectors.outbox_page, with the search by name too for a role that may see names: `query` is the
    beginning of an external id, or (sees_contacts and `by_name`) words each the beginning of the patient's first
    or last name ("mari", "Maasikas", "mari maa"). A preparer's query is an external id only, as before: a name
    searched for would tell them who is in the campaign. The web passes by_name=False for a query read from a URL:
    a name is searched for only when it came in a POST body, so that it never lands in an address, a history or
    a log."""
    words = query.split()[:NAME_WORDS_MAX]
    if not words or not by_name or not sees_contacts(scope):
        return outbox_page(campaign_id=campaign_id, status=status, ref_prefix=query, page=page, per_page=per_page)
    named = Q()
    for word in words:
        named &= Q(patient__first_name__istartswith=word) | Q(patient__last_name__istartswith=word)
    return outbox_page(campaign_id=campaign_id, status=status, ref_prefix=query, or_patient=named, page=page,
                       per_page=per_page)


def campaign_recipient_names(*, scope: Scope, message_ids: list[int]) -> dict[int, str]:
    """Message id → the patient's name, for a role that may see names (clinic.selectors.sees_contacts); nothing
    for any other, who sees external ids."""
    if not message_ids or not sees_contacts(scope):
        return {}
    rows = (OutboxMessage.objects.filter(id__in=message_ids)
            .values_list("id", "patient__first_name", "patient__last_name"))
    return {i: " ".join(part for part in (first, last) if part) for i, first, last in rows}


# --- the sending speed -----------------------------------------------------------------------------------------------

Sample = tuple[int, int]  # (unix seconds, messages handed over by then)


def campaign_speed_start(*, campaign_id: int, now: dt.datetime, sent: int, created_at: dt.datetime
                         ) -> tuple[Sample, ...]:
    """The first samples, from the outbox: as if the page had been watching since the first message handed over
    in the last SPEED_LOOKBACK — or, when none was, since the campaign began or the lookback did, with nothing
    handed over since (a speed of 0: the page says so rather than guess). One query, when the page loads; the
    polls carry their samples themselves."""
    since = max(created_at, now - SPEED_LOOKBACK)
    recent = (OutboxMessage.objects.filter(campaign_id=campaign_id, sent_at__gte=since)
              .aggregate(n=Count("*"), first=Min("sent_at")))
    at = int(now.timestamp())
    if not recent["n"] or recent["first"] is None:
        return ((int(since.timestamp()), sent), (at, sent))
    return ((int(recent["first"].timestamp()), max(0, sent - recent["n"])), (at, sent))


def speed_samples(samples: tuple[Sample, ...], *, at: int, sent: int) -> tuple[Sample, ...]:
    """The samples a poll passes on: the oldest kept until a newer one is SPEED_WINDOW old, so that the speed is
    always measured over SPEED_WINDOW to twice that (once there has been that long).

    The samples come back from the browser (the poll's URL): any that could not be true now — from the future, or
    more handed over than there are — are dropped, and at most two are kept. What is left can only mislead the
    page that sent them about its own campaign's speed, which is also all they are used for."""
    valid = tuple(s for s in samples if s[0] <= at and 0 <= s[1] <= sent)[-2:]
    if not valid:
        return ((at, sent),)
    newest = valid[-1]
    if at - newest[0] >= SPEED_WINDOW:
        return (newest, (at, sent))
    if len(valid) == 1 and at - newest[0] >= SPEED_MIN_SPAN:
        return (newest, (at, sent))
    return valid


def speed_per_minute(samples: tuple[Sample, ...], *, at: int, sent: int) -> float | None:
    """Messages handed over per minute since the oldest sample; None until it is SPEED_MIN_SPAN old."""
    if not samples:
        return None
    then, sent_then = samples[0]
    span = at - then
    if span < SPEED_MIN_SPAN or sent < sent_then:
        return None
    return (sent - sent_then) * 60 / span


def time_left(*, pending: int, per_minute: float | None) -> dt.timedelta | None:
    """How long the messages still waiting take at this speed; None when it cannot be told (no speed yet, or
    nothing is going out)."""
    if per_minute is None or per_minute <= 0:
        return None
    return dt.timedelta(seconds=round(pending * 60 / per_minute))
