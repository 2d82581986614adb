"""The patient page in the browser, as a receptionist uses it: a patient who answered STOP comes to the desk and
signs a form; she finds them by ID from the menu, sees why SMS is off, forgets to say how the consent was given
(the error sits on that field, the rest kept), then records it and sees it in the history. Screenshots in
Estonian, English and Russian, desktop and narrow; axe-core on the page with the form."""

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

from tests.browser.conftest import DESKTOP, NARROW, REPO, USERNAME, Site, set_language, shoot, sign_in
from tests.browser.test_accessibility import FAILING, axe, describe

MENU = {"et": "Patsiendid", "en": "Patients", "ru": "Пациенты"}
SIGNED_FORM = {"et": "allkirjastatud vorm", "en": "signed form", "ru": "подписанная форма"}
YES = {"et": "jah", "en": "yes", "ru": "да"}
REQUIRED = {"et": "See lahter on nõutav.", "en": "This field is required.", "ru": "Обязательное поле."}
STOPPED = """
import django, sys
django.setup()
from masspost.clinic.models import Patient
from masspost.delivery.inbound import inbound_record
p = Patient.objects.filter(clinic__code="TLN", accepts_sms=True, phone_status=1, status="active").order_by(
    "external_id")[int(sys.argv[1])]
assert inbound_record(p.phone_e164, "STOP").opted_out == 1
print(p.external_id)
"""


def stop_a_patient(site: Site, n: int) -> str:
    """A Tallinn demo patient who texts STOP (as the gateway would record it): their external id."""
    env = site.env | {"DJANGO_SETTINGS_MODULE": "masspost.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", STOPPED, str(n)], env=env, capture_output=True, text=True,
                          timeout=60, cwd=site.data_dir, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_a_receptionist_renews_consent_after_an_sms_stop(lang: str, page: Any, context: Any, site: Site,
                                                          screenshots: Path) -> None:
    ref = stop_a_patient(site, ["et", "en", "ru"].index(lang))
    set_language(context, site, lang)
    sign_in(page, USERNAME)
    page.locator("header nav a", has_text=MENU[lang]).click()
    page.locator("input[name=patient]").fill(ref)
    page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text(ref)
    sms_now = page.get_by_test_id("consents").locator("tbody tr[data-channel=sms] td[data-purpose=service]")
    expect(sms_now.locator(".status-cancelled")).to_be_visible()
    expect(sms_now.locator(".help")).to_contain_text("STOP")

    # How the patient gave it is required: the error on that field, what was typed kept.
    form = page.locator("form[method=post]", has=page.locator("select[name=method]"))
    form.locator("input[name=channel][value=sms]").check()
    form.locator("input[name=accepts][value=yes]").check()
    form.locator("input[name=note]").fill("Binder 3")
    form.locator("button[type=submit]").click()
    method = page.locator(".field.has-error", has=page.locator("select[name=method]"))
    expect(method).to_contain_text(REQUIRED[lang])
    expect(page.locator("input[name=note]")).to_have_value("Binder 3")
    expect(page.locator("input[name=channel][value=sms]")).to_be_checked()
    violations = [v for v in axe(page) if v["impact"] in FAILING]
    assert not violations, describe(f"{lang} patient form", violations)
    if lang == "en":
        shoot(page, screenshots, "en-{size}-patient-error.png")

    page.locator("select[name=method]").select_option(label=SIGNED_FORM[lang])
    form.locator("button[type=submit]").click()
    expect(page.locator("#history [role=status]")).to_be_visible()
    expect(sms_now.locator(".status-done")).to_have_text(YES[lang])
    last = page.get_by_test_id("history").locator("tbody tr").last
    expect(last).to_contain_text(USERNAME)
    expect(last).to_contain_text(SIGNED_FORM[lang])
    expect(last).to_contain_text("Binder 3")
    violations = [v for v in axe(page) if v["impact"] in FAILING]
    assert not violations, describe(f"{lang} patient", violations)
    shoot(page, screenshots, f"{lang}-{{size}}-patient.png")
    page.set_viewport_size(NARROW)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    page.set_viewport_size(DESKTOP)
