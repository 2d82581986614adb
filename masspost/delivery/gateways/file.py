"""The file gateway: appends one JSON object per message to a file (JSON lines), for demos and tests.

Each line is written with a single `write` on a file opened for appending, so several workers can share one
file without interleaving lines. The file holds patients' addresses and messages: it is readable by its owner
only (0600, and a directory made for it 0700, whatever the umask).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.errors import MasspostError


class FileGateway:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        try:
            self._fd = _open_private(self.path)
        except OSError as exc:
            raise MasspostError(f"file gateway: cannot write to {self.path}: {exc.strerror}") from None

    def send(self, message: OutgoingMessage) -> SendResult:
        assert self._fd is not None, "open() first"
        record = {
            "campaign": message.campaign_id, "patient": message.patient_ref, "channel": str(message.channel),
            "to": message.to, "language": message.language, "text": message.text, "subject": message.subject,
            "encoding": message.encoding, "parts": message.parts, "message": message.message_id,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            os.write(self._fd, line)
        except OSError as exc:
            return SendResult.transient(f"file gateway: {exc.strerror}")
        return SendResult.accepted(f"file-{message.message_id}")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def from_url(url: str) -> FileGateway:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc or not path:
        raise MasspostError("a file gateway URL is file:///absolute/path.jsonl")
    return FileGateway(Path(path))


def _open_private(path: Path) -> int:
    try:
        path.parent.mkdir(mode=0o700, parents=True)
        path.parent.chmod(0o700)  # the umask may have taken more; parents above it keep the default mode
    except FileExistsError:
        pass  # a directory the operator chose keeps its mode
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    # As above, and a file of ours an older version left readable by all; another user's keeps its owner's mode.
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, 0o600)
    return fd
