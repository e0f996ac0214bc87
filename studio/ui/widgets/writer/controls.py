"""The writer's controls card: the model and checkpoint, the template and its fields, the sampling settings
(temperature, top-k, top-p, repetition penalty, length, seed with a dice, stop sequences), how many variants,
the brand rules (words that must and must never appear, and whether every variant must use them), and
Generate / Stop.

A template only gives copy when the writer learned from copy: the shipped starter writer learned from one
public corpus (its config names it), so under a template it writes that corpus' style, not a product
description. The card says so where the template is chosen (:func:`template_note`) and offers to train a
writer on the user's own copy (:attr:`WriterControls.train_requested`).

The card only gathers choices and says why a button is disabled; the panel decides what runs. Generate and
Stop sit in :attr:`WriterControls.action_bar`, which the panel pins under the scrolling card: the card is
taller than a laptop screen, and the buttons must never scroll out of sight.
"""

from __future__ import annotations

import contextlib
import random

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui.icons import icon
from studio.ui.widgets.common.forms import field_rows
from studio.ui.widgets.common.inputs import ComboBox, DoubleSpinBox, Slider, SpinBox
from studio.ui.widgets.common.model_picker import ModelPickerMixin, action_bar
from studio.ui.widgets.common.seed import dice_icon, fit_seed_box

FREE_TEXT = ""  # the template id of "Free text": the prompt is whatever is typed
VARIANT_COUNTS = (1, 2, 3, 4)
DEFAULTS = {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.1, "max_tokens": 200, "seed": 42}


def split_words(text: str) -> list[str]:
    """ "organic, linen ; eco" → ["organic", "linen", "eco"]: commas, semicolons and new lines separate."""
    for sep in (";", "\n", "，", "、"):
        text = text.replace(sep, ",")
    return [w.strip() for w in text.split(",") if w.strip()]


def split_stops(text: str) -> list[str]:
    """Stop sequences are separated by ``|`` (they may contain commas; the spaces around a ``|`` are trimmed);
    ``\\n`` means a new line."""
    return [s.strip(" ").replace("\\n", "\n") for s in text.split("|") if s.strip(" ")]


def trained_on_copy(info: dict | None) -> bool:
    """Whether the writer learned from the user's own copy: a run of the project was trained on one of the
    project's datasets; a starter model (shipped in models/, ``source`` "starter") on the public corpus its
    config.json names ("dataset": "shakespeare" for the starter writer), never on the user's copy."""
    return bool(info) and str(info.get("source") or "project") != "starter"


def template_note(info: dict | None, template_title: str) -> str:
    """Plain words for the template area when a template meets a writer that never read copy ("" otherwise)."""
    if not template_title or not info or trained_on_copy(info):
        return ""
    corpus = str(info.get("dataset") or "").strip()
    learned = f"learned only from “{corpus}”, not from your copy" if corpus else "was not trained on your copy"
    return (
        f"This starter writer {learned}, so the {template_title} template gets text in that style rather than "
        "usable copy. Train a writer on your own texts, then pick it above."
    )


LABEL_WIDTH = 84  # one label column for every section, so the fields of all sections line up


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setFixedWidth(LABEL_WIDTH)
    label.setWordWrap(True)  # "Customer's message" takes two lines rather than being cut
    return label


def _row(*widgets, stretch_first: bool = True) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(8)
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if (i == 0 and stretch_first) else 0)
    return row


class WriterControls(ModelPickerMixin, QFrame):
    generate_requested = Signal()
    stop_requested = Signal()
    model_changed = Signal()  # model or checkpoint
    template_changed = Signal()
    fields_edited = Signal()  # a template field changed: the prompt is built again
    rules_changed = Signal()  # required / banned words changed: the variants' checks are redone
    train_requested = Signal()  # "Train a writer on your copy"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.models: list[dict] = []
        self.templates: list[dict] = []
        self._field_values: dict[str, str] = {}  # remembered across templates (product stays product)

        self.model = ComboBox(objectName="writerModel")
        self.model.setToolTip("The GPT or LSTM writer run to generate with")
        self.model.currentIndexChanged.connect(self._on_model)
        self.checkpoint = ComboBox(objectName="writerCheckpoint")
        self.checkpoint.setToolTip("Which saved step of the run to use; the newest is usually the best")
        self.checkpoint.currentIndexChanged.connect(self._on_checkpoint)
        self.facts = QLabel(objectName="mutedLabel")
        self.facts.setWordWrap(True)

        self.template = ComboBox(objectName="writerTemplate")
        self.template.setToolTip("A template writes the prompt from a few fields; Free text uses what you type")
        self.template.currentIndexChanged.connect(self._on_template)
        self.copy_note = QLabel(objectName="inlineNotice")  # the style sheet's notice: a soft yellow box
        self.copy_note.setWordWrap(True)
        self.train_button = QPushButton("Train a writer on your copy", objectName="writerTrainOnCopy")
        self.train_button.setToolTip("Open Training with a writer model chosen for your text dataset")
        self.train_button.clicked.connect(self.train_requested)
        self.copy_notice = QWidget(objectName="writerCopyNotice")
        notice_layout = QVBoxLayout(self.copy_notice)
        notice_layout.setContentsMargins(0, 2, 0, 2)
        notice_layout.setSpacing(6)
        notice_layout.addWidget(self.copy_note)
        notice_layout.addWidget(self.train_button, alignment=Qt.AlignmentFlag.AlignLeft)
        self.copy_notice.setVisible(False)
        self.fields_box = QWidget(objectName="writerFields")
        self.fields_layout = QGridLayout(self.fields_box)
        self.fields_layout.setContentsMargins(0, 0, 0, 0)
        self.fields_layout.setHorizontalSpacing(12)
        self.fields_layout.setVerticalSpacing(8)
        self.fields_layout.setColumnStretch(1, 1)
        self.field_edits: dict[str, QLineEdit] = {}

        self.temperature = Slider(Qt.Orientation.Horizontal, objectName="writerTemperature")
        self.temperature.setRange(0, 200)
        self.temperature.setToolTip(
            "Higher is bolder and more surprising, lower is safer and more repetitive; "
            "0 always picks the likeliest word"
        )
        self.temperature_value = QLabel(objectName="valueText")
        self.temperature_value.setFixedWidth(34)
        self.temperature.valueChanged.connect(self._on_temperature)
        self.top_k = SpinBox(objectName="writerTopK")
        self.top_k.setRange(0, 1000)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Pick only among the k likeliest next tokens (off: no limit)")
        self.top_p = DoubleSpinBox(objectName="writerTopP")
        self.top_p.setRange(0.05, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setDecimals(2)
        self.top_p.setToolTip(
            "Pick among the likeliest tokens that together make up this share of the chance (1.00: no limit)"
        )
        self.repetition = DoubleSpinBox(objectName="writerRepetition")
        self.repetition.setRange(1.0, 2.0)
        self.repetition.setSingleStep(0.05)
        self.repetition.setDecimals(2)
        self.repetition.setToolTip("Above 1.00 makes repeating the same words less likely")
        self.max_tokens = SpinBox(objectName="writerLength")
        self.max_tokens.setRange(1, 4000)
        self.max_tokens.setSingleStep(50)
        self.max_tokens.setSuffix(" tokens")
        self.max_tokens.setToolTip("The most tokens each variant writes (a token is a character or a word piece)")
        self.seed = SpinBox(objectName="writerSeed")
        fit_seed_box(self.seed)
        self.seed.setToolTip(
            "The same seed, model, prompt and settings always give the same text; variant n uses seed + n - 1"
        )
        self.dice = QToolButton(objectName="diceButton")
        self.dice.setIcon(dice_icon())
        self.dice.setIconSize(QSize(18, 18))
        self.dice.setToolTip("A new random seed, then generate")
        self.dice.clicked.connect(self.roll)
        self.stop_sequences = QLineEdit(objectName="writerStops")
        self.stop_sequences.setPlaceholderText("e.g. \\n\\n | END")
        self.stop_sequences.setToolTip(
            "Writing ends where one of these appears (not included). Separate them with |; write \\n for a new line."
        )

        self.variant_group = QButtonGroup(self)
        self.variant_buttons: dict[int, QPushButton] = {}
        variants = QHBoxLayout()
        variants.setSpacing(6)
        for count in VARIANT_COUNTS:
            button = QPushButton(str(count), objectName="gridSizeButton")
            button.setCheckable(True)
            button.setToolTip(
                f"{words.count(count, 'variant')} side by side (seeds seed … seed + {count - 1})"
                if count > 1
                else "One text"
            )
            self.variant_group.addButton(button)
            self.variant_buttons[count] = button
            variants.addWidget(button)

        self.required = QLineEdit(objectName="writerRequired")
        self.required.setPlaceholderText("e.g. organic, linen")
        self.required.setToolTip("Words every variant should contain; each variant shows which it has")
        self.banned = QLineEdit(objectName="writerBanned")
        self.banned.setPlaceholderText("e.g. cheap, guarantee")
        self.banned.setToolTip("Words the writer must never use: they are blocked while sampling")
        self.enforce = QCheckBox("Make sure every variant uses them", objectName="writerEnforce")
        self.enforce.toggled.connect(self.rules_changed)
        self.required.textChanged.connect(self.rules_changed)
        self.required.textChanged.connect(self._update_enforce)
        self.banned.textChanged.connect(self.rules_changed)

        self.generate_button = QPushButton(icon("play"), "Generate", objectName="generateButton")
        self.generate_button.setProperty("primary", True)
        self.generate_button.setToolTip("Write with these settings (Ctrl+Return)")
        self.generate_button.clicked.connect(self.generate_requested)
        self.stop_button = QPushButton(icon("stop"), "Stop", objectName="writerStop")
        self.stop_button.setToolTip("Stop writing now; what is written so far stays (Esc)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.setEnabled(False)
        self.hint = QLabel(objectName="mutedLabel")
        self.hint.setWordWrap(True)

        model_grid = field_rows([(_label("Model"), self.model), (_label("Checkpoint"), self.checkpoint)])
        prompt_grid = QGridLayout()
        prompt_grid.setContentsMargins(0, 0, 0, 0)
        prompt_grid.setHorizontalSpacing(12)
        prompt_grid.addWidget(_label("Template"), 0, 0)
        prompt_grid.addWidget(self.template, 0, 1)
        prompt_grid.setColumnStretch(1, 1)
        sampling = QGridLayout()
        sampling.setContentsMargins(0, 0, 0, 0)
        sampling.setHorizontalSpacing(12)
        sampling.setVerticalSpacing(8)
        rows = (
            ("Temperature", _row(self.temperature, self.temperature_value)),
            ("Top-k", self.top_k),
            ("Top-p", self.top_p),
            ("Repetition", self.repetition),
            ("Length", self.max_tokens),
            ("Seed", _row(self.seed, self.dice)),
            ("Stop at", self.stop_sequences),
            ("Variants", variants),
        )
        for i, (label, item) in enumerate(rows):
            sampling.addWidget(_label(label), i, 0)
            if isinstance(item, QWidget):
                sampling.addWidget(item, i, 1)
            else:
                sampling.addLayout(item, i, 1)
        sampling.setColumnStretch(1, 1)
        rules = QGridLayout()
        rules.setContentsMargins(0, 0, 0, 0)
        rules.setHorizontalSpacing(12)
        rules.setVerticalSpacing(8)
        rules.addWidget(_label("Must use"), 0, 0)
        rules.addWidget(self.required, 0, 1)
        rules.addWidget(self.enforce, 1, 0, 1, 2)  # the whole width: its words must never be cut
        rules.addWidget(_label("Never use"), 2, 0)
        rules.addWidget(self.banned, 2, 1)
        rules.setColumnStretch(1, 1)
        self.action_bar = action_bar(self.generate_button, self.stop_button, self.hint)  # pinned below the card

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("MODEL", objectName="sectionCaption"))
        layout.addLayout(model_grid)
        layout.addWidget(self.facts)
        layout.addSpacing(6)
        layout.addWidget(QLabel("PROMPT", objectName="sectionCaption"))
        layout.addLayout(prompt_grid)
        layout.addWidget(self.copy_notice)
        layout.addWidget(self.fields_box)
        layout.addSpacing(6)
        layout.addWidget(QLabel("SAMPLING", objectName="sectionCaption"))
        layout.addLayout(sampling)
        layout.addSpacing(6)
        layout.addWidget(QLabel("BRAND RULES", objectName="sectionCaption"))
        layout.addLayout(rules)
        self.set_settings(DEFAULTS)
        self.set_variants(1)
        self.set_templates([])
        self._on_model()
        self._update_enforce()

    # -- models -------------------------------------------------------------------------------------------
    def select(self, run_id: str | None, step: int | None = None) -> bool:
        chosen = super().select(run_id, step)
        if chosen:
            self.model_changed.emit()
        return chosen

    def _update_facts(self) -> None:
        info = self.info()
        self._update_copy_notice()
        if info is None:
            self.facts.setVisible(False)
            return
        tokenizer = {"char": "characters", "bpe": "word pieces (BPE)"}.get(info.get("tokenizer"), "")
        parts = (
            [str(info.get("kind") or info.get("family") or "").upper()]
            + ([tokenizer] if tokenizer else [])
            + ([f"on {info['dataset']}"] if info.get("dataset") else [])
        )
        self.facts.setText(" · ".join(p for p in parts if p))
        self.facts.setVisible(True)

    # -- templates ----------------------------------------------------------------------------------------
    def set_templates(self, templates: list[dict]) -> None:
        current = self.template_id()
        self.templates = [dict(t) for t in templates if t["id"]]  # the contract's TemplateInfo shape
        self.template.blockSignals(True)
        self.template.clear()
        self.template.addItem("Free text", FREE_TEXT)
        for info in self.templates:
            self.template.addItem(info["title"], info["id"])
        index = self.template.findData(current)
        self.template.setCurrentIndex(max(0, index))
        self.template.blockSignals(False)
        self._build_fields()
        self._update_copy_notice()

    def template_id(self) -> str:
        data = self.template.currentData()
        return str(data) if data else FREE_TEXT

    def template_info(self) -> dict | None:
        return next((t for t in self.templates if t["id"] == self.template_id()), None)

    def select_template(self, template_id: str | None) -> bool:
        index = self.template.findData(template_id or FREE_TEXT)
        if index < 0:
            return False
        self.template.setCurrentIndex(index)
        return True

    def _build_fields(self) -> None:
        for edit in self.field_edits.values():
            self._field_values[edit.objectName().removeprefix("field_")] = edit.text()
        while self.fields_layout.count():
            item = self.fields_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.field_edits = {}
        info = self.template_info()
        for row, field in enumerate((info or {}).get("fields") or []):
            edit = QLineEdit(self._field_values.get(field["name"], ""), objectName=f"field_{field['name']}")
            edit.setPlaceholderText(field.get("hint") or "")
            edit.setToolTip(f"{field['label']}: goes into the template's prompt")
            edit.textChanged.connect(self._on_field)
            label = _label(field["label"] + (" *" if field.get("required") else ""))
            if field.get("required"):
                label.setToolTip("Needed: the template cannot write a prompt without it")
            self.fields_layout.addWidget(label, row, 0)
            self.fields_layout.addWidget(edit, row, 1)
            self.field_edits[field["name"]] = edit
        self.fields_box.setVisible(bool(self.field_edits))

    def fields(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.field_edits.items()}

    def all_field_values(self) -> dict[str, str]:
        """The fields of every template used this session (remembered, so switching templates keeps them)."""
        return {**self._field_values, **{n: e.text() for n, e in self.field_edits.items()}}

    def set_fields(self, values: dict) -> None:
        self._field_values.update({str(k): str(v) for k, v in (values or {}).items()})
        for name, edit in self.field_edits.items():
            if name in values:
                edit.blockSignals(True)
                edit.setText(str(values[name]))
                edit.blockSignals(False)

    # -- sampling -----------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The sampling settings as SamplingSettings' fields (variants are asked for separately)."""
        return {
            "temperature": round(self.temperature.value() / 100, 2),
            "top_k": self.top_k.value(),
            "top_p": round(self.top_p.value(), 2),
            "repetition_penalty": round(self.repetition.value(), 2),
            "max_tokens": self.max_tokens.value(),
            "seed": self.seed.value(),
            "stop": split_stops(self.stop_sequences.text()),
            "banned_words": split_words(self.banned.text()),
            "required_words": split_words(self.required.text()),
            "enforce_required": self.enforce.isChecked(),
        }

    def set_settings(self, settings: dict) -> None:
        """Put remembered (or a history entry's) settings back; unknown or broken values are skipped."""
        setters = {
            "temperature": lambda v: self.temperature.setValue(int(round(float(v) * 100))),
            "top_k": lambda v: self.top_k.setValue(int(v)),
            "top_p": lambda v: self.top_p.setValue(float(v)),
            "repetition_penalty": lambda v: self.repetition.setValue(float(v)),
            "max_tokens": lambda v: self.max_tokens.setValue(int(v)),
            "seed": lambda v: self.seed.setValue(int(v)),
            "stop": lambda v: self.stop_sequences.setText(
                " | ".join(s.replace("\n", "\\n") for s in ([v] if isinstance(v, str) else v))
            ),
            "banned_words": lambda v: self.banned.setText(", ".join([v] if isinstance(v, str) else v)),
            "required_words": lambda v: self.required.setText(", ".join([v] if isinstance(v, str) else v)),
            "enforce_required": lambda v: self.enforce.setChecked(v is True),
        }
        for key, value in (settings or {}).items():
            if key in setters and value is not None:
                with contextlib.suppress(TypeError, ValueError):
                    setters[key](value)
        self._on_temperature(self.temperature.value())

    def variants(self) -> int:
        button = self.variant_group.checkedButton()
        return int(button.text()) if button is not None else 1

    def set_variants(self, count) -> None:
        try:
            count = min(VARIANT_COUNTS, key=lambda c: abs(c - int(count)))
        except (TypeError, ValueError):
            return
        self.variant_buttons[count].setChecked(True)

    def set_generate_state(self, enabled: bool, hint: str = "", running: bool = False) -> None:
        self.generate_button.setEnabled(enabled and not running)
        self.generate_button.setText("Writing…" if running else "Generate")
        self.generate_button.setToolTip("Write with these settings (Ctrl+Return)" if enabled else hint)
        self.stop_button.setEnabled(running)
        self.dice.setEnabled(enabled and not running)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    # -- reactions ----------------------------------------------------------------------------------------
    @Slot()
    def roll(self) -> None:
        self.seed.setValue(random.randint(0, 999_999))
        self.generate_requested.emit()

    @Slot(int)
    def _on_temperature(self, value: int) -> None:
        self.temperature_value.setText(f"{value / 100:.2f}")

    @Slot()
    def _on_template(self, *_args) -> None:
        self._build_fields()
        self._update_copy_notice()
        self.template_changed.emit()

    def _update_copy_notice(self) -> None:
        """The template area says when the writer never read copy, and offers to train one that has."""
        info = self.template_info()
        note = template_note(self.info(), info["title"] if info else "")
        self.copy_note.setText(note)
        self.copy_notice.setVisible(bool(note))

    @Slot()
    def _update_enforce(self, *_args) -> None:
        has_words = bool(split_words(self.required.text()))
        self.enforce.setEnabled(has_words)
        if not has_words:
            self.enforce.setToolTip("Type must-use words first")
        else:
            self.enforce.setToolTip(
                "A variant without every must-use word is written again with a new seed, steered toward the "
                "missing words, a few times at most; any variant that still lacks a word is named when writing ends"
            )

    @Slot()
    def _on_field(self, *_args) -> None:
        self.fields_edited.emit()
