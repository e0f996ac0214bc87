"""The "Export walk" dialog: the size of the GIF (×1 to ×8, shown in pixels), how it is enlarged, the frames
per step, and the format.

Why a dialog: a model makes 32 or 64 px pictures, and a GIF of that size is a postage stamp on a slide; the
size is the one choice a designer must make before the file is written, so it is asked when exporting (the
walk itself is only previewed until then). Only GIF is offered: the studio ships no video encoder, and an MP4
option that cannot write a file would be a lie — the dialog says so instead.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from studio.core import words
from studio.ui.widgets.common.forms import form_rows
from studio.ui.widgets.common.inputs import ComboBox, SpinBox

WALK_SCALES = tuple(range(1, 9))  # ×1 … ×8
MP4_NOTE = "GIF only: MP4 needs a video encoder, which this studio does not include."


def scale_text(factor: int, width: int, height: int) -> str:
    """``×4 → 128 × 128 px`` (the pixels the file will have, not a bare factor)."""
    return f"×{factor} → {width * factor} × {height * factor} px"


def walk_frames(points: int, frames_per_step: int, loop: bool) -> int:
    """Frames in a walk through ``points`` images (the core's layout: a looped walk heads back to the first)."""
    return points * frames_per_step if loop else (points - 1) * frames_per_step + 1


class WalkExportDialog(QDialog):
    """Asks how to export one walk. ``options()`` gives {"scale", "resample", "frames_per_step"}."""

    def __init__(
        self,
        width: int,
        height: int,
        points: int,
        frames_per_step: int,
        loop: bool,
        fps: int,
        scale: int = 4,
        resample: str = "nearest",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("walkExportDialog")
        self.setWindowTitle("Export walk")
        self.width_, self.height_, self.points, self.loop, self.fps = width, height, points, loop, max(1, fps)
        self.scale = ComboBox(objectName="walkExportScale")
        for factor in WALK_SCALES:
            self.scale.addItem(scale_text(factor, width, height), factor)
        self.scale.setCurrentIndex(max(0, self.scale.findData(scale)))
        self.scale.setToolTip("How large the GIF is: the model's pixels, enlarged a whole number of times")
        self.resample = ComboBox(objectName="walkExportResample")
        self.resample.addItem("Nearest (crisp pixels)", "nearest")
        self.resample.addItem("Lanczos (smooth)", "lanczos")
        self.resample.setCurrentIndex(max(0, self.resample.findData(resample)))
        self.resample.setToolTip("How the frames are enlarged")
        self.frames_per_step = SpinBox(objectName="walkExportFrames")
        self.frames_per_step.setRange(2, 120)
        self.frames_per_step.setValue(frames_per_step)
        self.frames_per_step.setToolTip(
            "Frames between one picked image and the next: more frames, a slower and smoother walk"
        )
        self.format = QLabel("GIF, looping", objectName="valueText")
        self.note = QLabel(MP4_NOTE, objectName="mutedLabel")
        self.note.setWordWrap(True)
        self.summary = QLabel(objectName="mutedLabel")
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export GIF…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("walkExportAccept")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for field in (self.scale, self.resample, self.frames_per_step):
            signal = field.valueChanged if isinstance(field, SpinBox) else field.currentIndexChanged
            signal.connect(self._update)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(
            form_rows(
                [
                    ("Size", self.scale),
                    ("Scaling", self.resample),
                    ("Frames per step", self.frames_per_step),
                    ("Format", self.format),
                ]
            )
        )
        layout.addWidget(self.note)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self._update()

    def options(self) -> dict:
        return {
            "scale": int(self.scale.currentData()),
            "resample": str(self.resample.currentData()),
            "frames_per_step": self.frames_per_step.value(),
        }

    @Slot()
    def _update(self, *_args) -> None:
        scale = int(self.scale.currentData())
        self.resample.setEnabled(scale > 1)
        frames = walk_frames(self.points, self.frames_per_step.value(), self.loop)
        seconds = frames / self.fps
        self.summary.setText(
            f"{words.count(frames, 'frame')} of {self.width_ * scale} × {self.height_ * scale} px, "
            f"{seconds:.1f} s at {self.fps} fps, looping."
        )
