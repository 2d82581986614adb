"""The API's preview (and so its send) refuses a NUL in a campaign's texts or name with a 422 naming the field:
PostgreSQL's JSON and text columns refuse a NUL, which was a 500 there (issue 16, point 5)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, recall

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("campaign", "field", "message"), [
    (recall(content={"et": {"sms": "Tere\u0000 {first_name}"}}), "content.et.sms",
     "content.et.sms: control character U+0000 at character 5 (a text may have line breaks and tabs, no other "
     "control character)"),
    (recall(channel="email", content={"ru": {"email_subject": "Привет", "email_body": "<p>\u0000</p>"}}),
     "content.ru.email_body", "content.ru.email_body: control character U+0000 at character 4 (a text may have "
     "line breaks and tabs, no other control character)"),
    (recall(name="Recall\u0000"), "name", "name: control character U+0000 at character 7 (a name is one line)"),
])
def test_a_nul_in_a_campaign_is_422_with_the_field_path(alice: Api, campaign: dict[str, object], field: str,
                                                       message: str) -> None:
    for path in ("/campaigns/preview", "/campaigns/counts"):
        response = alice.post(path, campaign)
        assert response.status_code == 422, response.content[:300]
        assert response.json()["errors"] == [{"field": field, "in": "body", "message": message}]


def test_a_nul_in_the_token_of_a_send_is_422(alice: Api) -> None:
    response = alice.post("/campaigns", {"campaign": recall(), "token": "\u0000"},
                          headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "token"


def test_a_nul_in_the_idempotency_key_is_422(alice: Api) -> None:
    response = alice.post("/campaigns", {"campaign": recall(), "token": "abc"}, headers={"Idempotency-Key": "k\u0000"})
    assert response.status_code == 422
    assert [(e["field"], e["in"]) for e in response.json()["errors"]] == [("Idempotency-Key", "header")]
