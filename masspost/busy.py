"""A database too busy to answer now: SQLite's write lock held past the busy timeout (a large import writing, say),
or PostgreSQL's lock timeout. Such a request is answered 503 with Retry-After by the web UI and the API, never 500:
nothing was changed, and the same request a little later goes through (docs/api.md, "Errors")."""

from __future__ import annotations

from django.db import OperationalError

RETRY_AFTER = 5  # seconds
_BUSY = ("database is locked", "database table is locked", "database is busy", "lock timeout",
         "could not obtain lock")


def database_busy(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    message = str(exc).lower()
    return any(words in message for words in _BUSY)
