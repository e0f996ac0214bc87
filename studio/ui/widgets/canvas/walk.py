"""The latent walk: settings (frames per step, easing, loop, speed), the Make walk button, and the walk playing
in the panel once it is made. Making a walk writes no file: "Export GIF…" (here, or on the walk's strip under
the grid) asks for the size and writes the looping GIF (see walk_export.py). A VAE morph plays here too; it is
saved as it is made, so it has no export button.

The animation is a QTimer stepping through QImages made once when the frames arrive, so playing costs a repaint
per frame and nothing else.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.ui.widgets.canvas.viewer import ImageView
from studio.ui.widgets.common.forms import form_rows
from studio.ui.widgets.common.inputs import ComboBox, SpinBox

EASINGS = (("smooth", "Smooth"), ("linear", "Linear"))


class WalkPane(QWidget):
    walk_requested = Signal()
    export_requested = Signal()  # "Export GIF…" for the walk shown

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.frames: list[QImage] = []
        self.gif_path = ""
        self.frames_per_step = SpinBox(objectName="walkFrames")
        self.frames_per_step.setRange(2, 120)
        self.frames_per_step.setValue(16)
        self.frames_per_step.setToolTip(
            "Frames between one picked image and the next: more frames, slower and smoother change"
        )
        self.easing = ComboBox(objectName="walkEasing")
        for key, text in EASINGS:
            self.easing.addItem(text, key)
        self.easing.setToolTip("Smooth lingers on each picked image; linear moves at a constant pace")
        self.loop = QCheckBox("Loop back to the first image", objectName="walkLoop")
        self.loop.setChecked(True)
        self.loop.setToolTip("End where the walk began, so the GIF loops without a jump")
        self.fps = SpinBox(objectName="walkFps")
        self.fps.setRange(1, 50)
        self.fps.setValue(12)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Playback speed of the preview and of the GIF")
        self.fps.valueChanged.connect(self._on_fps)
        self.make_button = QPushButton("Make walk", objectName="walkButton")
        self.make_button.setProperty("primary", True)
        self.make_button.clicked.connect(self.walk_requested)
        self.hint = QLabel(objectName="mutedLabel")
        self.hint.setWordWrap(True)
        self.view = ImageView(
            "Pick two or more images in the grid (Ctrl-click or tick their boxes), then press "
            "Make walk. The walk plays here; Export GIF… saves it at the size you choose."
        )
        self.play_button = QPushButton("Pause", objectName="walkPlay")
        self.play_button.setToolTip("Pause or play the preview")
        self.play_button.clicked.connect(self.toggle_play)
        self.export_button = QPushButton("Export GIF…", objectName="walkPaneExport")
        self.export_button.setToolTip("Save the walk shown as a looping GIF, at the size you choose")
        self.export_button.clicked.connect(self.export_requested)
        self.status = QLabel(objectName="mutedLabel")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._advance)
        self.position = 0

        settings = form_rows([("Frames per step", self.frames_per_step), ("Easing", self.easing), ("Speed", self.fps)])
        under = QHBoxLayout()  # under the status line: the narrow tab keeps its words on whole lines
        under.addStretch(1)
        under.addWidget(self.play_button)
        under.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(settings)
        layout.addWidget(self.loop)
        layout.addWidget(self.make_button)
        layout.addWidget(self.hint)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        layout.addLayout(under)
        self.play_button.setVisible(False)
        self.export_button.setVisible(False)

    def options(self) -> dict:
        return {
            "frames_per_step": self.frames_per_step.value(),
            "easing": str(self.easing.currentData()),
            "loop": self.loop.isChecked(),
            "fps": self.fps.value(),
        }

    def set_options(self, state: dict) -> None:
        try:
            self.frames_per_step.setValue(int(state.get("frames_per_step", self.frames_per_step.value())))
            self.fps.setValue(int(state.get("fps", self.fps.value())))
        except (TypeError, ValueError):
            pass
        index = self.easing.findData(state.get("easing"))
        if index >= 0:
            self.easing.setCurrentIndex(index)
        if "loop" in state:
            self.loop.setChecked(state["loop"] in (True, "true"))

    def set_ready(self, enabled: bool, hint: str) -> None:
        self.make_button.setEnabled(enabled)
        self.make_button.setToolTip(hint or "Make a smooth walk through the picked images, in order")
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    def show_frames(self, frames: list[QImage], gif_path: str, caption: str, exportable: bool = False) -> None:
        """Play ``frames``; ``gif_path``: where they are saved already (a morph), ``exportable``: a walk that
        "Export GIF…" can write."""
        self.frames, self.gif_path, self.position = frames, gif_path, 0
        self.status.setText(caption)
        self.status.setToolTip(f"Saved as {gif_path}" if gif_path else "")
        self.play_button.setVisible(bool(frames))
        self.export_button.setVisible(bool(frames) and exportable)
        if not frames:
            self.stop()
            self.view.set_image(None)
        if frames:
            self.view.set_image(frames[0])
            self.play()

    def play(self) -> None:
        if self.frames:
            self.timer.start(int(1000 / max(1, self.fps.value())))
            self.play_button.setText("Pause")

    def stop(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    @Slot()
    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.stop()
        else:
            self.play()

    @Slot()
    def _advance(self) -> None:
        if not self.frames or not self.isVisible():
            return
        self.position = (self.position + 1) % len(self.frames)
        self.view.set_image(self.frames[self.position])

    @Slot(int)
    def _on_fps(self, _value: int) -> None:
        if self.timer.isActive():
            self.play()
