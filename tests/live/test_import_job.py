"""Issue 16, point 1 against a real `masspost serve`: a large import runs as a job in its own process (not in the
request's worker, whose time limit is 60 s), reports progress and then the same report as the synchronous answer,
deletes its upload, and other users' requests meanwhile never fail."""

from __future__ import annotations

import time
from pathlib import Path

from tests.live.conftest import Live

ROWS = 30_000


def patients(rows: int) -> str:
    lines = ["external_id,clinic,first_name,language,phone,accepts_sms"]
    lines += [f"J-{i:06d},TLN,Mari,et,+3725{i:07d},yes" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_a_large_import_is_a_job_that_finishes_while_others_are_answered(live: Live) -> None:
    status, headers, job = live.call("POST", "/imports/patients", patients(ROWS), content_type="text/csv",
                                     headers={"Prefer": "respond-async"})
    assert status == 202, job
    location = headers["Location"]
    assert location == f"/api/v1/imports/jobs/{job['id']}"
    seen: set[str] = set()
    answers: list[int] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        answers.append(live.call("GET", "/me")[0])
        _, _, job = live.call("GET", location.removeprefix("/api/v1"))
        seen.add(job["status"])
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["report"] | {"warnings": []} == {"kind": "patients", "rows": ROWS, "imported": ROWS, "written": True,
                                                "warnings": [], "errors": []}
    assert (job["rows_read"], job["rows_written"]) == (ROWS, ROWS)
    assert set(answers) == {200}, answers  # never a 500 (nor a 503 for a read: WAL)
    assert seen <= {"queued", "running", "done"}
    uploads = Path(live.data_dir) / "imports"
    assert uploads.is_dir() and list(uploads.iterdir()) == []  # the upload is gone with the job
    _, _, listed = live.call("GET", "/patients", None)
    assert listed["count"] >= ROWS
