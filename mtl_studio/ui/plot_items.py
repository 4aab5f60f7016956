"""The pieces of the live training plots: a Curve (one series of one run in
one plot) and a Plot (its own small pyqtgraph view, its curves, marks and
hover cursor, and the range it shows).

Ranges are ours, not pyqtgraph's. Curves are added with ignoreBounds, and an
invisible _Extent item is the only thing the view's auto range looks at. It
holds the data's range rounded outward (plot_ranges.py), so while a run
streams a plot's range changes a few times, not at every redraw: a redraw
then paints once, with cached axes, instead of two or three times with new
ticks while pyqtgraph's auto range settles. The curves' running minimum and
maximum are kept as points arrive, so no redraw scans a whole series.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor

from .readout import COSINE, OVERVIEW, PENALTY, TASK, TOTAL, WEIGHTS  # noqa: F401 - the plot kinds
from .plot_grid import MIN_PLOT_HEIGHT, MIN_PLOT_WIDTH
from .plot_ranges import log_y_bounds, y_bounds
from .run_curves import Divided, RunCurves, Series, Smoother

BACKGROUND = "#FFFFFF"
FOREGROUND = "#3A3F47"
MARK_COLOR = "#5B6B7F"
CURSOR_COLOR = "#8A94A3"
BEST_COLOR = "#9AA3AE"  # the best epoch's line: grey, whatever the task's colour
BEST_DASHES = [3, 3]  # short dashes, apart from a setting mark's and a validation curve's
GRID_COLOR = "#E6E9EE"
DOWNSAMPLE_FACTOR = 2.0  # points per pixel column kept by auto downsampling
FAINT_ALPHA = 45  # the raw curve under a smoothed one
OVERLAY_ALPHA = 140  # an earlier run's curves
# A validation curve shows a marker per epoch while its points are at least
# this many pixels apart on average; denser, the markers would merge into a
# heavy band that hides the line, so the line is drawn alone.
MARKER_SPACING_PX = 12
MARKER_SIZE = 5


def color(hex_color: str, alpha: int = 255) -> QColor:
    c = QColor(hex_color or FOREGROUND)
    c.setAlpha(alpha)
    return c


def mix(a: str, b: str) -> str:
    """The colour of a pair of tasks: halfway between theirs."""
    ca, cb = QColor(a or FOREGROUND), QColor(b or FOREGROUND)
    return QColor(
        (ca.red() + cb.red()) // 2, (ca.green() + cb.green()) // 2, (ca.blue() + cb.blue()) // 2
    ).name()


class Span:
    """Running minimum, maximum and smallest positive value of a growing
    array: only the points added since the last update are looked at."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.lo, self.hi, self.lo_positive = math.inf, -math.inf, math.inf

    def update(self, values: np.ndarray) -> None:
        if len(values) < self.n:
            self.reset()
        new = values[self.n :]
        self.n = len(values)
        new = new[np.isfinite(new)]
        if not len(new):
            return
        self.lo = min(self.lo, float(new.min()))
        self.hi = max(self.hi, float(new.max()))
        positive = new[new > 0]
        if len(positive):
            self.lo_positive = min(self.lo_positive, float(positive.min()))

    def merge(self, other: Span) -> None:
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        self.lo_positive = min(self.lo_positive, other.lo_positive)

    @property
    def empty(self) -> bool:
        return self.hi < self.lo


class Curve:
    """One series of one run in one plot. `main` is the line to read: the
    smoothed values while smoothing is on (for a curve that smooths), else
    the raw ones. `faint` is the raw line under it while smoothing is on,
    for the current run's task curves. setData is called only when the
    series grew or a setting changed."""

    def __init__(
        self,
        run: RunCurves,
        series: Series,
        hex_color: str,
        *,
        smooths: bool,
        overlay: bool = False,
        val: bool = False,
        steps: bool = False,
        faint: bool = True,
        name: str | None = None,
    ) -> None:
        self.run, self.series, self.color = run, series, hex_color
        self.smooths, self.overlay, self.val, self.steps = smooths, overlay, val, steps
        self.smoother = Smoother()
        self._epochs = Divided()
        self.drawn: tuple | None = None  # (points, axis, smoothing, held) of the last setData
        self.span, self.faint_span = Span(), Span()  # of what main and faint were given
        alpha = OVERLAY_ALPHA if overlay else 255
        # One pixel: a wider pen is drawn segment by segment, which made a
        # plot's paint 2.5 times as long (docs/benchmarks.md). Full colour
        # over the faint raw curve is what makes the line to read stand out.
        pen = pg.mkPen(
            color(hex_color, alpha),
            width=1,
            style=Qt.PenStyle.DashLine if val else Qt.PenStyle.SolidLine,
        )
        if overlay:
            # Longer dashes than a validation curve's, so the two do not mix.
            pen.setDashPattern([7, 4])
        options = dict(pen=pen, connect="finite", name=name)
        if steps:
            options.update(stepMode="right")  # a value holds until the next report
        self.markers = False
        if val:
            # Small hollow markers (white inside): the line stays readable
            # through them.
            self._symbol = dict(
                symbol="o",
                symbolSize=MARKER_SIZE - 1 if overlay else MARKER_SIZE,
                symbolPen=pg.mkPen(color(hex_color, alpha), width=1.2),
                symbolBrush=pg.mkBrush(BACKGROUND),
            )
            options.update(self._symbol)
            self.markers = True
        self.main = self._item(**options)
        self.faint = None
        if smooths and faint and not overlay:
            self.faint = self._item(
                pen=pg.mkPen(color(hex_color, FAINT_ALPHA), width=1), connect="finite"
            )
            self.faint.setZValue(-1)
            self.faint.hide()

    @staticmethod
    def _item(**options) -> pg.PlotDataItem:
        # Peak downsampling draws the min and the max of each block of points;
        # blocks of half a pixel (pyqtgraph's default is a fifth) keep every
        # spike and the shape, with 2.5 times fewer segments to stroke.
        item = pg.PlotDataItem(autoDownsampleFactor=DOWNSAMPLE_FACTOR, **options)
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        return item

    @property
    def items(self) -> list[pg.PlotDataItem]:
        return [i for i in (self.faint, self.main) if i is not None]

    def x(self, axis: str) -> np.ndarray:
        if axis == "epoch":
            return self._epochs.of(self.series.step, float(self.run.steps_per_epoch))
        return self.run.x(self.series, axis)

    def smoothed(self, smoothing: float) -> np.ndarray:
        return self.smoother.of(self.series.value, smoothing if self.smooths else 0.0)

    def _held_until(self, axis: str) -> float | None:
        """Where a step curve's last value reaches: the run's last step, as
        a weight set once holds for the whole run."""
        if not self.steps:
            return None
        run = self.run
        if axis == "wall":
            return run.wall
        return run.step / run.steps_per_epoch if axis == "epoch" else float(run.step)

    def draw(self, axis: str, smoothing: float, width_px: float = 0.0) -> bool:
        """Hand the plot the series if it grew or a setting changed; say
        whether anything was handed. width_px, the plot's width, decides
        whether a validation curve's markers still fit."""
        smoothing = smoothing if self.smooths else 0.0
        held = self._held_until(axis)
        key = (len(self.series), axis, smoothing, held)
        if key == self.drawn:
            return False
        was_smooth = self.drawn is not None and self.drawn[2] > 0
        if self.drawn is None or was_smooth != (smoothing > 0):
            # Smoothing 0 shows the raw curve alone, in full colour.
            if self.faint is not None:
                self.faint.setVisible(smoothing > 0)
                if smoothing == 0:
                    self.faint.setData([], [])
        if self.drawn is None or self.drawn[2] != smoothing:
            self.span.reset()  # other values: their range anew
        self.drawn = key
        if not len(self.series) and self.main.getOriginalDataset()[0] is None:
            return False  # nothing yet, nothing shown
        if self.val:
            self._set_markers(width_px <= 0 or len(self.series) * MARKER_SPACING_PX <= width_px)
        x, raw = self.x(axis), self.series.value
        if self.faint is not None and smoothing > 0:
            self.faint.setData(x, raw)
            self.faint_span.update(raw)
        y = self.smoothed(smoothing)
        self.span.update(y)
        if held is not None and len(x) and held > x[-1]:
            x, y = np.append(x, held), np.append(y, y[-1])  # a step curve: a few points
        self.main.setData(x, y)
        return True

    def _set_markers(self, on: bool) -> None:
        if on != self.markers:
            self.markers = on
            self.main.setSymbol(self._symbol["symbol"] if on else None)

    def value_span(self) -> Span:
        """The range of what this curve shows now."""
        span = Span()
        if self.main.isVisible() and self.drawn is not None:
            span.merge(self.span)
            if self.faint is not None and self.faint.isVisible():
                span.merge(self.faint_span)
        return span

    def nearest(self, x: float, axis: str) -> int | None:
        """The index of the point nearest to x (for a step curve, the last
        point at or before x: the value in force), or None if empty."""
        xs = self.x(axis)
        if not len(xs):
            return None
        if self.steps:
            return max(int(np.searchsorted(xs, x, side="right")) - 1, 0)
        i = int(np.searchsorted(xs, x))
        if i >= len(xs) or (i > 0 and x - xs[i - 1] <= xs[i] - x):
            i -= 1
        return i


class _Extent(pg.GraphicsObject):
    """Invisible; the only item a plot's auto range looks at. It holds the
    rounded x span (on the plot whose x range all plots share) and y span,
    and tells the view only when one of them changes."""

    def __init__(self) -> None:
        super().__init__()
        self.x: tuple[float, float] | None = None
        self.y: tuple[float, float] | None = None

    def set(
        self, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None
    ) -> bool:
        x = self.x if x is None else x
        y = self.y if y is None else y
        if (x, y) == (self.x, self.y):
            return False
        self.x, self.y = x, y
        self.informViewBoundsChanged()
        return True

    def dataBounds(self, axis, frac=1.0, orthoRange=None):
        return self.x if axis == 0 else self.y

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, *args) -> None:
        pass


class PlotView(pg.GraphicsView):
    """One plot's widget. Times its paints in CPU time of the GUI thread
    (time.thread_time: the budget is CPU, and on busy cores the wall clock
    counts the time other threads ran)."""

    def __init__(self, key: str) -> None:
        super().__init__(background=BACKGROUND)
        self.key = key
        self.paint_ms = 0.0
        self.setMinimumSize(MIN_PLOT_WIDTH // 2, MIN_PLOT_HEIGHT)

    def paintEvent(self, event) -> None:
        start = time.thread_time()
        super().paintEvent(event)
        self.paint_ms = (time.thread_time() - start) * 1000


class Plot:
    """One plot: its view, the current run's curves, the earlier runs'
    overlays by run, the marks and the hover cursor, and its range."""

    def __init__(
        self,
        key: str,
        kind: str,
        title: str,
        y_label: str,
        *,
        loss: bool,
        always: bool,
        include: tuple[float, ...] = (),
    ) -> None:
        self.key, self.kind, self.loss, self.always = key, kind, loss, always
        self.include = include  # values the y range always shows (0 for a cosine)
        self.log = False
        self.item = pg.PlotItem()
        self.item.setTitle(title, color=FOREGROUND, size="9pt")
        self.item.setLabel("left", y_label, color=FOREGROUND)
        for side in ("left", "bottom"):
            axis = self.item.getAxis(side)
            axis.setPen(pg.mkPen(FOREGROUND))
            axis.setTextPen(pg.mkPen(FOREGROUND))
            axis.enableAutoSIPrefix(False)  # a cosine of 0.3 reads as 0.3, not 300 x 0.001
            # The grid: major ticks only, opaque and light. pyqtgraph's default
            # (every tick level, translucent) costs 4 ms of blending per plot
            # at each repaint, more than the curves.
            axis.setTickPen(pg.mkPen(GRID_COLOR))
            axis.setStyle(maxTickLevel=0, tickAlpha=255)
            axis.setZValue(-1000)  # opaque grid lines under the curves (the view is at -100)
        self.item.showGrid(x=True, y=True)
        self.item.setDownsampling(auto=True, mode="peak")
        self.item.setClipToView(True)
        self.legend = self.item.addLegend(
            offset=(-2, 2),
            labelTextSize="8pt",
            labelTextColor=FOREGROUND,
            horSpacing=4,
            verSpacing=-6,
            brush=pg.mkBrush(255, 255, 255, 170),
            pen=pg.mkPen("#D5DAE1"),
        )
        self.legend.hide()
        self.extent = _Extent()
        self.item.addItem(self.extent)
        self.view = PlotView(key)
        self.view.setCentralItem(self.item)
        self.curves: list[Curve] = []
        self.overlays: dict[int, list[Curve]] = {}  # id(run) -> its curves here
        self.marks: list[pg.InfiniteLine] = []
        self.best_line: pg.InfiniteLine | None = None  # made at the first best epoch
        self.zero_line: pg.InfiniteLine | None = None  # the cosine plot's
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOR, width=1))
        self.cursor.setZValue(20)
        self.cursor.hide()
        self.item.addItem(self.cursor, ignoreBounds=True)
        self.stale = True  # has data or settings it has not drawn
        self.drawn_at = 0.0  # perf_counter time of its last redraw
        self.cost_ms = 0.0  # CPU its last redraw took: curves handed over, and a paint

    def add(self, curve: Curve, overlay_of: RunCurves | None = None) -> None:
        for item in curve.items:
            self.item.addItem(item, ignoreBounds=True)  # the extent gives the range
        if overlay_of is None:
            self.curves.append(curve)
        else:
            self.overlays.setdefault(id(overlay_of), []).append(curve)
        self.legend.setVisible(bool(self.legend.items))

    def remove_overlay(self, run: RunCurves) -> None:
        for curve in self.overlays.pop(id(run), []):
            for item in curve.items:
                self.item.removeItem(item)
        self.legend.setVisible(bool(self.legend.items))

    def all_curves(self) -> list[Curve]:
        return self.curves + [c for curves in self.overlays.values() for c in curves]

    def has_data(self) -> bool:
        return any(len(c.series) for c in self.all_curves())

    def set_log(self, on: bool) -> None:
        self.log = on and self.loss
        self.item.setLogMode(x=False, y=self.log)

    def fit_y(self) -> None:
        """Round the range of what the curves show, and hand it to the view
        if it changed."""
        span = Span()
        for curve in self.all_curves():
            span.merge(curve.value_span())
        for value in self.include:
            span.merge(_point(value))
        if span.empty:
            return
        if self.log:
            bounds = log_y_bounds(span.lo_positive, span.hi)
        else:
            bounds = y_bounds(span.lo, span.hi)
        self.extent.set(y=bounds)

    def width_px(self) -> float:
        return float(self.item.vb.width() or self.view.width())

    def set_best(
        self, x: float | None, text: str = "", tip: str = "", labelled: bool = True
    ) -> None:
        """The best epoch's line at x (hidden when None): one line per plot,
        made once and moved, and touched only when something changed, so
        the plot's redraw (which calls this) paints nothing more."""
        line = self.best_line
        if x is None:
            if line is not None and line.isVisible():
                line.hide()
            return
        if line is None:
            pen = pg.mkPen(color(BEST_COLOR), width=1, style=Qt.PenStyle.CustomDashLine)
            pen.setDashPattern(BEST_DASHES)
            line = pg.InfiniteLine(
                pos=x,
                angle=90,
                movable=False,
                pen=pen,
                label=text if labelled else None,
                labelOpts=dict(
                    position=0.97,
                    color=MARK_COLOR,
                    anchors=[(0, 0), (1, 0)],
                    fill=pg.mkBrush(255, 255, 255, 170),
                )
                if labelled
                else None,
            )
            line.setZValue(5)  # under the setting marks and the cursor
            line.setToolTip(tip)
            self.item.addItem(line, ignoreBounds=True)
            self.best_line = line
            line.shown = (x, text, tip)
            return
        if line.shown == (x, text, tip) and line.isVisible():
            return
        if line.value() != x:
            line.setPos(x)
        if getattr(line, "label", None) is not None and line.shown[1] != text:
            line.label.setFormat(text)
        if line.shown[2] != tip:
            line.setToolTip(tip)
        line.shown = (x, text, tip)
        line.show()


def _point(value: float) -> Span:
    span = Span()
    span.update(np.array([value], float))
    return span
