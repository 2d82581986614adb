"""Crafted query input is a 400 page that says what is wrong, never a 500 (out-of-range dates, "²", which
str.isdigit takes for a digit, numbers too big for the database); and every 500 of the web UI is logged with
its traceback's frames — not the exception's message, which may quote patient data."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Patient
from masspost.web.views import campaigns as campaigns_view

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "%C2%B2"  # "²"
HUGE = "9" * 30


def refused(response: Any, *words: str) -> str:
    page = response.content.decode()
    assert response.status_code == 400, (response.status_code, page[:300])
    assert all(word in page for word in words), page
    return page


@pytest.mark.parametrize(("query", "reason"), [
    ("until=9999-12-31", "9998-12-31"), ("since=9999-12-31", "9998-12-31"),
    ("until=0000-01-01&since=9999-12-31", "9998-12-31"),  # "0000": not a date, as if not given
    ("page=0", "page: "), (f"page={HUGE}", "1000000")])
def test_the_audit_log_refuses_out_of_range_filters(ada: Client, query: str, reason: str) -> None:
    refused(ada.get(f"/audit/?{query}"), reason)


def test_the_audit_log_takes_the_last_and_first_dates_it_can(ada: Client) -> None:
    assert ada.get("/audit/?since=0001-01-01&until=9998-12-31").status_code == 200
    assert ada.get("/audit/?until=not-a-date&page=x").status_code == 200  # does not parse: as if not given


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, "-1", HUGE, "1e3", "%EF%BC%91"])  # the last: a full-width 1
def test_bulk_start_is_a_whole_number_or_a_400(alice: Client, value: str) -> None:
    refused(alice.get(f"/bulk/?start={value}"), "start")


def test_a_campaigns_done_count_is_a_whole_number_or_a_400(alice: Client, tln_campaign: int) -> None:
    base = f"/campaigns/{tln_campaign}/?done=pause&n="
    refused(alice.get(base + SUPERSCRIPT_TWO), "“n”")
    refused(alice.get(base + HUGE), "“n”")
    assert alice.get(base + "3").status_code == 200


@pytest.mark.parametrize("query", [f"page={HUGE}", "page=0", "page=-5"])
def test_campaign_lists_refuse_out_of_range_pages(alice: Client, tln_campaign: int, query: str) -> None:
    refused(alice.get(f"/campaigns/?{query}"))
    refused(alice.get(f"/campaigns/{tln_campaign}/?{query}"))
    refused(alice.get(f"/campaigns/{tln_campaign}/messages/?{query}", HTTP_HX_REQUEST="true"))


def test_a_web_500_is_logged_with_its_frames_and_no_patient_data(alice: Client, monkeypatch: pytest.MonkeyPatch,
                                                                 request_log: io.StringIO,
                                                                 make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(first_name="Mari")
    message = f"{patient.first_name} {patient.last_name} {patient.phone_e164} broke it"  # as a database error may

    def boom(**kwargs: Any) -> Any:
        raise RuntimeError(message)

    monkeypatch.setattr(campaigns_view, "list_campaigns", boom)
    alice.raise_request_exception = False
    response = alice.get("/campaigns/")
    assert response.status_code == 500
    assert "Mari" not in response.content.decode()
    logged = request_log.getvalue()
    assert "ERROR django.request Internal Server Error: /campaigns/" in logged
    assert "RuntimeError" in logged and 'masspost/web/views/campaigns.py", line' in logged and "boom" in logged
    assert "Mari" not in logged and patient.phone_e164 not in logged and "broke it" not in logged


def test_a_404_or_a_400_is_not_logged_as_an_error(alice: Client, request_log: io.StringIO) -> None:
    alice.get("/campaigns/987654/")
    alice.get(f"/bulk/?start={SUPERSCRIPT_TWO}")
    assert request_log.getvalue() == ""


def test_an_id_too_big_for_the_database_is_not_found(alice: Client, ada: Client, tln_campaign: int) -> None:
    for path in ("/campaigns/{}/", "/campaigns/{}/progress/", "/campaigns/{}/messages.csv"):
        assert alice.get(path.format(HUGE)).status_code == 404, path
    assert alice.post(f"/campaigns/{HUGE}/pause/").status_code == 404
    assert ada.post(f"/users/{HUGE}/role/", {"role": "sender"}).status_code == 404
    assert ada.post(f"/users/{HUGE}/disable/").status_code == 404
    assert alice.get(f"/campaigns/{tln_campaign}/").status_code == 200


def test_the_reason_is_in_the_users_language(alice: Client) -> None:
    refused(alice.get(f"/bulk/?start={SUPERSCRIPT_TWO}", HTTP_ACCEPT_LANGUAGE="et"),
            "„start“ peab olema täisarv")
    refused(alice.get(f"/bulk/?start={HUGE}", HTTP_ACCEPT_LANGUAGE="ru"), "«start» должно быть в пределах")
