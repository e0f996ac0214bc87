"""Browse an audio dataset: one row per clip with a small waveform, its length, its transcript and Play.

Waveforms are computed lazily, off the GUI thread, for the rows on screen only (a
:class:`~studio.workers.thumbnails.BackgroundLoader`, like the image thumbnails).

Transcripts are edited in place: double-click a clip's transcript (or select a clip and press "Edit transcript…"
or F2), type, press Enter. The list only says what was typed (:attr:`ClipList.transcript_edited`); the panel
records it in the manifest as one undoable operation, as it does every fix, and shows the list again.

Playback uses ``sounddevice``, imported on first need: it needs the PortAudio library and an output
device, and either may be missing (a server, a container, a remote desktop). Then the list says so in plain
words ("Playback is unavailable: …") and everything else keeps working. The check (import + device query;
PortAudio's start-up can take a few hundred milliseconds on some systems) runs on a background thread the
first time the list is shown.
"""

from __future__ import annotations

import itertools
import threading
import wave
from pathlib import Path, PurePosixPath

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.datasets.transcripts import MAX_TRANSCRIPT_CHARS, is_clip
from studio.ui import theme
from studio.ui.icons import icon
from studio.ui.widgets.dataset.entry_model import EntryListModel
from studio.workers.thumbnails import FAILED, BackgroundLoader

BINS = 72  # bars per waveform
PEAKS_ROLE = Qt.ItemDataRole.UserRole + 1

_problem: str | None = None
_checked = False
_lock = threading.Lock()


def playback_problem() -> str | None:
    """None when clips can be played; else the plain sentence the list shows. Checked once per run
    (thread-safe: the first check runs on a background thread)."""
    global _problem, _checked
    with _lock:
        if not _checked:
            _problem = _check_playback()
            _checked = True
        return _problem


def _check_playback() -> str | None:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio itself is missing
        return f"Playback is unavailable: the PortAudio sound library is not installed ({exc})."
    except ImportError as exc:
        return f"Playback is unavailable: the sounddevice package is missing ({exc})."
    try:
        sd.query_devices(kind="output")
    except Exception:  # noqa: BLE001 - sounddevice raises PortAudioError or ValueError here
        return "Playback is unavailable: no sound output device was found on this computer."
    return None


def _probe(_payload) -> str:
    return playback_problem() or ""


def read_clip(path: str):
    """float32 mono samples in [-1, 1] and the sample rate (soundfile if present, else the wave module)."""
    try:
        import soundfile as sf
    except (ImportError, OSError):
        sf = None
    if sf is not None:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        return data.mean(axis=1), int(rate)
    with wave.open(path, "rb") as clip:
        rate, width, channels = clip.getframerate(), clip.getsampwidth(), clip.getnchannels()
        raw = clip.readframes(clip.getnframes())
    if width != 2:
        raise OSError("only 16-bit WAV can be read without soundfile")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return samples.reshape(-1, channels).mean(axis=1), rate


def waveform_peaks(path: str, bins: int = BINS):
    """(bins,) float32 peak levels in [0, 1]. Runs on a pool thread."""
    samples, _rate = read_clip(path)
    if samples.size == 0:
        return np.zeros(bins, np.float32)
    edges = np.linspace(0, samples.size, bins + 1).astype(np.int64)
    magnitude = np.abs(samples)
    peaks = np.array([magnitude[a:b].max() if b > a else 0.0 for a, b in itertools.pairwise(edges)], np.float32)
    top = float(peaks.max())
    return peaks / top if top > 0 else peaks


def format_clip_length(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class ClipModel(EntryListModel):
    COLUMNS = ("", "Waveform", "Clip", "Length", "Transcript")
    PLAY, WAVE, NAME, LENGTH, TRANSCRIPT = range(5)

    transcript_edited = Signal(str, str)  # entry id, the text as typed (the manifest cleans and records it)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.folder = Path()
        self.playing_row = -1
        self.playable = True  # False once playback is known to be unavailable: the ▶ icons are greyed
        self.editable = True  # False while the project is read-only in this window
        self._row_of: dict[str, int] = {}
        self._loader: BackgroundLoader | None = None

    def set_entries(self, folder: Path, entries: list[dict]) -> None:
        self.beginResetModel()
        self.folder = Path(folder)
        self.entries = [e for e in entries if e.get("item")]
        self._row_of = {self.path(r): r for r in range(len(self.entries))}
        self.playing_row = -1
        self.endResetModel()

    def path(self, row: int) -> str:
        return str(self.folder / self.entries[row]["item"])

    def row_of_id(self, entry_id: str) -> int:
        return next((r for r, e in enumerate(self.entries) if e["id"] == entry_id), -1)

    def can_edit(self, row: int) -> bool:
        return self.editable and 0 <= row < len(self.entries) and is_clip(self.entries[row])

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == self.TRANSCRIPT and self.can_edit(index.row()):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """A typed transcript is handed on, not stored here: the panel records it (undoably) and refills the list.
        Text that only differs in spacing from what is there is no edit."""
        if role != Qt.ItemDataRole.EditRole or index.column() != self.TRANSCRIPT or not self.can_edit(index.row()):
            return False
        entry = self.entries[index.row()]
        text = str(value or "")
        if " ".join(text.split()) == (entry.get("transcript") or ""):
            return False
        self.transcript_edited.emit(entry["id"], text)
        return True

    @property
    def loader(self) -> BackgroundLoader:
        if self._loader is None:
            self._loader = BackgroundLoader(waveform_peaks, budget=4000, threads=2, parent=self)
            self._loader.ready.connect(self._on_ready)
        return self._loader

    def set_playing(self, row: int) -> None:
        old, self.playing_row = self.playing_row, row
        for r in (old, row):
            if 0 <= r < len(self.entries):
                self.dataChanged.emit(self.index(r, self.PLAY), self.index(r, self.PLAY))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = index.column()
        meta = entry.get("meta") or {}
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return PurePosixPath(entry["source"]).name
            if column == self.LENGTH:
                return format_clip_length(meta.get("duration_s"))
            if column == self.TRANSCRIPT:
                return entry.get("transcript") or "No transcript"
        if role == Qt.ItemDataRole.EditRole and column == self.TRANSCRIPT:
            return entry.get("transcript") or ""
        if role == Qt.ItemDataRole.DecorationRole and column == self.PLAY:
            picture = icon("stop" if index.row() == self.playing_row else "play")
            return picture if self.playable else picture.pixmap(QSize(16, 16), QIcon.Mode.Disabled)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.PLAY:
                if not self.playable:
                    return "Playback is unavailable on this computer"
                return "Stop" if index.row() == self.playing_row else "Play this clip"
            lines = [entry["source"], *(entry.get("fixes") or []), *(entry.get("flags") or [])]
            if meta.get("original_sample_rate"):
                lines.append(f"Recorded at {int(meta['original_sample_rate']):,} Hz")
            if column == self.TRANSCRIPT:
                if entry.get("transcript"):
                    lines.insert(0, entry["transcript"])  # the whole text, also where the column cuts it short
                if self.can_edit(index.row()):
                    lines.append("Double-click to type or fix the transcript")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole and (
            entry.get("excluded") or (column == self.TRANSCRIPT and not entry.get("transcript"))
        ):
            return theme.qcolor("#A9ADC4")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.LENGTH:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == PEAKS_ROLE and column == self.WAVE:
            path = self.path(index.row())
            return self.loader.get(path, path)
        return None

    @Slot(object, object)
    def _on_ready(self, key, _result) -> None:
        row = self._row_of.get(key)
        if row is not None:
            index = self.index(row, self.WAVE)
            self.dataChanged.emit(index, index, [PEAKS_ROLE])


class WaveformDelegate(QStyledItemDelegate):
    """Mirrored bars of the clip's peak levels; a thin line until they are computed."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        peaks = index.data(PEAKS_ROLE)
        area = QRectF(option.rect).adjusted(6, 5, -6, -5)
        mid = area.center().y()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = theme.qcolor("#5B5BD6")
        if peaks is None or peaks is FAILED:
            painter.setPen(theme.qcolor("#D9DCE8"))
            painter.drawLine(int(area.left()), int(mid), int(area.right()), int(mid))
            painter.restore()
            return
        step = area.width() / max(1, len(peaks))
        path = QPainterPath()
        for i, level in enumerate(peaks):
            half = max(0.5, float(level) * area.height() / 2)
            path.addRoundedRect(QRectF(area.left() + i * step, mid - half, max(1.0, step * 0.6), 2 * half), 1, 1)
        painter.fillPath(path, colour)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(180, 34)


class TranscriptDelegate(QStyledItemDelegate):
    """The inline transcript editor: a line edit that says what to type, as long as a transcript may be."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index) -> QWidget:
        editor = QLineEdit(parent, objectName="transcriptEditor")
        editor.setPlaceholderText("Type what is said in this clip, then press Enter (Esc cancels)")
        editor.setMaxLength(MAX_TRANSCRIPT_CHARS)
        editor.setFrame(False)
        return editor


class ClipList(QWidget):
    play_failed = Signal(str)
    transcript_edited = Signal(str, str)  # entry id, the text as typed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = ClipModel(self)
        self.view = QTableView(objectName="clipTable")
        self.view.setModel(self.model)
        self.view.setItemDelegateForColumn(ClipModel.WAVE, WaveformDelegate(self.view))
        self.view.setItemDelegateForColumn(ClipModel.TRANSCRIPT, TranscriptDelegate(self.view))
        self.model.transcript_edited.connect(self.transcript_edited)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # only the Transcript column is editable (ClipModel.flags): double-click or F2 there opens the line edit
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setIconSize(QSize(16, 16))
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(36)
        header = self.view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setSectionResizeMode(ClipModel.PLAY, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(ClipModel.PLAY, 36)
        header.resizeSection(ClipModel.WAVE, 190)
        header.resizeSection(ClipModel.NAME, 180)
        header.resizeSection(ClipModel.LENGTH, 70)
        header.setStretchLastSection(True)
        self.view.clicked.connect(self._on_clicked)
        self.view.doubleClicked.connect(self._on_double_clicked)

        self.message = QLabel(objectName="inlineNotice")
        self.message.setWordWrap(True)
        self.message.hide()
        self.count = QLabel(objectName="mutedLabel")
        self.play_button = QPushButton(icon("play"), "Play")
        self.play_button.setToolTip("Play the selected clip (or click ▶ on a row)")
        self.play_button.clicked.connect(self._on_play_button)
        self.edit_button = QPushButton("Edit transcript…")
        self.edit_button.setToolTip("Type or fix what the selected clip says (or double-click its transcript; F2)")
        self.edit_button.clicked.connect(self.edit_selected)
        self.view.selectionModel().selectionChanged.connect(self._update_edit_button)
        self._probe: BackgroundLoader | None = None
        self.playback_checked = False
        self.stop_timer = QTimer(self)
        self.stop_timer.setSingleShot(True)
        self.stop_timer.timeout.connect(self._on_clip_ended)

        bar = QHBoxLayout()
        bar.addWidget(self.count)
        bar.addStretch(1)
        bar.addWidget(self.edit_button)
        bar.addWidget(self.play_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.message)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def set_entries(self, folder: Path, entries: list[dict]) -> None:
        """Show ``entries``; the selected clip stays selected (and in view) when it is still listed, so the list
        refilled after an edit or an undo keeps the user's place."""
        self.stop()
        selected = self.selected_id()
        self.model.set_entries(folder, entries)
        row = self.model.row_of_id(selected) if selected else -1
        if row >= 0:
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, ClipModel.TRANSCRIPT))
        self._update_edit_button()
        clips = self.model.entries
        total = sum(float((e.get("meta") or {}).get("duration_s") or 0) for e in clips)
        missing = sum(1 for e in clips if not e.get("transcript"))
        text = f"{words.count(len(clips), 'clip')} · {format_clip_length(total)} in all"
        if missing:
            text += f" · {words.number(missing)} without a transcript"
        self.count.setText(text)
        self.play_button.setEnabled(bool(clips) and self.playback_checked and not self.message.text())
        if self.isVisible():
            self._check_playback()

    # -- transcripts ---------------------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.entries[rows[0].row()]["id"] if rows and rows[0].row() < len(self.model.entries) else None

    def set_editable(self, editable: bool) -> None:
        """Read-only projects (open in another window) list their clips but take no edits."""
        self.model.editable = editable
        self._update_edit_button()

    @Slot()
    def edit_selected(self) -> None:
        """Open the inline editor on the selected clip's transcript (the first clip when none is selected)."""
        rows = self.view.selectionModel().selectedRows()
        row = rows[0].row() if rows else 0
        if not self.model.can_edit(row):
            return
        index = self.model.index(row, ClipModel.TRANSCRIPT)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        self.view.edit(index)

    @Slot()
    def _update_edit_button(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        self.edit_button.setEnabled(self.model.can_edit(rows[0].row() if rows else 0))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._check_playback()

    def _check_playback(self) -> None:
        """Ask once, off the GUI thread, whether clips can be played; the answer arrives in _on_probe."""
        if self.playback_checked or self._probe is not None or not self.model.entries:
            return
        self._probe = BackgroundLoader(_probe, threads=1, parent=self)
        self._probe.ready.connect(self._on_probe)
        self._probe.request("playback", None)

    @Slot(object, object)
    def _on_probe(self, _key, problem) -> None:
        self.playback_checked = True
        problem = problem if isinstance(problem, str) else "Playback is unavailable: the sound system did not answer."
        self.message.setText(problem)
        self.message.setVisible(bool(problem))
        self.play_button.setEnabled(bool(self.model.entries) and not problem)
        self.model.playable = not problem
        if self.model.entries:
            self.model.dataChanged.emit(
                self.model.index(0, ClipModel.PLAY), self.model.index(len(self.model.entries) - 1, ClipModel.PLAY)
            )

    # -- playback --------------------------------------------------------------------------------------
    def play(self, row: int) -> bool:
        problem = playback_problem()
        if problem:
            self._show_problem(problem)
            return False
        try:
            import sounddevice as sd

            samples, rate = read_clip(self.model.path(row))  # one short clip: a few ms
            sd.play(samples, rate)
        except Exception as exc:  # noqa: BLE001 - a device can vanish between the check and the play
            self._show_problem(f"Playback is unavailable: {exc}")
            return False
        self.model.set_playing(row)
        self.stop_timer.start(int(len(samples) / max(1, rate) * 1000) + 100)
        return True

    def stop(self) -> None:
        if self.model.playing_row >= 0:
            try:
                import sounddevice as sd

                sd.stop()
            except Exception:  # noqa: BLE001 - nothing is playing then
                pass
        self.stop_timer.stop()
        self.model.set_playing(-1)

    def _show_problem(self, text: str) -> None:
        self.model.playable = False
        self.message.setText(text)
        self.message.show()
        self.play_failed.emit(text)

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.column() == ClipModel.PLAY:
            self._toggle(index.row())

    @Slot(QModelIndex)
    def _on_double_clicked(self, index: QModelIndex) -> None:
        """Double-clicking a clip plays it; on its transcript it opens the editor instead (the view's edit
        trigger), and on ▶ the single click already played it."""
        if index.column() not in (ClipModel.PLAY, ClipModel.TRANSCRIPT):
            self._toggle(index.row())

    @Slot()
    def _on_play_button(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        self._toggle(rows[0].row() if rows else 0)

    def _toggle(self, row: int) -> None:
        if row == self.model.playing_row:
            self.stop()
        elif 0 <= row < self.model.rowCount():
            self.stop()
            self.play(row)

    @Slot()
    def _on_clip_ended(self) -> None:
        self.model.set_playing(-1)
