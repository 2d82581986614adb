"""Review nit of the unsubscribe change (issue 20): the clinic settings page's POST carries a DKIM private key, so
an error report of that request — Django's debug page, an admin e-mail — masks it (sensitive_post_parameters).
The API's 500s log the method, path and frames only (api.problems), never the body."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.http import HttpRequest
from django.test import Client
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from masspost.clinic.models import Clinic

pytestmark = pytest.mark.django_db
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-not-a-real-key\n" \
      "-----END PRIVATE KEY-----"


def test_a_500_of_the_clinic_settings_page_does_not_report_the_dkim_key(ada: Client, clinic: Clinic,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> Clinic:
        raise RuntimeError("something broke")

    monkeypatch.setattr("masspost.web.views.clinics._clinic", broken)
    seen: list[HttpRequest] = []

    def keep(sender: Any, request: HttpRequest, **_kwargs: Any) -> None:
        seen.append(request)

    got_request_exception.connect(keep)
    ada.raise_request_exception = False
    try:
        response = ada.post("/clinics/TLN/", {"dkim_selector": "mp2026", "dkim_key": KEY,
                                              "marketing_window": "Mon-Fri 10:00-18:00"})
    finally:
        got_request_exception.disconnect(keep)

    assert response.status_code == 500
    [request] = seen
    posted = SafeExceptionReporterFilter().get_post_parameters(request)
    assert posted["dkim_key"] != KEY and "PRIVATE KEY" not in posted["dkim_key"]
    assert posted["dkim_selector"] == "mp2026"  # only the key is masked
    try:
        raise RuntimeError("something broke")
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" not in report
    assert "mp2026" in report  # the report does show the request's other fields
