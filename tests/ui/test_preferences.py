"""Edit ▸ Preferences: the theme, the CPU threads, the projects folder and the device, each applied at once and
remembered."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from window_helpers import open_active_window

from studio import paths
from studio.core.project import create_project
from studio.core.training import devices
from studio.core.training.devices import DeviceInfo
from studio.ui import theme
from studio.ui.dialogs import preferences as preferences_module
from studio.ui.dialogs.preferences import PreferencesDialog
from studio.ui.main_window import MainWindow
from studio.ui.new_project_dialog import NewProjectDialog
from studio.ui.settings import AppSettings


@pytest.fixture(autouse=True)
def _forget_the_preferences():
    """The hooks are module values: leave them as a fresh start finds them, for the tests that come after."""
    yield
    devices.set_window_thread_limit(None)
    paths.set_projects_dir(None)


def _open_preferences(qtbot, window: MainWindow) -> PreferencesDialog:
    qtbot.keyClick(window.nav, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # Ctrl+,
    dialog = window.findChild(PreferencesDialog)
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    return dialog


def _pick(qtbot, combo, text: str) -> None:
    """Choose the entry ``text`` as a person does with the keyboard: focus the list, type its first letters."""
    combo.setFocus()
    qtbot.wait(QApplication.keyboardInputInterval() + 50)  # a new search, not the end of the previous one
    qtbot.keyClicks(combo, text[:4])
    assert combo.currentText() == text


def test_the_dark_theme_applies_at_once_and_is_remembered(qtbot, studio_app):
    window = open_active_window(qtbot)
    dialog = _open_preferences(qtbot, window)
    assert dialog.theme_mode.currentText() == "Follow the system"
    repainted = []
    theme.signals.changed.connect(repainted.append)
    try:
        _pick(qtbot, dialog.theme_mode, "Dark")
        page = studio_app.palette().color(QPalette.ColorRole.Window)
        assert page.lightnessF() < 0.15 and page.name().upper() == theme.DARK_ANCHORS["#F6F7FB"]
        assert theme.is_dark() and repainted == [True]  # painted widgets hear of it (the window repaints them)
        assert AppSettings().theme == "dark"  # a new settings object (the next launch) reads it back
        _pick(qtbot, dialog.theme_mode, "Light")
        assert studio_app.palette().color(QPalette.ColorRole.Window).name().upper() == "#F6F7FB"
        assert AppSettings().theme == "light"
    finally:
        theme.signals.changed.disconnect(repainted.append)
        theme.apply(studio_app, "light")


def test_the_cpu_threads_reach_the_jobs_started_from_the_window(qtbot, studio_app, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    window = open_active_window(qtbot)
    dialog = _open_preferences(qtbot, window)
    assert dialog.threads.value() == 7 and devices.threads_beside_a_window() == 7  # all cores but one

    dialog.threads.setFocus()
    for _ in range(4):
        qtbot.keyClick(dialog.threads, Qt.Key.Key_Down)
    assert devices.threads_beside_a_window() == 3  # what the canvas, writer, speech and training jobs ask for
    assert AppSettings().cpu_threads == 3
    training = window.panels["training"]
    training.set_devices([DeviceInfo("cpu", "cpu", "CPU")])
    assert training.device()[1].startswith("the CPU, 3 of its 8 threads")

    devices.set_window_thread_limit(None)  # a new launch: the window hands the saved number on at start-up
    open_active_window(qtbot)
    assert devices.threads_beside_a_window() == 3

    dialog.threads.setValue(7)  # back to the default: nothing fixed is saved, another machine gets its own
    assert AppSettings().cpu_threads is None and devices.threads_beside_a_window() == 7
    devices.set_window_thread_limit(64)  # a settings file from a bigger machine
    assert devices.threads_beside_a_window() == 8


def test_the_projects_folder_is_what_new_project_and_the_demo_use(qtbot, studio_app, tmp_path, monkeypatch):
    old = create_project(paths.projects_dir() / "Spring Campaign")
    chosen = tmp_path / "Client work"
    chosen.mkdir()
    window = open_active_window(qtbot)
    dialog = _open_preferences(qtbot, window)
    assert dialog.folder.full_text() == str(paths.default_projects_dir())
    assert not dialog.default_folder.isEnabled()

    monkeypatch.setattr(preferences_module.QFileDialog, "getExistingDirectory", lambda *_a: str(chosen))
    qtbot.mouseClick(dialog.choose_folder, Qt.MouseButton.LeftButton)
    assert dialog.folder.full_text() == str(chosen) and dialog.folder.toolTip() == str(chosen)
    assert AppSettings().projects_folder == str(chosen)
    assert NewProjectDialog().location.text() == str(chosen)
    assert (old.root / "project.json").is_file()  # existing projects stay where they are

    devices.set_window_thread_limit(None)
    paths.set_projects_dir(None)  # a new launch: the window hands the saved folder on at start-up
    again = open_active_window(qtbot)
    assert NewProjectDialog().location.text() == str(chosen)
    started = []

    def start(job):  # note the job instead of running it: making the demo takes seconds
        started.append(job)
        return SimpleNamespace(succeeded=SimpleNamespace(connect=lambda _slot: None))

    monkeypatch.setattr(again.registry, "start", start)
    again.settings.remove_recent_project(old.root)
    again.restore_last_project()  # no last project: the demo project is made in the chosen folder
    assert started[0].root == chosen / "Demo Project"

    qtbot.mouseClick(dialog.default_folder, Qt.MouseButton.LeftButton)
    assert AppSettings().projects_folder is None
    assert NewProjectDialog().location.text() == str(paths.default_projects_dir())


def test_a_device_chosen_in_preferences_is_the_status_bar_s_and_the_training_panel_s(qtbot, studio_app):
    window = open_active_window(qtbot)
    gpu = DeviceInfo("cuda:0", "cuda", "Fake GPU", 8_000_000_000, 6_000_000_000)
    cpu = DeviceInfo("cpu", "cpu", "CPU (2 threads)")
    dialog = _open_preferences(qtbot, window)
    assert dialog.device.currentText() == "Automatic (still looking for GPUs)"
    window._on_devices_detected([gpu, cpu])  # detection ends while the dialog is open
    assert [dialog.device.itemText(i) for i in range(dialog.device.count())] == [
        "Automatic (best: Fake GPU)",
        gpu.label,
        "CPU (2 threads)",
    ]
    _pick(qtbot, dialog.device, "CPU (2 threads)")
    assert window.device_button.text() == "CPU (2 threads)"
    assert window.panels["training"].device_choice == "cpu"
    assert AppSettings().device == "cpu"
