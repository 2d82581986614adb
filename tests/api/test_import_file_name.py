"""A multipart upload's file name is what the import's consent events give as their wording (docs/consent.md,
"The ledger"): proof of which of the clinic's files said so — synchronously and as a job."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from masspost.clinic.models import ConsentEvent
from tests.api.conftest import Api
from tests.api.test_import_jobs import ASYNC, jobs  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

FILE = (b"external_id,clinic,first_name,phone,accepts_sms,marketing_consent\n"
        b"P-1,TLN,Mari,+37251234567,no,no\nP-2,TLN,Jaan,+37251234568,yes,yes\n")


def upload(api: Api, name: str, headers: dict[str, str] | None = None) -> Any:
    return api.client.post("/api/v1/imports/patients", {"file": SimpleUploadedFile(name, FILE, "text/csv")},
                           headers=api._headers(headers))


def wordings() -> set[tuple[str, str, str, str]]:
    return {(e.patient.external_id, e.channel, e.purpose, e.wording)
            for e in ConsentEvent.objects.select_related("patient")}


def test_a_multipart_uploads_name_is_its_events_wording(alice: Api) -> None:
    response = upload(alice, "C:\\exports\\recall-2026-12.csv")  # a browser may send a path: its last part
    assert response.status_code == 200, response.content
    assert wordings() == {("P-1", "sms", "service", "file recall-2026-12.csv"),
                          ("P-2", "sms", "marketing", "file recall-2026-12.csv"),
                          ("P-2", "email", "marketing", "file recall-2026-12.csv")}
    assert {e.source for e in ConsentEvent.objects.all()} == {"import"}


def test_a_plain_csv_body_has_no_name(alice: Api) -> None:
    response = alice.post("/imports/patients", FILE.decode(), content_type="text/csv")
    assert response.status_code == 200, response.content
    assert {w for *_, w in wordings()} == {"file (no name)"}


def test_an_import_job_keeps_the_uploads_name(alice: Api, jobs: list[dict[str, Any]],  # noqa: F811
                                              django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice, "patients-dec.csv", ASYNC)
    assert response.status_code == 202, response.content
    assert alice.get(response["Location"].removeprefix("/api/v1")).json()["status"] == "done"
    assert {w for *_, w in wordings()} == {"file patients-dec.csv"}
