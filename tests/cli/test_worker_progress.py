"""`masspost worker` on a terminal keeps a live line on standard error — sent, failed, per second — redrawn at
most four times a second; with no terminal it writes nothing but its summary."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from masspost.cli.progress import WorkerLine
from masspost.clinic.models import Clinic
from masspost.delivery.pipeline import WorkerStats
from tests.cli.test_commands import ROOT, run, write_json
from tests.conftest import campaign


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("tqdm.std.time", fake)
    return fake


def drawn(screen: str) -> list[str]:
    """The line's successive states, as a terminal showed them."""
    return [state.strip() for state in screen.split("\r") if state.strip()]


def test_the_line_shows_sent_failed_and_rate_at_most_four_times_a_second(clock: Clock) -> None:
    screen = Terminal()
    line = WorkerLine(screen)
    stats = WorkerStats()
    for _ in range(100):  # a hundred groups within the same instant: one redraw at most
        stats.sent += 12
        line(stats)
    assert len(drawn(screen.getvalue())) <= 2
    clock.now += 0.5
    stats.sent += 4
    stats.failed = 3
    line(stats)
    assert drawn(screen.getvalue())[-1] == "sent 1,204 · failed 3 · 2,408/s"
    clock.now += 0.1  # too soon: not redrawn
    stats.sent += 100
    line(stats)
    assert drawn(screen.getvalue())[-1] == "sent 1,204 · failed 3 · 2,408/s"
    line.close()


def test_nothing_is_written_when_not_a_terminal(clock: Clock) -> None:
    log = io.StringIO()
    with WorkerLine(log) as line:
        line(WorkerStats(sent=5))
        clock.now += 1
        line(WorkerStats(sent=10))
    assert log.getvalue() == ""


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.django_db
@pytest.mark.parametrize("terminal", [True, False])
def test_the_worker_command_draws_the_line_only_on_a_terminal(clinic: Clinic, make_patient: Any, tmp_path: Path,
                                                             restore_signals: None, terminal: bool) -> None:
    for _ in range(3):
        make_patient()
    run("send", str(write_json(tmp_path / "c.json", campaign())), yes=True)
    err = Terminal() if terminal else io.StringIO()
    out = io.StringIO()
    with override_settings(MASSPOST_SMS_URL=f"file://{tmp_path / 'sms.jsonl'}",
                           MASSPOST_EMAIL_URL=f"file://{tmp_path / 'email.jsonl'}"):
        call_command("worker", until_idle=True, json=True, stdout=out, stderr=err)
    assert json.loads(out.getvalue())["sent"] == 3
    if terminal:
        assert drawn(err.getvalue())[0].startswith("sent 0 · failed 0")
    else:
        assert err.getvalue() == ""



def test_a_log_line_prints_above_the_live_line(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)  # the worker's stderr, where the masspost logger writes
    logger = logging.getLogger("masspost")
    monkeypatch.setattr(logger, "handlers", [logging.StreamHandler(sys.stderr)])
    with WorkerLine(screen) as line:
        line(WorkerStats(sent=1))
        logging.getLogger("masspost.delivery").warning("gateway sms: connection refused")
        assert screen.getvalue().endswith("gateway sms: connection refused\n\rsent 1 · failed 0")
    assert logger.handlers[0].stream is screen  # type: ignore[attr-defined]  # given back after


def test_the_line_shows_on_a_real_terminal_that_reports_no_size(tmp_path: Path) -> None:
    # A fresh pseudo-terminal reports 0 columns and 0 rows, as some CI and container terminals do.
    script = ("import django, sys, time; django.setup()\n"
              "from masspost.cli.progress import WorkerLine\n"
              "from masspost.delivery.pipeline import WorkerStats\n"
              "with WorkerLine(sys.stderr) as line:\n"
              "    time.sleep(0.3); line(WorkerStats(sent=900, failed=2))\n")
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "DJANGO_SETTINGS_MODULE": "masspost.settings", "MASSPOST_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-c", script], stderr=child, env=env, cwd=ROOT)
    os.close(child)
    screen = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(main, 4096):
            screen += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0
    assert "sent 900 · failed 2 · " in screen.decode()
