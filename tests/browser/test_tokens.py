"""The staff page's API tokens in the browser, as an admin uses them: make a token, see it once, copy it with the
Copy button (the clipboard holds the whole token, a screen reader hears "Copied"), find it listed by its prefix,
revoke it through the confirmation. Screenshots in Estonian, English and Russian, desktop and narrow; axe-core on
the page with the new token shown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import DEMO_CLINICS, DESKTOP, NARROW, PASSWORD, USERNAME, Site, set_language, shoot, sign_in
from tests.browser.test_accessibility import FAILING, axe, describe

TITLES = {"et": "Uus API-võti", "en": "New API token", "ru": "Новый API-токен"}
COPIED = {"et": "Kopeeritud: kleepige see kohe programmi.", "en": "Copied: paste it into the program now.",
          "ru": "Скопировано: вставьте его в программу сейчас."}


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_an_admin_makes_sees_once_and_revokes_a_token(lang: str, page: Any, context: Any, site: Site,
                                                      screenshots: Path) -> None:
    admin, name = f"boss-{lang}", f"nightly-{lang}"
    site.run("user", "add", admin, *(a for code in DEMO_CLINICS for a in ("--clinic", code)), "--role", "admin",
             "--password-stdin", stdin=PASSWORD + "\n")
    set_language(context, site, lang)
    sign_in(page, admin)
    page.goto("/users/#api-tokens")
    tokens = page.locator("#api-tokens")
    tokens.locator("select#id_username").select_option(USERNAME)
    tokens.locator("input#id_name").fill(name)
    tokens.locator("button[type=submit].primary").first.click()

    shown = page.get_by_test_id("new-token")
    expect(shown).to_be_visible()
    secret = page.locator("#new-token-secret").input_value()
    assert secret.startswith("mp_") and len(secret) == 46
    # Copy puts the whole token on the clipboard and says so in a status a screen reader announces.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page.evaluate("() => navigator.clipboard.writeText('')")
    copy = page.get_by_test_id("copy-token")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator("#copy-status[role=status]")).to_have_text(COPIED[lang])
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    row = page.locator("#api-tokens table tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator("code")).to_have_text(secret[:10] + "…")
    violations = [v for v in axe(page) if v["impact"] in FAILING]
    assert not violations, describe(f"{lang} tokens", violations)
    shoot(page, screenshots, f"{lang}-{{size}}-tokens.png")
    # On a phone the page never scrolls sideways: wide tables scroll inside their box, the token wraps.
    page.set_viewport_size(NARROW)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    box = page.locator("#new-token-secret").bounding_box()
    assert box is not None and box["x"] + box["width"] <= NARROW["width"]
    page.set_viewport_size(DESKTOP)

    # A reload of that answer sends the form again: no second token, and the reason beside the name field.
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page.locator("#api-tokens .field.has-error")).to_have_count(1)
    expect(page.locator("#api-tokens .field.has-error input#id_name")).to_have_count(1)
    expect(page.locator("#api-tokens table tbody tr", has_text=name)).to_have_count(1)
    if lang == "en":
        shoot(page, screenshots, "en-{size}-token-sent-again.png")

    # Shown once: the page again lists it by its prefix only.
    page.goto("/users/")
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert secret not in page.content()

    row = page.locator("#api-tokens table tbody tr", has_text=name)
    row.locator("button[data-open-dialog]").click()
    dialog = row.locator("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_contain_text(name)
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#api-tokens table tbody tr", has_text=name)).to_have_count(0)
    expect(page.locator("#token-add-title")).to_have_text(TITLES[lang])
