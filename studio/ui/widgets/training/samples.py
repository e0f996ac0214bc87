"""Preview samples as training makes them: pictures as a grid (newest first), text and audio as captioned rows.

An audio preview (a voice reading the fixed test sentences) comes with a picture — the attention alignment
of a TTS model, the mel spectrogram of a vocoder — shown as the row's icon: a diagonal line forming over the
steps is how a user sees that the voice has learned to read, before it sounds good. Double-clicking a row
plays it in the app (the Speech panel's player); where this computer cannot play sound, the file opens in
the system's own player instead.

Previews arrive every few hundred steps (not throttled by the runner, and not needed to be), and each is a
small file in the run's ``samples/`` folder, so loading it here is quick. Small pictures (a 32 px model) are
enlarged without smoothing, so the user sees the real pixels instead of a blur. Only the newest ``KEEP``
previews are shown.
"""

from __future__ import annotations

from pathlib import Path

import soundfile
from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QStackedWidget, QVBoxLayout, QWidget

from studio.ui.widgets.common.audio_player import AudioPlayer

KEEP = 200
TILE = 112
AUDIO_ICON = QSize(168, 84)


def _read_text(path: Path, limit: int = 400) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(limit + 1)
    except OSError:
        return ""
    return text[:limit] + ("…" if len(text) > limit else "")


class SampleStrip(QWidget):
    """The previews of the run on screen; ``add`` takes the engine's preview dict."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget(objectName="sampleList")
        self.list.setUniformItemSizes(False)
        self.list.setWordWrap(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.itemActivated.connect(self._open)
        self.empty = QLabel(
            "Samples appear here every few hundred steps while a run trains. Press Sample now "
            "(Ctrl+Shift+S) to make one at once.",
            objectName="mutedLabel",
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.addWidget(self.stack)
        self._kind = "image"
        self._set_mode("image")
        self.player = None  # created on the first audio preview played
        self._playing: Path | None = None

    def _set_mode(self, kind: str) -> None:
        self._kind = kind
        if kind == "image":
            self.list.setViewMode(QListView.ViewMode.IconMode)
            self.list.setIconSize(QSize(TILE, TILE))
            self.list.setGridSize(QSize(TILE + 20, TILE + 34))
            self.list.setSpacing(4)
        else:
            self.list.setViewMode(QListView.ViewMode.ListMode)
            self.list.setIconSize(AUDIO_ICON if kind == "audio" else QSize(0, 0))
            self.list.setGridSize(QSize())
            self.list.setSpacing(2)

    def clear(self) -> None:
        if self.player is not None:
            self.player.stop()
        self.list.clear()
        self.stack.setCurrentWidget(self.empty)

    def count(self) -> int:
        return self.list.count()

    def add(self, preview: dict) -> None:
        if not isinstance(preview, dict):
            return
        kind = str(preview.get("kind", "image"))
        if kind != self._kind:
            self.list.clear()
            self._set_mode(kind)
        path = Path(str(preview.get("path", "")))
        step = preview.get("step")
        head = f"Step {int(step):,}" if isinstance(step, (int, float)) else path.stem
        caption = str(preview.get("caption") or "")
        item = QListWidgetItem()
        if kind == "image":
            pixmap = QPixmap(str(path))
            if not pixmap.isNull():
                mode = (
                    Qt.TransformationMode.FastTransformation
                    if max(pixmap.width(), pixmap.height()) < TILE
                    else Qt.TransformationMode.SmoothTransformation
                )
                pixmap = pixmap.scaled(TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio, mode)
                item.setIcon(QIcon(pixmap))
            item.setText(head)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        elif kind == "text":
            item.setText(f"{head}\n{_read_text(path) or caption}")
        else:
            picture = QPixmap(str(preview.get("image") or ""))
            if not picture.isNull():
                item.setIcon(
                    QIcon(
                        picture.scaled(
                            AUDIO_ICON, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                        )
                    )
                )
            item.setText(f"{head} · {caption or path.name}\n(double-click to play)")
        item.setToolTip(f"{head}: {caption}\n{path}" if caption else str(path))
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        self.list.insertItem(0, item)
        while self.list.count() > KEEP:
            self.list.takeItem(self.list.count() - 1)
        self.stack.setCurrentWidget(self.list)

    def _open(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if not path:
            return
        if self._kind == "audio" and self._play(Path(path)):
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _play(self, path: Path) -> bool:
        """Play (or stop, when it is already playing) a preview WAV in the app; False when it cannot."""

        if self.player is None:
            self.player = AudioPlayer(parent=self)
        if self.player.is_playing() and self._playing == path:
            self.player.stop()
            return True
        if not self.player.probe():
            return False
        try:  # a preview is a few seconds of audio: reading it here takes a millisecond or two
            samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (OSError, RuntimeError, ValueError):
            return False
        self.player.load(samples.mean(axis=1), int(rate))
        self._playing = path
        return self.player.play(0.0)
