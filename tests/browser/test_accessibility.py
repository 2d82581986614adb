"""axe-core (vendored, tests/browser/vendor/) on every page of the flow, in Estonian and in Russian: no violation of
impact serious or critical. The less severe ones are printed (pytest -rP shows them), not failed.

How axe gets into the page: the pages' CSP is `script-src 'self'`, which blocks the inline <script> that
Playwright's add_script_tag(path=...) or add_script_tag(content=...) writes. page.evaluate(source) instead runs
the file through the DevTools protocol (Runtime.evaluate), which CSP does not govern, so the page under test keeps
its real policy (no bypass_csp) and axe sees exactly what a user's browser gets.
"""

from __future__ import annotations

import os
import re
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

AXE = Path(__file__).with_name("vendor") / "axe-core-4.14.1" / "axe.min.js"
FAILING = ("serious", "critical")


def axe(page: Any) -> list[dict[str, Any]]:
    """axe.run() on the page as it is now: its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert len(results["passes"]) > 10, "axe ran hardly any rule: is it the real axe-core?"
    return list(results["violations"])


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{where}] {v['impact']}: {v['id']} — {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            target = " >> ".join(" ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    at {target}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n       ")
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


class Audit:
    def __init__(self, page: Any, lang: str) -> None:
        self.page, self.lang = page, lang
        self.failing: list[str] = []
        self.checked: list[str] = []

    def check(self, where: str) -> None:
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)
        violations = axe(self.page)
        bad = [v for v in violations if v["impact"] in FAILING]
        rest = [v for v in violations if v["impact"] not in FAILING]
        if rest:
            print(describe(f"{self.lang} {where}", rest))
        if bad:
            self.failing.append(describe(f"{self.lang} {where}", bad))
        self.checked.append(where)


def settle(page: Any) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


@pytest.mark.parametrize("lang", ["et", "ru"])
def test_no_serious_violations(lang: str, page: Any, context: Any, site: Site) -> None:
    set_language(context, site, lang)
    audit = Audit(page, lang)

    page.goto("/sign-in/")
    audit.check("sign-in")
    page.locator("input[name=username]").fill("nobody")
    page.locator("input[name=password]").fill("not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#sign-in-error")).to_be_visible()
    audit.check("sign-in with an error")

    sign_in(page)
    expect(page).to_have_url(re.compile(r"/bulk/$"))
    expect(page.locator("#answer [data-testid=patients]")).to_be_visible()
    settle(page)
    audit.check("bulk")
    page.locator("input[name=name]").fill(f"axe {lang}")
    page.locator("input[name=clinics][value=TLN]").check()
    page.locator("#id_sms_et").fill("Tere {first_name}! On “õige” aeg kontrolli tulla – helistage {clinic_phone}.")
    page.locator("#tab-ru").click()
    page.locator("#id_sms_ru").fill("Здравствуйте, {first_name}! Пора на осмотр.")
    page.locator("input[name=age_min]").fill("200")  # a filter error (over 130), as a user may make one
    settle(page)
    audit.check("bulk, filled, a filter error")
    page.locator("input[name=age_min]").fill("18")
    settle(page)

    page.locator("button[name=preview]").click()
    expect(page).to_have_url(re.compile(r"/bulk/preview/$"))
    expect(page.locator("table[data-testid=per-language]")).to_be_visible()
    audit.check("preview")
    page.locator("button[data-open-dialog=confirm-send]").click()
    expect(page.locator("dialog#confirm-send")).to_be_visible()
    audit.check("preview, send dialog open")
    page.locator("[data-testid=confirm-send]").click()

    expect(page).to_have_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.locator("#progress")).to_be_visible()
    audit.check("campaign")

    assert not audit.failing, "axe: serious or critical violations\n" + "\n".join(audit.failing)
