"""Issue 19 in a real browser, in Estonian, English and Russian: scheduling a campaign (the preview says when each
clinic's messages go, the quiet-hours note included; the send dialog says the time), the test send to oneself, the
campaign page of a scheduled campaign, and a campaign over the approval rule approved by a second sender.

Each screen is shot at desktop and phone size into $MASSPOST_SCREENSHOTS as <lang>-<size>-schedule-<screen>.png
(and the desktop's first screen as …-screen.png),
checked with axe-core (no serious or critical violation), for sideways scroll on the phone, and for the English of
these screens on an Estonian or Russian page. Times are set for tomorrow 23:00 — after every demo clinic's service
window (08:00–21:00) — so the preview's note is the quiet hours' whatever the hour the test runs at."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, USERNAME, Site, serve_site, sign_in
from tests.browser.test_accessibility import Audit

LANGUAGES = ["et", "en", "ru"]
TEXT = {"et": "Tere {first_name}! Ootame teid kontrolli.", "en": "Hello {first_name}! Time for a check-up.",
        "ru": "Здравствуйте, {first_name}! Пора на осмотр."}
# What these screens say in English: never on an Estonian or Russian page.
ENGLISH = ("When it goes", "after the quiet hours", "Send a test to me", "Deadline", "Send at", "Scheduled for",
           "Needs a second approver", "Approve", "waiting for approval", "scheduled", "Change the time",
           "Left out at the start", "at once", "tomorrow")
APPROVER = "kaarel"


def settle(page: Any) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def tomorrow_at(hour: int) -> str:
    day = dt.datetime.now(ZoneInfo("Europe/Tallinn")).date() + dt.timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00"


def look(page: Any, shots: Path, lang: str, screen: str, audit: Audit | None = None) -> None:
    """Desktop and phone shots of the page as it is, the phone's without sideways scroll; axe on the desktop."""
    if audit is not None:
        audit.check(screen)
    if lang != "en":
        text = page.locator("main").inner_text()
        found = [w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
        assert not found, f"English on the {lang} {screen} page: {found}"
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)
        page.screenshot(path=str(shots / f"{lang}-{size}-schedule-{screen}.png"), full_page=True)
        if screen in ("campaign", "pending", "approved") or size == "desktop":  # the first screen, as seen
            page.screenshot(path=str(shots / f"{lang}-{size}-schedule-{screen}-screen.png"))
        if size == "phone":
            wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert wide <= 1, f"{lang} {screen}: {wide}px of sideways scroll on a phone"
    page.set_viewport_size(DESKTOP)


def fill_campaign(page: Any, lang: str, name: str, *, send_at: str = "", purpose: str = "service") -> None:
    page.goto("/bulk/")
    page.locator("[data-testid=start-over]").click()
    page.locator("#id_name").fill(name)
    page.locator("input[name=clinics][value=TLN]").check()
    page.locator(f"input[name=purpose][value={purpose}]").check()
    first = page.locator("[role=tab]").first
    code = (first.get_attribute("id") or "tab-et")[4:]
    page.locator(f"#id_sms_{code}").fill(TEXT.get(code, TEXT["en"]))
    if send_at:
        page.locator("#id_send_at").fill(send_at)
    settle(page)


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """This module's own site, with each clinic's sending windows as a clinic has them (MASSPOST_SENDING_WINDOWS=
    clinics; the session's site has every window open): a service message due at 23:00 waits for 08:00, whatever
    the time of day the tests run at."""
    yield from serve_site(request, tmp_path_factory, windows="clinics")


@pytest.fixture(scope="module")
def staff(site: Site) -> Site:
    """Mari's own phone and e-mail for test sends, and a second sender to approve."""
    site.run("user", "change", USERNAME, "--phone", "+37255501234", "--email", "mari@hammas.example")
    site.run("user", "add", APPROVER, "--clinic", "TLN", "--clinic", "TRT", "--clinic", "NRV", "--role", "sender",
             "--password-stdin", stdin=PASSWORD + "\n")
    return site


@pytest.mark.parametrize("lang", LANGUAGES)
def test_scheduling_a_campaign(lang: str, open_context: Any, staff: Site, screenshots: Path) -> None:
    page = open_context(lang).new_page()
    audit = Audit(page, lang)
    sign_in(page)
    fill_campaign(page, lang, f"Scheduled {lang}", send_at=tomorrow_at(23))
    expect(page.locator("#id_send_at")).to_have_value(tomorrow_at(23))
    look(page, screenshots, lang, "form", audit)
    page.locator("button[name=preview]").click()
    when = page.locator("[data-testid=when]")
    expect(when).to_be_visible()
    tallinn = when.locator(".opening[data-clinic=TLN]")
    expect(tallinn).to_have_attribute("data-held", "quiet_hours")
    expect(when.locator("[data-testid=deadline]")).to_be_visible()
    look(page, screenshots, lang, "preview", audit)
    page.locator("[data-testid=send-open]").click()
    dialog = page.locator("#confirm-send")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-testid=confirm-when]")).to_contain_text(re.compile(r"\d\d[:.]\d\d"))
    look(page, screenshots, lang, "dialog")
    dialog.locator("[data-testid=confirm-send]").click()
    schedule = page.locator("[data-testid=schedule]")
    expect(schedule).to_be_visible()
    expect(page.locator("[data-testid=reschedule]")).to_be_visible()
    expect(schedule.locator("[data-testid=send-at] .tag.scheduled")).to_be_visible()
    look(page, screenshots, lang, "campaign", audit)
    page.goto("/campaigns/")
    expect(page.locator("[data-testid=badge-scheduled]").first).to_be_visible()
    look(page, screenshots, lang, "campaigns", audit)
    assert not audit.failing, "\n".join(audit.failing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_test_send(lang: str, open_context: Any, staff: Site, screenshots: Path) -> None:
    page = open_context(lang).new_page()
    audit = Audit(page, lang)
    sign_in(page)
    fill_campaign(page, lang, f"Test send {lang}")
    page.locator("button[name=preview]").click()
    page.locator("[data-testid=test-send-button]").click()
    results = page.locator("[data-testid=test-results]")
    expect(results).to_be_visible()
    expect(results.locator("li.ok").first).to_contain_text("+37255501234")
    look(page, screenshots, lang, "test-send", audit)
    sent = (staff.data_dir / "outbox-sms.jsonl").read_text(encoding="utf-8")
    assert "+37255501234" in sent
    assert not audit.failing, "\n".join(audit.failing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_approval(lang: str, open_context: Any, staff: Site, screenshots: Path) -> None:
    staff.run("shell", "-c", "from masspost.clinic.models import Clinic; "
                             "Clinic.objects.filter(code='TLN').update(approval_over=5)")
    try:
        page = open_context(lang).new_page()
        audit = Audit(page, lang)
        sign_in(page)
        fill_campaign(page, lang, f"Approval {lang}")
        page.locator("button[name=preview]").click()
        expect(page.locator("[data-testid=approval-needed]")).to_be_visible()
        page.locator("[data-testid=send-open]").click()
        expect(page.locator("[data-testid=confirm-approval]")).to_be_visible()
        page.locator("#confirm-send [data-testid=confirm-send]").click()
        expect(page.locator("[data-testid=approval-pending]")).to_be_visible()
        expect(page.locator("[data-testid=approval-refusal]")).to_be_visible()  # not by its author
        campaign_url = page.url
        look(page, screenshots, lang, "pending", audit)
        other = open_context(lang).new_page()
        sign_in(other, APPROVER)
        other.goto(campaign_url)
        expect(other.locator("[data-testid=control-approve]")).to_be_visible()
        look(other, screenshots, lang, "approve", Audit(other, lang))
        other.locator("[data-testid=control-approve]").click()
        expect(other.locator("[data-testid=approval-approved]")).to_contain_text(APPROVER)
        look(other, screenshots, lang, "approved")
        assert not audit.failing, "\n".join(audit.failing)
    finally:
        staff.run("shell", "-c", "from masspost.clinic.models import Clinic; "
                                 "Clinic.objects.filter(code='TLN').update(approval_over=None)")
