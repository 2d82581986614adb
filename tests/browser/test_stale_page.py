"""A send refused because things changed since the preview, as staff see it in et, en and ru on a PC and a phone:
each kind of change in the page's language with its numbers, Back and Preview again in view."""

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

from tests.browser.conftest import VIEWPORTS, Site, set_language, sign_in
from tests.browser.test_tour import fill_bulk, settle
from tests.page_language import untranslated, visible_text

# Four Tallinn patients who get the SMS at the preview: one now opts out, one has a new phone number, one gets no
# SMS (opted out) but now accepts it, one is archived (no longer matches the filters).
CHANGE = """
from masspost.clinic.models import Patient
tln = Patient.objects.filter(clinic__code="TLN", status="active", language__in=["et", "ru", "en"],
                             phone_status=1).order_by("id")
sms = list(tln.filter(accepts_sms=True)[:{start} + 3])[{start}:]
Patient.objects.filter(id=sms[0].id).update(accepts_sms=False)
Patient.objects.filter(id=sms[1].id).update(phone_e164="+3725" + str(5000000 + sms[1].id))
Patient.objects.filter(id=sms[2].id).update(status="archived")
opted = tln.filter(accepts_sms=False).exclude(id=sms[0].id).order_by("-id").first()
Patient.objects.filter(id=opted.id).update(accepts_sms=True)
"""
SAID = {
    "et": ["1 saaja jääb nüüd SMS-ist välja (1 patsient on SMS-idest loobunud)", "1 patsient saab nüüd SMS-i",
           "1 saaja telefoninumber on muutunud", "1 patsient ei vasta enam filtritele"],
    "ru": ["1 получатель теперь исключён из SMS (1 пациент отказался от SMS)", "1 пациент теперь получит SMS",
           "У 1 получателя изменился номер телефона", "1 пациент больше не подходит под фильтры"],
    "en": ["1 recipient is now left out of the SMS (1 patient has opted out of SMS)", "1 patient now gets the SMS",
           "1 recipient's phone number changed", "1 patient no longer matches the filters"],
}


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_a_refused_send_says_what_changed_in_the_users_language(lang: str, site: Site, open_context: Callable[..., Any],
                                                               screenshots: Path) -> None:
    ctx = open_context(lang)
    set_language(ctx, site, lang)
    page = ctx.new_page()
    sign_in(page)
    fill_bulk(page, f"Stale {lang}")
    page.locator("button[name=preview]").click()
    expect(page).to_have_url(re.compile(r"/bulk/preview/$"))
    site.run("shell", "-c", CHANGE.format(start=3 * ["et", "en", "ru"].index(lang)))
    page.locator("button[data-open-dialog=confirm-send]").click()
    page.locator("dialog#confirm-send [data-testid=confirm-send]").click()
    reason = page.locator("[data-testid=stale-reason]")
    expect(reason).to_be_visible()
    said = reason.inner_text()
    for sentence in SAID[lang]:
        assert sentence in said, said
    if lang != "en":
        assert not untranslated(visible_text(page.content()), lang)
    settle(page)
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        expect(page.locator("main .actions button[type=submit]")).to_be_in_viewport()
        page.screenshot(path=str(screenshots / f"stale-{lang}-{size}.png"), full_page=True)
