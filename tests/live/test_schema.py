"""Schemathesis against the live /api/openapi.json, with a valid token: over every operation, from the
schema's examples, its boundaries (coverage), random data (fuzzing) and chains of calls (stateful), no answer
is a 5xx and every answer — status, content type, headers, body — is one the schema describes. The hooks
(schemathesis_hooks.py) add crafted values to every query and path parameter: times UTC cannot hold, "²",
numbers too big for the database, a NUL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.live.conftest import Live
from tests.live.test_api_flow import PATIENTS, RECALL

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
MAX_EXAMPLES = int(os.environ.get("MASSPOST_SCHEMATHESIS_EXAMPLES", "50"))


def test_the_live_schema_holds(live: Live, tmp_path: Path) -> None:
    # Data for the operations to find: patients, a preview, a campaign.
    assert live.call("POST", "/imports/patients", PATIENTS, content_type="text/csv")[0] == 200
    status, _, preview = live.call("POST", "/campaigns/preview", RECALL)
    assert status == 200
    assert live.call("POST", "/campaigns", {"campaign": RECALL, "token": preview["token"]},
                     headers={"Idempotency-Key": "schema"})[0] == 201
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is not installed (scripts/bootstrap.sh)"
    done = subprocess.run(
        [st, "run", f"{live.url}/api/openapi.json", "--header", f"Authorization: Bearer {live.token}",
         "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(MAX_EXAMPLES),
         "--workers", "2", "--seed", "20261203", "--request-timeout", "60", "--no-color",
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, env=os.environ | {"SCHEMATHESIS_HOOKS": str(HOOKS)})
    assert done.returncode == 0, f"schemathesis found problems:\n{done.stdout[-20000:]}\n{done.stderr[-3000:]}"
