"""`masspost serve`: gunicorn in-process on masspost.wsgi, the schema made first, static files by WhiteNoise."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_commands import ROOT, masspost, one_line_error

HTMX = "/static/masspost/vendor/htmx-2.0.11/htmx.min.js"
HTMX_FILE = ROOT / "masspost" / "web" / "static" / "masspost" / "vendor" / "htmx-2.0.11" / "htmx.min.js"
START_TIMEOUT = 60  # seconds: a fresh database is migrated first


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx
            return exc.code, dict(exc.headers), exc.read()

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return self.process.returncode, out, err


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start(data_dir: Path, *args: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    env["MASSPOST_DATA_DIR"] = str(data_dir)
    process = subprocess.Popen([sys.executable, "-m", "masspost", "serve", "--port", str(port), "--workers", "1",
                                *args], env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    server = Server(process=process, port=port, data_dir=data_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            code, out, err = server.stop()
            pytest.fail(f"masspost serve did not start (exit {code}): {err}{out}")
        time.sleep(0.1)
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start(tmp_path / "var")
    yield running
    running.stop()


def test_serve_serves_the_vendored_htmx_through_whitenoise(server: Server) -> None:
    status, headers, body = server.get(HTMX)
    assert status == 200
    assert body == HTMX_FILE.read_bytes()
    assert headers["Content-Type"].startswith("text/javascript")
    # WhiteNoise's own headers (Django's static view, DEBUG only, sets neither).
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in headers["Cache-Control"]
    assert headers["Server"] == "gunicorn"
    assert server.get("/static/masspost/no-such-file.js")[0] == 404


def test_serve_made_the_schema_and_says_where_it_is(server: Server) -> None:
    assert (server.data_dir / "masspost.sqlite3").stat().st_size > 0
    code, out, err = server.stop()
    assert code == 0
    assert err.splitlines()[0] == f"masspost web UI at http://127.0.0.1:{server.port}/"
    assert "Traceback" not in err


def test_a_page_of_the_web_ui_answers(server: Server) -> None:
    status, headers, _ = server.get("/")
    assert status < 500, status  # a sign-in page or a redirect to it: the URLs and views load in the worker
    assert headers["X-Frame-Options"] == "DENY"


def test_no_access_log_by_default_and_quiet(server: Server) -> None:
    server.get(HTMX)
    code, out, err = server.stop()
    assert code == 0
    assert out == ""
    assert err.strip().splitlines() == [f"masspost web UI at http://127.0.0.1:{server.port}/"]  # nothing else


def test_access_log_when_asked(tmp_path: Path) -> None:
    server = start(tmp_path / "var", "--access-log")
    try:
        server.get(HTMX)
    finally:
        code, out, _ = server.stop()
    assert code == 0
    assert f'"GET {HTMX} HTTP/1.1" 200' in out


def test_the_access_log_never_shows_a_webhooks_secret(tmp_path: Path) -> None:
    """Messente's webhooks are authenticated by the secret in their path: whoever reads the log could post fake
    receipts with it. Whatever the answer (here 405 to a GET), the log shows the path without it."""
    secret = "5f2b9c0d8e7a6b5c4d3e2f1a0b9c8d7e"
    server = start(tmp_path / "var", "--access-log")
    try:
        server.get(f"/hooks/messente/dlr/{secret}")
    finally:
        code, out, err = server.stop()
    assert code == 0
    assert '"GET /hooks/messente/dlr/… HTTP/1.1"' in out
    assert secret not in out + err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_and_its_workers(tmp_path: Path, sig: int) -> None:
    # A graceful timeout well inside the 30 s the test waits: a worker that has not stopped by then is killed by
    # the server, which still exits 0 (with the default 30 s the two timeouts raced, and the test lost rarely).
    server = start(tmp_path / "var", "--workers", "2", "--graceful-timeout", "10")
    code, _, err = server.stop(sig)
    assert code == 0, err
    assert not answers(server.port)


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(masspost(tmp_path, "serve", "--port", str(port)))
    assert line == f"CommandError: cannot listen on 127.0.0.1 port {port}: Address already in use"


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "--port 70000: not a port"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
])
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    assert message in one_line_error(masspost(tmp_path, "serve", *args))
