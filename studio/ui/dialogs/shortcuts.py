"""Help ▸ Keyboard shortcuts: every key of the window, read from the actions that exist when it opens.

Why generated: a hand-written sheet drifts the day a panel's shortcut table changes. This one walks the menu bar
(File, Edit, View, Help…) and then every QAction and QShortcut under the window (each panel's
``add_shortcuts`` table, the Training panel's ``SHORTCUTS`` among them, and widgets' own actions such as the
thumbnail grid's Delete), so what it lists is exactly what the keys do. Rows are grouped where a key works: a
menu's keys anywhere in the window, a panel's while that panel is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

WINDOW_GROUP = "Window"  # keys that belong to no menu and no panel (e.g. a dock's own action)
KEY_SEPARATOR = " or "  # not a comma: "Ctrl+," and "Ctrl+." are keys themselves


@dataclass
class ShortcutRow:
    group: str  # where the keys work: a menu ("Edit") or a panel ("Training panel")
    label: str  # what they do, in the words of the action ("Undo", "Export CSV")
    keys: list[str]  # every key sequence, as this platform writes it ("Ctrl+Z", "Alt+Backspace")


def key_texts(sequences) -> list[str]:
    """The non-empty sequences as the platform writes them (⌘Z on macOS, Ctrl+Z elsewhere)."""
    texts = (QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
    return [text for text in texts if text]


def _clean(text: str) -> str:
    """A menu text without its mnemonic ("&Open Recent" → "Open Recent", "R&&D" → "R&D")."""
    return re.sub(r"&(.)", r"\1", text).strip()


def _words(class_name: str) -> str:
    """``ThumbnailGrid`` → "Thumbnail grid": the fallback name of an action nobody gave a text."""
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", class_name.removeprefix("Q")) or [class_name]
    return " ".join([words[0], *(w.lower() for w in words[1:])])


class _Collector:
    """Gathers the rows once: menus first (in menu-bar order), then the panels' and widgets' own keys."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.panels: dict = dict(getattr(window, "panels", {}))
        self.rows: list[ShortcutRow] = []
        self._seen: set[int] = set()
        self._by_label: dict[tuple[str, str], ShortcutRow] = {}

    def collect(self) -> list[ShortcutRow]:
        for top in self.window.menuBar().actions():
            if top.menu() is not None:
                self._walk_menu(top.menu(), _clean(top.text()))
        for action in self._all_actions():
            if id(action) not in self._seen and action.isVisible():
                self._add(self._group(action), action, key_texts(action.shortcuts()))
        for shortcut in self.window.findChildren(QShortcut):
            if shortcut.isEnabled():
                label = shortcut.whatsThis() or shortcut.objectName()
                self._add(self._group(shortcut), shortcut, key_texts(shortcut.keys()), label)
        return self._ordered()

    def _walk_menu(self, menu: QMenu, group: str) -> None:
        for action in menu.actions():
            self._seen.add(id(action))
            if action.menu() is not None:
                self._walk_menu(action.menu(), group)
            elif action.isVisible():
                self._add(group, action, key_texts(action.shortcuts()))

    def _all_actions(self) -> list[QAction]:
        """Actions owned by the window's objects and actions added to its widgets (they may be owned elsewhere)."""
        found: dict[int, QAction] = {id(a): a for a in self.window.findChildren(QAction)}
        for widget in [self.window, *self.window.findChildren(QWidget)]:
            for action in widget.actions():
                found.setdefault(id(action), action)
        return list(found.values())

    def _group(self, obj: QObject) -> str:
        """The panel the object lives in ("Dataset panel"), else the window."""
        owners = [obj.parent()]
        if isinstance(obj, QAction):
            owners += list(obj.associatedObjects())
        panels = {id(panel): panel for panel in self.panels.values()}
        for owner in owners:
            while owner is not None:
                if id(owner) in panels:
                    return f"{panels[id(owner)].title} panel"
                owner = owner.parent()
        return WINDOW_GROUP

    def _add(self, group: str, obj: QObject, keys: list[str], label: str = "") -> None:
        self._seen.add(id(obj))
        if not keys:
            return
        label = label or (obj.iconText() if isinstance(obj, QAction) else "")  # the text less "&" and "…"
        if not label:  # an action nobody named: say whose it is rather than leave a blank row
            owner = obj.parent()
            self.rows.append(ShortcutRow(group, _words(type(owner).__name__ if owner else "Window"), keys))
            return
        row = self._by_label.get((group, label))  # Ctrl+Return and Ctrl+Enter both "Generate": one row
        if row is None:
            row = self._by_label[(group, label)] = ShortcutRow(group, label, [])
            self.rows.append(row)
        row.keys.extend(key for key in keys if key not in row.keys)

    def _ordered(self) -> list[ShortcutRow]:
        menus = [_clean(a.text()) for a in self.window.menuBar().actions()]
        panels = [f"{panel.title} panel" for panel in self.panels.values()]
        order = {group: i for i, group in enumerate([*menus, *panels, WINDOW_GROUP])}
        return sorted(self.rows, key=lambda row: order.get(row.group, len(order)))  # stable: found order within


def collect_shortcuts(window: QMainWindow) -> list[ShortcutRow]:
    """Every shortcut of ``window`` (menus, panels' tables, widgets' own keys), grouped where it works."""
    return _Collector(window).collect()


class ShortcutsDialog(QDialog):
    """The sheet: a search field above the rows, grouped by menu and panel. Not modal: it can stay open beside
    the window while the user tries the keys."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.rows: list[ShortcutRow] = []
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 620)
        self.search = QLineEdit(objectName="shortcutSearch", placeholderText="Search by action or key, e.g. undo")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_filter)
        self.tree = QTreeWidget(objectName="shortcutTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.note = QLabel(
            "Menu keys work anywhere in the window; a panel's keys work while that panel is shown.",
            objectName="mutedLabel",
        )
        self.note.setWordWrap(True)
        self.nothing = QLabel(objectName="mutedLabel", alignment=Qt.AlignmentFlag.AlignCenter)
        self.nothing.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.nothing)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Read the window's actions again (a panel may have added some since the sheet was last open)."""
        self.rows = collect_shortcuts(self.window_)
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for row in self.rows:
            parent = groups.get(row.group)
            if parent is None:
                parent = groups[row.group] = QTreeWidgetItem(self.tree, [row.group])
                parent.setFirstColumnSpanned(True)
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
            item = QTreeWidgetItem(parent, [row.label, KEY_SEPARATOR.join(row.keys)])
            item.setToolTip(1, KEY_SEPARATOR.join(row.keys))
        self.tree.expandAll()
        self.set_filter(self.search.text())

    @Slot(str)
    def set_filter(self, text: str) -> None:
        """Show the rows whose action, keys or group contain every word typed (any case)."""
        words = text.lower().split()
        shown = 0
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            visible = 0
            for r in range(group.childCount()):
                item = group.child(r)
                haystack = f"{group.text(0)} {item.text(0)} {item.text(1)}".lower()
                match = all(word in haystack for word in words)
                item.setHidden(not match)
                visible += match
            group.setHidden(visible == 0)
            shown += visible
        self.nothing.setText(f"No shortcut matches “{text.strip()}”.")
        self.nothing.setVisible(shown == 0)
        self.tree.setVisible(shown > 0)

    def visible_rows(self) -> list[tuple[str, str, str]]:
        """(group, action, keys) of the rows shown now: what a user reads (tests compare it with the actions)."""
        shown = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for r in range(group.childCount()):
                item = group.child(r)
                if not group.isHidden() and not item.isHidden():
                    shown.append((group.text(0), item.text(0), item.text(1)))
        return shown

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)
        self.search.setFocus()
