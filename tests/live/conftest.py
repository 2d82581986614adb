"""A live masspost for the API: `masspost serve` on a free loopback port over its own database (a fresh
PostgreSQL database when DATABASE_URL is PostgreSQL, an SQLite file otherwise), two clinics imported by the
command line, an admin of both with an API token. Its file gateways write into the data directory."""

from __future__ import annotations

import contextlib
import json
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

LIVE_DATABASE = "masspost_live_api"
START_TIMEOUT = 60.0
CLINICS = """code,name,country,time_zone,default_language,phone,email,sms_sender
TLN,Hammas Tallinn,EE,Europe/Tallinn,et,+372 600 1000,tallinn@hammas.example,HammasTLN
TRT,Hammas Tartu,EE,Europe/Tallinn,et,+372 700 2000,tartu@hammas.example,HammasTRT
"""


def _masspost() -> str:
    found = shutil.which("masspost", path=str(Path(sys.executable).parent))
    assert found, "masspost is not installed in this environment (scripts/bootstrap.sh)"
    return found


def _admin_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))


def _fresh_database(url: str) -> str:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{LIVE_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{LIVE_DATABASE}"')
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{LIVE_DATABASE}", parts.query, ""))


def _drop_database(url: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{LIVE_DATABASE}" WITH (FORCE)')


@dataclass
class Live:
    url: str
    token: str
    env: dict[str, str]
    data_dir: Path
    log: Path

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([_masspost(), *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout, cwd=self.data_dir)
        if done.returncode:
            raise AssertionError(f"masspost {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def call(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
             headers: dict[str, str] | None = None, token: str | None = None) -> tuple[int, dict[str, str], Any]:
        """One request to /api/v1/PATH; JSON bodies in and out (CSV and other text as str)."""
        data = None
        if body is not None:
            data = json.dumps(body).encode() if content_type == "application/json" else str(body).encode()
        request = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, got, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, got, raw = exc.code, dict(exc.headers), exc.read()
        kind = got.get("Content-Type", "")
        return status, got, json.loads(raw) if "json" in kind else raw.decode()


def _up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"masspost serve exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/api/openapi.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"masspost serve did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("masspost-live")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASSPOST_") and k != "DATABASE_URL"}
    env |= {"MASSPOST_DATA_DIR": str(data_dir), "MASSPOST_API_RATE": "0", "PYTHONUNBUFFERED": "1",
            "MASSPOST_SMS_URL": f"file://{data_dir / 'outbox-sms.jsonl'}",
            "MASSPOST_EMAIL_URL": f"file://{data_dir / 'outbox-email.jsonl'}"}
    database_url = os.environ.get("DATABASE_URL", "")
    own = _fresh_database(database_url) if re.match(r"postgres(ql)?://", database_url) else ""
    if own:
        env["DATABASE_URL"] = own
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    site = Live(url=f"http://127.0.0.1:{port}", token="", env=env, data_dir=data_dir, log=data_dir / "serve.log")
    (data_dir / "clinics.csv").write_text(CLINICS)
    site.run("import", "clinics", "clinics.csv")
    site.run("user", "add", "integration", "--clinic", "TLN", "--clinic", "TRT", "--role", "admin",
             "--password-stdin", stdin="integration secret 12345\n")
    site.token = json.loads(site.run("token", "create", "integration", "--name", "nightly", "--json").stdout)["token"]
    with site.log.open("ab") as log:
        server = subprocess.Popen([_masspost(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  cwd=data_dir, start_new_session=True)
    try:
        _up(site.url, server, site.log)
        yield site
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        if own:
            _drop_database(own)
