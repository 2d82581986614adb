"""Staff, for admins: who may sign in, with which clinics and role; add, change, disable. Each change is audited
by the staff services; an admin manages only staff all of whose clinics they reach (others are "not found")."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from masspost.clinic.scope import Role
from masspost.errors import MasspostError
from masspost.staff.selectors import scope_clinics, staff_list
from masspost.staff.services import staff_add, staff_change, staff_disable
from masspost.web.access import StaffRequest, staff

ROLES = [("preparer", _lazy("preparer: filter, compose, preview")), ("sender", _lazy("sender: also send and control")),
         ("admin", _lazy("admin: also staff and the audit log"))]


class UserForm(forms.Form):
    username = forms.CharField(label=_lazy("User name"), max_length=150)
    password = forms.CharField(label=_lazy("Password"), widget=forms.PasswordInput(render_value=False),
                               help_text=_lazy("At least 10 characters, not a common password."))
    role = forms.ChoiceField(label=_lazy("Role"), choices=ROLES, initial="preparer", widget=forms.RadioSelect)
    clinics = forms.MultipleChoiceField(label=_lazy("Clinics"), widget=forms.CheckboxSelectMultiple)


def _page(request: StaffRequest, form: UserForm, status: int = 200) -> HttpResponse:
    return render(request, "web/users.html", {"form": form, "users": staff_list(scope=request.scope),
                                              "roles": ROLES, "nav": "users"}, status=status)


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
def user_role(request: StaffRequest, username: str) -> HttpResponse:
    staff_change(username=username, role=request.POST.get("role", ""), scope=request.scope)
    return redirect("web:users")


@staff(Role.ADMIN)
@require_POST
def user_disable(request: StaffRequest, username: str) -> HttpResponse:
    staff_disable(username=username, scope=request.scope)
    return redirect("web:users")
