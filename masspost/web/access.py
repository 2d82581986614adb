"""Who may open a view: one decorator at the top of each. Signed out → the sign-in page; signed in but not staff
(no clinics, no role) → 403; a role below the view's → 403. Objects of another clinic are 404, decided by the
selectors themselves (campaign_get), never here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails

from masspost.clinic.scope import Role, Scope
from masspost.errors import PermissionDeniedError

View = Callable[..., HttpResponseBase]


class StaffRequest(HttpRequest):
    """A request as a staff view sees it: `scope` set by web.middleware, `htmx` by django-htmx."""

    scope: Scope
    htmx: HtmxDetails


def staff(role: Role = Role.PREPARER) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: StaffRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                if request.htmx:
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = redirect_to_login(request.get_full_path()).url
                    return response
                return redirect_to_login(request.get_full_path())
            scope = request.scope
            if scope is None:
                raise PermissionDeniedError("this account is not a member of any clinic's staff")
            scope.require(role)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
