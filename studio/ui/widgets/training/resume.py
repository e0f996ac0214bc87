"""The banner that offers to resume a run the app or the machine interrupted (a crash, a power cut, a kill).

A run counts as interrupted when its status says running or paused but its process is gone (the engine's
``runs.list_runs`` decides). The banner names the newest such run in plain words and offers Resume (it continues
from the run's last checkpoint) or Not now; more interrupted runs stay in the run list, marked "interrupted".
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from studio.core import words
from studio.ui.icons import icon
from studio.ui.widgets.common.run_list import run_title


class ResumeBanner(QFrame):
    resume_requested = Signal(dict)  # the run
    dismissed = Signal(str)  # run id

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeBanner")
        self.run: dict | None = None
        self.picture = QLabel()
        self.picture.setPixmap(icon("info").pixmap(20, 20))
        self.text = QLabel(objectName="resumeText")
        self.text.setWordWrap(True)
        self.resume_button = QPushButton(icon("play"), "Resume", objectName="resumeInterrupted")
        self.resume_button.setProperty("primary", True)
        self.resume_button.setToolTip("Continue this run from its last checkpoint")
        self.resume_button.clicked.connect(self._on_resume)
        self.later_button = QPushButton("Not now")
        self.later_button.setToolTip("Hide this message; the run stays in the list and can be resumed later")
        self.later_button.clicked.connect(self._on_later)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.later_button)
        layout.addWidget(self.resume_button)
        self.hide()

    def offer(self, run: dict, others: int = 0) -> None:
        self.run = run
        step, total = run.get("step"), run.get("total_steps")
        where = f" at step {int(step):,} of {int(total):,}" if isinstance(step, int) and isinstance(total, int) else ""
        more = f" ({words.count(others, 'more interrupted run')} in the list.)" if others else ""
        self.text.setText(
            f"<b>Training was interrupted.</b> {run_title(run)} on “{run.get('dataset', '?')}” "
            f"stopped unexpectedly{where}. Resume continues from its last checkpoint.{more}"
        )
        self.resume_button.setEnabled(True)
        self.show()

    def set_can_resume(self, can: bool) -> None:
        self.resume_button.setEnabled(can)

    @Slot()
    def _on_resume(self) -> None:
        if self.run is not None:
            self.resume_requested.emit(self.run)

    @Slot()
    def _on_later(self) -> None:
        self.hide()
        if self.run is not None:
            self.dismissed.emit(str(self.run.get("run_id")))
