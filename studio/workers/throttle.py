"""Rate limiting for reports that cross from a worker thread to the GUI thread.

A training loop can report thousands of times per second; each Qt signal becomes an event the GUI thread
must process, so unthrottled reports freeze the window. A :class:`Throttle` passes at most one emission per
``interval`` seconds. In ``latest`` mode (progress) only the newest pending value is kept; in ``batch`` mode
(metrics) every value is kept and delivered as a list, so no plotted point is lost.

The worker thread is busy running the job and has no event loop, so there is no timer: pending values go
out on the next push or :meth:`tick` after the interval, and :meth:`flush` delivers the rest at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Throttle:
    def __init__(
        self,
        emit: Callable[[Any], None],
        interval: float = 0.05,
        mode: str = "latest",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in ("latest", "batch"):
            raise ValueError(f"unknown throttle mode {mode!r}")
        self._emit = emit
        self._interval = interval
        self._mode = mode
        self._clock = clock
        self._pending: list[Any] = []
        self._last = float("-inf")

    def push(self, value: Any) -> None:
        if self._mode == "latest":
            self._pending = [value]
        else:
            self._pending.append(value)
        self.tick()

    def tick(self) -> None:
        """Emit what is pending if the interval has passed."""
        if self._pending and self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Emit whatever is pending now, regardless of the interval."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._last = self._clock()
        self._emit(pending[-1] if self._mode == "latest" else pending)
