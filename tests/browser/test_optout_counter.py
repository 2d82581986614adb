"""The Bulk Mail form's SMS counter in a browser: choosing marketing adds the opt-out line to what it counts (the
purpose's radio is sent with the box, and a change of purpose counts again), and service takes it away."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import Site, shoot, sign_in

TEXT = "a" * 150  # GSM-7, one part of 160; the stop-word line (no MASSPOST_PUBLIC_URL on the test site) makes two


def test_marketing_adds_the_line_to_the_counter(page: Any, site: Site, screenshots: Any) -> None:
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/bulk/$"))
    page.locator("input[name=channel][value=sms]").check()
    page.locator("input[name=purpose][value=service]").check()
    tab = page.locator('[role="tab"]').first
    tab.click()
    field = tab.get_attribute("aria-controls").removeprefix("panel-")
    page.locator(f"#id_sms_{field}").fill(TEXT)
    counter = page.locator(f"#counter-sms_{field}")
    expect(counter.locator("[data-testid=parts] b")).to_have_text("1")
    expect(counter.locator("[data-testid=optout-line]")).to_have_count(0)
    page.locator("input[name=purpose][value=marketing]").check()  # no typing: the change itself counts again
    expect(counter.locator("[data-testid=optout-line]")).to_have_text(re.compile(r"\d+"))
    expect(counter.locator("[data-testid=parts] b")).to_have_text("2")
    counter.scroll_into_view_if_needed()
    shoot(page, screenshots, "optout-{size}-bulk-marketing-counter.png")
    page.locator("button[name=preview]").click()  # the preview says every SMS ends with the line, and shows it
    expect(page).to_have_url(re.compile(r"/bulk/preview/$"))
    expect(page.locator("[data-testid=optout-sms]")).to_be_visible()
    shoot(page, screenshots, "optout-{size}-preview-marketing.png")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/bulk/$"))
    page.locator("input[name=purpose][value=service]").check()
    expect(counter.locator("[data-testid=optout-line]")).to_have_count(0)
    expect(counter.locator("[data-testid=parts] b")).to_have_text("1")
