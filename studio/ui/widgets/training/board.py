"""The comparison board: every chosen checkpoint of a run (or of two runs on one dataset) side by side, rendering
the same seeds, prompts or sentences, so the columns differ by their training alone.

What the user sees, top to bottom:

* **Settings** — a second run to compare with (only runs on the same dataset that make the same kind of thing), the
  checkpoints (all, or a pick from a menu), and what each column renders: the number of seeds (pictures), up to
  :data:`~studio.core.compare.plan.MAX_USER_PROMPTS` prompts of the user's besides the run's own preview prompt
  (text), or the test sentences (voices). *Render* draws the board again with them; *Export HTML…* saves it as one
  self-contained file to send to someone.
* **Progress** — the project's :class:`~studio.ui.widgets.common.job_strip.JobStrip` (bar, time left, Cancel)
  while the board renders, and one status line after.
* **The board** — one column per checkpoint with a head that says its step, when it was saved and its validation
  metrics in plain words ("Validation loss 0.532"), the engine's best one starred; *Mark best* (the user's own
  judgement, kept in the run's meta.json) and *Use this checkpoint* (the default of the canvas, writer and speech
  pickers and of the exports). One row per seed, prompt or sentence. Cells fill in as the job reports them —
  cached ones at once — and a click (or Enter) enlarges a picture, opens a text to read, or plays a clip.

Why the widget only shows and asks: the panel owns the job slot that renders (so opening the board again cancels
the previous render), writes the run's notes in jobs, and decides; this view emits signals and displays plain
dicts, the board as :class:`studio.core.compare.board.RenderBoard` returns it. Cells are small files in the run's
board cache, read here when they arrive (a 32–256 px PNG or a short WAV: a millisecond or two each). A cell file
path comes from the board dict and is resolved inside the project before it is opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFontMetrics, QPainter, QPainterPath, QPen, QPixmap, QPolygon
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.compare.board import DEFAULT_SEEDS, DEFAULT_SENTENCES, MAX_USER_PROMPTS
from studio.core.compare.plan import MAX_SEEDS
from studio.core.safe_paths import resolve_inside
from studio.ui import theme
from studio.ui.icons import icon
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.inputs import ComboBox, SpinBox
from studio.ui.widgets.common.job_strip import JobStrip
from studio.ui.widgets.common.run_list import run_title
from studio.ui.widgets.training.checkpoint_list import saved_words
from studio.ui.widgets.training.monitor import format_number
from studio.ui.widgets.training.samples import fitted_rect

SENTENCE_FIELDS = 3  # test sentences offered (the core takes up to plan.MAX_SENTENCES)
# the smallest cell of each kind (a column is as wide as its head needs): a 32 px picture shows at 4×
CELL_SIZES = {"image": QSize(146, 146), "text": QSize(240, 156), "audio": QSize(168, 58)}
LABEL_WIDTHS = {"image": 74, "text": 150, "audio": 150}
CORNER = {"image": "SEED", "text": "PROMPT", "audio": "SENTENCE"}
SNIPPET = 600  # characters of a text drawn in its cell (the dialog shows all of it)
METRIC_LINES = 3
# Validation metrics in words (the engine logs "val_*"); others read as their key without "val_", capitalised
METRIC_NAMES = {
    "val_loss": "Validation loss",
    "val_perplexity": "Perplexity",
    "val_kid": "KID",
    "val_fid": "FID",
    "val_precision": "Precision",
    "val_recall": "Recall",
    "val_align": "Alignment",
    "val_kl": "KL divergence",
    "val_recon": "Reconstruction",
}


def metric_name(key: str) -> str:
    """A validation metric's plain name: "val_loss" → "Validation loss"; an unknown "val_edge_score" → "Edge score"."""
    if key in METRIC_NAMES:
        return METRIC_NAMES[key]
    text = (key[4:] if key.startswith("val_") else key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def metric_lines(metrics: dict, limit: int = METRIC_LINES) -> list[str]:
    """ "Validation loss 0.5321" lines, the known metrics first in :data:`METRIC_NAMES`' order."""
    known = [k for k in METRIC_NAMES if k in metrics]
    keys = known + sorted(k for k in metrics if k not in METRIC_NAMES)
    lines = []
    for key in keys[:limit]:
        value = metrics[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"{metric_name(key)} {format_number(float(value))}")
    return lines


def fit_text(metrics: QFontMetrics, text: str, rect: QRect) -> str:
    """``text`` cut (with "…") to what word-wrapped lines of ``metrics``' font show inside ``rect``."""
    flags = int(Qt.TextFlag.TextWordWrap)

    def fits(candidate: str) -> bool:
        return metrics.boundingRect(rect, flags, candidate).height() <= rect.height()

    text = " ".join(text.split()) if len(text) > SNIPPET else text
    text = text[:SNIPPET]
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its "…"
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + "…"):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


class BoardCell(QFrame):
    """One cell: a picture, the start of a text, or a clip to play; a dashed frame while it is not rendered.

    Painted, so a board of 60 cells stays one cheap widget each. A click or Enter/Space emits :attr:`activated`."""

    activated = Signal(int, int)  # column, row

    def __init__(self, column: int, row: int, modality: str, size: QSize | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("boardCell")
        self.column, self.row, self.modality = column, row, modality
        self.cell: dict | None = None
        self.pixmap = QPixmap()
        self.playing = False
        self.setFixedSize(size or CELL_SIZES[modality])
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._describe()

    def set_cell(self, cell: dict | None, path: Path | None) -> None:
        """Show a rendered cell (``path``: its file, resolved inside the project; None when it cannot be)."""
        self.cell = dict(cell) if isinstance(cell, dict) else None
        self.pixmap = QPixmap(str(path)) if self.modality == "image" and path is not None else QPixmap()
        self._describe()
        self.update()

    def is_filled(self) -> bool:
        return self.cell is not None

    def set_playing(self, on: bool) -> None:
        if self.playing != on:
            self.playing = on
            self.update()

    def _describe(self) -> None:
        what = {"image": "Enlarge the picture", "text": "Read the whole text", "audio": "Play the clip"}
        tip = what[self.modality] if self.cell is not None else "Not rendered yet"
        if self.modality == "audio" and self.cell is not None:
            tip += f" ({self._seconds()})"
        self.setToolTip(tip)
        self.setAccessibleName(tip)

    def _seconds(self) -> str:
        seconds = (self.cell or {}).get("seconds")
        return f"{float(seconds):.1f} s" if isinstance(seconds, (int, float)) else ""

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = self.rect().adjusted(0, 0, -1, -1)
        focus = self.hasFocus()
        if self.cell is None:  # not rendered yet: a dashed outline where it will be
            painter.setPen(QPen(theme.qcolor("#C9CCDA"), 1, Qt.PenStyle.DashLine))
            painter.setBrush(theme.qcolor("#F6F7FB"))
            painter.drawRoundedRect(box, 6, 6)
            painter.setPen(theme.qcolor("#6B7090"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "…")
        else:
            painter.setPen(theme.qcolor("#5B5BD6" if focus else "#E3E5EF"))
            painter.setBrush(theme.qcolor("#FFFFFF"))
            painter.drawRoundedRect(box, 6, 6)
            getattr(self, f"_paint_{self.modality}")(painter, box.adjusted(6, 6, -6, -6))
        painter.end()

    def _paint_image(self, painter: QPainter, area: QRect) -> None:
        if self.pixmap.isNull():
            painter.setPen(theme.qcolor("#6B7090"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "Picture missing")
            return
        target, smooth = fitted_rect(self.pixmap.size(), area)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        clip = QPainterPath()
        clip.addRoundedRect(target, 3, 3)
        painter.setClipPath(clip)
        painter.drawPixmap(target, self.pixmap)
        painter.setClipping(False)

    def _paint_text(self, painter: QPainter, area: QRect) -> None:
        text = str((self.cell or {}).get("text") or "")
        painter.setPen(theme.qcolor("#23263A" if text.strip() else "#6B7090"))
        shown = fit_text(painter.fontMetrics(), text, area) if text.strip() else "(the model wrote nothing)"
        painter.drawText(
            area, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap), shown
        )

    def _paint_audio(self, painter: QPainter, area: QRect) -> None:
        side = min(area.height(), 30)
        disc = QRect(area.left(), area.top() + (area.height() - side) // 2, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.qcolor("#5B5BD6"))
        painter.drawEllipse(disc)
        painter.setBrush(theme.qcolor("#FFFFFF"))
        c = disc.center()
        if self.playing:  # a stop square
            painter.drawRect(QRect(c.x() - 5, c.y() - 5, 10, 10))
        else:  # a play triangle
            painter.drawPolygon(QPolygon([c + QPoint(-4, -7), c + QPoint(-4, 7), c + QPoint(8, 0)]))
        painter.setPen(theme.qcolor("#23263A"))
        label = area.adjusted(side + 10, 0, 0, 0)
        words_ = ("Stop" if self.playing else "Play") + (f" · {self._seconds()}" if self._seconds() else "")
        painter.drawText(label, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, words_)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.activated.emit(self.column, self.row)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.column, self.row)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()


class ColumnHead(QFrame):
    """A checkpoint's head: (its run, on a two-run board), its step, when it was saved, its validation metrics, the
    engine's star, and the two buttons: *Mark best* and *Use this checkpoint*."""

    mark_toggled = Signal(int, bool)  # column, marked
    use_clicked = Signal(int)  # column

    def __init__(self, index: int, column: dict, run_label: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.index = index
        self.column = dict(column)
        step = column.get("step")
        self.step_label = QLabel(f"Step {int(step):,}" if isinstance(step, int) else "Step ?", objectName="boardStep")
        font = self.step_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.step_label.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(2)
        if run_label:
            self.run_label = ElidedLabel(run_label, objectName="mutedLabel")
            layout.addWidget(self.run_label)
        layout.addWidget(self.step_label)
        when = saved_words(column.get("created"))
        self.saved = QLabel(f"Saved {when}" if when else "Saved —", objectName="mutedLabel")
        layout.addWidget(self.saved)
        metrics = column.get("metrics") if isinstance(column.get("metrics"), dict) else {}
        self.metric_labels = [ElidedLabel(line, objectName="mutedLabel") for line in metric_lines(metrics)]
        if not self.metric_labels:
            self.metric_labels = [ElidedLabel("No validation yet", objectName="mutedLabel")]
        for label in self.metric_labels:
            layout.addWidget(label)
        self.best_label = QLabel("★ The run's best checkpoint" if column.get("best") else "", objectName="mutedLabel")
        self.best_label.setToolTip("The engine's best checkpoint of the run, by its validation measure")
        self.best_label.setVisible(bool(column.get("best")))
        layout.addWidget(self.best_label)
        layout.addStretch(1)
        self.mark_button = QPushButton("☆ Mark best", objectName="boardMark")
        self.mark_button.setCheckable(True)
        self.mark_button.setToolTip("Your pick: marked columns are kept with the run and shown as best in the export")
        self.mark_button.toggled.connect(self._on_mark)
        self.use_button = QPushButton("Use this checkpoint", objectName="boardUse")
        self.use_button.clicked.connect(self._on_use)
        layout.addWidget(self.mark_button)
        layout.addWidget(self.use_button)
        self.set_in_use(False)

    @property
    def run_id(self) -> str:
        return str(self.column.get("run_id") or "")

    @property
    def step(self) -> int:
        return int(self.column.get("step") or 0)

    def set_marked(self, on: bool) -> None:
        self.mark_button.blockSignals(True)
        self.mark_button.setChecked(on)
        self.mark_button.blockSignals(False)
        self._show_mark(on)

    def _show_mark(self, on: bool) -> None:
        self.mark_button.setText("★ Marked best" if on else "☆ Mark best")

    def set_in_use(self, on: bool) -> None:
        """The run's chosen checkpoint: the button says so and does nothing more."""
        self.in_use = on
        self.use_button.setText("✓ In use" if on else "Use this checkpoint")
        self.use_button.setEnabled(not on)
        self.use_button.setProperty("primary", on)
        self.use_button.style().unpolish(self.use_button)
        self.use_button.style().polish(self.use_button)
        self.use_button.setToolTip(
            "The canvas, writer, speech panel and exports use this checkpoint of the run by default"
            if on
            else "Make this the checkpoint the canvas, writer, speech panel and exports use by default"
        )

    @Slot(bool)
    def _on_mark(self, on: bool) -> None:
        self._show_mark(on)
        self.mark_toggled.emit(self.index, on)

    @Slot()
    def _on_use(self) -> None:
        self.use_clicked.emit(self.index)


class StepPicker(QPushButton):
    """ "All 5 checkpoints ▾" / "3 of 5 checkpoints ▾" with a menu: All, then each step to tick. (The arrow is part
    of the text: the style's own menu indicator is drawn over the text's end.)"""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("boardSteps")
        self.setStyleSheet("QPushButton::menu-indicator { image: none; width: 0; }")
        self.setToolTip("Which checkpoints get a column: all of them, or the ones you tick")
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self.steps: list[int] = []
        self.picked: set[int] | None = None  # None: all
        self._rebuild()

    def set_steps(self, steps: list[int], picked: list[int] | None = None) -> None:
        self.steps = sorted({int(s) for s in steps})
        wanted = None if picked is None else {s for s in picked if s in self.steps}
        self.picked = None if not wanted or wanted == set(self.steps) else wanted
        self._rebuild()

    def selection(self) -> list[int] | None:
        """The ticked steps, or None for all of them."""
        return None if self.picked is None else sorted(self.picked)

    def _rebuild(self) -> None:
        self.menu_.clear()
        every = QAction("All checkpoints", self.menu_, checkable=True)
        every.setChecked(self.picked is None)
        every.triggered.connect(self._on_all)
        self.menu_.addAction(every)
        self.menu_.addSeparator()
        for step in self.steps:
            action = QAction(f"Step {step:,}", self.menu_, checkable=True)
            action.setData(step)
            action.setChecked(self.picked is None or step in self.picked)
            action.triggered.connect(self._on_step)
            self.menu_.addAction(action)
        count = len(self.steps)
        if self.picked is None:
            text = f"All {words.count(count, 'checkpoint')}" if count != 1 else "1 checkpoint"
        else:
            text = words.of(len(self.picked), count, "checkpoint")
        self.setText(f"{text}  ▾")

    def summary(self) -> str:
        """What the button says, without its arrow."""
        return self.text().removesuffix("▾").strip()

    @Slot()
    def _on_all(self) -> None:
        self.picked = None
        self._rebuild()
        self.changed.emit()

    @Slot(bool)
    def _on_step(self, on: bool) -> None:
        step = int(self.sender().data())
        picked = set(self.steps) if self.picked is None else set(self.picked)
        picked = picked | {step} if on else picked - {step}
        if not picked:  # never none: the last one stays ticked
            picked = {step}
        self.picked = None if picked == set(self.steps) else picked
        self._rebuild()
        self.changed.emit()

    def set_picked(self, steps: list[int] | None) -> None:
        """Tick exactly ``steps`` (None: all), as the menu would."""
        self.set_steps(self.steps, steps)
        self.changed.emit()


class BoardSettings(QFrame):
    """The strip above the board: second run, checkpoints, seeds / prompts / sentences, Render and Export."""

    render_clicked = Signal()
    export_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.modality = "image"
        self.other = ComboBox(objectName="boardOtherRun")
        self.other.setToolTip("Put a second run's checkpoints beside these: only runs on the same dataset are offered")
        self.steps = StepPicker()
        self.seeds = SpinBox(objectName="boardSeeds")
        self.seeds.setRange(1, MAX_SEEDS)
        self.seeds.setValue(DEFAULT_SEEDS)
        self.seeds.setToolTip("How many pictures each checkpoint draws: seeds 0, 1, 2 … the same in every column")
        self.seeds_label = QLabel("Seeds")
        self.prompts = [QLineEdit(objectName=f"boardPrompt{i}") for i in range(MAX_USER_PROMPTS)]
        for i, field in enumerate(self.prompts):
            field.setPlaceholderText(f"Your prompt {i + 1} (optional)")
            field.setToolTip(
                "Every checkpoint continues this text; the run's own preview prompt is always the first row"
            )
            field.setClearButtonEnabled(True)
        self.sentences = [QLineEdit(objectName=f"boardSentence{i}") for i in range(SENTENCE_FIELDS)]
        for i, field in enumerate(self.sentences):
            field.setPlaceholderText(f"Test sentence {i + 1}")
            field.setToolTip("Every checkpoint reads this sentence aloud")
            field.setClearButtonEnabled(True)
            if i < len(DEFAULT_SENTENCES):
                field.setText(DEFAULT_SENTENCES[i])
        self.render_button = QPushButton(icon("play"), "Render", objectName="boardRender")
        self.render_button.setProperty("primary", True)
        self.render_button.setToolTip("Draw the board with these settings (cells made before come from the cache)")
        self.render_button.clicked.connect(self.render_clicked)
        self.export_button = QPushButton(icon("save"), "Export HTML…", objectName="boardExport")
        self.export_button.setToolTip("Save the board as one web page, pictures and sound inside, to send to anyone")
        self.export_button.clicked.connect(self.export_clicked)

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(QLabel("Compare with"))
        top.addWidget(self.other, 2)
        top.addSpacing(8)
        top.addWidget(QLabel("Checkpoints"))
        top.addWidget(self.steps)
        top.addSpacing(8)
        top.addWidget(self.seeds_label)
        top.addWidget(self.seeds)
        top.addStretch(1)
        top.addWidget(self.render_button)
        top.addWidget(self.export_button)
        self.texts_label = QLabel("Prompts")
        texts = QHBoxLayout()
        texts.setSpacing(8)
        texts.addWidget(self.texts_label)
        for field in (*self.prompts, *self.sentences):
            texts.addWidget(field, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addLayout(texts)
        self.set_modality("image")

    def set_modality(self, modality: str) -> None:
        """Show the inputs that matter for what the run makes."""
        self.modality = modality
        for widget in (self.seeds, self.seeds_label):
            widget.setVisible(modality == "image")
        for field in self.prompts:
            field.setVisible(modality == "text")
        for field in self.sentences:
            field.setVisible(modality == "audio")
        self.texts_label.setText("Prompts" if modality == "text" else "Sentences")
        self.texts_label.setVisible(modality in ("text", "audio"))

    def set_other_runs(self, runs: list[dict], current: str | None = None) -> None:
        self.other.blockSignals(True)
        self.other.clear()
        self.other.addItem("No second run", None)
        for run in runs:
            self.other.addItem(run_title(run), str(run.get("run_id")))
            self.other.setItemData(self.other.count() - 1, str(run.get("run_id")), Qt.ItemDataRole.ToolTipRole)
        index = self.other.findData(current) if current else 0
        self.other.setCurrentIndex(max(0, index))
        self.other.setEnabled(bool(runs))
        self.other.blockSignals(False)

    def other_run(self) -> str | None:
        data = self.other.currentData()
        return str(data) if data else None

    def values(self) -> dict:
        """``{"checkpoints": [steps] | None, "seeds", "prompts", "sentences"}`` as the job takes them."""
        return {
            "checkpoints": self.steps.selection(),
            "seeds": int(self.seeds.value()),
            "prompts": [f.text() for f in self.prompts if f.text().strip()],
            "sentences": [f.text().strip() for f in self.sentences if f.text().strip()],
        }


class BoardView(QWidget):
    """The settings, the progress and the board (see the module docstring). The panel drives it."""

    render_requested = Signal()
    export_requested = Signal()
    mark_requested = Signal(str, int, bool)  # run id, step, marked
    use_requested = Signal(str, int)  # run id, step
    cell_activated = Signal(int, int)  # column, row

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("boardView")
        self.root: Path | None = None
        self.board: dict | None = None  # the layout, then the finished board (cells filled in as they come)
        self.heads: list[ColumnHead] = []
        self.cells: list[list[BoardCell]] = []  # [column][row]
        self.row_labels: list[QLabel] = []
        self.title = ElidedLabel("Compare checkpoints", objectName="runTitle")
        self.settings = BoardSettings()
        self.settings.render_clicked.connect(self.render_requested)
        self.settings.export_clicked.connect(self.export_requested)
        # the progress while rendering, the outcome after, in one place of one height: the board never jumps
        self.strip = JobStrip()
        self.message = QLabel("", objectName="runMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.status = QStackedWidget(objectName="boardStatus")
        self.status.addWidget(self.message)
        self.status.addWidget(self.strip)
        self.grid_host = QWidget(objectName="boardGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(10)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.scroll = QScrollArea(objectName="boardScroll")
        self.scroll.setWidget(self.grid_host)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.viewport().setAutoFillBackground(False)
        self.grid_host.setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.settings)
        layout.addWidget(self.status)
        layout.addWidget(self.scroll, 1)

    # -- the run and its settings ----------------------------------------------------------------------------
    def open_for(self, run: dict, modality: str, others: list[dict]) -> None:
        """A board for ``run`` (a run list dict): its title, what it renders, the runs it may be compared with.
        The board itself is cleared until the render's layout arrives."""
        self.title.set_full_text(f"Compare checkpoints · {run_title(run)} on “{run.get('dataset', '?')}”")
        self.settings.set_modality(modality)
        self.settings.set_other_runs(others)
        self.settings.steps.set_steps([])
        self.clear()

    def values(self) -> dict:
        return self.settings.values()

    # -- progress and messages -------------------------------------------------------------------------------
    def follow(self, runner, title: str) -> None:
        self.say("")
        self.strip.follow(runner, title)
        self.status.setCurrentWidget(self.strip)

    def done(self) -> None:
        self.strip.done()
        self.status.setCurrentWidget(self.message)

    def rendering(self) -> bool:
        return self.strip.runner is not None

    def say(self, text: str, tone: str = "") -> None:
        """The outcome line (shown where the progress was once the render has ended)."""
        self.message.setText(text)
        self.message.setToolTip(text)
        if self.message.property("tone") != tone:
            self.message.setProperty("tone", tone)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)

    # -- the board ------------------------------------------------------------------------------------------
    def clear(self) -> None:
        self.board = None
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.heads, self.cells, self.row_labels = [], [], []
        self.settings.export_button.setEnabled(False)

    def set_layout(self, board: dict, chosen: dict | None = None, marked: dict | None = None) -> None:
        """Lay the board out from ``board`` (RenderBoard's dict; cells may be None): a head per column, a label per
        row, a cell each, the cached ones filled. ``chosen``: run id → the step in use; ``marked``: run id → the
        steps the user marked best."""
        self.clear()
        self.board = {**board, "cells": [list(c) for c in board.get("cells") or []]}
        modality = str(board.get("modality") or "image")
        self.settings.set_modality(modality)
        runs = {str(r.get("run_id")): r for r in board.get("runs") or []}
        two = len(runs) > 1
        corner = QLabel(CORNER.get(modality, ""), objectName="sectionCaption")
        corner.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.grid.addWidget(corner, 0, 0)
        size = QSize(CELL_SIZES[modality])
        for c, column in enumerate(board.get("columns") or []):
            head = ColumnHead(c, column, run_tag(runs, column) if two else "")
            size.setWidth(max(size.width(), head.sizeHint().width()))  # every column as wide as its widest head
            head.mark_toggled.connect(self._on_mark)
            head.use_clicked.connect(self._on_use)
            self.grid.addWidget(head, 0, c + 1)
            self.heads.append(head)
        for head in self.heads:
            head.setFixedWidth(size.width())
        self.set_notes(chosen or {}, marked or {})
        width = LABEL_WIDTHS.get(modality, 120)
        height = CELL_SIZES[modality].height()
        for r, row in enumerate(board.get("rows") or []):
            text = str(row.get("label") or "")
            label = QLabel(objectName="boardRowLabel")
            label.setWordWrap(True)
            label.setFixedSize(width, height)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            label.setText(fit_text(label.fontMetrics(), text, QRect(0, 0, width, height)))
            label.setToolTip(text)
            self.grid.addWidget(label, r + 1, 0)
            self.row_labels.append(label)
        for c, _column in enumerate(board.get("columns") or []):
            cells = []
            for r, _row in enumerate(board.get("rows") or []):
                cell = BoardCell(c, r, modality, size)
                cell.activated.connect(self._on_cell)
                self.grid.addWidget(cell, r + 1, c + 1)
                cells.append(cell)
            self.cells.append(cells)
        self.grid.setColumnStretch(len(self.heads) + 1, 1)
        self.grid.setRowStretch(len(self.row_labels) + 1, 1)
        for c, column_cells in enumerate(self.board["cells"]):
            for r, cell in enumerate(column_cells):
                if cell is not None:
                    self.set_cell(c, r, cell)
        self.settings.export_button.setEnabled(self.filled() > 0)

    def set_notes(self, chosen: dict, marked: dict) -> None:
        """Which column is in use, and which the user marked best (run id → step / steps)."""
        for head in self.heads:
            head.set_in_use(chosen.get(head.run_id) == head.step)
            head.set_marked(head.step in set(marked.get(head.run_id) or ()))

    def set_steps(self, steps: list[int], picked: list[int] | None) -> None:
        """The checkpoints the picker offers (the shown run's) and the ones ticked (None: all)."""
        self.settings.steps.set_steps(steps, picked)

    def set_cell(self, column: int, row: int, cell: dict) -> None:
        """A cell arrived (from the cache or just rendered): show it."""
        if not (0 <= column < len(self.cells) and 0 <= row < len(self.cells[column])) or self.board is None:
            return
        self.board["cells"][column][row] = dict(cell)
        self.cells[column][row].set_cell(cell, self.cell_path(cell))
        self.settings.export_button.setEnabled(True)

    def set_board(self, board: dict) -> None:
        """The finished board: any cell not shown yet is filled, and it is what Export writes."""
        if self.board is None or len(board.get("columns") or []) != len(self.heads):
            self.set_layout(board, self.in_use(), self.marked())
            return
        for c, column_cells in enumerate(board.get("cells") or []):
            for r, cell in enumerate(column_cells):
                if cell is not None and not self.cells[c][r].is_filled():
                    self.set_cell(c, r, cell)
        self.board = {**board, "cells": [list(c) for c in board.get("cells") or []]}

    def cell_path(self, cell: dict | None) -> Path | None:
        """A cell's file, resolved inside the project (None when it points elsewhere or there is no project)."""
        if self.root is None or not isinstance(cell, dict):
            return None
        return resolve_inside(self.root, cell.get("file"))

    def filled(self) -> int:
        return sum(cell.is_filled() for column in self.cells for cell in column)

    def column_steps(self) -> list[int]:
        return [head.step for head in self.heads]

    def in_use(self) -> dict[str, int]:
        """Run id → the step its pickers use (the column whose button says "In use")."""
        return {head.run_id: head.step for head in self.heads if head.in_use}

    def marked(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for head in self.heads:
            if head.mark_button.isChecked():
                out.setdefault(head.run_id, []).append(head.step)
        return out

    def set_playing(self, column: int, row: int, on: bool) -> None:
        for c, column_cells in enumerate(self.cells):
            for r, cell in enumerate(column_cells):
                cell.set_playing(on and (c, r) == (column, row))

    # -- reactions ------------------------------------------------------------------------------------------
    @Slot(int, bool)
    def _on_mark(self, column: int, on: bool) -> None:
        head = self.heads[column]
        self.mark_requested.emit(head.run_id, head.step, on)

    @Slot(int)
    def _on_use(self, column: int) -> None:
        head = self.heads[column]
        self.use_requested.emit(head.run_id, head.step)

    @Slot(int, int)
    def _on_cell(self, column: int, row: int) -> None:
        if self.cells[column][row].is_filled():
            self.cell_activated.emit(column, row)


def run_tag(runs: dict, column: dict) -> str:
    """ "A · Spring shoot": which of a two-run board's runs (A, the one compared; B, the second) a column is of."""
    ids = list(runs)
    run_id = str(column.get("run_id"))
    if run_id not in ids:
        return run_id
    return f"{'AB'[ids.index(run_id)]} · {board_run_title(runs[run_id])}"


def board_run_title(run: dict) -> str:
    """A board run's title as the run list words it: its name, else "Mar 01, 10:15 · GAN" (the board names an unnamed
    run by its id)."""
    name = str(run.get("name") or "")
    return run_title({**run, "name": "" if name == run.get("run_id") else name})


def cell_caption(board: dict, column: int, row: int) -> str:
    """ "Step 1,200 · Seed 3" (with the run's name first on a two-run board)."""
    columns, rows = board.get("columns") or [], board.get("rows") or []
    if not (0 <= column < len(columns) and 0 <= row < len(rows)):
        return ""
    head = columns[column]
    step = head.get("step")
    parts = [f"Step {int(step):,}" if isinstance(step, int) else "Step ?", str(rows[row].get("label") or "")]
    runs = board.get("runs") or []
    if len(runs) > 1:
        run = next((r for r in runs if r.get("run_id") == head.get("run_id")), None)
        parts.insert(0, board_run_title(run) if run else str(head.get("run_id")))
    return " · ".join(p for p in parts if p)


__all__ = [
    "BoardCell",
    "BoardSettings",
    "BoardView",
    "ColumnHead",
    "StepPicker",
    "cell_caption",
    "metric_lines",
    "metric_name",
]
