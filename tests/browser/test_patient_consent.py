"""The patient page as proof, in the browser: a patient whose offers by e-mail came from an import and who
unsubscribed from them by an e-mail's link comes to the desk and signs up for offers by e-mail again. The
receptionist sees the consent now as a small table (SMS and e-mail against all messages and offers, the
unsubscribe in its cell), records the new consent for offers by e-mail, and the history shows purpose and the
words the patient was shown. Estonian, English and Russian; desktop and phone screenshots; axe-core clean."""

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

from tests.browser.conftest import DESKTOP, PHONE, REPO, USERNAME, Site, set_language, shoot, sign_in
from tests.browser.test_accessibility import FAILING, axe, describe

LANGUAGES = ["et", "en", "ru"]
# The unsubscribe page's button, as the patient saw it in their language: the event's wording.
BUTTON = {"et": "Ei soovi enam pakkumisi e-postiga", "en": "No more offers by e-mail",
          "ru": "Больше не присылать предложения по e-mail"}
OFFERS = {"et": "pakkumised (turundus)", "en": "offers (marketing)", "ru": "предложения (маркетинг)"}
SIGNED_FORM = {"et": "allkirjastatud vorm", "en": "signed form", "ru": "подписанная форма"}
YES = {"et": "jah", "en": "yes", "ru": "да"}
UNSUBSCRIBED = """
import django, sys
django.setup()
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Patient
p = Patient.objects.filter(clinic__code="TLN", accepts_email=True, email_status=1, status="active").order_by(
    "-external_id")[int(sys.argv[1])]
consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=True, source="import",
               wording="file patients-2026-12.csv")
consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
               wording=sys.argv[2])
print(p.external_id)
"""


def unsubscribed(site: Site, n: int, wording: str) -> str:
    """A Tallinn demo patient (from the end of the list: test_patient takes them from the start) whose offers by
    e-mail an import gave and their unsubscribe link took back: their external id."""
    env = site.env | {"DJANGO_SETTINGS_MODULE": "masspost.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", UNSUBSCRIBED, str(n), wording], env=env, capture_output=True,
                          text=True, timeout=60, cwd=site.data_dir, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_receptionist_records_offers_by_e_mail_again(lang: str, page: Any, context: Any, site: Site,
                                                       screenshots: Path) -> None:
    ref = unsubscribed(site, LANGUAGES.index(lang), BUTTON[lang])
    set_language(context, site, lang)
    sign_in(page, USERNAME)
    page.goto(f"/patients/?patient={ref}")
    expect(page.locator("h1")).to_contain_text(ref)
    now = page.get_by_test_id("consents")
    expect(now.locator("thead th")).to_have_count(2)
    offers = now.locator("tr[data-channel=email] td[data-purpose=marketing]")
    expect(offers.locator(".status-cancelled")).to_be_visible()
    expect(offers.locator(".help")).to_be_visible()  # how and when the patient opted out
    expect(now.locator("tr[data-channel=email] td[data-purpose=service] .status-done")).to_have_text(YES[lang])
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr").last).to_contain_text(BUTTON[lang])
    expect(history.locator("tbody tr").last).to_contain_text(OFFERS[lang])
    shoot(page, screenshots, f"{lang}-{{size}}-patient-consent-before.png")

    form = page.locator("form[method=post]", has=page.locator("select[name=method]"))
    expect(form.locator("input[name=purpose][value=service]")).to_be_checked()  # the default
    form.locator("input[name=channel][value=email]").check()
    form.locator("input[name=purpose][value=marketing]").check()
    form.locator("input[name=accepts][value=yes]").check()
    form.locator("select[name=method]").select_option(label=SIGNED_FORM[lang])
    form.locator("input[name=note]").fill("Binder 4")
    form.locator("button[type=submit]").click()
    expect(page.locator("#history [role=status]")).to_be_visible()
    expect(offers.locator(".status-done")).to_have_text(YES[lang])
    expect(offers.locator(".help")).to_have_count(0)
    last = history.locator("tbody tr").last
    expect(last).to_contain_text(OFFERS[lang])
    expect(last).to_contain_text(SIGNED_FORM[lang])
    expect(last).to_contain_text("Binder 4")
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        violations = [v for v in axe(page) if v["impact"] in FAILING]
        assert not violations, describe(f"{lang} patient consent {size['width']}px", violations)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]")
    page.set_viewport_size(DESKTOP)
    shoot(page, screenshots, f"{lang}-{{size}}-patient-consent.png")
