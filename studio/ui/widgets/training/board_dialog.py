"""The comparison board's window, the enlarged cell, and the small jobs behind the board.

Why a window of its own rather than a tab of the monitor: at 1280 × 800 the monitor's tabs get about 850 × 450 px
below the run's figures, room for three columns of two pictures; a board compares up to a run's every checkpoint
(two runs' even) over six seeds, and is looked at for a while, beside the panel rather than instead of the live
curves. So it opens as a window sized to the screen (non-modal: training, the curves and the other panels stay
usable), and the Training panel keeps one, shown again for the next run.

The jobs (plain callables, run through the panel's job slots):

* :class:`BoardJob` — reads the board's layout and every cached cell first (:func:`~studio.core.compare.board.
  load_board_cache`, no model loaded), reports it as one ``{"layout": board, "chosen", "marked", "steps"}`` preview
  so the view lays out every column at once, then runs :class:`~studio.core.compare.board.RenderBoard`, whose
  ``{"column", "row", "cell"}`` previews fill the rest in as they are rendered.
* :class:`RunNotesJob` — "Use this checkpoint" and "Mark best": a small fsync'ed write of the run's meta.json
  (:func:`studio.core.training.runs.set_chosen_step`, :func:`~studio.core.training.runs.set_marked`).
* :class:`ExportBoardJob` — the HTML file (:func:`studio.core.compare.html_export.write_board_html`): embedding every
  picture and clip takes a moment on a large board.
"""

from __future__ import annotations

from pathlib import Path

import soundfile
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
)

from studio.core.jobs import JobContext
from studio.core.training import runs
from studio.ui.widgets.common.audio_player import AudioPlayer
from studio.ui.widgets.training.board import BoardView, cell_caption
from studio.ui.widgets.training.samples import PictureView

WINDOW = QSize(1200, 740)  # the board's window at most (on a 1280 × 800 screen it then fits with the task bar)
SCREEN_MARGIN = 40


# -- jobs ---------------------------------------------------------------------------------------------------------
class _Quiet(JobContext):
    """The outer job's progress and cancel, but no previews: the layout pass reports its cells in one piece."""

    def __init__(self, outer: JobContext) -> None:
        super().__init__(on_progress=outer.progress)
        self.outer = outer

    def check(self) -> None:
        self.outer.check()


class BoardJob:
    """Job: the board's layout with its cached cells (one preview), then the render (a preview per cell)."""

    title = "Comparing checkpoints"
    kind = "generate"

    def __init__(
        self,
        project_root: Path,
        run_ids: list[str],
        checkpoints: list[int] | None,
        seeds: int,
        prompts: list[str],
        sentences: list[str],
        device: str = "cpu",
    ) -> None:
        self.root = Path(project_root)
        self.args = (list(run_ids), checkpoints, int(seeds), list(prompts), list(sentences), str(device))

    def __call__(self, ctx: JobContext) -> dict:
        from studio.core.compare.board import RenderBoard, load_board_cache

        run_ids, checkpoints, seeds, prompts, sentences, device = self.args
        ctx.progress(0.0, "Reading the runs…")
        layout = load_board_cache(self.root, run_ids, checkpoints, seeds, prompts, sentences, device, ctx=_Quiet(ctx))
        folders = {str(r["run_id"]): self.root / runs.RUNS / str(r["run_id"]) for r in layout["runs"]}
        ctx.preview(
            {
                "layout": layout,
                "chosen": {run_id: runs.chosen_step(folder) for run_id, folder in folders.items()},
                "marked": {run_id: runs.marked_steps(folder) for run_id, folder in folders.items()},
                "steps": {run_id: [c.step for c in runs.checkpoints(folder)] for run_id, folder in folders.items()},
            }
        )
        ctx.check()
        return RenderBoard(self.root, run_ids, checkpoints, seeds, prompts, sentences, device)(ctx)


class RunNotesJob:
    """Job: store "Use this checkpoint" (``what="use"``) or a "Mark best" (``what="mark"``) in the run's meta.json.
    Returns ``{"run_id", "what", "step", "on", "chosen", "marked"}`` (what the run's notes now say)."""

    title = "Saving the run's choice"
    kind = "task"

    def __init__(self, folder: Path, run_id: str, what: str, step: int, on: bool = True) -> None:
        self.folder, self.run_id, self.what, self.step, self.on = Path(folder), run_id, what, int(step), bool(on)

    def __call__(self, ctx: JobContext) -> dict:
        if self.what == "use":
            runs.set_chosen_step(self.folder, self.step)
        else:
            runs.set_marked(self.folder, self.step, self.on)
        return {
            "run_id": self.run_id,
            "what": self.what,
            "step": self.step,
            "on": self.on,
            "chosen": runs.chosen_step(self.folder),
            "marked": runs.marked_steps(self.folder),
        }


class ExportBoardJob:
    """Job: the board as one self-contained HTML file; returns its path as text."""

    title = "Exporting the board"
    kind = "task"

    def __init__(self, project_root: Path, board: dict, out: Path) -> None:
        self.root, self.board, self.out = Path(project_root), board, Path(out)

    def __call__(self, ctx: JobContext) -> str:
        from studio.core.compare.html_export import write_board_html

        ctx.progress(0.0, "Writing the page…")
        return str(write_board_html(self.root, self.board, self.out))


def with_marks(board: dict, marked: dict[str, list[int]]) -> dict:
    """The board as exported: where the user marked columns of a run, those are its best (the badge in the page);
    a run with no marks keeps the engine's own best."""
    columns = []
    for column in board.get("columns") or []:
        steps = marked.get(str(column.get("run_id")))
        columns.append({**column, "best": column.get("step") in steps} if steps else dict(column))
    return {**board, "columns": columns}


# -- the enlarged cell --------------------------------------------------------------------------------------------
class CellDialog(QDialog):
    """One cell at a readable size: a picture enlarged by whole factors (real pixels), or a whole text. ← and →
    go to the same row of the previous and next checkpoint, which is how a change shows; Esc closes."""

    moved = Signal(int, int)  # column, row now shown

    def __init__(self, view: BoardView) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("boardCellDialog")
        self.setWindowTitle("Board cell")
        self.column = self.row = 0
        self.caption = QLabel("", objectName="runTitle")
        self.caption.setWordWrap(True)
        self.picture = PictureView(max_factor=16)
        self.text = QPlainTextEdit(objectName="boardCellText")
        self.text.setReadOnly(True)
        font = self.text.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.text.setFont(font)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.picture)
        self.stack.addWidget(self.text)
        self.earlier = QPushButton("‹ Earlier checkpoint", objectName="boardEarlier")
        self.earlier.setToolTip("The same row, one checkpoint before (←)")
        self.earlier.clicked.connect(self.show_earlier)
        self.later = QPushButton("Later checkpoint ›", objectName="boardLater")
        self.later.setToolTip("The same row, one checkpoint after (→)")
        self.later.clicked.connect(self.show_later)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.earlier)
        row.addWidget(self.later)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        layout.addLayout(row)
        for key, slot in ((Qt.Key.Key_Left, self.show_earlier), (Qt.Key.Key_Right, self.show_later)):
            QShortcut(QKeySequence(key), self, activated=slot)
        self.resize(720, 620)

    def show_cell(self, column: int, row: int) -> None:
        board = self.view.board or {}
        cells = board.get("cells") or []
        if not (0 <= column < len(cells) and 0 <= row < len(cells[column])):
            return
        self.column, self.row = column, row
        cell = cells[column][row]
        self.caption.setText(cell_caption(board, column, row))
        if board.get("modality") == "text":
            self.text.setPlainText(str((cell or {}).get("text") or "") if cell else "Not rendered yet.")
            self.stack.setCurrentWidget(self.text)
        else:
            path = self.view.cell_path(cell)
            self.picture.set_pixmap(QPixmap(str(path)) if path is not None else None)
            self.stack.setCurrentWidget(self.picture)
        self.earlier.setEnabled(column > 0)
        self.later.setEnabled(column < len(cells) - 1)
        self.moved.emit(column, row)

    def shown_text(self) -> str:
        return self.text.toPlainText() if self.stack.currentWidget() is self.text else ""

    @Slot()
    def show_earlier(self) -> None:
        self.show_cell(self.column - 1, self.row)

    @Slot()
    def show_later(self) -> None:
        self.show_cell(self.column + 1, self.row)


# -- the window ---------------------------------------------------------------------------------------------------
class BoardDialog(QDialog):
    """The board's window (see the module docstring). Clicking a cell enlarges a picture, opens a text, or plays
    a clip with the Speech panel's :class:`AudioPlayer`; where this computer has no sound output, the status line
    says so in plain words and nothing else happens."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("boardDialog")
        self.setWindowTitle("Compare checkpoints")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.view = BoardView()
        self.view.cell_activated.connect(self.open_cell)
        self.cell_dialog: CellDialog | None = None
        self.player: AudioPlayer | None = None  # made at the first clip played (tests put a fake one here)
        self._playing: tuple[int, int] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.addWidget(self.view)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else WINDOW
        self.resize(
            min(WINDOW.width(), room.width() - SCREEN_MARGIN), min(WINDOW.height(), room.height() - SCREEN_MARGIN)
        )

    @Slot(int, int)
    def open_cell(self, column: int, row: int) -> None:
        """A cell was clicked: a clip plays (or stops), a picture or a text opens enlarged."""
        if (self.view.board or {}).get("modality") == "audio":
            self.play_cell(column, row)
            return
        if self.cell_dialog is None:
            self.cell_dialog = CellDialog(self.view)
        self.cell_dialog.show_cell(column, row)
        self.cell_dialog.show()
        self.cell_dialog.raise_()
        self.cell_dialog.activateWindow()

    def play_cell(self, column: int, row: int) -> bool:
        """Play the clip of a cell (a second click stops it); False, with the reason shown, when it cannot."""
        if self.player is None:
            self.player = AudioPlayer(parent=self)
            self.player.playing_changed.connect(self._on_playing)
        if self.player.is_playing() and self._playing == (column, row):
            self.player.stop()
            return True
        if not self.player.probe():
            self.view.say(self.player.reason, "error")
            return False
        cells = (self.view.board or {}).get("cells") or []
        path = self.view.cell_path(cells[column][row]) if column < len(cells) and row < len(cells[column]) else None
        try:  # a sentence is a few seconds of audio: reading it here takes a millisecond or two
            samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True) if path else (None, 0)
        except (OSError, RuntimeError, ValueError):
            samples = None
        if samples is None:
            self.view.say("This clip cannot be read; render the board again to make it anew.", "error")
            return False
        self.player.load(samples.mean(axis=1), int(rate))
        self._playing = (column, row)
        return bool(self.player.play(0.0))

    @Slot(bool)
    def _on_playing(self, on: bool) -> None:
        column, row = self._playing or (-1, -1)
        self.view.set_playing(column, row, on)

    def closeEvent(self, event) -> None:
        if self.player is not None:
            self.player.stop()
        super().closeEvent(event)
