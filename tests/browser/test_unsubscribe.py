"""The patient's unsubscribe page in the browser: a patient opens the link of an offer by e-mail on a desktop or a
phone, in Estonian, English or Russian — the page in their language, calm and readable, axe-core clean — and
clicks "Unsubscribe from offers": the confirmation says so. A refused link is a page of its own. Screenshots:
unsubscribe-{lang}-{size}.png, unsubscribe-done-{lang}-{size}.png, unsubscribe-refused-et-{size}.png."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import REPO, Site
from tests.browser.test_accessibility import FAILING, axe, describe

OFFERS = {"et": "Loobu pakkumistest", "en": "Unsubscribe from offers", "ru": "Отписаться от предложений"}
QUESTION = {"et": "Milliseid sõnumeid Te enam ei soovi?", "en": "Which messages do you want to stop?",
            "ru": "Какие сообщения вы больше не хотите получать?"}
DONE = {"et": "Te ei saa enam kliinikult {clinic} pakkumisi e-posti teel.",
        "en": "You will no longer get offers by e-mail from {clinic}.",
        "ru": "Вы больше не будете получать предложений по электронной почте от клиники {clinic}."}
# A marketing e-mail campaign's link for a demo patient of the language (as a send stores it).
LINK = """
import django, sys
django.setup()
import datetime as dt
from django.utils import timezone
from masspost.campaigns.models import Campaign
from masspost.clinic.models import Patient
from masspost.delivery.models import OptOutLink
from masspost.delivery.optout import optout_key
lang, n = sys.argv[1], int(sys.argv[2])
# The n-th demo patient of the language who takes offers by e-mail, of any clinic (English speakers are few).
p = Patient.objects.filter(status="active", language=lang, accepts_email=True, marketing_email=True).order_by(
    "external_id")[n]
content = {"et": {"sms": "", "email_subject": "Sügisene pakkumine", "email_body": "Tere"},
           "en": {"sms": "", "email_subject": "Autumn offer", "email_body": "Hello"},
           "ru": {"sms": "", "email_subject": "Осеннее предложение", "email_body": "Здравствуйте"}}
c = Campaign.objects.create(name="Autumn offer", purpose="marketing", channel="email", spec={"content": content},
                            audience={}, token=f"browser-unsubscribe-{lang}-{n}",
                            deadline=timezone.now() + dt.timedelta(days=3), created_by="mari")
key = optout_key(campaign_id=c.id, patient_id=p.id, channel="email")
OptOutLink.objects.create(key=key, campaign=c, patient=p, channel="email", marketing=True)
print(key, p.clinic.name)
"""


def make_link(site: Site, lang: str, n: int) -> tuple[str, str]:
    """(the key, the clinic's name)"""
    env = site.env | {"DJANGO_SETTINGS_MODULE": "masspost.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", LINK, lang, str(n)], env=env, capture_output=True, text=True,
                          timeout=60, cwd=site.data_dir, check=True)
    key, clinic = done.stdout.strip().split(" ", 1)
    return key, clinic


def serious(page: Any, where: str) -> str:
    return describe(where, [v for v in axe(page) if v["impact"] in FAILING])


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_a_patient_unsubscribes_from_offers(lang: str, size: str, open_context: Any, site: Site,
                                            screenshots: Path) -> None:
    key, clinic = make_link(site, lang, ["desktop", "phone"].index(size))
    # The staff UI's language is another one: the page follows the patient's, not the browser's cookie.
    page = open_context("ru" if lang == "et" else "et", size).new_page()
    page.goto(f"/u/{key}")

    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(QUESTION[lang])
    expect(page.get_by_test_id("clinic")).to_have_text(clinic)
    offers = page.get_by_role("button", name=OFFERS[lang])
    expect(offers).to_be_visible()
    assert not serious(page, f"{lang} {size} choices"), serious(page, f"{lang} {size} choices")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways"
    page.screenshot(path=str(screenshots / f"unsubscribe-{lang}-{size}.png"), full_page=True)

    offers.click()

    expect(page.get_by_test_id("done")).to_have_text(DONE[lang].format(clinic=clinic))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert not serious(page, f"{lang} {size} done"), serious(page, f"{lang} {size} done")
    page.screenshot(path=str(screenshots / f"unsubscribe-done-{lang}-{size}.png"), full_page=True)
    # Opened again: it says so, and only "all e-mail" is left to choose.
    page.goto(f"/u/{key}")
    expect(page.get_by_test_id("state")).to_be_visible()
    expect(page.get_by_role("button", name=OFFERS[lang])).to_have_count(0)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_refused_link_says_so_in_the_browsers_language(size: str, open_context: Any, screenshots: Path) -> None:
    page = open_context("et", size).new_page()
    response = page.goto("/u/A1b2C3d4E5f6")
    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "et")
    expect(page.get_by_test_id("refused")).to_have_text(
        "See link ei kehti (enam). Sõnumitest loobumiseks võtke ühendust kliinikuga.")
    assert not serious(page, f"refused {size}"), serious(page, f"refused {size}")
    page.screenshot(path=str(screenshots / f"unsubscribe-refused-et-{size}.png"), full_page=True)
