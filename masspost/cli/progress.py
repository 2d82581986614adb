"""The worker's live line on a terminal: `sent 1,204 · failed 3 · 212/s`, on standard error, redrawn at most
four times a second (tqdm keeps the line, the rate and the throttle). Nothing at all when standard error is not a
terminal: a service's log or a pipe gets the worker's summary line only."""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import IO, Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from masspost.delivery.pipeline import WorkerStats

REDRAW_EVERY = 0.25  # seconds
MAX_WIDTH = 100
LINE = "sent {n:,} · failed {failed:,}{per_second}"


class _Line(tqdm):  # type: ignore[type-arg]
    monitor_interval = 0  # no monitor thread: the worker redraws from its own loop
    failed = 0

    @property
    def format_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = super().format_dict
        # tqdm's smoothed rate; before it has one, the average since the start.
        rate = values["rate"] or (self.n / values["elapsed"] if values["elapsed"] and self.n else None)
        return {**values, "failed": self.failed, "per_second": f" · {rate:,.0f}/s" if rate else ""}


class WorkerLine:
    """`on_progress` for `worker_run`: takes the running WorkerStats after each recorded group."""

    def __init__(self, stream: IO[str]) -> None:
        terminal = bool(getattr(stream, "isatty", None) and stream.isatty())
        # miniters=0: every call looks at the clock (a call is a whole group, not a message), and redraws only
        # when REDRAW_EVERY has passed. leave=False: the line is wiped at the end, the summary follows. The size
        # is given, not asked: the line is short, and a terminal that reports 0×0 (some ptys) would hide it.
        self._line = _Line(file=stream, disable=not terminal, mininterval=REDRAW_EVERY, miniters=0,
                           leave=False, bar_format=LINE, ncols=MAX_WIDTH, nrows=24)
        self._logs = contextlib.ExitStack()
        if terminal:
            # The worker's log lines (an outage, a gateway's refusal) print above the live line, not through it.
            self._logs.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("masspost")],
                                                           tqdm_class=_Line))

    def __call__(self, stats: WorkerStats) -> None:
        self._line.failed = stats.failed
        self._line.update(stats.sent - self._line.n)

    def close(self) -> None:
        self._line.close()
        self._logs.close()

    def __enter__(self) -> WorkerLine:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
