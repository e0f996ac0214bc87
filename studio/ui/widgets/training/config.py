"""The Advanced section of a new run: one field per hyperparameter, built from the recipe's defaults.

The recipe's ``default_config`` holds only int/float/bool/str values, so the form is generated and never goes
stale when a recipe gains a setting. Values start from the chosen preset; a field the user changes becomes an
*override* (shown in bold, kept when the preset changes, cleared by *Reset to preset*), and only overrides are
handed to the engine, so a run's config.json says what the user actually chose.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

from studio.ui.widgets.common.inputs import SpinBox


def setting_label(key: str) -> str:
    """``batch_size`` → ``Batch size``; ``lr`` → ``Learning rate`` (a few well-known short names spelled out)."""
    words = {"lr": "Learning rate", "ema": "EMA", "keep_last": "Checkpoints to keep", "seed": "Random seed"}
    if key in words:
        return words[key]
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_float(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.0e}" if float(f"{value:.0e}") == value else f"{value:.3e}"
    return f"{value:g}"


class ConfigForm(QWidget):
    """Fields for every hyperparameter of a family; ``overrides()`` gives what differs from the preset."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(8)
        self.grid.setColumnStretch(1, 1)
        self.reset_button = QPushButton("Reset to preset")
        self.reset_button.setToolTip("Forget every change made here and use the preset's values")
        self.reset_button.clicked.connect(self.reset)
        self.empty = QLabel("Pick a model to see its settings.", objectName="mutedLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._base: dict = {}  # defaults + preset
        self._overrides: dict = {}
        self._filling = False
        self.reset_button.setEnabled(False)

    def set_config(self, defaults: dict, preset: dict, keep_overrides: bool = True) -> None:
        """Show ``defaults`` updated by ``preset``; the user's overrides stay unless ``keep_overrides`` is off."""
        if set(defaults) != set(self._base):
            self._build(defaults)
            self._overrides = {k: v for k, v in self._overrides.items() if k in defaults} if keep_overrides else {}
        elif not keep_overrides:
            self._overrides = {}
        self._base = {**defaults, **{k: v for k, v in preset.items() if k in defaults}}
        self._fill()

    def _build(self, defaults: dict) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fields, self._labels = {}, {}
        for row, (key, value) in enumerate(defaults.items()):
            field = self._make_field(key, value)
            label = QLabel(setting_label(key), objectName="configLabel")
            label.setToolTip(key)
            label.setBuddy(field)
            self.grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(field, row, 1)
            self.fields[key], self._labels[key] = field, label
        self.empty.setVisible(not defaults)

    def _make_field(self, key: str, value) -> QWidget:
        if isinstance(value, bool):
            field = QCheckBox()
            field.toggled.connect(self._on_edited)
        elif isinstance(value, int):
            field = SpinBox()
            field.setRange(-1, 2_000_000_000)
            field.setGroupSeparatorShown(True)
            field.valueChanged.connect(self._on_edited)
        elif isinstance(value, float):
            field = QLineEdit()
            validator = QDoubleValidator(field)
            validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
            field.setValidator(validator)
            field.textEdited.connect(self._on_edited)
        else:
            field = QLineEdit()
            field.textEdited.connect(self._on_edited)
        field.setObjectName(f"config_{key}")
        field.setProperty("key", key)
        return field

    def _fill(self) -> None:
        self._filling = True
        for key, field in self.fields.items():
            value = self._overrides.get(key, self._base.get(key))
            if isinstance(field, QCheckBox):
                field.setChecked(bool(value))
            elif isinstance(field, QSpinBox):
                field.setValue(int(value))
            elif isinstance(self._base.get(key), float):
                field.setText(format_float(float(value)))
            else:
                field.setText(str(value))
        self._filling = False
        self._mark()

    def _read(self, key: str):
        field, base = self.fields[key], self._base.get(key)
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QSpinBox):
            return field.value()
        if isinstance(base, float):
            try:
                value = float(field.text().replace(",", "."))
            except ValueError:
                return base
            return value if math.isfinite(value) else base
        return field.text()

    @Slot()
    def _on_edited(self, *_args) -> None:
        if self._filling:
            return
        key = self.sender().property("key")
        value = self._read(key)
        if value == self._base.get(key):
            self._overrides.pop(key, None)
        else:
            self._overrides[key] = value
        self._mark()
        self.changed.emit()

    def _mark(self) -> None:
        for key, label in self._labels.items():
            label.setProperty("override", key in self._overrides)
            label.style().unpolish(label)
            label.style().polish(label)
        self.reset_button.setEnabled(bool(self._overrides))

    @Slot()
    def reset(self) -> None:
        self._overrides = {}
        self._fill()
        self.changed.emit()

    def overrides(self) -> dict:
        return dict(self._overrides)

    def set_overrides(self, overrides: dict) -> None:
        """Set what differs from the preset (values equal to the preset's are not overrides)."""
        self._overrides = {k: v for k, v in (overrides or {}).items() if k in self._base and v != self._base[k]}
        self._fill()

    def config(self) -> dict:
        """The full config the run would use."""
        return {**self._base, **self._overrides}
