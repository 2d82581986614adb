"""The user's own profile, the clinic settings and the approvals list in a real Chromium, in Estonian, English
and Russian, at desktop and phone size: reached from the menu, errors next to their fields keeping what was typed,
the approvals badge, no serious axe-core violation, no sideways scroll on a phone. Screenshots:
`<lang>-<desktop|narrow>-settings-<page>.png` in $MASSPOST_SCREENSHOTS (docs/ui.md)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import DEMO_CLINICS, PASSWORD, PHONE, REPO, Site, shoot, sign_in
from tests.browser.test_accessibility import FAILING, axe, describe

ADMIN = "kadri"
LANGS = ["et", "en", "ru"]
WORDS = {  # what each page says in each language, to know it is the page's own language
    "et": {"profile": "Proovisaated lähevad siia", "clinics": "Kliiniku seaded", "approvals": "Kinnitamised",
           "window_error": "Lõpp peab olema pärast algust", "phone_error": "Sellele numbrile ei saa saata"},
    "en": {"profile": "Test sends go here", "clinics": "Clinic settings", "approvals": "Approvals",
           "window_error": "The end must be after the start", "phone_error": "This is not a phone number"},
    "ru": {"profile": "Пробные отправки приходят сюда", "clinics": "Настройки клиник", "approvals": "Одобрения",
           "window_error": "Конец должен быть позже начала", "phone_error": "На этот номер нельзя отправить"},
}


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    """An admin of every demo clinic (the sender `mari` is made by the site)."""
    site.run("user", "add", ADMIN, *(a for code in DEMO_CLINICS for a in ("--clinic", code)), "--role", "admin",
             "--password-stdin", stdin=PASSWORD + "\n")
    return ADMIN


def no_serious_violations(page: Any, where: str) -> None:
    bad = [v for v in axe(page) if v["impact"] in FAILING]
    assert not bad, "axe: serious or critical violations\n" + describe(where, bad)


def fits_a_phone(page: Any) -> None:
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "sideways scroll"


@pytest.mark.parametrize("lang", LANGS)
def test_own_profile(lang: str, open_context: Callable[..., Any], screenshots: Path) -> None:
    page = open_context(lang).new_page()
    sign_in(page)
    page.locator("header .user-name").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator("main")).to_contain_text(WORDS[lang]["profile"])
    page.locator("#id_phone").fill("12345")
    page.locator("#id_email").fill(f"mari.{lang}@hammas.example")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_phone_error")).to_contain_text(WORDS[lang]["phone_error"])
    expect(page.locator("#id_phone")).to_have_value("12345")  # what was typed stays
    expect(page.locator("#id_email")).to_have_value(f"mari.{lang}@hammas.example")
    no_serious_violations(page, f"{lang} profile with an error")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-profile-error.png")

    page.locator("#id_phone").fill("5123 4567")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main .note.done")).to_be_visible()
    expect(page.locator("#id_phone")).to_have_value("+372 5123 4567")
    expect(page.locator("[data-testid=contact-now]")).to_contain_text("+372 5123 4567")
    no_serious_violations(page, f"{lang} profile saved")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-profile.png")
    fits_a_phone(page)


@pytest.mark.parametrize("lang", LANGS)
def test_clinic_settings(lang: str, admin: str, pending: int, open_context: Callable[..., Any],
                         screenshots: Path) -> None:
    """(`pending` first: Tallinn's approval rule shows in the list.)"""
    page = open_context(lang).new_page()
    sign_in(page, admin)
    page.locator("header nav a[href='/users/']").click()  # an admin's area: the staff page leads to the clinics
    page.locator("[data-testid=clinic-settings-link]").click()
    expect(page.locator("h1")).to_have_text(WORDS[lang]["clinics"])
    expect(page.locator("[data-testid=clinics] tbody tr")).to_have_count(len(DEMO_CLINICS))
    expect(page.locator("[data-testid=clinics] tbody tr").filter(has_text="Hammas Tallinn")).to_contain_text("5")
    no_serious_violations(page, f"{lang} clinics")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-clinics.png")
    fits_a_phone(page)
    page.set_viewport_size({"width": 1366, "height": 768})

    page.locator("a[href='/clinics/NRV/']").click()
    page.locator("#id_marketing_window").fill("Mon-Sat 20:00-09:00")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_marketing_window_error")).to_contain_text(WORDS[lang]["window_error"])
    expect(page.locator("#id_marketing_window")).to_have_value("Mon-Sat 20:00-09:00")
    no_serious_violations(page, f"{lang} clinic form with an error")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-clinic-error.png")
    fits_a_phone(page)
    page.set_viewport_size({"width": 1366, "height": 768})

    page.locator("#id_marketing_window").fill("Mon-Fri 09:00-19:00")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/clinics/\?saved=NRV$"))
    expect(page.locator("main .note.done")).to_be_visible()
    expect(page.locator("[data-testid=clinics]")).to_contain_text("Mon-Fri 09:00-19:00")


@pytest.fixture(scope="module")
def pending(site: Site, admin: str, browsers: Callable[[str], Any]) -> Iterator[int]:
    """Tallinn needs a second approver over 5 recipients (set by the admin on the clinic's page); a recall to
    Tallinn, sent from the command line, waits for one."""
    from tests.browser.conftest import new_context

    ctx = new_context(browsers, site, "en")
    try:
        page = ctx.new_page()
        sign_in(page, admin)
        page.goto("/clinics/TLN/")
        page.locator("#id_approval_over").fill("5")
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/clinics/\?saved=TLN$"))
    finally:
        ctx.close()
    spec = json.loads((REPO / "examples" / "recall.json").read_text(encoding="utf-8"))
    spec |= {"name": "Recall Tallinn", "channel": "sms"}
    spec["audience"] = {**spec["audience"], "clinics": ["TLN"]}
    done = site.run("send", "-", "--yes", "--json", stdin=json.dumps(spec))
    yield int(json.loads(done.stdout)["campaign"])
    # The site is the session's: what later tests send to Tallinn needs no approval, and the recall is cancelled.
    site.run("cancel", str(json.loads(done.stdout)["campaign"]))
    ctx = new_context(browsers, site, "en")
    try:
        page = ctx.new_page()
        sign_in(page, admin)
        page.goto("/clinics/TLN/")
        page.locator("#id_approval_over").fill("")
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/clinics/\?saved=TLN$"))
        page.goto("/clinics/NRV/")
        page.locator("#id_marketing_window").fill("Mon-Sat 09:00-20:00")
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/clinics/\?saved=NRV$"))
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", LANGS)
def test_approvals_badge_and_list(lang: str, pending: int, open_context: Callable[..., Any],
                                  screenshots: Path) -> None:
    page = open_context(lang).new_page()
    sign_in(page)  # mari, a sender: the campaign is not hers, so it waits for her
    badge = page.locator("[data-testid=approvals-badge]")
    expect(badge.locator("[aria-hidden=true]")).to_have_text("1")
    page.locator("[data-testid=approvals-link]").click()
    expect(page.locator("h1")).to_have_text(WORDS[lang]["approvals"])
    row = page.locator("[data-testid=approvals] tbody tr").filter(has_text="Recall Tallinn")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Hammas Tallinn")
    no_serious_violations(page, f"{lang} approvals")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-approvals.png")
    fits_a_phone(page)
    page.set_viewport_size({"width": 1366, "height": 768})
    row.locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{pending}/$"))
