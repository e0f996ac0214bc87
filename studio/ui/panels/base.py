"""What every panel shares: a header (title, subtitle) above its content, and the project hooks."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.project import Project
from studio.ui.widgets.empty_state import EmptyState


class Panel(QWidget):
    """Subclasses set the class attributes and fill ``self.body``."""

    panel_id = ""
    title = ""
    subtitle = ""
    icon_name = ""

    # Ask the main window to switch to another panel (by id), e.g. an empty state's "Go to Dataset".
    navigate = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel_{self.panel_id}")
        self.project: Project | None = None
        self.registry = None  # the window's JobRegistry, given through set_registry()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 22)
        outer.setSpacing(4)
        outer.addWidget(QLabel(self.title, objectName="panelTitle"))
        subtitle = QLabel(self.subtitle, objectName="panelSubtitle")
        subtitle.setWordWrap(True)
        outer.addWidget(subtitle)
        outer.addSpacing(12)
        self.body = QVBoxLayout()
        outer.addLayout(self.body, 1)

    def add_empty_state(self, title: str, body: str, go_to: tuple[str, str] | None = None) -> EmptyState:
        """Show a placeholder; ``go_to=(panel_id, "Go to …")`` adds a button that switches panels."""
        empty = EmptyState(title, body, action=go_to[1] if go_to else None)
        self._go_to = go_to[0] if go_to else None
        empty.action_triggered.connect(self._on_empty_action)
        self.body.addWidget(empty)
        return empty

    def add_scrolling_stack(self, scroll_name: str, *pages: QWidget) -> QStackedWidget:
        """Put ``pages`` (e.g. an empty state and the content) in a stack that scrolls below its minimum size,
        so the panel scrolls instead of squeezing plots and tiles while the window can still be made small."""
        stack = QStackedWidget()
        for page in pages:
            stack.addWidget(page)
        outer = QScrollArea(objectName=scroll_name)
        outer.setWidget(stack)
        outer.setWidgetResizable(True)
        outer.setFrameShape(QFrame.Shape.NoFrame)
        outer.viewport().setAutoFillBackground(False)
        stack.setAutoFillBackground(False)
        self.body.addWidget(outer, 1)
        return stack

    def add_shortcuts(self, table) -> dict[str, QAction]:
        """``(name, key sequence, slot)`` rows as actions that work while focus is anywhere in this panel."""
        actions = {}
        for name, keys, slot in table:
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            actions[name] = action
        return actions

    @staticmethod
    def controls_column(card: QWidget, prefix: str, action_bar: QWidget | None = None, min_width: int = 320) -> QWidget:
        """The creation panels' left column: the controls card at the top of a scroll area (so a short window
        scrolls it instead of squeezing it), and the panel's main buttons pinned below, always in view.
        ``prefix`` names the widgets for the style sheet (``<prefix>Left``, ``<prefix>Scroll``)."""
        inner = QWidget(objectName=f"{prefix}Left")
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 14, 0)
        inner_layout.addWidget(card)
        inner_layout.addStretch(1)
        inner.setAutoFillBackground(False)
        scroll = QScrollArea(objectName=f"{prefix}Scroll")
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
        column.setMinimumWidth(min_width)
        return column

    @staticmethod
    def job_progress_bar(name: str = "canvasProgress") -> QProgressBar:
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
        tabs = QTabWidget(objectName="canvasTabs")
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

    def replace_job(self, previous, job, succeeded, failed):
        """Cancel ``previous`` (a runner) if it still runs and start ``job`` in its place, so a list refreshed
        twice shows only the newer answer (the slots check ``self.sender()`` against the runner returned)."""
        if previous is not None and previous.is_running():
            previous.cancel()
        runner = self.registry.start(job)
        runner.succeeded.connect(succeeded)
        runner.failed.connect(failed)
        return runner

    @Slot()
    def _on_empty_action(self) -> None:
        if self._go_to:
            self.navigate.emit(self._go_to)

    def set_registry(self, registry) -> None:
        """The window's JobRegistry: panels start every background job through it."""
        self.registry = registry

    def set_project(self, project: Project | None) -> None:
        """Called when a project is opened or closed; panels refresh what they list."""
        self.project = project

    def save_state(self) -> dict:
        """Plain values to remember between sessions (splitters, last choices)."""
        return {}

    def restore_state(self, state: dict) -> None:
        pass
