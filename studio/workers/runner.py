"""Run one core job on its own QThread and report through Qt signals.

Lifecycle, always in this order: ``started``, then any number of ``progress`` / ``metrics`` /
``preview``, then exactly one of ``succeeded(result)``, ``failed(message)`` or ``cancelled``, then
``finished``. ``progress`` and ``metrics`` are throttled to about 20 emissions a second (``metrics`` carries
a list of every metric dict since the last emission, so nothing is dropped).

A :class:`JobRunner` lives in the GUI thread; its worker is moved to the QThread. Panels connect the
runner's signals to their own slots (never to lambdas, which would run in the emitting thread).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from functools import partial
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

from studio import paths
from studio.core.errors import describe_error
from studio.core.jobs import Cancelled, JobContext, job_title
from studio.workers.throttle import Throttle

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 0.05  # at most ~20 progress and ~20 metrics emissions per second
JOB_NICENESS = 5  # added to a job thread's nice value (see _yield_to_the_window)


class _SignalContext(JobContext):
    """A JobContext whose reports become the worker's (throttled) signals."""

    def __init__(self, worker: JobWorker) -> None:
        self._progress_throttle = Throttle(lambda v: worker.progress.emit(*v), REPORT_INTERVAL_S, "latest")
        self._metrics_throttle = Throttle(worker.metrics.emit, REPORT_INTERVAL_S, "batch")
        super().__init__(
            on_progress=lambda fraction, message: self._progress_throttle.push((fraction, message)),
            on_metrics=self._metrics_throttle.push,
            on_preview=worker.preview.emit,
        )

    def check(self) -> None:
        # The job calls check() often; use it to deliver reports that were held back by the throttle.
        self._progress_throttle.tick()
        self._metrics_throttle.tick()
        super().check()

    def flush(self) -> None:
        self._metrics_throttle.flush()
        self._progress_throttle.flush()


def _yield_to_the_window() -> None:
    """Give this job's thread a lower scheduling priority than the GUI thread (Linux: a thread's own nice value).

    Jobs are Python: they share the GIL with the GUI thread, and on a 2-core machine two busy jobs left the GUI
    thread waiting 100-300 ms for a CPU to run the event loop on (start-up: the demo import beside the torch
    import). Niced, the kernel runs the GUI thread first whenever it wakes; a job alone still gets whole cores.
    Elsewhere (macOS, Windows: no per-thread nice through ``os``) nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)


class JobWorker(QObject):
    """Runs the job when its thread starts. Lives on the job's QThread."""

    started = Signal()
    progress = Signal(float, str)
    metrics = Signal(list)
    preview = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, job: Any, title: str) -> None:
        super().__init__()
        self.job = job
        self.title = title
        self.context = _SignalContext(self)

    @Slot()
    def run(self) -> None:
        _yield_to_the_window()
        self.started.emit()
        try:
            result = self.job(self.context)
        except Cancelled:
            self.context.flush()
            log.info("%s: cancelled", self.title)
            self.cancelled.emit()
        except BaseException as exc:  # any failure becomes a message; the app keeps running
            self.context.flush()
            log.exception("%s failed", self.title)
            self.failed.emit(f"{describe_error(exc, self.title)} (Details: {paths.log_file()})")
        else:
            self.context.flush()
            log.info("%s: done", self.title)
            self.succeeded.emit(result)
        finally:
            self.finished.emit()
            # Hand this object back to the GUI thread before the job's thread ends, so it is destroyed
            # there. Destroyed on the job's thread (deleteLater), QObject's destructor holds a Qt
            # connection lock while PySide waits for the GIL, and a GUI thread connecting a signal at
            # that moment (holding the GIL, waiting for the lock) deadlocks the app.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())


class JobRunner(QObject):
    """One job on one QThread, seen from the GUI thread.

    A started runner keeps itself alive until its thread has ended: Qt aborts the process if a QThread
    object is destroyed while its thread still runs, which a caller dropping its last reference would do.
    """

    _live: ClassVar[set[JobRunner]] = set()

    started = Signal()
    progress = Signal(float, str)
    metrics = Signal(list)
    preview = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()
    released = Signal()  # the thread has ended too: the runner may now be deleted

    PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED = "pending", "running", "succeeded", "failed", "cancelled"

    def __init__(
        self,
        job: Any,
        title: str | None = None,
        kind: str | None = None,
        device: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.job = job
        self.title = title or job_title(job)
        self.kind = kind or getattr(job, "kind", "task")
        self.device = device
        self.state = self.PENDING
        self.result: Any = None
        self.error: str | None = None
        self.fraction = 0.0
        self.message = ""
        self._thread = QThread(self)
        self._thread.setObjectName(f"job:{self.title}")
        self._worker = JobWorker(job, self.title)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # Direct: quit() is thread-safe, and a queued call would never run while the GUI thread waits at quit.
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)
        self._context = self._worker.context
        w = self._worker
        w.started.connect(self._on_started)
        w.progress.connect(self._on_progress)
        w.metrics.connect(self.metrics)
        w.preview.connect(self.preview)
        w.succeeded.connect(self._on_succeeded)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.finished.connect(self._on_finished)

    # -- control ----------------------------------------------------------------------------------------
    def start(self) -> JobRunner:
        if self.state != self.PENDING:
            raise RuntimeError("a JobRunner runs its job once")
        self.state = self.RUNNING
        JobRunner._live.add(self)
        self._thread.start()
        return self

    @property
    def context(self) -> JobContext:
        return self._context

    def cancel(self) -> None:
        self.context.cancel()

    def pause(self) -> None:
        self.context.pause()

    def resume(self) -> None:
        self.context.resume()

    @property
    def paused(self) -> bool:
        return self.context.paused

    def is_running(self) -> bool:
        return self.state == self.RUNNING

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread has ended (used at quit). True if it ended in time."""
        if self._thread.isFinished() or not self._thread.isRunning():
            return True
        return self._thread.wait(timeout_ms) if timeout_ms >= 0 else self._thread.wait()

    # -- worker reports, received in the GUI thread ----------------------------------------------------------
    @Slot()
    def _on_started(self) -> None:
        self.started.emit()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message
        self.progress.emit(fraction, message)

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self.state, self.result, self.fraction = self.SUCCEEDED, result, 1.0
        self.succeeded.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.state, self.error = self.FAILED, message
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.state = self.CANCELLED
        self.cancelled.emit()

    @Slot()
    def _on_finished(self) -> None:
        self.finished.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._thread.wait()  # returns at once: QThread.finished is the thread's very last act
        self._worker.deleteLater()  # on the GUI thread: see JobWorker.run
        self.released.emit()
        # Drop the self-reference from a timer, not from inside this slot: deleting the receiver of the
        # event being delivered is unsafe.
        QTimer.singleShot(0, partial(JobRunner._live.discard, self))
