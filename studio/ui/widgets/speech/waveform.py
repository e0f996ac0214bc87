"""The clip drawn two ways, one above the other on a shared time axis: the waveform (how loud, when) and the
spectrogram (which frequencies: a robotic buzz or a missing consonant shows here first), with the sentence
boundaries, a playhead while playing, and click-to-seek.

Why the envelope is computed with numpy per pixel column: a 30 s clip at 22 050 Hz is 660 000 samples; a path
through every sample would make each repaint (the playhead moves ~30 times a second) slow. The min/max of each
column's samples is computed once per width (``np.minimum.reduceat``) and the paint draws one vertical line per
column, which is what a sample-accurate drawing would look like at that scale anyway.

The spectrogram is the core's uint8 array (``analysis.spectrogram_image``: rows are frequency bins, row 0 the
lowest; columns ~10 ms frames), turned into a QImage once through a colour table and scaled when painted, with
low frequencies at the bottom as every audio editor shows them.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QLineF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from studio.ui import theme

BACKGROUND = "#FFFFFF"
BORDER = "#E3E5EF"
WAVE = "#5B5BD6"
WAVE_PLAYED = "#3C3CB0"
AXIS_TEXT = "#6B7090"
GRID = "#EEF0F6"
BOUNDARY = QColor(91, 91, 214, 90)
PLAYHEAD = "#E0533D"
PLACEHOLDER = "#8A8FAD"

AXIS_HEIGHT = 20
PAD = 10


def envelope(samples: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (min, max) of ``samples`` over ``columns`` equal slices; a short clip repeats samples."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    columns = max(1, int(columns))
    if samples.size == 0:
        zeros = np.zeros(columns, dtype=np.float32)
        return zeros, zeros
    edges = np.linspace(0, samples.size, columns + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], samples.size - 1)
    lows = np.minimum.reduceat(samples, starts)
    highs = np.maximum.reduceat(samples, starts)
    return lows, highs


def spectrogram_qimage(spectrogram: np.ndarray | None) -> QImage | None:
    """uint8 (bins, frames), row 0 lowest → an indexed QImage with the lowest frequency at the bottom."""
    if spectrogram is None:
        return None
    data = np.asarray(spectrogram)
    if data.ndim != 2 or data.size == 0:
        return None
    data = np.ascontiguousarray(np.flipud(data.astype(np.uint8)))
    height, width = data.shape
    image = QImage(data.data, width, height, width, QImage.Format.Format_Indexed8)
    image.setColorTable(_colour_table())
    return image.copy()  # own the pixels: ``data`` goes away


def _colour_table() -> list[int]:
    """White (silence) through the accent violet to a deep ink: calm on the light theme, contrast where it
    matters."""
    stops = [
        (0, (255, 255, 255)),
        (90, (220, 221, 247)),
        (170, (122, 122, 224)),
        (225, (60, 60, 176)),
        (255, (30, 32, 70)),
    ]
    table = []
    for i in range(256):
        for (a, ca), (b, cb) in itertools.pairwise(stops):
            if a <= i <= b:
                t = (i - a) / max(1, b - a)
                r, g, bl = (int(round(x + (y - x) * t)) for x, y in zip(ca, cb, strict=True))
                table.append(QColor(r, g, bl).rgb())
                break
    return table


def format_time(seconds: float, precise: bool = False) -> str:
    """0:07 / 1:02 (and 0:07.4 where a tenth matters)."""
    seconds = max(0.0, float(seconds))
    minutes, rest = divmod(seconds, 60.0)
    if precise:
        return f"{int(minutes)}:{rest:04.1f}"
    return f"{int(minutes)}:{int(rest):02d}"


def _tick_step(duration: float, width: float) -> float:
    """A round time step that puts a label every ~70 px."""
    wanted = duration / max(1.0, width / 70.0)
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300):
        if step >= wanted:
            return float(step)
    return 600.0


class WaveformView(QWidget):
    """Waveform (top) and spectrogram (bottom) of one clip; click anywhere to move the playhead there."""

    seek_requested = Signal(float)  # seconds

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("speechWaveform")
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.samples = np.zeros(0, dtype=np.float32)
        self.sample_rate = 22050
        self.sentences: list[dict] = []
        self.spectrogram: QImage | None = None
        self.playhead: float | None = None  # seconds, None: not shown
        self.placeholder = "Synthesize to see the waveform and the spectrogram here."
        self._cache_key = None
        self._cache: tuple[np.ndarray, np.ndarray] | None = None
        self._spec_key = None
        self._spec_pixmap: QPixmap | None = None

    def sizeHint(self) -> QSize:
        return QSize(640, 300)

    # -- content ------------------------------------------------------------------------------------------
    def set_audio(
        self,
        samples: np.ndarray,
        sample_rate: int,
        spectrogram: np.ndarray | None = None,
        sentences: list[dict] | None = None,
    ) -> None:
        self.samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.sample_rate = int(sample_rate) or 22050
        self.spectrogram = spectrogram_qimage(spectrogram)
        self.sentences = [s for s in (sentences or []) if isinstance(s, dict)]
        self.playhead = None
        self._cache_key = self._cache = None
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.set_audio(np.zeros(0, dtype=np.float32), self.sample_rate)

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def has_audio(self) -> bool:
        return self.samples.size > 0

    @property
    def duration(self) -> float:
        return self.samples.size / float(self.sample_rate) if self.sample_rate else 0.0

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead = None if seconds is None else float(seconds)
        self.update()

    # -- geometry -----------------------------------------------------------------------------------------
    def _plot_rect(self) -> QRect:
        return self.rect().adjusted(PAD, PAD, -PAD, -(PAD + AXIS_HEIGHT))

    def _areas(self) -> tuple[QRect, QRect]:
        plot = self._plot_rect()
        wave_height = int(plot.height() * 0.5) if self.spectrogram is not None else plot.height()
        wave = QRect(plot.left(), plot.top(), plot.width(), wave_height)
        spec = QRect(plot.left(), plot.top() + wave_height + 6, plot.width(), plot.height() - wave_height - 6)
        return wave, spec

    def x_for(self, seconds: float) -> float:
        plot = self._plot_rect()
        return plot.left() + (seconds / self.duration) * plot.width() if self.duration else float(plot.left())

    def time_at(self, x: float) -> float:
        plot = self._plot_rect()
        fraction = (x - plot.left()) / max(1, plot.width())
        return min(max(0.0, fraction), 1.0) * self.duration

    def sentence_at(self, seconds: float) -> dict | None:
        for sentence in self.sentences:
            try:
                if float(sentence.get("start", 0)) <= seconds < float(sentence.get("end", 0)):
                    return sentence
            except (TypeError, ValueError):
                continue
        return None

    # -- mouse --------------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.has_audio():
            self.seek_requested.emit(self.time_at(event.position().x()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.has_audio():
            seconds = self.time_at(event.position().x())
            sentence = self.sentence_at(seconds)
            tip = format_time(seconds, precise=True)
            if sentence is not None:
                tip += f" · “{str(sentence.get('text', '')).strip()}”"
            QToolTip.showText(event.globalPosition().toPoint(), tip, self)
        super().mouseMoveEvent(event)

    # -- painting -----------------------------------------------------------------------------------------
    def _columns(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        key = (width, self.samples.size, id(self.samples))
        if key != self._cache_key:
            self._cache = envelope(self.samples, width)
            self._cache_key = key
        return self._cache

    def _scaled_spectrogram(self, size: QSize) -> QPixmap:
        """The spectrogram smoothly scaled to ``size``, kept until the size or the clip changes (the playhead
        repaints ~30 times a second while playing)."""
        key = (size.width(), size.height(), id(self.spectrogram))
        if key != self._spec_key:
            self._spec_pixmap = QPixmap.fromImage(
                self.spectrogram.scaled(
                    size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
            self._spec_key = key
        return self._spec_pixmap

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        outer = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(theme.qcolor(BORDER), 1))
        painter.setBrush(theme.qcolor(BACKGROUND))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.drawRoundedRect(outer, 10, 10)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if not self.has_audio():
            painter.setPen(theme.qcolor(PLACEHOLDER))
            painter.drawText(
                self.rect().adjusted(24, 0, -24, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.placeholder,
            )
            painter.end()
            return
        wave, spec = self._areas()
        self._paint_wave(painter, wave)
        if self.spectrogram is not None and spec.height() > 4:
            painter.drawPixmap(spec.topLeft(), self._scaled_spectrogram(spec.size()))
            painter.setPen(QPen(theme.qcolor(GRID), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(spec.adjusted(0, 0, -1, -1))
        self._paint_captions(painter, wave, spec if self.spectrogram is not None else None)
        self._paint_boundaries(painter, self._plot_rect())
        self._paint_axis(painter, self._plot_rect())
        if self.playhead is not None:
            x = int(round(self.x_for(self.playhead)))
            painter.setPen(QPen(theme.qcolor(PLAYHEAD), 2))
            plot = self._plot_rect()
            painter.drawLine(x, plot.top() - 2, x, plot.bottom() + 2)
        painter.end()

    def _paint_wave(self, painter: QPainter, area: QRect) -> None:
        mid = area.center().y()
        half = area.height() / 2.0 - 1
        painter.setPen(QPen(theme.qcolor(GRID), 1))
        painter.drawLine(area.left(), mid, area.right(), mid)
        lows, highs = self._columns(area.width())
        xs = area.left() + np.arange(lows.size)
        tops = np.round(mid - highs * half).astype(int)
        bottoms = np.maximum(tops, np.round(mid - lows * half).astype(int))
        played = xs <= (self.x_for(self.playhead) if self.playhead is not None else -1)
        for colour, mask in (
            (theme.qcolor(WAVE_PLAYED), played),
            (theme.qcolor(WAVE), ~played),
        ):  # one drawLines call per colour
            lines = [
                QLineF(x, t, x, b + 0.5)
                for x, t, b in zip(xs[mask].tolist(), tops[mask].tolist(), bottoms[mask].tolist(), strict=True)
            ]
            if lines:
                painter.setPen(QPen(colour, 1))
                painter.drawLines(lines)

    def _paint_captions(self, painter: QPainter, wave: QRect, spec: QRect | None) -> None:
        """Small muted names in the corners, so "the picture under the waveform" has a name to ask about."""
        painter.save()
        font = QFont(painter.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() - 2.0))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(theme.qcolor(AXIS_TEXT))
        painter.drawText(wave.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "WAVEFORM")
        if spec is not None and spec.height() > 16:
            painter.drawText(
                spec.adjusted(4, 2, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "SPECTROGRAM"
            )
        painter.restore()

    def _paint_boundaries(self, painter: QPainter, plot: QRect) -> None:
        """A dashed line where each sentence after the first begins."""
        pen = QPen(BOUNDARY, 1, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        for sentence in self.sentences[1:]:
            try:
                x = int(round(self.x_for(float(sentence.get("start", 0)))))
            except (TypeError, ValueError):
                continue
            painter.drawLine(x, plot.top(), x, plot.bottom())

    def _paint_axis(self, painter: QPainter, plot: QRect) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        painter.setFont(font)
        step = _tick_step(self.duration, plot.width())
        precise = step < 1
        t = 0.0
        baseline = plot.bottom() + 4
        while t <= self.duration + 1e-6:
            x = int(round(self.x_for(t)))
            painter.setPen(QPen(theme.qcolor(BORDER), 1))
            painter.drawLine(x, baseline, x, baseline + 3)
            label = format_time(t, precise)
            painter.setPen(theme.qcolor(AXIS_TEXT))
            box = QRectF(x - 40, baseline + 3, 80, AXIS_HEIGHT - 4)
            align = Qt.AlignmentFlag.AlignHCenter
            if x - plot.left() < 20:
                box = QRectF(x, baseline + 3, 80, AXIS_HEIGHT - 4)
                align = Qt.AlignmentFlag.AlignLeft
            elif plot.right() - x < 20:
                box = QRectF(x - 80, baseline + 3, 80, AXIS_HEIGHT - 4)
                align = Qt.AlignmentFlag.AlignRight
            painter.drawText(box, align | Qt.AlignmentFlag.AlignTop, label)
            t += step
