"""Help ▸ Keyboard shortcuts (generated from the window's actions) and Help ▸ Getting started (shown once)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget
from window_helpers import open_active_window

from studio.core.project import create_project
from studio.ui.dialogs.guide import GettingStartedDialog
from studio.ui.dialogs.shortcuts import KEY_SEPARATOR, ShortcutsDialog
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.training.monitor import SHORTCUTS

NATIVE = QKeySequence.SequenceFormat.NativeText


def _help_action(window: MainWindow, text: str) -> QAction:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in help_menu.actions() if a.text().replace("&", "") == text)


def _window_shortcuts(window: MainWindow) -> set[str]:
    """Every key sequence of every visible QAction found in the window, as the platform writes it."""
    owners = [window, *window.findChildren(QWidget)]
    actions = {id(a): a for w in owners for a in w.actions()} | {id(a): a for a in window.findChildren(QAction)}
    return {s.toString(NATIVE) for a in actions.values() if a.isVisible() for s in a.shortcuts() if not s.isEmpty()}


def test_the_shortcut_sheet_lists_every_shortcut_of_the_window(qtbot, studio_app):
    window = open_active_window(qtbot)
    qtbot.keyClick(window.nav, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)  # Help ▸ Keyboard Shortcuts
    sheet = window.findChild(ShortcutsDialog)
    assert sheet is not None and sheet.isVisible() and not sheet.isModal()

    shown = sheet.visible_rows()
    listed = {key for _group, _action, keys in shown for key in keys.split(KEY_SEPARATOR)}
    assert listed == _window_shortcuts(window)  # every shortcut, and nothing that is not one
    assert len(shown) == len(sheet.rows) and all(action for _group, action, _keys in shown)
    training = {key for group, _action, keys in shown if group == "Training panel" for key in keys.split(KEY_SEPARATOR)}
    assert training == {QKeySequence(keys).toString(NATIVE) for keys in SHORTCUTS.values()}  # the panel's table
    groups = list(dict.fromkeys(group for group, _action, _keys in shown))
    assert groups[:4] == ["File", "Edit", "View", "Help"] and "Dataset panel" in groups
    undo = QKeySequence(QKeySequence.StandardKey.Undo).toString(NATIVE)
    assert ("Edit", "Undo") in {(group, action) for group, action, keys in shown if undo in keys}

    sheet.search.setText("export")  # the search keeps the rows whose action, keys or group match
    assert {(g, a) for g, a, _k in sheet.visible_rows()} == {
        ("Training panel", "Export CSV"),
        ("Image canvas panel", "Export selected"),
        ("Text writer panel", "Export TXT"),
        ("Speech panel", "Export WAV"),
    }
    sheet.search.setText("no such key")
    assert sheet.visible_rows() == [] and sheet.nothing.isVisible()


def test_getting_started_shows_once_and_help_reopens_it(qtbot, studio_app, tmp_path):
    project = create_project(tmp_path / "Brand")
    AppSettings().add_recent_project(project.root)  # a project to reopen: no demo project is made meanwhile
    first = open_active_window(qtbot)
    first.restore_last_project()  # the start-up flow
    guide = first.findChild(GettingStartedDialog)
    assert guide is not None and guide.isVisible() and not guide.isModal()  # nothing waits on it
    assert first.project is not None and first.project.name == "Brand"  # the start-up went on meanwhile
    qtbot.mouseClick(guide.open_buttons["training"], Qt.MouseButton.LeftButton)
    assert first.current_panel_id == "training"
    first.close()
    assert not guide.isVisible()  # it goes with the window

    second = open_active_window(qtbot)  # the next launch
    second.restore_last_project()
    assert second.findChild(GettingStartedDialog) is None

    _help_action(second, "Getting Started").trigger()
    again = second.findChild(GettingStartedDialog)
    assert again is not None and again.isVisible()
    assert list(again.open_buttons) == ["dataset", "training", "image", "text", "speech"]
