"""Progress of one job inside a panel: title, a thin bar, the message with an ETA, and Cancel.

The status bar (:mod:`job_status`) shows the newest job of the whole window; a strip sits next to the thing a
job is making (an import, a cache) so the user sees it where they started it.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout

from studio.ui.icons import icon
from studio.ui.widgets.common.job_status import with_eta


class JobStrip(QFrame):
    """Progress of one job inside the panel: title, bar, message with ETA, and Cancel."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("jobStrip")
        self.runner = None
        self._started = 0.0
        self.title = QLabel(objectName="stripTitle")
        self.detail = QLabel(objectName="mutedLabel")
        for label in (self.title, self.detail):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = QProgressBar(objectName="stripProgress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.clicked.connect(self._on_cancel)
        text = QVBoxLayout()
        text.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.detail)
        text.addLayout(top)
        text.addWidget(self.bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(14)
        layout.addLayout(text, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def follow(self, runner, title: str) -> None:
        self.runner = runner
        self._started = time.monotonic()
        self.title.setText(title)
        self.detail.setText("Starting…")
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        runner.progress.connect(self._on_progress)
        self.show()

    def done(self) -> None:
        self.runner = None
        self.hide()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.sender() is not self.runner:
            return
        self.bar.setValue(int(fraction * 1000))
        self.detail.setText(with_eta(message, fraction, time.monotonic() - self._started))

    @Slot()
    def _on_cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.detail.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
