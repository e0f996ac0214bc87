"""Past runs of the project: one row each (model, dataset, state, steps), with a box to overlay its curves.

Selecting a row shows that run's curves and checkpoints; ticking boxes overlays other runs to compare them.
Rows hold only what ``runs.list_runs`` gives (small JSON files); curves are read on demand by the panel, in a
job, for the runs the user actually looks at.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from studio.ui import theme

RUN_ROLE = Qt.ItemDataRole.UserRole
STATE_COLOURS = {
    "finished": "#2F855A",
    "running": "#4A4AC4",
    "paused": "#B7791F",
    "stopped": "#6B7090",
    "failed": "#C53030",
    "interrupted": "#C05621",
}


def run_state(run: dict) -> str:
    return "interrupted" if run.get("interrupted") else str(run.get("state") or "unknown")


def run_title(run: dict) -> str:
    """``Nov 25, 20:14 · reference``: when and what, from the run id ``YYYYmmdd-HHMMSS-<family>``."""
    run_id = str(run.get("run_id", ""))
    try:
        when = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").strftime("%b %d, %H:%M")
    except ValueError:
        when = run_id
    return f"{when} · {run.get('family', '')}"


def run_subtitle(run: dict) -> str:
    step, total = run.get("step"), run.get("total_steps")
    steps = (
        f"step {int(step):,} of {int(total):,}"
        if isinstance(step, int) and isinstance(total, int) and total
        else (f"step {int(step):,}" if isinstance(step, int) else "")
    )
    parts = [f"on {run.get('dataset', '?')}", steps]
    return " · ".join(p for p in parts if p)


class RunDelegate(QStyledItemDelegate):
    """Rows: a check box, the title, a coloured state word and a muted line with dataset and steps."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, 46)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        run = index.data(RUN_ROLE) or {}
        style = option.widget.style() if option.widget else QApplication.style()
        option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        painter.save()
        rect = option.rect.adjusted(32, 5, -8, -5)
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        state = run_state(run)
        metrics = painter.fontMetrics()
        state_width = metrics.horizontalAdvance(state) + 4
        top = rect.adjusted(0, 0, 0, -rect.height() // 2)
        painter.setFont(bold)
        painter.setPen(theme.qcolor("#23263A"))
        painter.drawText(
            top.adjusted(0, 0, -state_width - 6, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(
                run_title(run), Qt.TextElideMode.ElideRight, top.width() - state_width - 6
            ),
        )
        painter.setFont(option.font)
        painter.setPen(theme.qcolor(STATE_COLOURS.get(state, "#6B7090")))
        painter.drawText(top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, state)
        painter.setPen(theme.qcolor("#6B7090"))
        bottom = rect.adjusted(0, rect.height() // 2, 0, 0)
        painter.drawText(
            bottom,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(run_subtitle(run), Qt.TextElideMode.ElideRight, bottom.width()),
        )
        painter.restore()


class RunList(QListWidget):
    """The project's runs, newest first. ``compare_changed`` carries the ids whose boxes are ticked."""

    run_selected = Signal(str)
    compare_changed = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("runList")
        self.setItemDelegate(RunDelegate(self))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Select a run to see its curves and checkpoints; tick runs to overlay their curves")
        self.runs: dict[str, dict] = {}
        self.currentItemChanged.connect(self._on_current)
        self.itemChanged.connect(self._on_item_changed)

    def set_runs(self, runs: list[dict]) -> None:
        current, ticked = self.current_run(), set(self.compared())
        self.blockSignals(True)
        self.clear()
        self.runs = {}
        for run in runs:
            run_id = str(run.get("run_id"))
            self.runs[run_id] = run
            item = QListWidgetItem()
            item.setData(RUN_ROLE, run)
            item.setData(Qt.ItemDataRole.DisplayRole, run_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run_id in ticked else Qt.CheckState.Unchecked)
            item.setToolTip(f"{run_id}\n{run_subtitle(run)} · {run_state(run)}\nTick to overlay its curves")
            self.addItem(item)
        self.blockSignals(False)
        if current in self.runs:
            self.select(current, emit=False)
        if set(self.compared()) != ticked:
            self.compare_changed.emit(self.compared())

    def update_run(self, run_id: str, **changes) -> None:
        """Change what one row shows (the live run's step and state) without rebuilding the list."""
        run = self.runs.get(run_id)
        if run is None or all(run.get(key) == value for key, value in changes.items()):
            return
        run.update(changes)
        for row in range(self.count()):
            item = self.item(row)
            if item.data(Qt.ItemDataRole.DisplayRole) == run_id:
                self.blockSignals(True)  # a repaint, not a change of ticks
                item.setData(RUN_ROLE, dict(run))
                self.blockSignals(False)
                return

    def select(self, run_id: str, emit: bool = True) -> None:
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.DisplayRole) == run_id:
                if not emit:
                    self.blockSignals(True)
                self.setCurrentRow(row)
                self.blockSignals(False)
                return

    def current_run(self) -> str | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.DisplayRole) if item is not None else None

    def compared(self) -> list[str]:
        return [
            self.item(r).data(Qt.ItemDataRole.DisplayRole)
            for r in range(self.count())
            if self.item(r).checkState() == Qt.CheckState.Checked
        ]

    def set_compared(self, run_id: str, on: bool) -> None:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(Qt.ItemDataRole.DisplayRole) == run_id:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current(self, item, _previous) -> None:
        if item is not None:
            self.run_selected.emit(item.data(Qt.ItemDataRole.DisplayRole))

    @Slot(QListWidgetItem)
    def _on_item_changed(self, _item) -> None:
        self.compare_changed.emit(self.compared())
