"""The API preview answers what the HTML cleaning took out of each e-mail body (issue 16, point 10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_the_preview_answer_names_what_was_removed(alice: Api, make_patient: Any) -> None:
    make_patient()
    body = {"name": "Recall", "channel": "email",
            "content": {"et": {"email_subject": "Aeg", "email_body": '<p onclick="x()">Tere</p><script>1</script>'},
                        "ru": {"email_subject": "Приём", "email_body": "<p>Здравствуйте</p>"}}}
    answer = alice.post("/campaigns/preview", body).json()
    assert answer["email_sanitised"] == {"et": [
        {"kind": "attribute", "name": "onclick", "count": 1, "text": "onclick attribute"},
        {"kind": "element", "name": "script", "count": 1, "text": "<script> element"}]}
    assert answer["email"]["et"]["sample"]["text"] == "<p>Tere</p>"  # the cleaned body: what is sent
