"""Preview samples as training makes them: one preview shown large, a step slider through the run's previews, and a
column of the earlier ones (newest first).

Why it looks like this: a preview is the user's best judge of a run ("are the faces forming yet?"), and eight
32 px pictures in a 110 × 55 px tile could not be judged at all. So the preview of one step fills the tab; small
pictures (a 32 px model) are enlarged by whole factors without smoothing, so the user sees the real pixels instead
of a blur (:func:`fitted_rect`). The slider (or the column, or the arrow keys on either) goes through the steps,
which is how progress shows: the same fixed latents, sentences or prompt at every preview. Double-click (or
*Enlarge*) opens the preview in a window of its own at a readable size; ←/→ step through there too and Esc closes
it.

A text preview (a writer continuing the fixed prompt) is shown as text in a readable size, not as a list row cut
at a few words. An audio preview (a voice reading the fixed test sentences) comes with a picture — the attention
alignment of a TTS model, the mel spectrogram of a vocoder — shown large: a diagonal line forming over the steps
is how a user sees that the voice has learned to read, before it sounds good. *Play* (or double-clicking its row)
plays it in the app (the Speech panel's player); where this computer cannot play sound, the file opens in the
system's own player instead.

Previews arrive every few hundred steps (not throttled by the runner, and not needed to be), and each is a small
file in the run's ``samples/`` folder, so loading the shown one when the slider moves is quick. Only the newest
``KEEP`` previews are kept.
"""

from __future__ import annotations

import math
from pathlib import Path

import soundfile
from PySide6.QtCore import QRect, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui import theme
from studio.ui.widgets.common.audio_player import AudioPlayer
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.inputs import Slider

KEEP = 200
THUMB = QSize(136, 76)  # the column of earlier previews (grids of pictures are about twice as wide as tall)
COLUMN_WIDTH = 172
TEXT_LIMIT = 100_000  # characters of a text preview shown (a preview is a few hundred tokens)
SNIPPET = 60  # characters of a text preview in its row of the column
MAX_ENLARGE = 8  # the largest whole factor a small picture is enlarged by in the large view
WHOLE_FACTOR_SHARE = 0.75  # a whole factor is used when it reaches this share of the scale that would fill the room
READABLE_SIDE = 720  # the enlarged view aims to show a picture's longer side at least this large (px)


def _read_text(path: Path, limit: int = TEXT_LIMIT) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(limit + 1)
    except OSError:
        return ""
    return text[:limit] + ("…" if len(text) > limit else "")


def _head(entry: dict) -> str:
    """``Step 1,200`` (the file's name when the preview has no step)."""
    step = entry.get("step")
    return f"Step {words.number(int(step))}" if isinstance(step, (int, float)) else Path(entry["path"]).stem


def fitted_rect(picture: QSize, area: QRect, max_factor: int = MAX_ENLARGE) -> tuple[QRect, bool]:
    """Where a picture of size ``picture`` is drawn in ``area``, centred, and whether to smooth it. A picture
    smaller than the area is enlarged by the largest whole factor that fits (nearest neighbour: each pixel becomes
    a crisp square, at most ``max_factor`` times), unless that factor would leave over a quarter of the room unused
    (a 256 px grid in 480 px would stay at 1×): then it fills the room, smoothly. A larger one is shrunk smoothly."""
    if picture.isEmpty() or area.isEmpty():
        return QRect(), False
    scale = min(area.width() / picture.width(), area.height() / picture.height())
    whole = min(max_factor, math.floor(scale))
    smooth = whole < 1 or (whole < max_factor and whole < WHOLE_FACTOR_SHARE * scale)
    if not smooth:
        scale = float(whole)
    size = QSize(max(1, round(picture.width() * scale)), max(1, round(picture.height() * scale)))
    left = area.left() + (area.width() - size.width()) // 2
    top = area.top() + (area.height() - size.height()) // 2
    return QRect(left, top, size.width(), size.height()), smooth


class PictureView(QWidget):
    """A picture fitted into the widget (see :func:`fitted_rect`); double-click emits :attr:`activated`."""

    activated = Signal()

    def __init__(self, parent=None, max_factor: int = MAX_ENLARGE) -> None:
        super().__init__(parent)
        self.setObjectName("samplePicture")
        self.pixmap = QPixmap()
        self.max_factor = max_factor
        self.setMinimumSize(160, 100)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self.pixmap = pixmap if pixmap is not None else QPixmap()
        self.update()

    def shown_rect(self) -> QRect:
        """Where the picture is drawn now (empty without a picture)."""
        return fitted_rect(self.pixmap.size(), self.rect().adjusted(6, 6, -6, -6), self.max_factor)[0]

    def sizeHint(self) -> QSize:
        return QSize(480, 300)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(theme.qcolor("#E3E5EF"))
        painter.setBrush(theme.qcolor("#FAFAFD"))
        painter.drawRoundedRect(self.rect().adjusted(0, 0, -1, -1), 6, 6)
        if not self.pixmap.isNull():
            target, smooth = fitted_rect(self.pixmap.size(), self.rect().adjusted(6, 6, -6, -6), self.max_factor)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawPixmap(target, self.pixmap)
        painter.end()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit()
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)


def _text_view(scale: float, object_name: str) -> QPlainTextEdit:
    """A read-only text in a larger, readable font, wrapped at the widget's width."""
    view = QPlainTextEdit(objectName=object_name)
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    font = view.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    else:  # a font sized in pixels
        font.setPixelSize(round(font.pixelSize() * scale))
    view.setFont(font)
    return view


class SampleStrip(QWidget):
    """The previews of the run on screen; ``add`` takes the engine's preview dict."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entries: list[dict] = []  # oldest first; the slider's value is an index into it
        self.index = -1  # the entry shown (-1: none)
        self.dialog: SampleDialog | None = None
        self.caption = ElidedLabel("", objectName="sampleCaption")
        self.play_button = QPushButton("Play", objectName="samplePlay")
        self.play_button.setToolTip("Play the test sentences of this step (again to stop)")
        self.play_button.clicked.connect(self.play_current)
        self.enlarge_button = QPushButton("Enlarge", objectName="sampleEnlarge")
        self.enlarge_button.setToolTip("Show this preview in a window of its own, at a readable size (or double-click)")
        self.enlarge_button.clicked.connect(self.enlarge)
        self.picture = PictureView()
        self.picture.setToolTip("Double-click to enlarge")
        self.picture.activated.connect(self.enlarge)
        self.text = _text_view(1.2, "sampleText")
        self.view = QStackedWidget()
        self.view.addWidget(self.picture)
        self.view.addWidget(self.text)
        self.slider = Slider(Qt.Orientation.Horizontal, objectName="sampleStepSlider")
        self.slider.setToolTip("Go through the previews of the run, oldest to newest (← → Home End)")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(5)
        self.slider.valueChanged.connect(self.show_index)
        self.step_label = QLabel("", objectName="mutedLabel")
        self.list = QListWidget(objectName="sampleList")
        self.list.setToolTip("Earlier previews, newest first: select one to show it, double-click to enlarge")
        self.list.setFixedWidth(COLUMN_WIDTH)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._on_row)
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
        self.stack.addWidget(self._build_body())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        layout.addWidget(self.stack)
        self._kind = "image"
        self._set_mode("image")
        self.player = None  # created on the first audio preview played
        self._playing: Path | None = None

    def _build_body(self) -> QWidget:
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(8)
        header.addWidget(self.caption, 1)
        header.addWidget(self.play_button)
        header.addWidget(self.enlarge_button)
        steps = QHBoxLayout()
        steps.setContentsMargins(0, 0, 0, 0)
        steps.setSpacing(8)
        steps.addWidget(QLabel("Step", objectName="mutedLabel"))
        steps.addWidget(self.slider, 1)
        steps.addWidget(self.step_label)
        main = QVBoxLayout()
        main.setContentsMargins(0, 0, 0, 0)
        main.setSpacing(8)
        main.addLayout(header)
        main.addWidget(self.view, 1)
        main.addLayout(steps)
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        row.addLayout(main, 1)
        row.addWidget(self.list)
        return body

    def _set_mode(self, kind: str) -> None:
        """Pictures and voices as a column of thumbnails with their step under each; text as rows."""
        self._kind = kind
        self.play_button.setVisible(kind == "audio")
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        if kind == "text":
            self.list.setViewMode(QListView.ViewMode.ListMode)
            self.list.setIconSize(QSize(0, 0))
            self.list.setGridSize(QSize())
        else:
            self.list.setViewMode(QListView.ViewMode.IconMode)
            self.list.setFlow(QListView.Flow.TopToBottom)
            self.list.setWrapping(False)
            self.list.setIconSize(THUMB)
            self.list.setGridSize(QSize(COLUMN_WIDTH - 24, THUMB.height() + (44 if kind == "audio" else 28)))

    # -- filling ------------------------------------------------------------------------------------------------
    def clear(self) -> None:
        if self.player is not None:
            self.player.stop()
        if self.dialog is not None:
            self.dialog.close()
        self.entries, self.index = [], -1
        self.list.clear()
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.stack.setCurrentWidget(self.empty)

    def count(self) -> int:
        return len(self.entries)

    def add_many(self, previews: list[dict]) -> None:
        """Show a past run's previews (oldest first) at once, on its newest: each preview's thumbnail is read
        once, and only the newest is read again to be shown large."""
        for preview in previews:
            self.add(preview, show=False)
        if self.entries:
            self.show_index(len(self.entries) - 1)

    def add(self, preview: dict, show: bool = True) -> None:
        """Add the engine's preview (``{"step", "kind", "path"[, "image", "caption"]}``). The view follows the
        newest preview while it shows the newest; a user looking at an earlier step stays on it."""
        if not isinstance(preview, dict):
            return
        kind = str(preview.get("kind", "image"))
        if kind != self._kind:
            self.clear()
            self._set_mode(kind)
        entry = {**preview, "kind": kind, "path": str(preview.get("path", ""))}
        following = self.index < 0 or self.index == len(self.entries) - 1
        self.entries.append(entry)
        self.list.insertItem(0, self._item(entry))
        while len(self.entries) > KEEP:
            self.entries.pop(0)
            self.list.takeItem(self.list.count() - 1)
            self.index -= 1
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.entries) - 1)
        self.slider.blockSignals(False)
        self.stack.setCurrentIndex(1)
        if show:
            self.show_index(len(self.entries) - 1 if following or self.index < 0 else self.index)

    def _item(self, entry: dict) -> QListWidgetItem:
        """The entry's row in the column of earlier previews."""
        kind, path, head = entry["kind"], Path(entry["path"]), _head(entry)
        caption = str(entry.get("caption") or "")
        item = QListWidgetItem()
        if kind == "image":
            item.setIcon(self._thumbnail(QPixmap(str(path))))
            item.setText(head)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        elif kind == "text":
            snippet = " ".join(_read_text(path, SNIPPET).split()) or caption
            item.setText(f"{head}\n{snippet}")
        else:
            item.setIcon(self._thumbnail(QPixmap(str(entry.get("image") or ""))))
            item.setText(f"{head}\n(double-click to play)")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setToolTip(f"{head}: {caption}\n{path}" if caption else str(path))
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        return item

    @staticmethod
    def _thumbnail(pixmap: QPixmap) -> QIcon:
        if pixmap.isNull():
            return QIcon()
        small = max(pixmap.width(), pixmap.height()) < THUMB.width()
        mode = Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation
        return QIcon(pixmap.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio, mode))

    # -- showing one step -----------------------------------------------------------------------------------------
    @Slot(int)
    def show_index(self, index: int) -> None:
        """Show the ``index``-th preview (0 = the oldest kept) large, and keep the slider and the column on it."""
        if not self.entries:
            return
        index = max(0, min(len(self.entries) - 1, int(index)))
        self.index = index
        entry = self.entries[index]
        self._show_entry(entry)
        self.slider.blockSignals(True)  # the slider, the column and the view move together, without echoes
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.list.blockSignals(True)
        self.list.setCurrentRow(len(self.entries) - 1 - index)
        self.list.blockSignals(False)
        self.step_label.setText(f"{_head(entry)} · {words.of(index + 1, len(self.entries), 'preview')}")
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.show_entry(entry)

    def _show_entry(self, entry: dict) -> None:
        kind, head = entry["kind"], _head(entry)
        caption = str(entry.get("caption") or "")
        self.caption.set_full_text(caption if caption.startswith(head) else " · ".join(p for p in (head, caption) if p))
        if kind == "text":
            self.text.setPlainText(_read_text(Path(entry["path"])) or caption)
            self.view.setCurrentWidget(self.text)
            return
        source = entry["path"] if kind == "image" else str(entry.get("image") or "")
        pixmap = QPixmap(source) if source else QPixmap()
        if pixmap.isNull() and kind == "audio":  # a voice without its picture: its words instead
            self.text.setPlainText(f"{head}\n{caption}\n\nPress Play to hear it.")
            self.view.setCurrentWidget(self.text)
            return
        self.picture.set_pixmap(pixmap)
        self.view.setCurrentWidget(self.picture)

    def current(self) -> dict | None:
        """The preview shown now."""
        return self.entries[self.index] if 0 <= self.index < len(self.entries) else None

    def current_step(self) -> int | None:
        entry = self.current()
        step = entry.get("step") if entry else None
        return int(step) if isinstance(step, (int, float)) else None

    @Slot(int)
    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.show_index(len(self.entries) - 1 - row)

    # -- enlarging and playing ------------------------------------------------------------------------------------
    @Slot()
    def enlarge(self) -> None:
        """Open the shown preview in a window of its own (Esc closes it; ← → step through the previews)."""
        entry = self.current()
        if entry is None:
            return
        if self.dialog is None:
            self.dialog = SampleDialog(self)
        self.dialog.show_entry(entry)
        self.dialog.fit_to_screen()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def step_by(self, delta: int) -> None:
        if self.entries:
            self.show_index(self.index + delta)

    @Slot()
    def play_current(self) -> None:
        entry = self.current()
        if entry is not None and entry["kind"] == "audio":
            self._play_or_open(Path(entry["path"]))

    def _open(self, item: QListWidgetItem) -> None:
        """A row double-clicked (or Enter): a voice plays, a picture or a text opens enlarged."""
        path = item.data(Qt.ItemDataRole.UserRole)
        if not path:
            return
        self.show_index(len(self.entries) - 1 - self.list.row(item))
        if self._kind == "audio":
            self._play_or_open(Path(path))
        else:
            self.enlarge()

    def _play_or_open(self, path: Path) -> None:
        if not self._play(path):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

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


class SampleDialog(QDialog):
    """One preview at a readable size: a picture enlarged by a whole factor (real pixels), or the text in a large
    font. ← and → go to the previous and next preview of the strip; Esc closes."""

    def __init__(self, strip: SampleStrip) -> None:
        super().__init__(strip)
        self.strip = strip
        self.setObjectName("sampleDialog")
        self.setWindowTitle("Preview")
        self.caption = QLabel("", objectName="sampleDialogCaption")
        self.caption.setWordWrap(True)
        self.picture = PictureView(max_factor=2 * MAX_ENLARGE)
        self.text = _text_view(1.45, "sampleDialogText")
        self.view = QStackedWidget()
        self.view.addWidget(self.picture)
        self.view.addWidget(self.text)
        self.earlier = QPushButton("‹ Earlier", objectName="sampleEarlier")
        self.earlier.setToolTip("The previous preview (←)")
        self.earlier.clicked.connect(self.show_earlier)
        self.later = QPushButton("Later ›", objectName="sampleLater")
        self.later.setToolTip("The next preview (→)")
        self.later.clicked.connect(self.show_later)
        self.play_button = QPushButton("Play", objectName="sampleDialogPlay")
        self.play_button.clicked.connect(strip.play_current)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.earlier)
        row.addWidget(self.later)
        row.addWidget(self.play_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.keys: list[QAction] = []  # ← and →: live only while the window shows (see showEvent)
        for keys, slot, label in (
            (Qt.Key.Key_Left, self.show_earlier, "Earlier preview"),
            (Qt.Key.Key_Right, self.show_later, "Later preview"),
        ):
            action = QAction(label, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setVisible(False)
            action.triggered.connect(slot)
            self.addAction(action)
            self.keys.append(action)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        for action in self.keys:
            action.setVisible(True)

    def hideEvent(self, event) -> None:
        """A closed preview window keeps no keys: the shortcut sheet lists only keys that work."""
        super().hideEvent(event)
        for action in self.keys:
            action.setVisible(False)

    @Slot()
    def show_earlier(self) -> None:
        self.strip.step_by(-1)

    @Slot()
    def show_later(self) -> None:
        self.strip.step_by(1)

    def show_entry(self, entry: dict) -> None:
        kind, head = entry["kind"], _head(entry)
        caption = str(entry.get("caption") or "")
        self.setWindowTitle(f"Preview · {head}")
        self.caption.setText(caption if caption.startswith(head) else " · ".join(p for p in (head, caption) if p))
        self.play_button.setVisible(kind == "audio")
        index, total = self.strip.index, len(self.strip.entries)
        self.earlier.setEnabled(index > 0)
        self.later.setEnabled(index < total - 1)
        source = entry["path"] if kind == "image" else str(entry.get("image") or "")
        pixmap = QPixmap(source) if kind != "text" and source else QPixmap()
        if pixmap.isNull():
            self.text.setPlainText(_read_text(Path(entry["path"])) if kind == "text" else f"{head}\n{caption}")
            self.view.setCurrentWidget(self.text)
        else:
            self.picture.set_pixmap(pixmap)
            self.view.setCurrentWidget(self.picture)

    def fit_to_screen(self) -> None:
        """Size the window so a picture shows at a readable whole-factor enlargement (its longer side about
        :data:`READABLE_SIDE` px), within 90 % of the screen; a text gets a comfortable reading width."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() * 0.9 if screen is not None else QSize(1200, 800)
        chrome = QSize(40, 110)  # margins, the caption and the button row
        if self.view.currentWidget() is self.picture and not self.picture.pixmap.isNull():
            size = self.picture.pixmap.size()
            factor = max(1, math.ceil(READABLE_SIDE / max(size.width(), size.height())))
            wanted = size * min(factor, 2 * MAX_ENLARGE) + QSize(12, 12) + chrome
        else:
            wanted = QSize(760, 620)
        self.resize(wanted.boundedTo(room).expandedTo(QSize(420, 320)))
