"""Production mode without a secret key of one's own: `masspost serve` and `masspost worker` refuse to start,
with one line saying why; with a key, or outside production mode, they start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_commands import ROOT, one_line_error


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL", "MASSPOST_SECRET_KEY",
                         "MASSPOST_PRODUCTION", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "-m", "masspost", *args], env=base | {"MASSPOST_DATA_DIR": str(data_dir)}
                          | env, cwd=ROOT, capture_output=True, stdin=subprocess.DEVNULL, text=True, timeout=120)


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
