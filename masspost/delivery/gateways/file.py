"""The file gateway: appends one JSON object per message to a file (JSON lines), for demos and tests.

Each line is written with a single `write` on a file opened for appending, so several workers can share one
file without interleaving lines.
"""

from __future__ import annotations

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

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
