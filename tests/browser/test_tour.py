"""The tour: every page a receptionist or an admin sees, in Estonian, English and Russian, on a clinic PC
(1366×768) and on a phone (390×844) — a full-page screenshot of each, named <lang>-<desktop|phone>-<page>.png in
the screenshots directory (MASSPOST_SCREENSHOTS, default var/screenshots/; also <…>-<page>-screen.png, the first
screen, where what stays in view matters), to be looked at (issue 17, "How it is judged"), and on each page what a
test can see for itself:

- axe-core: no violation of impact serious or critical (tests/browser/test_accessibility.py's way of running it);
- on the phone nothing needs a sideways scroll: the page is no wider than the screen;
- no text with a number in it is cut off with an ellipsis and nothing to read the rest by;
- on an Estonian or Russian page no English UI string, English domain error or raw code (tests/page_language.py,
  over the text of the page as the browser holds it, after htmx has filled it in);
- dates and times in the language's one format (07.12.2026 14:05 in et and ru, 7 Dec 2026, 14:05 in en).

The pages: sign-in (with its error), Bulk Mail (empty; filled with both channels, texts in every language and a merge
field that is not one), Preview and its open send dialog, the campaign list, a sent and delivered campaign, a
patient, the staff page with a new API token, the audit log, a 404 and /api/docs. One server, one Chromium per
language (conftest.browsers), one context per language and size: the six tours take a couple of minutes together.
Each collects every problem of every page and fails once, listing them page by page.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extras install it
    if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from tests.browser.conftest import DEMO_CLINICS, PASSWORD, PHONE, Site, new_context, sign_in
from tests.browser.test_accessibility import AXE, FAILING, axe, describe
from tests.browser.test_patient import stop_a_patient
from tests.page_language import time_problems, untranslated, visible_text

ADMIN = "juhataja"
LANGUAGES = ["et", "en", "ru"]
SIZES = ["desktop", "phone"]
TEXTS = {
    "et": {"sms": "Tere {first_name}! Teie viimasest kontrollist on möödas aasta. Helistage {clinic_phone}.",
           "subject": "Aeg kontrolli tulla", "body": "Tere {first_name}!\n\nOotame Teid kontrolli.\n{clinic_name}"},
    "ru": {"sms": "Здравствуйте, {first_name}! Пора на профилактический осмотр. Звоните: {clinic_phone}",
           "subject": "Пора на осмотр", "body": "Здравствуйте, {first_name}!\n\nЖдём вас на осмотр.\n{clinic_name}"},
    "en": {"sms": "Hello {first_name}! It has been a year since your last check-up. Call {clinic_phone}.",
           "subject": "Time for a check-up", "body": "Hello {first_name}!\n\nSee you soon.\n{clinic_name}"},
}
BAD_MERGE = {"et": "Tere {eesnimi}! Aeg kontrolli tulla.", "ru": "Здравствуйте, {imja}! Пора на осмотр.",
             "en": "Hello {firstname}! Time for a check-up."}
CAMPAIGN = "Kontroll detsember"  # the campaign sent before the tours, by the admin, in Estonian


@dataclass
class Sent:
    campaign: int
    patient: str


@dataclass
class Tour:
    """One language and size: the page it is on, and every problem found so far, page by page."""

    page: Any
    lang: str
    size: str
    screenshots: Path
    problems: list[str] = field(default_factory=list)
    shot: list[str] = field(default_factory=list)

    def check(self, name: str, *, english: bool = True, screen: bool = False, foreign: str = "") -> None:
        """The checks of the module's docstring, then the screenshot; `english=False` for a page that is English by
        design (the API's Swagger UI, for programmers); `screen` also shoots the first screen as it is seen,
        <lang>-<size>-<name>-screen.png (what stays in view: a sticky bar, the actions); `foreign`, a selector of
        a part axe leaves out because masspost does not write it (Swagger UI's own rendering)."""
        settle(self.page)
        found: list[str] = []
        html_lang = self.page.evaluate("() => document.documentElement.lang")
        if html_lang != self.lang and english:
            found.append(f'<html lang="{html_lang}">, not {self.lang}')
        bad = [v for v in axe_except(self.page, foreign) if v["impact"] in FAILING]
        if bad:
            found.append(describe("axe", bad))
        if self.size == "phone":
            width = self.page.evaluate("() => document.scrollingElement.scrollWidth")
            if width > PHONE["width"] + 1:
                wide = self.page.evaluate(WIDEST)
                found.append(f"the page is {width} px wide on a {PHONE['width']} px phone: a sideways scroll "
                             f"(widest: {wide})")
        for cut in self.page.evaluate(CUT_OFF):
            found.append(f"text cut off with '…', the rest unreadable (no title, no other place on screen): {cut}")
        text = visible_text(self.page.content())
        if english:
            found += untranslated(text, self.lang)
            found += time_problems(text, self.lang)
        path = self.shoot(name, screen=screen)
        if found:
            self.problems.append(f"{self.lang} {self.size} {name} ({path}):\n    " + "\n    ".join(found))

    def shoot(self, name: str, *, screen: bool) -> str:
        """The whole page, on a screen as tall as the page: a sticky bar then sits where the page ends, as at the
        end of a scroll, not across the middle of the picture (as Playwright's full_page leaves it)."""
        base = f"{self.lang}-{self.size}-{name}"
        if screen:
            self.page.screenshot(path=str(self.screenshots / f"{base}-screen.png"))
            self.shot.append(f"{base}-screen.png")
        viewport = self.page.viewport_size
        height = self.page.evaluate("() => Math.ceil(document.scrollingElement.scrollHeight)")
        if height > viewport["height"]:
            self.page.set_viewport_size({"width": viewport["width"], "height": height})
            self.page.wait_for_timeout(150)
        try:
            self.page.screenshot(path=str(self.screenshots / f"{base}.png"), full_page=True)
        finally:
            self.page.set_viewport_size(viewport)
        self.shot.append(f"{base}.png")
        return f"{base}.png"


# The elements that stick out past the phone's screen, outermost first: where a sideways scroll comes from.
WIDEST = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && r.width > 0 && !(el.parentElement && out.some(o => o.el.contains(el)))) {
      out.push({el, what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (typeof el.className === 'string' && el.className.trim()
                  ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' to ' + Math.round(r.right) + ' px'});
    }
  }
  return out.slice(0, 5).map(o => o.what).join(', ');
}"""


# Text the page cuts short with an ellipsis (CSS text-overflow) that holds a number: the reader cannot know what
# the number at the end was, and nothing (a title) says it.
CUT_OFF = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.textOverflow !== 'ellipsis' || el.scrollWidth <= el.clientWidth + 1 || el.title) continue;
    if (el.closest('[title]') || !/\\d/.test(el.innerText)) continue;
    if (out.some(o => o.el.contains(el))) continue;
    out.push({el, text: el.innerText.replace(/\\s+/g, ' ').trim().slice(0, 160)});
  }
  return out.map(o => JSON.stringify(o.text));
}"""


def axe_except(page: Any, foreign: str) -> list[dict[str, Any]]:
    """axe's violations on the page, but for the part `foreign` selects (none: tests/browser/test_accessibility)."""
    if not foreign:
        return axe(page)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.locator(foreign).count(), f"nothing to leave out: {foreign}"
    results = page.evaluate("(s) => axe.run({exclude: [s]}, {resultTypes: ['violations']})", foreign)
    return list(results["violations"])


def settle(page: Any) -> None:
    """Let htmx's debounced requests start and finish, and fonts load."""
    page.wait_for_timeout(400)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.evaluate("() => document.fonts.ready")


def sign_in_as_admin(page: Any) -> None:
    sign_in(page, ADMIN, PASSWORD)
    expect(page.locator("header")).to_contain_text(ADMIN)


def open_language_tab(page: Any, code: str) -> bool:
    tab = page.locator(f"#tab-{code}")
    if not tab.count():
        return False
    tab.click()
    expect(page.locator(f"#panel-{code}")).to_be_visible()
    return True


def fill_bulk(page: Any, name: str, *, bad_merge: str = "") -> None:
    """Bulk Mail as an admin fills it for Tallinn: both channels, SMS and e-mail in every language the audience
    speaks; `bad_merge`, the language whose SMS gets a merge field that is not one."""
    page.goto("/bulk/")
    expect(page.locator("#answer [data-testid=patients]")).to_be_visible()
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=clinics][value=TLN]").check()
    page.locator("input[name=channel][value=both]").check()
    if bad_merge:  # the tour's form: every kind of filter, dates in the browser's own format (07.12.2026 in et)
        page.locator("input[name=age_min]").fill("18")
        page.locator("input[name=age_max]").fill("80")
        if page.locator("select[name=visited_period] option[value=dates]").count():
            page.locator("select[name=visited_period]").select_option("dates")
            page.locator("input[name=visited_from]").fill(f"{dt.date.today().year - 5}-01-01")
            page.locator("input[name=visited_to]").fill(dt.date.today().isoformat())
        if page.locator("select[name=fallback_language] option[value=et]").count():
            page.locator("select[name=fallback_language]").select_option("et")  # Finnish patients get Estonian
    for code, texts in TEXTS.items():
        if not open_language_tab(page, code):
            continue
        page.locator(f"#id_sms_{code}").fill(BAD_MERGE[code] if code == bad_merge else texts["sms"])
        page.locator(f"#id_subject_{code}").fill(texts["subject"])
        page.locator(f"#id_body_{code}").fill(texts["body"])
    open_language_tab(page, bad_merge or next(iter(TEXTS)))
    settle(page)


@pytest.fixture(scope="module")
def sent(site: Site, browsers: Callable[[str], Any]) -> Sent:
    """Before the tours: an admin of every demo clinic, and a campaign (both channels) they sent and a worker
    delivered; a Tallinn patient who then answered STOP (their page has a consent history)."""
    site.run("user", "add", ADMIN, *(a for code in DEMO_CLINICS for a in ("--clinic", code)), "--role", "admin",
             "--password-stdin", stdin=PASSWORD + "\n")
    ctx = new_context(browsers, site, "et")
    try:
        page = ctx.new_page()
        sign_in_as_admin(page)
        fill_bulk(page, CAMPAIGN)
        page.locator("button[name=preview]").click()
        expect(page).to_have_url(re.compile(r"/bulk/preview/$"))
        page.locator("button[data-open-dialog=confirm-send]").click()
        page.locator("dialog#confirm-send [data-testid=confirm-send]").click()
        expect(page).to_have_url(re.compile(r"/campaigns/\d+/$"))
        campaign = int(re.search(r"/campaigns/(\d+)/", page.url).group(1))  # type: ignore[union-attr]
    finally:
        ctx.close()
    site.run("worker", "--until-idle", timeout=300)
    return Sent(campaign=campaign, patient=stop_a_patient(site, 10))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_tour(lang: str, size: str, sent: Sent, site: Site, browsers: Callable[[str], Any],
              screenshots: Path) -> None:
    started = time.monotonic()
    ctx = new_context(browsers, site, lang, size)
    try:
        tour = Tour(page=ctx.new_page(), lang=lang, size=size, screenshots=screenshots)
        walk(tour, sent)
    finally:
        ctx.close()
    report = screenshots / f"{lang}-{size}-problems.txt"
    report.write_text("\n".join(tour.problems) + "\n" if tour.problems else "", encoding="utf-8")
    print(f"{lang} {size}: {len(tour.shot)} pages in {time.monotonic() - started:.0f} s: {', '.join(tour.shot)}")
    assert not tour.problems, f"{len(tour.problems)} pages with problems:\n" + "\n".join(tour.problems)


def walk(tour: Tour, sent: Sent) -> None:
    page, lang = tour.page, tour.lang

    page.goto("/sign-in/")
    page.locator("input[name=username]").fill(ADMIN)
    page.locator("input[name=password]").fill("not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#sign-in-error")).to_be_visible()
    tour.check("sign-in")

    sign_in_as_admin(page)
    page.goto("/bulk/")
    expect(page.locator("#answer [data-testid=patients]")).to_be_visible()
    tour.check("bulk", screen=True)

    fill_bulk(page, f"Tour {lang} {tour.size}", bad_merge=lang if lang in TEXTS else "et")
    page.locator("button[name=preview]").click()  # refused: the merge field, said beside its box
    expect(page.locator(".has-error, [aria-invalid=true]").first).to_be_visible()
    open_language_tab(page, lang)
    tour.check("bulk-filled", screen=True)

    page.locator(f"#id_sms_{lang}").fill(TEXTS[lang]["sms"])
    settle(page)
    page.locator("button[name=preview]").click()
    expect(page).to_have_url(re.compile(r"/bulk/preview/$"))
    expect(page.locator("button[data-open-dialog=confirm-send]")).to_be_visible()
    tour.check("preview", screen=True)
    page.locator("button[data-open-dialog=confirm-send]").click()
    expect(page.locator("dialog#confirm-send")).to_be_visible()
    tour.check("send-dialog", screen=True)

    page.goto("/campaigns/")
    tour.check("campaigns", screen=True)
    page.goto(f"/campaigns/{sent.campaign}/")
    expect(page.locator("#progress")).to_be_visible()
    tour.check("campaign", screen=True)

    page.goto(f"/patients/?patient={sent.patient}")
    expect(page.locator("h1")).to_contain_text(sent.patient)
    tour.check("patient")

    page.goto("/users/#api-tokens")
    tokens = page.locator("#api-tokens")
    tokens.locator("select#id_username").select_option(ADMIN)
    tokens.locator("input#id_name").fill(f"aruanne-{lang}-{tour.size}")
    tokens.locator("button[type=submit].primary").first.click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    tour.check("staff")

    page.goto("/audit/")
    tour.check("audit")

    response = page.goto("/campaigns/987654/")
    assert response is not None and response.status == 404
    tour.check("404")

    page.goto("/api/docs")
    page.wait_for_load_state("networkidle")
    # Swagger UI is English, for programmers, and its own markup has axe findings masspost cannot change (a button
    # inside a button, its badges' contrast): axe checks masspost's own part, the bar back to the UI and the guide.
    tour.check("api-docs", english=False, foreign="#swagger-ui", screen=True)
