"""A preparer sees counts and external ids, never names or contacts — in the preview's lists as in GET /patients
(issue 16, point 12): the lists leave those columns out for them; a sender gets them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Patient
from tests.web.conftest import preview

LINK = {"HTTP_SEC_FETCH_SITE": "same-origin"}  # the preview page's own links to its lists

pytestmark = pytest.mark.django_db


def rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_preparers_recipients_list_has_ids_but_no_names_or_addresses(bob: Client,
                                                                       patients: dict[str, Patient]) -> None:
    preview(bob, sms_ru="Здравствуйте, {first_name}!")
    listed = rows(bob.get("/bulk/preview/recipients.csv", **LINK))
    assert listed[0] == ["external_id", "channel", "language", "fallback", "encoding", "parts"]
    assert {r[0] for r in listed[1:]} == {patients["mari"].external_id, patients["ivan"].external_id,
                                          patients["olga"].external_id}
    text = "\n".join(",".join(r) for r in listed)
    for p in patients.values():
        assert p.first_name not in text and (not p.phone_e164 or p.phone_e164 not in text)


def test_a_preparers_excluded_list_says_why_without_names(bob: Client, patients: dict[str, Patient]) -> None:
    preview(bob)
    listed = rows(bob.get("/bulk/preview/excluded.csv", **LINK))
    assert listed[0] == ["external_id", "channel", "reason", "patient_language", "got_it"]
    assert [patients["anna"].external_id, "sms", "no_address", "et", ""] in listed


def test_a_sender_still_gets_names_and_addresses(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice)
    listed = rows(alice.get("/bulk/preview/recipients.csv", **LINK))
    assert listed[0][:3] == ["external_id", "first_name", "last_name"] and "address" in listed[0]
