"""Live training curves: losses, validation, learning rate and throughput, with smoothing, log scale and overlays.

Why it is built this way:

* A run logs up to ~100,000 steps. Points go into :class:`SeriesBuffer` (numpy arrays that double when full,
  so an append is amortised O(1) and no Python list is ever converted again); the curves get the arrays with
  ``setData`` and pyqtgraph's peak downsampling and ``clipToView`` keep painting proportional to the pixels,
  not to the points.
* Metric batches arrive ~20 times a second. Appending only marks curves dirty; a timer redraws the dirty
  curves of one plot per 25 ms tick, so each plot repaints at most ~10 times a second however fast the job
  reports, and no event-loop pass paints more than one plot. The plots have no grid: pyqtgraph bakes grid
  lines into the axis pictures, which made every repaint 3-4 times slower.
* Smoothing is TensorBoard's debiased exponential moving average, computed incrementally as points arrive
  (and once over the whole series when the slider moves), drawn over a faint raw curve.
* pyqtgraph takes about half a second to import, so this module is imported only when the Training panel is
  first shown: the window still opens fast.
* The legend is a line of words under the card's title, never a box inside the plot: a box in a corner covered
  the newest (or the oldest) part of the curves, whichever corner it sat in.
* Axis ranges follow what a metric can be: precision and recall live on a fixed 0-1 axis (auto-range put two
  values of 0.1 and 0.2 on a -0.4…0.4 axis); a card whose values are all non-negative (losses of most GANs,
  learning rate, throughput, FID) never shows a negative axis, while the range otherwise follows the data (a
  WGAN critic's loss may be negative, so nothing is clamped blindly). An empty card shows no axes at all, only
  its "Nothing yet" line: an empty pyqtgraph plot would label a meaningless 0-1 range.
* Colours come from :func:`studio.ui.theme.colour` and are applied again when the theme changes
  (:meth:`MetricPlot.apply_theme`), so a dark theme switched on while the plots exist repaints them too.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.ui import theme
from studio.ui.backends.training import metric_columns
from studio.ui.widgets.common.elided_label import ElidedLabel
from studio.ui.widgets.common.inputs import Slider
from studio.ui.widgets.training.monitor import format_number

REDRAW_MS = 100  # at most ~10 redraws a second
PALETTE = ("#5B5BD6", "#E0607E", "#2F9E77", "#D98E04", "#3B82C4", "#8B5CF6", "#C05621", "#0E9AA7")
OVERLAY_PALETTE = ("#9AA0BC", "#D4A373", "#7FB3A3", "#C79BD1", "#94B6D8")

# The plots and which metric keys each one draws. Each card holds values of one scale: image generators add
# a Variety card (precision and recall, 0-1) and an FID card (tens to hundreds) beside the four every run has.
GROUPS = (
    ("loss", "Loss", "lower is better"),
    ("val", "Validation", "measured on held-out items"),
    ("variety", "Variety", "precision and recall of samples · higher is better"),
    ("lr", "Learning rate", "per step"),
    ("speed", "Throughput", "items per second"),
    ("fid", "FID", "lower is better"),
)
GRID_POSITIONS = {"loss": (0, 0), "val": (0, 1), "variety": (0, 2), "lr": (1, 0), "speed": (1, 1), "fid": (1, 2)}
OPTIONAL_GROUPS = {"variety", "fid"}  # shown only once a run logs such values
LOG_GROUPS = ("loss", "val", "lr")  # what the Log scale box switches
BOUNDED = {"variety": (0.0, 1.0)}  # cards of metrics with a fixed range: their y axis stays on it
BOUNDED_PADDING = 0.03  # so a value of exactly 0 or 1 is not drawn on the card's edge
NO_LIMIT = 1e307  # pyqtgraph's own "no limit" for a view's range (None is not accepted there)
QUALITY_NOTE = (
    "KID, FID, precision and recall are measured offline with the studio's own fixed feature "
    "network: compare them between runs on the same dataset and resolution, not with published "
    "scores. Falling KID/FID = more realistic samples; falling recall = less variety (mode collapse)."
)
NON_CURVES = {"step", "time_s", "epoch", "eta_s", "total_steps", "event"}


def group_of(key: str) -> str | None:
    """Which plot a metric key belongs to (None: not plotted, e.g. ``step`` or ``epoch``)."""
    if key in NON_CURVES:
        return None
    if key == "loss" or key.startswith("loss_"):
        return "loss"
    if key in ("val_precision", "val_recall"):
        return "variety"
    if key == "val_fid":
        return "fid"
    if key.startswith("val_"):
        return "val"
    if key == "lr" or key.startswith("lr_"):
        return "lr"
    if key == "items_per_s":
        return "speed"
    return None


def curve_label(key: str) -> str:
    """``loss_d`` → ``loss d``, ``val_loss`` → ``val loss``: short legend words."""
    return key.replace("_", " ")


class SeriesBuffer:
    """x/y points in numpy arrays that grow by doubling, plus their running smoothed values."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.smooth = np.empty(capacity, np.float64)
        self.n = 0
        self.weight = 0.0
        self._acc = 0.0  # the EMA before debiasing
        self._count = 0  # finite points seen (for the debias term)

    def _grow(self, needed: int) -> None:
        capacity = len(self.x)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name in ("x", "y", "smooth"):
            old = getattr(self, name)
            new = np.empty(capacity, np.float64)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, x: float, y: float) -> None:
        self.extend(np.array([x], np.float64), np.array([y], np.float64))

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        count = len(xs)
        if not count:
            return
        self._grow(self.n + count)
        start = self.n
        self.x[start : start + count] = xs
        self.y[start : start + count] = ys
        self.n += count
        self._smooth_from(start)

    def set_weight(self, weight: float) -> None:
        """Change the smoothing (0 = none, 0.99 = very smooth) and recompute the smoothed series."""
        self.weight = min(0.999, max(0.0, float(weight)))
        self._acc, self._count = 0.0, 0
        self._smooth_from(0)

    def _smooth_from(self, start: int) -> None:
        a = self.weight
        acc, count = self._acc, self._count
        out = self.smooth
        last = out[start - 1] if start > 0 else math.nan
        for i, value in enumerate(self.y[start : self.n].tolist(), start):
            if math.isfinite(value):
                acc = a * acc + (1.0 - a) * value
                count += 1
                last = acc / (1.0 - a**count) if a > 0 else value
            out[i] = last
        self._acc, self._count = acc, count

    def view(self, smoothed: bool) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], (self.smooth if smoothed else self.y)[: self.n]

    def last(self) -> float | None:
        return float(self.y[self.n - 1]) if self.n else None


def _pen(colour: str, width: float = 1.6, alpha: int = 255, dashed: bool = False) -> QPen:
    """A cosmetic pen in the current theme's counterpart of the light ``colour``."""
    pen = pg.mkPen(theme.qcolor(colour, alpha), width=width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


class CompactAxis(pg.AxisItem):
    """Step numbers as ``2k``, ``40k``, ``1.5M``: long labels ran into each other on narrow plots."""

    def tickStrings(self, values, scale, spacing):  # pyqtgraph's name
        return [compact_number(v * scale) for v in values]


def compact_number(value: float) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


class MetricPlot(QWidget):
    """One titled plot card: its title and latest values, a legend line, a pyqtgraph plot and an empty-state line."""

    def __init__(self, group: str, title: str, hint: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("plotCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.group = group
        self.title = QLabel(title, objectName="plotTitle")
        # the latest values never widen the card (three cards side by side must fit the monitor)
        self.value = ElidedLabel("", objectName="plotValue")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.hint = hint
        # the legend: a wrapping line of coloured words under the title, outside the plotting area
        self.legend = QLabel(objectName="plotLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend.setVisible(False)
        self.plot = pg.PlotWidget(axisItems={"bottom": CompactAxis("bottom")})
        self.plot.setMinimumHeight(120)
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        # No grid: pyqtgraph draws grid lines into the axes' cached pictures, and replaying them made each
        # repaint 3-4 times slower (70 ms instead of 19 ms for the four plots on a software-rendered window).
        item.hideButtons()
        item.getAxis("left").setWidth(52)
        self.empty = pg.TextItem(f"Nothing yet · {hint}", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.plot.getViewBox().sigResized.connect(self._place_empty)
        if group in BOUNDED:
            low, high = BOUNDED[group]
            self.plot.getViewBox().setLimits(yMin=low - BOUNDED_PADDING, yMax=high + BOUNDED_PADDING)
            self.plot.setYRange(low, high, padding=BOUNDED_PADDING)  # also turns the y auto-range off
            self.plot.setMouseEnabled(x=True, y=False)
        header = QHBoxLayout()
        header.setContentsMargins(12, 8, 12, 0)
        header.addWidget(self.title)
        header.addWidget(self.value, 1)  # takes the free width (and only that), right-aligned
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 6)
        layout.setSpacing(2)
        layout.addLayout(header)
        self.legend.setContentsMargins(12, 0, 12, 0)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        self.curves: dict[tuple[str, str, bool], pg.PlotDataItem] = {}
        self._styles: dict[tuple[str, str, bool], tuple[str, bool]] = {}  # ident -> (light colour, overlay)
        self._labels: dict[tuple[str, str, bool], str] = {}  # ident -> its legend words
        self.log = False
        self._show_axes(False)
        self.apply_theme()

    # -- curves and legend ----------------------------------------------------------------------------------
    def curve(
        self, run: str, key: str, raw: bool, colour: str, overlay: bool, run_label: str | None = None
    ) -> pg.PlotDataItem:
        """The curve for (run, key, raw|smoothed), made on first use."""
        ident = (run, key, raw)
        item = self.curves.get(ident)
        if item is None:
            item = pg.PlotDataItem(pen=self._curve_pen(colour, raw, overlay), skipFiniteCheck=False)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.plot.addItem(item)
            self.curves[ident] = item
            self._styles[ident] = (colour, overlay)
            if not raw:
                self._labels[ident] = f"{run_label or run} · {curve_label(key)}" if overlay else curve_label(key)
            self.empty.setVisible(False)
            self._show_axes(True)
            self._update_legend()
            if self.group in OPTIONAL_GROUPS:
                self.setVisible(True)
        return item

    @staticmethod
    def _curve_pen(colour: str, raw: bool, overlay: bool) -> QPen:
        if raw:
            return _pen(colour, 1.0, 70)
        return _pen(colour, 1.4 if overlay else 1.8, 200 if overlay else 255, dashed=overlay)

    def _update_legend(self) -> None:
        """A legend only where it tells curves apart: one curve is already named by the card's title."""
        named = [(ident, words) for ident, words in self._labels.items() if ident in self.curves]
        self.legend.setVisible(len(named) > 1)
        entries = []
        for ident, words in named:
            colour = theme.colour(self._styles[ident][0])
            mark = "╌" if self._styles[ident][1] else "■"  # dashed overlays, solid live curves
            entries.append(f'<span style="color:{colour}">{mark}</span>&nbsp;{html.escape(words)}')
        text_colour = theme.colour("#4A4F6A")
        self.legend.setText(f'<span style="color:{text_colour}">{" &nbsp; ".join(entries)}</span>')
        self.legend.setToolTip("\n".join(words for _ident, words in named))

    def legend_words(self) -> list[str]:
        """What the legend names, in order (tests and the layout check read it)."""
        return [words for ident, words in self._labels.items() if ident in self.curves]

    def remove_run(self, run: str) -> None:
        for ident in [i for i in self.curves if i[0] == run]:
            item = self.curves.pop(ident)
            self._styles.pop(ident, None)
            self._labels.pop(ident, None)
            self.plot.removeItem(item)
        self.empty.setVisible(not self.curves)
        self._show_axes(bool(self.curves))
        self._update_legend()
        if self.group in OPTIONAL_GROUPS and not self.curves:
            self.setVisible(False)

    # -- axes -----------------------------------------------------------------------------------------------
    def _show_axes(self, on: bool) -> None:
        """Axes only with data: an empty plot's axes would label a range that means nothing ("0 … 1.0")."""
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.showAxis(axis, on)

    @Slot()
    def _place_empty(self) -> None:
        rect = self.plot.getViewBox().viewRect()
        self.empty.setPos(rect.center())

    def set_log(self, on: bool) -> None:
        self.plot.getPlotItem().setLogMode(y=on)
        self.log = on
        if on:
            self.plot.getViewBox().setLimits(yMin=-NO_LIMIT)  # 0 would mean 10^0 = 1 on a log axis
            self.plot.enableAutoRange(axis="y")

    def follow_data(self, low: float | None) -> None:
        """Keep the y axis where the values can be: never below 0 when every value is 0 or more (auto-range
        padding put loss and throughput axes below zero), else free; a bounded card keeps its fixed range."""
        if self.group in BOUNDED or self.log:
            return
        floor = 0.0 if low is not None and math.isfinite(low) and low >= 0 else -NO_LIMIT
        if self.plot.getViewBox().state["limits"]["yLimits"][0] != floor:
            self.plot.getViewBox().setLimits(yMin=floor)

    def fit_from_zero(self) -> None:
        """Show the y axis from 0 (learning rates): a constant value would otherwise get an axis of
        "0.0002 0.0002 0.0002" and its rounding noise would look like jumps."""
        if self.log:
            return
        tops = [
            float(np.nanmax(item.yData))
            for item in self.curves.values()
            if item.isVisible() and item.yData is not None and len(item.yData)
        ]
        if tops and math.isfinite(max(tops)) and max(tops) > 0:
            self.plot.setYRange(0.0, max(tops) * 1.08, padding=0)

    # -- theme ----------------------------------------------------------------------------------------------
    def apply_theme(self) -> None:
        """(Re)colour the plot for the current theme: background, axes, the empty line, legend and curves."""
        self.plot.setBackground(theme.colour("#FFFFFF"))
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen(theme.colour("#D9DCE8")))
            ax.setTextPen(pg.mkPen(theme.colour("#6B7090")))
        item.getAxis("bottom").setLabel("step", color=theme.colour("#8A8FAD"))  # PlotItem's would show the axis
        self.empty.setColor(theme.qcolor("#A9ADC4"))
        for ident, curve in self.curves.items():
            colour, overlay = self._styles[ident]
            curve.setPen(self._curve_pen(colour, ident[2], overlay))
        self._update_legend()


class _Run:
    """The buffers of one run: metric key → SeriesBuffer."""

    def __init__(self, run_id: str, overlay: bool, colour_index: int) -> None:
        self.run_id = run_id
        self.label = run_id  # what an overlay's legend calls the run (its name or date, see add_columns)
        self.overlay = overlay
        self.colour_index = colour_index
        self.series: dict[str, SeriesBuffer] = {}
        self.dirty: set[str] = set()


class TrainingPlots(QWidget):
    """The 2 × 2 grid of plots with a toolbar (smoothing slider, log scale)."""

    LIVE = "live"
    smoothing_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.smoothing = Slider(Qt.Orientation.Horizontal, objectName="smoothingSlider")
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setFixedWidth(160)
        self.smoothing.setToolTip(
            "Smoothing of the curves (an exponential moving average); the faint line is the raw value"
        )
        self.smoothing_value = QLabel("0.60", objectName="mutedLabel")
        self.smoothing_value.setFixedWidth(32)
        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.log_scale = QCheckBox("Log scale", objectName="logScale")
        self.log_scale.setToolTip("Show loss and learning rate on a logarithmic axis")
        self.log_scale.toggled.connect(self._on_log)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(QLabel("Smoothing", objectName="mutedLabel"))
        bar.addWidget(self.smoothing)
        bar.addWidget(self.smoothing_value)
        bar.addSpacing(12)
        bar.addWidget(self.log_scale)
        bar.addStretch(1)
        self.toolbar = bar
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(10)
        self._grid = grid
        self._log = False
        self.plots: dict[str, MetricPlot] = {}  # filled one plot per event-loop pass (see _build_next_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(bar)
        layout.addLayout(grid, 1)
        self._runs: dict[str, _Run] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS // len(GROUPS))
        self._timer.timeout.connect(self._tick)
        self._turn = 0
        self._timer.start()
        self.redraws = 0  # how often curves were actually redrawn (tests check the 10/s ceiling)
        theme.signals.changed.connect(self._on_theme)
        QTimer.singleShot(0, self, self._build_next_plot)

    # -- building -----------------------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return len(self.plots) == len(GROUPS)

    @Slot()
    def _build_next_plot(self) -> None:
        """Build the next plot, then come back on the next event-loop pass for the one after. A pyqtgraph plot
        takes ~15 ms to build on the 2-core test machine, ~45 ms while jobs share the CPU: the six in one go
        froze the window 90-240 ms when the Training panel first opened. Curves that arrive before their plot
        exists stay marked dirty and are drawn once it does."""
        missing = [spec for spec in GROUPS if spec[0] not in self.plots]
        if missing:
            self._add_plot(*missing[0])
        if len(missing) > 1:
            QTimer.singleShot(0, self, self._build_next_plot)

    def _add_plot(self, group: str, title: str, hint: str) -> None:
        plot = MetricPlot(group, title, hint)
        plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._grid.addWidget(plot, *GRID_POSITIONS[group])
        if group in OPTIONAL_GROUPS:
            plot.setVisible(False)
        if group in OPTIONAL_GROUPS or group == "val":  # the Validation card plots KID for image models
            plot.setToolTip(QUALITY_NOTE)
        if self._log and group in LOG_GROUPS:
            plot.set_log(True)
        self.plots[group] = plot
        self.redraw(everything=True, groups=(group,))

    # -- data ---------------------------------------------------------------------------------------------
    def _run(self, run_id: str, overlay: bool) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            run = _Run(run_id, overlay, len([r for r in self._runs.values() if r.overlay]) if overlay else 0)
            self._runs[run_id] = run
        return run

    def clear(self, run_id: str | None = None) -> None:
        """Forget one run's curves (default: every run)."""
        for rid in [run_id] if run_id else list(self._runs):
            if self._runs.pop(rid, None) is not None:
                for plot in self.plots.values():
                    plot.remove_run(rid)
        if run_id in (None, self.LIVE):
            for plot in self.plots.values():
                plot.value.set_full_text("")

    def append(self, rows: list[dict], run_id: str = LIVE, overlay: bool = False) -> int:
        """Add logged steps (dicts as in metrics.jsonl). Returns how many points were added."""
        run = self._run(run_id, overlay)
        added = 0
        for key, (xs, ys) in metric_columns(rows).items():
            if group_of(key):
                self.add_series(run, key, xs, ys)
                added += len(xs)
        return added

    def add_columns(
        self,
        columns: dict[str, tuple[np.ndarray, np.ndarray]],
        run_id: str,
        overlay: bool = True,
        label: str | None = None,
    ) -> None:
        """Add whole columns at once (a past run read off the GUI thread): key → (steps, values). ``label`` is
        what an overlay's legend calls the run (its name or date; default its id)."""
        self.clear(run_id)
        run = self._run(run_id, overlay)
        run.label = label or run_id
        for key, (xs, ys) in columns.items():
            if group_of(key):
                self.add_series(run, key, xs, ys)

    def add_series(self, run: _Run, key: str, xs: np.ndarray, ys: np.ndarray) -> None:
        series = run.series.get(key)
        if series is None:
            series = run.series[key] = SeriesBuffer(max(1024, len(xs)))
            series.set_weight(self.smoothing.value() / 100)
        series.extend(xs, ys)
        run.dirty.add(key)

    def points(self, run_id: str = LIVE) -> dict[str, int]:
        """How many points each metric of a run holds."""
        run = self._runs.get(run_id)
        return {key: s.n for key, s in run.series.items()} if run else {}

    def run_ids(self) -> list[str]:
        return list(self._runs)

    # -- drawing ------------------------------------------------------------------------------------------
    @Slot()
    def _tick(self) -> None:
        """Redraw the next plot in turn. One plot per tick keeps each repaint short (a full pass over the four
        plots at once blocked the GUI thread for ~40 ms on a software-rendered window); each plot still
        refreshes every ``REDRAW_MS``."""
        group = GROUPS[self._turn % len(GROUPS)][0]
        self._turn += 1
        self.redraw(groups=(group,))

    def redraw(self, everything: bool = False, groups: tuple[str, ...] | None = None) -> None:
        """Push dirty series (of ``groups``; default all) into their curves."""
        drew: set[str] = set()
        smoothed = self.smoothing.value() > 0
        for run in self._runs.values():
            keys = set(run.series) if everything else set(run.dirty)
            for key in sorted(keys):
                group = group_of(key)
                if groups is not None and group not in groups:
                    continue
                plot = self.plots.get(group)
                if plot is None:  # not built yet: stays dirty, drawn when it is (see _build_next_plot)
                    continue
                series = run.series[key]
                colour = self._colour(run, key)
                if not run.overlay:
                    raw = plot.curve(run.run_id, key, True, colour, False)
                    if smoothed:
                        raw.setData(*series.view(smoothed=False))
                    else:
                        raw.setData([], [])
                    raw.setVisible(smoothed)
                main = plot.curve(run.run_id, key, False, colour, run.overlay, run.label)
                main.setData(*series.view(smoothed=smoothed))
                if not run.overlay and series.n:
                    self._show_value(plot, run)
                run.dirty.discard(key)
                drew.add(group)
        self._fit(drew)
        if drew:
            self.redraws += 1

    def _fit(self, groups) -> None:
        """The y axes of ``groups`` after new data: never below 0 for non-negative values, 0-based for lr."""
        for group in groups:
            plot = self.plots.get(group)
            if plot is None:
                continue
            lows = [
                float(np.fmin.reduce(series.y[: series.n]))  # NaN (a missing value) is skipped, without a warning
                for run in self._runs.values()
                for key, series in run.series.items()
                if group_of(key) == group and series.n
            ]
            finite = [low for low in lows if not math.isnan(low)]
            plot.follow_data(min(finite) if finite else None)
            if group == "lr":
                plot.fit_from_zero()

    def _colour(self, run: _Run, key: str) -> str:
        if run.overlay:
            return OVERLAY_PALETTE[run.colour_index % len(OVERLAY_PALETTE)]
        keys = sorted(k for k in run.series if group_of(k) == group_of(key))
        return PALETTE[keys.index(key) % len(PALETTE)]

    @staticmethod
    def _show_value(plot: MetricPlot, run: _Run) -> None:
        parts = []
        for key in sorted(k for k in run.series if group_of(k) == plot.group):
            value = run.series[key].last()
            if value is not None:
                parts.append(f"{curve_label(key).removeprefix('val ')} {format_number(value)}")
        plot.value.set_full_text("   ".join(parts))

    # -- toolbar ------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_smoothing(self, value: int) -> None:
        weight = value / 100
        self.smoothing_value.setText(f"{weight:.2f}")
        for run in self._runs.values():
            for series in run.series.values():
                series.set_weight(weight)
        self.redraw(everything=True)
        self.smoothing_changed.emit(weight)

    @Slot(bool)
    def _on_log(self, on: bool) -> None:
        self._log = on
        for group in LOG_GROUPS:
            if group in self.plots:
                self.plots[group].set_log(on)
        self._fit(LOG_GROUPS)

    @Slot(bool)
    def _on_theme(self, _dark: bool) -> None:
        """The theme changed (:data:`studio.ui.theme.signals`): recolour every plot built so far; plots built
        later take the new theme's colours when they are made."""
        for plot in self.plots.values():
            plot.apply_theme()

    def set_smoothing(self, weight: float) -> None:
        self.smoothing.setValue(int(round(min(0.99, max(0.0, weight)) * 100)))
