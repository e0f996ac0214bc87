"""Status-bar strip for running jobs: the newest job's title, a progress bar with ETA, and Cancel."""

from __future__ import annotations

import time

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from studio.core.durations import format_duration
from studio.ui.icons import icon
from studio.workers.registry import JobRegistry
from studio.workers.runner import JobRunner


def format_eta(seconds: float) -> str:
    return f"{format_duration(seconds)} left"


def with_eta(message: str, fraction: float, elapsed_s: float) -> str:
    """``message`` with the time left appended, once the job has run long enough for a fair guess."""
    if 0.02 < fraction < 1.0 and elapsed_s > 1.0:
        eta = format_eta(elapsed_s * (1 - fraction) / fraction)
        return f"{message} · {eta}" if message else eta
    return message


class JobStatusWidget(QWidget):
    def __init__(self, registry: JobRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.runner: JobRunner | None = None
        self._started_at = 0.0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.label = QLabel(objectName="jobLabel")
        self.bar = QProgressBar(objectName="jobProgress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(140)
        self.more = QLabel(objectName="jobMore")
        self.cancel_button = QToolButton(objectName="jobCancel")
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self._cancel)
        for widget in (self.label, self.bar, self.more, self.cancel_button):
            layout.addWidget(widget)
        registry.job_started.connect(self._follow)
        registry.changed.connect(self._refresh)
        self._refresh()

    @Slot(object)
    def _follow(self, runner: JobRunner) -> None:
        self.runner = runner
        self._started_at = time.monotonic()
        runner.progress.connect(self._on_progress)
        self.bar.setValue(0)
        self.label.setText(runner.title)
        self._refresh()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.sender() is not self.runner:
            return
        self.bar.setValue(int(fraction * 1000))
        text = f"{self.runner.title}: {message}" if message else self.runner.title
        self.label.setText(with_eta(text, fraction, time.monotonic() - self._started_at))

    @Slot()
    def _refresh(self) -> None:
        running = self.registry.running()
        if self.runner not in running:
            self.runner = running[-1] if running else None
            if self.runner is not None:
                self.label.setText(self.runner.title)
                self.bar.setValue(int(self.runner.fraction * 1000))
        self.more.setText(f"+{len(running) - 1} more" if len(running) > 1 else "")
        self.setVisible(self.runner is not None)

    @Slot()
    def _cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.label.setText(f"{self.runner.title}: cancelling…")
