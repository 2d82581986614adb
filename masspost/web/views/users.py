"""Staff, for admins: who may sign in, with which clinics and role; add, change, disable; and the REST API tokens
of those staff (make, revoke). Each change is audited by the staff services; an admin manages only staff all of
whose clinics they reach (others are "not found").

A new token's secret is rendered once, in the answer to the POST that made it: never in a URL, the session or a
redirect, and the answer is not cached. Each rendering of the form carries a random `attempt`; the session keeps
the attempts that made a token (never the secret), so the same form sent twice — a reload of that answer — makes
one token and says why, next to the name.

Users are named by id in the page's URLs and buttons: a name may hold anything stored before staff.names."""

from __future__ import annotations

import secrets

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_POST

from masspost.clinic.scope import Role
from masspost.errors import MasspostError, NotFoundError, PermissionDeniedError
from masspost.staff import names
from masspost.staff import tokens as api_tokens
from masspost.staff.names import NameProblem, username_normal, username_problem
from masspost.staff.selectors import scope_clinics, staff_list
from masspost.staff.services import staff_add, staff_change, staff_disable
from masspost.web.access import StaffRequest, staff
from masspost.web.query import whole_number
from masspost.web.roles import role_choices, role_described_choices, role_name

ROLES = role_described_choices()


NAME_PROBLEMS = {
    NameProblem.EMPTY: _lazy("A user needs a name."),
    NameProblem.TOO_LONG: ngettext_lazy("A user name has at most %(max)d character.",
                                        "A user name has at most %(max)d characters.", "max"),
    NameProblem.INVISIBLE: _lazy("A user name cannot hold a line break, a control character or an invisible mark "
                                 "(such as a direction mark)."),
    NameProblem.CHARACTERS: _lazy("Only letters, digits and @ . + - _ (no spaces or slashes)."),
    NameProblem.MIXED: _lazy("Letters of one alphabet only: this name mixes alphabets (such as Latin and Cyrillic "
                             "letters that look alike)."),
}


class UserForm(forms.Form):
    username = forms.CharField(label=_lazy("User name"), max_length=names.NAME_MAX,
                               help_text=_lazy("Letters, digits and @ . + - _"))
    password = forms.CharField(label=_lazy("Password"), widget=forms.PasswordInput(render_value=False),
                               help_text=_lazy("At least 10 characters, not a common password."))
    role = forms.ChoiceField(label=_lazy("Role"), choices=ROLES, initial="preparer", widget=forms.RadioSelect)
    clinics = forms.MultipleChoiceField(label=_lazy("Clinics"), widget=forms.CheckboxSelectMultiple)

    def clean_username(self) -> str:
        # The rule of staff.names, said in the user's language; the service applies it again for every caller.
        name = username_normal(self.cleaned_data["username"])
        if (problem := username_problem(name)) is not None:
            raise forms.ValidationError(NAME_PROBLEMS[problem], code=problem.value, params={"max": names.NAME_MAX})
        return name


class TokenForm(forms.Form):
    # A text field shown as a select: a name that is not the admin's to choose is "not found" (404) from the
    # service, like any other clinic's user, not a form error.
    username = forms.CharField(label=_lazy("User"), widget=forms.Select)
    name = forms.CharField(label=_lazy("Name"), max_length=api_tokens.NAME_MAX, required=False,
                           help_text=_lazy("What it is for. Without one it is called api, api-2, …"))
    # One per rendering of the form: the same form sent twice (a reload of the answer) makes one token, not two.
    attempt = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


ATTEMPTS = "masspost_token_attempts"  # the session's list of the attempts that made a token (never a secret)
ATTEMPTS_KEPT = 20


def _fresh_attempt() -> str:
    return secrets.token_urlsafe(12)


def _page(request: StaffRequest, form: UserForm | None = None, status: int = 200, *,
          token_form: TokenForm | None = None, new_token: api_tokens.NewToken | None = None) -> HttpResponse:
    users = staff_list(scope=request.scope)
    token_form = token_form or TokenForm(initial={"attempt": _fresh_attempt()})
    token_form.fields["username"].widget.choices = [
        (u.username, u.username) for u in users
        if u.active and api_tokens.token_may_make(scope=request.scope, user_id=u.user_id, role=u.role)]
    # Clinics by name and roles in words, as the rest of the page says them (staff_list keeps the codes).
    clinic_names = {c.code: c.name for c in scope_clinics(scope=request.scope)}
    rows = [{"u": u, "role_name": role_name(u.role), "clinics": [clinic_names.get(code, code) for code in u.clinics]}
            for u in users]
    return render(request, "web/users.html", {
        "form": form or _form(request), "rows": rows, "roles": role_choices(), "nav": "users",
        "token_form": token_form, "tokens": api_tokens.token_list(scope=request.scope), "new_token": new_token},
        status=status)


def _form(request: StaffRequest, data: object = None) -> UserForm:
    form = UserForm(data)  # type: ignore[arg-type]
    form.fields["clinics"].choices = [(c.code, c.name) for c in scope_clinics(scope=request.scope)]  # type: ignore[attr-defined]
    return form


@staff(Role.ADMIN)
def users(request: StaffRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, _form(request))
    form = _form(request, request.POST)
    if form.is_valid():
        try:
            staff_add(username=form.cleaned_data["username"], password=form.cleaned_data["password"],
                      clinics=form.cleaned_data["clinics"], role=form.cleaned_data["role"], scope=request.scope)
        except MasspostError as exc:
            field = "password" if str(exc).startswith("password") else "username"
            form.add_error(field, str(exc))
        else:
            return redirect("web:users")
    return _page(request, form, status=422)


@staff(Role.ADMIN)
@require_POST
def user_role(request: StaffRequest, user_id: int) -> HttpResponse:
    staff_change(user_id=user_id, role=request.POST.get("role", ""), scope=request.scope)
    return redirect("web:users")


@staff(Role.ADMIN)
@require_POST
def user_disable(request: StaffRequest, user_id: int) -> HttpResponse:
    staff_disable(user_id=user_id, scope=request.scope)
    return redirect("web:users")


@staff(Role.ADMIN)
@require_POST
def token_create(request: StaffRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid() and form.cleaned_data["attempt"] in request.session.get(ATTEMPTS, []):
        # The answer that showed a token, reloaded: the browser sent the same form again. Nothing new is made.
        data = request.POST.copy()
        data["attempt"] = _fresh_attempt()
        again = TokenForm(data)
        again.is_valid()
        again.add_error("name", _("This form made its token already, and a token is shown only once. If it was not "
                                  "copied, revoke it in the list of tokens and make another."))
        return _page(request, token_form=again, status=409)
    if form.is_valid():
        try:
            new = api_tokens.token_create(scope=request.scope, username=form.cleaned_data["username"],
                                          name=form.cleaned_data["name"])
        except NotFoundError:
            raise
        except PermissionDeniedError:
            form.add_error("username", _("An admin makes tokens only for themselves and for staff of a lower role: a "
                                         "token for this user can be made by them or by the operator at the "
                                         "command line."))
        except MasspostError as exc:
            form.add_error("name", str(exc))
        else:
            if attempt := form.cleaned_data["attempt"]:
                request.session[ATTEMPTS] = [*request.session.get(ATTEMPTS, []), attempt][-ATTEMPTS_KEPT:]
            response = _page(request, new_token=new)
            add_never_cache_headers(response)  # the secret must not stay in a cache, nor come back with "back"
            return response
    return _page(request, token_form=form, status=422)


@staff(Role.ADMIN)
@require_POST
def token_revoke(request: StaffRequest) -> HttpResponse:
    # The user by id, as the list names them (a stored name may not survive a form); by name for older pages.
    api_tokens.token_revoke(scope=request.scope, name=request.POST.get("name", ""),
                            username=request.POST.get("username", ""),
                            user_id=whole_number("user_id", request.POST.get("user_id", "")))
    return redirect(reverse("web:users") + "#api-tokens")
