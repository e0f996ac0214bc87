"""The Advanced section of a new run: one field per hyperparameter, built from the recipe's defaults.

The recipe's ``default_config`` holds only int/float/bool/str values, so the form is generated and never goes
stale when a recipe gains a setting. What each field is called, its one-line tooltip, its section, its choices and
its range come from the settings table in core (:mod:`studio.core.training.setting_docs`): a choice is a drop-down
that offers only what the recipe accepts, a whole number a spin box bounded by the range, a decimal a text field
checked against it (a bad value gets a plain sentence under the form and keeps Start disabled, rather than failing
deep inside the engine). A setting that acts only with another (the EMA's smoothing with EMA on) is greyed out
while that one is off, and a setting the dataset decides (:meth:`ConfigForm.set_fixed`: "Learn the classes" on a
one-class dataset) is shown with its forced value, disabled, with the reason as its tooltip.

Values start from the chosen preset; a field the user changes becomes an *override* (shown in bold, kept when the
preset changes, cleared by *Reset to preset*), and only overrides are handed to the engine, so a run's config.json
says what the user actually chose.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from studio.core.training import setting_docs
from studio.core.training.setting_docs import SettingDoc
from studio.ui.widgets.common.inputs import ComboBox, SpinBox

INT_LIMIT = 2_147_483_647  # a spin box holds a 32-bit int
# The card's column is ~280 px: labels get a fixed 124 px (a name in bold, once overridden, wraps instead of
# squeezing the fields), fields the rest, so a drop-down shows its longest choice whole (~150 px with its arrow).
LABEL_WIDTH = 124
FIELD_MIN_WIDTH = 96  # narrower than a spin box's own hint for "10,000,000 steps"


def setting_label(key: str, family: str | None = None) -> str:
    """``batch_size`` → ``Batch size``, ``lr`` → ``Learning rate``: the settings table's name for the key."""
    return setting_docs.label(key, family)


def format_float(value: float) -> str:
    return setting_docs.format_number(float(value))


def _tooltip(doc: SettingDoc | None, key: str) -> str:
    """The table's one line, then the range in words: what the field accepts is never a surprise."""
    if doc is None:
        return key
    if doc.low is not None and doc.high is not None and not doc.choices:
        like = int if float(doc.low).is_integer() and float(doc.high).is_integer() else float
        low, high = setting_docs.format_number(like(doc.low)), setting_docs.format_number(like(doc.high))
        return f"{doc.tip}\nFrom {low} to {high}."
    return doc.tip


class ConfigForm(QWidget):
    """Fields for every hyperparameter of a family; ``overrides()`` gives what differs from the preset."""

    changed = Signal()  # the user changed a value (or pressed Reset)
    problems_changed = Signal()  # a typed value became unusable, or usable again (see problems())

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
        self.problem_label = QLabel(objectName="configProblem")  # what is wrong with a typed value, in words
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._docs: dict[str, SettingDoc | None] = {}
        self._family: str | None = None
        self._base: dict = {}  # defaults + preset
        self._overrides: dict = {}
        self._invalid: dict[str, str] = {}  # key -> why the text typed in its field cannot be used
        self._fixed: dict[str, tuple[Any, str]] = {}  # key -> (value, why): settings the dataset decides
        self._forced: set[str] = set()  # overrides set by _fixed, not by the user
        self._filling = False
        self.reset_button.setEnabled(False)

    # -- filling --------------------------------------------------------------------------------------------
    def set_config(self, defaults: dict, preset: dict, keep_overrides: bool = True, family: str | None = None) -> None:
        """Show ``defaults`` updated by ``preset``; the user's overrides stay unless ``keep_overrides`` is off.
        ``family`` picks what a shared key means for that family (its label, tooltip and range)."""
        if set(defaults) != set(self._base) or family != self._family:
            self._family = family
            self._build(defaults)
            self._overrides = {k: v for k, v in self._overrides.items() if k in defaults} if keep_overrides else {}
            self._forced &= set(self._overrides)
        elif not keep_overrides:
            self._overrides, self._forced = {}, set()
        self._base = {**defaults, **{k: v for k, v in preset.items() if k in defaults}}
        self._fill()

    def set_fixed(self, fixed: dict[str, tuple[Any, str]]) -> None:
        """Settings the dataset decides: key → (value, why). Each shows its value, disabled, with ``why`` as its
        tooltip, and the value reaches the run; a key no longer fixed goes back to the preset's value."""
        self._fixed = dict(fixed)
        self._fill()

    def _build(self, defaults: dict) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fields, self._labels = {}, {}
        self._docs = {key: setting_docs.describe(key, self._family) for key in defaults}
        row, group = 0, None
        for key in setting_docs.ordered(defaults, self._family):
            doc = self._docs[key]
            if doc is not None and doc.group != group:
                group = doc.group
                caption = QLabel(group.upper(), objectName="sectionCaption")
                self.grid.addWidget(caption, row, 0, 1, 2)
                row += 1
            field = self._make_field(key, defaults[key], doc)
            label = QLabel(setting_label(key, self._family), objectName="configLabel")
            label.setToolTip(_tooltip(doc, key))
            label.setBuddy(field)
            label.setWordWrap(True)  # a long name takes two lines rather than the drop-downs' room
            label.setFixedWidth(LABEL_WIDTH)
            self.grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            if isinstance(field, QCheckBox):  # its box at the left of the cell, where a click toggles it
                self.grid.addWidget(field, row, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            else:
                self.grid.addWidget(field, row, 1)
            self.fields[key], self._labels[key] = field, label
            row += 1
        self.empty.setVisible(not defaults)

    def _make_field(self, key: str, value, doc: SettingDoc | None) -> QWidget:
        field: QWidget
        if isinstance(value, bool):
            field = QCheckBox()
            field.toggled.connect(self._on_edited)
        elif doc is not None and doc.choices:
            field = ComboBox()
            for choice in doc.choices:
                field.addItem(choice.label, choice.value)
                field.setItemData(field.count() - 1, choice.tip or choice.label, Qt.ItemDataRole.ToolTipRole)
            field.setSizeAdjustPolicy(ComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            field.currentIndexChanged.connect(self._on_edited)
        elif isinstance(value, int):
            field = SpinBox()
            low, high = (doc.low, doc.high) if doc is not None and doc.low is not None else (-1, INT_LIMIT)
            field.setRange(int(low), int(min(high, INT_LIMIT)))
            field.setGroupSeparatorShown(True)
            field.setSuffix(doc.unit if doc is not None else "")
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
        field.setToolTip(_tooltip(doc, key))
        if not isinstance(field, QCheckBox):  # a check box's click area is its box: it keeps its own size
            field.setMinimumWidth(FIELD_MIN_WIDTH)
            field.setSizePolicy(QSizePolicy.Policy.Expanding, field.sizePolicy().verticalPolicy())
        return field

    def _fill(self) -> None:
        """Show the config's values (a typed value not yet usable is replaced by the one the run would use)."""
        self._invalid = {}
        self._apply_fixed()
        self._filling = True
        for key, field in self.fields.items():
            value = self._overrides.get(key, self._base.get(key))
            if isinstance(field, QCheckBox):
                field.setChecked(bool(value))
            elif isinstance(field, ComboBox):
                self._select(field, value)
            elif isinstance(field, SpinBox):
                field.setValue(int(value))
            elif isinstance(self._base.get(key), float):
                field.setText(format_float(float(value)))
            else:
                field.setText(str(value))
        self._filling = False
        self._mark()

    @staticmethod
    def _select(combo: ComboBox, value) -> None:
        """Select ``value``; one the table does not list (a run from an older studio, a ``--set``) is added as it
        is, so the form never shows a value other than the one the run would use."""
        index = combo.findData(value)
        if index < 0:
            combo.addItem(str(value) or "(none)", value)
            combo.setItemData(combo.count() - 1, "A value this version does not list", Qt.ItemDataRole.ToolTipRole)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _apply_fixed(self) -> None:
        """Force the fixed settings' values into the overrides and release the ones no longer fixed."""
        for key in list(self._forced):
            if key not in self._fixed:
                self._overrides.pop(key, None)
                self._forced.discard(key)
        for key, (value, _why) in self._fixed.items():
            if key not in self.fields:
                continue
            if value == self._base.get(key, value):
                self._overrides.pop(key, None)
            else:
                self._overrides[key] = value
            self._forced.add(key)

    def _read(self, key: str):
        """The field's value, or None when the typed text is not a number (``_invalid`` then says why)."""
        field, base = self.fields[key], self._base.get(key)
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, ComboBox):
            return field.currentData()
        if isinstance(field, SpinBox):
            return field.value()
        if isinstance(base, float):
            try:
                value = float(field.text().replace(",", "."))
            except ValueError:
                return None
            return value if math.isfinite(value) else None
        return field.text()

    # -- edits ------------------------------------------------------------------------------------------------
    @Slot()
    def _on_edited(self, *_args) -> None:
        if self._filling:
            return
        key = self.sender().property("key")
        value = self._read(key)
        why = (
            setting_docs.problem(key, value, self._family)
            if value is not None
            else f"{setting_label(key, self._family)} needs a number, such as {format_float(self._base.get(key, 0.0))}."
        )
        if why and isinstance(self.fields[key], QLineEdit):
            self._invalid[key] = why  # the run keeps the last usable value until this one is fixed
        else:
            self._invalid.pop(key, None)
            if value == self._base.get(key):
                self._overrides.pop(key, None)
            else:
                self._overrides[key] = value
        self._mark()
        self.changed.emit()

    def _mark(self) -> None:
        """Bold labels for the user's overrides, greyed fields for settings that cannot act, the problems line."""
        for key, label in self._labels.items():
            label.setProperty("override", key in self._overrides and key not in self._forced)
            label.style().unpolish(label)
            label.style().polish(label)
        config = self.config()
        for key, field in self.fields.items():
            doc = self._docs.get(key)
            needs = doc.needs if doc is not None else None
            acts = needs is None or needs[0] not in config or config[needs[0]] == needs[1]
            fixed = self._fixed.get(key)
            field.setEnabled(acts and fixed is None)
            tip = fixed[1] if fixed is not None else _tooltip(doc, key)
            if needs is not None and not acts:
                tip += f"\nActs only when {setting_label(needs[0], self._family)} is {self._value_words(needs)}."
            field.setToolTip(tip)
            self._labels[key].setToolTip(tip)
            field.setProperty("invalid", key in self._invalid)
            field.style().unpolish(field)
            field.style().polish(field)
        self.reset_button.setEnabled(bool(set(self._overrides) - self._forced) or bool(self._invalid))
        self._show_problems()

    def _value_words(self, needs: tuple[str, Any]) -> str:
        key, value = needs
        if isinstance(value, bool):
            return "on" if value else "off"
        doc = self._docs.get(key)
        names = {c.value: c.label for c in doc.choices} if doc is not None else {}
        return f"“{names.get(value, value)}”"

    def _show_problems(self) -> None:
        problems = self.problems()
        text = "\n".join(problems.values())
        if text != self.problem_label.text():
            self.problem_label.setText(text)
            self.problem_label.setVisible(bool(text))
            self.problems_changed.emit()

    @Slot()
    def reset(self) -> None:
        self._overrides, self._forced = {}, set()
        self._fill()
        self.changed.emit()

    # -- reading ----------------------------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """key → why the form's value cannot be used (a typed value out of range, two settings that disagree);
        empty when a run can start with these settings."""
        found = dict(self._invalid)
        for key, why in setting_docs.config_problems(self.config(), self._family).items():
            found.setdefault(key, why)
        return found

    def overrides(self) -> dict:
        return dict(self._overrides)

    def set_overrides(self, overrides: dict) -> None:
        """Set what differs from the preset (values equal to the preset's are not overrides)."""
        self._overrides = {k: v for k, v in (overrides or {}).items() if k in self._base and v != self._base[k]}
        self._forced = set()
        self._fill()

    def config(self) -> dict:
        """The full config the run would use."""
        return {**self._base, **self._overrides}
