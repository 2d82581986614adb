"""SQLite runs one worker: a second one on the same database file refuses to start (docs/delivery.md)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from django.db import connection

from masspost.errors import MasspostError


class WorkerLock:
    """An exclusive lock file beside the SQLite database; nothing on PostgreSQL (row locks coordinate there)."""

    def __init__(self) -> None:
        self._handle: IO[str] | None = None

    def __enter__(self) -> WorkerLock:
        if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
            return self
        path = Path(str(connection.settings_dict["NAME"]) + ".worker.lock")
        # Owner-only, as the database beside it (whatever the umask; one an older version left readable by all too).
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with contextlib.suppress(PermissionError):  # another user's file keeps the mode its owner chose
            os.fchmod(fd, 0o600)
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise MasspostError(f"another worker (pid {other}) is running on this SQLite database; SQLite runs one "
                                "worker — use PostgreSQL (DATABASE_URL) to run several") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
