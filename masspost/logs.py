"""Logging that keeps patient data out of the log: an unexpected error is logged with its traceback's frames and
its type, never its message (a database error can quote a row, a ValueError the value it refused)."""

from __future__ import annotations

import logging
import traceback
from types import TracebackType


def frames_of(exc: BaseException) -> str:
    """The exception's type and where it was raised (file, line, code), without its message."""
    return f"{type(exc).__name__}\n" + "".join(traceback.format_tb(exc.__traceback__)).rstrip("\n")


class FramesOnly(logging.Formatter):
    """The log line, then the frames of its exception (frames_of): for Django's `django.request` logger, which
    logs every 500 of the web UI with the exception (settings.LOGGING)."""

    def formatException(self, ei: tuple[type[BaseException], BaseException, TracebackType | None]  # noqa: N802
                        | tuple[None, None, None]) -> str:
        return frames_of(ei[1]) if ei[1] is not None else ""
