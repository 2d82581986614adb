"""Campaigns waiting for a second approver (issue 19), for senders and admins: each by name, linked to its page
(where the approve and reject buttons are), with its author, how many patients and messages, when it was sent
and when it is to start, and why it waits — the clinic rule it is over. A preparer cannot approve: 403."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from masspost.campaigns.approvals import approvals_pending
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role
from masspost.delivery.models import OutboxMessage
from masspost.web.access import StaffRequest, staff
from masspost.web.forms_campaigns import CHANNELS, PURPOSES
from masspost.web.templatetags.masspost_format import money


@dataclass(frozen=True, kw_only=True, slots=True)
class Waiting:
    campaign: Campaign
    patients: int
    own: bool  # the user's own campaign: another sender must approve it
    why: list[str]
    channel: str
    purpose: str


@staff(Role.SENDER)
def approvals(request: StaffRequest) -> HttpResponse:
    campaigns = approvals_pending(scope=request.scope)
    return render(request, "web/approvals.html", {"rows": _rows(request, campaigns), "nav": "approvals"})


def _rows(request: StaffRequest, campaigns: list[Campaign]) -> list[Waiting]:
    ids = [c.id for c in campaigns]
    # Patients per campaign: one grouped query over the outbox (a patient has a row per channel).
    patients = dict(OutboxMessage.objects.filter(campaign_id__in=ids).values("campaign_id").annotate(
        n=Count("patient_id", distinct=True)).values_list("campaign_id", "n")) if ids else {}
    # The rule each was held by, as the send recorded it (campaigns.services: the campaign_send row's "approval").
    needs = {cid: detail.get("approval") for cid, detail in AuditEvent.objects.filter(
        action="campaign_send", campaign_id__in=ids).values_list("campaign_id", "detail")
        if isinstance(detail, dict)} if ids else {}
    codes = {code for c in campaigns for code in _codes(c)}
    clinics = {c.code: c for c in Clinic.objects.filter(code__in=codes).only(
        "code", "name", "approval_over", "approval_cost_over")}
    return [Waiting(campaign=c, patients=patients.get(c.id, 0), own=c.created_by_user_id == request.scope.user_id,
                    why=_recorded(needs.get(c.id), clinics) or _why(
                        c, patients.get(c.id, 0), [clinics[k] for k in _codes(c) if k in clinics]),
                    channel=str(CHANNELS.get(c.channel, c.channel)),
                    purpose=str(PURPOSES.get(c.purpose, c.purpose)))
            for c in campaigns]


def _codes(campaign: Campaign) -> list[str]:
    value = campaign.audience.get("clinics") if isinstance(campaign.audience, dict) else None
    return [str(k) for k in value] if isinstance(value, dict | list) else []


def _over(n: int, clinic: str) -> str:
    return ngettext("more than %(n)s recipient (%(clinic)s)", "more than %(n)s recipients (%(clinic)s)", n) % {
        "n": intcomma(n), "clinic": clinic}


def _recorded(need: object, clinics: dict[str, Clinic]) -> list[str]:
    """The rule the send recorded (campaigns.approvals.ApprovalNeed.to_dict()), in words; [] when none was."""
    if not isinstance(need, dict) or not isinstance(need.get("clinic"), str):
        return []
    clinic = clinics[need["clinic"]].name if need["clinic"] in clinics else need["clinic"]
    over = str(need.get("over", ""))
    if need.get("rule") == "recipients" and over.isdigit():
        return [_over(int(over), clinic)]
    amount, _sep, currency = over.partition(" ")
    if need.get("rule") == "cost" and amount:
        try:
            shown = money(Decimal(amount), currency or "EUR")
        except ArithmeticError:
            return []
        return [_("marketing SMS costing more than %(amount)s (%(clinic)s)") % {"amount": shown, "clinic": clinic}]
    return []


def _why(campaign: Campaign, patients: int, clinics: list[Clinic]) -> list[str]:
    """Without a recorded rule (a campaign sent before it was kept): the clinic rules it is over now, in words
    ("more than 150 recipients (Hammas Tallinn)")."""
    out = []
    for clinic in clinics:
        if clinic.approval_over is not None and patients > clinic.approval_over:
            out.append(_over(clinic.approval_over, clinic.name))
        elif campaign.purpose == "marketing" and clinic.approval_cost_over is not None:
            out.append(_("marketing SMS costing more than %(amount)s (%(clinic)s)") % {
                "amount": money(Decimal(clinic.approval_cost_over)), "clinic": clinic.name})
    return out
