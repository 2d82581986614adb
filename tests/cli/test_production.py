"""Production mode without a secret key of one's own: `masspost serve` and `masspost worker` refuse to start,
with one line saying why, and so does masspost.wsgi under any WSGI server; with a key, or outside production
mode, they start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_commands import ROOT, one_line_error


def run(data_dir: Path, *command: str, args: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    """`masspost COMMAND…`, or `python ARGS…`, in a clean environment (no key, not production) plus env."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL", "MASSPOST_SECRET_KEY",
                         "MASSPOST_PRODUCTION", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, *(args or ("-m", "masspost", *command))],
                          env=base | {"MASSPOST_DATA_DIR": str(data_dir)} | env, cwd=ROOT, capture_output=True,
                          stdin=subprocess.DEVNULL, text=True, timeout=120)


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker", "--until-idle"]])
def test_production_mode_with_the_development_key_does_not_start(tmp_path: Path, command: list[str]) -> None:
    done = run(tmp_path, *command, MASSPOST_PRODUCTION="1")
    line = one_line_error(done)
    assert "MASSPOST_PRODUCTION=1 needs MASSPOST_SECRET_KEY" in line and "not started" in line, line
    assert not (tmp_path / "masspost.sqlite3").stat().st_size  # refused before the schema was made


def test_production_mode_with_an_empty_key_does_not_start(tmp_path: Path) -> None:
    done = run(tmp_path, "worker", "--until-idle", MASSPOST_PRODUCTION="1", MASSPOST_SECRET_KEY="")
    assert "needs MASSPOST_SECRET_KEY" in one_line_error(done)


def test_a_worker_starts_in_production_mode_with_a_key_of_its_own(tmp_path: Path) -> None:
    done = run(tmp_path, "worker", "--until-idle", MASSPOST_PRODUCTION="1",
               MASSPOST_SECRET_KEY=secrets.token_urlsafe(50))
    assert done.returncode == 0, done.stderr
    assert "worker: 0 sent" in done.stdout


def test_outside_production_mode_the_development_key_still_serves_a_worker(tmp_path: Path) -> None:
    done = run(tmp_path, "worker", "--until-idle")
    assert done.returncode == 0, done.stderr


# --- any WSGI server: masspost.wsgi itself refuses -------------------------------------------------------------
def import_wsgi(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """What any WSGI server does first: import masspost.wsgi (and take its `application`)."""
    return run(data_dir, **env, args=("-c", "import masspost.wsgi; print(masspost.wsgi.application)"))


REASON = ("masspost.wsgi: MASSPOST_PRODUCTION=1 needs MASSPOST_SECRET_KEY set to a secret of your own (docs/ui.md, "
          "\"Running it for real\"); not started")


@pytest.mark.parametrize("key", [{}, {"MASSPOST_SECRET_KEY": ""}])
def test_the_wsgi_application_does_not_load_in_production_mode_with_the_development_key(
        tmp_path: Path, key: dict[str, str]) -> None:
    done = import_wsgi(tmp_path, MASSPOST_PRODUCTION="1", **key)
    assert done.returncode != 0
    assert "WSGIHandler" not in done.stdout
    assert done.stderr.strip().splitlines()[-1].endswith(f": {REASON}"), done.stderr  # the reason, on one line


def test_the_wsgi_application_loads_with_a_key_or_outside_production_mode(tmp_path: Path) -> None:
    for env in ({"MASSPOST_PRODUCTION": "1", "MASSPOST_SECRET_KEY": secrets.token_urlsafe(50)}, {}):
        done = import_wsgi(tmp_path, **env)
        assert done.returncode == 0, done.stderr
        assert "WSGIHandler" in done.stdout


def test_gunicorn_on_masspost_wsgi_stops_with_the_reason_instead_of_serving(tmp_path: Path) -> None:
    """A worker that cannot load the application halts gunicorn (it does not restart that worker for ever)."""
    done = run(tmp_path, MASSPOST_PRODUCTION="1",
               args=("-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "masspost.wsgi:application"))
    assert done.returncode != 0
    assert REASON in done.stderr
    assert "Worker failed to boot" in done.stderr
