"""A preview made in one process is sent from another: the token's digest must not depend on anything a process
chooses for itself (Python salts str and bytes hashes per process, PYTHONHASHSEED)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_commands import ROOT, write_json
from tests.conftest import campaign


def masspost(data_dir: Path, seed: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    env |= {"MASSPOST_DATA_DIR": str(data_dir), "PYTHONHASHSEED": seed}
    result = subprocess.run([sys.executable, "-m", "masspost", *args], env=env, cwd=ROOT, capture_output=True,
                            stdin=subprocess.DEVNULL, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_token_previewed_in_one_process_is_accepted_by_a_send_in_another(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    masspost(data_dir, "1", "demo", "--patients", "80")
    spec = write_json(tmp_path / "c.json", campaign(channel="both", content={
        "et": {"sms": "Tere {first_name} {last_name}!", "email_subject": "Tere {first_name}",
               "email_body": "<p>{clinic_name}</p>"},
        "ru": {"sms": "Привет, {first_name}!", "email_subject": "Привет", "email_body": "{clinic_phone}"}}))
    tokens = {json.loads(masspost(data_dir, seed, "preview", str(spec), "--json"))["token"] for seed in ("1", "2")}
    assert len(tokens) == 1  # the same preview, whatever the process's hash salt
    sent = json.loads(masspost(data_dir, "3", "send", str(spec), "--token", tokens.pop(), "--yes", "--json"))
    assert sent["messages"] > 0
