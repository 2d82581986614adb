"""`masspost cancel` on a campaign whose messages were all sent: exit 2, one line saying why, nothing changed
(issue 16, point 13) — through the real command line, as an operator types it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import masspost, ok, one_line_error, write_json
from tests.conftest import campaign


def test_cancel_and_pause_of_a_sent_campaign_exit_2_and_change_nothing(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "demo", "--patients", "20", "--seed", "3"))
    texts = {"et": {"sms": "Tere!"}, "ru": {"sms": "Привет!"}, "en": {"sms": "Hello!"}}
    path = write_json(tmp_path / "c.json", campaign(audience={}, content=texts))
    sent = json.loads(ok(masspost(tmp_path, "send", str(path), "--yes", "--json")))
    ok(masspost(tmp_path, "worker", "--until-idle"))
    before = json.loads(ok(masspost(tmp_path, "status", str(sent["campaign"]), "--json")))
    assert before["status"] == "done"
    for command, why in (("cancel", "nothing to cancel"), ("pause", "nothing to pause")):
        result = masspost(tmp_path, command, str(sent["campaign"]))
        assert result.returncode == 2
        line = one_line_error(result)
        assert why in line and f"campaign {sent['campaign']}" in line
    after = json.loads(ok(masspost(tmp_path, "status", str(sent["campaign"]), "--json")))
    assert after == before
