"""Fixtures for the browser tests: a real masspost (demo data, a sender, `masspost serve`, `masspost worker` when a
test needs delivery) on its own data directory and database, and Debian's Chromium driven by Playwright.

Everything expensive is session-scoped: one demo database, one server, one Chromium per UI language (its date and
time inputs are written in the language's way: see `browsers`); each test gets a fresh browser context (cookies,
viewport, locale) — `context` for a test parametrized by `lang`, or `open_context(lang, size)` for several.
Without /usr/bin/chromium the tests skip — unless MASSPOST_REQUIRE_BROWSER=1 (CI), then they fail. On PostgreSQL
(DATABASE_URL=postgres://…) the server gets a database of its own, `masspost_browser` on the same server, dropped
and created afresh: never the one pytest-django uses.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
USERNAME = "mari"
PASSWORD = "correct horse battery staple"
DEMO_CLINICS = ("TLN", "TRT", "NRV")  # masspost/clinic/demo.py
DESKTOP = {"width": 1366, "height": 768}  # a clinic PC's screen (issue 17)
PHONE = {"width": 390, "height": 844}
NARROW = PHONE
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
# A UI language's browser locale: a clinic PC in Estonia writes dates 07.12.2026 (et, ru) or 07/12/2026 (en-GB),
# never the American 12/07/2026.
BROWSER_LOCALE = {"et": "et-EE", "ru": "ru-RU", "en": "en-GB"}
BROWSER_DATABASE = "masspost_browser"
SERVER_START_TIMEOUT = 30.0


def _masspost() -> str:
    beside = Path(sys.executable).with_name("masspost")
    return str(beside) if beside.exists() else (shutil.which("masspost") or "masspost")


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """Debian's Chromium (Playwright cannot download its own browsers here)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test extras install it
        reason = f"the playwright package is not installed ({exc})"
        if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MASSPOST_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing: run scripts/browser.sh (as root) to install Debian's chromium"
        if os.environ.get("MASSPOST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MASSPOST_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: $MASSPOST_SCREENSHOTS, by default var/screenshots/ in the repository."""
    path = Path(os.environ.get("MASSPOST_SCREENSHOTS") or REPO / "var" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _browser_database_url(url: str, name: str = BROWSER_DATABASE) -> str:
    """The same PostgreSQL server and credentials as `url`, the database `name`, made afresh."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit((parts.scheme.replace("postgis", "postgres"), parts.netloc, "/postgres",
                                     parts.query, ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _drop_browser_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    name = parts.path.lstrip("/")  # the site's own (_browser_database_url)
    with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    """The masspost under test."""

    url: str
    env: dict[str, str]
    data_dir: Path
    logs: Path

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([_masspost(), *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout, cwd=self.data_dir)
        if done.returncode:
            raise AssertionError(f"masspost {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """A long-running `masspost ARGS…`, its output in logs/NAME.log."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process, in stop())
        return subprocess.Popen([_masspost(), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=self.data_dir, start_new_session=True)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], site: Site) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"masspost serve exited {process.returncode} before answering:\n{site.log('serve')}")
        try:
            with urllib.request.urlopen(f"{url}/sign-in/", timeout=2) as response:
                if response.status == 200:
                    return
                last = response.status
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.2)
    _stop(process)
    pytest.fail(f"masspost serve did not answer /sign-in/ with 200 within {SERVER_START_TIMEOUT:.0f} s "
                f"(last: {last}):\n{site.log('serve')}")


@pytest.fixture(scope="session")
def site(request: pytest.FixtureRequest, chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Demo data (400 patients, seed 1), a sender on every demo clinic, and `masspost serve` on a free port. Every
    clinic's sending window open (MASSPOST_SENDING_WINDOWS=always): what a test sends goes whatever the time of day
    it runs at. The scheduling tests serve a site of their own with the clinics' windows (`serve_site`)."""
    yield from serve_site(request, tmp_path_factory, windows="always")


def serve_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, *,
               windows: str) -> Iterator[Site]:
    """A site as `site` describes, with MASSPOST_SENDING_WINDOWS=`windows`; stopped (its database dropped) after."""
    data_dir = tmp_path_factory.mktemp("masspost-browser")
    logs = data_dir / "logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASSPOST_") and k != "DATABASE_URL"}
    env |= {"MASSPOST_DATA_DIR": str(data_dir),
            "MASSPOST_SMS_URL": f"file://{data_dir / 'outbox-sms.jsonl'}",
            "MASSPOST_EMAIL_URL": f"file://{data_dir / 'outbox-email.jsonl'}",
            "MASSPOST_SMS_PART_PRICE": "0.065 EUR",
            "MASSPOST_SENDING_WINDOWS": windows,
            "PYTHONUNBUFFERED": "1"}
    database_url = os.environ.get("DATABASE_URL", "")
    own_database = ""
    if re.match(r"postgres(ql)?://", database_url):
        # Each site its own database: the scheduling tests' site runs beside the session's.
        own_database = _browser_database_url(
            database_url, BROWSER_DATABASE if windows == "always" else f"{BROWSER_DATABASE}_{windows}")
        env["DATABASE_URL"] = own_database
    port = _free_port()
    site = Site(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir, logs=logs)
    site.run("demo", "--patients", "400", "--seed", "1")
    site.run("user", "add", USERNAME, *(a for code in DEMO_CLINICS for a in ("--clinic", code)), "--role", "sender",
             "--password-stdin", stdin=PASSWORD + "\n")
    server = site.start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
    try:
        _wait_until_up(site.url, server, site)
        yield site
    finally:
        _stop(server)
        if request.session.testsfailed:
            print(f"\n--- masspost serve's output ({logs / 'serve.log'}):\n{site.log('serve')[-8000:]}",
                  file=sys.stderr)
        if own_database:
            _drop_browser_database(own_database)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each phase's report on the test item (item.rep_setup, item.rep_call), for fixtures to see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def worker(request: pytest.FixtureRequest, site: Site) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts `masspost worker` (delivering into the data directory's file gateways) when the test asks for it;
    stopped at the test's end, its output printed if the test failed."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = site.start("worker", "worker")
        started.append(process)
        return process

    yield start
    for process in started:
        _stop(process)
    report = getattr(request.node, "rep_call", None)
    if started and report is not None and report.failed:
        print(f"\n--- masspost worker's output:\n{site.log('worker')[-8000:]}", file=sys.stderr)


@pytest.fixture(scope="session")
def browsers(chromium: str) -> Iterator[Callable[[str], Any]]:
    """`browsers(lang)`: Chromium for the UI language `lang`, launched once (on first use) and kept for the session.

    One per language, because the language of a date or time input (dd.mm.yyyy or mm/dd/yyyy, 24- or 12-hour) is
    the browser's own, not a context's: on Linux Chromium takes it from LANGUAGE in its environment (not from
    --lang, which it ignores there, nor from Playwright's `locale`, which sets navigator.language, Intl and
    Accept-Language only), and only for a language whose translations are installed (Debian's chromium-l10n:
    scripts/browser.sh). Without them every input reads 12/07/2026."""
    from playwright.sync_api import sync_playwright

    launched: dict[str, Any] = {}
    with sync_playwright() as pw:

        def get(lang: str) -> Any:
            if lang not in launched:
                locale = BROWSER_LOCALE.get(lang, "en-GB").replace("-", "_")
                env: dict[str, str | float | bool] = {
                    k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE")}
                env |= {"LANGUAGE": f"{locale}:{lang}", "LANG": f"{locale}.UTF-8"}
                launched[lang] = pw.chromium.launch(executable_path=chromium, headless=True, env=env,
                                                    args=[*CHROMIUM_ARGS, f"--lang={locale.replace('_', '-')}"])
            return launched[lang]

        try:
            yield get
        finally:
            for each in launched.values():
                each.close()


@pytest.fixture(scope="session")
def browser(browsers: Callable[[str], Any]) -> Any:
    """The English (en-GB) Chromium."""
    return browsers("en")


def new_context(browsers: Callable[[str], Any], site: Site, lang: str, size: str = "desktop") -> Any:
    """A fresh browser profile speaking `lang` as a clinic PC in Estonia does: the UI language's cookie (as the
    header's select leaves it), the browser's locale and Accept-Language (et-EE, en-GB, ru-RU), that language's
    Chromium (dates in its inputs as 07.12.2026); `size` "desktop" (1366×768) or "phone" (390×844). Playwright
    waits up to 10 s for what it expects."""
    locale = BROWSER_LOCALE.get(lang, "en-GB")
    ctx = browsers(lang).new_context(base_url=site.url, viewport=VIEWPORTS[size], accept_downloads=True,
                                     locale=locale, extra_http_headers={"Accept-Language": f"{locale},{lang};q=0.9"})
    ctx.set_default_timeout(10_000)
    set_language(ctx, site, lang)
    return ctx


@pytest.fixture
def open_context(browsers: Callable[[str], Any], site: Site) -> Iterator[Callable[..., Any]]:
    """`open_context(lang, size="desktop")`: a context as `new_context` makes it, closed at the test's end."""
    opened: list[Any] = []

    def make(lang: str, size: str = "desktop") -> Any:
        opened.append(new_context(browsers, site, lang, size))
        return opened[-1]

    yield make
    for ctx in opened:
        ctx.close()


@pytest.fixture
def context(browsers: Callable[[str], Any], site: Site, request: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at desktop size, the browser and locale of the test's UI language
    (its `lang` parameter; English without one) — but no language cookie, so a test chooses the UI language itself
    (set_language) or sees what a browser in that locale gets by default."""
    callspec = getattr(request.node, "callspec", None)
    lang = callspec.params.get("lang", "en") if callspec else "en"
    ctx = browsers(lang).new_context(base_url=site.url, viewport=DESKTOP, accept_downloads=True,
                                     locale=BROWSER_LOCALE.get(lang, "en-GB"))
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    return context.new_page()


def set_language(context: Any, site: Site, language: str) -> None:
    """The UI language as the header's select would leave it: the `masspost_language` cookie."""
    context.add_cookies([{"name": "masspost_language", "value": language, "url": site.url}])


def sign_in(page: Any, username: str = USERNAME, password: str = PASSWORD) -> None:
    page.goto("/sign-in/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()


def shoot(page: Any, screenshots: Path, name: str) -> None:
    """NAME-desktop.png and NAME-narrow.png (the whole page), then back to desktop size."""
    for size, viewport in (("desktop", DESKTOP), ("narrow", NARROW)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshots / name.replace("{size}", size)), full_page=True)
    page.set_viewport_size(DESKTOP)
