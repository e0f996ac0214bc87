"""The seed box's parts shared by the canvas and the writer: the largest seed a box can hold and the dice icon
of its "new random seed" button, so both creation panels offer the same seed the same way.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPen, QPixmap

from studio.ui import theme

MAX_SEED = 2**31 - 1  # a QSpinBox holds a 32-bit int: the largest seed a seed box can show
# Qt sizes a spin box for its largest value (10 digits: 152 px), which made the settings columns too wide for a
# 1280 × 800 window; seeds people type are short, and a long one still scrolls inside the box
SEED_BOX_MIN_WIDTH = 104


def fit_seed_box(box) -> None:
    """A seed spin box's range (0 … MAX_SEED) and a minimum width that does not follow its 10-digit maximum."""
    box.setRange(0, MAX_SEED)
    box.setMinimumWidth(SEED_BOX_MIN_WIDTH)


def dice_icon(size: int = 18) -> QIcon:
    """A die showing five, drawn here so it looks the same on every platform (no emoji font needed)."""
    pixmap = QPixmap(QSize(size, size) * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(theme.qcolor("#4A4AC4"), 1.4))
    painter.setBrush(theme.qcolor("#ECECFC"))
    painter.drawRoundedRect(QRectF(1.5, 1.5, size - 3, size - 3), 4, 4)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.qcolor("#4A4AC4"))
    for x, y in ((0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.7, 0.7)):
        painter.drawEllipse(QPointF(x * size, y * size), 1.6, 1.6)
    painter.end()
    return QIcon(pixmap)
