"""The web preview says what the HTML cleaning took out of an e-mail body, in the user's language (issue 16,
point 10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from masspost.clinic.models import Clinic, Patient
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db
DIRTY = '<p onclick="x()">Tere {first_name}</p><script>alert(1)</script><a href="javascript:x()">link</a>'


@pytest.mark.parametrize(("language", "said"), [
    ("en", "Removed from the e-mail (et): onclick attribute, &lt;script&gt; element, javascript: link"),
    ("et", "E-kirjast eemaldati (et): atribuut onclick, &lt;script&gt;-element, javascript:-link"),
    ("ru", "Удалено из письма (et): атрибут onclick, элемент &lt;script&gt;, ссылка javascript:"),
])
def test_the_preview_page_lists_what_was_removed(make_staff: Callable[..., Client], clinic: Clinic,
                                                 make_patient: Callable[..., Patient], language: str,
                                                 said: str) -> None:
    make_patient()
    client = make_staff("alice", "sender", clinic, language=language)
    response = client.post("/bulk/preview/", form_data(channel="email", sms_et="", subject_et="Aeg",
                                                       body_et=DIRTY))
    assert response.status_code == 200
    page = response.content.decode()
    assert said in " ".join(page.split())
    assert "alert(1)" not in page and 'onclick="x()"' not in page
