"""The preview's decision stays in view (issue 17, points 1 and 2): on a clinic PC (1366×768) and a phone (390×844)
the summary (patients, recipients and parts per channel, left out per channel, cost) and Back / Send are on screen
wherever the page is scrolled, the bar stays short, and the confirmation repeats the bar's numbers, adding up."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, sign_in

TEXTS = {"et": ("Tere {first_name}! On õige aeg kontrolli tulla.", "Meeldetuletus", "Tere {first_name}!"),
         "ru": ("Здравствуйте, {first_name}! Пора на осмотр.", "Напоминание", "Здравствуйте!"),
         "en": ("Hello {first_name}! It's time for a check-up.", "Reminder", "Hello {first_name}!")}
MOST = {"desktop": 100, "phone": 190}  # px the bar may take: at most about a quarter of a phone's screen


def numbers(text: str) -> list[int]:
    return [int(re.sub(r"\D", "", n)) for n in re.findall(r"\d[\d\s\u00a0\u202f,]*\d|\d", text)]


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["et", "ru"])
def test_the_summary_and_the_actions_stay_in_view(open_context: Callable[..., Any], lang: str, size: str) -> None:
    page = open_context(lang, size).new_page()
    sign_in(page)
    page.goto("/bulk/")
    expect(page.locator("#answer [data-testid=patients]")).to_be_visible()
    page.locator("input[name=channel][value=both]").check()
    for code, (sms, subject, body) in TEXTS.items():
        tab = page.locator(f"#tab-{code}")
        if not tab.count():
            continue
        tab.click()
        page.locator(f"#id_sms_{code}").fill(sms)
        page.locator(f"#id_subject_{code}").fill(subject)
        page.locator(f"#id_body_{code}").fill(body)
    page.wait_for_timeout(600)
    page.locator("button[name=preview]").click()
    expect(page).to_have_url(re.compile(r"/bulk/preview/$"))

    height = VIEWPORTS[size]["height"]
    total = page.evaluate("document.documentElement.scrollHeight")
    assert total > 1.5 * height, "a page long enough for the question to matter"
    bar = page.locator("[data-testid=send-bar]")
    for y in (0, total // 3, 2 * total // 3, total):
        page.evaluate(f"window.scrollTo(0, {y})")
        for what in ("[data-testid=summary]", "[data-testid=back]", "button[data-open-dialog=confirm-send]"):
            box = page.locator(what).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (what, y, box)
        box = bar.bounding_box()
        assert box and box["height"] <= MOST[size], box

    # The bar's numbers are the table's, and the dialog's add up to them.
    sms = numbers(page.locator("[data-testid=sms-total]").inner_text())[0]
    parts = numbers(page.locator("[data-testid=parts-total]").inner_text())[0]
    emails = numbers(page.locator("[data-testid=email-total]").inner_text())[0]
    assert numbers(page.locator("[data-testid=summary-sms]").inner_text())[:2] == [sms, parts]
    assert numbers(page.locator("[data-testid=summary-email]").inner_text())[0] == emails
    page.locator("button[data-open-dialog=confirm-send]").click()
    dialog = page.locator("dialog#confirm-send")
    expect(dialog).to_be_visible()
    said = {name: numbers(dialog.locator(f"[data-n={name}]").inner_text())[0]
            for name in ("messages", "sms", "parts", "emails")}
    assert said == {"messages": sms + emails, "sms": sms, "parts": parts, "emails": emails}
    box = dialog.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] >= 0
    assert box["x"] + box["width"] <= VIEWPORTS[size]["width"]
    expect(dialog.locator("[data-testid=confirm-send]")).to_be_in_viewport()
