"""Progress of one job inside a panel: title, a bar, the message with an ETA, and Cancel.

The status bar (:mod:`job_status`) shows the newest job of the whole window; a strip sits next to the thing a
job is making (an import, a cache) so the user sees it where they started it. It reads as the status bar does
(the same :func:`~studio.ui.widgets.common.job_status.with_eta`, so both give one time left), with room for the
whole title: what is being done, then "120 of 400 files · 40 s left".

The bar moves back and forth only while the job has not said how far it is (an import still listing the files
it was given); from its first real fraction on it fills from left to right.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout

from studio.ui.icons import icon
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.job_status import with_eta

STEPS = 1000  # the bar's resolution


class JobStrip(QFrame):
    """Progress of one job inside the panel: title, bar, message with ETA, and Cancel."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("jobStrip")
        self.runner = None
        self._started = 0.0
        # Elided, each with a share of the row (labels that ignore their size hint beside a stretch got none of
        # it, and the strip showed a bare bar); the tooltip holds the whole text.
        self.title = ElidedLabel(objectName="stripTitle")
        self.detail = ElidedLabel(objectName="mutedLabel")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = QProgressBar(objectName="stripProgress")
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.clicked.connect(self._on_cancel)
        text = QVBoxLayout()
        text.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.title, 3)
        top.addWidget(self.detail, 2)
        text.addLayout(top)
        text.addWidget(self.bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(14)
        layout.addLayout(text, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def follow(self, runner, title: str) -> None:
        """Show ``runner``'s progress under ``title`` (what it is doing, in the panel's words)."""
        self.runner = runner
        self._started = time.monotonic()
        self.title.set_full_text(title)
        self.cancel_button.setEnabled(True)
        runner.progress.connect(self._on_progress)
        # It may have reported before it was followed (the job thread starts at once).
        self._show(float(getattr(runner, "fraction", 0.0) or 0.0), str(getattr(runner, "message", "") or ""))
        self.show()

    def done(self) -> None:
        self.runner = None
        self.hide()

    def detail_text(self) -> str:
        """The message with the time left, in full (the label may show it shortened)."""
        return self.detail.full_text()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.sender() is not self.runner:
            return
        self._show(fraction, message)

    def _show(self, fraction: float, message: str) -> None:
        if fraction > 0.0:  # known: the bar fills
            self.bar.setRange(0, STEPS)
            self.bar.setValue(min(STEPS, int(fraction * STEPS)))
        else:  # not yet known: the bar only says that something is happening
            self.bar.setRange(0, 0)
        text = with_eta(message, fraction, time.monotonic() - self._started)
        self.detail.set_full_text(text or "Starting…")

    @Slot()
    def _on_cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.detail.set_full_text("Cancelling…")
            self.cancel_button.setEnabled(False)
