"""What masspost writes to disk holds patient data: the embedded database (with its WAL files), the data
directory, the preview's lists and the file gateway's files are readable by their owner only, whatever the
umask; and the lists open in a spreadsheet without running a formula from a patient's name."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from masspost.clinic.models import Clinic
from tests.cli.test_commands import ROOT, masspost, ok, read_csv, run, write_json
from tests.conftest import campaign


@pytest.fixture
def open_umask() -> Iterator[None]:
    # The most permissive umask, inherited by the commands started below.
    saved = os.umask(0)
    yield
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_the_database_and_its_wal_files_are_private(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "new" / "var"
    # A command that holds its connection open, so that SQLite's -wal and -shm files exist to be looked at.
    script = ("import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'masspost.settings'; django.setup(); "
              "from django.db import connection; cursor = connection.cursor(); "
              "cursor.execute('CREATE TABLE t (x)'); cursor.execute('INSERT INTO t VALUES (1)'); "
              "d = os.environ['MASSPOST_DATA_DIR']; "
              "print(json.dumps({n: oct(os.stat(os.path.join(d, n)).st_mode & 0o777) for n in os.listdir(d)}))")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"MASSPOST_DATA_DIR": str(data_dir)}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    modes = json.loads(result.stdout)
    assert modes == {"masspost.sqlite3": "0o600", "masspost.sqlite3-shm": "0o600", "masspost.sqlite3-wal": "0o600"}
    assert mode(data_dir) == 0o700


def test_an_older_readable_database_becomes_private(tmp_path: Path, open_umask: None) -> None:
    tmp_path.chmod(0o755)  # a data directory the operator made keeps its mode
    ok(masspost(tmp_path, "migrate"))
    db = tmp_path / "masspost.sqlite3"
    db.chmod(0o644)
    ok(masspost(tmp_path, "migrate"))
    assert mode(db) == 0o600 and mode(tmp_path) == 0o755


def test_the_demo_flow_leaves_only_private_files(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "var"
    ok(masspost(data_dir, "demo", "--patients", "60"))
    spec = write_json(tmp_path / "c.json", campaign())
    ok(masspost(data_dir, "preview", str(spec), "--csv-dir", str(data_dir / "preview")))
    ok(masspost(data_dir, "send", str(spec), "--yes"))
    ok(masspost(data_dir, "worker", "--until-idle"))
    written = {path.relative_to(data_dir).as_posix(): mode(path) for path in data_dir.rglob("*")
               if not path.name.endswith(".worker.lock")}  # a pid, and in the private directory
    assert {"outbox-sms.jsonl", "preview/recipients.csv", "preview/excluded.csv", "masspost.sqlite3"} <= set(written)
    assert {name: m for name, m in written.items() if m != (0o700 if (data_dir / name).is_dir() else 0o600)} == {}
    assert mode(data_dir) == 0o700


@pytest.mark.django_db
def test_a_patient_named_like_a_formula_is_quoted_in_the_preview_lists(clinic: Clinic, make_patient: Any,
                                                                       tmp_path: Path) -> None:
    make_patient(first_name="=HYPERLINK(\"http://evil.example\",\"x\")", last_name="@SUM(1+1)", language="et")
    make_patient(first_name="-Mari", language="fi")  # no Finnish text: excluded as no_content
    run("preview", str(write_json(tmp_path / "c.json", campaign())), csv_dir=str(tmp_path / "lists"))
    (sent,) = read_csv(tmp_path / "lists" / "recipients.csv")
    assert (sent["first_name"], sent["last_name"]) == ("'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(1+1)")
    assert sent["address"].startswith("+372")  # an E.164 number runs nothing: kept as it is
    (left_out,) = read_csv(tmp_path / "lists" / "excluded.csv")
    assert left_out["first_name"] == "'-Mari"

