"""Bulk Mail's form in a real browser (issue 17, points 3, 10, 12 and 13), in et, en and ru, on a desktop (1366×768)
and a phone (390×844): the answer bar is short and stays in view, the filters' labels line up, a visit period's
number or dates show only when chosen, and a merge-field mistake is said once, in the page's language."""

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

from tests.browser.conftest import Site, set_language, sign_in

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
MISTAKE = {"et": "{eesnimi} – sellist välja masspost ei tunne.", "en": "{eesnimi} is not a field masspost knows",
           "ru": "{eesnimi} — такого поля masspost не знает."}


def settle(page: Any) -> None:
    page.wait_for_timeout(600)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found, f"{selector} is not shown"
    return dict(found)


def cut(page: Any) -> list[str]:
    """The texts in the answer bar that do not fit their box (cut off, or hidden behind an ellipsis)."""
    return list(page.evaluate("""() => [...document.querySelectorAll('footer.answer *')]
        .filter(e => e.checkVisibility() && e.scrollWidth > e.clientWidth + 1
                && getComputedStyle(e).overflowX !== 'visible')
        .map(e => e.textContent.trim())"""))


def open_form(page: Any, context: Any, site: Site, lang: str) -> None:
    set_language(context, site, lang)
    page.set_viewport_size(LAPTOP)
    sign_in(page)
    page.locator("[data-testid=start-over]").click()  # an empty draft, whatever an earlier test left
    page.goto("/bulk/")
    expect(page.locator("#answer [data-testid=patients]")).to_be_visible()
    settle(page)


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_the_form_lines_up_and_its_answer_stays_short_and_in_view(lang: str, page: Any, context: Any, site: Site,
                                                                  screenshots: Path) -> None:
    open_form(page, context, site, lang)
    # Pairs stand on one baseline: the age's labels and boxes, the exact dates' labels and boxes.
    for left, right in (("age_min", "age_max"), ("visited_from", "visited_to")):
        if left == "visited_from":
            expect(page.locator("#id_visited_from")).to_be_hidden()  # only once "between two dates" is chosen
            page.locator("select[name=visited_period]").select_option("dates")
            expect(page.locator("#id_visited_from")).to_be_visible()
        for part in ("label[for=id_{}]", "#id_{}"):
            a, b = box(page, part.format(left)), box(page, part.format(right))
            assert abs(a["y"] - b["y"]) < 1 and abs(a["height"] - b["height"]) < 1, (lang, part, a, b)
    page.locator("select[name=visited_period]").select_option("months")
    expect(page.locator("#id_visited_months")).to_be_visible()
    expect(page.locator("#id_visited_from")).to_be_hidden()
    assert abs(box(page, "label[for=id_visited_period]")["y"] - box(page, "label[for=id_visited_months]")["y"]) < 1
    page.locator("select[name=visited_period]").select_option("")

    # Both channels and a merge-field mistake: the mistake once, next to its box, in the page's language.
    page.locator("input[name=channel][value=both]").check()
    textarea = page.locator("textarea[name^=sms_]").first
    textarea.fill("Tere {eesnimi}! Aeg kontrolliks.")
    settle(page)
    expect(page.get_by_text(MISTAKE[lang])).to_have_count(1)
    assert "Position" not in page.locator("main").inner_text()
    page.screenshot(path=str(screenshots / f"bulk-form-{lang}-desktop.png"))

    # The answer: one line per channel at most (patients, SMS, e-mail, the language note), well under 150 px.
    answer = box(page, "footer.answer")
    assert answer["height"] <= 100, answer
    assert answer["y"] + answer["height"] <= LAPTOP["height"] + 1  # in view at the bottom
    assert not cut(page), cut(page)
    # "N left out" opens its reasons above the bar, whole.
    left_out = page.locator("#answer summary[data-testid^=left-out-]").first
    left_out.click()
    reasons = page.locator("#answer details[open] .reasons")
    expect(reasons).to_be_visible()
    assert box(page, "#answer details[open] .reasons")["y"] >= 0 and not cut(page)
    page.screenshot(path=str(screenshots / f"bulk-form-{lang}-desktop-left-out.png"))
    left_out.click()
    expect(reasons).to_be_hidden()

    # On a phone: short, sticky, the patients and Preview always in reach — at the top and at the middle of the page.
    page.set_viewport_size(PHONE)
    for scroll in (0, 900):
        page.evaluate(f"window.scrollTo(0, {scroll})")
        page.wait_for_timeout(200)
        bar = box(page, "footer.answer")
        if scroll == 0:
            page.screenshot(path=str(screenshots / f"bulk-form-{lang}-phone.png"))
        assert bar["height"] <= 90 and bar["y"] + bar["height"] <= PHONE["height"] + 1, (scroll, bar)
        preview = box(page, "footer.answer button[name=preview]")
        assert preview["y"] >= 0 and preview["y"] + preview["height"] <= PHONE["height"] + 1
        expect(page.locator("#answer [data-testid=patients]")).to_be_in_viewport()
        assert not cut(page), cut(page)

