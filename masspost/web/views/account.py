"""Sign-in, sign-out and the UI language. Sign-ins (success and failure) are audited; the language a user picks
is remembered in a cookie and on their account, and comes back at their next sign-in."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from masspost.campaigns.audit import audit_record
from masspost.staff.selectors import staff_language
from masspost.staff.services import staff_set_language
from masspost.web.middleware import client_address


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
