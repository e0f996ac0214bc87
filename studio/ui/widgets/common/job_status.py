"""Status-bar strip for running jobs: the newest job's title, a progress bar with ETA, and Cancel.

One ETA: a job whose progress message already says how long is left (training does: the engine's progress
line reads "Step N of M · loss L · <duration> left", from the same smoothed figure as its metrics' ``eta_s``,
which the Training monitor's TIME LEFT tile shows) is shown as it is; the status bar adds its own extrapolation
from elapsed time only to jobs that give none (imports, caches). While a job is paused no time is left to count
down: its ETA is blank and the bar says "paused".
"""

from __future__ import annotations

import re
import time

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from studio.core.durations import format_duration
from studio.ui.icons import icon
from studio.workers.registry import JobRegistry
from studio.workers.runner import JobRunner

SEPARATOR = " · "
PAUSE_POLL_MS = 250  # the runner has no pause signal; reading a bool 4 times a second costs nothing
# A message's own ETA: its last " · "-separated part, "<duration> left" ("4 min 47 s left", "— left").
_OWN_ETA = re.compile(r"(?:^|\s·\s)([^·]*?\S)\s+left\s*$")


def format_eta(seconds: float) -> str:
    return f"{format_duration(seconds)} left"


def own_eta(message: str) -> str | None:
    """The duration a progress message gives as its own time left ("13 min 29 s"), or None."""
    match = _OWN_ETA.search(message or "")
    return match.group(1) if match else None


def without_eta(message: str) -> str:
    """``message`` without its own "… left" part."""
    match = _OWN_ETA.search(message or "")
    return message[: match.start()] if match else message


def with_eta(message: str, fraction: float, elapsed_s: float, paused: bool = False) -> str:
    """``message`` with one time left: its own if it has one, else one extrapolated from ``elapsed_s`` once the job
    has run long enough for a fair guess; none while ``paused``."""
    if paused:
        text = without_eta(message)
        return f"{text}{SEPARATOR}paused" if text else "paused"
    if own_eta(message) is not None:
        return message
    left = remaining_s(fraction, elapsed_s)
    if left is not None:
        eta = format_eta(left)
        return f"{message}{SEPARATOR}{eta}" if message else eta
    return message


def remaining_s(fraction: float, elapsed_s: float) -> float | None:
    """Seconds left if the rest goes as fast as ``fraction`` took ``elapsed_s``; None until that is a fair guess
    (past 2 % and a second in). The one place the studio extrapolates a job's time left."""
    if 0.02 < fraction < 1.0 and elapsed_s > 1.0:
        return elapsed_s * (1 - fraction) / fraction
    return None


class JobStatusWidget(QWidget):
    def __init__(self, registry: JobRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.runner: JobRunner | None = None
        self._starts: dict[JobRunner, float] = {}  # when each running job started (for its extrapolated ETA)
        self._paused_s = 0.0  # time spent paused: not part of the elapsed time the extrapolation uses
        self._paused_at: float | None = None
        self._fraction = 0.0
        self._message = ""
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
        self._pause_poll = QTimer(self, interval=PAUSE_POLL_MS)
        self._pause_poll.timeout.connect(self._check_paused)
        registry.job_started.connect(self._follow)
        registry.changed.connect(self._refresh)
        self._refresh()

    @Slot(object)
    def _follow(self, runner: JobRunner) -> None:
        self._starts[runner] = time.monotonic()
        self.runner = runner
        self._reset_clock()
        runner.progress.connect(self._on_progress)
        self.bar.setValue(0)
        self._render()
        self._refresh()

    def _reset_clock(self) -> None:
        """Follow :attr:`runner` from what it last reported (it may have run a while behind a newer job)."""
        self._paused_s, self._paused_at = 0.0, None
        self._fraction = self.runner.fraction if self.runner is not None else 0.0
        self._message = self.runner.message if self.runner is not None else ""

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.sender() is not self.runner:
            return
        self._fraction, self._message = fraction, message
        self.bar.setValue(int(fraction * 1000))
        self._render()

    def _render(self) -> None:
        runner = self.runner
        if runner is None:
            return
        text = f"{runner.title}: {self._message}" if self._message else runner.title
        elapsed = time.monotonic() - self._starts.get(runner, time.monotonic()) - self._paused_s
        self.label.setText(with_eta(text, self._fraction, elapsed, paused=self._paused_at is not None))

    @Slot()
    def _check_paused(self) -> None:
        """Follow pause and resume (the training panel pauses the runner; no signal says so)."""
        runner = self.runner
        paused = runner is not None and runner.paused
        if paused == (self._paused_at is not None):
            return
        now = time.monotonic()
        if paused:
            self._paused_at = now
        else:
            self._paused_s += now - (self._paused_at or now)
            self._paused_at = None
        self._render()

    @Slot()
    def _refresh(self) -> None:
        running = self.registry.running()
        self._starts = {r: t for r, t in self._starts.items() if r in running}
        if self.runner not in running:
            self.runner = running[-1] if running else None
            if self.runner is not None:
                self._reset_clock()
                self.bar.setValue(int(self.runner.fraction * 1000))
                self._render()
        self.more.setText(f"+{len(running) - 1} more" if len(running) > 1 else "")
        self.setVisible(self.runner is not None)
        if self.runner is None:
            self._pause_poll.stop()
        elif not self._pause_poll.isActive():
            self._pause_poll.start()

    @Slot()
    def _cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.label.setText(f"{self.runner.title}: cancelling…")
