"""A clinic's own DKIM key and SMS reply number on its settings page in a real Chromium, in Estonian, English and
Russian: a pasted key is checked, never shown again (not even with an error), and the page shows its fingerprint
and the TXT record to publish; no serious axe-core violation, no sideways scroll on a phone. Screenshots:
`<lang>-<desktop|narrow>-settings-clinic-dkim[-error].png` in $MASSPOST_SCREENSHOTS (docs/ui.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import DEMO_CLINICS, PASSWORD, PHONE, Site, shoot, sign_in
from tests.browser.test_accessibility import FAILING, axe, describe
from tests.delivery.test_dkim import make_pem

ADMIN = "riina"
WORDS = {
    "et": {"key_error": "See ei ole PEM-kujul RSA privaatvõti.", "own": "Kliinikul on oma võti.",
           "none": "Kliinikul ei ole oma võtit."},
    "en": {"key_error": "This is not an RSA private key in PEM form.", "own": "The clinic has its own key.",
           "none": "The clinic has no key of its own."},
    "ru": {"key_error": "Это не закрытый ключ RSA в формате PEM.", "own": "У клиники есть собственный ключ.",
           "none": "У клиники нет собственного ключа."},
}


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    site.run("user", "add", ADMIN, *(a for code in DEMO_CLINICS for a in ("--clinic", code)), "--role", "admin",
             "--password-stdin", stdin=PASSWORD + "\n")
    return ADMIN


def no_serious_violations(page: Any, where: str) -> None:
    bad = [v for v in axe(page) if v["impact"] in FAILING]
    assert not bad, "axe: serious or critical violations\n" + describe(where, bad)


def fits_a_phone(page: Any) -> None:
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "sideways scroll"
    page.set_viewport_size({"width": 1366, "height": 768})


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_a_clinics_own_dkim_key(lang: str, admin: str, open_context: Callable[..., Any], screenshots: Path) -> None:
    pem = make_pem()
    body = "".join(pem.strip().splitlines()[1:-1])
    page = open_context(lang).new_page()
    sign_in(page, admin)
    page.goto("/clinics/TRT/")
    expect(page.locator("[data-testid=dkim-key-state]")).to_contain_text(WORDS[lang]["none"])

    page.locator("#id_sms_reply_number").fill("5123 4567")
    page.locator("#id_dkim_selector").fill("mail2026")
    page.locator("#id_dkim_key").fill("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_dkim_key_error")).to_contain_text(WORDS[lang]["key_error"])
    expect(page.locator("#id_dkim_key")).to_have_value("")  # what was pasted is never sent back
    expect(page.locator("#id_dkim_selector")).to_have_value("mail2026")
    no_serious_violations(page, f"{lang} clinic DKIM key error")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-clinic-dkim-error.png")
    fits_a_phone(page)

    page.locator("#id_dkim_key").fill(pem)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/clinics/\?saved=TRT$"))
    page.goto("/clinics/TRT/")
    expect(page.locator("[data-testid=dkim-key-state]")).to_contain_text(WORDS[lang]["own"])
    expect(page.locator("[data-testid=dkim-fingerprint]")).to_have_value(re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$"))
    expect(page.locator("[data-testid=dkim-record]")).to_have_value(
        re.compile(r'^mail2026\._domainkey\.\S+ TXT "v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+"$'))
    expect(page.locator("#id_sms_reply_number")).to_have_value("+37251234567")
    assert body[:40] not in page.content() and body[-40:] not in page.content()
    no_serious_violations(page, f"{lang} clinic with its own DKIM key")
    shoot(page, screenshots, f"{lang}-{{size}}-settings-clinic-dkim.png")
    fits_a_phone(page)

    # Back as it was, for the other tests of this site.
    page.locator("#id_dkim_key_remove").check()
    page.locator("#id_sms_reply_number").fill("")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/clinics/\?saved=TRT$"))
    page.goto("/clinics/TRT/")
    expect(page.locator("[data-testid=dkim-key-state]")).to_contain_text(WORDS[lang]["none"])
    expect(page.locator("#id_dkim_selector")).to_have_value("")
