"""The Image canvas's attribute sliders: the latent numbers of a sparse VAE that mean something, each with a slider
and a strip of pictures showing what moving it does, and the picture being edited, large.

What the user does (the canvas shows this pane where the grid would be while its *Attributes* button is on):

* **The sliders** — the model's most-used latent numbers (:class:`~studio.core.generation.attributes.
  AttributeDims`: most-used first, each with the range its pictures give it), above them how sparse the code is
  ("6 of 64 dimensions active on average") and, when the dataset's pictures were not there to study, why the
  order is the model's own.
* **What each does** — under each slider a strip of pictures: the picture being edited with that one number moved
  across the slider's range (:class:`~studio.core.generation.attributes.AttributeStrips`). The strip lies under
  the slider's track, so the picture under the handle is roughly what that position gives; the nearest is framed.
* **The picture to edit** — the grid picture selected when the pane opened (its exact latent, made again from its
  settings), a picture dropped on the panel or chosen with *Open picture…* (encoded by the VAE), or, with
  neither, the dataset's most typical picture. Each slider starts where that picture's code has it.
* **Editing** — dragging a slider draws the picture again with the numbers moved so far (only those: the others
  stay exactly as the picture had them), :data:`DEBOUNCE_MS` after the last move, in a job slot of its own, so
  only the newest position's picture ever shows. *Reset* puts every slider back. *Export PNG…* saves the edited
  picture with its settings (the model, the picture it came from, the slider values).

Which models offer sliders: those whose family trains a sparse code — the family table's defaults hold the
expected share of active numbers (:data:`SPARSITY_SETTING`), so nothing here names a family; the sliders' job then
confirms it with the loaded network (``has_sparse_code``: its result's ``"sparse"``) and says so when it is not.

The jobs are the core's, under the canvas's titles, made by :class:`AttributeJobs` (tests may replace it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.core.generation.attributes import AttributeDims, AttributeStrips, EditAttributes
from studio.core.generation.image_jobs import ExportImages
from studio.core.jobs import JobContext
from studio.core.training import families
from studio.core.training.devices import threads_beside_a_window, torch_threads
from studio.ui import theme
from studio.ui.backends.canvas import CoreJob
from studio.ui.icons import icon
from studio.ui.widgets.canvas.viewer import ImageView, to_qimage
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.inputs import Slider

SPARSITY_SETTING = "prior_active"  # a family setting only families with a sparse code have (the prior's share)
SLIDERS = 8  # sliders offered: enough to find the few that matter, few enough to read at once
STRIP_STEPS = 7  # pictures per strip
SLIDER_STEPS = 1000  # a slider's positions across its range
DEBOUNCE_MS = 100  # after the last move of a slider, the picture is drawn again
STRIP_HEIGHT = 52
VIEW_SIDE = 176  # px: the edited picture (a 32 px picture at 5×, whole pixels, with the view's margin)


def offers_sliders(info: dict | None) -> bool:
    """Whether the model list entry ``info`` is a model whose family trains a sparse code (see the module
    docstring), with a checkpoint to draw with."""
    if not info or not info.get("steps"):
        return False
    spec = families.find(info.get("kind"))
    return spec is not None and SPARSITY_SETTING in spec.defaults


def toggle_style_sheet() -> str:
    """The Attributes button's look while on (the grid-size buttons' checked colours, in the current theme): a
    mode button must say which mode is on."""
    c = theme.colour
    return (
        f"QPushButton:checked {{ background: {c('#ECECFC')}; border: 1px solid {c('#5B5BD6')}; "
        f"color: {c('#3C3CB0')}; }}"
    )


def value_at(position: int, low: float, high: float) -> float:
    """A slider position (0 … :data:`SLIDER_STEPS`) as a code value."""
    return low + (high - low) * position / SLIDER_STEPS


def position_of(value: float, low: float, high: float) -> int:
    """A code value as the nearest slider position (clipped into the range)."""
    if high <= low:
        return 0
    return int(round(np.clip((value - low) / (high - low), 0.0, 1.0) * SLIDER_STEPS))


# -- jobs -------------------------------------------------------------------------------------------------------------
class PictureBase:
    """Job: everything a picture to edit needs — its latent (a grid picture's made again from its settings, a
    file encoded, or a latent as it is), the picture itself, its code, and the strips of every slider drawn on it.

    Returns {"latent", "image", "code", "sparsity", "strips": {number: uint8 (steps, R, R, 3)}, "values"}."""

    kind = "generate"
    title = "Drawing what each slider does"

    def __init__(self, folder, step, base: Any, ranges: dict, class_name, device: str) -> None:
        self.folder, self.step, self.base, self.ranges = folder, step, base, dict(ranges)
        self.class_name, self.device = class_name, device

    def __call__(self, ctx: JobContext) -> dict:
        with torch_threads(threads_beside_a_window()):  # a core stays with the window
            base = self._latent(ctx) if isinstance(self.base, dict) else self.base
            strips = AttributeStrips(
                self.folder,
                self.step,
                dims=list(self.ranges),
                steps=STRIP_STEPS,
                base=base,
                device=self.device,
                ranges=self.ranges,
                class_name=self.class_name,
            )(ctx)
            latent = np.asarray(strips["base_latent"], np.float32)
            made = EditAttributes(self.folder, self.step, latent, {}, self.device, self.class_name)(ctx)
        return {
            "latent": latent,
            "image": made["image"],
            "code": made["code"],
            "sparsity": made["sparsity"],
            "strips": strips["strips"],
            "values": strips["values"],
        }

    def _latent(self, ctx: JobContext) -> np.ndarray:
        """A grid picture's latent as the grid drew it: its settings' latent, times its truncation."""
        from studio.core.generation.image_model import cached_model
        from studio.core.generation.png_settings import point_latent

        ctx.progress(0.0, "Loading the model…")
        model = cached_model(self.folder, self.step, self.device)
        settings = self.base["settings"]
        return point_latent(model, settings) * np.float32(settings.get("truncation", 1.0))


class AttributeJobs:
    """The jobs the pane starts (the core's, under the canvas's titles)."""

    device = "cpu"

    def dims(self, folder: str, step: int | None, class_name: str | None):
        """Job → AttributeDims' result: {"dims": [{"index", "usage", "effect", "range"}], "sparsity", "note", ...}."""
        job = AttributeDims(folder, step, self.device, count=SLIDERS, class_name=class_name)
        return CoreJob("Finding the attribute sliders", job)

    def base(self, folder: str, step: int | None, base: Any, ranges: dict, class_name: str | None):
        """Job → :class:`PictureBase`'s result for ``base`` ({"settings": a grid picture's}, a Path, a latent)."""
        return PictureBase(folder, step, base, ranges, class_name, self.device)

    def edit(self, folder: str, step: int | None, latent: np.ndarray, values: dict, class_name: str | None):
        """Job → EditAttributes' result: {"image", "latent", "code", "sparsity", ...}."""
        job = EditAttributes(folder, step, latent, values, self.device, class_name)
        return CoreJob("Editing with sliders", job)

    def export(self, image: np.ndarray, settings: dict, folder: Path, name: str):
        """Job → the PNG path written (settings embedded)."""
        job = ExportImages([image], [settings], folder, names=[name])
        return CoreJob("Exporting the edited picture", job, lambda r: list(r["files"]))


# -- one slider -------------------------------------------------------------------------------------------------------
class StripView(QWidget):
    """A slider's strip: its pictures side by side, nearest-neighbour, the one nearest the handle framed."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.images: list[QImage] = []
        self.values: list[float] = []
        self.current: float | None = None
        self.setMinimumHeight(STRIP_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(STRIP_STEPS * STRIP_HEIGHT, STRIP_HEIGHT)

    def set_pictures(self, pictures: np.ndarray | None, values: list[float]) -> None:
        self.images = [to_qimage(p) for p in pictures] if pictures is not None else []
        self.values = list(values)
        self.setToolTip(
            "What moving this slider does to the picture, from one end of its range to the other" if self.images else ""
        )
        self.update()

    def set_current(self, value: float | None) -> None:
        self.current = value
        self.update()

    def cells(self) -> list[QRect]:
        """Where each picture is drawn: equal squares spread across the width."""
        count = max(1, len(self.images) or STRIP_STEPS)
        side = min(self.height(), self.width() // count)
        gap = (self.width() - side * count) / max(1, count - 1) if count > 1 else 0
        top = (self.height() - side) // 2
        return [QRect(int(i * (side + gap)), top, side, side) for i in range(count)]

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        cells = self.cells()
        if not self.images:
            painter.setPen(QPen(theme.qcolor("#E3E5EF"), 1))
            painter.setBrush(theme.qcolor("#F1F2F9"))
            for cell in cells:
                painter.drawRoundedRect(cell.adjusted(1, 1, -1, -1), 4, 4)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for image, cell in zip(self.images, cells, strict=False):
            painter.drawImage(cell.adjusted(1, 1, -1, -1), image)
        if self.current is not None and self.values:
            nearest = int(np.argmin([abs(v - self.current) for v in self.values]))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(theme.qcolor("#5B5BD6"), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(cells[nearest].adjusted(1, 1, -1, -1), 3, 3)


class DimRow(QFrame):
    """One latent number: its name and how much it is used, a slider over its range, its strip under the slider."""

    moved = Signal(int)  # the number (dimension index) whose slider the user moved

    def __init__(self, order: int, dim: dict, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.index = int(dim["index"])
        self.low, self.high = (float(v) for v in dim["range"])
        self.base_value = 0.0
        title = QLabel(f"Slider {order}", objectName="valueText")
        usage = float(dim.get("usage", 0.0))
        effect = float(dim.get("effect", 0.0))
        facts = ElidedLabel(objectName="mutedLabel")
        facts.set_full_text(f"number {self.index} · in {usage:.0%} of pictures · changes {effect:.0%}")
        title.setToolTip(
            f"Latent number {self.index}: active in {usage:.0%} of the pictures studied; moving it from one end of "
            f"its range to the other changes a picture's pixels by {effect:.0%} on average"
        )
        self.value_label = QLabel(objectName="valueText")
        self.value_label.setFixedWidth(self.value_label.fontMetrics().horizontalAdvance("−00.00") + 6)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.slider = Slider(Qt.Orientation.Horizontal, objectName="attributeSlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip(
            f"Latent number {self.index}, from {self.low:.2f} to {self.high:.2f} (0 is “off”); the picture is drawn "
            "again as you drag"
        )
        self.slider.valueChanged.connect(self._on_value)
        self.strip = StripView()
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(title)
        top.addWidget(facts, 1)
        slider_row = QHBoxLayout()
        slider_row.setSpacing(8)
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.value_label)
        strip_row = QHBoxLayout()  # the strip under the slider's track (not under the value)
        strip_row.setSpacing(8)
        strip_row.addWidget(self.strip, 1)
        strip_row.addSpacing(self.value_label.width())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(slider_row)
        layout.addLayout(strip_row)
        self.set_value(0.0)

    def value(self) -> float:
        return value_at(self.slider.value(), self.low, self.high)

    def set_value(self, value: float) -> None:
        """Put the handle at ``value`` without it counting as the user's move."""
        self.slider.blockSignals(True)
        self.slider.setValue(position_of(value, self.low, self.high))
        self.slider.blockSignals(False)
        self._show(value)

    def set_base(self, value: float) -> None:
        """The picture being edited has ``value`` here: where the handle starts and Reset returns to."""
        self.base_value = float(value)
        self.set_value(self.base_value)

    def _show(self, value: float) -> None:
        self.value_label.setText(f"{value:+.2f}".replace("-", "−"))
        self.strip.set_current(value)

    @Slot(int)
    def _on_value(self, _position: int) -> None:
        self._show(self.value())
        self.moved.emit(self.index)


# -- the pane ---------------------------------------------------------------------------------------------------------
class AttributesPane(QWidget):
    """The canvas's centre while *Attributes* is on (see the module docstring)."""

    ready = Signal(int)  # sliders with their strips are shown for a picture (how many sliders)
    edited = Signal(dict)  # an edited picture arrived: EditAttributes' result
    exported = Signal(list)  # PNG paths written
    message = Signal(str, str)  # text, tone: the panel's banner says it

    def __init__(self, job_slot: Callable[[], Any], parent=None) -> None:
        super().__init__(parent)
        self.jobs: Any = AttributeJobs()
        self.dims_slot = job_slot()
        self.base_slot = job_slot()
        self.edit_slot = job_slot()
        self.export_slot = job_slot()
        self.folder: str | None = None
        self.step: int | None = None
        self.run_id = ""
        self.class_name: str | None = None
        self.project_root: Path | None = None
        self.dims: dict = {}  # AttributeDims' result for the model ({} until found)
        self.rows: list[DimRow] = []
        self.base: Any = None  # what is edited: {"settings": …} (a grid picture), a Path, or a latent
        self.base_title = ""
        self.base_settings: dict = {}  # what the export records about the base
        self.picture: dict = {}  # PictureBase's result for the base
        self.image: np.ndarray | None = None  # the picture shown (edited or the base itself)
        self.moved: set[int] = set()  # sliders the user moved since the base was set (or Reset)
        self.timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.timer.timeout.connect(self.edit)

        self.sparsity = QLabel(objectName="valueText")
        self.sparsity.setWordWrap(True)
        self.note = QLabel(objectName="mutedLabel")
        self.note.setWordWrap(True)
        self.note.hide()
        self.status = ElidedLabel(objectName="mutedLabel")
        self.list_box = QWidget()
        self.list_layout = QVBoxLayout(self.list_box)
        self.list_layout.setContentsMargins(0, 0, 6, 0)
        self.list_layout.setSpacing(8)
        self.list_layout.addStretch(1)
        self.scroll = QScrollArea(objectName="attributeList")
        self.scroll.setWidget(self.list_box)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.view = ImageView("The picture you edit appears here.")
        self.view.setFixedSize(VIEW_SIDE, VIEW_SIDE)
        self.title = ElidedLabel(objectName="valueText")
        self.code_words = QLabel(objectName="mutedLabel")
        self.reset_button = QPushButton("Reset", objectName="attributesReset")
        self.reset_button.setToolTip("Put every slider back where the picture had it")
        self.reset_button.clicked.connect(self.reset)
        self.export_button = QPushButton(icon("save"), "Export PNG…", objectName="attributesExport")
        self.export_button.setToolTip("Save the edited picture as a PNG, with the model and slider values inside")
        self.export_button.clicked.connect(self.export)
        self.open_button = QPushButton(icon("open"), "Open picture…", objectName="attributesOpen")
        self.open_button.setToolTip(
            "Edit one of your pictures: the VAE encodes it, and the sliders start where its code has them (you can "
            "also drop it on the panel)"
        )
        self.open_button.clicked.connect(self.open_picture)
        # One column, to fit the canvas's centre (about 420 px at 1280 × 800): the picture being edited and
        # what to do with it on top, how sparse the code is, then the sliders, each as wide as the column so its
        # strip's pictures are large enough to judge.
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        about = QVBoxLayout()
        about.setSpacing(6)
        about.addWidget(self.title)
        about.addWidget(self.code_words)
        about.addStretch(1)
        about.addLayout(buttons)
        about.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.view)
        top.addLayout(about, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.sparsity)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        layout.addWidget(self.scroll, 1)
        self._update()

    # -- the model and the picture --------------------------------------------------------------------------
    def set_model(
        self, folder: str | None, step: int | None, run_id: str, class_name: str | None, project_root: Path | None
    ) -> bool:
        """Edit with this run, checkpoint and class from now on: the sliders are found again when shown. False
        (nothing changes) for the model it already has."""
        key = (folder, step, class_name)
        if key == (self.folder, self.step, self.class_name):
            return False
        for slot in (self.dims_slot, self.base_slot, self.edit_slot):
            slot.discard()
        self.folder, self.step, self.run_id, self.class_name = folder, step, run_id, class_name
        self.project_root = project_root
        self.dims, self.picture, self.image, self.base, self.moved = {}, {}, None, None, set()
        self._show_rows([])
        self.view.set_image(None)
        self.title.set_full_text("")
        self.code_words.setText("")
        self._update()
        return True

    def show_for(self, tile: dict | None, title: str = "") -> None:
        """The pane is shown: find the sliders (once per model) and edit ``tile`` (a grid picture of this model)
        when given and not already the one edited, else keep the picture being edited (or the typical one)."""
        if self.folder is None:
            return
        edited = self.base.get("settings") if isinstance(self.base, dict) else None
        if tile is not None and tile["settings"] != edited:
            self._set_base({"settings": dict(tile["settings"])}, title, dict(tile["settings"]))
        if not self.dims and not self.dims_slot.busy:
            self.dims_slot.start(
                self.jobs.dims(self.folder, self.step, self.class_name),
                progress=self._on_progress,
                succeeded=self._on_dims,
                failed=self._on_failed,
                finished=self._update,
            )
            self.status.set_full_text("Finding the sliders…")
        self._update()

    def use_picture(self, path: Path) -> None:
        """Edit one of the user's pictures (encoded by the VAE)."""
        self._set_base(Path(path), f"Your picture “{Path(path).name}”", {"input": Path(path).name})
        self.show_for(None)

    def open_picture(self) -> None:
        path = self.ask_picture()
        if path:
            self.use_picture(Path(path))

    def ask_picture(self) -> str:
        """One picture to edit (tests replace this)."""
        from studio.ui.panels.canvas import picture_filter

        start = str(self.project_root or Path.home())
        return QFileDialog.getOpenFileName(self, "Open a picture to edit with sliders", start, picture_filter())[0]

    def _set_base(self, base: Any, title: str, settings: dict) -> None:
        self.base, self.base_title, self.base_settings = base, title, settings
        self.picture, self.moved = {}, set()
        self.edit_slot.discard()
        self.title.set_full_text(title)
        self._draw_base()

    def _draw_base(self) -> None:
        """Once the sliders are known: the base picture, its code and every strip, drawn in one job."""
        if not self.dims or self.folder is None:
            return
        if self.base is None:  # nothing chosen: the dataset's most typical picture (a real one, not a blur)
            typical = self.dims.get("typical_latent")
            from_data = self.dims.get("source") == "dataset"
            title = "The dataset’s most typical picture" if from_data else "A typical picture of the model"
            self.base, self.base_title, self.base_settings = np.asarray(typical, np.float32), title, {"base": "typical"}
            self.title.set_full_text(title)
        ranges = {int(d["index"]): tuple(float(v) for v in d["range"]) for d in self.dims.get("dims") or []}
        self.base_slot.start(
            self.jobs.base(self.folder, self.step, self.base, ranges, self.class_name),
            progress=self._on_progress,
            succeeded=self._on_base,
            failed=self._on_failed,
            finished=self._update,
        )
        self._update()

    @Slot(float, str)
    def _on_progress(self, _fraction: float, text: str) -> None:
        if text:
            self.status.set_full_text(text)

    @Slot(object)
    def _on_dims(self, result: dict) -> None:
        self.dims = dict(result)
        self.sparsity.setText(str(result.get("sparsity") or ""))
        note = str(result.get("note") or "")
        if not result.get("sparse", True):
            note = (note + " " if note else "") + "This model's code is not sparse: every number is in use."
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._show_rows(list(result.get("dims") or []))
        self._draw_base()

    @Slot(object)
    def _on_base(self, result: dict) -> None:
        self.picture = dict(result)
        code = np.asarray(result["code"], np.float32)
        strips, values = result.get("strips") or {}, result.get("values") or {}
        for row in self.rows:
            row.set_base(float(code[row.index]))
            row.strip.set_pictures(strips.get(row.index), list(values.get(row.index) or []))
        self._show_image(np.asarray(result["image"]), str(result.get("sparsity") or ""))
        self.status.set_full_text("Drag a slider to change one thing about the picture")
        self.ready.emit(len(self.rows))

    def _show_rows(self, dims: list[dict]) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        for order, dim in enumerate(dims, start=1):
            row = DimRow(order, dim)
            row.moved.connect(self._on_moved)
            self.list_layout.insertWidget(self.list_layout.count() - 1, row)
            self.rows.append(row)

    def _show_image(self, image: np.ndarray, sparsity: str) -> None:
        self.image = image
        self.view.set_image(to_qimage(image))
        self.code_words.setText(sparsity)
        self._update()

    # -- editing ----------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_moved(self, index: int) -> None:
        self.moved.add(index)
        self.timer.start()  # restarted by every move: the picture follows once the hand rests
        self._update()

    def values(self) -> dict[int, float]:
        """The code values of the sliders the user moved (the others are left exactly as the picture had them)."""
        return {row.index: row.value() for row in self.rows if row.index in self.moved}

    @Slot()
    def edit(self) -> None:
        """Draw the picture with the moved sliders' values (the slot drops an older edit still being drawn)."""
        self.timer.stop()
        if not self.picture or self.folder is None:
            return
        job = self.jobs.edit(self.folder, self.step, self.picture["latent"], self.values(), self.class_name)
        self.edit_slot.start(job, succeeded=self._on_edited, failed=self._on_failed, finished=self._update)

    @Slot(object)
    def _on_edited(self, result: dict) -> None:
        self._show_image(np.asarray(result["image"]), str(result.get("sparsity") or ""))
        self.edited.emit(dict(result))

    @Slot()
    def reset(self) -> None:
        """Every slider back where the picture had it, and the picture as it was."""
        self.timer.stop()
        self.edit_slot.discard()
        self.moved = set()
        for row in self.rows:
            row.set_value(row.base_value)
        if self.picture:
            self._show_image(np.asarray(self.picture["image"]), str(self.picture.get("sparsity") or ""))

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.status.set_full_text("")
        self.message.emit(text, "error")

    # -- export -----------------------------------------------------------------------------------------------
    def ask_export_folder(self) -> str:
        """Where the PNG goes (tests replace this); starts in the project's outputs/images folder."""
        start = (self.project_root / "outputs" / "images") if self.project_root else Path.home()
        start.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getExistingDirectory(self, "Export the edited picture to", str(start))

    def export_settings(self) -> dict:
        """What the PNG records: the model, the picture the edit started from, and the moved sliders' values."""
        return {
            "source": "attributes",
            "run_id": self.run_id,
            "step": self.dims.get("step", self.step),
            "kind": self.dims.get("kind"),
            "class": self.class_name,
            "base": self.base_settings,
            "values": {str(k): round(v, 4) for k, v in sorted(self.values().items())},
        }

    @Slot()
    def export(self) -> None:
        if self.image is None:
            return
        folder = self.ask_export_folder()
        if not folder:
            return
        settings = self.export_settings()
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
        name = f"{self.run_id or 'model'}-sliders-{digest}.png"
        self.export_slot.start(
            self.jobs.export(self.image, settings, Path(folder), name),
            succeeded=self._on_exported,
            failed=self._on_failed,
        )

    @Slot(object)
    def _on_exported(self, paths: list) -> None:
        paths = [str(p) for p in paths or []]
        if paths:
            self.message.emit(f"Saved {Path(paths[0]).name} with its settings to {Path(paths[0]).parent}.", "success")
        self.exported.emit(paths)

    # -- state ------------------------------------------------------------------------------------------------
    @Slot()
    def _update(self) -> None:
        self.reset_button.setEnabled(bool(self.moved) and bool(self.picture))
        self.export_button.setEnabled(self.image is not None)
        self.open_button.setEnabled(self.folder is not None)
        if not self.dims:
            self.sparsity.setText("Finding the sliders…" if self.dims_slot.busy else "")
        elif not self.dims.get("dims"):
            self.status.set_full_text("This model has no latent numbers to offer as sliders.")
