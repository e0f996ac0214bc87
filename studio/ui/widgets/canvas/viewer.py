"""Seeing one image closely: the picture view, the details pane (settings, favourite, variations, export), the
enlarged view that takes the grid's place, and the side-by-side comparison ("Open PNG…", VAE reconstructions).

Pictures are scaled with nearest-neighbour sampling, to whole multiples of their size when they fit (a 64-pixel
image shown at 5× has square, even pixels), so what a designer judges is what the model made.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.ui import theme
from studio.ui.widgets.canvas.grid import describe_settings, last_variation
from studio.ui.widgets.common.inputs import ComboBox, Slider

SCALES = (1, 2, 4, 8)


def export_size_text(factor: int, width: int = 0, height: int = 0) -> str:
    """An export size as the file will have it: ``128 × 128 px (×4)``, ``32 × 32 px (native)``; the bare
    factor only while no picture says how large the model's pictures are."""
    if width <= 0 or height <= 0:
        return "Native size" if factor == 1 else f"Upscaled ×{factor}"
    return f"{width * factor} × {height * factor} px ({'native' if factor == 1 else f'×{factor}'})"


def to_qimage(pixels: np.ndarray) -> QImage:
    """uint8 (R, R, 3) → a QImage that owns its pixels (a copy: the array may go away)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def fit_rect(image_size: QSize, area: QRect) -> QRect:
    """Where to draw: the largest whole multiple that fits (or a fraction below 1×), centred in ``area``."""
    if image_size.isEmpty() or area.isEmpty():
        return QRect()
    factor = min(area.width() / image_size.width(), area.height() / image_size.height())
    if factor >= 1:
        factor = int(factor)
    size = QSize(max(1, int(image_size.width() * factor)), max(1, int(image_size.height() * factor)))
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(area.center())
    return rect


class ImageView(QWidget):
    """A picture drawn as large as fits, nearest-neighbour, on a soft checkered backdrop; or a hint when empty."""

    def __init__(self, hint: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasImageView")
        self.image: QImage | None = None
        self.hint = hint
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def drawn_rect(self) -> QRect:
        return fit_rect(self.image.size(), self.rect().adjusted(8, 8, -8, -8)) if self.image else QRect()

    def scale(self) -> float:
        rect = self.drawn_rect()
        return rect.width() / self.image.width() if self.image is not None and rect.width() else 0.0

    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.qcolor("#E3E5EF"), 1))
        painter.setBrush(theme.qcolor("#F1F2F9"))
        painter.drawRoundedRect(self.rect().adjusted(0, 0, -1, -1), 8, 8)
        if self.image is None or self.image.isNull():
            painter.setPen(theme.qcolor("#8A8FAD"))
            painter.drawText(
                self.rect().adjusted(16, 16, -16, -16),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.hint,
            )
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.drawn_rect(), self.image)


def _value_label() -> QLabel:
    """A fact's value; it wraps in the narrow column ("Dec 06, 10:43 · Image GAN for small sets · step 1,500")."""
    label = QLabel(objectName="valueText")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class DetailsPane(QWidget):
    """The selected image, what made it, and what to do with it: favourite, variations, export."""

    favourite_toggled = Signal()
    variations_requested = Signal()
    export_requested = Signal()
    enlarge_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.view = ImageView("Select an image in the grid to see it large, with the settings that made it.")
        self.view.setMinimumSize(150, 150)
        self.enlarge_button = QPushButton("Enlarge", objectName="canvasEnlarge")
        self.enlarge_button.setToolTip("Enlarge (Enter); Esc goes back to the grid")
        self.enlarge_button.clicked.connect(self.enlarge_requested)
        self.star_button = QPushButton("☆  Favourite", objectName="canvasStar")
        self.star_button.setCheckable(True)
        self.star_button.setToolTip("Star this image (Space). The Favourites filter shows every starred image.")
        self.star_button.clicked.connect(self.favourite_toggled)
        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(12)
        self.facts.setVerticalSpacing(4)
        self.values: dict[str, QLabel] = {}
        for row, (key, label) in enumerate(
            (
                ("model", "Model"),
                ("seed", "Seed"),
                ("index", "Image"),
                ("truncation", "Truncation"),
                ("class", "Class"),
                ("variation", "Variation"),
            )
        ):
            caption = QLabel(label, objectName="mutedLabel")
            value = _value_label()
            self.facts.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.facts.addWidget(value, row, 1)
            self.values[key] = value
            self.values[key + "_caption"] = caption
        self.facts.setColumnStretch(1, 1)

        self.strength = Slider(Qt.Orientation.Horizontal, objectName="variationStrength")
        self.strength.setRange(5, 100)
        self.strength.setValue(30)
        self.strength.setToolTip(
            "How far variations may wander from this image: low keeps them close, high makes them differ more"
        )
        self.strength_value = QLabel("0.30", objectName="valueText")
        self.strength_value.setFixedWidth(34)
        self.strength.valueChanged.connect(lambda v: self.strength_value.setText(f"{v / 100:.2f}"))
        self.variations_button = QPushButton("Variations", objectName="variationsButton")
        self.variations_button.setToolTip("Open images near this one (its latent, nudged) in a strip under the grid")
        self.variations_button.clicked.connect(self.variations_requested)

        self.scale = ComboBox(objectName="exportScale")
        for factor in SCALES:
            self.scale.addItem(export_size_text(factor), factor)
        self.scale.setToolTip("Export at the model's own size or enlarged a whole number of times")
        self.picture_size = (0, 0)
        self.resample = ComboBox(objectName="exportResample")
        self.resample.addItem("Nearest (crisp pixels)", "nearest")
        self.resample.addItem("Lanczos (smooth)", "lanczos")
        self.resample.setToolTip("How an upscaled export is enlarged")
        self.scale.currentIndexChanged.connect(self._on_scale)
        self.export_button = QPushButton("Export PNG…", objectName="canvasExport")
        self.export_button.setToolTip("Save the picked images as PNG files with their settings inside (Ctrl+E)")
        self.export_button.clicked.connect(self.export_requested)

        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.star_button)
        top.addStretch(1)
        top.addWidget(self.enlarge_button)
        variation_row = QHBoxLayout()
        variation_row.setSpacing(8)
        variation_row.addWidget(QLabel("Strength"))
        variation_row.addWidget(self.strength, 1)
        variation_row.addWidget(self.strength_value)
        export_grid = QGridLayout()
        export_grid.setHorizontalSpacing(10)
        export_grid.setVerticalSpacing(8)
        export_grid.addWidget(QLabel("Size"), 0, 0)
        export_grid.addWidget(self.scale, 0, 1)
        export_grid.addWidget(QLabel("Scaling"), 1, 0)
        export_grid.addWidget(self.resample, 1, 1)
        export_grid.setColumnStretch(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.view, 1)
        layout.addLayout(top)
        layout.addLayout(self.facts)
        layout.addSpacing(6)
        layout.addWidget(QLabel("VARIATIONS", objectName="sectionCaption"))
        layout.addLayout(variation_row)
        layout.addWidget(self.variations_button)
        layout.addSpacing(6)
        layout.addWidget(QLabel("EXPORT", objectName="sectionCaption"))
        layout.addLayout(export_grid)
        layout.addWidget(self.export_button)
        self._on_scale()
        self.show_tile(None, "", False)

    def show_tile(self, tile: dict | None, model_title: str, favourite: bool) -> None:
        self.view.set_image(tile["image"] if tile else None)
        settings = (tile or {}).get("settings", {})
        variation = last_variation(settings)
        texts = {
            "model": f"{model_title} · step {int(settings.get('step') or 0):,}" if tile else "—",
            "seed": str(settings.get("seed", "—")),
            "index": f"{int(settings['latent_index']) + 1}" if "latent_index" in settings else "—",
            "truncation": f"{float(settings['truncation']):.2f}" if settings.get("truncation") is not None else "—",
            "class": str(settings.get("class") or ""),
            "variation": (
                f"{int(variation['index']) + 1} · seed {variation['seed']} · strength "
                f"{float(variation['strength']):.2f}"
            )
            if variation
            else "",
        }
        for key, text in texts.items():
            self.values[key].setText(text)
        for key in ("class", "variation"):
            self.values[key].setVisible(bool(texts[key]))
            self.values[key + "_caption"].setVisible(bool(texts[key]))
        self.set_favourite(favourite)
        self.star_button.setEnabled(tile is not None)
        self.enlarge_button.setEnabled(tile is not None)
        self.view.setToolTip(describe_settings(settings) if tile else "")

    def set_favourite(self, on: bool) -> None:
        self.star_button.setChecked(on)
        self.star_button.setText("★  Favourite" if on else "☆  Favourite")

    def set_picture_size(self, width: int, height: int) -> None:
        """Name the export sizes in pixels for pictures of ``width`` × ``height`` (the model's own size)."""
        if (width, height) == self.picture_size:
            return
        self.picture_size = (width, height)
        for i in range(self.scale.count()):
            self.scale.setItemText(i, export_size_text(int(self.scale.itemData(i)), width, height))

    def export_options(self) -> tuple[int, str]:
        return int(self.scale.currentData()), str(self.resample.currentData())

    def set_export_options(self, scale, resample) -> None:
        index = self.scale.findData(int(scale)) if str(scale).isdigit() else -1
        if index >= 0:
            self.scale.setCurrentIndex(index)
        index = self.resample.findData(resample)
        if index >= 0:
            self.resample.setCurrentIndex(index)

    @Slot()
    def _on_scale(self, *_args) -> None:
        upscaled = int(self.scale.currentData()) > 1
        self.resample.setEnabled(upscaled)
        self.resample.setToolTip(
            "How an upscaled export is enlarged"
            if upscaled
            else "Pick an upscaled size first: a native-size export is not resampled"
        )


class EnlargedView(QFrame):
    """The grid's place taken by one image, as large as fits, with its settings under it. Esc goes back."""

    back_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasEnlarged")
        self.view = ImageView()
        self.caption = QLabel(objectName="canvasCaption")
        self.caption.setWordWrap(True)
        self.back_button = QPushButton("Back to the grid", objectName="canvasBack")
        self.back_button.setToolTip("Back to the grid (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        bottom = QHBoxLayout()
        bottom.addWidget(self.caption, 1)
        bottom.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

    def show_tile(self, tile: dict, model_title: str) -> None:
        self.view.set_image(tile["image"])
        settings = tile["settings"]
        self.caption.setText(f"{model_title} · step {int(settings.get('step') or 0):,} · {describe_settings(settings)}")

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.back_requested.emit()
            return
        super().keyPressEvent(event)


class ComparePane(QWidget):
    """Two pictures side by side with captions and a verdict: "Open PNG…" and the VAE's reconstructions."""

    use_requested = Signal()  # "Use these settings": the PNG's model, seed and settings go to the controls

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.use_button = QPushButton("Use these settings", objectName="useSettings")
        self.use_button.setToolTip(
            "Pick this picture's model and checkpoint, seed, truncation and class, and "
            "generate its grid with the picture selected"
        )
        self.use_button.clicked.connect(self.use_requested)
        self.title = QLabel("Nothing to compare yet", objectName="paneTitle")
        self.title.setWordWrap(True)
        self.left = ImageView()
        self.right = ImageView()
        self.left_caption = QLabel(objectName="mutedLabel", alignment=Qt.AlignmentFlag.AlignCenter)
        self.right_caption = QLabel(objectName="mutedLabel", alignment=Qt.AlignmentFlag.AlignCenter)
        self.verdict = QLabel(objectName="canvasVerdict")
        self.verdict.setWordWrap(True)
        self.details = QLabel(objectName="mutedLabel")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help = QLabel(
            "“Open PNG…” reads the settings inside a picture the studio exported and makes it "
            "again "
            "here, side by side. With a VAE model, drop a picture on the panel (or “Open image…”) "
            "to see how the model rebuilds it; drop two to morph between them.",
            objectName="mutedLabel",
        )
        self.help.setWordWrap(True)
        pair = QGridLayout()
        pair.setHorizontalSpacing(10)
        pair.setVerticalSpacing(4)
        pair.addWidget(self.left, 0, 0)
        pair.addWidget(self.right, 0, 1)
        pair.addWidget(self.left_caption, 1, 0)
        pair.addWidget(self.right_caption, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(8)
        for view in (self.left, self.right):
            view.setMaximumHeight(240)  # two squares side by side, not two tall strips
        layout.addWidget(self.title)
        layout.addLayout(pair)
        layout.addWidget(self.verdict)
        layout.addWidget(self.details)
        layout.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.help)
        layout.addStretch(1)
        self.clear()

    def clear(self) -> None:
        self.left.set_image(None)
        self.right.set_image(None)
        self.left_caption.setText("")
        self.right_caption.setText("")
        self.verdict.setText("")
        self.verdict.setVisible(False)
        self.details.setVisible(False)
        self.use_button.setVisible(False)
        self.help.setVisible(True)

    def show_pair(
        self,
        title: str,
        left: QImage,
        left_caption: str,
        right: QImage,
        right_caption: str,
        verdict: str = "",
        tone: str = "",
        details: str = "",
        usable: bool = False,
    ) -> None:
        self.title.setText(title)
        self.left.set_image(left)
        self.right.set_image(right)
        self.left_caption.setText(left_caption)
        self.right_caption.setText(right_caption)
        self.verdict.setText(verdict)
        self.verdict.setProperty("tone", tone)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
        self.verdict.setVisible(bool(verdict))
        self.details.setText(details)
        self.details.setVisible(bool(details))
        self.use_button.setVisible(usable)
        self.help.setVisible(False)
