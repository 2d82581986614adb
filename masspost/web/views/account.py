"""Sign-in, sign-out, the UI language and the user's own profile. Sign-ins (success and failure) are audited; the
language a user picks is remembered in a cookie and on their account, and comes back at their next sign-in. The
profile holds the user's own phone and e-mail, where test sends go (never a patient's)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from masspost.campaigns.audit import audit_record
from masspost.clinic.contact import normalize_email, normalize_phone
from masspost.clinic.scope import Role
from masspost.errors import SpecError
from masspost.staff.selectors import staff_language
from masspost.staff.services import staff_set_contact, staff_set_language
from masspost.web.access import StaffRequest, staff
from masspost.web.middleware import client_address
from masspost.web.roles import role_name


class SignInForm(AuthenticationForm):
    """Django's sign-in, its refusals in the page's own words: "user name" as the field says it (Django's own
    Estonian says "kasutajatunnus" where the field says "Kasutajanimi")."""

    error_messages = {
        "invalid_login": _lazy("Wrong user name or password. Capital and small letters count."),
        "inactive": _lazy("This user has been disabled. Ask an administrator."),
    }


class SignInView(LoginView):
    template_name = "web/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        audit_record(action="sign_in", user=user, address=client_address(self.request))
        if language := staff_language(user_id=user.pk):
            _set_language(response, language)
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        # The name tried, never the password: it tells an admin which account is being guessed at.
        audit_record(action="sign_in_failed", actor=str(form.data.get("username", "")),
                     address=client_address(self.request))
        return super().form_invalid(form)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(action="sign_out", user=request.user, address=client_address(request))
    logout(request)
    return HttpResponseRedirect(reverse("web:sign_in"))


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    target = _page_to_return_to(target)
    response = HttpResponseRedirect(target)
    if code in dict(settings.LANGUAGES):
        _set_language(response, code)
        if request.user.is_authenticated:
            staff_set_language(user_id=request.user.pk, language=code)
    return response


# Pages that are the answer to a POST (a refused send): a GET of their URL is a 405, so switching the language
# there returns to the form, which the session's draft fills as it was (Back). The preview is not one: a GET of it
# previews the kept draft again, in the language just chosen.
ANSWERS_TO_POST = {"web:send": "web:bulk"}


def _page_to_return_to(target: str) -> str:
    try:
        match = resolve(urlsplit(target).path)
    except Resolver404:
        return target
    instead = ANSWERS_TO_POST.get(match.view_name)
    return reverse(instead) if instead else target


def _set_language(response: HttpResponse, code: str) -> None:
    translation.activate(code)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite="Lax", httponly=True,
                        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False))


# --- The user's own profile: their phone and e-mail for test sends (issue 19) -------------------------------------

class ContactForm(forms.Form):
    """The user's own phone and e-mail; either may be left empty (no test sends on that channel). Checked by the
    rules the service applies (clinic.contact), said in the user's language."""

    # Plain text inputs (the page's style), with the keyboard a phone needs.
    phone = forms.CharField(label=_lazy("Your phone"), required=False, max_length=40,
                            help_text=_lazy("Your own mobile number, e.g. +372 5123 4567."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    email = forms.CharField(label=_lazy("Your e-mail"), required=False, max_length=254,
                            help_text=_lazy("Your own work e-mail address."),
                            widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email",
                                                          "spellcheck": "false"}))

    def __init__(self, *args: Any, region: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_phone(self) -> str:
        value, problem = normalize_phone(self.cleaned_data["phone"], self.region)
        if "mobile" in problem:
            raise forms.ValidationError(_("This is not a mobile number: it cannot receive a test SMS."))
        if problem:
            raise forms.ValidationError(_("This is not a phone number we can send to. Write it with the country "
                                          "code, e.g. +372 5123 4567."))
        return value

    def clean_email(self) -> str:
        value, problem = normalize_email(self.cleaned_data["email"])
        if "SMTPUTF8" in problem:
            raise forms.ValidationError(_("masspost can send only to addresses with the letters a–z, digits and "
                                          "punctuation before the @."))
        if problem:
            raise forms.ValidationError(_("Enter an e-mail address like name@clinic.ee."))
        return value


def phone_shown(number: str) -> str:
    """A stored E.164 number as a person reads it: "+372 5123 4567"; one that does not parse, as stored."""
    if not number:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


@staff(Role.PREPARER)
def profile(request: StaffRequest) -> HttpResponse:
    """GET: the form with the user's phone and e-mail as stored. POST: change them (staff_set_contact, audited
    "staff_contact"), then show the page again with "Saved."; an error sits next to its field, keeping what was
    typed."""
    member = getattr(request.user, "staff", None)
    stored = {"phone": getattr(member, "phone", "") or "", "email": getattr(member, "email", "") or ""}
    region = _region(request)
    if request.method == "POST":
        form = ContactForm(request.POST, region=region)
        if form.is_valid():
            try:
                staff_set_contact(scope=request.scope, phone=form.cleaned_data["phone"],
                                  email=form.cleaned_data["email"])
            except SpecError as exc:
                field = "email" if str(exc).startswith("e-mail") else "phone"
                form.add_error(field, str(CONTACT_REFUSED[field]))
            else:
                return HttpResponseRedirect(reverse("web:profile") + "?saved=1")
        return _profile_page(request, form, stored, status=422)
    form = ContactForm(initial={"phone": phone_shown(stored["phone"]), "email": stored["email"]}, region=region)
    return _profile_page(request, form, stored, saved=request.GET.get("saved") == "1")


CONTACT_REFUSED = {"phone": _lazy("This phone number cannot be used for test sends."),
                   "email": _lazy("This e-mail address cannot be used for test sends.")}


def _profile_page(request: StaffRequest, form: ContactForm, stored: dict[str, str], *, status: int = 200,
                  saved: bool = False) -> HttpResponse:
    return render(request, "web/profile.html", {
        "form": form, "nav": "profile", "saved": saved, "phone": phone_shown(stored["phone"]),
        "email": stored["email"], "role": role_name(request.scope.role)}, status=status)


def _region(request: StaffRequest) -> str:
    """Where a number typed without its country code is read: as staff_set_contact reads it, the country of the
    user's first clinic (by code)."""
    return request.scope.clinics().order_by("code").values_list("country", flat=True).first() or ""
