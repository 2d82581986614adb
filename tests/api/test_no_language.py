"""The API's preview and counts say how many patients have no language of their own, per language they get
(their clinic's): `no_language`, as `masspost preview --json` prints it; and the served schema documents it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


def test_preview_and_counts_say_how_many_have_no_language(alice: Api, make_patient: Any) -> None:
    make_patient(language="")
    make_patient(language="")
    make_patient(language="ru")
    for path in ("/campaigns/preview", "/campaigns/counts"):
        response = alice.post(path, recall())
        assert response.status_code == 200, response.content
        assert response.json()["no_language"] == {"et": 2}, path


def test_the_schema_documents_no_language(db: Any) -> None:
    schemas = Client().get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("PreviewOut", "CountsOut"):
        field = schemas[name]["properties"]["no_language"]
        assert field["additionalProperties"] == {"type": "integer"} and "clinic's default" in field["description"]
