"""Live preview of the training augmentations on pictures from the dataset.

A GAN trained on a few hundred pictures memorizes them; DiffAugment-style augmentation (flip, translation,
colour, cutout) is what keeps it honest, and seeing eight augmented samples makes the choice concrete.

The preview needs torch (``studio.core.datasets.augment``), which the window never imports at start-up, so
it is computed on a background thread, and only while this tab is visible. Nothing is decoded until then.
"""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.datasets.image_cache import load_square
from studio.ui.widgets.common.inputs import SpinBox
from studio.workers.thumbnails import FAILED, BackgroundLoader

SAMPLES = 8
SIDE = 128  # pixels of each preview picture
OPS = (
    ("flip", "Flip", "Mirror left–right, half of the time"),
    ("translation", "Translation", "Shift by up to 1/8 of the picture; the border becomes grey"),
    ("color", "Colour", "Jitter brightness, saturation and contrast"),
    ("cutout", "Cutout", "Grey out a square of half the picture's size"),
)


def make_preview(payload: tuple[tuple[str, ...], str, int, int, tuple[int, int, int]]):
    """Runs on a pool thread: decode the samples (cropped and placed on the dataset's background exactly as the
    training cache does) and augment them. Returns uint8 (SAMPLES, side, side, 3)."""

    from studio.core.datasets.augment import preview_grid  # imports torch: on the pool thread, not at panel start

    paths, policy, seed, side, background = payload
    pictures = np.stack([load_square(p, side, "crop", background) for p in paths])
    return np.ascontiguousarray(preview_grid(pictures, policy, seed, SAMPLES))


def to_qimage(pixels) -> QImage:
    height, width = pixels.shape[:2]
    return QImage(pixels.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class AugmentPreview(QWidget):
    preview_ready = Signal()
    policy_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.paths: list[str] = []
        self.background: tuple[int, ...] = (255, 255, 255)
        self._loader: BackgroundLoader | None = None
        self._wanted = None  # the key the tiles should show
        self._dirty = True
        self.checks: dict[str, QCheckBox] = {}
        options = QHBoxLayout()
        options.setSpacing(16)
        for name, label, tip in OPS:
            box = QCheckBox(label)
            box.setToolTip(tip)
            box.setChecked(True)
            box.toggled.connect(self._on_option)
            self.checks[name] = box
            options.addWidget(box)
        options.addSpacing(12)
        options.addWidget(QLabel("Seed"))
        self.seed = SpinBox()
        self.seed.setRange(0, 999_999)
        self.seed.setAccelerated(True)
        self.seed.valueChanged.connect(self._on_option)
        self.seed.lineEdit().setAcceptDrops(False)
        options.addWidget(self.seed)
        self.shuffle = QPushButton("New samples")
        self.shuffle.setToolTip("Pick other pictures and other random augmentations")
        self.shuffle.clicked.connect(self._on_shuffle)
        options.addWidget(self.shuffle)
        options.addStretch(1)

        explain = QLabel(
            "Training shows the model each picture changed at random, so a small dataset goes "
            "further. These are eight samples as the model will see them.",
            objectName="mutedLabel",
        )
        explain.setWordWrap(True)
        self.status = QLabel(objectName="mutedLabel")
        self.status.setWordWrap(True)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.tiles: list[QLabel] = []
        for i in range(SAMPLES):
            tile = QLabel(objectName="augmentTile", alignment=Qt.AlignmentFlag.AlignCenter)
            tile.setFixedSize(QSize(SIDE + 8, SIDE + 8))
            self.tiles.append(tile)
            grid.addWidget(tile, i // 4, i % 4)
        grid_row = QHBoxLayout()
        grid_row.addLayout(grid)
        grid_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 14, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(explain)
        layout.addLayout(options)
        layout.addSpacing(4)
        layout.addLayout(grid_row)
        layout.addWidget(self.status)
        layout.addStretch(1)

    # -- public ------------------------------------------------------------------------------------------
    def policy(self) -> str:
        return ",".join(name for name, box in self.checks.items() if box.isChecked())

    def set_policy(self, policy: str) -> None:
        chosen = {p.strip() for p in policy.split(",")}
        for name, box in self.checks.items():
            box.blockSignals(True)
            box.setChecked(name in chosen)
            box.blockSignals(False)
        self._refresh()

    def set_images(self, paths: list[str], background: tuple[int, int, int] = (255, 255, 255)) -> None:
        """The dataset's usable pictures, and the colour its kept transparency is placed on for training."""
        self.paths = list(paths)
        self.background = tuple(background)
        self._dirty = True
        self._refresh()

    def shown_images(self) -> int:
        return sum(1 for tile in self.tiles if tile.pixmap() is not None and not tile.pixmap().isNull())

    # -- internals -----------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._refresh()

    @Slot()
    def _on_option(self) -> None:
        self._dirty = True
        self.policy_changed.emit(self.policy())
        self._refresh()

    @Slot()
    def _on_shuffle(self) -> None:
        self.seed.setValue(random.randrange(1_000_000))

    def _sample(self) -> tuple[str, ...]:
        if len(self.paths) <= SAMPLES:
            return tuple(self.paths)
        return tuple(random.Random(self.seed.value()).sample(self.paths, SAMPLES))

    def _refresh(self) -> None:
        if not self.isVisible():
            return  # computed when the tab is shown: torch is not imported for nothing
        self._dirty = False
        if not self.paths:
            self._clear_tiles()
            self._set_message("There are no usable pictures in this dataset to preview.")
            return
        key = (self._sample(), self.policy(), self.seed.value(), SIDE, self.background)
        self._wanted = key
        if self._loader is None:
            self._loader = BackgroundLoader(
                make_preview, threads=1, max_queue=1, budget=24, python_threads=True, parent=self
            )
            self._loader.ready.connect(self._on_ready)
        result = self._loader.get(key, key)
        if result is None:
            self._set_message("Preparing the preview…")
        else:
            self._show(key, result)

    @Slot(object, object)
    def _on_ready(self, key, result) -> None:
        if key == self._wanted:
            self._show(key, result)

    def _show(self, key, result) -> None:
        if result is FAILED:
            error = self._loader.errors.get(key, "") if self._loader else ""
            self._clear_tiles()
            self._set_message(f"The preview could not be made: {error}")
            return
        for tile, pixels in zip(self.tiles, result, strict=False):  # a dataset of < SAMPLES pictures fills fewer tiles
            tile.setPixmap(QPixmap.fromImage(to_qimage(pixels)))
        chosen = key[1].split(",")
        names = [label.lower() for name, label, _tip in OPS if name in chosen]
        self._set_message(
            f"Augmentations: {', '.join(names)}. Same seed, same samples."
            if names
            else "No augmentation: the model sees the pictures as they are."
        )
        self.preview_ready.emit()

    def _clear_tiles(self) -> None:
        for tile in self.tiles:
            tile.clear()

    def _set_message(self, text: str) -> None:
        self.status.setText(text)
