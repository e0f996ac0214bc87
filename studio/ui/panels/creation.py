"""What the creation panels (image canvas, text writer, speech) share, written once.

* :class:`CreationPanel`: a banner above the content; the three columns (controls with the main buttons pinned
  below, the work area, the detail tabs) and the line above the work area (its title, the words and the small
  bar of the job under way, see :class:`ProgressLine`); starting a job so that the line follows it; the
  Training panel's "Open in …" path read into a run and a step.
* :class:`ModelListPanel`: a creation panel whose models are the project's runs (and starter models), listed in
  a job — the canvas and the writer: listing them again, the empty states, and why *Generate* cannot run yet.

Only what the panels really do alike lives here; what differs stays in each panel, readable top to bottom.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, QSize, Qt, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.base import Panel
from studio.ui.widgets.common.banner import Banner
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.gallery_history import GalleryHistory
from studio.workers.job_slot import JobSlot

NO_CHECKPOINT = (
    "This run has no checkpoint yet. Training saves one every few hundred steps (or press Save now in Training)."
)


class ProgressLine(QObject):
    """The words and the small bar beside a creation panel's work-area title.

    It follows one job slot at a time, the one started last, so two jobs never fight over it: that job's
    progress moves the bar (never backwards) and sets the words — through ``words(fraction, message)`` when
    given, which may return "" to leave them — and its end hides the bar (and clears the words, unless the
    panel's outcome handlers say what happened there themselves: ``clear_words=False``).
    """

    def __init__(self, bar: QProgressBar, status: QLabel, parent: QObject, clear_words: bool = True) -> None:
        super().__init__(parent)
        self.bar, self.status, self.clear_words = bar, status, clear_words
        self.title = ""  # the followed job's title
        self.started_at = 0.0  # time.monotonic() when the followed job started (for a time-left estimate)
        self._words: Callable[[float, str], str] | None = None
        self._connections: list[QMetaObject.Connection] = []

    def follow(self, slot: JobSlot, text: str, words: Callable[[float, str], str] | None = None) -> None:
        """Follow ``slot``'s job (just started): show ``text`` and an empty bar."""
        for connection in self._connections:
            QObject.disconnect(connection)
        self._connections = [slot.progress.connect(self._on_progress), slot.busy_changed.connect(self._on_busy)]
        self.title = slot.runner.title if slot.runner is not None else ""
        self._words = words
        self.started_at = time.monotonic()
        self.bar.setValue(0)
        self.bar.setVisible(True)
        self.status.setText(text)

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(max(self.bar.value(), int(fraction * 1000)))
        text = self._words(fraction, message) if self._words is not None else message
        if text:
            self.status.setText(text)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.bar.setVisible(False)
            if self.clear_words:
                self.status.setText("")


class CreationPanel(Panel):
    """A panel that makes something: banner, work-area line with a progress line, jobs that it follows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self._pending: dict = {}  # the model to select once the list arrives (restored state, "Open in …")
        self.history: GalleryHistory | None = None  # what the panel made, kept in the project's gallery
        self.banner = Banner()
        self.body.addWidget(self.banner)
        self.body.addSpacing(4)

    # -- the History: what the panel made, kept in the project's gallery --------------------------------------
    def make_history(self, **options) -> GalleryHistory:
        """The panel's History tab, wired as every creation panel wants it: Reopen goes to ``reopen_item``,
        Compare checkpoints to the window (``compare_requested``), its deletes to the Edit menu, its messages to
        the banner. The panel adds what is its own (the canvas's stars, the speech panel's play button)."""
        self.history = GalleryHistory(self.panel_id, self.job_slot, **options)
        self.history.reopen_requested.connect(self.reopen_item)
        self.history.compare_requested.connect(self.compare_requested)
        self.history.changed.connect(self.history_changed)
        self.history.message.connect(self.banner.show_message)
        return self.history

    def reopen_item(self, row: dict) -> None:
        """Bring back a History row in the panel (each creation panel says how)."""
        raise NotImplementedError

    # -- Edit ▸ Undo and Redo: deletes in the History (the panel's only undoable changes) ------------------------
    def can_undo(self) -> bool:
        return self.history is not None and self.history.can_undo()

    def undo_label(self) -> str:
        return self.history.undo_label() if self.history is not None else ""

    def undo(self) -> None:
        if self.history is not None:
            self.history.undo()

    def can_redo(self) -> bool:
        return self.history is not None and self.history.can_redo()

    def redo_label(self) -> str:
        return self.history.redo_label() if self.history is not None else ""

    def redo(self) -> None:
        if self.history is not None:
            self.history.redo()

    # -- layout: controls | work area | details -----------------------------------------------------------------
    def work_bar(self, title: QLabel, *extras: QWidget, clear_words: bool = True) -> QHBoxLayout:
        """The line above the work area: its title, then the words and the small bar of the job under way
        (``self.status``, ``self.progress``, followed by ``self.progress_line``), then ``extras``."""
        self.status = QLabel(objectName="mutedLabel")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # the title keeps room
        self.progress = self.job_progress_bar()
        self.progress_line = ProgressLine(self.progress, self.status, self, clear_words)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(title)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.progress)
        for extra in extras:
            bar.addWidget(extra)
        return bar

    @staticmethod
    def controls_column(card: QWidget, prefix: str, action_bar: QWidget | None = None, min_width: int = 320) -> QWidget:
        """The creation panels' left column: the controls card at the top of a scroll area (so a short window
        scrolls it instead of squeezing it), and the panel's main buttons pinned below, always in view.
        ``prefix`` names the widgets for the style sheet (``<prefix>Left``, ``<prefix>Scroll``)."""
        inner = QWidget(objectName=f"{prefix}Left")
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 4, 0)  # beside the scroll bar, which shows only when needed
        inner_layout.addWidget(card)
        inner_layout.addStretch(1)
        inner.setAutoFillBackground(False)
        scroll = _ColumnScroll(min_width, objectName=f"{prefix}Scroll")
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.viewport().setAutoFillBackground(False)
        column = QWidget(objectName=f"{prefix}Left")
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(scroll, 1)
        if action_bar is not None:
            layout.addWidget(action_bar)
        return column

    @staticmethod
    def job_progress_bar(name: str = "jobProgress") -> QProgressBar:
        """The small, hidden-until-busy progress bar beside a creation panel's title."""
        bar = QProgressBar(objectName=name)
        bar.setRange(0, 1000)
        bar.setTextVisible(False)
        bar.setFixedWidth(120)
        bar.setVisible(False)
        return bar

    @staticmethod
    def side_tabs(pages, min_width: int = 250) -> QTabWidget:
        """The creation panels' right column: ``(widget, label)`` pages as flat tabs."""
        tabs = QTabWidget(objectName="sideTabs")
        tabs.setDocumentMode(True)
        for page, label in pages:
            tabs.addTab(page, label)
        tabs.setMinimumWidth(min_width)
        return tabs

    @staticmethod
    def hinted_page(hint: QLabel, widget: QWidget) -> QWidget:
        """A side tab's page: a short wrapped hint above a list that takes the height."""
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(6)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(widget, 1)
        return page

    @staticmethod
    def three_columns(left: QWidget, centre: QWidget, right: QWidget, sizes: list[int]) -> QSplitter:
        """The creation panels' layout: controls | work area (takes the extra width) | details."""
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        for widget in (left, centre, right):
            splitter.addWidget(widget)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes(sizes)
        return splitter

    @staticmethod
    def run_keys(name: str, slot) -> tuple[tuple, tuple]:
        """The shortcut rows for a panel's main action: Ctrl+Return, and Ctrl+Enter (the keypad's Enter)."""
        return (name, "Ctrl+Return", slot), (f"{name}_enter", "Ctrl+Enter", slot)

    # -- jobs -------------------------------------------------------------------------------------------------
    def start_job(
        self,
        slot: JobSlot,
        job: Any,
        busy_text: str | None = None,
        words: Callable[[float, str], str] | None = None,
        **handlers,
    ) -> Any:
        """Start ``job`` in ``slot`` (replacing its previous job) with ``handlers``, and let the progress line
        follow it, first saying ``busy_text`` (by default the job's title and "…"). Returns the runner."""
        self.banner.hide()  # an earlier message is about an earlier request
        runner = slot.start(job, **handlers)
        self.progress_line.follow(slot, f"{runner.title}…" if busy_text is None else busy_text, words)
        return runner

    @staticmethod
    def checkpoint_run(path: str) -> tuple[str, int | None]:
        """The Training panel's "Open in …" gives ``<run>/checkpoints/step-N.json``: (run id, N or None)."""
        record = Path(path)
        try:
            step: int | None = int(record.stem.split("-")[-1])
        except ValueError:
            step = None
        return record.parent.parent.name, step

    @staticmethod
    def restored_step(state: dict) -> int | None:
        try:
            return int(state["step"]) if state.get("step") is not None else None
        except (TypeError, ValueError):
            return None

    @staticmethod
    def fill_empty(empty: EmptyState, title: str, body: str, width: int) -> None:
        """Fill an empty state so its text is never cut: the shared widget sizes its word-wrapped body from a
        guessed width, which clips the last lines of a longer text; a fixed width and the height for it fix
        that."""
        empty.set_text(title, body)
        empty.body.setFixedWidth(width)
        empty.body.setMinimumHeight(empty.body.heightForWidth(width))


class ModelListPanel(CreationPanel):
    """A creation panel whose models are the project's runs, listed in a job (the canvas and the writer).

    Subclasses set the class attributes below, build ``self.controls`` (a model picker: ``set_models``,
    ``select``, ``info``, ``run_id``, ``step``) and ``self.empty`` / ``self.content`` / ``self.stack``, and
    define ``_on_models(result)`` (what the panel does with the list) and ``_update_view()``.
    """

    LIST_MODELS: Any = None  # the job class that lists them: LIST_MODELS(backend, project_root)
    MODELS = ""  # "image models": "Looking for image models…", "The image models could not be listed."
    GENERATION = ""  # "Image generation is not installed in this build…"
    NO_PROJECT = ("", "")  # the empty state's title and text with no project open
    NO_MODELS = ("", "")  # … and with a project that has no model yet

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models: list[dict] | None = None  # None until listed
        self.available = True  # False when this build lacks the generation core
        self.models_slot = self.job_slot()
        self.generate_slot = self.job_slot()

    # -- the list ---------------------------------------------------------------------------------------------
    def set_backend(self, backend) -> None:
        """Use another generation core (tests pass a fake); lists the models again."""
        self.backend = backend
        self.refresh_models()

    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        if self.project is not None and self.models is None:
            self.refresh_models()

    @Slot()
    @Slot(str)
    def refresh_models(self, *_args) -> None:
        """List the project's runs again (a job: it reads every run's folder); a newer list replaces an older."""
        if self.registry is None or self.project is None:
            return
        self.models_slot.start(
            self.LIST_MODELS(self.backend, self.project.root), succeeded=self._on_models, failed=self._on_models_failed
        )

    @Slot(str)
    def _on_models_failed(self, message: str) -> None:
        self.models = []
        self.banner.show_message(f"The {self.MODELS} could not be listed. {message}", "error")
        self._update_view()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.project is not None and self.models is not None and not self.generate_slot.is_running():
            self.refresh_models()  # new runs or checkpoints may have appeared while another panel was shown

    # -- what is shown ----------------------------------------------------------------------------------------
    def show_content_or_empty(self) -> None:
        """The empty state with no project or no model yet (with "Go to Training" then), else the content."""
        if self.project is None:
            self.fill_empty(self.empty, *self.NO_PROJECT, 440)
            self.empty.button.setVisible(False)
            self.stack.setCurrentWidget(self.empty)
        elif self.models is not None and not self.models:
            self.fill_empty(self.empty, *self.NO_MODELS, 440)
            self.empty.button.setVisible(True)
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.content)

    def why_not_generate(self) -> str:
        """Why *Generate* cannot run with the chosen model ("" when it can)."""
        info = self.controls.info()
        if self.models is None:
            return f"Looking for {self.MODELS}…"
        if not self.available:
            return f"{self.GENERATION} is not installed in this build. Reinstall AIGC Studio to get it."
        if info is None:
            return "Pick a model first."
        if not info.get("steps"):
            return NO_CHECKPOINT
        return ""

    # -- state ------------------------------------------------------------------------------------------------
    def model_state(self) -> dict:
        """The chosen run and checkpoint (or the ones still waiting for the list) for save_state."""
        state = {}
        run = self.controls.run_id() or self._pending.get("run")
        if run:
            state["run"] = run
            step = self.controls.step() if self.controls.run_id() else self._pending.get("step")
            if step is not None:
                state["step"] = step
        return state

    @Slot()
    def _go_to_training(self) -> None:
        self.navigate.emit("training")


class _ColumnScroll(QScrollArea):
    """A scroll area that scrolls only down: it is never narrower than its column's content needs. With the
    sideways scroll bar off, a plain QScrollArea as narrow as its layout made it cut the content's right edge
    (the writer's fields and its fourth Variants button at 1280 × 800), and nothing showed the rest."""

    def __init__(self, min_width: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_width = min_width

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        content = self.widget()
        needs = 0 if content is None else content.minimumSizeHint().width()
        needs += 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(self.min_width, hint.width(), needs), hint.height())
