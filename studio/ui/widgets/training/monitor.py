"""The head of the monitor: what is training, its state, step / epoch / ETA / speed tiles, the progress bar,
and the controls (Pause or Resume, Stop, Save now, Sample now).

The controls only emit signals; the panel decides. Each button is enabled only when its action is possible
(nothing running: all disabled; paused: Save now and Sample now wait for Resume, since the engine acts at the
next step), and every tooltip names its shortcut.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from studio.core.durations import format_duration
from studio.ui.icons import icon
from studio.ui.widgets.common.elided_label import ElidedLabel

SHORTCUTS = {
    "start": "Ctrl+Return",
    "pause": "Space",
    "stop": "Ctrl+.",
    "save": "Ctrl+S",
    "sample": "Ctrl+Shift+S",
    "export": "Ctrl+E",
}


def format_number(value: float) -> str:
    """Readable at a glance: 0.5321, 12.4, 1,250, 3.0e-04."""
    if not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude < 1e-3:
        return f"{value:.1e}"
    if magnitude < 1:
        return f"{value:.4f}"
    if magnitude < 100:
        return f"{value:.3g}" if magnitude < 10 else f"{value:.1f}"
    return f"{value:,.0f}"


class StatTile(QFrame):
    """A small figure with its caption (e.g. STEP · 120 of 1,000)."""

    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainStat")
        self.value = QLabel("—", objectName="trainStatValue")
        self.detail = QLabel("", objectName="trainStatDetail")
        caption_label = QLabel(caption.upper(), objectName="sectionCaption")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(1)
        layout.addWidget(caption_label)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.value)
        row.addWidget(self.detail, 1, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(row)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)


class TrainingMonitorHead(QWidget):
    """State line, figure tiles, progress and the run controls."""

    pause_toggled = Signal(bool)  # True: pause
    stop_requested = Signal()
    save_requested = Signal()
    sample_requested = Signal()

    IDLE, RUNNING, PAUSED, STOPPING = "idle", "running", "paused", "stopping"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.state = self.IDLE
        self.title = ElidedLabel("No run selected", objectName="runTitle")  # a long dataset name: "…" and a tooltip
        self.pill = QLabel("", objectName="statePill")
        self.pill.hide()
        self.pause_button = self._button(
            "pause", "Pause", "pause", "Pause after the current step; a checkpoint is saved first"
        )
        self.pause_button.clicked.connect(self._on_pause)
        self.stop_button = self._button(
            "stop", "Stop", "stop", "Stop training; a checkpoint is saved so you can resume later"
        )
        self.stop_button.clicked.connect(self.stop_requested)
        self.save_button = self._button("save", "Save now", "save", "Save a checkpoint at the next step")
        self.save_button.clicked.connect(self.save_requested)
        self.sample_button = self._button("sample", "Sample now", "sample", "Make a preview sample at the next step")
        self.sample_button.clicked.connect(self.sample_requested)
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.title, 1)
        top.addWidget(self.pill)
        controls = QHBoxLayout()  # under the bar, beside the status line: the title keeps the full width
        controls.setSpacing(8)
        self.tiles = {
            key: StatTile(caption)
            for key, caption in (("step", "Step"), ("epoch", "Epoch"), ("eta", "Time left"), ("speed", "Speed"))
        }
        tiles = QHBoxLayout()
        tiles.setSpacing(8)
        for tile in self.tiles.values():
            tiles.addWidget(tile)
        self.bar = QProgressBar(objectName="trainProgress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.message = QLabel("", objectName="runMessage")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        controls.addWidget(self.message, 1)
        for button in (self.sample_button, self.save_button, self.pause_button, self.stop_button):
            controls.addWidget(button)
        layout.addLayout(top)
        layout.addLayout(tiles)
        layout.addWidget(self.bar)
        layout.addLayout(controls)
        self.set_state(self.IDLE)

    @staticmethod
    def _button(key: str, text: str, icon_name: str, tip: str) -> QPushButton:
        button = QPushButton(icon(icon_name), text, objectName=f"{key}Button")
        button.setToolTip(f"{tip} ({SHORTCUTS[key]})")
        return button

    def set_state(self, state: str, pill: str | None = None) -> None:
        """Enable exactly the controls that can act in ``state``."""
        self.state = state
        live = state in (self.RUNNING, self.PAUSED)
        self.pause_button.setEnabled(live)
        self.stop_button.setEnabled(live)
        self.save_button.setEnabled(state == self.RUNNING)
        self.sample_button.setEnabled(state == self.RUNNING)
        paused = state == self.PAUSED
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setProperty("primary", paused)
        self.pause_button.style().unpolish(self.pause_button)
        self.pause_button.style().polish(self.pause_button)
        self.pause_button.setToolTip(
            ("Continue training" if paused else "Pause after the current step; a checkpoint is saved first")
            + f" ({SHORTCUTS['pause']})"
        )
        self.set_pill(
            pill
            if pill is not None
            else {self.RUNNING: "training", self.PAUSED: "paused", self.STOPPING: "stopping"}.get(state, "")
        )
        if paused:
            self.tiles["eta"].set("—")  # nothing counts down while paused; the next step's row brings it back

    def set_pill(self, text: str) -> None:
        self.pill.setText(text)
        self.pill.setProperty("state", text.split()[0] if text else "")
        self.pill.style().unpolish(self.pill)
        self.pill.style().polish(self.pill)
        self.pill.setVisible(bool(text))

    def say(self, text: str, tone: str = "") -> None:
        """The one-line status under the bar. Its height never changes, so a message here (unlike a banner
        above the panel) does not re-lay out and repaint the plots: ending a run costs no stall."""
        self.message.setText(text)
        self.message.setToolTip(text)
        if self.message.property("tone") != tone:
            self.message.setProperty("tone", tone)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)

    def reset_figures(self) -> None:
        for tile in self.tiles.values():
            tile.set("—")
        self.bar.setValue(0)
        self.say("")

    def show_row(self, row: dict) -> None:
        """Update the tiles from the newest metric dict (step, total_steps, epoch, eta_s, items_per_s).

        Time left is the engine's own ``eta_s``, the figure its progress line (and so the status bar) words as
        "… left": one ETA everywhere. It stays blank while paused, even for rows logged just before the pause."""
        step, total = row.get("step"), row.get("total_steps")
        if isinstance(step, (int, float)):
            self.tiles["step"].set(f"{int(step):,}", f"of {int(total):,}" if isinstance(total, (int, float)) else "")
            if isinstance(total, (int, float)) and total > 0:
                self.bar.setValue(int(1000 * min(1.0, step / total)))
        if isinstance(row.get("epoch"), (int, float)):
            self.tiles["epoch"].set(f"{row['epoch']:.2f}")
        if self.state == self.PAUSED:
            self.tiles["eta"].set("—")
        elif "eta_s" in row:
            self.tiles["eta"].set(format_duration(row.get("eta_s")))
        if isinstance(row.get("items_per_s"), (int, float)):
            self.tiles["speed"].set(f"{row['items_per_s']:,.0f}", "items/s")

    @Slot()
    def _on_pause(self) -> None:
        self.pause_toggled.emit(self.state != self.PAUSED)
