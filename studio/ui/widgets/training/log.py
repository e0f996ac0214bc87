"""The run's log in plain words: what the engine reported ("event" entries such as a checkpoint saved or a NaN
rolled back), the panel's own notes (paused, resumed, stopped) and a progress line every few seconds.

Lines are timestamped, the newest is kept in view, and the pane holds at most 5,000 lines, so a week-long run
cannot grow it without bound. Progress lines are rate-limited here (one per ``PROGRESS_EVERY_S``): the metric
stream is far too fast to print.
"""

from __future__ import annotations

import time

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit

PROGRESS_EVERY_S = 5.0


class TrainingLog(QPlainTextEdit):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingLog")
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("Start a run: what happens during training is written here in plain words.")
        self._last_progress = 0.0

    def note(self, text: str) -> None:
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def engine_event(self, step, text: str) -> None:
        prefix = f"step {int(step):,} · " if isinstance(step, (int, float)) else ""
        self.note(f"{prefix}{text}")

    def progress(self, message: str, force: bool = False) -> None:
        now = time.monotonic()
        if message and (force or now - self._last_progress >= PROGRESS_EVERY_S):
            self._last_progress = now
            self.note(message)

    def start_session(self, title: str) -> None:
        if self.blockCount() > 1 or self.toPlainText():
            self.appendPlainText("")
        self._last_progress = 0.0
        self.note(title)
