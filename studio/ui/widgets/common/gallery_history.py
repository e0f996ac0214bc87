"""The history of a creation panel: every picture, text or clip it made in this project, kept in the project's
gallery (:mod:`studio.core.gallery`), newest first.

What the user does here (the same in the Image canvas, the Text writer and Speech):

* **Find**: type in the search box (the title, prompt, generated text or script), pick a run in the run filter
  (the runs that made something, by their display names), or press ★ to see only the favourites.
* **Act on the selected rows** (click, Ctrl/Shift-click for several; the buttons, the right-click menu or the
  keys): *Reopen* (Enter or a double click: the panel makes it again, or brings it back, and shows it), *Star*
  (Space, or the star on a row), *Export…* (copies the files to a folder), *Delete* (Delete key; Edit ▸ Undo
  brings the rows back), *Compare checkpoints* (the run's checkpoints side by side on the comparison board).
* A picture's row shows its thumbnail; a text's its first words; a clip's a play button (it asks the panel to
  play the kept clip) and its length.

Why it is built this way:

* **Every gallery read and write is a job** (:mod:`studio.ui.backends.gallery`), so a slow disk or another window
  writing the same gallery never stalls the window. Listings go through one job slot (a newer filter replaces a
  stale listing); writes — the panels' recordings, stars, deletes, restores — go through a second slot *one after
  another*, from a queue: a job slot cancels its previous job when a new one starts, and a recording must never be
  cancelled by the next one.
* **Delete is undoable through the panel's Edit menu**: the widget keeps the stack of deleted ids and the panel
  answers :meth:`~studio.ui.panels.base.Panel.can_undo` / ``undo`` from it (:attr:`changed` tells the panel to
  emit ``history_changed``). Deleting is soft in the store (the files stay), so Undo is exact.
* **The panel stays in charge of what "Reopen" means** (make a picture again and compare it; bring a text back
  into the editors; speak a clip again): the widget only emits :attr:`reopen_requested` with the item.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui import theme
from studio.ui.backends.gallery import ChangeItems, ExportItems, ListItems, Tagged, created_words, noun
from studio.ui.widgets.common.inputs import ComboBox

ROW_ROLE = Qt.ItemDataRole.UserRole
ALL_RUNS = ""  # the run filter's first entry
SEARCH_DELAY_MS = 250  # typing in the search box lists again once the user pauses
LIMIT = 500  # rows listed at most (the newest); the count under the list says when there are more
ROW_HEIGHT = 58
THUMB_SIDE = 44
STAR_SIDE = 22
_PAD = 8


def duration_words(seconds: float | None) -> str:
    """A clip's length as the history shows it: "0:04.7", "1:02.0"; "" when unknown."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def first_line(text: str, limit: int = 80) -> str:
    line = " ".join(str(text or "").split())
    return line[:limit].rstrip() + "…" if len(line) > limit else line


def row_title(row: dict) -> str:
    """What a row says first: the item's title ("Seed 42 · image 3", the prompt's first words, the script's)."""
    return str(row.get("title") or "").strip() or noun(str(row.get("panel", ""))).capitalize()


def row_subtitle(row: dict, run_names: dict[str, str]) -> str:
    """The muted line, what tells rows apart first (a narrow column cuts the end; the tooltip has it all): a clip's
    length, when, a text's variants and seed, the checkpoint, then the model (its display name)."""
    settings = row.get("settings") or {}
    run_id = str(row.get("run_id") or "")
    step = row.get("step")
    parts = [
        duration_words(row.get("duration")) if row.get("kind") == "audio" else "",
        when_words(str(row.get("created", ""))),
    ]
    if row.get("kind") == "text":
        sampling = settings.get("sampling") or {}
        count = int(settings.get("variants") or len(row.get("texts") or []) or 1)
        parts += [words.count(count, "variant"), f"seed {sampling.get('seed', '?')}"]
        if settings.get("state") == "stopped":
            parts.append("stopped")
    parts += [
        f"step {int(step):,}" if isinstance(step, int) else "",
        run_names.get(run_id) or str(settings.get("voice_title") or "") or run_id,
    ]
    return " · ".join(p for p in parts if p)


def when_words(created: str) -> str:
    """When an item was made, short: "10:41" today, else "Dec 06, 10:41"."""
    full = created_words(created)
    today = created_words(datetime.now(UTC).replace(microsecond=0).isoformat())
    return full.split(", ")[-1] if full and full.split(", ")[0] == today.split(", ")[0] else full


def row_excerpt(row: dict) -> str:
    """A writer generation's first generated words (the third line of its row)."""
    texts = [t for t in row.get("texts") or [] if str(t).strip()]
    return first_line(texts[0]) if texts else ""


class HistoryModel(QAbstractListModel):
    """The listed items, as the job returned them (plain dicts), with their thumbnails made into QImages once."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []
        self.run_names: dict[str, str] = {}

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = [self._with_image(row) for row in rows]
        self.endResetModel()

    @staticmethod
    def _with_image(row: dict) -> dict:
        thumb = row.get("thumb")
        row = {k: v for k, v in row.items() if k != "thumb"}
        if thumb is not None:
            pixels = np.ascontiguousarray(np.asarray(thumb, np.uint8)[..., :3])
            height, width = pixels.shape[:2]
            row["image"] = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        return row

    def remove_ids(self, ids: set[str]) -> None:
        """Take rows out at once (a delete), before the store has answered."""
        keep = [row for row in self.rows if row.get("id") not in ids]
        if len(keep) != len(self.rows):
            self.beginResetModel()
            self.rows = keep
            self.endResetModel()

    def set_favourite(self, ids: set[str], on: bool) -> None:
        for number, row in enumerate(self.rows):
            if row.get("id") in ids:
                row["favourite"] = on
                self.dataChanged.emit(self.index(number), self.index(number))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return row_title(row)
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            lines = [row_title(row), row_subtitle(row, self.run_names)]
            if row.get("kind") == "text":
                lines.append(row_excerpt(row))
            if role == Qt.ItemDataRole.ToolTipRole:
                lines.append("Double-click or Enter to reopen · Space stars · Delete removes (Edit ▸ Undo)")
            return "\n".join(line for line in lines if line)
        return None


def _layout(rect: QRect, kind: str) -> tuple[QRect, QRect, QRect]:
    """A row's parts: the left box (thumbnail or play button; empty for a text), the text area, the star."""
    star = QRect(rect.right() - STAR_SIDE - 4, rect.top() + (rect.height() - STAR_SIDE) // 2, STAR_SIDE, STAR_SIDE)
    if kind == "text":
        box = QRect(rect.left() + _PAD, rect.top(), 0, 0)
        left = rect.left() + _PAD
    else:
        side = THUMB_SIDE if kind == "image" else 32
        box = QRect(rect.left() + _PAD, rect.top() + (rect.height() - side) // 2, side, side)
        left = box.right() + 10
    text = QRect(left, rect.top() + 6, max(0, star.left() - 6 - left), rect.height() - 12)
    return box, text, star


class HistoryDelegate(QStyledItemDelegate):
    """A row: the thumbnail (nearest-neighbour, as the canvas shows pictures), a play button and length, or
    nothing for a text; the title, the muted line (and a text's first words); a star at the right."""

    star_clicked = Signal(int)  # row
    play_clicked = Signal(int)  # row (a clip)

    def sizeHint(self, option, index) -> QSize:
        row = index.data(ROW_ROLE) or {}
        return QSize(200, ROW_HEIGHT + (12 if row.get("kind") == "text" else 0))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        row = index.data(ROW_ROLE) or {}
        style = option.widget.style() if option.widget else QApplication.style()
        option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        kind = str(row.get("kind", ""))
        box, text, star = _layout(option.rect, kind)
        if kind == "image":
            self._paint_thumb(painter, box, row.get("image"))
        elif kind == "audio":
            self._paint_play(painter, box)
        self._paint_text(painter, option, text, row, index.model().run_names if index.model() else {})
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if row.get("favourite") or hovered or selected:
            self._paint_star(painter, star, bool(row.get("favourite")))
        painter.restore()

    @staticmethod
    def _paint_thumb(painter: QPainter, box: QRect, image) -> None:
        frame = QPainterPath()
        frame.addRoundedRect(box, 5, 5)
        painter.fillPath(frame, theme.qcolor("#F1F2F8"))
        if isinstance(image, QImage) and not image.isNull():
            painter.setClipPath(frame)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, image.width() > box.width())
            painter.drawImage(box, image)
            painter.setClipping(False)
        painter.setPen(QPen(theme.qcolor("#E3E5EF"), 1))
        painter.drawPath(frame)

    @staticmethod
    def _paint_play(painter: QPainter, box: QRect) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.qcolor("#ECECFC"))
        painter.drawEllipse(box)
        painter.setBrush(theme.qcolor("#5B5BD6"))
        centre = box.center()
        size = box.width() / 4
        triangle = QPainterPath()
        triangle.moveTo(centre.x() - size * 0.7, centre.y() - size)
        triangle.lineTo(centre.x() + size, centre.y())
        triangle.lineTo(centre.x() - size * 0.7, centre.y() + size)
        triangle.closeSubpath()
        painter.drawPath(triangle)

    @staticmethod
    def _paint_text(painter: QPainter, option, rect: QRect, row: dict, run_names: dict) -> None:
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        lines = [(row_title(row), bold, "#23263A"), (row_subtitle(row, run_names), option.font, "#6B7090")]
        if row.get("kind") == "text":
            lines.append((row_excerpt(row), option.font, "#4A4E69"))
        height = rect.height() // len(lines)
        for number, (line, font, colour) in enumerate(lines):
            painter.setFont(font)
            painter.setPen(theme.qcolor(colour))
            part = QRect(rect.left(), rect.top() + number * height, rect.width(), height)
            painter.drawText(
                part,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, part.width()),
            )

    @staticmethod
    def _paint_star(painter: QPainter, rect: QRect, on: bool) -> None:
        painter.setFont(QFont(painter.font().family(), 13))
        painter.setPen(theme.qcolor("#F5B82E" if on else "#9EA2BC"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "★" if on else "☆")

    def editorEvent(self, event, model, option, index) -> bool:
        """A click on the star stars the row; a click on a clip's play button plays it (neither selects)."""
        if event.type() not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
            return super().editorEvent(event, model, option, index)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().editorEvent(event, model, option, index)
        row = index.data(ROW_ROLE) or {}
        box, _text, star = _layout(option.rect, str(row.get("kind", "")))
        point = event.position().toPoint()
        hit = "star" if star.contains(point) else "play" if row.get("kind") == "audio" and box.contains(point) else ""
        if not hit:
            return super().editorEvent(event, model, option, index)
        if event.type() == QEvent.Type.MouseButtonRelease:
            (self.star_clicked if hit == "star" else self.play_clicked).emit(index.row())
        return True


class HistoryView(QListView):
    """The list: Enter reopens, Space stars, Delete deletes (the keys the panel would otherwise take as its own
    shortcuts are claimed here while the list has focus)."""

    reopen_key = Signal()
    star_key = Signal()
    delete_key = Signal()

    KEYS: ClassVar[dict[Qt.Key, str]] = {
        Qt.Key.Key_Return: "reopen_key",
        Qt.Key.Key_Enter: "reopen_key",
        Qt.Key.Key_Space: "star_key",
        Qt.Key.Key_Delete: "delete_key",
        Qt.Key.Key_Backspace: "delete_key",
    }

    def _signal_for(self, event) -> str | None:
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return None
        return self.KEYS.get(Qt.Key(event.key()))

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._signal_for(event):
            event.accept()  # ours while the list has focus (the canvas's Space, say, stars a grid tile)
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        name = self._signal_for(event)
        if name and self.selectionModel().hasSelection():
            getattr(self, name).emit()
            return
        super().keyPressEvent(event)


class GalleryHistory(QWidget):
    """A creation panel's history (see the module docstring).

    ``panel``: the gallery's panel id ("image", "text", "speech"); ``job_slot``: the panel's
    :meth:`~studio.ui.panels.base.Panel.job_slot` (the widget takes a slot for listings, one for writes, one for
    exports); ``migrate_writer``: the writer's history brings in its old ``history.json`` once.
    """

    reopen_requested = Signal(dict)  # an item (its dict): the panel makes it again / brings it back
    play_requested = Signal(dict)  # a clip's item: the panel plays the kept clip
    compare_requested = Signal(str)  # a run id: show its checkpoints on the comparison board
    listed = Signal(int)  # rows shown after a listing
    recorded = Signal(dict)  # a recording job's result ({"items": [...]}), after it was kept
    stored = Signal(str)  # "record", "favourite", "delete", "restore": such writes reached the store (queue empty)
    changed = Signal()  # what Undo / Redo would do changed (the panel emits history_changed)
    message = Signal(str, str)  # (plain sentence, tone) for the panel's banner
    exported = Signal(list)  # the files an export wrote

    def __init__(self, panel: str, job_slot: Callable, migrate_writer: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("galleryHistory")
        self.panel, self.noun, self.migrate_writer = panel, noun(panel), migrate_writer
        self.root: Path | None = None
        self.list_slot = job_slot()
        self.write_slot = job_slot()
        self.export_slot = job_slot()
        self.total = 0  # items matching the filters (may exceed what is listed)
        self.everything = 0  # items of this panel in all
        self._queue: list[Tagged] = []  # writes waiting for the write slot, in order
        self._undo: list[list[str]] = []  # ids of each delete, newest last
        self._redo: list[list[str]] = []
        self._relist = False  # a write changed what the list shows: list again once the queue is empty
        self._done: list[str] = []  # tags of the writes done since the queue was last empty
        self._writing = ""  # the tag of the write under way
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self._build()
        self._update_buttons()

    # -- construction -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit(objectName="gallerySearch")
        self.search.setPlaceholderText(f"Search {words.plural_of(self.noun)}")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_edited)
        self.runs = ComboBox(objectName="galleryRuns")
        self.all_runs = "All voices" if self.panel == "speech" else "All runs"
        self.runs.setToolTip(
            "Show what one voice spoke, or every voice's" if self.panel == "speech" else "Show what one run made"
        )
        self.runs.addItem(self.all_runs, ALL_RUNS)
        self.runs.currentIndexChanged.connect(self.refresh)
        self.favourites = QPushButton("★", objectName="favouritesFilter")
        self.favourites.setCheckable(True)
        self.favourites.setToolTip(f"Show only the {words.plural_of(self.noun)} you starred")
        self.favourites.toggled.connect(self.refresh)
        filters = QHBoxLayout()
        filters.setSpacing(6)
        filters.addWidget(self.runs, 1)
        filters.addWidget(self.favourites)

        self.model_ = HistoryModel(self)
        self.view = HistoryView(objectName="galleryList")
        self.view.setModel(self.model_)
        self.delegate = HistoryDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setMouseTracking(True)  # the star shows under the pointer
        self.view.setUniformItemSizes(self.panel != "text")
        self.view.doubleClicked.connect(self._on_double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.view.reopen_key.connect(self.reopen)
        self.view.star_key.connect(self.toggle_star)
        self.view.delete_key.connect(self.delete_selected)
        self.delegate.star_clicked.connect(self._on_star_clicked)
        self.delegate.play_clicked.connect(self._on_play_clicked)

        self.count_label = QLabel(objectName="mutedLabel")
        self.count_label.setWordWrap(True)
        self.reopen_button = QPushButton("Reopen", objectName="galleryReopen")
        self.reopen_button.clicked.connect(self.reopen)
        self.star_button = QPushButton("☆", objectName="canvasStar")
        self.star_button.setCheckable(True)
        self.star_button.setFixedWidth(40)
        self.star_button.clicked.connect(self.toggle_star)
        self.export_button = QPushButton("Export…", objectName="galleryExport")
        self.export_button.clicked.connect(self.export_selected)
        self.delete_button = QPushButton("Delete", objectName="galleryDelete")
        self.delete_button.setToolTip("Remove the selected rows from the history (Delete; Edit ▸ Undo restores them)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.compare_button = QPushButton("Compare checkpoints…", objectName="galleryCompare")
        self.compare_button.clicked.connect(self.compare_selected)
        actions = QHBoxLayout()  # two short rows: four buttons side by side are cut in a 270 px column
        actions.setSpacing(6)
        for button in (self.reopen_button, self.star_button, self.delete_button):
            actions.addWidget(button, 0 if button is self.star_button else 1)
        more = QHBoxLayout()
        more.setSpacing(6)
        more.addWidget(self.export_button, 1)
        more.addWidget(self.compare_button, 2)
        self._context_actions()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)
        layout.addLayout(actions)
        layout.addLayout(more)

    def _context_actions(self) -> None:
        """The same actions on the list's right-click menu (with the keys they answer to)."""
        for text, keys, slot in (
            ("Reopen", "Return", self.reopen),
            ("Star / unstar", "Space", self.toggle_star),
            ("Export…", "", self.export_selected),
            ("Delete", "Delete", self.delete_selected),
            ("Compare checkpoints…", "", self.compare_selected),
        ):
            action = QAction(text, self.view)
            if keys:
                action.setShortcut(QKeySequence(keys))
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # the list's keys; shown in the menu
            action.triggered.connect(slot)
            self.view.addAction(action)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    # -- project and names ----------------------------------------------------------------------------------------
    def set_project(self, root: Path | None) -> None:
        """Another project (or none): its history, and nothing to undo from the last one."""
        self.list_slot.discard()
        self.export_slot.discard()
        self.root = Path(root) if root is not None else None
        self._undo, self._redo = [], []
        self.model_.set_rows([])
        self.total = self.everything = 0
        self._fill_runs([])
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.changed.emit()
        self.refresh()

    def set_run_names(self, names: dict[str, str]) -> None:
        """Display names of runs (a run's title, a voice's name): the filter and the rows say these, not ids."""
        self.model_.run_names = {str(k): str(v) for k, v in names.items()}
        self._fill_runs([self.runs.itemData(i) for i in range(1, self.runs.count())])
        self.view.viewport().update()

    def _fill_runs(self, run_ids: list[str]) -> None:
        chosen = self.runs.currentData()
        self.runs.blockSignals(True)
        self.runs.clear()
        self.runs.addItem(self.all_runs, ALL_RUNS)
        for run_id in run_ids:
            self.runs.addItem(self.model_.run_names.get(run_id) or run_id, run_id)
            self.runs.setItemData(self.runs.count() - 1, run_id, Qt.ItemDataRole.ToolTipRole)
        index = self.runs.findData(chosen)
        self.runs.setCurrentIndex(max(0, index))
        self.runs.blockSignals(False)
        if chosen and index < 0:  # the chosen run has nothing left: every run's items instead
            self.refresh()

    # -- listing --------------------------------------------------------------------------------------------------
    @Slot()
    def _on_search_edited(self) -> None:
        self._search_timer.start()

    def filters(self) -> dict:
        return {
            "run_id": self.runs.currentData() or None,
            "favourites": self.favourites.isChecked(),
            "search": self.search.text().strip(),
        }

    @Slot()
    @Slot(int)
    @Slot(bool)
    def refresh(self, *_args) -> None:
        """List again with the filters as set (a job; a newer listing replaces a stale one)."""
        self._search_timer.stop()
        if self.root is None or self.list_slot.registry is None:
            self._update_count()
            return
        job = ListItems(self.root, self.panel, limit=LIMIT, migrate_writer=self.migrate_writer, **self.filters())
        self.list_slot.start(job, succeeded=self._on_listed, failed=self._on_list_failed)

    @Slot(object)
    def _on_listed(self, result: dict) -> None:
        chosen = {row.get("id") for row in self.selected_rows()}
        self.model_.set_rows([row for row in result.get("items") or [] if isinstance(row, dict)])
        self.total, self.everything = int(result.get("total") or 0), int(result.get("all") or 0)
        self._fill_runs([str(r) for r in result.get("runs") or []])
        selection = self.view.selectionModel()
        for number, row in enumerate(self.model_.rows):
            if row.get("id") in chosen:
                selection.select(self.model_.index(number), selection.SelectionFlag.Select)
        self._update_count()
        self._update_buttons()
        self.listed.emit(len(self.model_.rows))

    @Slot(str)
    def _on_list_failed(self, message: str) -> None:
        self.count_label.setText(f"The history could not be read. {message}")
        self.message.emit(f"The {self.noun} history could not be read. {message}", "error")

    def _update_count(self) -> None:
        shown = len(self.model_.rows)
        plural = words.plural_of(self.noun)
        if self.root is None:
            text = f"Open a project: every {self.noun} made here is kept in it."
        elif not self.everything:
            text = f"Every {self.noun} you make here is kept here, with its settings."
        elif not self.total:
            text = f"No {self.noun} matches; clear the search or the filters."
        elif shown < self.total:
            text = f"The newest {shown:,} of {words.count(self.total, self.noun)}; search to find older ones."
        elif self.total < self.everything:
            text = f"{words.count(self.total, self.noun)} of {self.everything:,} match."
        else:
            text = f"{words.count(self.total, self.noun)} kept in this project."
        self.count_label.setText(text)
        self.count_label.setToolTip(f"Every {self.noun} is kept with its settings; {plural} you delete can be undone")

    # -- rows -----------------------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """The listed items (dicts), newest first."""
        return list(self.model_.rows)

    def selected_rows(self) -> list[dict]:
        indexes = sorted(self.view.selectionModel().selectedRows(), key=lambda i: i.row())
        return [self.model_.rows[i.row()] for i in indexes if i.row() < len(self.model_.rows)]

    def select_ids(self, ids: list[str]) -> None:
        """Select the rows of these items (the first becomes current)."""
        selection = self.view.selectionModel()
        selection.clearSelection()
        for number, row in enumerate(self.model_.rows):
            if row.get("id") in ids:
                index = self.model_.index(number)
                selection.select(index, selection.SelectionFlag.Select)
                if row.get("id") == ids[0]:
                    selection.setCurrentIndex(index, selection.SelectionFlag.NoUpdate)
        self._update_buttons()

    # -- actions --------------------------------------------------------------------------------------------------
    @Slot()
    def reopen(self) -> None:
        rows = self.selected_rows()
        current = self.view.currentIndex()
        if current.isValid() and current.row() < len(self.model_.rows) and self.model_.rows[current.row()] in rows:
            rows = [self.model_.rows[current.row()]]
        if rows:
            self.reopen_requested.emit(dict(rows[0]))

    @Slot(QModelIndex)
    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.reopen_requested.emit(dict(self.model_.rows[index.row()]))

    @Slot(int)
    def _on_play_clicked(self, number: int) -> None:
        if 0 <= number < len(self.model_.rows):
            self.play_requested.emit(dict(self.model_.rows[number]))

    @Slot(int)
    def _on_star_clicked(self, number: int) -> None:
        if 0 <= number < len(self.model_.rows):
            row = self.model_.rows[number]
            self.set_favourite([str(row["id"])], not row.get("favourite"))

    @Slot()
    def toggle_star(self) -> None:
        """Star the selected rows (or unstar them when every one is starred already)."""
        rows = self.selected_rows()
        if rows:
            self.set_favourite([str(r["id"]) for r in rows], not all(r.get("favourite") for r in rows))

    def set_favourite(self, ids: list[str], on: bool) -> None:
        """Star or unstar items: shown at once, kept in the project by a write job."""
        if not ids or self.root is None:
            return
        self.model_.set_favourite(set(ids), on)
        self.write(ChangeItems(self.root, "star" if on else "unstar", ids), "favourite")
        self._update_buttons()

    @Slot()
    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.delete([str(r["id"]) for r in rows])

    def delete(self, ids: list[str]) -> None:
        """Delete items (soft: Edit ▸ Undo restores them): gone from the list at once, then from the store."""
        if not ids or self.root is None:
            return
        self.model_.remove_ids(set(ids))
        self.total, self.everything = max(0, self.total - len(ids)), max(0, self.everything - len(ids))
        self._update_count()
        self._undo.append(list(ids))
        self._redo = []
        self.write(ChangeItems(self.root, "delete", ids), "delete")
        self._update_buttons()
        self.changed.emit()

    @Slot()
    def compare_selected(self) -> None:
        rows = self.selected_rows()
        run_id = str(rows[0].get("run_id") or "") if rows else ""
        if run_id:
            self.compare_requested.emit(run_id)

    def ask_export_folder(self) -> str:
        """Where Export… copies the files (tests replace this). Starts in the project's outputs folder."""
        start = self.root / "outputs" if self.root is not None else Path.home()
        return QFileDialog.getExistingDirectory(self, f"Export the {words.plural_of(self.noun)} to", str(start))

    @Slot()
    def export_selected(self) -> None:
        rows = self.selected_rows()
        if not rows or self.root is None or self.export_slot.registry is None:
            return
        folder = self.ask_export_folder()
        if not folder:
            return
        job = ExportItems(self.root, [str(r["id"]) for r in rows], Path(folder), self.panel)
        self.export_slot.start(job, succeeded=self._on_exported, failed=self._on_export_failed)

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self.message.emit(f"The {words.plural_of(self.noun)} could not be exported: {message}", "error")

    @Slot(object)
    def _on_exported(self, paths: list) -> None:
        paths = [str(p) for p in paths or []]
        where = str(Path(paths[0]).parent) if paths else ""
        self.message.emit(f"Exported {words.count(len(paths), 'file')} to {where}.", "success")
        self.exported.emit(paths)

    # -- undo -----------------------------------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo) and self.root is not None

    def undo_label(self) -> str:
        return f"delete {words.count(len(self._undo[-1]), self.noun)}" if self.can_undo() else ""

    def undo(self) -> None:
        """Bring back the items of the newest delete."""
        if not self.can_undo():
            return
        ids = self._undo.pop()
        self._redo.append(ids)
        self.write(ChangeItems(self.root, "restore", ids), "restore")
        self.changed.emit()

    def can_redo(self) -> bool:
        return bool(self._redo) and self.root is not None

    def redo_label(self) -> str:
        return f"delete {words.count(len(self._redo[-1]), self.noun)}" if self.can_redo() else ""

    def redo(self) -> None:
        if not self.can_redo():
            return
        ids = self._redo.pop()
        self.model_.remove_ids(set(ids))
        self._undo.append(ids)
        self.write(ChangeItems(self.root, "delete", ids), "delete")
        self.changed.emit()

    # -- writes, one after another --------------------------------------------------------------------------------
    def record(self, job) -> None:
        """Keep what the panel made (a ``studio.core.gallery.record`` job): queued behind earlier writes, never
        cancelled by a later one; the list shows it when it is kept."""
        self.write(job, "record")

    def write(self, job, tag: str) -> None:
        if self.write_slot.registry is None:
            return
        self._queue.append(Tagged(job, tag))
        self._next_write()

    def _next_write(self) -> None:
        if self.write_slot.busy or not self._queue:
            return
        job = self._queue.pop(0)
        self._writing = job.tag
        self.write_slot.start(
            job,
            succeeded=self._on_written,
            failed=self._on_write_failed,
            finished=self._on_write_finished,
        )

    def writing(self) -> bool:
        """Writes are waiting or under way (a read made now may miss them)."""
        return bool(self._queue) or self.write_slot.busy

    def busy(self) -> bool:
        """A write or a listing is still under way (tests wait for this to end)."""
        return self.writing() or self.list_slot.busy

    @Slot(object)
    def _on_written(self, result: dict) -> None:
        tag = str(result.get("tag"))
        if tag not in self._done:
            self._done.append(tag)
        if tag == "record":
            self.recorded.emit(dict(result.get("result") or {}))
        if tag != "favourite" or self.favourites.isChecked():  # a star changes what ★ lists, nothing else
            self._relist = True

    @Slot(str)
    def _on_write_failed(self, message: str) -> None:
        if self._writing == "record":
            text = (
                f"What you just made could not be kept in the History: {message} It is still on screen; "
                "export it to keep a copy."
            )
        else:
            text = f"The History could not be changed: {message}"
        self.message.emit(text, "error")
        if self._writing != "record":  # a failed star or delete: list what the store holds (nothing to add)
            self._relist = True

    @Slot()
    def _on_write_finished(self) -> None:
        if self._queue:
            self._next_write()
            return
        done, self._done = self._done, []
        if self._relist:  # once the queue is empty: one listing for a burst of writes
            self._relist = False
            self.refresh()
        for tag in done:
            self.stored.emit(tag)

    # -- what is enabled --------------------------------------------------------------------------------------------
    @Slot()
    def _update_buttons(self, *_args) -> None:
        rows = self.selected_rows()
        some = bool(rows) and self.root is not None
        for button in (self.reopen_button, self.star_button, self.export_button, self.delete_button):
            button.setEnabled(some)
        starred = some and all(r.get("favourite") for r in rows)
        self.star_button.setChecked(starred)
        self.star_button.setText("★" if starred else "☆")
        self.star_button.setToolTip(("Unstar" if starred else "Star") + " the selected rows (Space)")
        self.reopen_button.setToolTip(
            {
                "image": "Make the picture again from its settings and compare it with the kept one (Enter)",
                "text": "Bring the prompt, settings and text back into the writer (Enter)",
                "speech": "Put the script, voice and delivery back and speak it again (Enter)",
            }.get(self.panel, "Reopen (Enter)")
        )
        self.export_button.setToolTip(f"Copy the selected {words.plural_of(self.noun)}' files into a folder")
        run_id = str(rows[0].get("run_id") or "") if rows else ""
        comparable = bool(run_id) and not run_id.startswith(("system:", "piper:"))
        self.compare_button.setEnabled(comparable)
        self.compare_button.setToolTip(
            "See this run's checkpoints side by side on the comparison board"
            if comparable
            else f"Select a {self.noun} made by a trained run first"
        )
