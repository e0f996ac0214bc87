"""Edit ▸ Undo / Redo: Ctrl+Z reverts the shown panel's newest change wherever focus is in the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from studio.core.datasets.manifest import Manifest
from studio.core.project import create_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def _undo_keys() -> QKeySequence:
    """The platform's Undo keys (asked once a QApplication exists: the platform theme says which)."""
    return QKeySequence(QKeySequence.StandardKey.Undo)


def _pictures(root: Path) -> Path:
    """Six drawings and one 20×20 picture, which the health check flags as too small to train on."""
    folder = root / "sketches"
    folder.mkdir()
    for i in range(6):
        image = Image.new("RGB", (64, 64), (240, 240, 236))
        ImageDraw.Draw(image).ellipse([6 + i * 4, 8, 40 + i * 3, 50], fill=(40 * i, 90, 200 - 20 * i))
        image.save(folder / f"sketch{i}.png")
    Image.new("RGB", (20, 20), (10, 10, 10)).save(folder / "tiny.png")
    return folder


@pytest.fixture
def window(qtbot, studio_app, tmp_path) -> MainWindow:
    """The whole window, active (shortcuts reach only the active window), with one image dataset whose tiny
    picture was just excluded by the Drop flagged fix."""
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.set_project(create_project(tmp_path / "Brand"))
    panel = window.panels["dataset"]
    with qtbot.waitSignal(panel.import_done, timeout=30000):
        panel.import_paths([_pictures(tmp_path)])
    assert not window.undo_action.isEnabled()  # nothing done yet
    qtbot.mouseClick(panel.health.flagged_button, Qt.MouseButton.LeftButton)
    assert len(panel.manifest.usable()) == 6
    return window


def _ctrl_z(qtbot, widget: QWidget) -> None:
    """Focus ``widget`` and press the platform's Undo keys on it, as a user would."""
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)
    undo = _undo_keys()[0]
    qtbot.keyClick(widget, undo.key(), undo.keyboardModifiers())


def test_one_ctrl_z_action_in_the_window(window):
    """Two actions with one shortcut make Qt call it ambiguous, and then neither fires."""
    owners = [window, *window.findChildren(QWidget)]
    actions = {id(a): a for w in owners for a in w.actions()} | {id(a): a for a in window.findChildren(QAction)}
    assert [a for a in actions.values() if _undo_keys() in a.shortcuts()] == [window.undo_action]


@pytest.mark.parametrize("where", ["filter box", "thumbnail grid", "dataset list", "panel", "sidebar", "activity log"])
def test_ctrl_z_after_a_fix_undoes_it_wherever_focus_is(qtbot, window, where):
    panel = window.panels["dataset"]
    if where == "thumbnail grid":
        panel.tabs.setCurrentWidget(panel.browse)
    if where == "activity log":
        window.activity_dock.show()
    widget = {
        "filter box": panel.health.search,  # empty, so it has nothing of its own to undo and lets Ctrl+Z through
        "thumbnail grid": panel.grid.view,
        "dataset list": panel.dataset_list,
        "panel": panel,
        "sidebar": window.nav,
        "activity log": window.activity,
    }[where]
    if where == "panel":
        panel.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the panel itself holding focus (after a click on it)
    _ctrl_z(qtbot, widget)
    assert len(panel.manifest.usable()) == 7
    assert len(Manifest.load(panel.manifest.folder).usable()) == 7  # saved, as the fix was
    assert "Undid" in panel.banner.text.text()
    assert not window.undo_action.isEnabled()  # the history is empty again


def test_edit_menu_follows_the_shown_panels_history(qtbot, window):
    panel = window.panels["dataset"]
    assert window.undo_action.isEnabled() and window.undo_action.text() == "&Undo “drop flagged”"
    assert not window.redo_action.isEnabled() and window.redo_action.text() == "&Redo"  # nothing undone yet

    window.show_panel("training")  # the Training panel has no undoable history
    assert not window.undo_action.isEnabled() and window.undo_action.text() == "&Undo"
    _ctrl_z(qtbot, window.nav)
    assert len(panel.manifest.usable()) == 6  # Ctrl+Z there left the dataset alone

    window.show_panel("dataset")
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()  # the menu item, as a click would
    assert len(panel.manifest.usable()) == 7 and not window.undo_action.isEnabled()
    assert window.redo_action.isEnabled() and window.redo_action.text() == "&Redo “drop flagged”"


def test_redo_applies_the_undone_fix_again_and_a_new_change_ends_it(qtbot, window):
    panel = window.panels["dataset"]
    _ctrl_z(qtbot, window.nav)
    assert len(panel.manifest.usable()) == 7
    redo = window.redo_action.shortcuts()[0][0]
    qtbot.keyClick(window.nav, redo.key(), redo.keyboardModifiers())
    assert len(panel.manifest.usable()) == 6
    assert len(Manifest.load(panel.manifest.folder).usable()) == 6  # saved, as the undo was
    assert "again" in panel.banner.text.text()
    assert window.undo_action.isEnabled() and not window.redo_action.isEnabled()

    _ctrl_z(qtbot, window.nav)  # undo the redone fix: the first undo's record still holds
    assert len(panel.manifest.usable()) == 7 and window.redo_action.isEnabled()
    panel.exclude_items([panel.manifest.usable()[0]["id"]])  # a new change: the undone fix cannot come back
    assert not window.redo_action.isEnabled()
    assert len(panel.manifest.usable()) == 6


def test_undo_and_redo_go_to_the_shown_panel(qtbot, window):
    """The Edit menu speaks a protocol every panel has: a panel that overrides it gets Ctrl+Z and Redo."""
    writer = window.panels["text"]
    calls = []
    writer.can_undo = lambda: True
    writer.can_redo = lambda: True
    writer.undo = lambda: calls.append("undo")
    writer.redo = lambda: calls.append("redo")
    window.show_panel("text")
    assert window.undo_action.isEnabled() and window.redo_action.isEnabled()
    _ctrl_z(qtbot, window.nav)
    redo = window.redo_action.shortcuts()[0][0]
    qtbot.keyClick(window.nav, redo.key(), redo.keyboardModifiers())
    assert calls == ["undo", "redo"]
    assert len(window.panels["dataset"].manifest.usable()) == 6  # the dataset panel, not shown, is unchanged
