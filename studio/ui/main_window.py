"""The main window: a sidebar of the five panels, menus, shortcuts, an activity log and the status bar.

It owns the project that is open, the job registry and the settings; panels get the project through
``set_project`` and ask for navigation through their ``navigate`` signal.

One app process at a time changes a project: opening one takes its window lock (``.window.lock``, shared by
every window of this process, see :class:`studio.core.locks.SharedHold`). When another process has it, the
user chooses: open it read-only, choose another project, or cancel. Read-only means: this process never writes
``project.json`` (every write is refused in core, :func:`studio.core.project.set_read_only`), the Dataset panel's
import, new-dataset and cache buttons are disabled and its edits refused with a banner, drops and training
starts are refused by their jobs with the same sentence. Not covered: files the creation panels write
(generated outputs, the speech panel's pronunciation dictionary and imported voices).
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio import APP_NAME, __version__, paths
from studio.core.audio_stack import pair_problem
from studio.core.demo import MakeDemoProject
from studio.core.jobs import JobError
from studio.core.locks import LockHeld, Owner, SharedHold
from studio.core.project import WINDOW_LOCK, Project, create_project, open_project, set_read_only
from studio.core.training.devices import DetectDevices
from studio.core.words import count
from studio.ui import theme
from studio.ui.dialogs.guide import GettingStartedDialog
from studio.ui.dialogs.preferences import PreferencesDialog, apply_saved
from studio.ui.dialogs.shortcuts import ShortcutsDialog
from studio.ui.icons import icon
from studio.ui.new_project_dialog import NewProjectDialog
from studio.ui.panels import PANEL_CLASSES
from studio.ui.panels.base import Panel
from studio.ui.settings import AppSettings
from studio.ui.widgets.common.banner import Banner
from studio.ui.widgets.common.device_button import DeviceButton
from studio.ui.widgets.common.job_status import JobStatusWidget
from studio.workers.registry import JobRegistry
from studio.workers.runner import JobRunner

DEFAULT_WINDOW_SIZE = QSize(1280, 820)
SCREEN_SHARE = 0.94  # of the screen's free area a first window takes at most (room for the frame and shadow)
QUIT_WAIT_S = 15.0  # at quit, how long the window waits for its jobs to stop (a training run saves a checkpoint)

log = logging.getLogger(__name__)

# what opening a project came to (see MainWindow.open_project_folder)
OPENED, BROKEN, DECLINED = "opened", "broken", "declined"
# the user's answer when the project is open in another window (see MainWindow.ask_project_in_use)
READ_ONLY, CHOOSE_ANOTHER = "read-only", "choose-another"


class MainWindow(QMainWindow):
    project_changed = Signal(object)  # Project | None
    devices_ready = Signal(list)

    def __init__(self, settings: AppSettings, registry: JobRegistry | None = None) -> None:
        super().__init__()
        self.settings = settings
        apply_saved(settings)  # CPU threads and projects folder reach the jobs and New Project (Preferences)
        self.registry = registry or JobRegistry(self)
        self.project: Project | None = None
        self.read_only = False  # the project is open read-only: another app process has it
        self._hold: SharedHold | None = None  # this process's window lock on the open project
        self._shortcuts: ShortcutsDialog | None = None  # Help's dialogs, made when first asked for
        self._guide: GettingStartedDialog | None = None
        self._quitting = False  # the jobs are being stopped for a quit
        self._preferences: PreferencesDialog | None = None
        self.setWindowIcon(icon("app"))
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.panels: dict[str, Panel] = {}
        self.nav = QListWidget(objectName="navBar")
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(196)
        self.stack = QStackedWidget()
        for cls in PANEL_CLASSES:
            panel = cls()
            panel.set_registry(self.registry)
            panel.navigate.connect(self.show_panel)
            panel.history_changed.connect(self.update_edit_actions)
            self.panels[panel.panel_id] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(icon(panel.icon_name), panel.title)
            item.setSizeHint(QSize(0, 40))
            item.setToolTip(f"{panel.subtitle} ({self._panel_shortcut(len(self.panels))})")
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._on_panel_changed)
        self.banner = Banner()  # window-wide notices (a broken install), above whichever panel is shown
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._warn_about_the_audio_stack()
        # The sidebar is a fixed left dock that owns the bottom-left corner, so the Activity dock opens
        # under the panels only and the sidebar keeps the full height.
        nav_dock = QDockWidget("Panels", self, objectName="navDock")
        nav_dock.setWidget(self.nav)
        nav_dock.setTitleBarWidget(QWidget())
        nav_dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, nav_dock)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)

        self._build_activity_dock()
        self._build_status_bar()
        self._build_menus()
        self.registry.job_started.connect(self._on_job_started)
        training = self.panels["training"]  # the Training panel follows datasets and the chosen device
        self.panels["dataset"].import_done.connect(training.refresh_datasets)
        self.panels["dataset"].cache_done.connect(training.refresh_datasets)
        self.panels["dataset"].train_requested.connect(self.train_on_dataset)  # "Train on this dataset"
        self.devices_ready.connect(training.set_devices)
        self.device_button.device_chosen.connect(training.set_device_choice)
        training.set_device_choice(self.settings.device)
        canvas = self.panels["image"]  # "Open in canvas" selects the run and checkpoint; finished runs appear there
        training.checkpoint_opened.connect(canvas.open_checkpoint)
        training.run_ended.connect(canvas.refresh_models)
        writer = self.panels["text"]  # "Open in writer" selects the text run and checkpoint, the same way
        training.checkpoint_opened.connect(writer.open_checkpoint)
        training.run_ended.connect(writer.refresh_models)
        writer.train_requested.connect(training.select)  # "Train a writer on your copy"
        speech = self.panels["speech"]  # "Open in speech" picks the trained voice (or its vocoder)
        training.checkpoint_opened.connect(speech.open_checkpoint)
        training.run_ended.connect(speech.refresh_voices)
        for panel in (canvas, writer, speech):  # "Compare checkpoints" from a panel; "Use this checkpoint" back
            panel.compare_requested.connect(self.compare_run)
            training.checkpoint_chosen.connect(speech.refresh_voices if panel is speech else panel.refresh_models)
        self._restore_window()
        self._update_title()
        theme.signals.changed.connect(self._repaint_for_theme)

    # -- construction ---------------------------------------------------------------------------------------
    def _warn_about_the_audio_stack(self) -> None:
        """torch and torchaudio of different releases: say so above every panel, in the sentence that names both
        versions and the fix (package metadata only: no torch import at start-up)."""
        problem = pair_problem()
        if problem:
            self.banner.show_message(problem, "error")

    def _build_activity_dock(self) -> None:
        self.activity = QPlainTextEdit(objectName="logView", readOnly=True)
        self.activity.setMaximumBlockCount(5000)
        self.activity.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.activity_dock = QDockWidget("Activity", self, objectName="activityDock")
        self.activity_dock.setWidget(self.activity)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity_dock)
        self.activity_dock.hide()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.project_label = QLabel(objectName="projectLabel")
        status.addWidget(self.project_label)
        self.job_status = JobStatusWidget(self.registry)
        status.addPermanentWidget(self.job_status)
        self.device_button = DeviceButton(self.settings.device)
        self.device_button.device_chosen.connect(self._on_device_chosen)
        status.addPermanentWidget(self.device_button)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&New Project…", self.new_project, QKeySequence.StandardKey.New, "new")
        self._add_action(file_menu, "&Open Project…", self.choose_project, QKeySequence.StandardKey.Open, "open")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Import Files…", self.import_files, "Ctrl+I", "import")
        self._add_action(file_menu, "Import F&older…", self.import_folder, "Ctrl+Shift+I")
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        # Undo and Redo act on the shown panel's history (Panel.can_undo/undo…), wherever focus is in the window:
        # window-wide actions, so no panel may own a Ctrl+Z action too (two make the key ambiguous: neither fires).
        # A text field keeps its own Ctrl+Z for its text while it has focus.
        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._add_action(edit_menu, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._add_action(edit_menu, "&Redo", self.redo, QKeySequence.StandardKey.Redo)
        self.undo_action.setIconText("Undo")  # what the shortcut sheet lists, whatever the menu item names
        self.redo_action.setIconText("Redo")
        edit_menu.aboutToShow.connect(self.update_edit_actions)
        edit_menu.addSeparator()
        preferences = self._add_action(edit_menu, "&Preferences…", self.show_preferences)
        preferences.setShortcuts(self._platform_keys(QKeySequence.StandardKey.Preferences) or [QKeySequence("Ctrl+,")])
        preferences.setMenuRole(QAction.MenuRole.PreferencesRole)  # macOS moves it to the app menu
        self.update_edit_actions()

        view_menu = self.menuBar().addMenu("&View")
        for index, panel in enumerate(self.panels.values(), start=1):
            action = self._add_action(
                view_menu, panel.title, self._on_panel_action, self._panel_shortcut(index), panel.icon_name
            )
            action.setData(panel.panel_id)
        view_menu.addSeparator()
        toggle = self.activity_dock.toggleViewAction()
        toggle.setShortcut("Ctrl+J")
        view_menu.addAction(toggle)

        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(
            help_menu, "&Getting Started", self.show_getting_started, QKeySequence.StandardKey.HelpContents
        )
        self._add_action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        help_menu.addSeparator()
        self._add_action(help_menu, f"&About {APP_NAME}", self.show_about, icon_name="info")
        self._add_action(help_menu, "Open &Log Folder", self.open_log_folder, icon_name="log")

    def _add_action(self, menu, text, slot, shortcut=None, icon_name=None) -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(self._platform_keys(shortcut))
        elif shortcut is not None:
            action.setShortcut(shortcut)
        if icon_name:
            action.setIcon(icon(icon_name))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    @staticmethod
    def _platform_keys(standard: QKeySequence.StandardKey) -> list[QKeySequence]:
        """Every binding the platform gives a standard key (Redo: Ctrl+Y and Ctrl+Shift+Z on Windows), less
        the dedicated New/Undo/Help keys of old Unix keyboards: the shortcut sheet would read "Ctrl+Z or Undo"."""
        keys = []
        for sequence in QKeySequence.keyBindings(standard):
            combination = sequence[0]
            function_key = Qt.Key.Key_F1.value <= combination.key().value <= Qt.Key.Key_F35.value
            if combination.keyboardModifiers() != Qt.KeyboardModifier.NoModifier or function_key:
                keys.append(sequence)
        return keys

    @staticmethod
    def _panel_shortcut(position: int) -> str:
        return f"Ctrl+{position}"

    # -- panels -----------------------------------------------------------------------------------------------
    @property
    def current_panel_id(self) -> str:
        return list(self.panels)[max(0, self.nav.currentRow())]

    @Slot(str)
    def train_on_dataset(self, name: str) -> None:
        """The Dataset panel's next step after a cache build: the Training panel, with that dataset chosen."""
        self.panels["training"].select(name)
        self.show_panel("training")

    @Slot(str)
    def compare_run(self, run_id: str) -> None:
        """A creation panel's "Compare checkpoints": the Training panel, with the run's comparison board."""
        self.show_panel("training")
        self.panels["training"].compare_run(run_id)

    @Slot(str)
    def show_panel(self, panel_id: str) -> None:
        if panel_id in self.panels:
            self.nav.setCurrentRow(list(self.panels).index(panel_id))

    @Slot()
    def _on_panel_action(self) -> None:
        self.show_panel(str(self.sender().data()))

    @Slot(int)
    def _on_panel_changed(self, row: int) -> None:
        if row >= 0:
            self.settings.current_panel = self.current_panel_id
            self.update_edit_actions()

    @property
    def current_panel(self) -> Panel:
        return self.panels[self.current_panel_id]

    @Slot()
    def update_edit_actions(self) -> None:
        """Enable Undo and Redo from the shown panel's history, and name what each would do. Runs when the panel
        changes, when a panel says its history changed, and before the Edit menu opens."""
        panel = self.current_panel
        for action, word, able, label in (
            (self.undo_action, "&Undo", panel.can_undo(), panel.undo_label),
            (self.redo_action, "&Redo", panel.can_redo(), panel.redo_label),
        ):
            action.setEnabled(able)
            words = label() if able else ""
            action.setText(f"{word} “{words}”" if words else word)

    @Slot()
    def undo(self) -> None:
        """Edit ▸ Undo (Ctrl+Z): the shown panel reverts its newest change."""
        self.current_panel.undo()
        self.update_edit_actions()

    @Slot()
    def redo(self) -> None:
        """Edit ▸ Redo (Ctrl+Shift+Z): the shown panel applies again what it last undid."""
        self.current_panel.redo()
        self.update_edit_actions()

    @Slot()
    def import_files(self) -> None:
        """File ▸ Import Files…: the Dataset panel asks for the files and imports them."""
        self.show_panel("dataset")
        self.panels["dataset"].choose_files()

    @Slot()
    def import_folder(self) -> None:
        self.show_panel("dataset")
        self.panels["dataset"].choose_folder()

    # -- projects ---------------------------------------------------------------------------------------------
    def set_project(self, project: Project | None, read_only: bool = False) -> None:
        """Show ``project`` in every panel (``read_only``: see the module docstring). Lets go of the previous
        project's window lock; the caller that took one for ``project`` stores it in ``_hold`` afterwards."""
        previous = self.project
        if previous is not None and (project is None or project.root != previous.root):
            self._let_go(previous)
        if project is not None:
            set_read_only(project.root, read_only)  # before the panels see it: they ask it what they may do
        self.project, self.read_only = project, bool(read_only and project is not None)
        if project is not None:
            self.settings.add_recent_project(project.root)
            self.log_activity(
                f"Opened project “{project.name}” ({project.root})" + (" read-only" if self.read_only else "")
            )
        for panel in self.panels.values():
            panel.set_project(project)
        self._update_title()
        self.project_changed.emit(project)

    def open_project_folder(self, folder: str | Path) -> bool:
        """Open the project in ``folder``; True when it is open now (perhaps read-only), False when it cannot
        be opened (the user was told why) or the user declined because another window has it."""
        return self._open_folder(folder) == OPENED

    def _open_folder(self, folder: str | Path) -> str:
        try:
            project = open_project(folder)
        except JobError as exc:
            self._show_problem("Cannot open project", str(exc))
            return BROKEN
        return self._open(project)

    def _open(self, project: Project) -> str:
        """Take the project's window lock and show it; when another app process has it, ask."""
        if self.project is not None and self.project.root == project.root and self._hold is not None:
            self.set_project(project)  # already ours
            return OPENED
        try:
            hold = SharedHold(project.root / WINDOW_LOCK)
        except LockHeld as held:
            answer = self.ask_project_in_use(project, held.owner)
            if answer == READ_ONLY:
                self.set_project(project, read_only=True)
                return OPENED
            if answer == CHOOSE_ANOTHER:
                QTimer.singleShot(0, self.choose_project)  # after this open returns
            return DECLINED
        except OSError as exc:  # a folder we cannot write to: nothing here could change the project anyway
            log.warning("Could not take the window lock of %s: %s", project.root, exc)
            hold = None
        self.set_project(project)
        self._hold = hold
        return OPENED

    def _let_go(self, project: Project) -> None:
        if self._hold is not None:
            self._hold.release()
            self._hold = None
        set_read_only(project.root, False)

    def ask_project_in_use(self, project: Project, owner: Owner | None) -> str:
        """The project is open in another app process: READ_ONLY, CHOOSE_ANOTHER or "" (cancel).
        Tests answer the box by replacing ``QMessageBox.exec``."""
        who = owner.describe() if owner is not None else "another process"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Project already open",
            f"“{project.name}” is already open in another {APP_NAME} window ({who}).",
            parent=self,
        )
        box.setInformativeText(
            "Two windows changing one project can lose datasets and runs. Open it here "
            "read-only (browse and generate; imports, dataset changes and training are refused), "
            "or choose another project."
        )
        read_only = box.addButton("Open read-only", QMessageBox.ButtonRole.AcceptRole)
        another = box.addButton("Choose another project…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(read_only)
        box.exec()
        clicked = box.clickedButton()
        return READ_ONLY if clicked is read_only else CHOOSE_ANOTHER if clicked is another else ""

    @Slot()
    def choose_project(self) -> None:
        start = str(self.project.root.parent if self.project else paths.projects_dir())
        folder = QFileDialog.getExistingDirectory(self, "Open Project", start)
        if folder:
            self.open_project_folder(folder)

    @Slot()
    def new_project(self) -> None:
        dialog = NewProjectDialog(self)
        if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
            return
        try:
            project = create_project(dialog.folder, dialog.name.text().strip())
        except (JobError, OSError) as exc:
            self._show_problem("Cannot create project", str(exc))
            return
        self._open(project)

    @Slot()
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_projects()
        for folder in recent:
            action = self.recent_menu.addAction(Path(folder).name)
            action.setToolTip(folder)
            action.setStatusTip(folder)
            action.setData(folder)
            action.triggered.connect(self._on_recent_action)
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    @Slot()
    def _on_recent_action(self) -> None:
        folder = str(self.sender().data())
        if self._open_folder(folder) == BROKEN:
            self.settings.remove_recent_project(folder)

    def restore_last_project(self) -> None:
        """Reopen the last project, or make the demo project on a first launch (in the background)."""
        self.show_guide_once()  # the start-up flow (studio.app.main) comes through here once per launch
        last = self.settings.last_project
        if last and Path(last).is_dir() and self._open_folder(last) != BROKEN:
            return
        runner = self.registry.start(MakeDemoProject(paths.projects_dir()))
        runner.succeeded.connect(self._on_demo_ready)

    @Slot(object)
    def _on_demo_ready(self, project: Project) -> None:
        if self.project is None:
            self._open(project)

    def _update_title(self) -> None:
        name = self.project.name if self.project else "No project"
        mark = " (read-only)" if self.read_only else ""
        self.setWindowTitle(f"{name}{mark} — {APP_NAME}")
        self.project_label.setText(f"{self.project.root}{mark}" if self.project else "No project open")

    # -- devices and jobs -------------------------------------------------------------------------------------
    def detect_devices(self) -> JobRunner:
        runner = self.registry.start(DetectDevices())
        runner.succeeded.connect(self._on_devices_detected)
        return runner

    @Slot(object)
    def _on_devices_detected(self, devices: list) -> None:
        self.device_button.set_devices(devices)
        self.log_activity(f"Device: {self.device_button.current.label}")
        self.devices_ready.emit(devices)

    @Slot(str)
    def _on_device_chosen(self, choice: str) -> None:
        self.settings.device = choice
        current = self.device_button.current  # None until detection ends (a choice made in Preferences)
        self.log_activity(f"Device set to {current.label if current else choice}")

    @Slot(str)
    def choose_device(self, choice: str) -> None:
        """A device chosen in Preferences goes through the status bar's device button, as a click there would:
        the button shows it, and its ``device_chosen`` saves it and tells the Training panel."""
        for action in self.device_button.menu_.actions():
            if action.data() == choice:
                action.trigger()
                return
        self.device_button.choice = choice  # not detected yet (or not on this machine): resolved when it is
        self.device_button.device_chosen.emit(choice)

    @Slot(object)
    def _on_job_started(self, runner: JobRunner) -> None:
        self.log_activity(f"Started: {runner.title}")
        runner.succeeded.connect(self._on_job_succeeded)
        runner.failed.connect(self._on_job_failed)
        runner.cancelled.connect(self._on_job_cancelled)

    @Slot(object)
    def _on_job_succeeded(self, _result: object) -> None:
        self.log_activity(f"Done: {self.sender().title}")

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self.log_activity(f"Failed: {message}")
        self.statusBar().showMessage(message, 15000)

    @Slot()
    def _on_job_cancelled(self) -> None:
        self.log_activity(f"Cancelled: {self.sender().title}")

    def log_activity(self, text: str) -> None:
        log.info(text)
        self.activity.appendPlainText(text)

    # -- help -------------------------------------------------------------------------------------------------
    def about_text(self) -> str:
        try:
            torch_version = importlib.metadata.version("torch")  # no import: start-up stays fast
        except importlib.metadata.PackageNotFoundError:
            torch_version = "not installed"
        device = self.device_button.current
        return (
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Train generative models on your own images, copy and voice — offline, on your own GPU.</p>"
            f"<p>Python {platform.python_version()}<br>Qt {qVersion()} (PySide6 {pyside_version})<br>"
            f"PyTorch {torch_version}<br>Device: {device.label if device else 'still detecting'}</p>"
            f"<p>Log file: {paths.log_file()}</p>"
        )

    def show_guide_once(self) -> None:
        """On the first launch, open Help ▸ Getting started beside the window (not modal: nothing waits on it,
        tests included), and remember that it was shown."""
        if not self.settings.guide_shown:
            self.settings.guide_shown = True
            self.settings.sync()
            self.show_getting_started()

    @Slot()
    def show_getting_started(self) -> None:
        if self._guide is None:
            self._guide = GettingStartedDialog(list(self.panels.values()), self)
            self._guide.open_panel.connect(self.show_panel)
        self._raise(self._guide)

    @Slot()
    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard shortcuts: the sheet generated from the window's actions as they are now."""
        if self._shortcuts is None:
            self._shortcuts = ShortcutsDialog(self)
        elif self._shortcuts.isVisible():
            self._shortcuts.refresh()
        self._raise(self._shortcuts)

    @Slot()
    def show_preferences(self) -> None:
        """Edit ▸ Preferences (Ctrl+,): not modal, every change applies at once (see dialogs/preferences.py)."""
        if self._preferences is None:
            self._preferences = PreferencesDialog(self.settings, self.device_button.devices, self)
            self._preferences.device_chosen.connect(self.choose_device)
            self.device_button.device_chosen.connect(self._preferences.show_device)  # a click in the status bar
            self.devices_ready.connect(self._preferences.set_devices)
        self._raise(self._preferences)

    @Slot(bool)
    def _repaint_for_theme(self, _dark: bool) -> None:
        """After a theme switch, repaint every widget of the window: painted widgets ask theme.qcolor() in their
        paintEvent, and Qt repaints on a palette change only widgets whose look it knows depends on it."""
        self.update()
        for widget in self.findChildren(QWidget):
            widget.update()

    @staticmethod
    def _raise(dialog) -> None:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    @Slot()
    def open_log_folder(self) -> None:
        paths.log_dir().mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    def _show_problem(self, title: str, message: str) -> None:
        self.log_activity(f"{title}: {message}")
        QMessageBox.warning(self, title, message)

    # -- window state and quitting --------------------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry, state = self.settings.geometry(), self.settings.window_state()
        if geometry is None or not self.restoreGeometry(geometry):
            self._fit_to_screen()
        if state is not None:
            self.restoreState(state)
        for panel_id, panel in self.panels.items():
            panel.restore_state(self.settings.panel_state(panel_id))
        panel_id = self.settings.current_panel
        self.show_panel(panel_id if panel_id in self.panels else "dataset")

    def _fit_to_screen(self) -> None:
        """The first window: 1280 × 820 where the screen has room, else what its free area (without the task bar
        and the menu bar) holds with a margin, centred. A fixed 1280 × 820 was taller than a 1280 × 800 laptop
        screen, and the window manager cut its bottom off."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(DEFAULT_WINDOW_SIZE)
            return
        free = screen.availableGeometry()
        size = DEFAULT_WINDOW_SIZE.boundedTo(QSize(int(free.width() * SCREEN_SHARE), int(free.height() * SCREEN_SHARE)))
        self.resize(size)
        self.move(free.center() - self.rect().center())

    def save_window_state(self) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.current_panel = self.current_panel_id
        for panel_id, panel in self.panels.items():
            self.settings.set_panel_state(panel_id, panel.save_state())
        self.settings.sync()

    def _stop_jobs(self) -> None:
        """Stop every job before the window goes, saying so, while the window keeps painting (the registry's
        wait runs the event loop). Nothing new can be started meanwhile: the panels and menus are disabled."""
        running = self.registry.running()
        if running:
            self.statusBar().showMessage(f"Stopping {count(len(running), 'job')} before closing…")
            self.centralWidget().setEnabled(False)
            self.menuBar().setEnabled(False)
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            if not self.registry.shutdown(timeout_s=QUIT_WAIT_S):
                log.warning("Some jobs did not stop within %.0f s; quitting anyway.", QUIT_WAIT_S)
        finally:
            if running:
                QApplication.restoreOverrideCursor()

    def confirm_quit_while_training(self) -> bool:
        """Ask before stopping a training run; tests replace this method."""
        answer = QMessageBox.question(
            self,
            f"Quit {APP_NAME}?",
            "A model is still training. Quit anyway? Training stops now and continues from its last "
            "checkpoint next time.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._quitting:  # Quit again while the jobs stop: the first Quit closes the window when they have
            event.ignore()
            return
        if self.registry.training_running() and not self.confirm_quit_while_training():
            event.ignore()
            return
        self.save_window_state()
        self._quitting = True
        try:
            self._stop_jobs()
        finally:
            self._quitting = False
        if self.project is not None:
            self._let_go(self.project)  # after the jobs stopped: they may still have written to it
        for dialog in (self._guide, self._shortcuts, self._preferences):  # non-modal dialogs go with the window
            if dialog is not None:
                dialog.close()
        event.accept()
