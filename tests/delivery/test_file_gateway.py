"""The file gateway's JSON-lines file holds patients' messages: only its owner may read it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.delivery.gateways.file import FileGateway
from masspost.errors import MasspostError


@pytest.fixture
def open_umask() -> Iterator[None]:
    # The most permissive umask: whatever is private below is so because the gateway made it so.
    saved = os.umask(0)
    yield
    os.umask(saved)


def send_one(path: Path) -> None:
    gateway = FileGateway(path)
    gateway.open()
    try:
        gateway.send(OutgoingMessage(message_id=1, campaign_id=1, patient_ref="P1", channel=Channel.SMS,
                                     to="+37251234567", language="et", text="Tere"))
    finally:
        gateway.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_and_a_directory_made_for_it_are_readable_by_their_owner_only(tmp_path: Path,
                                                                                open_umask: None) -> None:
    path = tmp_path / "new" / "outbox-sms.jsonl"
    send_one(path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert json.loads(path.read_text(encoding="utf-8"))["patient"] == "P1"


def test_an_older_readable_file_becomes_private_and_keeps_its_lines(tmp_path: Path, open_umask: None) -> None:
    tmp_path.chmod(0o755)  # a directory the operator chose keeps its mode
    path = tmp_path / "outbox.jsonl"
    path.write_text('{"old": 1}\n', encoding="utf-8")
    path.chmod(0o644)
    send_one(path)
    assert mode(path) == 0o600 and mode(tmp_path) == 0o755
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_a_file_that_cannot_be_written_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(MasspostError, match="file gateway: cannot write to .*not-a-directory/out.jsonl"):
        FileGateway(blocker / "out.jsonl").open()
