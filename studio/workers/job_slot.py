"""One job at a time for one purpose of a panel: start, replace, cancel, and hear only the current job.

A panel does many things in the background — list the models, generate a grid, walk, export — and for each
purpose only the newest request matters: a grid asked for twice shows the second answer, never the first one
arriving late. A :class:`JobSlot` is that rule in one place (Orange3's ``ConcurrentMixin``: one task per slot,
starting a new task cancels and disconnects the old one, only the current task's results are delivered)::

    self.grid_slot = self.job_slot()                # Panel.job_slot(): a child of the panel, using its registry
    ...
    self.grid_slot.start(job, succeeded=self._on_grid, failed=self._on_failed, progress=self._on_progress)

The handlers are keyword arguments, as with superqt's ``create_worker``: ``progress``, ``metrics``,
``preview``, ``succeeded``, ``failed``, ``cancelled`` and ``finished``, with the runner's signatures (see
:mod:`studio.workers.runner`). Each ``start`` replaces the previous start's handlers.

Why it is built this way:

* **Through the registry.** The slot starts every job with the window's :class:`~studio.workers.registry.
  JobRegistry`, so the registry still sees every job: one training per device, the status bar, cancel-all and
  wait at quit.
* **Forwarding through its own slots.** The slot is a QObject living in the GUI thread. It connects the
  runner's signals to its own methods, checks there that the sender is the current runner (and disconnects a
  replaced runner besides), and re-emits on its own signals, to which the handlers are connected. So a late
  answer from a replaced job never reaches the panel, and the panel never compares ``self.sender()``.
* **Handlers are QObject methods** (ARCHITECTURE.md rule 4). A bare lambda connected to a runner would run in
  the emitting thread; here every emission happens in the GUI thread already, but a bound method of a QObject
  is also disconnected by Qt when its object is destroyed, so a closed panel is never called. ``start``
  refuses anything else (a signal to forward to is accepted too).
* **Idle again at ``finished``.** :attr:`runner` is the current job until its ``finished`` arrives; the slot
  forgets it *before* ``busy_changed(False)`` and the ``finished`` handler, so they see the slot idle (and may
  start the next job); :attr:`busy` is true until then. :meth:`is_running` follows the runner's own state, so
  inside a ``succeeded`` handler the job already counts as done.
* **Cancel or forget.** :meth:`cancel` asks the job to stop and still delivers its ``cancelled`` (a Stop
  button); :meth:`discard` asks it to stop and delivers nothing more (its results belong to a project that was
  just closed).
* **Gone means cancelled.** When the slot is destroyed (with its panel) the current job is asked to stop:
  nobody is left to hear its answer.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMetaObject, QObject, Signal, SignalInstance, Slot

from studio.workers.runner import JobRunner

HANDLERS = ("progress", "metrics", "preview", "succeeded", "failed", "cancelled", "finished")


class JobSlot(QObject):
    """One purpose's job: starting a new one cancels and disconnects the old one."""

    progress = Signal(float, str)
    metrics = Signal(list)
    preview = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # the current job ended (after its succeeded / failed / cancelled)
    busy_changed = Signal(bool)  # True when a job starts in an idle slot, False when the slot is idle again

    def __init__(self, registry: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self._runner: JobRunner | None = None
        self._runner_connections: list[QMetaObject.Connection] = []  # runner -> this slot, and cancel on destroy
        self._handler_connections: list[QMetaObject.Connection] = []  # this slot -> the last start's handlers

    # -- state ------------------------------------------------------------------------------------------------
    @property
    def runner(self) -> JobRunner | None:
        """The current job's runner, until its ``finished`` has been delivered; None when idle."""
        return self._runner

    @property
    def busy(self) -> bool:
        """A job was started and its ``finished`` has not been delivered yet (see :attr:`busy_changed`)."""
        return self._runner is not None

    def is_running(self) -> bool:
        """The current job has not reported its outcome yet."""
        return self._runner is not None and self._runner.is_running()

    def set_registry(self, registry: Any) -> None:
        self.registry = registry

    # -- control ----------------------------------------------------------------------------------------------
    def start(
        self, job: Any, *, title: str | None = None, kind: str | None = None, device: str | None = None, **handlers
    ) -> JobRunner:
        """Cancel and forget the slot's previous job, then start ``job`` through the registry.

        ``handlers`` (``succeeded=self._on_done``…) replace the previous start's. Raises what the registry
        raises (e.g. :class:`~studio.workers.registry.DeviceBusyError`); the slot is then idle.
        """
        unknown = sorted(set(handlers) - set(HANDLERS))
        if unknown:
            raise TypeError(f"JobSlot.start() got unknown handlers {unknown}; the handlers are {HANDLERS}")
        for name, handler in handlers.items():
            if not _is_qt_receiver(handler):
                raise TypeError(
                    f"the {name} handler must be a method of a QObject (or a signal), not {handler!r}: "
                    "Qt then disconnects it when its object is destroyed"
                )
        if self.registry is None:
            raise RuntimeError("JobSlot.start() before the slot was given the window's job registry")
        was_busy = self._runner is not None
        self._drop_runner()
        self._disconnect_handlers()
        try:
            runner = self.registry.start(job, title=title, kind=kind, device=device)
        except BaseException:
            if was_busy:
                self.busy_changed.emit(False)
            raise
        self._runner = runner
        self._runner_connections = [
            runner.progress.connect(self._on_progress),
            runner.metrics.connect(self._on_metrics),
            runner.preview.connect(self._on_preview),
            runner.succeeded.connect(self._on_succeeded),
            runner.failed.connect(self._on_failed),
            runner.cancelled.connect(self._on_cancelled),
            runner.finished.connect(self._on_finished),
            self.destroyed.connect(runner.cancel),  # nobody is left to hear the answer
        ]
        self._handler_connections = [getattr(self, name).connect(handler) for name, handler in handlers.items()]
        if not was_busy:
            self.busy_changed.emit(True)
        return runner

    def cancel(self) -> None:
        """Ask the current job to stop; its ``cancelled`` (or its outcome, if it was quicker) and ``finished``
        still reach the handlers."""
        if self._runner is not None:
            self._runner.cancel()

    def discard(self) -> None:
        """Ask the current job to stop and forget it: nothing it still reports reaches the handlers (e.g. its
        results belong to a project that was just closed)."""
        if self._runner is None:
            return
        self._drop_runner()
        self._disconnect_handlers()
        self.busy_changed.emit(False)

    def _drop_runner(self) -> None:
        """Disconnect the current runner from this slot and cancel it if it still runs."""
        runner, self._runner = self._runner, None
        for connection in self._runner_connections:
            QObject.disconnect(connection)
        self._runner_connections = []
        if runner is not None and runner.is_running():
            runner.cancel()

    def _disconnect_handlers(self) -> None:
        for connection in self._handler_connections:
            QObject.disconnect(connection)  # False (harmless) where Qt already dropped it with its receiver
        self._handler_connections = []

    # -- the runner's reports, received in the GUI thread ----------------------------------------------------
    def _current(self) -> bool:
        return self._runner is not None and self.sender() is self._runner

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self._current():
            self.progress.emit(fraction, message)

    @Slot(list)
    def _on_metrics(self, batch: list) -> None:
        if self._current():
            self.metrics.emit(batch)

    @Slot(object)
    def _on_preview(self, preview: object) -> None:
        if self._current():
            self.preview.emit(preview)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        if self._current():
            self.succeeded.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current():
            self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        if self._current():
            self.cancelled.emit()

    @Slot()
    def _on_finished(self) -> None:
        if not self._current():
            return
        self._drop_runner()  # idle before the handlers run: one may start the next job at once
        self.busy_changed.emit(False)
        self.finished.emit()


def _is_qt_receiver(handler: Any) -> bool:
    """A bound method of a QObject, or a signal to forward to."""
    return isinstance(handler, SignalInstance) or isinstance(getattr(handler, "__self__", None), QObject)
