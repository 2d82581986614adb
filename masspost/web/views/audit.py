"""Placeholder until the audit page lands."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from masspost.clinic.scope import Role
from masspost.web.access import staff


@staff(Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(request, "web/error.html", {"title": "Audit", "message": ""})
