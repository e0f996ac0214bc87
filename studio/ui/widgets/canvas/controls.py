"""The canvas's controls card: which model and checkpoint, how many images, the seed (with a dice for a new
one), truncation, the class (only for a model trained with classes), Generate, and the two "from a file" doors.

The card only gathers choices and says why a button is disabled; the panel decides what runs.
"""

from __future__ import annotations

import contextlib
import random

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from studio.core import words
from studio.core.training import families
from studio.ui.icons import icon
from studio.ui.widgets.common.forms import field_rows
from studio.ui.widgets.common.inputs import ComboBox, Slider, SpinBox
from studio.ui.widgets.common.model_picker import ModelPickerMixin
from studio.ui.widgets.common.seed import dice_icon, fit_seed_box

GRID_SIZES = (4, 16, 36, 64)


class CanvasControls(ModelPickerMixin, QFrame):
    generate_requested = Signal()
    model_changed = Signal()  # model or checkpoint
    open_png_requested = Signal()
    open_image_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.models: list[dict] = []
        self.model = ComboBox(objectName="canvasModel")
        self.model.setToolTip(
            f"The {families.labels(families.for_panel('image'))} run to generate with; starter models appear when "
            "installed"
        )
        self.model.currentIndexChanged.connect(self._on_model)
        self.checkpoint = ComboBox(objectName="canvasCheckpoint")
        self.checkpoint.setToolTip("Which saved step of the run to use; the newest is usually the best")
        self.checkpoint.currentIndexChanged.connect(self._on_checkpoint)
        self.facts = QLabel(objectName="mutedLabel")
        self.facts.setWordWrap(True)

        self.size_group = QButtonGroup(self)
        self.size_buttons: dict[int, QPushButton] = {}
        sizes = QHBoxLayout()
        sizes.setSpacing(6)
        for count in GRID_SIZES:
            side = int(count**0.5)
            button = QPushButton(str(count), objectName="gridSizeButton")
            button.setCheckable(True)
            button.setToolTip(f"{words.count(count, 'image')} ({side} × {side})")
            self.size_group.addButton(button)
            self.size_buttons[count] = button
            sizes.addWidget(button)
        self.size_buttons[16].setChecked(True)

        self.seed = SpinBox(objectName="canvasSeed")
        fit_seed_box(self.seed)
        self.seed.setValue(42)
        self.seed.setToolTip("The same seed, model and settings always give the same images")
        self.dice = QToolButton(objectName="diceButton")
        self.dice.setIcon(dice_icon())
        self.dice.setIconSize(QSize(18, 18))
        self.dice.setToolTip("A new random seed, then generate")
        self.dice.clicked.connect(self.roll)
        seed_row = QHBoxLayout()
        seed_row.setSpacing(6)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)

        self.truncation = Slider(Qt.Orientation.Horizontal, objectName="canvasTruncation")
        self.truncation.setRange(10, 100)
        self.truncation.setValue(100)
        self.truncation.setToolTip(
            "Lower keeps images closer to the model's average look: safer and less varied. 1.00 uses the full range."
        )
        self.truncation_value = QLabel(objectName="valueText")
        self.truncation_value.setFixedWidth(34)
        self.truncation.valueChanged.connect(self._on_truncation)
        trunc_row = QHBoxLayout()
        trunc_row.setSpacing(8)
        trunc_row.addWidget(self.truncation, 1)
        trunc_row.addWidget(self.truncation_value)

        self.class_choice = ComboBox(objectName="canvasClass")
        self.class_choice.setToolTip("The class folder of your dataset the images should come from")
        self.class_label = QLabel("Class")

        self.generate_button = QPushButton(icon("play"), "Generate", objectName="generateButton")
        self.generate_button.setProperty("primary", True)
        self.generate_button.setToolTip("Fill the grid with these settings (Ctrl+Return)")
        self.generate_button.clicked.connect(self.generate_requested)
        self.hint = QLabel(objectName="mutedLabel")
        self.hint.setWordWrap(True)

        self.open_png_button = QPushButton(icon("open"), "Open PNG…", objectName="openPngButton")
        self.open_png_button.setToolTip("Read the settings inside a PNG the studio exported and make it again")
        self.open_png_button.clicked.connect(self.open_png_requested)
        self.open_image_button = QPushButton(icon("import"), "Open image…", objectName="openImageButton")
        self.open_image_button.clicked.connect(self.open_image_requested)

        grid = field_rows([("Model", self.model), ("Checkpoint", self.checkpoint)])
        settings = QGridLayout()
        settings.setContentsMargins(0, 0, 0, 0)
        settings.setHorizontalSpacing(12)
        settings.setVerticalSpacing(10)
        settings.addWidget(QLabel("Images"), 0, 0)
        settings.addLayout(sizes, 0, 1)
        settings.addWidget(QLabel("Seed"), 1, 0)
        settings.addLayout(seed_row, 1, 1)
        settings.addWidget(QLabel("Truncation"), 2, 0)
        settings.addLayout(trunc_row, 2, 1)
        settings.addWidget(self.class_label, 3, 0)
        settings.addWidget(self.class_choice, 3, 1)
        settings.setColumnStretch(1, 1)
        files = QHBoxLayout()
        files.setSpacing(6)
        files.addWidget(self.open_png_button)
        files.addWidget(self.open_image_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("MODEL", objectName="sectionCaption"))
        layout.addLayout(grid)
        layout.addWidget(self.facts)
        layout.addSpacing(6)
        layout.addWidget(QLabel("IMAGES", objectName="sectionCaption"))
        layout.addLayout(settings)
        layout.addSpacing(6)
        layout.addWidget(self.generate_button)
        layout.addWidget(self.hint)
        layout.addSpacing(6)
        layout.addWidget(QLabel("FROM A FILE", objectName="sectionCaption"))
        layout.addLayout(files)
        self._on_truncation(self.truncation.value())
        self._on_model()

    # -- filling -----------------------------------------------------------------------------------------
    def _update_facts(self) -> None:
        info = self.info()
        classes = list((info or {}).get("classes") or [])
        current = self.class_name()
        self.class_choice.clear()
        for name in classes:
            self.class_choice.addItem(name, name)
        if current in classes:
            self.class_choice.setCurrentIndex(classes.index(current))
        self.class_choice.setVisible(bool(classes))
        self.class_label.setVisible(bool(classes))
        if info is None:
            self.facts.setText("")
            self.facts.setVisible(False)
        else:
            kind = str(info["label"])  # the family's short name ("GAN")
            size = int(info.get("resolution") or 0)
            parts = (
                [kind]
                + ([f"{size} × {size} px"] if size else [])
                + ([words.count(len(classes), "class")] if classes else ["no classes"])
                + ([f"on {info['dataset']}"] if info.get("dataset") else [])
            )
            self.facts.setText(" · ".join(parts))
            self.facts.setVisible(True)
        vae = self.is_vae()
        self.open_image_button.setEnabled(vae)
        self.open_image_button.setToolTip(
            "Pick one picture to see the VAE rebuild it, or two to morph between them (you can also drop them on "
            "the panel)"
            if vae
            else "Only a VAE can rebuild a picture: pick a VAE run in the Model list"
        )

    # -- reading ------------------------------------------------------------------------------------------
    def is_vae(self) -> bool:
        """Whether the chosen model can rebuild and morph pictures: its family's network has an encoder (a VAE),
        as the family table says (the model list's ``can_encode``)."""
        return bool((self.info() or {}).get("can_encode"))

    def count(self) -> int:
        button = self.size_group.checkedButton()
        return int(button.text()) if button is not None else 16

    def set_count(self, count) -> None:
        try:
            count = min(GRID_SIZES, key=lambda c: abs(c - int(count)))
        except (TypeError, ValueError):
            return
        self.size_buttons[count].setChecked(True)

    def truncation_value_(self) -> float:
        return round(self.truncation.value() / 100, 2)

    def set_truncation(self, value) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.truncation.setValue(int(round(float(value) * 100)))

    def class_name(self) -> str | None:
        if not self.class_choice.count():
            return None
        data = self.class_choice.currentData()
        return str(data) if data else None

    def set_class(self, name) -> None:
        index = self.class_choice.findData(name)
        if index >= 0:
            self.class_choice.setCurrentIndex(index)

    def set_generate_state(self, enabled: bool, hint: str = "") -> None:
        self.generate_button.setEnabled(enabled)
        self.generate_button.setToolTip("Fill the grid with these settings (Ctrl+Return)" if enabled else hint)
        self.dice.setEnabled(enabled)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    # -- reactions ----------------------------------------------------------------------------------------
    @Slot()
    def roll(self) -> None:
        self.seed.setValue(random.randint(0, 999_999))
        self.generate_requested.emit()

    @Slot(int)
    def _on_truncation(self, value: int) -> None:
        self.truncation_value.setText(f"{value / 100:.2f}")
