"""Strips under the canvas's grid: what Variations and Make walk produce, each in its own titled row.

Why strips and not the grid: a designer varies image 3 to see its neighbours, and still wants the 36 pictures
the variations came from (to vary image 7 next, or to compare). So the grid stays, and each result opens as a
strip under it — "Variations of image 3 · strength 0.30", "Walk through 4 images · 24 frames" — newest first,
each with a close button; the strips scroll when there are more than fit.

A variations strip holds a one-row :class:`CanvasGrid` (select, star, pick, enlarge, export, vary again, as on
the grid). A walk strip holds its frames (a click plays that walk in the Walk tab) and an "Export GIF…" button:
the walk is only previewed until the user exports it at the size they choose.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLayout,
    QListView,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyledItemDelegate,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui import theme
from studio.ui.widgets.canvas.grid import CanvasGrid
from studio.ui.widgets.common.elided_label import ElidedLabel

STRIP_SIDE = 88  # a strip's tile: large enough to judge a 32-64 px picture (whole pixels), small enough to stack


class FrameModel(QAbstractListModel):
    """A walk's frames as QImages (made once), with "Frame 5 of 24" as their tooltip."""

    def __init__(self, frames: list[QImage], parent=None) -> None:
        super().__init__(parent)
        self.frames = frames

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.frames)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.frames):
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self.frames[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Frame {index.row() + 1} of {len(self.frames)} · click to play this walk in the Walk tab"
        return None


class FrameDelegate(QStyledItemDelegate):
    """A frame on a small card, nearest-neighbour (no star, no pick box: a frame is not an image to keep)."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(STRIP_SIDE, STRIP_SIDE)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = option.rect.adjusted(4, 4, -4, -4)
        frame = QPainterPath()
        frame.addRoundedRect(card, 6, 6)
        painter.fillPath(frame, theme.qcolor("#FFFFFF"))
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(card.adjusted(3, 3, -3, -3), image)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.setPen(QPen(theme.qcolor("#C9CCE0" if hovered else "#E3E5EF"), 1))
        painter.drawPath(frame)
        painter.restore()


class FrameRow(QListView):
    """A walk's frames in one row that scrolls sideways; any click asks to play the walk."""

    play_requested = Signal()

    def __init__(self, frames: list[QImage], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasGrid")  # styled as the grid's rows: no frame, no backdrop
        self.model_ = FrameModel(frames, self)
        self.setModel(self.model_)
        self.setItemDelegate(FrameDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(STRIP_SIDE, STRIP_SIDE))
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        extent = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        self.setFixedHeight(STRIP_SIDE + extent + 2 * self.frameWidth() + 2)
        self.clicked.connect(self.play_requested)


class CanvasStrip(QFrame):
    """One titled row: a title (elided, the full text in its tooltip), optional actions, a close button, and
    its pictures. ``kind`` is "variations" or "walk"; ``data`` is what the panel needs to act on it later (a
    walk's recipe for its export)."""

    close_requested = Signal(object)  # this strip
    export_requested = Signal(object)  # this strip (walks)
    play_requested = Signal(object)  # this strip (walks)

    def __init__(self, kind: str, title: str, parent=None, data: dict | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")  # the studio's white card
        self.kind = kind
        self.data = dict(data or {})
        self.grid: CanvasGrid | None = None
        self.frames: FrameRow | None = None
        self.title = ElidedLabel(title, objectName="columnTitle")
        self.export_button: QPushButton | None = None
        self.close_button = QToolButton(objectName="stripClose")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close this strip (the grid and the other strips stay)")
        self.close_button.setAccessibleName("Close strip")
        self.close_button.clicked.connect(lambda: self.close_requested.emit(self))
        self.header = QHBoxLayout()
        self.header.setSpacing(6)
        self.header.addWidget(self.title, 1)
        self.header.addWidget(self.close_button)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(10, 6, 6, 8)
        self.layout_.setSpacing(4)
        self.layout_.addLayout(self.header)

    @classmethod
    def variations(cls, title: str, tiles: list[dict], tooltip: str = "") -> CanvasStrip:
        strip = cls("variations", title)
        strip.grid = CanvasGrid(strip, strip_side=STRIP_SIDE)
        strip.grid.set_tiles(tiles, len(tiles))
        strip.layout_.addWidget(strip.grid)
        if tooltip:
            strip.title.setToolTip(f"{title}\n{tooltip}")
        return strip

    @classmethod
    def walk(cls, title: str, frames: list[QImage], data: dict) -> CanvasStrip:
        strip = cls("walk", title, data=data)
        strip.export_button = QPushButton("Export GIF…", objectName="walkExport")
        strip.export_button.setToolTip("Save this walk as a looping GIF, at the size and speed you choose")
        strip.export_button.clicked.connect(lambda: strip.export_requested.emit(strip))
        strip.header.insertWidget(1, strip.export_button)
        strip.frames = FrameRow(frames, strip)
        strip.frames.play_requested.connect(lambda: strip.play_requested.emit(strip))
        strip.layout_.addWidget(strip.frames)
        return strip

    def tiles(self) -> list[dict]:
        return self.grid.tiles() if self.grid is not None else []


class StripStack(QScrollArea):
    """The strips, newest first, in a column that scrolls; hidden while there are none."""

    changed = Signal()  # a strip was added or closed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasStrips")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget(objectName="canvasStripsInner")
        self.column = QVBoxLayout(inner)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(8)
        # the column is never squeezed below its strips' height: it scrolls instead
        self.column.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.column.addStretch(1)
        self.setWidget(inner)
        self.setMinimumHeight(150)  # one strip always shows whole
        self.setVisible(False)

    def strips(self) -> list[CanvasStrip]:
        found = (self.column.itemAt(i).widget() for i in range(self.column.count()))
        return [w for w in found if isinstance(w, CanvasStrip)]

    def add(self, strip: CanvasStrip) -> None:
        self.column.insertWidget(0, strip)
        self.setVisible(True)
        self.verticalScrollBar().setValue(0)  # the new strip, at the top, in view
        self.changed.emit()

    def remove(self, strip: CanvasStrip) -> None:
        self.column.removeWidget(strip)
        strip.hide()
        strip.deleteLater()
        self.setVisible(bool(self.strips()))
        self.changed.emit()

    def clear(self) -> None:
        for strip in self.strips():
            self.column.removeWidget(strip)
            strip.hide()
            strip.deleteLater()
        self.setVisible(False)
        self.changed.emit()
