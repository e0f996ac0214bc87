"""What every panel shares: a header (title, subtitle) above its content, the project hooks, and job slots."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.project import Project
from studio.ui.widgets.common.empty_state import EmptyState
from studio.workers.job_slot import JobSlot


class Panel(QWidget):
    """Subclasses set the class attributes and fill ``self.body``."""

    panel_id = ""
    title = ""
    subtitle = ""
    icon_name = ""

    # Ask the main window to switch to another panel (by id), e.g. an empty state's "Go to Dataset".
    navigate = Signal(str)
    # What can_undo()/can_redo() answer may have changed: the window's Edit menu reads them again, so its
    # Undo is enabled exactly when there is something to undo (a disabled action's Ctrl+Z does nothing).
    history_changed = Signal()
    # Show a run's checkpoints side by side on the comparison board (a run id): a creation panel's history asks,
    # the window connects it to the Training panel.
    compare_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel_{self.panel_id}")
        self.project: Project | None = None
        self.registry = None  # the window's JobRegistry, given through set_registry()
        self._job_slots: list[JobSlot] = []
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
        """``(name, key sequence, slot[, label])`` rows as actions that work while focus is anywhere in this
        panel. The label (by default the slot's name in words: ``export_csv`` → "Export CSV") is what Help ▸
        Keyboard shortcuts lists, so the sheet is read from these actions and cannot drift from the table."""
        actions = {}
        for name, keys, slot, *label in table:
            action = QAction(label[0] if label else action_label(slot, name), self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            actions[name] = action
        return actions

    # -- the Edit menu's history protocol: a panel with an undoable history overrides these ----------------
    def can_undo(self) -> bool:
        """True when :meth:`undo` would change something (the Edit menu enables Undo from it)."""
        return False

    def undo_label(self) -> str:
        """A few words naming what Undo reverts ("drop flagged"), shown as "Undo “drop flagged”"; "" if none."""
        return ""

    def undo(self) -> None:
        """Revert this panel's newest change (Edit ▸ Undo, Ctrl+Z wherever focus is in the window)."""

    def can_redo(self) -> bool:
        """True when :meth:`redo` would apply again something :meth:`undo` reverted."""
        return False

    def redo_label(self) -> str:
        """A few words naming what Redo applies again, as :meth:`undo_label`; "" if none."""
        return ""

    def redo(self) -> None:
        """Apply again what :meth:`undo` reverted (Edit ▸ Redo)."""

    def job_slot(self) -> JobSlot:
        """A :class:`JobSlot` for one purpose of this panel (listing models, generating…): starting a job in
        it cancels and disconnects the slot's previous job, so only the newest answer reaches the panel. It
        starts jobs through the window's registry once :meth:`set_registry` has given it."""
        slot = JobSlot(self.registry, parent=self)
        self._job_slots.append(slot)
        return slot

    @Slot()
    def _on_empty_action(self) -> None:
        if self._go_to:
            self.navigate.emit(self._go_to)

    def set_registry(self, registry) -> None:
        """The window's JobRegistry: panels start every background job through it (their job slots too)."""
        self.registry = registry
        for slot in self._job_slots:
            slot.set_registry(registry)

    def set_project(self, project: Project | None) -> None:
        """Called when a project is opened or closed; panels refresh what they list."""
        self.project = project

    def save_state(self) -> dict:
        """Plain values to remember between sessions (splitters, last choices)."""
        return {}

    def restore_state(self, state: dict) -> None:
        pass


# Words that read better in capitals in a shortcut's label ("Export CSV", not "Export csv").
_ACRONYMS = {"csv": "CSV", "wav": "WAV", "txt": "TXT", "gif": "GIF", "png": "PNG", "mp4": "MP4"}


def action_label(slot, name: str) -> str:
    """A shortcut's label from its slot's name (``toggle_pause`` → "Toggle pause"), else from its row name."""
    words = str(getattr(slot, "__name__", "") or name).strip("_").split("_")
    text = " ".join(_ACRONYMS.get(word, word) for word in words if word)
    return text[:1].upper() + text[1:]
