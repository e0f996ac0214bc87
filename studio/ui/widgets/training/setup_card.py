"""The "New run" card: dataset, model, preset (with its estimated time and memory on this device), Advanced and
Start.

Only families that train on the chosen dataset's kind are offered. Each preset button shows its estimated time and
the memory it needs once the panel's estimate job reports them ("Estimating…" until then, "—" if it could not be
estimated), so the choice between a fast preview and the best quality is made knowing the cost.

Which preset is checked follows the estimates until the user picks one: *Fast preview* while nothing is known,
then the largest preset whose estimate fits :data:`PRESELECT_LIMIT_S` on this device, so nothing known to take
longer is ever preselected. A preset the user clicks stays until the dataset or the model changes; one restored
from the last session stays unless its estimate turns out longer than the limit.

What the user changes by hand (the model, the resolution, an Advanced field) is reported by :attr:`TrainingSetup.
user_changed`, and the panel's data-driven suggestion (:meth:`TrainingSetup.apply_suggestion`) then leaves that
dataset alone. What the dataset *decides* is another matter: the facts the panel reads with its suggestion
(:meth:`TrainingSetup.set_dataset_facts`, e.g. how many classes it has) fix the settings that cannot act on it
("Learn the classes" on a one-class dataset, :func:`studio.core.training.setting_docs.fixed_by_data`), whoever
chose the rest. Start stays disabled while an Advanced field holds a value no run could use, and says which.

A family that learns from two datasets (its settings name a second one, :data:`SECOND_DATASET`: style transfer's
style B) gets a second picker: the first dataset is then "Style A", the "Style B" picker lists the project's other
datasets of the same kind — first "Use the two class folders of …" when style A has exactly two — and its choice
reaches the run as that setting (shown, fixed, in Advanced).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from studio.core import words
from studio.core.durations import format_duration, format_rough_duration
from studio.core.training import setting_docs
from studio.core.training.families import PRESET_KEYS, PRESET_TITLES
from studio.ui.icons import icon
from studio.ui.widgets.common.forms import field_rows
from studio.ui.widgets.common.inputs import ComboBox
from studio.ui.widgets.training.config import ConfigForm

ESTIMATING = "Estimating…"
# The longest estimate a preset may have to be preselected: a first run should end while the user is still there
# (issue 16: "nothing preselected that takes more than ~20 min on the current device").
PRESELECT_LIMIT_S = 20 * 60
AUTO, RESTORED, USER = "auto", "restored", "user"  # who chose the checked preset
KIND_ICON = {"image": "image", "text": "text", "audio": "speech"}
SECOND_DATASET = "dataset_b"  # a family setting naming a second dataset (style transfer's style B); "" = class folders


def format_bytes(count: int) -> str:
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GB"
    return f"{max(1, round(count / (1 << 20)))} MB"


class PresetButton(QPushButton):
    """A checkable card: the preset's title and, below it in smaller muted type, its estimated time and memory."""

    def __init__(self, key: str, parent=None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName("presetButton")
        self.setCheckable(True)
        self.title = QLabel(PRESET_TITLES[key], objectName="presetTitle")
        self.estimate = QLabel(objectName="presetEstimate")
        self.memory = QLabel(objectName="presetEstimate")  # same muted type, its own line: the cards are narrow
        self.seconds: float | None = None  # the estimate, once known
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 6, 3, 6)  # narrow cards: "Fast preview" must fit in bold
        layout.setSpacing(1)
        for label in (self.title, self.estimate, self.memory):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks reach the button
            layout.addWidget(label)
        self.setAccessibleName(PRESET_TITLES[key])
        self.set_estimate("—")

    def set_estimate(self, text: str, tooltip: str = "", memory: str = "", seconds: float | None = None) -> None:
        self.estimate_text, self.memory_text, self.seconds = text, memory, seconds
        self.estimate.setText(text)
        self.memory.setText(memory)
        self.memory.setVisible(bool(memory))
        self.setAccessibleDescription(f"{text}, {memory}" if memory else text)
        self.setToolTip(tooltip)

    def sizeHint(self) -> QSize:
        return self.layout().sizeHint()


class TrainingSetup(QFrame):
    """Choices for a new run and the Start button; the panel fills it and reacts to its signals."""

    start_requested = Signal()
    choice_changed = Signal()  # dataset, family or preset: estimates are stale
    dataset_changed = Signal(str)  # another dataset is selected (its name)
    user_changed = Signal()  # the user changed the model, the resolution or an Advanced field by hand

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.families: list[dict] = []
        self.presets: dict[str, dict] = {}
        self.defaults: dict[str, dict] = {}
        self._kinds: dict[str, str] = {}
        self._facts: dict[str, dict] = {}  # dataset -> facts read with the panel's suggestion ({"classes": 3})
        self._start_state: tuple[bool, str] = (True, "")  # what the panel asked for (see set_start_state)
        self._shown_dataset: str | None = None
        self.preset_source = AUTO
        self.dataset = ComboBox(objectName="datasetChoice")
        self.dataset.currentIndexChanged.connect(self._on_dataset)
        self.dataset_label = QLabel("Dataset")
        self.second = ComboBox(objectName="secondDatasetChoice")  # style B, for a family that needs two datasets
        self.second.setToolTip("The dataset of pictures in the other style: the model learns to turn A into B and back")
        self.second.currentIndexChanged.connect(self._on_second)
        self.second_label = QLabel("Style B")
        self._second_choice: str | None = None  # the user's pick of style B, kept while it is offered
        self.second_hint = QLabel(objectName="mutedLabel")
        self.second_hint.setWordWrap(True)
        for widget in (self.second, self.second_label, self.second_hint):
            widget.setVisible(False)
        self.family = ComboBox(objectName="familyChoice")
        self.family.currentIndexChanged.connect(self._on_family)
        self.family.activated.connect(self.user_changed)  # activated: by the user only, never by code
        self.family_hint = QLabel(objectName="mutedLabel")
        self.family_hint.setWordWrap(True)
        self.resolution = ComboBox(objectName="resolutionChoice")
        self.resolution.setToolTip(
            "Size of the pictures the model learns and makes. Larger is slower and needs more "
            "memory: see the estimate below the presets"
        )
        self.resolution.currentIndexChanged.connect(self._on_resolution)
        self.resolution.activated.connect(self.user_changed)
        self.resolution_label = QLabel("Resolution")
        self.resolution.setVisible(False)
        self.resolution_label.setVisible(False)
        self.preset_group = QButtonGroup(self)
        self.preset_buttons: dict[str, PresetButton] = {}
        presets = QHBoxLayout()
        presets.setSpacing(6)
        for key in PRESET_KEYS:
            button = PresetButton(key)
            self.preset_group.addButton(button)
            self.preset_buttons[key] = button
            presets.addWidget(button)
        self.preset_buttons["fast"].setChecked(True)  # until estimates say a larger one fits (see _preselect)
        self.preset_group.buttonToggled.connect(self._on_preset)
        self.preset_group.buttonClicked.connect(self._on_preset_clicked)  # clicks only: the user's choice
        self.estimate_note = QLabel(objectName="mutedLabel")
        self.estimate_note.setWordWrap(True)

        self.advanced_toggle = QToolButton(objectName="advancedToggle")
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setToolTip("Every hyperparameter of the model; changes are kept when you switch preset")
        self.advanced_toggle.toggled.connect(self.set_advanced_open)
        self.form = ConfigForm()
        self.form.setVisible(False)
        self.form.changed.connect(self._show_resolution)
        self.form.changed.connect(self.user_changed)  # emitted for the user's edits (and Reset) only
        self.form.problems_changed.connect(self._refresh_start_state)

        self.start_button = QPushButton(icon("play"), "Start training", objectName="startButton")
        self.start_button.setProperty("primary", True)
        self.start_button.setToolTip("Start training with these settings (Ctrl+Return)")
        self.start_button.clicked.connect(self.start_requested)
        self.start_hint = QLabel(objectName="mutedLabel")
        self.start_hint.setWordWrap(True)

        grid = field_rows([(self.dataset_label, self.dataset), (self.second_label, self.second)])
        grid.addWidget(self.second_hint, 2, 0, 1, 2)  # under the two styles it is about
        grid.addWidget(QLabel("Model"), 3, 0)
        grid.addWidget(self.family, 3, 1)
        grid.addWidget(self.resolution_label, 4, 0)
        grid.addWidget(self.resolution, 4, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("NEW RUN", objectName="sectionCaption"))
        layout.addLayout(grid)
        layout.addWidget(self.family_hint)
        layout.addSpacing(2)
        layout.addLayout(presets)
        layout.addWidget(self.estimate_note)
        layout.addWidget(self.advanced_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.form)
        layout.addSpacing(4)
        layout.addWidget(self.start_button)
        layout.addWidget(self.start_hint)

    # -- filling ------------------------------------------------------------------------------------------
    def set_datasets(self, datasets: dict[str, dict]) -> None:
        """``name → {"kind", "items"}`` from the project; keeps the selection when it still exists."""
        current = self.dataset_name()
        self.dataset.blockSignals(True)
        self.dataset.clear()
        self._kinds = {}
        for name in sorted(datasets, key=str.lower):
            info = datasets[name] if isinstance(datasets[name], dict) else {}
            kind = str(info.get("kind", "image"))
            items = info.get("items")
            text = f"{name}  ·  {words.count(items, 'item')}" if isinstance(items, int) else name
            self.dataset.addItem(icon(KIND_ICON.get(kind, "dataset")), text, name)
            self._kinds[name] = kind
        self.dataset.blockSignals(False)
        self.select_dataset(current)
        self._on_dataset()

    def set_catalog(self, families: list[dict], presets: dict, defaults: dict) -> None:
        self.families, self.presets, self.defaults = families, presets, defaults
        self._fill_families()

    def set_dataset_facts(self, name: str, facts: dict) -> None:
        """What the panel learnt about dataset ``name`` (``{"classes": int | None}``); the settings it decides
        follow at once when it is the one selected."""
        self._facts[name] = dict(facts)
        if name == self.dataset_name():
            before = self.form.overrides()
            self._apply_fixed()
            if self.form.overrides() != before:  # what is estimated must be what will train
                self.clear_estimates()
                self.choice_changed.emit()

    def family_title(self, family: str | None) -> str:
        """The family's display name ("Image GAN (DCGAN)") for titles and messages; the id only for a family the
        catalogue does not list."""
        info = next((f for f in self.families if f.get("family") == family), None)
        return str((info or {}).get("title") or family or "")

    def select_dataset(self, name: str | None) -> None:
        index = self.dataset.findData(name) if name else -1
        if index >= 0:
            self.dataset.setCurrentIndex(index)

    def select_family(self, family: str | None) -> None:
        index = self.family.findData(family) if family else -1
        if index >= 0:
            self.family.setCurrentIndex(index)

    def select_preset(self, key: str | None, source: str = USER) -> None:
        """Check preset ``key``; ``source`` says who chose it: the user's choice (or a script's, driving the card
        as a user would) stands, a ``RESTORED`` one gives way to a known long estimate."""
        if key in self.preset_buttons:
            self.preset_buttons[key].setChecked(True)
            self.preset_source = source

    def _fill_families(self, force: bool = True) -> None:
        """List the families for the dataset's kind, keeping the selection. Unless ``force``d (another dataset),
        an unchanged selection keeps its settings: refreshing the datasets after an import or a cache build must
        not throw away the resolution or the Advanced fields the user set."""
        current = self.family_name()
        listed = [self.family.itemData(i) for i in range(self.family.count())]
        kind = self._kinds.get(self.dataset_name() or "")
        self.family.blockSignals(True)
        self.family.clear()
        for info in self.families:
            if kind is None or kind in tuple(info.get("kinds") or ()):
                self.family.addItem(str(info.get("title") or info["family"]), info["family"])
                self.family.setItemData(
                    self.family.count() - 1, info.get("description", ""), Qt.ItemDataRole.ToolTipRole
                )
        self.select_family(current)  # signals still blocked: _on_family runs once, below, when it must
        self.family.blockSignals(False)
        now = [self.family.itemData(i) for i in range(self.family.count())]
        if force or now != listed or self.family_name() != current:
            self._on_family()

    # -- reading ------------------------------------------------------------------------------------------
    def dataset_name(self) -> str | None:
        data = self.dataset.currentData()
        return str(data) if data else None

    def dataset_kind(self) -> str | None:
        return self._kinds.get(self.dataset_name() or "")

    def family_name(self) -> str | None:
        data = self.family.currentData()
        return str(data) if data else None

    def preset(self) -> str:
        button = self.preset_group.checkedButton()
        return button.key if button is not None else "balanced"

    def preset_config(self, key: str) -> dict:
        """The full config of a preset with the user's Advanced overrides on top."""
        family = self.family_name()
        defaults = self.defaults.get(family, {}) if family else {}
        preset = (self.presets.get(family) or {}).get(key, {}) if family else {}
        return {**defaults, **preset, **self.form.overrides()}

    # -- reactions ----------------------------------------------------------------------------------------
    @Slot()
    def _on_dataset(self, *_args) -> None:
        name = self.dataset_name()
        changed = name != self._shown_dataset
        self._shown_dataset = name
        self._fill_families(force=changed)
        self._apply_fixed()
        if changed:
            self.dataset_changed.emit(name or "")

    @Slot()
    def _on_family(self, *_args) -> None:
        family = self.family_name()
        info = next((f for f in self.families if f["family"] == family), None)
        self.family_hint.setText(str(info.get("description", "")) if info else "")
        self.family_hint.setVisible(bool(info and info.get("description")))
        self._refresh_form(keep_overrides=False)
        self._fill_resolutions(info)
        self.clear_estimates()
        self._preset_follows_estimates()
        self.choice_changed.emit()

    def _preset_follows_estimates(self) -> None:
        """Another model (or dataset): a preset chosen for the previous one says nothing about this one's cost,
        so the presets start again from Fast preview and follow the new estimates."""
        self.preset_source = AUTO
        if self.preset() != PRESET_KEYS[0]:
            self.preset_buttons[PRESET_KEYS[0]].setChecked(True)

    def apply_suggestion(self, family: str | None, settings: dict) -> bool:
        """Select ``family`` (when this dataset's kind offers it) with ``settings`` as its Advanced overrides: the
        defaults that follow the data. True if the family was there to select."""
        if not family or self.family.findData(family) < 0:
            return False
        if family != self.family_name():
            self.select_family(family)  # resets the overrides and the estimates, emits choice_changed
        before = self.form.overrides()
        self.form.set_overrides({**before, **settings})  # values equal to the preset's are dropped there
        self._show_resolution()
        if self.form.overrides() != before:
            self.clear_estimates()
            self.choice_changed.emit()
        return True

    def _fill_resolutions(self, info: dict | None) -> None:
        """Families that train at several sizes (the family table's ``resolutions``) show a Resolution choice;
        others hide it."""
        sizes = [int(size) for size in (info or {}).get("resolutions") or ()]
        self.resolution.blockSignals(True)
        self.resolution.clear()
        for size in sizes:
            self.resolution.addItem(f"{size} × {size} px", size)
        self.resolution.blockSignals(False)
        for widget in (self.resolution, self.resolution_label):
            widget.setVisible(len(sizes) > 1)
        self._show_resolution()

    @Slot()
    def _show_resolution(self) -> None:
        """Follow the config (a preset or the Advanced form may change the resolution too)."""
        index = self.resolution.findData(self.form.config().get("resolution"))
        if index >= 0 and index != self.resolution.currentIndex():
            self.resolution.blockSignals(True)
            self.resolution.setCurrentIndex(index)
            self.resolution.blockSignals(False)

    @Slot()
    def _on_resolution(self, *_args) -> None:
        size = self.resolution.currentData()
        if size is None:
            return
        overrides = self.form.overrides()
        overrides["resolution"] = int(size)
        self.form.set_overrides(overrides)  # an override equal to the preset's value is dropped there
        self.clear_estimates()
        self.choice_changed.emit()

    @Slot()
    def _on_preset(self, *_args) -> None:
        self._refresh_form(keep_overrides=True)
        self._show_resolution()

    @Slot()
    def _on_preset_clicked(self, *_args) -> None:
        self.preset_source = USER

    def _refresh_form(self, keep_overrides: bool) -> None:
        family = self.family_name()
        defaults = self.defaults.get(family, {}) if family else {}
        preset = (self.presets.get(family) or {}).get(self.preset(), {}) if family else {}
        self.form.set_config(defaults, preset, keep_overrides=keep_overrides, family=family)
        self._apply_fixed()

    def _apply_fixed(self) -> None:
        """Fix the settings the selected dataset decides (nothing while its facts are unknown), and the second
        dataset the Style B picker chose."""
        known = self._classes(self.dataset_name())
        fixed = setting_docs.fixed_by_data(self.form.fields, known)
        self._fill_second()
        second = self.second_dataset()
        if self.needs_second() and second is not None:
            fixed[SECOND_DATASET] = (second, "Chosen with Style B above the presets.")
        self.form.set_fixed(fixed)
        self._refresh_start_state()  # style B may have become possible, or impossible

    def _classes(self, name: str | None) -> int | None:
        classes = self._facts.get(name or "", {}).get("classes")
        return classes if isinstance(classes, int) and not isinstance(classes, bool) else None

    # -- a second dataset (style B) -------------------------------------------------------------------------
    def needs_second(self) -> bool:
        """Whether the chosen family learns from a second dataset: its settings name one (:data:`SECOND_DATASET`)."""
        family = self.family_name()
        return bool(family) and SECOND_DATASET in self.defaults.get(family or "", {})

    def second_dataset(self) -> str | None:
        """The Style B choice: a dataset's name, "" for style A's two class folders, None when there is none."""
        data = self.second.currentData()
        return None if data is None else str(data)

    def _fill_second(self) -> None:
        """Show the Style B picker for a family that needs it (and call the first dataset "Style A"): style A's two
        class folders first when it has exactly two, then the project's other datasets of the same kind. The
        user's pick stays while it is offered; otherwise the first entry is chosen."""
        needs = self.needs_second()
        for widget in (self.second, self.second_label, self.second_hint):
            widget.setVisible(needs)
        self.dataset_label.setText("Style A" if needs else "Dataset")
        if not needs:
            return
        first = self.dataset_name() or ""
        wanted = self._second_choice
        self.second.blockSignals(True)
        self.second.clear()
        if self._classes(first) == 2:
            self.second.addItem(f"Use the two class folders of “{first}”", "")
        kind = self._kinds.get(first)
        for index in range(self.dataset.count()):
            name = str(self.dataset.itemData(index))
            if name != first and self._kinds.get(name) == kind:
                self.second.addItem(self.dataset.itemIcon(index), self.dataset.itemText(index), name)
        if not self.second.count():
            self.second.addItem("No other dataset yet", None)
        self.second.setCurrentIndex(max(0, self.second.findData(wanted)) if wanted is not None else 0)
        self.second.setEnabled(self.second.currentData() is not None and self.dataset.isEnabled())
        self.second.blockSignals(False)
        self.second_hint.setText(
            f"“{first}” has two class folders: they can be the two styles (the first is A, the second B)."
            if self._classes(first) == 2
            else "Or pick one dataset with exactly two class folders, one per style, as Style A."
        )

    def restore_overrides(self, overrides: dict) -> None:
        """Put back a saved run card's settings (last session's), the Style B choice among them."""
        self.form.set_overrides(overrides)
        second = overrides.get(SECOND_DATASET)
        if isinstance(second, str):
            self._second_choice = second
            self._fill_second()
            self._apply_fixed()

    @Slot()
    def _on_second(self, *_args) -> None:
        self._second_choice = self.second_dataset()
        self._apply_fixed()
        self.clear_estimates()
        self.choice_changed.emit()

    def second_problem(self) -> str:
        """Why no run of the chosen family can start yet for want of style B ("" when it can)."""
        if not self.needs_second() or self.second_dataset() is not None:
            return ""
        return (
            "Choose the Style B dataset: import a second dataset of pictures in the other style (Dataset panel), "
            "or pick one dataset with exactly two class folders as Style A."
        )

    @Slot(bool)
    def set_advanced_open(self, on: bool) -> None:
        self.advanced_toggle.setChecked(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.form.setVisible(on)

    def clear_estimates(self, text: str = "—") -> None:
        for button in self.preset_buttons.values():
            button.set_estimate(text)
        self.estimate_note.setText("")

    def stop_estimating(self) -> None:
        """The estimate job was cancelled (a run started): presets still waiting show a dash, not a spinner word."""
        for button in self.preset_buttons.values():
            if button.estimate_text == ESTIMATING:
                button.set_estimate("—", "Estimated again when the run ends")

    def show_estimate(self, key: str, estimate: dict, device_label: str) -> None:
        """Show one preset's estimate (time, memory) and let the preselection follow."""
        button = self.preset_buttons.get(key)
        if button is None:
            return
        if isinstance(estimate.get("seconds"), (int, float)):
            seconds = float(estimate["seconds"])
            memory = estimate.get("memory_bytes")
            memory_text = format_bytes(int(memory)) if isinstance(memory, (int, float)) and memory > 0 else ""
            tip = f"{PRESET_TITLES[key]}: about {format_duration(seconds)} on {device_label}"
            if isinstance(estimate.get("steps"), int):
                tip += f" for {words.count(estimate['steps'], 'step')}"
            if memory_text:
                tip += f", {memory_text} of memory"
            button.set_estimate(format_rough_duration(seconds), tip, memory_text, seconds)
            self.estimate_note.setText(f"Estimated times and memory are for {device_label}.")
        else:
            button.set_estimate("—", f"Could not be estimated: {estimate.get('error', 'unknown reason')}")
        self._preselect()

    def _preselect(self) -> None:
        """Check the largest preset known to fit :data:`PRESELECT_LIMIT_S`, unless the user chose one (see the
        module docstring); Fast preview stays while no estimate is known or none fits."""
        if self.preset_source == USER:
            return
        current = self.preset_buttons[self.preset()].seconds
        if self.preset_source == RESTORED and (current is None or current <= PRESELECT_LIMIT_S):
            return
        fitting = [
            key
            for key, button in self.preset_buttons.items()
            if button.seconds is not None and button.seconds <= PRESELECT_LIMIT_S
        ]
        target = fitting[-1] if fitting else PRESET_KEYS[0]
        self.preset_source = AUTO
        if target != self.preset():
            self.preset_buttons[target].setChecked(True)

    def set_start_state(self, enabled: bool, hint: str = "") -> None:
        """Enable Start as the panel says, unless an Advanced field holds a value no run could use."""
        self._start_state = (enabled, hint)
        problems = self.form.problems()
        if enabled and problems:
            first = next(iter(problems.values()))
            enabled, hint = False, f"Fix the advanced settings first: {first}"
        elif enabled and self.second_problem():
            enabled, hint = False, self.second_problem()
        self.start_button.setEnabled(enabled)
        self.start_hint.setText(hint)
        self.start_hint.setVisible(bool(hint))

    @Slot()
    def _refresh_start_state(self) -> None:
        self.set_start_state(*self._start_state)

    def set_editable(self, editable: bool) -> None:
        """While a run trains, its choices are fixed: the card greys out."""
        for widget in (self.dataset, self.family, self.form, *self.preset_buttons.values()):
            widget.setEnabled(editable)
        self.second.setEnabled(editable and self.second_dataset() is not None)
