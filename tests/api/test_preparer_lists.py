"""One rule for who sees patients' names and contacts: a preparer's preview lists over the API leave them out,
as GET /patients does (issue 16, point 12)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


def test_a_preparer_gets_ids_without_names_in_patients_and_in_the_preview_lists(bob: Api, make_patient: Any) -> None:
    mari = make_patient(first_name="Mari", last_name="Maasikas")
    patient = bob.get("/patients").json()["items"][0]
    assert patient["external_id"] == mari.external_id and patient.get("first_name") is None
    response = bob.post("/campaigns/preview/recipients.csv", recall())
    assert response.status_code == 200
    listed = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()
                                         if response.streaming else response.content.decode())))
    assert listed == [["external_id", "channel", "language", "fallback", "encoding", "parts"],
                      [mari.external_id, "sms", "et", "", "GSM-7", "1"]]
