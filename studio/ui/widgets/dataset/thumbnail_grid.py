"""The virtualized thumbnail grid of an image dataset.

Built for 20,000 items: a ``QListView`` in icon mode with uniform item sizes (layout is arithmetic, not a
measurement of every item) over a ``QAbstractListModel`` that holds only the manifest entries. Nothing is
decoded until the view asks for a row's ``DecorationRole``, which happens only for rows being painted; the
model then asks a :class:`~studio.workers.thumbnails.ThumbnailLoader` (a background thread pool with an LRU
cache) and shows a placeholder until the thumbnail arrives.

The grid shows every item that has a normalized copy; items the user excluded stay visible, dimmed and
marked, so they can be brought back (Insert) as easily as they were dropped (Delete).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
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
from studio.ui.widgets.common.inputs import Slider
from studio.workers.thumbnails import FAILED, ThumbnailLoader

SIZES = (64, 96, 128, 160, 192)  # thumbnail sides the slider steps through
DEFAULT_SIZE = 128
_CAPTION_H = 22
_PAD = 6

ENTRY_ID_ROLE = Qt.ItemDataRole.UserRole + 1
EXCLUDED_ROLE = Qt.ItemDataRole.UserRole + 2
LABEL_ROLE = Qt.ItemDataRole.UserRole + 3
READY_ROLE = Qt.ItemDataRole.UserRole + 4  # True once the thumbnail (or its failure) is known


class ThumbnailModel(QAbstractListModel):
    """One row per image item. ``data(DecorationRole)`` is the only thing that triggers a decode."""

    thumbnail_ready = Signal(int)  # row

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.folder = Path()
        self.entries: list[dict] = []
        self.side = DEFAULT_SIZE
        self._row_of: dict[str, int] = {}  # item path -> row
        self.by_id: dict[str, dict] = {}
        self._loader: ThumbnailLoader | None = None  # made on the first row painted: nothing heavy before
        self.loaded = 0  # thumbnails delivered since the last reset (for the status line and tests)

    # -- content -----------------------------------------------------------------------------------------
    def set_entries(self, folder: Path, entries: list[dict]) -> None:
        self.beginResetModel()
        self.folder = Path(folder)
        self.entries = [e for e in entries if e.get("item")]
        self._row_of = {str(self.folder / e["item"]): row for row, e in enumerate(self.entries)}
        self.by_id = {e["id"]: e for e in self.entries}
        self.loaded = 0
        self.endResetModel()

    def refresh_entries(self, entries: list[dict]) -> None:
        """Same items, changed fields (excluded, label): repaint without dropping thumbnails or selection."""
        items = [e for e in entries if e.get("item")]
        if [e["id"] for e in items] != [e["id"] for e in self.entries]:
            self.set_entries(self.folder, entries)
            return
        self.entries = items
        self.by_id = {e["id"]: e for e in items}
        if items:
            self.dataChanged.emit(
                self.index(0), self.index(len(items) - 1), [EXCLUDED_ROLE, Qt.ItemDataRole.ToolTipRole]
            )

    def set_side(self, side: int) -> None:
        if side != self.side:
            self.side = side
            self.loaded = 0
            if self.entries:
                self.dataChanged.emit(
                    self.index(0), self.index(len(self.entries) - 1), [Qt.ItemDataRole.DecorationRole, READY_ROLE]
                )

    @property
    def loader(self) -> ThumbnailLoader:
        if self._loader is None:
            self._loader = ThumbnailLoader(parent=self)
            self._loader.ready.connect(self._on_ready)
        return self._loader

    def loaded_rows(self) -> int:
        """How many rows have their thumbnail ready now (checks the cache; for tests and status lines)."""
        if self._loader is None:
            return 0
        return sum(1 for path in self._row_of if self._loader.cached((path, self.side)) is not None)

    def path(self, row: int) -> str:
        return str(self.folder / self.entries[row]["item"])

    # -- QAbstractListModel ----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return PurePosixPath(entry["source"]).name
        if role == Qt.ItemDataRole.DecorationRole:
            image = self.loader.get((self.path(index.row()), self.side), (self.path(index.row()), self.side))
            return image if isinstance(image, QImage) else None
        if role == READY_ROLE:
            return self._loader is not None and self._loader.cached((self.path(index.row()), self.side)) is not None
        if role == ENTRY_ID_ROLE:
            return entry["id"]
        if role == EXCLUDED_ROLE:
            return bool(entry.get("excluded"))
        if role == LABEL_ROLE:
            return entry.get("label")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index.row())
        return None

    def _tooltip(self, row: int) -> str:
        entry = self.entries[row]
        meta = entry.get("meta") or {}
        lines = [entry["source"]]
        if meta.get("width"):
            lines.append(f"{meta['width']} × {meta['height']} px")
        if entry.get("label"):
            lines.append(f"Class: {entry['label']}")
        lines += list(entry.get("flags") or [])
        if self._loader is not None and self._loader.cached((self.path(row), self.side)) is FAILED:
            lines.append("The picture could not be read: " + self._loader.errors.get((self.path(row), self.side), ""))
        if entry.get("excluded"):
            lines.append("Excluded from training (Insert brings it back)")
        return "\n".join(lines)

    @Slot(object, object)
    def _on_ready(self, key, _result) -> None:
        path, side = key
        row = self._row_of.get(path)
        if row is None or side != self.side:
            return
        self.loaded += 1
        index = self.index(row)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole, READY_ROLE])
        self.thumbnail_ready.emit(row)


class ThumbnailDelegate(QStyledItemDelegate):
    """A card: the picture letterboxed in a square, the file name under it, dimmed with a badge if excluded."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.side = DEFAULT_SIZE

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(self.side + 2 * _PAD, self.side + 2 * _PAD + _CAPTION_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        card = QRect(option.rect).adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        path = QPainterPath()
        path.addRoundedRect(card, 8, 8)
        painter.fillPath(path, theme.qcolor("#ECECFC") if selected else theme.qcolor("#FFFFFF"))
        painter.setPen(
            QPen(
                theme.qcolor("#5B5BD6") if selected else theme.qcolor("#C9CCE0" if hovered else "#E3E5EF"),
                2 if selected else 1,
            )
        )
        painter.drawPath(path)

        square = QRect(card.left() + _PAD - 2, card.top() + _PAD - 2, self.side, self.side)
        painter.fillRect(square, theme.qcolor("#F1F2F9"))
        excluded = bool(index.data(EXCLUDED_ROLE))
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            size = image.size().scaled(square.size(), Qt.AspectRatioMode.KeepAspectRatio)
            if size.width() > 2 * image.width():  # a tiny picture stays visibly small (at most 2× enlarged)
                size = image.size() * 2
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(square.center())
            if excluded:
                painter.setOpacity(0.35)
            painter.drawImage(target, image)
            painter.setOpacity(1.0)
        else:
            ready = bool(index.data(READY_ROLE))
            painter.setPen(theme.qcolor("#A9ADC4"))
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "Cannot read" if ready else "…")

        caption = QRect(card.left() + _PAD, square.bottom() + 3, card.width() - 2 * _PAD, _CAPTION_H - 4)
        painter.setPen(theme.qcolor("#A9ADC4" if excluded else "#4A4F6A"))
        name = option.fontMetrics.elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""), Qt.TextElideMode.ElideMiddle, caption.width()
        )
        painter.drawText(caption, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)

        if excluded:
            font = QFont(option.font)
            font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
            font.setBold(True)
            painter.setFont(font)
            text = "Excluded"
            width = painter.fontMetrics().horizontalAdvance(text) + 12
            badge = QRect(square.left() + 4, square.top() + 4, width, painter.fontMetrics().height() + 4)
            pill = QPainterPath()
            pill.addRoundedRect(badge, badge.height() / 2, badge.height() / 2)
            painter.fillPath(pill, theme.qcolor("#23263A"))
            painter.setPen(theme.qcolor("#FFFFFF"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class ThumbnailGrid(QWidget):
    """Toolbar (size, exclude, include) above the virtualized grid. Emits what the user asked for; the panel
    changes the manifest (undoably) and hands the new entries back through :meth:`refresh`."""

    exclude_requested = Signal(list)  # entry ids
    include_requested = Signal(list)
    size_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = ThumbnailModel(self)
        self.delegate = ThumbnailDelegate(self)
        self.view = QListView(objectName="thumbnailView")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)  # O(1) layout per item: what makes 20,000 rows cheap
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(500)
        self.view.setSpacing(4)
        self.view.setWrapping(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalScrollBar().setSingleStep(24)
        self.view.setMouseTracking(True)
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)

        self.count_label = QLabel(objectName="gridCount")
        self.exclude_button = QPushButton("Exclude")
        self.exclude_button.setToolTip("Leave the selected pictures out of training (Delete). Undo brings them back.")
        self.exclude_button.clicked.connect(self.exclude_selected)
        self.include_button = QPushButton("Include")
        self.include_button.setToolTip("Bring the selected excluded pictures back (Insert)")
        self.include_button.clicked.connect(self.include_selected)
        self.size_slider = Slider(Qt.Orientation.Horizontal, objectName="thumbSize")
        self.size_slider.setRange(0, len(SIZES) - 1)
        self.size_slider.setPageStep(1)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size")
        self.size_slider.setValue(SIZES.index(DEFAULT_SIZE))
        self.size_slider.valueChanged.connect(self._on_slider)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        small = QLabel("Size", objectName="mutedLabel")
        bar.addWidget(small)
        bar.addWidget(self.size_slider)
        bar.addSpacing(12)
        bar.addWidget(self.exclude_button)
        bar.addWidget(self.include_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        for keys, slot, text in (
            (QKeySequence.StandardKey.Delete, self.exclude_selected, "Exclude the selected pictures"),
            (QKeySequence(Qt.Key.Key_Backspace), self.exclude_selected, "Exclude the selected pictures"),
            (QKeySequence(Qt.Key.Key_Insert), self.include_selected, "Include the selected pictures again"),
        ):
            action = QAction(text, self)  # the text names it in Help ▸ Keyboard shortcuts
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.view.addAction(action)
        self._apply_side(DEFAULT_SIZE)
        self._update_buttons()

    # -- content -----------------------------------------------------------------------------------------
    def set_entries(self, folder: Path, entries: list[dict]) -> None:
        self.model.set_entries(folder, entries)
        self._update_count()
        self._update_buttons()

    def refresh(self, entries: list[dict]) -> None:
        self.model.refresh_entries(entries)
        self._update_count()
        self._update_buttons()

    @property
    def side(self) -> int:
        return self.model.side

    def set_side(self, side: int) -> None:
        side = min(SIZES, key=lambda s: abs(s - int(side)))
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(SIZES.index(side))
        self.size_slider.blockSignals(False)
        self._apply_side(side)

    def selected_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.entries[r]["id"] for r in rows]

    def select_rows(self, rows: list[int]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(self.model.index(row), QItemSelectionModel.SelectionFlag.Select)

    # -- slots ---------------------------------------------------------------------------------------------
    @Slot()
    def exclude_selected(self) -> None:
        ids = [i for i in self.selected_ids() if not self._entry(i).get("excluded")]
        if ids:
            self.exclude_requested.emit(ids)

    @Slot()
    def include_selected(self) -> None:
        ids = [i for i in self.selected_ids() if self._entry(i).get("excluded")]
        if ids:
            self.include_requested.emit(ids)

    @Slot(int)
    def _on_slider(self, position: int) -> None:
        self._apply_side(SIZES[position])
        self.size_changed.emit(SIZES[position])

    @Slot()
    def _update_buttons(self) -> None:
        chosen = [self._entry(i) for i in self.selected_ids()]
        self.exclude_button.setEnabled(any(not e.get("excluded") for e in chosen))
        self.include_button.setEnabled(any(e.get("excluded") for e in chosen))

    def _apply_side(self, side: int) -> None:
        self.delegate.side = side
        self.model.set_side(side)
        cell = self.delegate.sizeHint(QStyleOptionViewItem(), QModelIndex())
        self.view.setGridSize(QSize(cell.width() + 4, cell.height() + 4))
        self.view.setIconSize(QSize(side, side))
        self.view.doItemsLayout()

    def _entry(self, entry_id: str) -> dict:
        return self.model.by_id[entry_id]

    def _update_count(self) -> None:
        total = len(self.model.entries)
        excluded = sum(1 for e in self.model.entries if e.get("excluded"))
        text = words.count(total, "picture")
        if excluded:
            text += f" · {excluded:,} excluded"
        self.count_label.setText(text)
