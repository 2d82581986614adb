"""The audit log's filter row in a real Chromium (issue 17): on a clinic PC every label and every box sits on one
line (a date field is not higher than a select); on a 390 px phone From and To stay side by side, one period, not
split across rows with From beside Who. Et, en and ru; screenshots of the row."""

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

from tests.browser.conftest import DESKTOP, NARROW, Site, set_language, sign_in
from tests.browser.test_layout import admin_of_every_clinic

FIELDS = ("action", "actor", "since", "until")


def boxes(page: Any, selector: str) -> dict[str, dict[str, float]]:
    found = {}
    for name in FIELDS:
        box = page.locator(f"form.audit-filters .field:has([name={name}]) {selector}").bounding_box()
        assert box is not None, (name, selector)
        found[name] = box
    return found


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_the_audit_filters_line_up_and_the_period_stays_together(lang: str, page: Any, context: Any, site: Site,
                                                                 screenshots: Path) -> None:
    admin = admin_of_every_clinic(site, f"auditor-{lang}")
    set_language(context, site, lang)
    sign_in(page, admin)
    page.set_viewport_size(DESKTOP)
    page.goto("/audit/")
    expect(page.locator("form.audit-filters [name=since]")).to_be_visible()

    labels, fields = boxes(page, "label"), boxes(page, ":is(select, input)")
    assert len({round(b["y"]) for b in labels.values()}) == 1, labels
    assert len({round(b["y"]) for b in fields.values()}) == 1, fields
    assert len({round(b["y"] + b["height"]) for b in fields.values()}) == 1, fields
    page.locator("form.audit-filters").screenshot(path=str(screenshots / f"{lang}-desktop-audit-filters.png"))

    page.set_viewport_size(NARROW)
    fields = boxes(page, ":is(select, input)")
    since, until = fields["since"], fields["until"]
    assert round(since["y"]) == round(until["y"]) and since["x"] < until["x"], (since, until)
    assert round(fields["actor"]["y"]) != round(since["y"]), "From sits beside Who, away from To"
    for box in fields.values():
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], box
    page.locator("form.audit-filters").screenshot(path=str(screenshots / f"{lang}-narrow-audit-filters.png"))
