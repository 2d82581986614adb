"""Clinic settings, for admins (issue 19): the clinics they administer with their sending rules at a glance, and a
form per clinic — marketing and service hours (written as in the clinics file, "Mon-Sat 09:00-20:00"), public
holidays off for marketing, the approval thresholds, a test before marketing, the recently-messaged days; and
(issue 20) the number patients text STOP to, and the clinic's own DKIM selector and key. The key is write-only:
the page shows whether one is set, its public key's fingerprint and the TXT record to publish, never the key — not
even back in the form after an error. The service (campaigns.clinic_settings) checks every value again and audits
the change ("clinic_settings"); another clinic is "not found" (404), a lesser role 403."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters

from masspost.campaigns.clinic_settings import (
    COST_MAX,
    DKIM_KEY_MAX,
    FIELDS,
    RECENTLY_MESSAGED_MAX,
    WRITE_ONLY,
    clinic_settings_change,
    clinic_settings_list,
)
from masspost.campaigns.price import sms_part_price
from masspost.clinic.contact import normalize_phone
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role
from masspost.delivery.dkim import DkimKeyError, clinic_record, key_from_pem, selector_problem
from masspost.errors import MasspostError, NotFoundError, SpecError
from masspost.schedule import DAYS, parse_window
from masspost.web.access import StaffRequest, staff
from masspost.web.templatetags.masspost_format import zone_label

WINDOW_HELP = _lazy("Days, then hours in the clinic's own time, e.g. Mon-Sat 09:00-20:00 or Mon-Fri,Sun "
                    "08:00-21:00. Mon-Sun 00:00-24:00 is always open.")


def window_problem(text: str) -> str:
    """Why `text` is not a sending window, in the user's language ("" when it is one). parse_window says it in
    English; the page says the same cases in the user's words."""
    try:
        parse_window(text)
    except ValueError as exc:
        reason = str(exc)
    else:
        return ""
    days = " ".join(DAYS)
    if "is not a day" in reason:
        return _("Write the days in English abbreviations: %(days)s.") % {"days": days}
    if "run backwards" in reason:
        return _("Write a range of days Monday first, e.g. Mon-Sat.")
    if "must be after" in reason:
        return _("The end must be after the start, e.g. 09:00-20:00 (24:00 is midnight at the day's end).")
    if "is not a time of day" in reason:
        return _("Write times from 00:00 to 24:00, e.g. 09:00-20:00.")
    return _("Write the days, then the hours, e.g. Mon-Sat 09:00-20:00.")


class WindowField(forms.CharField):
    def clean(self, value: Any) -> str:
        text = str(super().clean(value))
        if problem := window_problem(text):
            raise forms.ValidationError(problem, code="window")
        return str(parse_window(text))  # as the service stores it: "mon-sat 9:00-20:00" → "Mon-Sat 09:00-20:00"


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that is always empty: what was pasted into it (a private key) is never sent back to the browser,
    not even with an error."""

    def format_value(self, value: Any) -> None:
        return None


class ClinicSettingsForm(forms.Form):
    # Both windows share one help line under them (WINDOW_HELP and the days in the user's language).
    marketing_window = WindowField(label=_lazy("Marketing hours"), max_length=100,
                                   widget=forms.TextInput(attrs={"aria-describedby": "window-help"}))
    service_window = WindowField(label=_lazy("Service hours"), max_length=100,
                                 widget=forms.TextInput(attrs={"aria-describedby": "window-help"}))
    holidays = forms.BooleanField(label=_lazy("No marketing on the country's public holidays"), required=False)
    approval_over = forms.IntegerField(
        label=_lazy("Approval needed over this many recipients"), required=False, min_value=1,
        help_text=_lazy("A campaign to more patients waits until a second sender approves it. Empty: never."))
    approval_cost_over = forms.DecimalField(
        label=_lazy("Approval needed for marketing SMS costing over"), required=False, min_value=Decimal(0),
        max_value=COST_MAX, decimal_places=2, max_digits=10, localize=True)
    test_before_marketing = forms.BooleanField(
        label=_lazy("A test to oneself before every marketing campaign"), required=False)
    recently_messaged_days = forms.IntegerField(
        label=_lazy("Leave out patients messaged for marketing in the last … days"), min_value=0,
        max_value=RECENTLY_MESSAGED_MAX, help_text=_lazy("0 = off. A campaign may set its own number."))
    sms_reply_number = forms.CharField(
        label=_lazy("Number for STOP replies"), required=False, max_length=40,
        help_text=_lazy("A mobile number patients can text STOP to. A marketing SMS names it when it has no "
                        "opt-out link. Empty: none."))
    dkim_selector = forms.CharField(
        label=_lazy("DKIM selector"), required=False, max_length=63,
        help_text=_lazy("The name the key's DNS record is published under, e.g. mail2026. Empty: the "
                        "installation's key signs, if one is set."))
    dkim_key = forms.CharField(
        label=_lazy("New DKIM private key"), required=False, max_length=DKIM_KEY_MAX, strip=True,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false", "dir": "ltr"}),
        help_text=_lazy("An RSA private key in PEM form, without a passphrase (2048 bits is best). It is never "
                        "shown again. Empty: the current key stays."))
    dkim_key_remove = forms.BooleanField(label=_lazy("Remove the clinic's own DKIM key and selector"),
                                         required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["approval_cost_over"].help_text = _(
            "A marketing campaign whose SMS cost more (in %(currency)s) waits for a second sender. Empty: never.") % {
            "currency": _currency()}


    def clean_sms_reply_number(self) -> str:
        number, problem = normalize_phone(self.cleaned_data.get("sms_reply_number") or "", self.clinic.country)
        if problem:
            raise forms.ValidationError(_("Not a mobile number that can receive SMS. Write it with the country "
                                          "code, e.g. +372 5123 4567."), code="phone")
        return number

    def clean_dkim_selector(self) -> str:
        selector = str(self.cleaned_data.get("dkim_selector") or "").strip()
        if selector and selector_problem(selector):
            raise forms.ValidationError(_("Letters a–z, digits and hyphens, with dots between parts, e.g. "
                                          "mail2026."), code="selector")
        return selector

    def clean_dkim_key(self) -> str:
        text = str(self.cleaned_data.get("dkim_key") or "")
        if not text:
            return ""
        try:
            key_from_pem("check", text)
        except DkimKeyError as exc:
            if "encrypted" in str(exc):
                message = _("The key is protected by a passphrase: paste it without one.")
            elif "bits" in str(exc):
                message = _("The key is too short: use an RSA key of 2048 bits.")
            else:
                message = _("This is not an RSA private key in PEM form. It begins with "
                            "-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----.")
            raise forms.ValidationError(message, code="dkim_key") from None
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("dkim_key_remove"):
            if data.get("dkim_key"):
                self.add_error("dkim_key", _("Either paste a new key or remove the key, not both."))
            data["dkim_selector"] = ""  # a selector without its key means nothing
            return data
        if "dkim_key" in self.errors or "dkim_selector" in self.errors:
            return data  # one error at a time: a key that cannot be read is not also "missing"
        has_key = bool(data.get("dkim_key") or self.clinic.dkim_key)
        if data.get("dkim_selector") and not has_key:
            self.add_error("dkim_key", _("A selector needs its key: paste the private key."))
        if not data.get("dkim_selector") and has_key:
            self.add_error("dkim_selector", _("A key needs its selector: the name its DNS record is published "
                                              "under."))
        return data

    def values(self) -> dict[str, Any]:
        """What to hand the service: a new key only when one was pasted, None to remove it."""
        values = {name: value for name, value in self.cleaned_data.items() if name in FIELDS}
        if self.cleaned_data.get("dkim_key_remove"):
            values["dkim_key"] = None
        elif not values.get("dkim_key"):
            values.pop("dkim_key", None)
        return values


def _currency() -> str:
    try:
        price = sms_part_price()
    except MasspostError:
        price = None
    return price.currency if price else "EUR"


def _clinic(request: StaffRequest, code: str) -> Clinic:
    """The clinic `code` among the admin's own; another clinic's reads as one that does not exist (404)."""
    for clinic in clinic_settings_list(scope=request.scope):
        if clinic.code == code:
            return clinic
    raise NotFoundError("no such clinic of yours")


def day_legend() -> str:
    """"Mon = Monday, Tue = Tuesday, …" with the days named in the user's language (Django's own names)."""
    lower = (get_language() or "").split("-")[0] in ("et", "ru")  # a day's name is not capitalised there
    return ", ".join(f"{abbr} = {str(WEEKDAYS[i]).lower() if lower else WEEKDAYS[i]}" for i, abbr in enumerate(DAYS))


@staff(Role.ADMIN)
def clinics(request: StaffRequest) -> HttpResponse:
    """The admin's clinics, one row each, with their sending rules at a glance."""
    listed = clinic_settings_list(scope=request.scope)
    rows = [{"clinic": c, "zone": zone_label(c.time_zone)} for c in listed]
    return render(request, "web/clinics.html", {
        "rows": rows, "nav": "clinics", "currency": _currency(), "days": day_legend(),
        "saved": next((c.name for c in listed if c.code == request.GET.get("saved")), "")})


@sensitive_post_parameters("dkim_key")
@staff(Role.ADMIN)
def clinic(request: StaffRequest, code: str) -> HttpResponse:
    """GET: the clinic's form filled with its settings. POST: change them, then back to the list ("Saved."); an
    error sits next to its field and keeps what was typed. The DKIM private key in the body is masked in any error
    report of this request (Django's debug page, an admin e-mail)."""
    found = _clinic(request, code)
    if request.method != "POST":
        form = ClinicSettingsForm(initial={name: getattr(found, name) for name in FIELDS if name not in WRITE_ONLY},
                                  clinic=found)
        return _page(request, found, form)
    form = ClinicSettingsForm(request.POST, clinic=found)
    if form.is_valid():
        try:
            clinic_settings_change(scope=request.scope, code=found.code, values=form.values())
        except SpecError as exc:
            field = str(exc).partition(":")[0].strip()
            form.add_error(field if field in form.fields else None, _("This value cannot be saved."))
        else:
            return redirect(f"{reverse('web:clinics')}?saved={found.code}")
    return _page(request, found, form, status=422)


def _page(request: StaffRequest, found: Clinic, form: ClinicSettingsForm, *, status: int = 200) -> HttpResponse:
    return render(request, "web/clinic.html", {"clinic": found, "form": form, "nav": "clinics", "days": day_legend(),
                                               "window_help": WINDOW_HELP, "zone": zone_label(found.time_zone),
                                               "dkim": clinic_record(found), "dkim_key_set": bool(found.dkim_key)},
                  status=status)
