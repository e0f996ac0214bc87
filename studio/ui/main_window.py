"""The main window: a sidebar of the five panels, menus, shortcuts, an activity log and the status bar.

It owns the project that is open, the job registry and the settings; panels get the project through
``set_project`` and ask for navigation through their ``navigate`` signal.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QPlainTextEdit, QStackedWidget, QWidget)

from studio import APP_NAME, __version__, paths
from studio.core.demo import MakeDemoProject
from studio.core.jobs import JobError
from studio.core.project import Project, create_project, open_project
from studio.core.training.devices import DetectDevices
from studio.ui.icons import icon
from studio.ui.new_project_dialog import NewProjectDialog
from studio.ui.panels import PANEL_CLASSES
from studio.ui.panels.base import Panel
from studio.ui.settings import AppSettings
from studio.ui.widgets.device_button import DeviceButton
from studio.ui.widgets.job_status import JobStatusWidget
from studio.workers.registry import JobRegistry
from studio.workers.runner import JobRunner

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    project_changed = Signal(object)  # Project | None
    devices_ready = Signal(list)

    def __init__(self, settings: AppSettings, registry: JobRegistry | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.registry = registry or JobRegistry(self)
        self.project: Project | None = None
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
            self.panels[panel.panel_id] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(icon(panel.icon_name), panel.title)
            item.setSizeHint(QSize(0, 40))
            item.setToolTip(f"{panel.subtitle} ({self._panel_shortcut(len(self.panels))})")
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._on_panel_changed)
        self.setCentralWidget(self.stack)
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
        self.devices_ready.connect(training.set_devices)
        self.device_button.device_chosen.connect(training.set_device_choice)
        training.set_device_choice(self.settings.device)
        canvas = self.panels["image"]  # "Open in canvas" selects the run and checkpoint; finished runs appear there
        training.checkpoint_opened.connect(canvas.open_checkpoint)
        training.run_ended.connect(canvas.refresh_models)
        writer = self.panels["text"]  # "Open in writer" selects the text run and checkpoint, the same way
        training.checkpoint_opened.connect(writer.open_checkpoint)
        training.run_ended.connect(writer.refresh_models)
        speech = self.panels["speech"]  # "Open in speech" picks the trained voice (or its vocoder)
        training.checkpoint_opened.connect(speech.open_checkpoint)
        training.run_ended.connect(speech.refresh_voices)
        self._restore_window()
        self._update_title()

    # -- construction ---------------------------------------------------------------------------------------
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

        view_menu = self.menuBar().addMenu("&View")
        for index, panel in enumerate(self.panels.values(), start=1):
            action = self._add_action(view_menu, panel.title, self._on_panel_action, self._panel_shortcut(index),
                                      panel.icon_name)
            action.setData(panel.panel_id)
        view_menu.addSeparator()
        toggle = self.activity_dock.toggleViewAction()
        toggle.setShortcut("Ctrl+J")
        view_menu.addAction(toggle)

        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, f"&About {APP_NAME}", self.show_about, icon_name="info")
        self._add_action(help_menu, "Open &Log Folder", self.open_log_folder, icon_name="log")

    def _add_action(self, menu, text, slot, shortcut=None, icon_name=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if icon_name:
            action.setIcon(icon(icon_name))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    @staticmethod
    def _panel_shortcut(position: int) -> str:
        return f"Ctrl+{position}"

    # -- panels -----------------------------------------------------------------------------------------------
    @property
    def current_panel_id(self) -> str:
        return list(self.panels)[max(0, self.nav.currentRow())]

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
    def set_project(self, project: Project | None) -> None:
        self.project = project
        if project is not None:
            self.settings.add_recent_project(project.root)
            self.log_activity(f"Opened project “{project.name}” ({project.root})")
        for panel in self.panels.values():
            panel.set_project(project)
        self._update_title()
        self.project_changed.emit(project)

    def open_project_folder(self, folder: str | Path) -> bool:
        try:
            project = open_project(folder)
        except JobError as exc:
            self._show_problem("Cannot open project", str(exc))
            return False
        self.set_project(project)
        return True

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
        self.set_project(project)

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
        if not self.open_project_folder(folder):
            self.settings.remove_recent_project(folder)

    def restore_last_project(self) -> None:
        """Reopen the last project, or make the demo project on a first launch (in the background)."""
        last = self.settings.last_project
        if last and Path(last).is_dir() and self.open_project_folder(last):
            return
        runner = self.registry.start(MakeDemoProject(paths.projects_dir()))
        runner.succeeded.connect(self._on_demo_ready)

    @Slot(object)
    def _on_demo_ready(self, project: Project) -> None:
        if self.project is None:
            self.set_project(project)

    def _update_title(self) -> None:
        name = self.project.name if self.project else "No project"
        self.setWindowTitle(f"{name} — {APP_NAME}")
        self.project_label.setText(str(self.project.root) if self.project else "No project open")

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
        self.log_activity(f"Device set to {self.device_button.current.label}")

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
        return (f"<h3>{APP_NAME} {__version__}</h3>"
                "<p>Train generative models on your own images, copy and voice — offline, on your own GPU.</p>"
                f"<p>Python {platform.python_version()}<br>Qt {qVersion()} (PySide6 {pyside_version})<br>"
                f"PyTorch {torch_version}<br>Device: {device.label if device else 'still detecting'}</p>"
                f"<p>Log file: {paths.log_file()}</p>")

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
            self.resize(1280, 820)
        if state is not None:
            self.restoreState(state)
        for panel_id, panel in self.panels.items():
            panel.restore_state(self.settings.panel_state(panel_id))
        panel_id = self.settings.current_panel
        self.show_panel(panel_id if panel_id in self.panels else "dataset")

    def save_window_state(self) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.current_panel = self.current_panel_id
        for panel_id, panel in self.panels.items():
            self.settings.set_panel_state(panel_id, panel.save_state())
        self.settings.sync()

    def confirm_quit_while_training(self) -> bool:
        """Ask before stopping a training run; tests replace this method."""
        answer = QMessageBox.question(
            self, f"Quit {APP_NAME}?",
            "A model is still training. Quit anyway? Training stops now and continues from its last "
            "checkpoint next time.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.registry.training_running() and not self.confirm_quit_while_training():
            event.ignore()
            return
        self.save_window_state()
        if not self.registry.shutdown(timeout_s=15.0):
            log.warning("Some jobs did not stop within 15 s; quitting anyway.")
        event.accept()
