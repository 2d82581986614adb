"""Issue 16, point 1: how large a file is still imported within the request. The benchmark (docs/benchmarks.md,
"Import") took about 30 s on SQLite and 34 s on PostgreSQL for 100,000 patients (7 MB) synchronously on the
project's machine: half of gunicorn's 60 s. So a body over 2 MiB (about 30,000 such rows, some 10 s) is a job
whatever the client prefers — and docs/api.md says the same number."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from masspost.api import imports as imports_api
from masspost.campaigns import import_jobs
from masspost.campaigns.models import ImportJob
from masspost.clinic.models import Patient
from tests.api.conftest import Api

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def patients_csv(size: int) -> str:
    """A valid patients file of at least `size` bytes: the kind of file the benchmark imported."""
    rows = ["external_id,clinic,first_name,last_name,phone,email,accepts_sms,accepts_email"]
    total, n = len(rows[0]) + 1, 0
    while total <= size:
        n += 1
        row = f"P-{n:07d},TLN,Mari,Maasikas,+3725{n:07d},mari.{n}@example.ee,yes,yes"
        rows.append(row)
        total += len(row) + 1
    return "\n".join(rows) + "\n"


def test_a_file_just_over_two_mib_is_a_job_without_asking(alice: Api, monkeypatch: pytest.MonkeyPatch,
                                                          settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    started: list[int] = []
    monkeypatch.setattr(import_jobs, "launch", started.append)  # queued only: the job's run has tests of its own
    body = patients_csv(2 * MIB + 1)
    response = alice.post("/imports/patients", body, content_type="text/csv")
    assert response.status_code == 202, response.status_code
    assert response.json()["status"] == "queued" and not response.has_header("Preference-Applied")
    assert ImportJob.objects.count() == 1 and not Patient.objects.exists()  # nothing written within the request


def test_the_documented_limit_is_the_one_applied() -> None:
    documented = re.findall(r"over \*\*(\d+) MiB\*\*", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert documented and {int(n) * MIB for n in documented} == {imports_api.SYNC_MAX_BYTES}
