"""A patient's page: found by external id (`/patients/?patient=P01042`), it shows who they are (names and contacts
only for the roles that may see them), their consent now — per channel, for all messages and for offers — and
every change of it in order, as proof (the words the patient was shown, the campaign it came from); senders and
admins record a consent the patient gave or withdrew — which channel and purpose, yes or no, how the patient gave
it, a note. That is how a patient's own opt-out (an SMS STOP) is renewed: the import never undoes it (docs/ui.md,
"Patients"; docs/consent.md)."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.validators import MaxLengthValidator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from masspost.campaigns.consent import (
    NOTE_MAX,
    NoteProblem,
    consent_note_normal,
    consent_note_problem,
    consent_record_by_staff,
)
from masspost.campaigns.selectors import campaign_get
from masspost.clinic.consent import RECORDS_CONSENT, ConsentEntry, PatientDetail, patient_detail
from masspost.clinic.models import PATIENT_OWN_SOURCES, ConsentMethod
from masspost.clinic.scope import Role, Scope
from masspost.consent import CHANNELS as CHANNEL_CODES
from masspost.consent import PURPOSES as PURPOSE_CODES
from masspost.errors import MasspostError, NotFoundError
from masspost.web.access import StaffRequest, staff
from masspost.web.consent_words import (
    FORM_CHANNELS,
    METHODS,
    PATIENT_OPT_OUT,
    PURPOSE_COLUMNS,
    PURPOSES,
    SOURCES,
    wording_words,
)
from masspost.web.templatetags.masspost_format import day, zone_label


class LookupForm(forms.Form):
    patient = forms.CharField(label=_lazy("Patient ID"), max_length=64,
                              help_text=_lazy("The ID from the clinic's patient system, e.g. P01042."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "lookup_%s")  # the consent form on the same page has a `patient` field too
        super().__init__(*args, **kwargs)


class ConsentForm(forms.Form):
    patient = forms.CharField(widget=forms.HiddenInput, max_length=64)
    channel = forms.ChoiceField(label=_lazy("Channel"), choices=FORM_CHANNELS, widget=forms.RadioSelect)
    purpose = forms.ChoiceField(label=_lazy("Consent to"), choices=PURPOSES, widget=forms.RadioSelect,
                                initial="service")
    accepts = forms.ChoiceField(label=_lazy("The patient"), widget=forms.RadioSelect,
                                choices=[("yes", _lazy("gives consent")), ("no", _lazy("withdraws consent"))])
    method = forms.ChoiceField(label=_lazy("How the patient said it"),
                               choices=[("", _lazy("— choose —")), *METHODS.items()])
    note = forms.CharField(label=_lazy("Note"), required=False, max_length=NOTE_MAX,
                           help_text=_lazy("Optional, e.g. where the signed form is kept. Only senders and admins "
                                           "see it."))

    def clean_note(self) -> str:
        note = consent_note_normal(self.cleaned_data["note"])  # the service's rule, said in the user's words
        problem = consent_note_problem(note)
        if problem is NoteProblem.TOO_LONG:
            MaxLengthValidator(NOTE_MAX)(note)
        if problem is NoteProblem.INVISIBLE:
            raise forms.ValidationError(_("A note cannot hold a control character or an invisible mark (such as a "
                                          "direction mark)."))
        return note


def _page(request: StaffRequest, *, lookup: LookupForm, detail: PatientDetail | None = None,
          form: ConsentForm | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"nav": "patients", "lookup": lookup, "detail": detail,
                               "may_record": request.scope.may(RECORDS_CONSENT)}
    if detail is not None:
        ref = detail.patient.external_id
        current = _current(detail)
        context |= {"form": form or ConsentForm(initial={"patient": ref}),
                    "history": _history(detail, request.scope), "current": current,
                    "opted_out": any(cell["opted_out"] for row in current for cell in row["cells"]),
                    "purposes": [PURPOSE_COLUMNS[p] for p in PURPOSE_CODES],
                    "recorded": request.GET.get("recorded", ""),
                    "zone_name": zone_label(detail.time_zone), "phone": _phone(detail.patient.phone)}
    # Names and contacts: the middleware marks every signed-in page no-store (a shared reception PC keeps none).
    return render(request, "web/patient.html", context, status=status)


@staff(Role.PREPARER)
def patients(request: StaffRequest) -> HttpResponse:
    """GET: the lookup, and the patient it names. POST: record a consent, then show the patient again."""
    if request.method == "POST":
        return _record(request)
    ref = request.GET.get("patient", "").strip()
    if not ref:
        return _page(request, lookup=LookupForm())
    lookup = LookupForm({"patient": ref})
    if not lookup.is_valid():
        return _page(request, lookup=lookup, status=422)
    try:
        detail = patient_detail(scope=request.scope, external_id=ref)
    except NotFoundError:
        # Another clinic's patient reads exactly like one that does not exist.
        lookup.add_error("patient", _("No patient with this ID in your clinics."))
        return _page(request, lookup=lookup, status=404)
    return _page(request, lookup=lookup, detail=detail)


def _record(request: StaffRequest) -> HttpResponse:
    request.scope.require(RECORDS_CONSENT)  # a preparer reads the page; recording is refused before anything
    form = ConsentForm(request.POST)
    ref = form.data.get("patient", "").strip()
    detail = patient_detail(scope=request.scope, external_id=ref)  # 404 for another clinic's, before anything
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = consent_record_by_staff(scope=request.scope, patient_external_id=ref, channel=data["channel"],
                                            purpose=data["purpose"], accepts=data["accepts"] == "yes",
                                            method=data["method"], note=data["note"])
        except NotFoundError:
            raise
        except MasspostError as exc:
            field, _sep, reason = str(exc).partition(": ")
            form.add_error(field if field in form.fields else None, reason or str(exc))
        else:
            query = urlencode({"patient": ref, "recorded": entry.id})
            return redirect(f"{reverse('web:patients')}?{query}#history")
    return _page(request, lookup=LookupForm({"patient": ref}), detail=detail, form=form, status=422)


def _phone(number: str | None) -> str:
    """A stored phone number (E.164) as a person reads it: "+372 5733 4375"; one that does not parse, as stored."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _current(detail: PatientDetail) -> list[dict[str, Any]]:
    """The consent now, a row per channel and a cell per purpose; for one the patient switched off themselves,
    when and how (the latest word that is not an import), so staff know why an import cannot switch it back on;
    for offers on a channel that is off as a whole, that none go."""
    latest: dict[tuple[str, str], ConsentEntry] = {}
    for entry in detail.history:
        if entry.source != "import":
            latest[(entry.channel, entry.purpose)] = entry
    labels = dict(FORM_CHANNELS)
    rows = []
    for channel in CHANNEL_CODES:
        cells = []
        for purpose in PURPOSE_CODES:
            accepts = detail.consent.get(channel, purpose)
            own = latest.get((channel, purpose))
            opted_out = (PATIENT_OPT_OUT[own.source] % {"date": day(own.at.date())}
                         if own is not None and not own.accepts and not accepts and own.source in PATIENT_OWN_SOURCES
                         else "")
            blocked = purpose == "marketing" and accepts and not detail.consent.get(channel, "service")
            cells.append({"purpose": purpose, "accepts": accepts, "opted_out": opted_out, "blocked": blocked})
        rows.append({"code": channel, "label": labels[channel], "cells": cells})
    return rows


def _history(detail: PatientDetail, scope: Scope) -> list[dict[str, Any]]:
    channels, purposes = dict(FORM_CHANNELS), dict(PURPOSES)
    campaigns = _campaigns({e.campaign_id for e in detail.history if e.campaign_id is not None}, scope)
    return [{"entry": e, "channel": channels.get(e.channel, e.channel), "purpose": purposes.get(e.purpose, e.purpose),
             "source": _source(e), "campaign": campaigns.get(e.campaign_id) if e.campaign_id is not None else None,
             "wording": wording_words(e.source, e.wording)}
            for e in detail.history]


def _campaigns(ids: set[int], scope: Scope) -> dict[int, dict[str, Any]]:
    """The campaigns events came from, each with its name and page where the user may see it (campaign_get's
    rule); another clinic's, or one deleted since, by its number only."""
    found: dict[int, dict[str, Any]] = {}
    for campaign_id in sorted(ids):
        try:
            campaign = campaign_get(campaign_id=campaign_id, scope=scope)
        except NotFoundError:
            found[campaign_id] = {"id": campaign_id, "name": "", "url": ""}
        else:
            found[campaign_id] = {"id": campaign_id, "name": campaign.name,
                                  "url": reverse("web:campaign", args=[campaign_id])}
    return found


def _source(entry: ConsentEntry) -> str:
    method = METHODS.get(ConsentMethod(entry.method), entry.method) if entry.method in ConsentMethod.values else ""
    if entry.source == "staff":
        return _("%(user)s (staff) — %(method)s") % {"user": entry.staff, "method": method}
    if entry.source == "api":
        return _("%(user)s, through the API — %(method)s") % {"user": entry.staff, "method": method}
    if entry.source == "operator":
        return _("the operator, at the command line — %(method)s") % {"method": method}
    return str(SOURCES.get(entry.source, entry.source))
