"""Near-duplicate review: each pair of pictures that look almost the same, side by side, judged by eye.

A non-modal dialog over the Dataset panel. It shows one open pair at a time (:func:`near_duplicates.pairs`):
both thumbnails as large as the dialog allows, each with its file name, size in pixels and on disk, and three
choices: **Keep left**, **Keep right**, **Keep both**. Previous / Next (or the arrow keys) step through the pairs.

Like the Health tab, the dialog only shows and asks: a choice is emitted as :attr:`DuplicateReview.choice_made`,
the panel records it in the manifest (one undoable operation, see :mod:`studio.core.datasets.near_duplicates`),
saves, and hands the manifest back through :meth:`DuplicateReview.set_manifest`, where the decided pair leaves
the list and the next one shows. Undo (the button, or Ctrl+Z while the dialog has focus, since a dialog is a
window of its own and the main window's Edit ▸ Undo does not see its keys) asks the panel to undo, and the pair
comes back.

Thumbnails load on a background thread (:class:`~studio.workers.thumbnails.ThumbnailLoader`), never here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.datasets.base import format_bytes
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.near_duplicates import BOTH, LEFT, RIGHT, Pair, pairs
from studio.ui import theme
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.workers.thumbnails import FAILED, ThumbnailLoader

THUMB_SIDE = 512  # decoded side of each thumbnail: sharp in the dialog's picture boxes, even enlarged
_CHECKER = 8  # side of a square of the checkerboard shown behind see-through pixels


def likeness(distance: int | None) -> str:
    """How alike the pair is, in words rather than bits of a perceptual hash."""
    if distance is None:
        return ""
    if distance <= 1:
        return "they look the same"
    return "they look almost the same" if distance <= 3 else "they look alike"


def checkered(image: QImage, size: QSize, smooth: bool) -> QPixmap:
    """``image`` scaled to ``size`` over a light checkerboard, so transparency kept in a picture shows as such
    (and a transparent picture never looks like an empty box)."""
    pixmap = QPixmap(size)
    pixmap.fill(theme.qcolor("#FFFFFF"))
    painter = QPainter(pixmap)
    shade = theme.qcolor("#E4E6EE")
    for y in range(0, size.height(), _CHECKER):
        for x in range((y // _CHECKER) % 2 * _CHECKER, size.width(), 2 * _CHECKER):
            painter.fillRect(x, y, _CHECKER, _CHECKER, shade)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
    painter.drawImage(pixmap.rect(), image)
    painter.end()
    return pixmap


def facts(entry: dict) -> str:
    """ "512 × 512 px · 34 KB · PNG": what tells two near-identical pictures apart at a glance."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    parts = []
    if isinstance(meta.get("width"), int) and isinstance(meta.get("height"), int):
        parts.append(f"{meta['width']} × {meta['height']} px")
    if isinstance(entry.get("size"), int):
        parts.append(format_bytes(entry["size"]))
    if isinstance(meta.get("format"), str):
        parts.append(meta["format"])
    if entry.get("label"):
        parts.append(f"class “{entry['label']}”")
    return " · ".join(parts)


class PictureSide(QFrame):
    """One side of a pair: the thumbnail, the file name (elided, full path in the tooltip) and its facts."""

    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("pairSide")
        self.caption = QLabel(caption, objectName="sectionCaption")
        self.picture = QLabel(objectName="pairPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(QSize(260, 260))
        self.picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.name = ElidedLabel(objectName="pairName")
        self.details = ElidedLabel(objectName="mutedLabel")
        self.path = ""  # the item file shown (the key of its thumbnail)
        self._image: QImage | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.name)
        layout.addWidget(self.details)

    def show_entry(self, entry: dict, path: str) -> None:
        self.path = path
        self._image = None
        self.picture.setPixmap(QPixmap())
        self.picture.setText("Loading…")
        source = str(entry.get("source", ""))
        self.name.set_full_text(Path(source).name or source)
        self.name.setToolTip(str(entry.get("origin") or source))
        self.details.set_full_text(facts(entry))

    def clear(self) -> None:
        self.path = ""
        self._image = None
        self.picture.setPixmap(QPixmap())
        self.picture.setText("")
        self.name.set_full_text("")
        self.details.set_full_text("")

    def set_image(self, image: object) -> None:
        if image is FAILED or not isinstance(image, QImage):
            self._image = None
            self.picture.setPixmap(QPixmap())
            self.picture.setText("This picture could not be read.")
            return
        self._image = image
        self._fit()

    def has_picture(self) -> bool:
        return self._image is not None and not self.picture.pixmap().isNull()

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Scale the thumbnail to fill the box: small icons are enlarged by whole pixels (crisp, so a stray pixel
        or a compression smudge shows), larger pictures smoothly."""
        if self._image is None or self._image.isNull():
            return
        box = self.picture.size()
        size = self._image.size().scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
        if size.width() >= 2 * self._image.width():
            factor = size.width() // self._image.width()
            size = QSize(self._image.width() * factor, self._image.height() * factor)
        if size.isEmpty():
            return
        self.picture.setText("")
        self.picture.setPixmap(checkered(self._image, size, smooth=size.width() < 2 * self._image.width()))


class DuplicateReview(QDialog):
    """Compare near-duplicate pairs and choose what to keep (see the module docstring)."""

    choice_made = Signal(str, str, str)  # left id, right id, LEFT / RIGHT / BOTH
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicateReview")
        self.setWindowTitle("Compare near-duplicates")
        self.manifest: Manifest | None = None
        self.pairs: list[Pair] = []
        self.index = 0
        self._editable = True
        self._loader = ThumbnailLoader(budget_mb=32, parent=self)
        self._loader.ready.connect(self._on_thumbnail)

        self.heading = QLabel(objectName="dialogHeading")
        self.hint = QLabel(
            "The right picture looks almost the same as the left one. Keep one of them, or both if they differ "
            "in a way that matters. Nothing is deleted: Undo brings back what you leave out.",
            objectName="mutedLabel",
        )
        self.hint.setWordWrap(True)
        self.left = PictureSide("LEFT · FIRST IMPORTED")
        self.right = PictureSide("RIGHT · FLAGGED AS ITS NEAR-DUPLICATE")
        sides = QHBoxLayout()
        sides.setSpacing(16)
        sides.addWidget(self.left, 1)
        sides.addWidget(self.right, 1)

        self.keep_left = QPushButton("Keep left")
        self.keep_left.setToolTip("Exclude the right picture from training (kept on disk)")
        self.keep_right = QPushButton("Keep right")
        self.keep_right.setToolTip("Exclude the left picture from training (kept on disk)")
        self.keep_both = QPushButton("Keep both")
        self.keep_both.setToolTip("They differ in a way that matters: keep both and take the flag off")
        self.keep_left.clicked.connect(self._on_keep_left)
        self.keep_right.clicked.connect(self._on_keep_right)
        self.keep_both.clicked.connect(self._on_keep_both)
        self.previous_button = QPushButton("Previous")
        self.previous_button.setToolTip("The previous pair (Left arrow)")
        self.next_button = QPushButton("Next")
        self.next_button.setToolTip("The next pair without choosing (Right arrow)")
        self.previous_button.clicked.connect(self.show_previous)
        self.next_button.clicked.connect(self.show_next)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo_requested)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)

        choices = QHBoxLayout()
        choices.setSpacing(8)
        choices.addWidget(self.previous_button)
        choices.addStretch(1)
        for button in (self.keep_left, self.keep_both, self.keep_right):
            choices.addWidget(button)
        choices.addStretch(1)
        choices.addWidget(self.next_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.undo_button)
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addLayout(sides, 1)
        layout.addLayout(choices)
        layout.addLayout(bottom)
        self.resize(820, 600)  # fits the 1280×800 window it opens over

        for key, slot in ((Qt.Key.Key_Left, self.show_previous), (Qt.Key.Key_Right, self.show_next)):
            QShortcut(key, self, activated=slot)
        QShortcut(QKeySequence.StandardKey.Undo, self, activated=self.undo_requested)

    # -- content -----------------------------------------------------------------------------------------
    def set_manifest(self, manifest: Manifest | None, entry_id: str = "", editable: bool = True) -> None:
        """Show the open pairs of ``manifest``: the one ``entry_id`` belongs to, else the pair that was shown (or,
        once it was decided, the one that took its place)."""
        shown = self.current_pair()
        self.manifest = manifest
        self.pairs = pairs(manifest) if manifest is not None else []
        target = self._index_of(entry_id) if entry_id else None
        if target is None and shown is not None:
            target = next((i for i, p in enumerate(self.pairs) if p.ids == shown.ids), None)
            if target is None:  # decided: the next pair now sits where it was
                target = min(self.index, len(self.pairs) - 1)
        self.index = max(0, target if target is not None else min(self.index, len(self.pairs) - 1))
        self._editable = editable
        self._show()

    def _index_of(self, entry_id: str) -> int | None:
        return next((i for i, p in enumerate(self.pairs) if entry_id in p.ids), None)

    def current_pair(self) -> Pair | None:
        return self.pairs[self.index] if 0 <= self.index < len(self.pairs) else None

    def _show(self) -> None:
        pair = self.current_pair()
        has_pair = pair is not None and self.manifest is not None
        for button in (self.keep_left, self.keep_right, self.keep_both):
            button.setEnabled(has_pair and self._editable)
        self.previous_button.setEnabled(has_pair and self.index > 0)
        self.next_button.setEnabled(has_pair and self.index < len(self.pairs) - 1)
        history = self.manifest.history if self.manifest is not None else []
        self.undo_button.setEnabled(bool(history) and self._editable)
        self.undo_button.setToolTip(f"Undo “{history[-1]['action']}”" if history else "Nothing to undo")
        if not has_pair:
            self.heading.setText("No near-duplicate pairs left to review")
            self.left.clear()
            self.right.clear()
            return
        assert pair is not None and self.manifest is not None
        alike = likeness(pair.distance)
        self.heading.setText(
            f"Pair {words.number(self.index + 1)} of {words.number(len(self.pairs))}" + (f": {alike}" if alike else "")
        )
        for side, entry in ((self.left, pair.left), (self.right, pair.right)):
            path = self.manifest.paths().resolve(entry.get("item"))
            side.show_entry(entry, str(path) if path is not None else "")
            if path is None:
                side.set_image(FAILED)
                continue
            image = self._loader.get((str(path), THUMB_SIDE), (str(path), THUMB_SIDE))
            if image is not None:
                side.set_image(image)

    @Slot(object, object)
    def _on_thumbnail(self, key, image) -> None:
        path, _side = key
        for side in (self.left, self.right):
            if side.path == path:
                side.set_image(image)

    def thumbnails_ready(self) -> bool:
        """Both pictures of the shown pair are on screen (for tests and screenshots)."""
        return self.current_pair() is not None and self.left.has_picture() and self.right.has_picture()

    # -- navigation and choices ------------------------------------------------------------------------------
    @Slot()
    def show_previous(self) -> None:
        if self.index > 0:
            self.index -= 1
            self._show()

    @Slot()
    def show_next(self) -> None:
        if self.index < len(self.pairs) - 1:
            self.index += 1
            self._show()

    def _choose(self, choice: str) -> None:
        pair = self.current_pair()
        if pair is not None and self._editable:
            self.choice_made.emit(*pair.ids, choice)

    @Slot()
    def _on_keep_left(self) -> None:
        self._choose(LEFT)

    @Slot()
    def _on_keep_right(self) -> None:
        self._choose(RIGHT)

    @Slot()
    def _on_keep_both(self) -> None:
        self._choose(BOTH)

    def closeEvent(self, event) -> None:  # Qt's name
        self._loader.clear()
        super().closeEvent(event)
