"""The Bulk Mail form's SMS counter counts a marketing SMS's opt-out line, and the preview shows the line and warns
when marketing e-mails go without a one-click unsubscribe link (issue 20, 4)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.clinic.models import Clinic, Patient
from masspost.delivery.optout import SAMPLE_KEY
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db
TEXT_155 = "a" * 155


def counter(client: Client, text: str, *, purpose: str = "", field: str = "sms_en") -> str:
    data = {"field": field, field: text} | ({"purpose": purpose} if purpose else {})
    response = client.post("/bulk/sms/", data)
    assert response.status_code == 200
    return str(response.content.decode())


def stat(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:span|div)>', page, re.S)
    assert found, page
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_marketing_counts_the_link_line(alice: Client, settings: Any) -> None:
    settings.MASSPOST_PUBLIC_URL = "https://mp.example.ee"
    line = f"\nOpt out: https://mp.example.ee/u/{SAMPLE_KEY}"
    service = counter(alice, TEXT_155, purpose="service")
    assert stat(service, "parts") == "1 part" and 'data-testid="optout-line"' not in service
    marketing = counter(alice, TEXT_155, purpose="marketing")
    assert stat(marketing, "chars") == "155 characters"  # the text as written …
    assert stat(marketing, "optout-line") == f"+ opt-out line, {len(line)} characters"  # … and the line, apart
    assert stat(marketing, "parts") == "2 parts"  # the line makes it two
    assert stat(marketing, "left") == f"{2 * 153 - 155 - len(line)} left in this part"


def test_without_public_url_the_stop_word_line_with_the_clinics_number(alice: Client, settings: Any,
                                                                       clinic: Clinic) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    clinic.sms_reply_number = "+3725551234"
    clinic.save()
    page = counter(alice, "Tere!", purpose="marketing", field="sms_et")
    line = "\nLoobumiseks vastake STOP numbrile +3725551234"
    assert stat(page, "optout-line") == f"+ opt-out line, {len(line)} characters"
    assert stat(page, "left") == f"{160 - 5 - len(line)} left in this part"


def test_the_line_is_said_in_the_users_language(make_staff: Callable[..., Client], clinic: Clinic,
                                                settings: Any) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    estonian = make_staff("eve", "sender", clinic, language="et")
    page = counter(estonian, "Tere!", purpose="marketing", field="sms_et")
    assert stat(page, "optout-line") == "+ loobumisrida, 25 märki"  # "\nLoobumiseks vastake STOP"


def test_preview_shows_the_line_and_warns_without_public_url(alice: Client, settings: Any,
                                                             make_patient: Callable[..., Patient]) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    make_patient(language="et")
    page = alice.post("/bulk/preview/", form_data(purpose="marketing", channel="both", subject_et="Pakkumine",
                                                  body_et="Tere {first_name}")).content.decode()
    assert "Tere Mari! Aeg kontrolli.\nLoobumiseks vastake STOP" in page
    assert 'data-testid="optout-sms"' in page
    assert 'data-testid="optout-no-link"' in page
    settings.MASSPOST_PUBLIC_URL = "https://mp.example.ee"
    page = alice.post("/bulk/preview/", form_data(purpose="marketing", channel="both", subject_et="Pakkumine",
                                                  body_et="Tere {first_name}")).content.decode()
    assert f"Loobu: https://mp.example.ee/u/{SAMPLE_KEY}" in page
    assert 'data-testid="optout-no-link"' not in page
    service = alice.post("/bulk/preview/", form_data()).content.decode()
    assert 'data-testid="optout-sms"' not in service and "Loobu" not in service


@pytest.mark.parametrize(("language", "words"), [
    ("et", "pakkumistega e-kirjades pole ühe klõpsuga loobumise linki"),
    ("ru", "в рекламных письмах нет ссылки для отписки в один клик"),
    ("en", "the marketing e-mails have no one-click unsubscribe link")])
def test_the_warning_in_each_language(make_staff: Callable[..., Client], clinic: Clinic, settings: Any,
                                      make_patient: Callable[..., Patient], language: str, words: str) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    make_patient(language="et")
    client = make_staff("eve", "sender", clinic, language=language)
    page = client.post("/bulk/preview/", form_data(purpose="marketing", channel="email", subject_et="Pakkumine",
                                                   body_et="Tere")).content.decode()
    assert words in page
