"""Edit ▸ Preferences (the app menu on macOS): device, CPU threads, projects folder and theme.

Every change applies at once and is saved at once — there is no OK button to forget. The theme restyles the
running app (:func:`studio.ui.theme.apply`); the CPU threads and the projects folder go to the Qt-free hooks
in core and paths (:func:`studio.core.training.devices.set_window_thread_limit`,
:func:`studio.paths.set_projects_dir`), which the next job and the next New Project read. The window sets the
same hooks from the saved settings at start-up (:func:`apply_saved`). The device is the status bar's device
button's choice: the dialog says which one was picked (:attr:`PreferencesDialog.device_chosen`) and the window
routes it through that button, so the button, the Training panel and the settings never disagree.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio import paths
from studio.core import words
from studio.core.training import devices as core_devices
from studio.core.training.devices import AUTO, DeviceInfo
from studio.ui import theme
from studio.ui.settings import AppSettings
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.inputs import ComboBox, SpinBox


def apply_saved(settings: AppSettings) -> None:
    """Hand the saved CPU threads and projects folder to the Qt-free code that uses them (window start-up)."""
    core_devices.set_window_thread_limit(settings.cpu_threads)
    paths.set_projects_dir(settings.projects_folder)


def _hint(text: str) -> QLabel:
    label = QLabel(text, objectName="emptyBody")
    label.setWordWrap(True)
    return label


class PreferencesDialog(QDialog):
    """Four rows, each with a one-line hint under it; Close is the only button."""

    device_chosen = Signal(str)  # "auto" or a device id
    threads_changed = Signal(int)  # what threads_beside_a_window() gives now
    projects_folder_changed = Signal(str)  # the folder new projects go into now

    def __init__(self, settings: AppSettings, devices: list[DeviceInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferences")
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(560)
        self.settings = settings
        form = QFormLayout()
        form.addRow("Device", self._device_row(devices))
        form.addRow("CPU threads", self._threads_row())
        form.addRow("Projects folder", self._folder_row())
        form.addRow("Theme", self._theme_row())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addStretch(1)
        column.addWidget(buttons)

    # -- device -------------------------------------------------------------------------------------------------
    def _device_row(self, devices: list[DeviceInfo]) -> QWidget:
        self.device = ComboBox(objectName="preferencesDevice")
        self.device.setToolTip("Where training and generation run. Automatic picks the GPU with the most free memory.")
        self.set_devices(devices)
        self.device.currentIndexChanged.connect(self._on_device)
        return self._with_hint(self.device, "Training and generation started from now on run here.")

    @Slot(list)
    def set_devices(self, devices: list[DeviceInfo]) -> None:
        """Fill the list: Automatic, each detected device (GPUs first), the CPU. Before detection ends only
        Automatic, the saved choice and the CPU are offered."""
        choice = self.settings.device
        if devices:
            entries = [(AUTO, f"Automatic (best: {devices[0].name})")] + [(d.id, d.label) for d in devices]
        else:
            entries = [(AUTO, "Automatic (still looking for GPUs)")]
            entries += [(choice, choice)] if choice not in (AUTO, "cpu") else []
            entries.append(("cpu", "CPU"))
        self.device.blockSignals(True)
        self.device.clear()
        for device_id, text in entries:
            self.device.addItem(text, device_id)
        self.device.blockSignals(False)
        self.show_device(choice)

    @Slot(str)
    def show_device(self, choice: str) -> None:
        """Show ``choice`` (chosen here or from the status bar's device button) without announcing it again."""
        index = self.device.findData(choice)
        self.device.blockSignals(True)
        self.device.setCurrentIndex(max(0, index))
        self.device.blockSignals(False)

    @Slot(int)
    def _on_device(self, index: int) -> None:
        choice = str(self.device.itemData(index) or AUTO)
        if choice != self.settings.device:
            self.device_chosen.emit(choice)  # the window saves it and tells the device button and the panels

    # -- CPU threads ----------------------------------------------------------------------------------------------
    def _threads_row(self) -> QWidget:
        total = os.cpu_count() or 1
        default = core_devices.default_threads_beside_a_window()
        self.threads = SpinBox(objectName="preferencesThreads")
        self.threads.setRange(1, total)
        self.threads.setValue(min(self.settings.cpu_threads or default, total))
        self.threads.setToolTip(
            "How many CPU threads a job started from this window may use. Fewer keep the window and other "
            "programs quick; more make training and generation on the CPU faster."
        )
        self.threads.valueChanged.connect(self._on_threads)
        hint = (
            f"This computer has {words.count(total, 'thread')}. The default, {words.number(default)}, "
            "leaves one core to the window so it stays responsive while a job runs."
        )
        self.threads.setMinimumWidth(90)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.threads)
        row.addStretch(1)
        holder = QWidget()
        holder.setLayout(row)
        return self._with_hint(holder, hint)

    @Slot(int)
    def _on_threads(self, count: int) -> None:
        default = count == core_devices.default_threads_beside_a_window()
        self.settings.cpu_threads = None if default else count  # the default follows the machine it runs on
        self.settings.sync()
        core_devices.set_window_thread_limit(self.settings.cpu_threads)
        self.threads_changed.emit(core_devices.threads_beside_a_window())

    # -- projects folder ------------------------------------------------------------------------------------------
    def _folder_row(self) -> QWidget:
        self.folder = ElidedLabel(objectName="preferencesFolder")
        self.folder.set_full_text(str(paths.projects_dir()))
        self.choose_folder = QPushButton("Choose…")
        self.choose_folder.setToolTip("Pick the folder that new projects are created in")
        self.choose_folder.clicked.connect(self._on_choose_folder)
        self.default_folder = QPushButton("Use default")
        self.default_folder.setToolTip(str(paths.default_projects_dir()))
        self.default_folder.clicked.connect(self._on_default_folder)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder, 1)
        row.addWidget(self.choose_folder)
        row.addWidget(self.default_folder)
        holder = QWidget()
        holder.setLayout(row)
        self._show_folder()
        return self._with_hint(
            holder, "New projects and the demo project go here. Existing projects stay where they are."
        )

    @Slot()
    def _on_choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for new projects", str(paths.projects_dir()))
        if chosen:
            self.set_projects_folder(chosen)

    @Slot()
    def _on_default_folder(self) -> None:
        self.set_projects_folder(None)

    def set_projects_folder(self, folder: str | Path | None) -> None:
        """Remember ``folder`` (None: the default) as where new projects go; nothing on disk moves."""
        default = folder is None or Path(folder).expanduser() == paths.default_projects_dir()
        self.settings.projects_folder = None if default else folder
        self.settings.sync()
        paths.set_projects_dir(self.settings.projects_folder)
        self._show_folder()
        self.projects_folder_changed.emit(str(paths.projects_dir()))

    def _show_folder(self) -> None:
        self.folder.set_full_text(str(paths.projects_dir()))
        self.default_folder.setEnabled(self.settings.projects_folder is not None)

    # -- theme --------------------------------------------------------------------------------------------------------
    def _theme_row(self) -> QWidget:
        self.theme_mode = ComboBox(objectName="preferencesTheme")
        for mode in theme.MODES:
            self.theme_mode.addItem(theme.MODE_TITLES[mode], mode)
        self.theme_mode.setCurrentIndex(max(0, self.theme_mode.findData(self.settings.theme)))
        self.theme_mode.setToolTip("Light or dark colours; Follow the system switches with your desktop's setting.")
        self.theme_mode.currentIndexChanged.connect(self._on_theme)
        return self._with_hint(self.theme_mode, "Applies at once to every window of the studio.")

    @Slot(int)
    def _on_theme(self, index: int) -> None:
        mode = str(self.theme_mode.itemData(index))
        self.settings.theme = mode
        self.settings.sync()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, mode)

    # -- layout -----------------------------------------------------------------------------------------------------
    @staticmethod
    def _with_hint(field: QWidget, hint: str) -> QWidget:
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 6)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(_hint(hint))
        return holder
