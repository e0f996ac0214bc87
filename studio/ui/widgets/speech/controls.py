"""The Speech panel's controls card: the voice (the :class:`~studio.ui.widgets.speech.voice_picker.VoicePicker`:
search, voices grouped by language, Preview; a trained voice's checkpoint and vocoder), "Add Piper voice…", the
delivery (speed, pitch, volume, each with its value and a reset), and Synthesize / Stop.

The card only gathers choices and says why a button is disabled; the panel decides what runs. Synthesize and
Stop sit in :attr:`SpeechControls.action_bar`, which the panel pins under the scrolling card, as the writer
does, so they never scroll out of sight.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.icons import icon
from studio.ui.widgets.common.forms import field_rows
from studio.ui.widgets.common.inputs import ComboBox, Slider
from studio.ui.widgets.common.model_picker import action_bar, checkpoint_items
from studio.ui.widgets.speech.voice_picker import VoicePicker, display_title

__all__ = ["DEFAULTS", "GRIFFIN_LIM", "SpeechControls", "display_title"]

DEFAULTS = {"rate": 1.0, "pitch": 0.0, "volume": 1.0}
GRIFFIN_LIM = "griffinlim"
LABEL_WIDTH = 84  # the writer's label column, so both cards line up the same way


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setFixedWidth(LABEL_WIDTH)
    return label


class DeliverySlider(QWidget):
    """A slider with its value written beside it; double-click the value (or Reset) for the default."""

    changed = Signal()

    def __init__(self, name: str, low: int, high: int, default: int, fmt, tip: str) -> None:
        super().__init__()
        self.default, self.fmt = default, fmt
        self.slider = Slider(Qt.Orientation.Horizontal, objectName=name)
        self.slider.setRange(low, high)
        self.slider.setValue(default)
        self.slider.setToolTip(tip)
        self.slider.setPageStep(max(1, (high - low) // 10))
        self.value_label = QLabel(objectName="valueText")
        self.value_label.setFixedWidth(50)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setToolTip("Double-click to reset")
        self.slider.valueChanged.connect(self._on_value)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self._on_value(self.slider.value())

    def value(self) -> int:
        return self.slider.value()

    def set_value(self, value: int) -> None:
        self.slider.setValue(int(value))

    def reset(self) -> None:
        self.slider.setValue(self.default)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.value_label.geometry().contains(event.position().toPoint()):
            self.reset()
        super().mouseDoubleClickEvent(event)

    @Slot(int)
    def _on_value(self, value: int) -> None:
        self.value_label.setText(self.fmt(value))
        self.changed.emit()


class SpeechControls(QFrame):
    synthesize_requested = Signal()
    stop_requested = Signal()
    voice_changed = Signal()  # voice, checkpoint or vocoder
    preview_requested = Signal()  # Preview: hear a sample sentence in the highlighted voice
    add_voice_requested = Signal()
    settings_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("setupCard")
        self.voices: list[dict] = []

        self.picker = VoicePicker()
        self.picker.voice_chosen.connect(self._on_voice)
        self.picker.preview_requested.connect(self.preview_requested)
        self.facts = QLabel(objectName="mutedLabel")
        self.facts.setWordWrap(True)
        self.checkpoint = ComboBox(objectName="speechCheckpoint")
        self.checkpoint.setToolTip(
            "Which saved step of the voice's training run to use; the newest is usually the best"
        )
        self.checkpoint.currentIndexChanged.connect(self._on_choice)
        self.checkpoint.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.checkpoint.setMinimumContentsLength(10)
        self.vocoder = ComboBox(objectName="speechVocoder")
        self.vocoder.setToolTip(
            "What turns the voice's spectrogram into sound: Griffin-Lim works at once but "
            "sounds a little metallic; a trained vocoder sounds natural"
        )
        self.vocoder.currentIndexChanged.connect(self._on_choice)
        self.vocoder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.vocoder.setMinimumContentsLength(10)
        self.checkpoint_label = _label("Checkpoint")
        self.vocoder_label = _label("Vocoder")
        self.add_voice = QPushButton(icon("import"), "Add Piper voice…", objectName="speechAddVoice")
        self.add_voice.setToolTip(
            "Use a Piper voice you have (.onnx with its .onnx.json); it is copied into the "
            "project, the original stays where it is"
        )
        self.add_voice.clicked.connect(self.add_voice_requested)

        self.rate = DeliverySlider(
            "speechRate",
            50,
            200,
            100,
            lambda v: f"{v / 100:.2f}×",
            "How fast the voice speaks: 0.50× is half speed, 2.00× twice as fast",
        )
        self.pitch = DeliverySlider(
            "speechPitch",
            -12,
            12,
            0,
            lambda v: f"{v:+d} st" if v else "0 st",
            "Higher or lower, in semitones (12 is an octave)",
        )
        self.volume = DeliverySlider(
            "speechVolume",
            0,
            200,
            100,
            lambda v: f"{v} %",
            "Loudness: 100 % is the voice as it is; loud peaks are limited, never clipped harshly",
        )
        for slider in (self.rate, self.pitch, self.volume):
            slider.changed.connect(self.settings_changed)
        self.reset_button = QPushButton("Reset", objectName="speechReset")
        self.reset_button.setToolTip("Speed 1.00×, pitch 0, volume 100 %")
        self.reset_button.clicked.connect(self.reset_settings)

        self.synthesize_button = QPushButton(icon("play"), "Synthesize", objectName="generateButton")
        self.synthesize_button.setProperty("primary", True)
        self.synthesize_button.setToolTip("Speak the script with this voice (Ctrl+Return)")
        self.synthesize_button.clicked.connect(self.synthesize_requested)
        self.stop_button = QPushButton(icon("stop"), "Stop", objectName="speechStop")
        self.stop_button.setToolTip("Stop synthesizing (Esc)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.setEnabled(False)
        self.hint = QLabel(objectName="mutedLabel")
        self.hint.setWordWrap(True)

        voice_grid = field_rows([(self.checkpoint_label, self.checkpoint), (self.vocoder_label, self.vocoder)])
        add_row = QHBoxLayout()
        add_row.setContentsMargins(0, 0, 0, 0)
        add_row.addWidget(self.add_voice)
        add_row.addStretch(1)
        delivery = (("Speed", self.rate), ("Pitch", self.pitch), ("Volume", self.volume))
        delivery_grid = field_rows([(_label(name), slider) for name, slider in delivery])
        delivery_head = QHBoxLayout()
        delivery_head.addWidget(QLabel("DELIVERY", objectName="sectionCaption"))
        delivery_head.addStretch(1)
        delivery_head.addWidget(self.reset_button)

        self.action_bar = action_bar(self.synthesize_button, self.stop_button, self.hint)  # pinned below the card

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("VOICE", objectName="sectionCaption"))
        layout.addWidget(self.picker)
        layout.addWidget(self.facts)
        layout.addLayout(voice_grid)
        layout.addLayout(add_row)
        layout.addSpacing(6)
        layout.addLayout(delivery_head)
        layout.addLayout(delivery_grid)
        self.set_voices([])

    # -- voices ---------------------------------------------------------------------------------------------
    def set_voices(self, voices: list[dict]) -> None:
        """Fill the picker; a refreshed list keeps the chosen voice when it still exists (else the first)."""
        current, step, vocoder = self.voice_id(), self.step(), self.vocoder_id()
        before = (self.info() or {}).get("chosen_step")
        after = next((v.get("chosen_step") for v in voices if isinstance(v, dict) and v.get("id") == current), None)
        if after is not None and after != before:  # Training ▸ "Use this checkpoint" chose another step since
            step = after
        self.voices = [dict(v) for v in voices if isinstance(v, dict) and v.get("id")]
        self.picker.set_voices(self.voices)
        if not self.select(current, step, vocoder):  # a system voice speaks at once: it is the first choice
            system = [v["id"] for v in self.voices if v.get("kind") == "system"]
            self.picker.select(next(iter(system or [v["id"] for v in self.voices]), None))
            self._fill_choices(None, None)
        self.voice_changed.emit()

    def select(self, voice_id: str | None, step: int | None = None, vocoder: str | None = None) -> bool:
        """Choose a voice (and a trained voice's checkpoint and vocoder) without announcing it."""
        if not self.picker.select(voice_id):
            return False
        self._fill_choices(step, vocoder)
        return True

    def _fill_choices(self, step: int | None, vocoder: str | None) -> None:
        info = self.info() or {}
        trained = info.get("kind") == "trained"
        steps = sorted(int(s) for s in info.get("steps") or [])
        chosen = info.get("chosen_step")
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        for text, value in checkpoint_items(steps, chosen):
            self.checkpoint.addItem(text, value)
        if step is None and chosen in steps:  # the step chosen on the comparison board, else the newest
            step = chosen
        if step is not None and self.checkpoint.findData(int(step)) >= 0:
            self.checkpoint.setCurrentIndex(self.checkpoint.findData(int(step)))
        if not steps:
            self.checkpoint.addItem("No checkpoint yet", None)
        self.checkpoint.setEnabled(bool(steps))
        self.checkpoint.blockSignals(False)
        vocoders = [v for v in info.get("vocoders") or [] if isinstance(v, dict) and v.get("id")]
        if trained and not any(v["id"] == GRIFFIN_LIM for v in vocoders):
            vocoders.insert(0, {"id": GRIFFIN_LIM, "title": "Griffin-Lim (built in)"})
        self.vocoder.blockSignals(True)
        self.vocoder.clear()
        for v in vocoders:
            self.vocoder.addItem(str(v.get("title") or v["id"]), v["id"])
            self.vocoder.setItemData(
                self.vocoder.count() - 1, str(v.get("title") or v["id"]), Qt.ItemDataRole.ToolTipRole
            )
        if vocoder and self.vocoder.findData(vocoder) >= 0:
            self.vocoder.setCurrentIndex(self.vocoder.findData(vocoder))
        else:  # a trained vocoder sounds better than Griffin-Lim: prefer the first one offered
            trained_vocoder = next(
                (i for i in range(self.vocoder.count()) if self.vocoder.itemData(i) != GRIFFIN_LIM), 0
            )
            self.vocoder.setCurrentIndex(trained_vocoder)
        self.vocoder.blockSignals(False)
        for widget in (self.checkpoint, self.checkpoint_label, self.vocoder, self.vocoder_label):
            widget.setVisible(trained)
        self._update_facts()

    def _update_facts(self) -> None:
        info = self.info()
        if info is None:
            self.facts.setVisible(False)
            return
        rate = info.get("sample_rate")
        parts = [  # a system voice's title names its language already
            str(info.get("detail") or ""),
            self.picker.language_of(info) if info.get("kind") != "system" else "",
            f"{int(rate) / 1000:g} kHz" if rate else "",
        ]
        # the voice's name first: a search may hide it in the list, and this line still says which is chosen
        self.facts.setText(f"{display_title(info)} — " + " · ".join(p for p in parts if p))
        self.facts.setVisible(bool(self.facts.text()))

    def info(self) -> dict | None:
        voice_id = self.voice_id()
        return next((v for v in self.voices if v["id"] == voice_id), None)

    def voice_id(self) -> str | None:
        return self.picker.voice_id()

    def step(self) -> int | None:
        if (self.info() or {}).get("kind") != "trained":
            return None
        data = self.checkpoint.currentData()
        return int(data) if data is not None else None

    def vocoder_id(self) -> str | None:
        if (self.info() or {}).get("kind") != "trained":
            return None
        data = self.vocoder.currentData()
        return str(data) if data else None

    # -- delivery -------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """What SynthesizeSpeech takes: rate (speed multiplier), pitch (semitones), volume (linear gain)."""
        return {
            "rate": round(self.rate.value() / 100, 2),
            "pitch": float(self.pitch.value()),
            "volume": round(self.volume.value() / 100, 2),
        }

    def set_settings(self, settings: dict) -> None:
        """Put remembered settings back; broken values are skipped."""
        setters = {
            "rate": lambda v: self.rate.set_value(round(float(v) * 100)),
            "pitch": lambda v: self.pitch.set_value(round(float(v))),
            "volume": lambda v: self.volume.set_value(round(float(v) * 100)),
        }
        for key, value in (settings or {}).items():
            if key in setters and value is not None:
                with contextlib.suppress(TypeError, ValueError):
                    setters[key](value)

    @Slot()
    def reset_settings(self) -> None:
        for slider in (self.rate, self.pitch, self.volume):
            slider.reset()

    def set_synthesize_state(self, enabled: bool, hint: str = "", running: bool = False) -> None:
        self.synthesize_button.setEnabled(enabled and not running)
        self.synthesize_button.setText("Speaking…" if running else "Synthesize")
        self.synthesize_button.setToolTip("Speak the script with this voice (Ctrl+Return)" if enabled else hint)
        self.stop_button.setEnabled(running)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    # -- reactions ------------------------------------------------------------------------------------------
    @Slot()
    def _on_voice(self, *_args) -> None:
        self._fill_choices(None, None)
        self.voice_changed.emit()

    @Slot()
    def _on_choice(self, *_args) -> None:
        self.voice_changed.emit()
