"""Past runs of the project: one row each (model, dataset, state, steps), with a box to overlay its curves.

Selecting a row shows that run's curves and checkpoints; ticking boxes overlays other runs to compare them.
Rows hold only what ``runs.list_runs`` gives (small JSON files); curves are read on demand by the panel, in a
job, for the runs the user actually looks at.

A run can be named: double-click its title, press F2 or choose *Rename run…* from its context menu, and type. The
list only asks (:attr:`RunList.rename_requested`); the panel stores the name in the run folder in a job and
reloads the runs, so what the row shows is always what is on disk. An item's display role stays the run id (the
key everything else uses): the editor never writes into the model.
"""

from __future__ import annotations

import sys
from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from studio.core.training import families
from studio.core.training.runs import NAME_LIMIT
from studio.ui import theme

RUN_ROLE = Qt.ItemDataRole.UserRole
# the key an item view edits with, shown beside Rename in the context menu ("\t" puts it in the menu's key column)
EDIT_KEY = "" if sys.platform == "darwin" else "F2"  # macOS edits with Return
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


def family_label(run: dict) -> str:
    """The run's model in the family table's words ("GAN", "TTS"), else its family id as written in the run."""
    spec = families.find(run.get("family"))
    return spec.label if spec is not None else str(run.get("family") or "")


def default_run_title(run: dict) -> str:
    """``Nov 25, 20:14 · GAN``: when and what, from the run id ``YYYYmmdd-HHMMSS-<family>``."""
    run_id = str(run.get("run_id", ""))
    try:
        when = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").strftime("%b %d, %H:%M")
    except ValueError:
        when = run_id
    return f"{when} · {family_label(run)}"


def run_title(run: dict) -> str:
    """The user's name for the run, else :func:`default_run_title`: what every list of runs shows."""
    return str(run.get("name") or "").strip() or default_run_title(run)


def run_subtitle(run: dict) -> str:
    """``on shapes · step 200 of 1,000``; a named run also says its model (its title no longer does)."""
    step, total = run.get("step"), run.get("total_steps")
    steps = (
        f"step {int(step):,} of {int(total):,}"
        if isinstance(step, int) and isinstance(total, int) and total
        else (f"step {int(step):,}" if isinstance(step, int) else "")
    )
    where = f"on {run.get('dataset', '?')}"
    if str(run.get("name") or "").strip() and run.get("family"):
        where = f"{family_label(run)} {where}"
    return " · ".join(p for p in (where, steps) if p)


def run_tooltip(run: dict) -> str:
    """The run's full title, its folder name (what ``--run`` and ``--resume`` take) and what the row is for."""
    lines = [run_title(run)]
    if run.get("name"):
        lines.append(default_run_title(run))
    lines += [
        f"Folder: {run.get('run_id', '')}",
        f"{run_subtitle(run)} · {run_state(run)}",
        "Tick to overlay its curves · double-click the title"
        + (f" or press {EDIT_KEY}" if EDIT_KEY else "")
        + " to rename",
    ]
    return "\n".join(lines)


class RunDelegate(QStyledItemDelegate):
    """Rows: a check box, the title, a coloured state word and a muted line with dataset and steps. Renaming
    edits the title in place; the new name goes out as :attr:`renamed` (run id, name), never into the model."""

    renamed = Signal(str, str)
    TITLE_LEFT = 32  # where the title starts (after the check box)

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, 46)

    def createEditor(self, parent, option, index) -> QLineEdit:
        editor = QLineEdit(parent, objectName="runNameEditor")
        editor.setMaxLength(NAME_LIMIT)
        editor.setPlaceholderText(default_run_title(index.data(RUN_ROLE) or {}))
        editor.setToolTip("Type a name for the run and press Enter; leave it empty for its date and model")
        return editor

    def setEditorData(self, editor, index) -> None:
        editor.setText(str((index.data(RUN_ROLE) or {}).get("name") or ""))
        editor.selectAll()

    def setModelData(self, editor, model, index) -> None:
        run = index.data(RUN_ROLE) or {}
        name = editor.text().strip()
        if name != str(run.get("name") or ""):
            self.renamed.emit(str(run.get("run_id", "")), name)

    def updateEditorGeometry(self, editor, option, index) -> None:
        rect = option.rect
        height = max(editor.sizeHint().height(), rect.height() // 2)
        editor.setGeometry(rect.left() + self.TITLE_LEFT - 4, rect.top() + 2, rect.width() - self.TITLE_LEFT, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        run = index.data(RUN_ROLE) or {}
        style = option.widget.style() if option.widget else QApplication.style()
        option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        painter.save()
        rect = option.rect.adjusted(self.TITLE_LEFT, 5, -8, -5)
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
    """The project's runs, newest first. ``compare_changed`` carries the ids whose boxes are ticked;
    ``rename_requested`` (run id, name) a name the user typed ("" to remove it)."""

    run_selected = Signal(str)
    compare_changed = Signal(list)
    rename_requested = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("runList")
        delegate = RunDelegate(self)
        delegate.renamed.connect(self._on_renamed)
        self.setItemDelegate(delegate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # F2 (Return on macOS) is the item views' own edit key, as in a file manager: no shortcut of the panel's
        # table (those work wherever focus is in the panel, and F2 in a settings field must not rename a run)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setToolTip("Select a run to see its curves and checkpoints; tick runs to overlay their curves")
        self.rename_action = QAction(f"Rename run…\t{EDIT_KEY}" if EDIT_KEY else "Rename run…", self)
        self.rename_action.triggered.connect(self.rename_current)
        self.addAction(self.rename_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.renamable = True
        self.runs: dict[str, dict] = {}
        self.currentItemChanged.connect(self._on_current)
        self.itemChanged.connect(self._on_item_changed)

    def set_renamable(self, on: bool) -> None:
        """Whether runs can be named (the panel's backend can store names); existing rows follow."""
        self.renamable = bool(on)
        self.rename_action.setEnabled(self.renamable)
        self.blockSignals(True)  # a change of flags, not of ticks
        for row in range(self.count()):
            self._set_editable(self.item(row))
        self.blockSignals(False)

    def _set_editable(self, item: QListWidgetItem) -> None:
        flags = item.flags() | Qt.ItemFlag.ItemIsEditable
        item.setFlags(flags if self.renamable else flags & ~Qt.ItemFlag.ItemIsEditable)

    @Slot()
    def rename_current(self) -> None:
        """Edit the selected run's title in place (the context menu's Rename run…; F2 does it as the edit key)."""
        item = self.currentItem()
        if item is not None and self.renamable:
            self.scrollToItem(item)
            self.editItem(item)

    @Slot(str, str)
    def _on_renamed(self, run_id: str, name: str) -> None:
        if run_id in self.runs and self.renamable:
            self.rename_requested.emit(run_id, name)

    def title(self, run_id: str) -> str:
        """What the row of ``run_id`` shows as its title ("" when it is not listed)."""
        run = self.runs.get(run_id)
        return run_title(run) if run is not None else ""

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
            self._set_editable(item)
            item.setCheckState(Qt.CheckState.Checked if run_id in ticked else Qt.CheckState.Unchecked)
            self._describe(item, run)
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
                self._describe(item, run)
                self.blockSignals(False)
                return

    @staticmethod
    def _describe(item: QListWidgetItem, run: dict) -> None:
        """The tooltip and the words a screen reader says for the painted row."""
        item.setToolTip(run_tooltip(run))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{run_title(run)}, {run_subtitle(run)}, {run_state(run)}")

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
