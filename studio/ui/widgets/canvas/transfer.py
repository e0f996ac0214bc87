"""The Image canvas's Transfer mode: pictures of one style in, the same pictures in the other style out.

A style-transfer model (a family whose generator ``makes`` "transfer", see
:mod:`studio.core.generation.transfer_jobs`; the model list says so in ``makes``) has no latents to fill a grid
with: it turns pictures into pictures. For such a model the canvas shows :class:`TransferPane` where the grid
would be:

* **Pictures** — dropped on the panel or chosen with *Open pictures…*: each is shown beside its transferred
  result, both at the picture's own size (scaled to fit the row). A new drop replaces the set: what the rows show
  is always one set, made by one model, direction and setting.
* **Direction** — "photos → ink" or "ink → photos": the two styles are named by the datasets the run learnt them
  from (the run's ``styles``; "A" and "B" when it records none). Changing it transfers the set again.
* **Keep full size (tiled)** — off, a picture is shrunk to the trained size, transferred in one pass and enlarged
  back (fast, soft); on, a larger picture is transferred in overlapping tiles at up to twice the trained size,
  keeping more of its detail (slower). The core's module docstring says why both exist.
* **Export PNG…** — the results as PNG files named after their inputs (``photo-ink.png``), their settings
  embedded. Every transferred set is also kept in the project's gallery (the panel records it, like a grid).
* **Convert folder…** — a whole folder, in the background (:class:`~studio.ui.widgets.common.job_strip.JobStrip`:
  progress, time left, Cancel), written into an output folder the user picks outside it; the originals are only
  read. It ends with one line — "Converted 42 pictures into …; 2 skipped (…)" — and *Open folder*.

Why a pane of its own: the panel only wires it (model changes, drops, the gallery, the banner); what Transfer
does lives here, readable top to bottom. Each purpose has its own job slot (the panel's ``job_slot``), so a new
set cancels the set still being transferred and only the newest result reaches the rows; a folder conversion
runs in a slot of its own and is never cancelled by transferring a few pictures meanwhile. The jobs are the
core's (TransferImages, ConvertFolder, ExportImages) under the canvas's titles, made by :class:`TransferJobs`,
which the tests may replace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QImage, QImageIOHandler, QImageReader, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.generation import transfer_jobs
from studio.core.generation.image_jobs import ExportImages
from studio.core.jobs import JobError
from studio.ui import theme
from studio.ui.backends.canvas import CoreJob
from studio.ui.icons import icon
from studio.ui.widgets.canvas.viewer import ImageView, to_qimage
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.inputs import ComboBox
from studio.ui.widgets.common.job_strip import JobStrip

MAX_PICTURES = 24  # pictures shown side by side at once; a folder of more is what Convert folder… is for
PAIR_HEIGHT = 190  # a row's pictures: large enough to judge a style, small enough to see a few rows at once
THUMBNAIL_SIDE = 480  # px: an input as its row shows it (the transfer reads the file itself, at full size)
SKIPPED_SHOWN = 3  # skipped files named in the summary line (the tooltip lists them all)
EMPTY_WIDTH = 340  # px: the empty state's text, inside the narrowest centre column


def is_transfer_model(info: dict | None) -> bool:
    """Whether the model list entry ``info`` is a style-transfer model (the family table's word, through the
    entry's ``makes``; entries from before that field ask the family table by their kind)."""
    if not info:
        return False
    makes = info.get("makes")
    return makes == transfer_jobs.MAKES if makes else transfer_jobs.is_transfer_family(info.get("kind"))


def style_names(run_folder: str | Path | None) -> list[str]:
    """The two style names a run records (its datasets), read from its config.json through the core; "A" and
    "B" when it records none or cannot be read (the first transfer's result names them anyway)."""
    if run_folder is None:
        return ["A", "B"]
    try:
        model = transfer_jobs.read_transfer_config(Path(run_folder)).get("model") or {}
    except (JobError, OSError, ValueError):
        return ["A", "B"]
    names = model.get("styles") if isinstance(model, dict) else None
    if isinstance(names, list) and len(names) == 2 and all(isinstance(n, str) and n.strip() for n in names):
        return [str(n)[:100] for n in names]
    return ["A", "B"]


def export_names(settings: list[dict]) -> list[str]:
    """One PNG name per result: its input's name and the style it is in (``photo-ink.png``), made unique
    (``photo-ink-2.png``) when two inputs share a name."""
    names: list[str] = []
    taken: set[str] = set()
    for i, item in enumerate(settings):
        stem = Path(str(item.get("input") or f"picture {i + 1}")).stem
        base = "-".join(_safe(part) for part in (stem, str(item.get("to_style") or "transferred")))
        name, n = f"{base}.png", 2
        while name.lower() in taken:
            name, n = f"{base}-{n}.png", n + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _safe(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in text).strip("._")
    return cleaned[:60] or "picture"


def skipped_words(skipped: list[dict]) -> str:
    """ "2 skipped (notes.txt is not a picture the studio can read; …)": the first clause of each reason, the
    first few files only."""
    if not skipped:
        return ""
    reasons = [str(s.get("reason") or s.get("file") or "").split(" (")[0].split(": ")[0] for s in skipped]
    shown = "; ".join(reasons[:SKIPPED_SHOWN])
    more = f"; and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN else ""
    return f"{words.number(len(skipped))} skipped ({shown}{more})"


def inside(folder: Path, parent: Path) -> bool:
    """Whether ``folder`` is ``parent`` or lies under it (both resolved: links and ``..`` cannot hide it)."""
    folder, parent = folder.expanduser().resolve(), parent.expanduser().resolve()
    return folder == parent or parent in folder.parents


class TransferJobs:
    """The jobs the pane starts: the core's, under the canvas's titles (tests hand the pane a fake)."""

    device = "cpu"  # as the canvas's: CPU pixels are the reproducible ones

    def transfer(self, run_folder: str, step: int | None, direction: str, pictures: list[Path], tile: bool):
        """Job → TransferImages' result: {"images": [uint8 (H, W, 3)], "settings", "styles", "direction", ...}."""
        job = transfer_jobs.TransferImages(run_folder, None, step, direction, pictures, tile, self.device)
        return CoreJob(f"Transferring {words.count(len(pictures), 'picture')}", job)

    def convert(self, run_folder: str, step: int | None, source: Path, out: Path, direction: str, tile: bool):
        """Job → ConvertFolder's result: {"written", "skipped": [{"file", "reason"}], "out", "files", ...}."""
        job = transfer_jobs.ConvertFolder(run_folder, None, source, out, direction, step, tile, self.device)
        return CoreJob(f"Converting “{source.name}”", job)

    def export(self, images: list[np.ndarray], settings: list[dict], folder: Path):
        """Job → the PNG paths written (settings embedded, named by :func:`export_names`)."""
        job = ExportImages(images, settings, folder, names=export_names(settings))
        return CoreJob("Exporting the transferred pictures", job, lambda r: list(r["files"]))


class PictureView(ImageView):
    """:class:`ImageView` that also shows photos well: nearest-neighbour when enlarging (a 32 px result keeps
    its square pixels, as everywhere on the canvas), smooth when shrinking (a 2,000 px photo drawn at a tenth
    would alias into noise)."""

    def sizeHint(self) -> QSize:
        return QSize(240, PAIR_HEIGHT)

    def paintEvent(self, event) -> None:
        if self.image is None or self.image.isNull() or self.scale() >= 1:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.qcolor("#E3E5EF"), 1))
        painter.setBrush(theme.qcolor("#F1F2F9"))
        painter.drawRoundedRect(self.rect().adjusted(0, 0, -1, -1), 8, 8)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self.drawn_rect(), self.image)


class PairRow(QFrame):
    """One picture beside its result, each captioned; the result says "Transferring…" until it arrives."""

    def __init__(self, name: str, picture: QImage | None, size: QSize, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.name = name
        self.input_view = PictureView("Reading…")
        self.result_view = PictureView("Transferring…")
        for view in (self.input_view, self.result_view):
            view.setMinimumSize(120, PAIR_HEIGHT)
            view.setMaximumHeight(PAIR_HEIGHT)
        self.input_caption = ElidedLabel(objectName="mutedLabel")
        self.result_caption = ElidedLabel(objectName="mutedLabel")
        arrow = QLabel("→", objectName="columnTitle")
        arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(self._column(self.input_view, self.input_caption), 1)
        layout.addWidget(arrow)
        layout.addLayout(self._column(self.result_view, self.result_caption), 1)
        self.input_view.set_image(picture)
        if picture is None:
            self.input_view.hint = "Not a picture this computer can show"
        shown = f" · {size.width()} × {size.height()} px" if size.isValid() else ""
        self.input_caption.set_full_text(f"{name}{shown}")
        self.result_caption.set_full_text("")

    @staticmethod
    def _column(view: QWidget, caption: QLabel) -> QVBoxLayout:
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(view)
        column.addWidget(caption)
        return column

    def waiting(self, hint: str) -> None:
        """No result (yet): ``hint`` says why ("Transferring…", "Not transferred")."""
        self.result_view.hint = hint
        self.set_result(None, "")

    def set_result(self, picture: QImage | None, caption: str) -> None:
        self.result_view.set_image(picture)
        self.result_caption.set_full_text(caption)

    def result_image(self) -> QImage | None:
        return self.result_view.image


class TransferPane(QWidget):
    """The canvas's centre for a style-transfer model (see the module docstring)."""

    transferred = Signal(dict)  # a set came back: TransferImages' result (the panel keeps it in the gallery)
    converted = Signal(dict)  # a folder conversion ended: ConvertFolder's result
    exported = Signal(list)  # PNG paths written
    message = Signal(str, str)  # text, tone ("info", "success", "error"): the panel's banner says it

    def __init__(self, job_slot: Callable[[], Any], parent=None) -> None:
        super().__init__(parent)
        self.jobs: Any = TransferJobs()
        self.transfer_slot = job_slot()
        self.convert_slot = job_slot()
        self.export_slot = job_slot()
        self.run_folder: str | None = None
        self.step: int | None = None
        self.project_root: Path | None = None
        self.styles = ["A", "B"]
        self.pictures: list[Path] = []
        self.result: dict = {}  # the last set's TransferImages result, matching the rows
        self.rows: list[PairRow] = []
        self._last_out: Path | None = None
        self._converting: tuple[Path, Path] | None = None  # (source, output) while a folder converts

        self.direction = ComboBox(objectName="transferDirection")
        self.direction.setToolTip("Which style the pictures are in now, and which style they are turned into")
        self.direction.currentIndexChanged.connect(self._on_choice)
        self.tile_box = QCheckBox("Keep full size (tiled)", objectName="transferTiled")
        self.tile_box.setToolTip(
            "Off: each picture is shrunk to the size the model learnt at, transferred in one pass and enlarged "
            "back (fast, soft). On: a larger picture is transferred in overlapping tiles at up to twice that "
            "size, keeping more of its detail (slower). Results always have the picture's own size."
        )
        self.tile_box.toggled.connect(self._on_choice)
        self.status = ElidedLabel(objectName="mutedLabel")
        self.open_button = QPushButton(icon("open"), "Open pictures…", objectName="transferOpen")
        self.open_button.setToolTip("Choose pictures to see in the other style (you can also drop them here)")
        self.open_button.clicked.connect(self.open_pictures)
        self.convert_button = QPushButton(icon("import"), "Convert folder…", objectName="transferConvert")
        self.convert_button.setToolTip(
            "Turn every picture of a folder into the other style, in the background, into an output folder you "
            "choose; the originals are only read"
        )
        self.convert_button.clicked.connect(self.convert_folder)
        self.export_button = QPushButton(icon("save"), "Export PNG…", objectName="transferExport")
        self.export_button.setToolTip("Save the transferred pictures as PNG files, their settings inside")
        self.export_button.clicked.connect(self.export_results)

        self.strip = JobStrip()  # the panel shows it across its width, where a long conversion stays in view
        self.summary = QFrame(objectName="jobStrip")
        self.summary_text = QLabel(objectName="valueText")
        self.summary_text.setWordWrap(True)
        self.open_folder_button = QPushButton(icon("open"), "Open folder", objectName="transferOpenFolder")
        self.open_folder_button.clicked.connect(self.open_output_folder)
        summary_layout = QHBoxLayout(self.summary)
        summary_layout.setContentsMargins(14, 8, 10, 8)
        summary_layout.addWidget(self.summary_text, 1)
        summary_layout.addWidget(self.open_folder_button)
        self.summary.hide()

        self.empty = EmptyState("Drop pictures to transfer them", "")
        self.rows_box = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_box)
        self.rows_layout.setContentsMargins(0, 0, 4, 0)
        self.rows_layout.setSpacing(8)
        self.rows_layout.addStretch(1)
        self.scroll = QScrollArea(objectName="transferRows")
        self.scroll.setWidget(self.rows_box)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.scroll)

        # three short rows, so the pane fits the canvas's centre column (about 420 px at 1280 × 800): how to
        # transfer; what to transfer; what came back, with its export beside it
        choices = QHBoxLayout()
        choices.setSpacing(10)
        choices.addWidget(QLabel("Direction"))
        choices.addWidget(self.direction, 1)
        choices.addWidget(self.tile_box)
        actions = QHBoxLayout()
        actions.setSpacing(6)
        actions.addWidget(self.open_button)
        actions.addWidget(self.convert_button)
        actions.addStretch(1)
        results = QHBoxLayout()
        results.setSpacing(8)
        results.addWidget(self.status, 1)
        results.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(choices)
        layout.addLayout(actions)
        layout.addWidget(self.summary)
        layout.addLayout(results)
        layout.addWidget(self.pages, 1)
        self._name_directions()
        self._update()

    # -- the model --------------------------------------------------------------------------------------------
    def set_model(self, run_folder: str | None, step: int | None, project_root: Path | None) -> None:
        """Transfer with this run and checkpoint from now on (None: no usable model). The pictures stay and are
        transferred again, so two checkpoints are compared on the same set. The same model again changes nothing."""
        if (run_folder, step, project_root) == (self.run_folder, self.step, self.project_root):
            return
        self.transfer_slot.discard()
        self.run_folder, self.step, self.project_root = run_folder, step, project_root
        self.styles = style_names(run_folder)
        self._name_directions()
        self.result = {}
        if self.pictures and run_folder is not None:
            self.transfer()
        else:
            self._clear_results()
        self._update()

    def clear(self) -> None:
        """Another project: the pictures and results belong to the old one's session."""
        self.transfer_slot.discard()
        self.export_slot.discard()
        self.pictures, self.result = [], {}
        self.summary.hide()
        self._show_rows([])
        self._update()

    def direction_value(self) -> str:
        return str(self.direction.currentData() or "a2b")

    def set_direction(self, direction: str) -> None:
        index = self.direction.findData(direction)
        if index >= 0:
            self.direction.setCurrentIndex(index)

    def to_style(self) -> str:
        a, b = self.styles
        return b if self.direction_value() == "a2b" else a

    def _name_directions(self) -> None:
        """The two directions, named by the styles: "photos → ink", "ink → photos"."""
        a, b = self.styles
        current = self.direction_value()
        self.direction.blockSignals(True)
        self.direction.clear()
        self.direction.addItem(f"{a} → {b}", "a2b")
        self.direction.addItem(f"{b} → {a}", "b2a")
        self.direction.setItemData(0, f"Turn pictures in the style of “{a}” into “{b}”", Qt.ItemDataRole.ToolTipRole)
        self.direction.setItemData(1, f"Turn pictures in the style of “{b}” into “{a}”", Qt.ItemDataRole.ToolTipRole)
        self.direction.setCurrentIndex(max(0, self.direction.findData(current)))
        self.direction.blockSignals(False)

    # -- pictures in, results out -----------------------------------------------------------------------------
    def open_pictures(self) -> None:
        paths = self.ask_pictures()
        if paths:
            self.set_pictures([Path(p) for p in paths])

    def ask_pictures(self) -> list[str]:
        """The pictures to transfer (tests replace this)."""
        from studio.ui.panels.canvas import picture_filter

        start = str(self.project_root or Path.home())
        return QFileDialog.getOpenFileNames(self, "Open pictures to transfer", start, picture_filter())[0]

    def set_pictures(self, paths: list[Path]) -> None:
        """Show these pictures (replacing the set) and transfer them."""
        if len(paths) > MAX_PICTURES:
            self.message.emit(
                f"Showing the first {MAX_PICTURES} of {words.count(len(paths), 'picture')}: Convert folder… "
                "turns any number of pictures into the other style.",
                "info",
            )
        self.pictures = list(paths[:MAX_PICTURES])
        self.result = {}
        self._show_rows(self.pictures)
        self.transfer()

    def transfer(self) -> None:
        """Transfer the pictures shown with the chosen direction and tiling (a set still on its way is
        cancelled: only the newest answer reaches the rows)."""
        if not self.pictures or self.run_folder is None:
            self._update()
            return
        for row in self.rows:
            row.waiting("Transferring…")
        job = self.jobs.transfer(
            self.run_folder, self.step, self.direction_value(), list(self.pictures), self.tile_box.isChecked()
        )
        self.transfer_slot.start(
            job,
            progress=self._on_transfer_progress,
            succeeded=self._on_transferred,
            failed=self._on_transfer_failed,
            finished=self._update,
        )
        self.status.set_full_text(f"Transferring {words.count(len(self.pictures), 'picture')}…")
        self._update()

    @Slot(float, str)
    def _on_transfer_progress(self, _fraction: float, message: str) -> None:
        if message:
            self.status.set_full_text(message)

    @Slot(object)
    def _on_transferred(self, result: dict) -> None:
        self.result = dict(result)
        styles = result.get("styles")
        if isinstance(styles, list) and len(styles) == 2 and list(styles) != self.styles:
            self.styles = [str(s) for s in styles]
            self._name_directions()
        images = list(result.get("images") or [])
        for row, pixels, item in zip(self.rows, images, list(result.get("settings") or []), strict=False):
            row.set_result(to_qimage(np.asarray(pixels)), result_caption(item, self.to_style()))
        self.status.set_full_text(
            f"{words.count(len(images), 'picture')} in the style of “{self.to_style()}” · step {result.get('step')}"
        )
        self._update()
        self.transferred.emit(self.result)

    @Slot(str)
    def _on_transfer_failed(self, text: str) -> None:
        for row in self.rows:
            row.waiting("Not transferred: see the message above")
        self.status.set_full_text("")
        self.message.emit(text, "error")

    @Slot()
    def _on_choice(self, *_args) -> None:
        """Another direction or tiling: the same pictures again."""
        self.result = {}
        self.transfer()

    def _show_rows(self, paths: list[Path]) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        for path in paths:
            row = PairRow(path.name, *_thumbnail(path))
            self.rows_layout.insertWidget(self.rows_layout.count() - 1, row)
            self.rows.append(row)
        self.pages.setCurrentWidget(self.scroll if self.rows else self.empty)
        self.scroll.verticalScrollBar().setValue(0)

    def _clear_results(self) -> None:
        for row in self.rows:
            row.waiting("Pick a model with a checkpoint to transfer")

    # -- export -----------------------------------------------------------------------------------------------
    def ask_export_folder(self) -> str:
        """Where the PNG files go (tests replace this); starts in the project's outputs/transfer folder."""
        start = (self.project_root / "outputs" / "transfer") if self.project_root else Path.home()
        start.mkdir(parents=True, exist_ok=True)
        return QFileDialog.getExistingDirectory(self, "Export the transferred pictures to", str(start))

    def export_results(self) -> None:
        images = list(self.result.get("images") or [])
        if not images:
            self.message.emit("Drop or open pictures first: their transferred versions are what is exported.", "info")
            return
        folder = self.ask_export_folder()
        if not folder:
            return
        job = self.jobs.export(images, list(self.result.get("settings") or []), Path(folder))
        self.export_slot.start(job, succeeded=self._on_exported, failed=self._on_failed)

    @Slot(object)
    def _on_exported(self, paths: list) -> None:
        paths = [str(p) for p in paths or []]
        where = Path(paths[0]).parent if paths else ""
        self.message.emit(f"Saved {words.count(len(paths), 'PNG file')} with their settings to {where}.", "success")
        self.exported.emit(paths)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.message.emit(text, "error")

    # -- a whole folder ---------------------------------------------------------------------------------------
    def ask_source_folder(self) -> str:
        """The folder of pictures to convert (tests replace this)."""
        return QFileDialog.getExistingDirectory(self, "Convert the pictures of this folder", str(Path.home()))

    def ask_output_folder(self, source: Path) -> str:
        """Where the converted pictures go (tests replace this): a new folder beside the source is suggested."""
        start = source.parent if source.parent != source else Path.home()
        return QFileDialog.getExistingDirectory(
            self, f"Write the pictures of “{source.name}” in the style of “{self.to_style()}” to", str(start)
        )

    def convert_folder(self) -> None:
        """Choose a source folder, then an output folder outside it; then convert in the background."""
        if self.run_folder is None:
            return
        if self.convert_slot.busy:
            self.message.emit("A folder is being converted: wait for it, or press Cancel on its progress.", "info")
            return
        chosen = self.ask_source_folder()
        if not chosen:
            return
        source = Path(chosen)
        answer = self.ask_output_folder(source)
        if not answer:
            return
        out = Path(answer)
        if inside(out, source):
            self.message.emit(
                f"Choose an output folder outside “{source.name}”: the converted pictures are never written among "
                "the originals.",
                "error",
            )
            return
        self.summary.hide()
        self._converting = (source, out)
        job = self.jobs.convert(
            self.run_folder, self.step, source, out, self.direction_value(), self.tile_box.isChecked()
        )
        runner = self.convert_slot.start(
            job,
            succeeded=self._on_converted,
            failed=self._on_convert_failed,
            cancelled=self._on_convert_cancelled,
            finished=self._on_convert_finished,
        )
        self.strip.follow(runner, f"Converting “{source.name}” into the style of “{self.to_style()}”")
        self._update()

    @Slot(object)
    def _on_converted(self, result: dict) -> None:
        written = int(result.get("written") or 0)
        out = Path(str(result.get("out") or (self._converting or (None, Path()))[1]))
        skipped = list(result.get("skipped") or [])
        text = f"Converted {words.count(written, 'picture')} into “{out.name}”"
        if skipped:
            text += f"; {skipped_words(skipped)}"
        tip = "\n".join([str(out), *(f"{s.get('file')}: {s.get('reason')}" for s in skipped)])
        self._show_summary(text + ".", out, tip)
        self.converted.emit(dict(result))

    @Slot(str)
    def _on_convert_failed(self, text: str) -> None:
        self.message.emit(text, "error")

    @Slot()
    def _on_convert_cancelled(self) -> None:
        out = (self._converting or (None, None))[1]
        if out is not None:
            self._show_summary(
                f"Converting stopped. The pictures converted before you cancelled are in “{out.name}”; the "
                "originals are untouched.",
                out,
                str(out),
            )

    @Slot()
    def _on_convert_finished(self) -> None:
        self.strip.done()
        self._converting = None
        self._update()

    def _show_summary(self, text: str, out: Path, tip: str = "") -> None:
        self._last_out = out
        self.summary_text.setText(text)
        self.summary_text.setToolTip(tip)
        self.open_folder_button.setVisible(out.is_dir())
        self.summary.show()

    def open_output_folder(self) -> None:
        if self._last_out is not None:
            self.open_folder(self._last_out)

    def open_folder(self, folder: Path) -> None:
        """Show ``folder`` in the file manager (tests replace this)."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- state ------------------------------------------------------------------------------------------------
    @Slot()
    def _update(self) -> None:
        ready = self.run_folder is not None
        busy = self.transfer_slot.is_running()
        self.direction.setEnabled(ready)
        self.tile_box.setEnabled(ready)
        self.open_button.setEnabled(ready)
        self.convert_button.setEnabled(ready and not self.convert_slot.busy)
        self.export_button.setEnabled(bool(self.result.get("images")) and not busy)
        self.export_button.setVisible(bool(self.rows))  # nothing to export without pictures
        if not busy and not self.result:
            self.status.set_full_text("")
        a, b = self.styles
        self.empty.set_text(
            "Drop pictures to transfer them",
            f"Drop pictures here, or press Open pictures…, to see each one beside its version in the other style "
            f"(“{a}” ↔ “{b}”). Convert folder… turns a whole folder in the background; your originals are only "
            "read.",
        )
        self.empty.body.setFixedWidth(EMPTY_WIDTH)
        self.empty.body.setMinimumHeight(self.empty.body.heightForWidth(EMPTY_WIDTH))

    def save_state(self) -> dict:
        return {"transfer_direction": self.direction_value(), "transfer_tiled": self.tile_box.isChecked()}

    def restore_state(self, state: dict) -> None:
        self.direction.blockSignals(True)
        self.tile_box.blockSignals(True)
        if state.get("transfer_direction") in transfer_jobs.DIRECTIONS:
            self.set_direction(str(state["transfer_direction"]))
        self.tile_box.setChecked(state.get("transfer_tiled") in (True, "true"))
        self.direction.blockSignals(False)
        self.tile_box.blockSignals(False)


def _thumbnail(path: Path) -> tuple[QImage | None, QSize]:
    """The picture for its row, upright (EXIF), decoded at most :data:`THUMBNAIL_SIDE` px on its longer side
    (a JPEG decodes at that size directly, so a large photo costs the GUI thread little), and its full size.
    (None, empty) when Qt cannot read it: the transfer then says why in words."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > THUMBNAIL_SIDE:
        reader.setScaledSize(size.scaled(THUMBNAIL_SIDE, THUMBNAIL_SIDE, Qt.AspectRatioMode.KeepAspectRatio))
    picture = reader.read()
    if picture.isNull():
        return None, QSize()
    if reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90:
        size = size.transposed()
    return picture, size


def result_caption(settings: dict, to_style: str) -> str:
    """ "In ink · 640 × 480 px", with the tiles when the picture was worked on in several."""
    caption = f"In {settings.get('to_style') or to_style} · {settings.get('width')} × {settings.get('height')} px"
    tiles = settings.get("tiles")
    if settings.get("tile") and isinstance(tiles, int) and tiles > 1:
        caption += f" · {words.count(tiles, 'tile')}"
    return caption
