"""The API preview refuses a subject the gateway could not send: 422 naming the field and the position (issue 16,
point 9)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_a_line_break_in_the_subject_is_422_with_the_field_path(alice: Api) -> None:
    body = {"name": "Recall", "channel": "email",
            "content": {"et": {"email_subject": "Tere\r\nBcc: all@example.com", "email_body": "Tere {first_name}"}}}
    response = alice.post("/campaigns/preview", body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:masspost:problem:invalid-campaign"
    assert problem["errors"] == [{"field": "content.et.email_subject", "in": "body",
                                  "message": "content.et.email_subject: line break at character 5 (a subject is "
                                             "one line)"}]
