"""The live training plots: one plot per task (train loss per step,
validation loss per epoch), the weighted total, the soft-sharing penalty,
the loss weights and the gradient cosine between tasks, in one grid.

The window's timer calls refresh() about 30 times a second while a run
trains. It returns at once when no run moved and no setting changed;
otherwise it hands pyqtgraph views of the RunCurves buffers, and only for
the series that grew. pyqtgraph's peak downsampling keeps the min and the
max of every block of points narrower than a pixel, so a million points
redraw quickly and a one-step spike still shows.
"""

from __future__ import annotations

import os
import re
import time
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer, QByteArray, QEvent, QIODevice, QObject, QRectF, Qt, QTimer,
)
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
    QMenu, QMessageBox, QPushButton, QSizePolicy, QSlider, QStackedWidget, QToolButton,
    QVBoxLayout, QWidget, QWidgetAction,
)

from .run_curves import X_AXES, RunCurves, Series, Smoother

HINT = "Press Train (F5) to start a run; each task's loss curve appears here."
READOUT_HINT = "Move the mouse over a plot to read the values at that point."
X_LABELS = {"step": "step", "epoch": "epoch", "wall": "wall time (s)"}
X_CHOICES = {"step": "Step", "epoch": "Epoch", "wall": "Wall time"}
SMOOTHING_MAX = 0.99
SLIDER_STEPS = 99  # the slider's integer positions: smoothing = position / 100
DEFAULT_SMOOTHING = 0.6

BACKGROUND = "#FFFFFF"
FOREGROUND = "#3A3F47"
MARK_COLOR = "#5B6B7F"
CURSOR_COLOR = "#8A94A3"
GRID_COLOR = "#E6E9EE"
DOWNSAMPLE_FACTOR = 2.0  # points per pixel column kept by auto downsampling
FAINT_ALPHA = 45  # the raw curve under a smoothed one
OVERLAY_ALPHA = 140  # an earlier run's curves

# A redraw (refresh() and the paint after it) of huge series can take longer
# than the timer's period. Past SLOW_REDRAW_MS, the next redraw waits so that
# drawing takes at most REDRAW_SHARE of the GUI thread: a run of a million
# steps is redrawn a few times a second and the window stays responsive.
SLOW_REDRAW_MS = 16.0
REDRAW_SHARE = 0.3
# Data arrive at about 30 Hz; the plots are redrawn at most this often while
# a run streams. A redraw costs ~10 ms of the GUI thread on 2 cores that
# training keeps busy: 10 Hz still reads as live and leaves the event loop
# (and the cores) to the user and to training (docs/benchmarks.md).
MIN_REDRAW_MS = 100.0

TASK, TOTAL, PENALTY, WEIGHTS, COSINE = "task", "total", "penalty", "weights", "cosine"


def _color(hex_color: str, alpha: int = 255) -> QColor:
    color = QColor(hex_color or FOREGROUND)
    color.setAlpha(alpha)
    return color


def _mix(a: str, b: str) -> str:
    """The colour of a pair of tasks: halfway between theirs."""
    ca, cb = QColor(a or FOREGROUND), QColor(b or FOREGROUND)
    return QColor((ca.red() + cb.red()) // 2, (ca.green() + cb.green()) // 2,
                  (ca.blue() + cb.blue()) // 2).name()


def _number(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.4g}"


class _Scaled:
    """step / steps_per_epoch of a growing series, the epoch axis. Only new
    points are divided, into a buffer that doubles, so the plot gets a view."""

    def __init__(self) -> None:
        self._buf = np.empty(0)
        self.n = 0
        self.divisor = 0.0

    def of(self, steps: np.ndarray, divisor: float) -> np.ndarray:
        if divisor != self.divisor or self.n > len(steps):
            # Fresh, not rewritten: the plot may hold a view of the old one.
            self._buf, self.n, self.divisor = np.empty(0), 0, divisor
        if self.n < len(steps):
            end = len(steps)
            if end > len(self._buf):
                grown = np.empty(max(2 * len(self._buf), end, 1024))
                grown[:self.n] = self._buf[:self.n]
                self._buf = grown
            self._buf[self.n:end] = steps[self.n:end] / divisor
            self.n = end
        return self._buf[:len(steps)]


class Curve:
    """One series of one run in one plot. `main` is the line to read: the
    smoothed values while smoothing is on (for a curve that smooths), else
    the raw ones. `faint` is the raw line under it while smoothing is on,
    for the current run only. setData is called only when the series grew
    or a setting changed."""

    def __init__(self, run: RunCurves, series: Series, color: str, *, smooths: bool,
                 overlay: bool = False, val: bool = False, steps: bool = False,
                 name: str | None = None) -> None:
        self.run, self.series, self.color = run, series, color
        self.smooths, self.overlay, self.val, self.steps = smooths, overlay, val, steps
        self.smoother = Smoother()
        self._epochs = _Scaled()
        self.drawn: tuple | None = None  # (points, axis, smoothing) of the last setData
        alpha = OVERLAY_ALPHA if overlay else 255
        # Widths above 1 px are stroked as polygons, which costs: 1.5 px for
        # the line to read, 1 px for raw curves (bench_plot_redraw.py).
        pen = pg.mkPen(_color(color, alpha), width=1.2 if overlay else 1.5,
                       style=Qt.PenStyle.DashLine if val else Qt.PenStyle.SolidLine)
        if overlay:
            # Longer dashes than a validation curve's, so the two do not mix.
            pen.setDashPattern([7, 4])
        options = dict(pen=pen, connect="finite", name=name)
        if steps:
            options.update(stepMode="right")  # a value holds until the next report
        if val:
            options.update(symbol="o", symbolSize=5 if overlay else 7,
                           symbolPen=pg.mkPen(_color(color, alpha)),
                           symbolBrush=None if overlay else pg.mkBrush(_color(color)))
        self.main = self._item(**options)
        self.faint = None
        if smooths and not overlay:
            self.faint = self._item(pen=pg.mkPen(_color(color, FAINT_ALPHA), width=1),
                                    connect="finite")
            self.faint.setZValue(-1)
            self.faint.hide()
        self._full_pen = pen
        self._raw_pen = QPen(pen)
        self._raw_pen.setWidthF(1.2 if overlay else 1.0)

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

    def draw(self, axis: str, smoothing: float) -> bool:
        """Hand the plot the series if it grew or a setting changed; say
        whether anything was handed."""
        smoothing = smoothing if self.smooths else 0.0
        held = self._held_until(axis)
        key = (len(self.series), axis, smoothing, held)
        if key == self.drawn:
            return False
        was_smooth = self.drawn is not None and self.drawn[2] > 0
        if self.drawn is None or was_smooth != (smoothing > 0):
            # Smoothing 0 shows the raw curve alone, thinner, in full colour.
            self.main.setPen(self._full_pen if smoothing > 0 or not self.smooths
                             else self._raw_pen)
            if self.faint is not None:
                self.faint.setVisible(smoothing > 0)
                if smoothing == 0:
                    self.faint.setData([], [])
        self.drawn = key
        if not len(self.series) and self.main.getOriginalDataset()[0] is None:
            return False  # nothing yet, nothing shown
        x, raw = self.x(axis), self.series.value
        if self.faint is not None and smoothing > 0:
            self.faint.setData(x, raw)
        y = self.smoothed(smoothing)
        if held is not None and len(x) and held > x[-1]:
            x, y = np.append(x, held), np.append(y, y[-1])  # a step curve: a few points
        self.main.setData(x, y)
        return True

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


class Plot:
    """One PlotItem and what is drawn in it: the current run's curves, the
    earlier runs' overlays by run, the marks and the hover cursor."""

    def __init__(self, key: str, kind: str, title: str, y_label: str, *, loss: bool,
                 always: bool) -> None:
        self.key, self.kind, self.loss, self.always = key, kind, loss, always
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
        self.legend = self.item.addLegend(offset=(-2, 2), labelTextSize="8pt",
                                          labelTextColor=FOREGROUND, horSpacing=4,
                                          verSpacing=-6,
                                          brush=pg.mkBrush(255, 255, 255, 170),
                                          pen=pg.mkPen("#D5DAE1"))
        self.legend.hide()
        self.curves: list[Curve] = []
        self.overlays: dict[int, list[Curve]] = {}  # id(run) -> its curves here
        self.marks: list[pg.InfiniteLine] = []
        self.zero_line: pg.InfiniteLine | None = None  # the cosine plot's
        self.cursor = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen(CURSOR_COLOR, width=1))
        self.cursor.setZValue(20)
        self.cursor.hide()
        self.item.addItem(self.cursor, ignoreBounds=True)

    def add(self, curve: Curve, overlay_of: RunCurves | None = None) -> None:
        for item in curve.items:
            self.item.addItem(item)
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


def _let_go(*containers) -> None:
    for container in containers:
        container.clear()


class _XExtent(pg.GraphicsObject):
    """Invisible; the total plot's auto range fits its x bounds too: from
    the first point to a round number at most 25 % past the last. So the x
    range changes some 36 times per decade of steps instead of at every
    refresh, and each change costs a redraw of every axis and a new
    downsampling of every curve of every plot (the ranges are linked):
    the paint after a refresh takes half as long."""

    def __init__(self) -> None:
        super().__init__()
        self.span: tuple[float, float] | None = None

    def set_span(self, first: float, last: float) -> None:
        if (first, last) != self.span:
            self.span = (first, last)
            self.informViewBoundsChanged()

    def dataBounds(self, axis, frac=1.0, orthoRange=None):
        return self.span if axis == 0 else None

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, *args) -> None:
        pass


class _Graphics(pg.GraphicsLayoutWidget):
    """Times its paints: what a redraw costs is refresh() and the paint after."""

    paint_ms = 0.0

    def paintEvent(self, event) -> None:
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_ms = (time.perf_counter() - start) * 1000


class _LeaveFilter(QObject):
    """Hides the cursor when the mouse leaves the plots."""

    def __init__(self, panel: PlotsPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.panel.hide_cursor()
        return False


class PlotsPanel(QWidget):
    """The plots of the current run, the earlier runs of the session to
    compare with, and the controls: smoothing, log scale, x axis, export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunCurves] = []
        self.current: RunCurves | None = None
        self.overlaid: list[RunCurves] = []  # earlier runs drawn under the current one
        self.plots: dict[str, Plot] = {}  # "task:<name>", "total", "penalty", ...
        self._curves: dict[tuple, Curve] = {}  # the current run's: (kind, name) -> curve
        self._marks_drawn = 0
        self._shown: tuple[str, ...] = ()  # keys of the plots in the grid, in order
        self._settings = 0  # grows with every setting change
        self._drawn_key: tuple | None = None
        self._next_redraw = 0.0  # perf_counter time before which a slow redraw waits
        self.refresh_ms = 0.0  # how long the last refresh() that drew took
        self._later = QTimer(self)  # the redraw a slow one postponed, if no refresh comes
        self._later.setSingleShot(True)
        self._later.timeout.connect(self.refresh)

        # --- controls ---------------------------------------------------------
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, SLIDER_STEPS)
        self.smoothing_slider.setFixedWidth(130)
        self.smoothing_slider.setToolTip(
            "Exponential moving average of the curves (bias-corrected); "
            "the raw curve stays visible, faint, under the smoothed one")
        self.smoothing_value = QLabel()
        self.smoothing_value.setMinimumWidth(self.smoothing_value.fontMetrics()
                                             .horizontalAdvance("0.00") + 4)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Logarithmic y axis for the loss plots")
        self.axis_combo = QComboBox()
        for axis in X_AXES:
            self.axis_combo.addItem(X_CHOICES[axis], axis)
        self.axis_combo.setToolTip("What the x axis of every plot counts")

        self.compare_list = QListWidget()
        self.compare_list.setMinimumWidth(280)
        self.compare_list.itemChanged.connect(self._compare_item_changed)
        self.compare_button = QToolButton()
        self.compare_button.setText("Compare runs")
        self.compare_button.setToolTip(
            "Draw earlier runs of this session under the current one (dashed, lighter)")
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.compare_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.compare_list)
        menu.addAction(action)
        self.compare_button.setMenu(menu)

        self.csv_button = QPushButton("Export CSV...")
        self.csv_button.setToolTip("Write every curve of the current run to a CSV file")
        self.csv_button.clicked.connect(self.export_csv_dialog)
        self.png_button = QPushButton("Export PNG...")
        self.png_button.setToolTip("Save the plots as a PNG image")
        self.png_button.clicked.connect(self.export_png_dialog)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_value)
        bar.addSpacing(8)
        bar.addWidget(self.log_check)
        bar.addSpacing(8)
        bar.addWidget(QLabel("X axis"))
        bar.addWidget(self.axis_combo)
        bar.addSpacing(8)
        bar.addWidget(self.compare_button)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.png_button)

        # --- plots, or the hint before any run --------------------------------
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {MARK_COLOR}; font-size: 11pt;")

        self.graphics = _Graphics()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(4)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        # pyqtgraph gives every plot parentless menus, owned by the Python
        # plot item. When Qt deletes the panel, let go of the items (ours and
        # the layout's) so that their menus go too, even while something
        # still holds the panel.
        grid = self.graphics.ci
        self.destroyed.connect(partial(_let_go, self.plots, self._curves, grid.items,
                                       grid.rows, grid.itemBorders))
        self.graphics.viewport().installEventFilter(_LeaveFilter(self))
        self.readout = QLabel(READOUT_HINT)
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setStyleSheet(f"color: {FOREGROUND}; padding: 2px 4px;")
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.graphics, 1)
        column.addWidget(self.readout)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing_value.setText(f"{self.smoothing:.2f}")
        self.smoothing_slider.valueChanged.connect(self._slider_moved)
        self.log_check.toggled.connect(self.set_log_scale)
        self.axis_combo.currentIndexChanged.connect(
            lambda _: self.set_x_axis(self.axis_combo.currentData()))
        self._update_controls()

    # --- settings -----------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        return min(self.smoothing_slider.value() / 100, SMOOTHING_MAX)

    @property
    def log_scale(self) -> bool:
        return self.log_check.isChecked()

    @property
    def x_axis(self) -> str:
        return self.axis_combo.currentData()

    def set_smoothing(self, value: float) -> None:
        """0 (raw) to 0.99; moves the slider, which redraws."""
        self.smoothing_slider.setValue(round(min(max(value, 0.0), SMOOTHING_MAX) * 100))

    def _slider_moved(self, _position: int) -> None:
        self.smoothing_value.setText(f"{self.smoothing:.2f}")
        self._setting_changed()

    def set_log_scale(self, on: bool) -> None:
        """Log y axis on the loss plots (tasks, total, penalty); weights and
        cosine keep a linear axis. pyqtgraph draws non-positive values as gaps."""
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)  # comes back here through toggled
            return
        for plot in self.plots.values():
            if plot.loss:
                plot.item.setLogMode(x=False, y=on)
        self._link_x()  # pyqtgraph's log switch turns every auto range on
        self._setting_changed()

    def set_x_axis(self, axis: str) -> None:
        """"step", "epoch" or "wall": every plot, mark and the read-out follow."""
        if axis not in X_AXES:
            raise ValueError(f"x axis must be one of {X_AXES}, got {axis!r}")
        if self.axis_combo.currentData() != axis:
            self.axis_combo.setCurrentIndex(X_AXES.index(axis))  # comes back here
            return
        for plot in self.plots.values():
            plot.item.setLabel("bottom", X_LABELS[axis], color=FOREGROUND)
        self._place_marks()
        self.hide_cursor()
        self._setting_changed()
        if self.plots:
            self.plots[TOTAL].item.enableAutoRange(axis="x")  # the old range means nothing

    def _setting_changed(self) -> None:
        self._settings += 1
        self._next_redraw = 0.0  # the user is waiting for this one
        self.refresh()

    # --- runs ---------------------------------------------------------------------

    def show_run(self, curves: RunCurves) -> None:
        """Make `curves` the current run; the earlier runs stay in `runs`,
        ready to be overlaid, and those already overlaid stay so."""
        if curves not in self.runs:
            self.runs.append(curves)
        if curves in self.overlaid:
            self.overlaid.remove(curves)
        self.current = curves
        self._build_plots(curves)
        for run in self.overlaid:
            self._add_overlay(run)
        self._update_compare_list()
        self._update_controls()
        self.stack.setCurrentIndex(1)
        self.readout.setText(READOUT_HINT)
        self._drawn_key = None
        self._next_redraw = 0.0
        self.refresh()

    def set_overlay(self, run: RunCurves, on: bool) -> None:
        """Draw an earlier run under the current one (dashed, lighter), or stop."""
        if run is self.current or run not in self.runs or (run in self.overlaid) == on:
            return
        if on:
            self.overlaid.append(run)
            self._add_overlay(run)
        else:
            self.overlaid.remove(run)
            for plot in self.plots.values():
                plot.remove_overlay(run)
        self._sync_compare_item(run)
        self._setting_changed()

    def _compare_item_changed(self, item: QListWidgetItem) -> None:
        run = self.runs[item.data(Qt.ItemDataRole.UserRole)]
        self.set_overlay(run, item.checkState() == Qt.CheckState.Checked)

    def _update_compare_list(self) -> None:
        self.compare_list.blockSignals(True)
        self.compare_list.clear()
        for index, run in enumerate(self.runs):
            if run is self.current:
                continue
            item = QListWidgetItem(run.label)
            item.setData(Qt.ItemDataRole.UserRole, index)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run in self.overlaid
                               else Qt.CheckState.Unchecked)
            item.setToolTip(f"{run.label}: {run.status}, {run.step} steps")
            self.compare_list.addItem(item)
        self.compare_list.blockSignals(False)
        rows = max(1, min(self.compare_list.count(), 10))
        row_height = max(self.compare_list.sizeHintForRow(0), 18)
        self.compare_list.setFixedHeight(rows * row_height + 6)

    def _sync_compare_item(self, run: RunCurves) -> None:
        index = self.runs.index(run)
        for row in range(self.compare_list.count()):
            item = self.compare_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == index:
                state = Qt.CheckState.Checked if run in self.overlaid else Qt.CheckState.Unchecked
                if item.checkState() != state:
                    self.compare_list.blockSignals(True)
                    item.setCheckState(state)
                    self.compare_list.blockSignals(False)

    def _update_controls(self) -> None:
        has_run = self.current is not None
        self.csv_button.setEnabled(has_run)
        self.png_button.setEnabled(has_run)
        earlier = len(self.runs) - (1 if has_run else 0)
        self.compare_button.setEnabled(earlier > 0)
        self.compare_button.setText(f"Compare runs ({earlier})" if earlier else "Compare runs")

    @property
    def shown_plots(self) -> tuple[str, ...]:
        """The keys of the plots in the grid, in order: "task:<name>" for each
        task, then "total", "penalty", "weights", "cosine" when they show."""
        return self._shown

    def curve(self, kind: str, name: str | tuple[str, str] = "") -> Curve | None:
        """The current run's curve: kind "train", "val" or "weight" with a
        task name, "total" or "penalty", or "cosine" with a (task, task) pair."""
        return self._curves.get((kind, name))

    # --- building the plots -----------------------------------------------------

    def _build_plots(self, run: RunCurves) -> None:
        for key in self._shown:
            self.graphics.ci.removeItem(self.plots[key].item)
        self._shown = ()
        self.plots.clear()
        self._curves.clear()
        self._marks_drawn = 0

        for task in run.tasks:
            color = run.colors.get(task, FOREGROUND)
            plot = self._new_plot(f"task:{task}", TASK,
                                  f"<span style='color:{color}'>&#9632;</span> {task} loss "
                                  f"<span style='color:#8A94A3'>(train; validation "
                                  f"&#9679; dashed)</span>", "loss", loss=True, always=True)
            self._add_curve(plot, ("train", task), run.train[task], color, smooths=True)
            self._add_curve(plot, ("val", task), run.val[task], color, smooths=False, val=True)
        plot = self._new_plot(TOTAL, TOTAL, "Weighted total loss", "loss", loss=True,
                              always=True)
        self._add_curve(plot, ("total", ""), run.total, FOREGROUND, smooths=True)
        plot = self._new_plot(PENALTY, PENALTY, "Soft-sharing penalty", "penalty",
                              loss=True, always=False)
        self._add_curve(plot, ("penalty", ""), run.penalty, MARK_COLOR, smooths=True)
        plot = self._new_plot(WEIGHTS, WEIGHTS, "Loss weights", "weight", loss=False,
                              always=False)
        for task in run.tasks:
            # No legend: the colours are the tasks', as in the task plots' titles.
            self._add_curve(plot, ("weight", task), run.weights[task],
                            run.colors.get(task, FOREGROUND), smooths=False, steps=True)
        plot = self._new_plot(COSINE, COSINE, "Gradient cosine on the shared trunk",
                              "cosine", loss=False, always=False)
        plot.item.setToolTip("Cosine similarity of two tasks' gradients on the shared "
                             "layers. Below 0 the tasks pull the trunk in opposite "
                             "directions.")
        zero = pg.InfiniteLine(pos=0, angle=0, movable=False,
                               pen=pg.mkPen(FOREGROUND, width=1),
                               label="below 0: tasks pull the trunk apart",
                               labelOpts=dict(position=0.02, anchors=[(0, 0), (0, 0)],
                                              color=FOREGROUND,
                                              fill=pg.mkBrush(255, 255, 255, 190)))
        plot.zero_line = zero
        plot.item.addItem(zero)  # not ignoreBounds: the y range always shows 0
        self._sync_cosine(run)

        master = self.plots[TOTAL].item
        self._extent = _XExtent()
        master.addItem(self._extent)
        for plot in self.plots.values():
            if plot.item is not master:
                plot.item.setXLink(master)
            plot.item.setLogMode(x=False, y=plot.loss and self.log_scale)
            plot.item.setLabel("bottom", X_LABELS[self.x_axis], color=FOREGROUND)
        self._link_x()

    def _link_x(self) -> None:
        """The total plot spans the whole run: its x range, fitted to its
        data, is every plot's. A plot that fitted its own would push its
        range to all the others and stop the total's fitting."""
        for key, plot in self.plots.items():
            plot.item.enableAutoRange(x=key == TOTAL)

    def _new_plot(self, key: str, kind: str, title: str, y_label: str, *, loss: bool,
                  always: bool) -> Plot:
        plot = Plot(key, kind, title, y_label, loss=loss, always=always)
        self.plots[key] = plot
        return plot

    def _add_curve(self, plot: Plot, key: tuple, series: Series, color: str, *,
                   smooths: bool, val: bool = False, steps: bool = False,
                   name: str | None = None) -> None:
        curve = Curve(self.current, series, color, smooths=smooths, val=val, steps=steps,
                      name=name)
        plot.add(curve)
        self._curves[key] = curve

    def _sync_cosine(self, run: RunCurves) -> None:
        """A pair's series appears with its first report: add its line then."""
        plot = self.plots[COSINE]
        for pair, series in run.cosine.items():
            if ("cosine", pair) not in self._curves:
                color = _mix(run.colors.get(pair[0], ""), run.colors.get(pair[1], ""))
                self._add_curve(plot, ("cosine", pair), series, color, smooths=True,
                                name=f"{pair[0]} · {pair[1]}")

    def _add_overlay(self, run: RunCurves) -> None:
        """The earlier run's curves in the plots the current run has; its
        label goes to each plot's legend once."""
        current = self.current
        # (plot key, series, colour, smooths, validation)
        entries: list[tuple[str, Series, str, bool, bool]] = []
        for task in run.tasks:
            if task in current.tasks:
                color = current.colors.get(task) or run.colors.get(task, FOREGROUND)
                entries.append((f"task:{task}", run.train[task], color, True, False))
                entries.append((f"task:{task}", run.val[task], color, False, True))
                entries.append((WEIGHTS, run.weights[task], color, False, False))
        entries.append((TOTAL, run.total, FOREGROUND, True, False))
        entries.append((PENALTY, run.penalty, MARK_COLOR, True, False))
        for (a, b), series in run.cosine.items():
            if a in current.tasks and b in current.tasks:
                color = _mix(current.colors.get(a, ""), current.colors.get(b, ""))
                entries.append((COSINE, series, color, True, False))
        named: set[str] = set()
        for key, series, color, smooths, val in entries:
            if not len(series):
                continue
            name = None if val or key in named else run.label
            named.add(key)
            curve = Curve(run, series, color, smooths=smooths, overlay=True, val=val,
                          steps=key == WEIGHTS, name=name)
            curve.main.setToolTip(run.label)
            self.plots[key].add(curve, overlay_of=run)  # takes the plot's log mode

    # --- drawing ------------------------------------------------------------------

    def refresh(self) -> None:
        """Draw what changed since the last call; a no-op when no run moved
        and no setting changed."""
        run = self.current
        if run is None:
            return
        key = (self._settings, run.version, tuple(r.version for r in self.overlaid))
        if key == self._drawn_key:
            return
        start = time.perf_counter()
        if start < self._next_redraw:
            # A huge run: the last redraw was slow, let the window breathe.
            # The timer may stop (the run ended): the redraw is owed anyway.
            if not self._later.isActive():
                self._later.start(max(1, int((self._next_redraw - start) * 1000) + 1))
            return
        if len(run.cosine) != sum(1 for k in self._curves if k[0] == "cosine"):
            self._sync_cosine(run)
        axis, smoothing = self.x_axis, self.smoothing
        for plot in self.plots.values():
            for curve in plot.all_curves():
                curve.draw(axis, smoothing)
        if len(run.marks) > self._marks_drawn:
            self._add_marks(run)
        self._layout()
        self._drawn_key = key
        self._follow_x()
        self.refresh_ms = (time.perf_counter() - start) * 1000
        cost = self.refresh_ms + self.graphics.paint_ms  # the paint is the last one's
        wait = cost / REDRAW_SHARE if cost > SLOW_REDRAW_MS else 0.0
        if run.running:
            wait = max(wait, MIN_REDRAW_MS)
        self._next_redraw = start + wait / 1000

    def _follow_x(self) -> None:
        """Stretch the x range to a round number past the last point (see
        _XExtent), on the total plot, whose range every plot shares."""
        curve = self._curves[("total", "")]
        xs = curve.x(self.x_axis)
        if not len(xs):
            return
        first, last = float(xs[0]), float(xs[-1])
        span = last - first
        if span > 0:
            unit = 10 ** np.floor(np.log10(span)) / 4
            last = first + np.ceil(span / unit) * unit
        self._extent.set_span(first, last)

    def _visible_keys(self) -> tuple[str, ...]:
        run = self.current
        keys = []
        for key, plot in self.plots.items():
            if plot.kind == PENALTY:
                shown = run.mode == "soft_sharing"
            elif plot.kind == COSINE:
                # Known before the first report, so the grid is laid out once
                # (a relayout mid-run costs a long stall).
                shown = plot.has_data() or (len(run.tasks) > 1 and run.mode in ("joint",
                                                                              "alternating"))
            else:
                shown = plot.always or plot.has_data()
            if shown:
                keys.append(key)
        return tuple(keys)

    def _layout(self) -> None:
        """Put the plots that have something to show in the grid: 2 columns
        up to 4 plots, 3 up to 9, then 4."""
        keys = self._visible_keys()
        if keys == self._shown:
            return
        layout = self.graphics.ci
        for key in self._shown:
            layout.removeItem(self.plots[key].item)  # and from the scene
        columns = 2 if len(keys) <= 4 else 3 if len(keys) <= 9 else 4
        for i, key in enumerate(keys):
            layout.addItem(self.plots[key].item, row=i // columns, col=i % columns)
        self._shown = keys

    def _add_marks(self, run: RunCurves) -> None:
        """Each new mark once, as a dashed vertical line on every plot, with
        its text on the weights plot and as every line's tooltip."""
        for index in range(self._marks_drawn, len(run.marks)):
            mark = run.marks[index]
            tip = f"Step {mark.step}: {mark.text}"
            for plot in self.plots.values():
                labelled = plot.kind == WEIGHTS
                line = pg.InfiniteLine(
                    pos=run.mark_x(mark, self.x_axis), angle=90, movable=False,
                    pen=pg.mkPen(MARK_COLOR, width=1, style=Qt.PenStyle.DashLine),
                    label=mark.text if labelled else None,
                    labelOpts=dict(position=0.6 - 0.1 * (index % 4), color=MARK_COLOR,
                                   fill=pg.mkBrush(255, 255, 255, 200),
                                   anchors=[(0, 0), (0, 0)]) if labelled else None)
                line.mark = mark
                line.setToolTip(tip)
                line.setZValue(10)
                plot.item.addItem(line, ignoreBounds=True)
                plot.marks.append(line)
        self._marks_drawn = len(run.marks)

    def _place_marks(self) -> None:
        if self.current is None:
            return
        for plot in self.plots.values():
            for line in plot.marks:
                line.setPos(self.current.mark_x(line.mark, self.x_axis))

    # --- hover read-out -----------------------------------------------------------

    def _mouse_moved(self, pos) -> None:
        for key in self._shown:
            view = self.plots[key].item.vb
            if view.sceneBoundingRect().contains(pos):
                self.show_cursor(view.mapSceneToView(pos).x())
                return

    def show_cursor(self, x: float) -> None:
        """The vertical cursor at x on every plot, and the read-out under them."""
        for plot in self.plots.values():
            plot.cursor.setPos(x)
            plot.cursor.show()
        self.readout.setText(self.readout_at(x))

    def hide_cursor(self) -> None:
        for plot in self.plots.values():
            plot.cursor.hide()

    def readout_at(self, x: float) -> str:
        """The current run's values at the points nearest to x (on the
        current x axis): each task's train loss (smoothed, then raw) and
        nearest validation loss, the total, the penalty, weights, cosines."""
        run = self.current
        if run is None:
            return ""
        axis, smoothing = self.x_axis, self.smoothing
        if axis == "step":
            parts = [f"step {x:.0f}"]
        elif axis == "epoch":
            parts = [f"epoch {x:.2f}"]
        else:
            parts = [f"{x:.1f} s"]

        def value(key: tuple) -> str | None:
            curve = self._curves.get(key)
            i = None if curve is None else curve.nearest(x, axis)
            if i is None:
                return None
            raw = curve.series.value[i]
            if curve.smooths and smoothing > 0:
                return f"{_number(curve.smoothed(smoothing)[i])} (raw {_number(raw)})"
            return _number(raw)

        for task in run.tasks:
            train, val = value(("train", task)), value(("val", task))
            if train is not None or val is not None:
                text = f"{task}: {train or 'n/a'}"
                parts.append(text + (f", val {val}" if val is not None else ""))
        total = value(("total", ""))
        if total is not None:
            parts.append(f"total: {total}")
        penalty = value(("penalty", ""))
        if penalty is not None:
            parts.append(f"penalty: {penalty}")
        weights = [(t, value(("weight", t))) for t in run.tasks]
        weights = [f"{t} {v}" for t, v in weights if v is not None]
        if weights:
            parts.append("weights: " + ", ".join(weights))
        cosines = [(pair, value(("cosine", pair))) for pair in run.cosine]
        cosines = [f"{a}·{b} {v}" for (a, b), v in cosines if v is not None]
        if cosines:
            parts.append("cosine: " + ", ".join(cosines))
        return "    ".join(parts)

    # --- export -------------------------------------------------------------------

    def export_csv(self, path: str | os.PathLike) -> None:
        """Every curve of the current run (RunCurves.to_csv); raises OSError."""
        if self.current is None:
            raise OSError("there is no run to export")
        self.current.to_csv(Path(path))

    def export_png(self, path: str | os.PathLike) -> None:
        """The plots as shown, as a PNG image; raises OSError."""
        if self.current is None:
            raise OSError("there is no run to export")
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.graphics.grab().save(buffer, "PNG"):
            raise OSError("the plots could not be encoded as PNG")
        buffer.close()
        # Python writes the file, so a failure says why (Qt's save only says no).
        Path(path).write_bytes(bytes(data))

    def export_csv_dialog(self) -> None:
        self._export_dialog("Export curves as CSV", "csv", "CSV files (*.csv)",
                            self.export_csv)

    def export_png_dialog(self) -> None:
        self._export_dialog("Export plots as PNG", "png", "PNG images (*.png)",
                            self.export_png)

    def _export_dialog(self, title: str, suffix: str, filters: str, write) -> None:
        if self.current is None:
            return
        name = re.sub(r"[^A-Za-z0-9]+", "_", self.current.label).strip("_").lower() or "run"
        start = os.path.join(self.current.folder or os.getcwd(), f"{name}.{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        if not path:
            return
        if not Path(path).suffix:
            path += "." + suffix
        try:
            write(path)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed",
                                f"Could not write {path}:\n{exc.strerror or exc}")
