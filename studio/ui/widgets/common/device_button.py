"""Status-bar button that shows the compute device and lets the user pick another one."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from studio.core.training.devices import AUTO, DeviceInfo, resolve_device
from studio.ui.icons import icon


class DeviceButton(QToolButton):
    """Shows "Detecting devices…" until :meth:`set_devices`; then the chosen device and a menu of all."""

    device_chosen = Signal(str)  # "auto" or a device id

    def __init__(self, choice: str = AUTO, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deviceLabel")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(self.toolButtonStyle().ToolButtonTextBesideIcon)
        self.choice = choice
        self.devices: list[DeviceInfo] = []
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self.setText("Detecting devices…")
        self.setIcon(icon("cpu"))
        self.setToolTip("The device training and generation will use")

    @property
    def current(self) -> DeviceInfo | None:
        return resolve_device(self.choice, self.devices) if self.devices else None

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        self.devices = devices
        self.menu_.clear()
        group = QActionGroup(self)
        entries = [(AUTO, f"Automatic (best: {devices[0].name})")] + [(d.id, d.label) for d in devices]
        for device_id, text in entries:
            action = QAction(text, self, checkable=True)
            action.setData(device_id)
            action.setChecked(device_id == self.choice)
            group.addAction(action)
            self.menu_.addAction(action)
        group.triggered.connect(self._on_triggered)
        self._show_current()

    @Slot(QAction)
    def _on_triggered(self, action: QAction) -> None:
        self.choice = str(action.data())
        self._show_current()
        self.device_chosen.emit(self.choice)

    def _show_current(self) -> None:
        device = self.current
        if device is None:
            return
        self.setIcon(icon("cpu" if device.kind == "cpu" else "gpu"))
        self.setText(device.label)
        if self.choice != AUTO and device.id != self.choice:
            self.setToolTip(f"{self.choice} is not available on this machine; using {device.name}.")
        else:
            self.setToolTip("The device training and generation will use. Click to choose another.")
