"""scripts/demo.sh and scripts/bootstrap.sh, the README's first command: a port another program holds is refused
before anything is installed or shown; the demo installs only what running needs; it says how to run the README's
commands on its data."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_commands import ROOT

# A stand-in for .venv/bin/python and .venv/bin/masspost: it writes its arguments to calls.log and succeeds (python)
# or fails (masspost), so bootstrap.sh's pip calls are seen and nothing is installed.
FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "$(dirname "$0")/../../calls.log"
[ "$(basename "$0")" = python ]
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The scripts and package files of this checkout, with a .venv whose python and masspost are stand-ins."""
    for name in ("scripts/bootstrap.sh", "scripts/demo.sh", "pyproject.toml", "setup.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "masspost"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return tmp_path


def installs(checkout: Path) -> list[str]:
    log = checkout / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split(" -e ", 1)[1] for line in lines if " -m pip install " in line and " -e " in line]


def script(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", *args], cwd=checkout, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_the_demo_installs_no_test_tools_and_the_tests_install_them(checkout: Path) -> None:
    script(checkout, "scripts/demo.sh", "--no-serve", MASSPOST_DATA_DIR=str(checkout / "var"))
    assert installs(checkout) == ["."]  # masspost and what it runs on: no pytest, Playwright, mypy, schemathesis
    assert script(checkout, "scripts/bootstrap.sh").returncode == 0
    assert installs(checkout) == ["."]  # installed once

    # A run-only install is not a test install: the test command installs the test tools.
    assert script(checkout, "scripts/bootstrap.sh", "--test").returncode == 0
    assert installs(checkout) == [".", ".[test]"]
    assert script(checkout, "scripts/bootstrap.sh", "--test").returncode == 0
    assert script(checkout, "scripts/bootstrap.sh").returncode == 0  # a test install has what running needs
    assert installs(checkout) == [".", ".[test]"]


def test_a_changed_pyproject_installs_again(checkout: Path) -> None:
    assert script(checkout, "scripts/bootstrap.sh").returncode == 0
    later = (checkout / ".venv" / ".masspost-run").stat().st_mtime + 10
    os.utime(checkout / "pyproject.toml", (later, later))
    assert script(checkout, "scripts/bootstrap.sh").returncode == 0
    assert installs(checkout) == [".", "."]


def test_the_test_command_asks_for_the_test_tools() -> None:
    assert "bash scripts/bootstrap.sh --test" in (ROOT / "scripts" / "test.sh").read_text()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        yield other_program.getsockname()[1]


def test_a_port_another_program_holds_is_refused_first_with_what_to_do(checkout: Path, taken_port: int) -> None:
    data_dir = checkout / "var" / "demo"
    done = script(checkout, "scripts/demo.sh", MASSPOST_PORT=str(taken_port), MASSPOST_DATA_DIR=str(data_dir))
    assert done.returncode == 1
    assert done.stderr.startswith(f"demo.sh: port {taken_port} is in use by another program: stop it, or choose "
                                  f"another port: MASSPOST_PORT=")
    assert done.stderr.rstrip().endswith(" bash scripts/demo.sh")
    assert done.stdout == ""  # no banner, no password, no URL
    assert installs(checkout) == [] and not data_dir.exists()  # before installing or making anything


def test_a_port_that_is_not_one_is_refused(checkout: Path) -> None:
    done = script(checkout, "scripts/demo.sh", MASSPOST_PORT="80a")
    assert done.returncode == 2
    assert done.stderr == "demo.sh: MASSPOST_PORT='80a' is not a port (1-65535)\n"
    assert installs(checkout) == []


@pytest.mark.slow
def test_the_demo_prints_the_line_that_runs_the_readme_commands_on_its_data(tmp_path: Path) -> None:
    # The real demo, on this checkout's .venv (installed by the test command, so no install happens here).
    data_dir = tmp_path / "demo data"
    done = subprocess.run(["bash", "scripts/demo.sh", "--no-serve"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MASSPOST_DATA_DIR": str(data_dir), "DEMO_PATIENTS": "40"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    line = lines[lines.index("The README's commands on this data (masspost alone uses ./var):") + 1].strip()
    assert "MASSPOST_DATA_DIR=" in line and line.endswith(" .venv/bin/masspost campaigns")
    # Copied as printed (its path has a space), in the shell that ran the demo, whatever DATABASE_URL it has.
    listed = subprocess.run(["bash", "-c", line + " --json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    (campaign,) = json.loads(listed.stdout)["campaigns"]  # the demo's recall, not an empty new database
    assert campaign["progress"]["total"] > 0
    assert campaign["progress"]["sent"] == campaign["progress"]["total"]
