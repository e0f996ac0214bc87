"""The canvas's grid of generated images: square tiles that fill the space, a star and a pick box on each.

A ``QListView`` in icon mode over a small model of tiles (a QImage and the settings that make it). The tile side
follows the view's size and the grid's column count (2 for 4 images, 4 for 16, 6 for 36, 8 for 64), so a grid
fills the area without scrolling when it fits, and scrolls when the window is small. Pictures are scaled with
nearest-neighbour sampling: a 64-pixel model's output must look like what it is, not like a blurred photo.

Picking: click selects one image, Ctrl/Shift-click or the box in a tile's corner picks several (the latent walk
and the export use all the picked images). The star in the other corner toggles a favourite; Space does the
same for the selected images. Enter or a double click enlarges.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractListModel, QItemSelectionModel, QModelIndex, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.ui import theme

SETTINGS_ROLE = Qt.ItemDataRole.UserRole + 1
FAVOURITE_ROLE = Qt.ItemDataRole.UserRole + 2
KEY_ROLE = Qt.ItemDataRole.UserRole + 3

_GAP = 8  # between tiles
_INSET = 4  # picture inside its card
_MIN_SIDE = 48  # 8 × 8 tiles of 64 images still fit a narrow centre column; below that the grid scrolls


def settings_key(settings: dict) -> str:
    """What makes an image unique: model, step, seed, latent index, class, truncation and its variations."""
    chain = ";".join(f"{v.get('seed')},{v.get('strength')},{v.get('index')}" for v in settings.get("variations") or [])
    return "|".join(
        str(x)
        for x in (
            settings.get("run_id"),
            settings.get("step"),
            settings.get("seed"),
            settings.get("latent_index"),
            settings.get("class"),
            settings.get("truncation"),
            chain,
        )
    )


def last_variation(settings: dict) -> dict | None:
    chain = settings.get("variations") or []
    return chain[-1] if chain and isinstance(chain[-1], dict) else None


def describe_settings(settings: dict) -> str:
    """One line for a tooltip or a caption: ``seed 42 · image 3 · truncation 0.70 · class “cats”``."""
    parts = [f"seed {settings.get('seed')}", f"image {int(settings.get('latent_index', 0)) + 1}"]
    variation = last_variation(settings)
    if variation is not None:
        depth = len(settings.get("variations") or [])
        parts.append(
            f"variation {int(variation.get('index', 0)) + 1}"
            + (f" (level {depth})" if depth > 1 else "")
            + f", strength {float(variation.get('strength', 0)):.2f}"
        )
    if settings.get("truncation") is not None:
        parts.append(f"truncation {float(settings['truncation']):.2f}")
    if settings.get("class"):
        parts.append(f"class “{settings['class']}”")
    return " · ".join(parts)


def star_path(rect: QRect) -> QPainterPath:
    """A five-pointed star filling ``rect`` (drawn, so no font or icon file decides how it looks)."""
    centre = QPointF(rect.center()) + QPointF(0.5, 0.8)
    outer, inner = rect.width() / 2.0, rect.width() / 4.6
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = math.pi / 2 + i * math.pi / 5
        points.append(QPointF(centre.x() + radius * math.cos(angle), centre.y() - radius * math.sin(angle)))
    path = QPainterPath()
    path.addPolygon(QPolygonF(points))
    path.closeSubpath()
    return path


def tile_rects(cell: QRect) -> tuple[QRect, QRect, QRect]:
    """(card, star hit area, pick-box hit area) of a cell."""
    card = QRect(cell).adjusted(_GAP // 2, _GAP // 2, -_GAP // 2, -_GAP // 2)
    star = QRect(card.right() - 29, card.top() + 5, 24, 24)
    box = QRect(card.left() + 7, card.top() + 7, 20, 20)
    if card.width() < 80:  # small tiles: smaller corners, so the picture still shows
        star = QRect(card.right() - 19, card.top() + 3, 16, 16)
        box = QRect(card.left() + 4, card.top() + 4, 16, 16)
    return card, star, box


class CanvasTileModel(QAbstractListModel):
    """Tiles: ``{"image": QImage, "settings": dict}``; favourites are keys (see :func:`settings_key`)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tiles: list[dict] = []
        self.favourites: set[str] = set()

    def set_tiles(self, tiles: list[dict]) -> None:
        self.beginResetModel()
        self.tiles = [dict(t, key=settings_key(t["settings"])) for t in tiles]
        self.endResetModel()

    def set_favourites(self, keys: set[str]) -> None:
        self.favourites = keys
        if self.tiles:
            self.dataChanged.emit(self.index(0), self.index(len(self.tiles) - 1), [FAVOURITE_ROLE])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.tiles)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.tiles):
            return None
        tile = self.tiles[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return tile["image"]
        if role == SETTINGS_ROLE:
            return tile["settings"]
        if role == KEY_ROLE:
            return tile["key"]
        if role == FAVOURITE_ROLE:
            return tile["key"] in self.favourites
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{describe_settings(tile['settings'])}\nClick to select · Ctrl-click or the box to pick several"
                " · Enter or double-click to enlarge · Space or ★ for a favourite"
            )
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return describe_settings(tile["settings"])
        return None


class CanvasTileDelegate(QStyledItemDelegate):
    """A rounded card with the picture (nearest-neighbour), a pick box and a star."""

    def __init__(self, view: CanvasGrid) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.view.side, self.view.side)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        card, star, box = tile_rects(option.rect)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QPainterPath()
        frame.addRoundedRect(card, 8, 8)
        painter.fillPath(frame, theme.qcolor("#FFFFFF"))
        picture = card.adjusted(_INSET, _INSET, -_INSET, -_INSET)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            clip = QPainterPath()
            clip.addRoundedRect(picture, 5, 5)
            painter.setClipPath(clip)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour
            painter.drawImage(picture, image)
            painter.setClipping(False)
        painter.setPen(
            QPen(theme.qcolor("#5B5BD6"), 3) if selected else QPen(theme.qcolor("#C9CCE0" if hovered else "#E3E5EF"), 1)
        )
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(frame)

        favourite = bool(index.data(FAVOURITE_ROLE))
        if favourite or hovered or selected:
            shape = star_path(star.adjusted(3, 3, -3, -3))
            painter.setPen(QPen(QColor(0, 0, 0, 90), 1.2))
            painter.setBrush(theme.qcolor("#F5B82E") if favourite else QColor(255, 255, 255, 150))
            painter.drawPath(shape)
        if selected or hovered or (self.view.picking() and card.width() >= 80):  # small tiles: no clutter
            painter.setPen(QPen(theme.qcolor("#5B5BD6") if selected else QColor(35, 38, 58, 120), 1.5))
            painter.setBrush(theme.qcolor("#5B5BD6") if selected else QColor(255, 255, 255, 190))
            painter.drawRoundedRect(box.adjusted(2, 2, -2, -2), 4, 4)
            if selected:
                painter.setPen(
                    QPen(
                        theme.qcolor("#FFFFFF"),
                        2.2,
                        Qt.PenStyle.SolidLine,
                        Qt.PenCapStyle.RoundCap,
                        Qt.PenJoinStyle.RoundJoin,
                    )
                )
                inner = box.adjusted(2, 2, -2, -2)
                painter.drawPolyline(
                    [
                        QPointF(inner.left() + 4, inner.center().y() + 0.5),
                        QPointF(inner.left() + 7, inner.bottom() - 4),
                        QPointF(inner.right() - 3.5, inner.top() + 4.5),
                    ]
                )
        painter.restore()


class CanvasGrid(QListView):
    """The grid view. ``columns`` comes from the grid size; the tile side from the view's width and height.

    With ``strip_side`` it is one row of tiles of that side instead (a strip of variations under the grid),
    scrolling sideways: the same tiles, stars, pick boxes and keys as the grid, so a variation is selected,
    starred, enlarged, exported or varied again exactly like a grid image."""

    favourite_clicked = Signal(int)  # row
    enlarge_requested = Signal(int)  # row
    became_active = Signal(object)  # this view: the user clicked or tabbed into it (the panel acts on it)

    def __init__(self, parent=None, strip_side: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasGrid")
        self.columns = 4
        self.strip_side = strip_side
        self.side = strip_side or 160
        self.model_ = CanvasTileModel(self)
        self.setModel(self.model_)
        self.setItemDelegate(CanvasTileDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.activated.connect(self._on_activated)
        if strip_side:
            self._make_strip(strip_side)
        self._fit()

    def _make_strip(self, side: int) -> None:
        """One row, scrolling sideways, tiles of a fixed side: the view is exactly one tile (and the scroll bar)
        tall, so strips stack compactly under the grid."""
        self.setWrapping(False)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setGridSize(QSize(side, side))
        extent = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        self.setFixedHeight(side + extent + 2 * self.frameWidth() + 2)

    # -- content ------------------------------------------------------------------------------------------
    def set_tiles(self, tiles: list[dict], columns: int) -> None:
        self.columns = max(1, columns)
        self.model_.set_tiles(tiles)
        self._fit()
        if tiles:
            self.setCurrentIndex(self.model_.index(0))

    def tiles(self) -> list[dict]:
        return self.model_.tiles

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def current_row(self) -> int:
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def picking(self) -> bool:
        return len(self.selectionModel().selectedIndexes()) > 1

    def select_row(self, row: int, add: bool = False) -> None:
        index = self.model_.index(row)
        flag = QItemSelectionModel.SelectionFlag
        self.selectionModel().setCurrentIndex(index, flag.Select if add else flag.ClearAndSelect)

    def toggle_row(self, row: int) -> None:
        index = self.model_.index(row)
        flag = QItemSelectionModel.SelectionFlag
        self.selectionModel().select(index, flag.Toggle)
        self.selectionModel().setCurrentIndex(index, flag.NoUpdate)
        self.viewport().update()

    # -- layout: tiles fill the view -------------------------------------------------------------------------
    def _fit(self) -> None:
        if self.strip_side:
            return
        count = len(self.model_.tiles) or self.columns**2
        rows = max(1, math.ceil(count / self.columns))
        # QListView keeps room for a vertical scroll bar while laying out (even when none shows): leave it.
        extent = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self) + 2
        width = self.viewport().width() - extent
        height = self.viewport().height() - 2
        side = max(_MIN_SIDE, min(width // self.columns, height // rows))
        if side != self.side or self.gridSize() != QSize(side, side):
            self.side = side
            self.setGridSize(QSize(side, side))
            self.doItemsLayout()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    # -- mouse: the star and the pick box act on their own; the rest selects as usual -----------------------
    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.became_active.emit(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.became_active.emit(self)  # before the star or the box acts: the panel acts on this view
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            _card, star, box = tile_rects(self.visualRect(index))
            point = event.position().toPoint()
            if star.contains(point):
                self.favourite_clicked.emit(index.row())
                event.accept()
                return
            if box.contains(point):
                self.toggle_row(index.row())
                event.accept()
                return
        super().mousePressEvent(event)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.enlarge_requested.emit(index.row())
