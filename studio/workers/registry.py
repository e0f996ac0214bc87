"""Every running job in the app, in one place.

It keeps runners alive until they finish, allows one training job per device at a time (two trainings
on one GPU would both crawl or run out of memory), tells the status bar what is running, and at quit asks
every job to stop and waits for it, so checkpoints are written and no thread is killed mid-write.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal, Slot

from studio.core.jobs import JobError
from studio.workers.runner import JobRunner

TRAINING = "training"
SHUTDOWN_POLL_MS = 25  # at quit, how often the waiting event loop looks again (it also wakes on every job's end)


class DeviceBusyError(JobError):
    """A second training job was asked for on a device that is already training."""


class JobRegistry(QObject):
    changed = Signal()  # a job started or ended
    job_started = Signal(object)  # the JobRunner

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runners: list[JobRunner] = []
        self._stopping = False  # inside shutdown(): a job started now is cancelled at once

    def start(
        self, job: Any, title: str | None = None, kind: str | None = None, device: str | None = None
    ) -> JobRunner:
        """Start ``job`` on a new thread. Raises :class:`DeviceBusyError` for a second training on a device."""
        # No Qt parent: a parent would delete a runner whose thread still runs when the registry goes away
        # (Qt aborts the process then). The runner keeps itself alive until its thread has ended.
        runner = JobRunner(job, title=title, kind=kind, device=device)
        if runner.kind == TRAINING:
            busy = self.training_on(runner.device)
            if busy is not None:
                raise DeviceBusyError(
                    f"“{busy.title}” is already training on {runner.device or 'this device'}. "
                    "Stop or pause it first, or pick another device."
                )
        runner.released.connect(self._on_runner_released)
        self._runners.append(runner)
        runner.start()
        if self._stopping:  # a panel that heard its job end started its next one while the app quits
            runner.cancel()
        self.job_started.emit(runner)
        self.changed.emit()
        return runner

    def running(self) -> list[JobRunner]:
        return [r for r in self._runners if r.is_running()]

    def training_on(self, device: str | None) -> JobRunner | None:
        for runner in self.running():
            if runner.kind == TRAINING and runner.device == device:
                return runner
        return None

    def training_running(self) -> bool:
        return any(r.kind == TRAINING for r in self.running())

    def cancel_all(self) -> None:
        for runner in self.running():
            runner.cancel()

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Cancel every job and wait until each has ended and said so. True if all did within ``timeout_s``.

        The wait runs the event loop, so the window keeps painting (and the status bar can say what it waits
        for) while a training run writes its last checkpoint: a blocking wait on the threads froze the window
        for as long as the slowest job took to stop. Each job's final signals (cancelled, finished) reach its
        panel before this returns. A job started meanwhile, by a panel hearing that its job ended (the Training
        panel's next estimate), is cancelled at once: no thread outlives the window ("QThread: Destroyed while
        thread is still running" at exit)."""
        deadline = time.monotonic() + timeout_s
        self._stopping = True
        try:
            self.cancel_all()
            while self._runners and time.monotonic() < deadline:
                loop = QEventLoop()
                self.changed.connect(loop.quit)  # a job ended (or started): look again at once
                QTimer.singleShot(SHUTDOWN_POLL_MS, loop.quit)
                loop.exec()
                self.changed.disconnect(loop.quit)
                self.cancel_all()
        finally:
            self._stopping = False
        return not self._runners

    @Slot()
    def _on_runner_released(self) -> None:
        runner = self.sender()
        if runner in self._runners:
            self._runners.remove(runner)
        self.changed.emit()
