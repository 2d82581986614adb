"""The package as a deployer builds it (`pip install .`, a wheel): installed into a venv of its own, away from this
checkout, it serves the web UI in Estonian and Russian — its build compiled the translations (setup.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_commands import ROOT
from tests.cli.test_serve import START_TIMEOUT, answers, free_port

pytestmark = pytest.mark.slow

# What a fresh clone holds: no venv, no data, no build leftovers and no .mo file (the build must make them).
NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__",
                                        ".*_cache", ".hypothesis", "*.mo", "node_modules")


def run(*command: str | Path, cwd: Path, timeout: int = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))}: exit {result.returncode}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """The wheel built from this tree's sources, installed with its dependencies into a new venv: its bin/."""
    with tempfile.TemporaryDirectory(prefix="masspost-wheel-") as temp:
        work = Path(temp)
        source = work / "source"
        shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
        # Build isolation on: setuptools and Babel come from [build-system] requires, as for any deployer.
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--quiet",
            "--wheel-dir", work / "wheels", source, cwd=work)
        (wheel,) = (work / "wheels").glob("masspost-*.whl")
        run(sys.executable, "-m", "venv", work / "venv", cwd=work)
        bin_dir = work / "venv" / "bin"
        # --no-compile: no .pyc for the thousands of dependency files, of which the test imports few.
        run(bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--no-compile",
            wheel, cwd=work)
        yield bin_dir


def test_the_wheel_is_the_masspost_that_runs(installed: Path) -> None:
    where = run(installed / "python", "-c", "import masspost; print(masspost.__file__)", cwd=installed)
    assert Path(where.strip()).is_relative_to(installed.parent), where  # not this checkout's editable install


def test_a_pip_installed_masspost_serves_the_sign_in_page_in_estonian_and_russian(installed: Path) -> None:
    data_dir = installed.parent.parent / "var"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    env["MASSPOST_DATA_DIR"] = str(data_dir)
    port = free_port()
    server = subprocess.Popen([installed / "masspost", "serve", "--port", str(port), "--workers", "1"],
                              cwd=installed.parent.parent, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(port):
            assert server.poll() is None and time.monotonic() < deadline, "masspost serve did not start"
            time.sleep(0.1)
        pages = {}
        for language in ("et", "ru"):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/sign-in/",
                                             headers={"Accept-Language": language})
            with urllib.request.urlopen(request, timeout=30) as response:
                pages[language] = response.read().decode()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Logi sisse" in pages["et"], err
    assert "Kasutajanimi" in pages["et"]
    assert "User name" not in pages["et"]
    assert "Войти" in pages["ru"]
    assert "Имя пользователя" in pages["ru"]
