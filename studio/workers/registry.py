"""Every running job in the app, in one place.

It keeps runners alive until they finish, allows one training job per device at a time (two trainings
on one GPU would both crawl or run out of memory), tells the status bar what is running, and at quit asks
every job to stop and waits for it, so checkpoints are written and no thread is killed mid-write.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from studio.core.jobs import JobError
from studio.workers.runner import JobRunner

TRAINING = "training"
SHUTDOWN_ROUNDS = 3  # cancel-and-wait passes at quit (see JobRegistry.shutdown)


class DeviceBusyError(JobError):
    """A second training job was asked for on a device that is already training."""


class JobRegistry(QObject):
    changed = Signal()  # a job started or ended
    job_started = Signal(object)  # the JobRunner

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runners: list[JobRunner] = []

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
        """Cancel every job and wait for their threads. True if all ended within the timeout."""
        deadline = time.monotonic() + timeout_s
        ok = True
        for _round in range(SHUTDOWN_ROUNDS):
            self.cancel_all()
            for runner in list(self._runners):
                remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                ok = runner.wait(remaining_ms) and ok
            # Deliver the queued final signals so panels see cancelled/finished before the window closes.
            QCoreApplication.processEvents()
            # A panel hearing that its job ended may start the one it was waiting to start (the Training panel's
            # next estimate): stop those too, or their threads would outlive the window ("QThread: Destroyed
            # while thread is still running" at exit).
            if not self.running():
                break
        return ok and not self.running()

    @Slot()
    def _on_runner_released(self) -> None:
        runner = self.sender()
        if runner in self._runners:
            self._runners.remove(runner)
        self.changed.emit()
