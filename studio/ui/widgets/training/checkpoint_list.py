"""A run's saved checkpoints: step, when, the last losses, the best one starred; Resume from here and Open in….

"Open in" goes to the panel that opens the run's family, as the family table says (``FamilySpec.panel``): the
image canvas, the writer or the speech panel. A family no creation panel opens (the reference check) and a
family this installation does not know keep the canvas, where runs of pictures are looked for. Buttons are
disabled until a row is selected, and Resume is disabled while another training runs, so every enabled button
does something.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.training import families
from studio.ui.icons import icon
from studio.ui.widgets.training.monitor import format_number

PATH_ROLE = Qt.ItemDataRole.UserRole
# panel id -> (button text, icon): the creation panels, not the families (those come from the family table)
OPEN_BUTTONS = {
    "image": ("Open in canvas", "image"),
    "text": ("Open in writer", "text"),
    "speech": ("Open in speech", "speech"),
}


def open_target(family: str | None) -> tuple[str, str, str]:
    """(panel id, button text, icon) for the panel that opens a model of ``family`` (see the module docstring)."""
    panel = families.panel_of(family) or "image"
    text, icon_name = OPEN_BUTTONS[panel]
    return panel, text, icon_name


def saved_at(created) -> datetime | None:
    """A checkpoint's ``created`` (ISO 8601 text as the engine writes it, in UTC, or a Unix time) in local time;
    None when it is missing or unreadable."""
    if isinstance(created, (int, float)) and not isinstance(created, bool):
        try:
            return datetime.fromtimestamp(created).astimezone()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(created, str) and created:
        try:
            return datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone()
        except ValueError:
            return None
    return None


def saved_words(created, now: datetime | None = None) -> str:
    """When a checkpoint was saved, as a person reads a list: "12:04" today, "3 Dec 12:04" this year,
    "3 Dec 2024 12:04" before; "" when it is not known."""
    when = saved_at(created)
    if when is None:
        return ""
    now = (now or datetime.now()).astimezone()
    clock = when.strftime("%H:%M")
    if when.date() == now.date():
        return clock
    day = f"{when.day} {when.strftime('%b')}"
    return f"{day} {clock}" if when.year == now.year else f"{day} {when.year} {clock}"


def _losses(metrics: dict) -> str:
    keys = [k for k in sorted(metrics or {}) if k == "loss" or k.startswith("loss_") or k.startswith("val_")]
    return "   ".join(
        f"{k.replace('_', ' ')} {format_number(float(metrics[k]))}"
        for k in keys[:3]
        if isinstance(metrics[k], (int, float))
    )


class CheckpointList(QWidget):
    """Checkpoints of the selected run, newest first."""

    resume_requested = Signal(str)  # path of the checkpoint's .json
    open_requested = Signal(str, str)  # panel id, checkpoint .json path

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.family: str | None = None
        self.tree = QTreeWidget(objectName="checkpointTable")
        self.tree.setHeaderLabels(["Step", "Saved", "Last values", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.empty = QLabel(
            "No checkpoints yet. Training saves one every few hundred steps, when you pause or "
            "stop, and when you press Save now.",
            objectName="mutedLabel",
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)
        self.resume_button = QPushButton(icon("play"), "Resume from here", objectName="resumeFromHere")
        self.resume_button.setToolTip("Continue training from the selected checkpoint, as a new session of its run")
        self.resume_button.clicked.connect(self._on_resume)
        self.open_button = QPushButton(icon("image"), "Open in canvas", objectName="openCheckpoint")
        self.open_button.clicked.connect(self._on_open)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._can_resume = True
        self.set_checkpoints([], None)

    def set_checkpoints(self, checkpoints: list[dict], family: str | None) -> None:
        selected = self.selected_path()
        self.family = family
        _panel, text, icon_name = open_target(family)
        self.open_button.setText(text)
        self.open_button.setIcon(icon(icon_name))
        self.open_button.setToolTip(f"{text.replace('Open in', 'Use this checkpoint in the')} panel")
        self.tree.clear()
        for info in sorted(checkpoints, key=lambda c: -int(c.get("step", 0))):
            path = str(info.get("path_json", ""))
            meta = info.get("metrics") or {}
            item = QTreeWidgetItem(
                [
                    f"{int(info.get('step', 0)):,}",
                    saved_words(info.get("created")),
                    _losses(meta),
                    "★ best" if info.get("best") else "",
                ]
            )
            item.setData(0, PATH_ROLE, path)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(0, Path(path).name)
            when = saved_at(info.get("created"))
            if when is not None:
                item.setToolTip(1, f"Saved {when.day} {when.strftime('%B %Y, %H:%M')}")
            self.tree.addTopLevelItem(item)
            if path == selected:
                item.setSelected(True)
        if self.tree.topLevelItemCount() and not self.tree.selectedItems():
            self.tree.topLevelItem(0).setSelected(True)
        self.stack.setCurrentWidget(self.tree if checkpoints else self.empty)
        self._update_buttons()

    def set_can_resume(self, can: bool, why: str = "") -> None:
        self._can_resume = can
        self.resume_button.setToolTip(why or "Continue training from the selected checkpoint")
        self._update_buttons()

    def selected_path(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, PATH_ROLE) if items else None

    def select_step(self, step: int) -> None:
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            item.setSelected(item.text(0).replace(",", "") == str(step))

    @Slot()
    def _update_buttons(self) -> None:
        has = self.selected_path() is not None
        self.resume_button.setEnabled(has and self._can_resume)
        self.open_button.setEnabled(has)

    @Slot()
    def _on_resume(self) -> None:
        path = self.selected_path()
        if path:
            self.resume_requested.emit(path)

    @Slot()
    def _on_open(self) -> None:
        path = self.selected_path()
        if path:
            self.open_requested.emit(open_target(self.family)[0], path)

    @Slot(QTreeWidgetItem, int)
    def _on_double_click(self, item, _column) -> None:
        self.open_requested.emit(open_target(self.family)[0], item.data(0, PATH_ROLE))
