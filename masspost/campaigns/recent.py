"""Who was messaged lately, as the preview and the send need it (docs/campaign.md, "Recently messaged", "Shared
addresses", "Sent to the same patients today"):

- `recent_conditions`: per channel, the condition "got a message of a campaign of the same purpose on this
  channel within the last N days" (N: the campaign's `recently_messaged_days`, else for marketing each clinic's
  setting, for service 0 = off), which the audience query packs into each row (`recently_messaged`);
- `shared_losers`: per channel, the patients who share an address with another patient who gets the message, and
  who that is (`shared_address`, when the campaign sends one per address);
- `recent_overlap`: the campaign of the last 24 hours that reached most of this preview's recipients, when it
  reached more than half of them (a warning, not a rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from masspost.audience.selectors import (
    SHARED_EMAIL,
    SHARED_SMS,
    VALID_ADDRESS,
    ResolvedAudience,
    audience_patients,
    audience_sharers,
    communication_language,
)
from masspost.campaigns.models import Campaign
from masspost.campaigns.rules import NO_SENDER, RECENTLY_MESSAGED, SHARED_ADDRESS, sender_problem
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.content import choose_language
from masspost.delivery.models import MessageStatus, OutboxMessage

if TYPE_CHECKING:
    from masspost.campaigns.sweep import SweepResult

# A message counts as sent to the patient unless it failed, was cancelled, expired or was left out at the start.
COUNTED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED,
           MessageStatus.UNDELIVERED, MessageStatus.UNKNOWN)
WARNING_PERIOD = dt.timedelta(hours=24)
# A campaign's outbox is written in the send's transaction, with the campaign: its rows are never much younger
# than it. Only campaigns this much older than the period are left unread.
_SEND_MARGIN = dt.timedelta(days=1)
_ADDRESS = {"sms": "phone_e164", "email": "email_normalized"}
_SHARED_BIT = {"sms": SHARED_SMS, "email": SHARED_EMAIL}


def recently_messaged_days(spec: CampaignSpec, clinic: Clinic) -> int:
    """The campaign's own number of days, else for marketing the clinic's, else 0 (off)."""
    if spec.recently_messaged_days is not None:
        return spec.recently_messaged_days
    return clinic.recently_messaged_days if spec.marketing else 0


def recent_conditions(*, spec: CampaignSpec, resolved: ResolvedAudience, now: dt.datetime | None = None,
                      ignore_campaign: int | None = None) -> dict[str, Q]:
    """Per channel of the campaign, the condition on a patient (a Patient queryset's row) of having been messaged
    on that channel by a campaign of the same purpose within their clinic's N days; no entry when no clinic
    counts days or no such campaign was sent lately (then the audience query has nothing to look up).

    Each condition is an EXISTS on the outbox's unique (patient, campaign, channel) index, over the few campaigns
    sent within the period. `ignore_campaign`: a campaign whose own messages do not count (a pass over a sent
    campaign's spec, such as an approval's check, must not find its patients messaged by itself)."""
    now = now or timezone.now()
    by_days: dict[int, list[int]] = {}
    for clinic in resolved.clinics:
        if (days := recently_messaged_days(spec, clinic)) > 0:
            by_days.setdefault(days, []).append(clinic.id)
    if not by_days:
        return {}
    oldest = now - dt.timedelta(days=max(by_days)) - _SEND_MARGIN
    campaigns = sorted(set(Campaign.objects.filter(purpose=spec.purpose.value, created_at__gte=oldest)
                           .values_list("id", flat=True)) - {ignore_campaign})
    if not campaigns:
        return {}
    out = {}
    for channel in spec.channels:
        condition = Q(pk__in=[])
        for days, clinic_ids in sorted(by_days.items()):
            rows = OutboxMessage.objects.filter(patient=OuterRef("pk"), campaign_id__in=campaigns, channel=channel,
                                                status__in=COUNTED, created_at__gte=now - dt.timedelta(days=days))
            part = Exists(rows)
            # One number for every clinic of the audience: no need to say whose.
            condition |= Q(part) if len(clinic_ids) == len(resolved.clinics) else Q(clinic_id__in=clinic_ids) & Q(part)
        out[channel] = condition
    return out


def candidate_condition(*, spec: CampaignSpec, channel: str, recent: Mapping[str, Q],
                        senders: frozenset[int]) -> Q:
    """The patients who would get `channel`'s message before addresses are shared (every other reason passed):
    accepts the channel, consents to marketing on this channel when it is marketing, a usable address, not
    recently messaged, a text in their language (or the fallback), and a clinic in `senders` (a usable sender on
    the channel). Uses the audience's annotated `lang`."""
    sms = channel == "sms"
    where = Q(clinic_id__in=sorted(senders))
    where &= Q(accepts_sms=True, phone_status=VALID_ADDRESS) if sms else Q(accepts_email=True,
                                                                         email_status=VALID_ADDRESS)
    if spec.marketing:
        where &= Q(marketing_sms=True) if sms else Q(marketing_email=True)
    if recent.get(channel) is not None:
        where &= ~recent[channel]
    available = spec.languages_with(channel)
    if not (spec.fallback_language and spec.fallback_language in available):
        where &= Q(lang__in=sorted(available))
    return where


def shared_losers(*, spec: CampaignSpec, resolved: ResolvedAudience, recent: Mapping[str, Q],
                  senders: Mapping[str, frozenset[int]]) -> dict[int, tuple[int, dict[str, str]]]:
    """When the campaign sends one message per address (`spec.shares_addresses`): the patients left out as
    `shared_address`, by patient id: (the `Decides` bits to set, {channel: external id of who gets it}).

    Among the patients who would get a channel's message and share its address, one gets it: the one marked
    household contact, else the oldest (earliest birth date; none known counts as youngest), ties by the lowest
    external id. One query per channel, over the addresses used twice or more."""
    if not spec.shares_addresses:
        return {}
    out: dict[int, tuple[int, dict[str, str]]] = {}
    for channel in spec.channels:
        where = candidate_condition(spec=spec, channel=channel, recent=recent, senders=senders[channel])
        for pid, winner, _ in _losers(resolved, channel=channel, where=where):
            bits, names = out.get(pid, (0, {}))
            out[pid] = (bits | _SHARED_BIT[channel], names | {channel: winner})
    return out


_Sharer = tuple[int, str, str, bool, dt.date | None, str]


def _losers(resolved: ResolvedAudience, *, channel: str, where: Q) -> list[tuple[int, str, str]]:
    """(patient id, external id of who gets it, the patient's language) of each patient left out as shared."""
    by_address: dict[str, list[_Sharer]] = {}
    for row in audience_sharers(resolved, address=_ADDRESS[channel], where=where):
        by_address.setdefault(row[2], []).append(row)
    out = []
    for group in by_address.values():
        winner = min(group, key=_precedence)
        out += [(row[0], winner[1], row[5]) for row in group if row[0] != winner[0]]
    return out


def _precedence(row: _Sharer) -> tuple[Any, ...]:
    """Who of the sharers gets it first: the household contact, the oldest, the lowest external id (`ref_order`).
    The one rule wherever the winner is chosen (the preview's and the send's pass, rule_counts)."""
    _, ref, _, household, birth, _ = row
    return (not household, birth is None, birth or dt.date.max, *ref_order(ref))


def ref_order(ref: str) -> tuple[bool, int, str]:
    """The order of external ids (docs/campaign.md, "Shared addresses"): ids of ASCII digits only by number (9
    before 10), before any other id; the others, and ties in number ("007", "7"), in text order. A key, so the
    order is total (comparing numbers only when both ids are digits would not be: 10 < "1a" < 9 < 10)."""
    digits = ref.isascii() and ref.isdigit()
    return (not digits, int(ref) if digits else 0, ref)


@dataclass(kw_only=True, slots=True)
class RuleCounts:
    """For a count that classifies patients by the other reasons only (campaigns.selectors.campaign_counts): per
    channel, what the two lately-added rules change. `recent`: patients left out as recently_messaged that it
    counted as recipients, by the language they would have got; `recent_no_sender`: those it counted as
    no_sender (recently_messaged comes first); `shared`: recipients it counted who are left out as
    shared_address, by language."""

    recent: dict[str, dict[str, int]]
    recent_no_sender: dict[str, int]
    shared: dict[str, dict[str, int]]

    def apply(self, *, recipients: dict[str, dict[str, int]], excluded: dict[str, dict[str, int]]) -> None:
        """Move those patients in a count's `recipients` (language → channel → n) and `excluded` (channel →
        reason → n) to their reasons, in place."""
        for channel, reasons in excluded.items():
            for rule, by_lang in ((RECENTLY_MESSAGED, self.recent.get(channel, {})),
                                  (SHARED_ADDRESS, self.shared.get(channel, {}))):
                for lang, n in by_lang.items():
                    recipients[lang][channel] -= n
                    reasons[rule] += n
            if moved := self.recent_no_sender.get(channel, 0):
                reasons[NO_SENDER] -= moved
                reasons[RECENTLY_MESSAGED] += moved


def rule_counts(*, spec: CampaignSpec, resolved: ResolvedAudience, now: dt.datetime | None = None) -> RuleCounts:
    """What recently_messaged and shared_address change in a count by the other reasons (RuleCounts): a GROUP
    BY per channel when some patient may have been messaged lately, the shared-address query when the campaign
    sends one per address. Agrees with the sweep (the same conditions)."""
    recent = recent_conditions(spec=spec, resolved=resolved, now=now)
    senders = {ch: frozenset(c.id for c in resolved.clinics if sender_problem(c, ch) is None)
               for ch in spec.channels}
    every = frozenset(c.id for c in resolved.clinics)
    counts = RuleCounts(recent={}, recent_no_sender={}, shared={})
    for channel in spec.channels:
        if channel in recent:
            # Every earlier reason passed (any clinic), and messaged lately.
            where = candidate_condition(spec=spec, channel=channel, recent={}, senders=every) & recent[channel]
            rows = (audience_patients(resolved).annotate(lang=communication_language()).filter(where)
                    .values_list("clinic_id", "lang").annotate(n=Count("id")).order_by())
            by_lang: dict[str, int] = {}
            for clinic_id, lang, n in rows:
                if clinic_id in senders[channel]:
                    chosen = choose_language(lang, spec.languages_with(channel), spec.fallback_language)
                    assert chosen is not None
                    by_lang[chosen] = by_lang.get(chosen, 0) + n
                else:
                    counts.recent_no_sender[channel] = counts.recent_no_sender.get(channel, 0) + n
            counts.recent[channel] = by_lang
        if spec.shares_addresses:
            where = candidate_condition(spec=spec, channel=channel, recent=recent, senders=senders[channel])
            shared: dict[str, int] = {}
            for _, _, lang in _losers(resolved, channel=channel, where=where):
                chosen = choose_language(lang, spec.languages_with(channel), spec.fallback_language)
                assert chosen is not None
                shared[chosen] = shared.get(chosen, 0) + 1
            counts.shared[channel] = shared
    return counts


@dataclass(frozen=True, kw_only=True, slots=True)
class RecentOverlap:
    """A campaign sent in the last 24 hours to `patients` of the `of` patients this preview would message."""

    campaign_id: int
    name: str
    sent_at: dt.datetime
    patients: int
    of: int
    # When that campaign waits for its start still (scheduled, not started): its start. Its patients have not got
    # it yet — they are about to.
    starts_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "name": self.name, "sent_at": self.sent_at.isoformat(),
                "patients": self.patients, "of": self.of,
                "starts_at": self.starts_at.isoformat() if self.starts_at is not None else None}


def recent_overlap(*, resolved: ResolvedAudience, spec: CampaignSpec, recipients: int | SweepResult,
                   now: dt.datetime, scope: Scope | None = None) -> RecentOverlap | None:
    """The campaign sent (created) in the 24 hours before `now` that messaged the most of this preview's
    `recipients` (the patients who get at least one message: an int, or the pass's SweepResult.recipients),
    when that is more than half of them; else None.

    Its patients are counted among the audience's patients who would get a message of this campaign before
    addresses are shared (`candidate_condition` on some channel) and have a message of it that was not failed,
    cancelled, expired or left out. Only campaigns the `scope` may see (drawn from its clinics; without a scope:
    from the audience's clinics) are named."""
    if not isinstance(recipients, int):
        recipients = recipients.recipients
    if recipients <= 0:
        return None
    reachable = ({c.code for c in scope.clinics()} if scope is not None and scope.clinic_ids is not None
                 else None if scope is not None else {c.code for c in resolved.clinics})
    candidates = [c for c in Campaign.objects.filter(created_at__gte=now - WARNING_PERIOD, created_at__lte=now)
                  .only("id", "name", "created_at", "audience", "send_at", "started_at")
                  if reachable is None or set(c.audience.get("clinics", [])) <= reachable]
    if not candidates:
        return None
    recent = recent_conditions(spec=spec, resolved=resolved, now=now)
    gets = Q(pk__in=[])
    for channel in spec.channels:
        senders = frozenset(c.id for c in resolved.clinics if sender_problem(c, channel) is None)
        gets |= candidate_condition(spec=spec, channel=channel, recent=recent, senders=senders)
    patients = audience_patients(resolved).alias(lang=communication_language()).filter(gets).values("id")
    counts = (OutboxMessage.objects.filter(campaign_id__in=[c.id for c in candidates], status__in=COUNTED,
                                           patient_id__in=patients)
              .values("campaign_id").annotate(n=Count("patient_id", distinct=True)).order_by())
    best = max(((min(r["n"], recipients), r["campaign_id"]) for r in counts), default=None)  # ties: the newest
    if best is None or best[0] * 2 <= recipients:
        return None
    campaign = next(c for c in candidates if c.id == best[1])
    waiting = campaign.send_at is not None and campaign.started_at is None
    return RecentOverlap(campaign_id=campaign.id, name=campaign.name, sent_at=campaign.created_at, patients=best[0],
                         of=recipients, starts_at=campaign.send_at if waiting else None)

