"""The one Job protocol every piece of heavy work follows.

A job is any callable ``job(ctx) -> result``. It reports through the context it is given and calls
``ctx.check()`` once per batch (or per generated token): that is where a cancel request raises
:class:`Cancelled` and where a pause waits. Cancel and pause are therefore cooperative and cost nothing
between checks.

The base :class:`JobContext` reports to optional plain callbacks, so tests and the CLI run jobs without Qt;
``studio.workers`` subclasses it to turn reports into throttled Qt signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


class Cancelled(Exception):
    """Raised by :meth:`JobContext.check` after :meth:`JobContext.cancel`; jobs let it propagate."""


class JobError(Exception):
    """A failure whose message is already written for the user (what happened and what to do)."""


@runtime_checkable
class Job(Protocol):
    """Anything callable with a context. A class may add ``title`` (shown to the user) and ``kind``."""

    def __call__(self, ctx: JobContext) -> Any: ...


def job_title(job: Any) -> str:
    """A human title for a job: its ``title`` attribute, else its function or class name."""
    title = getattr(job, "title", None)
    if title:
        return str(title)
    name = getattr(job, "__name__", None) or type(job).__name__
    return name.replace("_", " ").strip().capitalize()


ProgressFn = Callable[[float, str], None]
MetricsFn = Callable[[dict], None]
PreviewFn = Callable[[Any], None]


class JobContext:
    """What a running job talks to. Thread-safe: cancel/pause/resume may be called from any thread.

    The default callbacks do nothing, so ``job(JobContext())`` is a complete headless run.
    """

    def __init__(
        self,
        on_progress: ProgressFn | None = None,
        on_metrics: MetricsFn | None = None,
        on_preview: PreviewFn | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_metrics = on_metrics
        self._on_preview = on_preview
        self._cancel = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()

    # -- reports from the job -------------------------------------------------------------------------
    def progress(self, fraction: float, message: str = "") -> None:
        """Report overall progress in [0, 1] (clamped) with a short status line."""
        if self._on_progress is not None:
            self._on_progress(min(1.0, max(0.0, float(fraction))), message)

    def metrics(self, values: dict) -> None:
        """Report one logged step, e.g. ``{"step": 10, "loss": 0.52}``. Values must be plain numbers."""
        if self._on_metrics is not None:
            self._on_metrics(dict(values))

    def preview(self, obj: Any) -> None:
        """Hand over a preview (CPU numpy array, PIL image, text, audio dict): never a CUDA tensor."""
        if self._on_preview is not None:
            self._on_preview(obj)

    def flush(self) -> None:
        """Deliver any reports held back (a GUI context throttles them); here, nothing is held."""

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was asked; while paused, wait here until resumed or cancelled."""
        if self._cancel.is_set():
            raise Cancelled()
        if not self._running.is_set():
            self.flush()  # the last reports before a pause must not wait for the resume
        while not self._running.is_set():
            self._running.wait(0.05)
            if self._cancel.is_set():
                raise Cancelled()

    # -- control from outside ---------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused job so it can notice the cancel

    def pause(self) -> None:
        if not self._cancel.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()


def run_job(job: Job, ctx: JobContext | None = None) -> Any:
    """Run a job synchronously (CLI, tests). Returns its result; raises what it raises."""
    return job(ctx if ctx is not None else JobContext())
