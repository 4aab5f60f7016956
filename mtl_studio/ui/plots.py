"""The live training plots: an overview of every task's loss relative to its
start, one plot per task (train loss per step, validation loss per epoch),
the weighted total, the soft-sharing penalty, the loss weights, the
gradient cosine between tasks and the task affinity heat map, in a grid
that reflows to the width it has and scrolls when the plots would be too
small to read.

The window's timer calls refresh() ten times a second while a run trains.
Each plot is its own small view; while a run streams, the plots are
redrawn within a budget of the GUI thread's time (DRAW_SHARE), and the
redraws are spread over the timer's calls, a few plots at a time, so no
call blocks the window for long. A plot out of view (scrolled away, or the
Network tab in front) is not redrawn until it shows. Only the series that grew are handed over
(views of the RunCurves buffers); pyqtgraph's peak downsampling keeps the
min and the max of every block of points narrower than a pixel, so a
million points redraw quickly and a one-step spike still shows.
"""

from __future__ import annotations

import math
import os
import re
import time
from functools import partial
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QObject, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from .affinity_map import AffinityPlot
from .plot_grid import PlotGrid
from .plot_items import (
    COSINE,
    FOREGROUND,
    MARK_COLOR,
    OVERVIEW,
    PENALTY,
    TASK,
    TOTAL,
    WEIGHTS,
    Curve,
    Plot,
    mix,
)
from .plot_ranges import x_end
from .readout import AFFINITY, affinity_text, number, readout_text
from .run_controller import DRAIN_MS
from .run_curves import X_AXES, RunCurves, Series

HINT = "Press Train (F5) to start a run; each task's loss curve appears here."
READOUT_HINT = "Move the mouse over a plot to read the values at that point."
X_LABELS = {"step": "step", "epoch": "epoch", "wall": "wall time (s)"}
X_CHOICES = {"step": "Step", "epoch": "Epoch", "wall": "Wall time"}
SMOOTHING_MAX = 0.99
SLIDER_STEPS = 99  # the slider's integer positions: smoothing = position / 100
DEFAULT_SMOOTHING = 0.6
READOUT_LINES = 3  # the read-out's fixed height: its text never moves the plots
COSINE_LEGEND_PAIRS = 6  # beyond this many pairs, the cosine plot has no legend
LEGEND_ROWS = 4  # the overview's legend grows sideways past this many tasks

# While a run streams, redrawing the plots may take at most DRAW_SHARE of
# one core: each plot's redraw (its curves handed over, then its paint) is
# timed, and a plot in view is redrawn once per period, the sum of their
# costs divided by DRAW_SHARE, but never more often than every
# MIN_REDRAW_MS nor less often than every MAX_REDRAW_MS. The plots take
# turns over the controller's drains (DRAIN_MS), a few per drain, so that no
# call blocks the window for long. Why so small a share: training keeps
# every core busy, and whatever the window's thread runs delays one of
# training's threads, which the others then wait for; the window's speed
# against headless training was 1 minus the GUI thread's share of a core
# (docs/benchmarks.md). A two-task run redraws each plot about once a
# second on two busy cores; a run of a million steps every two seconds.
DRAW_SHARE = 0.02
# What a redraw costs the GUI thread in all, per millisecond timed: the
# copy to the screen, the event handling and bookkeeping around it are not
# in the timed parts (measured: GUI thread CPU with and without the plots).
UNTIMED = 3.0
MIN_REDRAW_MS = 100.0
MAX_REDRAW_MS = 2000.0
# The plots that mark the best epoch (a grey dashed line, labelled on the
# task plots; the overview's legend is where a label would go).
BEST_PLOTS = (TASK, OVERVIEW)


def _let_go(*containers) -> None:
    for container in containers:
        container.clear()


class _LeaveFilter(QObject):
    """Clears the cursor and the read-out when the mouse leaves a plot."""

    def __init__(self, panel: PlotsPanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.panel.clear_cursor()
        return False


class PlotsPanel(QWidget):
    """The plots of the current run, the earlier runs of the session to
    compare with, and the controls: smoothing, log scale, x axis, export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunCurves] = []
        self.current: RunCurves | None = None
        self.overlaid: list[RunCurves] = []  # earlier runs drawn under the current one
        self.plots: dict[str, Plot] = {}  # "overview", "task:<name>", "total", ...
        self._curves: dict[tuple, Curve] = {}  # the current run's: (kind, name) -> curve
        self._marks_drawn = 0
        self._x_span: tuple[float, float] | None = None  # the run's, every plot's
        self._x_by_user = False  # the user dragged or zoomed an x range
        self._shown: tuple[str, ...] = ()  # keys of the plots in the grid, in order
        self._settings = 0  # grows with every setting change
        self._data_key: tuple | None = None  # what the plots were last marked stale for
        self.refresh_ms = 0.0  # how long the last refresh() that drew took
        self.period_ms = MIN_REDRAW_MS  # how often a plot in view is redrawn while streaming
        self._later = QTimer(self)  # plots still due when no refresh comes (paused, ended)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self.refresh)
        self._leave = _LeaveFilter(self)

        # --- controls ---------------------------------------------------------
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, SLIDER_STEPS)
        self.smoothing_slider.setFixedWidth(110)
        self.smoothing_slider.setToolTip(
            "Exponential moving average of the curves (bias-corrected); "
            "the raw curve stays visible, faint, under the smoothed one"
        )
        self.smoothing_value = QLabel()
        self.smoothing_value.setMinimumWidth(
            self.smoothing_value.fontMetrics().horizontalAdvance("0.00") + 4
        )
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
            "Draw earlier runs of this session under the current one (dashed, lighter)"
        )
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.compare_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.compare_list)
        menu.addAction(action)
        self.compare_button.setMenu(menu)

        self.csv_button = QToolButton()
        self.csv_button.setText("Export CSV...")
        self.csv_button.setToolTip("Write every curve of the current run to a CSV file")
        self.csv_button.clicked.connect(self.export_csv_dialog)
        self.png_button = QToolButton()
        self.png_button.setText("Export PNG...")
        self.png_button.setToolTip("Save the plots as a PNG image")
        self.png_button.clicked.connect(self.export_png_dialog)

        # A tool bar, so that what does not fit a narrow window goes to its
        # overflow menu (>>) instead of widening the window.
        self.bar = QToolBar()
        self.bar.setIconSize(QSize(16, 16))
        self.bar.addWidget(QLabel(" Smoothing "))
        self.bar.addWidget(self.smoothing_slider)
        self.bar.addWidget(self.smoothing_value)
        self.bar.addSeparator()
        self.bar.addWidget(self.log_check)
        self.bar.addSeparator()
        self.bar.addWidget(QLabel("X axis "))
        self.bar.addWidget(self.axis_combo)
        self.bar.addSeparator()
        self.bar.addWidget(self.compare_button)
        self.bar.addWidget(self.csv_button)
        self.bar.addWidget(self.png_button)
        # The window adds its own actions here (give the plots the room).
        self.bar_actions_at = self.bar.addSeparator()

        # --- plots, or the hint before any run --------------------------------
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {MARK_COLOR}; font-size: 11pt;")

        self.grid = PlotGrid()
        self.grid.exposed.connect(self._exposed)
        # pyqtgraph gives every plot parentless menus, owned by the Python
        # plot item. When Qt deletes the panel, let go of the items so that
        # their menus go too, even while something still holds the panel.
        self.destroyed.connect(partial(_let_go, self.plots, self._curves, self.grid.widgets))
        self.readout = QLabel(READOUT_HINT)
        self.readout.setWordWrap(True)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.readout.setStyleSheet(f"color: {FOREGROUND}; padding: 2px 4px;")
        self.readout.setFixedHeight(self.readout.fontMetrics().lineSpacing() * READOUT_LINES + 6)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.grid, 1)
        column.addWidget(self.readout)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)

        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing_value.setText(f"{self.smoothing:.2f}")
        self.smoothing_slider.valueChanged.connect(self._slider_moved)
        self.log_check.toggled.connect(self.set_log_scale)
        self.axis_combo.currentIndexChanged.connect(
            lambda _: self.set_x_axis(self.axis_combo.currentData())
        )
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
        """Log y axis on the loss plots (overview, tasks, total, penalty);
        weights and cosine keep a linear axis. pyqtgraph draws non-positive
        values as gaps."""
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)  # comes back here through toggled
            return
        for plot in self.plots.values():
            plot.set_log(on)
        self._setting_changed()

    def set_x_axis(self, axis: str) -> None:
        """ "step", "epoch" or "wall": every plot, mark and the read-out follow."""
        if axis not in X_AXES:
            raise ValueError(f"x axis must be one of {X_AXES}, got {axis!r}")
        if self.axis_combo.currentData() != axis:
            self.axis_combo.setCurrentIndex(X_AXES.index(axis))  # comes back here
            return
        for plot in self._x_plots():
            plot.item.setLabel("bottom", X_LABELS[axis], color=FOREGROUND)
        self._place_marks()
        self.clear_cursor()
        self._x_span = None
        self._follow_data_x()  # a range on another axis means nothing here
        self._setting_changed()

    def _setting_changed(self) -> None:
        self._settings += 1
        self.refresh(now=True)  # the user is waiting for this one

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
        self._data_key = None
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
            item.setCheckState(
                Qt.CheckState.Checked if run in self.overlaid else Qt.CheckState.Unchecked
            )
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
        """The keys of the plots in the grid, in order: "overview" (two tasks
        or more), "task:<name>" for each task, then "total", "penalty",
        "weights", "cosine", "affinity" when they show."""
        return self._shown

    def curve(self, kind: str, name: str | tuple[str, str] = "") -> Curve | None:
        """The current run's curve: kind "train", "val", "ratio" or "weight"
        with a task name, "total" or "penalty", or "cosine" with a (task,
        task) pair."""
        return self._curves.get((kind, name))

    # --- building the plots -----------------------------------------------------

    def _build_plots(self, run: RunCurves) -> None:
        self.grid.set_widgets([])
        for plot in self.plots.values():
            plot.view.deleteLater()
        self._shown = ()
        self.plots.clear()
        self._curves.clear()
        self._marks_drawn = 0

        plot = self._new_plot(
            OVERVIEW,
            OVERVIEW,
            "All tasks: loss relative to its first value",
            "L / L(0)",
            loss=True,
            always=False,
        )
        plot.item.setToolTip(
            "Each task's training loss divided by its first value "
            "(L_i / L_i(0), the ratio GradNorm balances): tasks whose "
            "losses live on different scales on one axis. 0.1 means "
            "the loss fell tenfold."
        )
        for task in run.tasks:
            self._add_curve(
                plot,
                ("ratio", task),
                run.ratio[task],
                run.colors.get(task, FOREGROUND),
                smooths=True,
                faint=False,
                name=task,
            )
        # Many tasks: the names side by side, so the legend stays short.
        plot.legend.setColumnCount(max(1, math.ceil(len(run.tasks) / LEGEND_ROWS)))
        for task in run.tasks:
            color = run.colors.get(task, FOREGROUND)
            plot = self._new_plot(
                f"task:{task}",
                TASK,
                f"<span style='color:{color}'>&#9632;</span> {task} loss "
                f"<span style='color:#8A94A3'>(train; validation dashed)"
                f"</span>",
                "loss",
                loss=True,
                always=True,
            )
            self._add_curve(plot, ("train", task), run.train[task], color, smooths=True)
            self._add_curve(plot, ("val", task), run.val[task], color, smooths=False, val=True)
        plot = self._new_plot(TOTAL, TOTAL, "Weighted total loss", "loss", loss=True, always=True)
        self._add_curve(plot, ("total", ""), run.total, FOREGROUND, smooths=True)
        plot = self._new_plot(
            PENALTY, PENALTY, "Soft-sharing penalty", "penalty", loss=True, always=False
        )
        self._add_curve(plot, ("penalty", ""), run.penalty, MARK_COLOR, smooths=True)
        plot = self._new_plot(
            WEIGHTS, WEIGHTS, "Loss weights", "weight", loss=False, always=False, include=(0.0,)
        )
        for task in run.tasks:
            # No legend: the colours are the tasks', as in the task plots' titles.
            self._add_curve(
                plot,
                ("weight", task),
                run.weights[task],
                run.colors.get(task, FOREGROUND),
                smooths=False,
                steps=True,
            )
        plot = self._new_plot(
            COSINE,
            COSINE,
            "Gradient cosine on the shared trunk",
            "cosine",
            loss=False,
            always=False,
            include=(0.0,),
        )
        plot.item.setToolTip(
            "Cosine similarity of two tasks' gradients on the shared "
            "layers. Below 0 the tasks pull the trunk in opposite "
            "directions."
        )
        zero = pg.InfiniteLine(
            pos=0,
            angle=0,
            movable=False,
            pen=pg.mkPen(FOREGROUND, width=1),
            label="below 0: tasks pull the trunk apart",
            labelOpts=dict(
                position=0.02,
                anchors=[(0, 0), (0, 0)],
                color=FOREGROUND,
                fill=pg.mkBrush(255, 255, 255, 190),
            ),
        )
        plot.zero_line = zero
        plot.item.addItem(zero, ignoreBounds=True)  # the plot's range includes 0 itself
        self._sync_cosine(run)
        # The task affinity heat map (affinity_map.py): no x axis of steps.
        self._place_plot(AffinityPlot(AFFINITY))

        self._x_span = None
        for plot in self.plots.values():
            plot.view.scene().sigMouseMoved.connect(partial(self._mouse_moved, plot))
            plot.view.viewport().installEventFilter(self._leave)
        for plot in self._x_plots():
            plot.set_log(self.log_scale)
            plot.item.setLabel("bottom", X_LABELS[self.x_axis], color=FOREGROUND)
            plot.item.vb.sigRangeChangedManually.connect(partial(self._x_moved_by_user, plot))
            plot.item.vb.sigStateChanged.connect(partial(self._auto_x_asked, plot))
        self._follow_data_x()

    def _x_plots(self) -> list[Plot]:
        """The plots along the run's x axis: all but the affinity heat map."""
        return [p for p in self.plots.values() if p.kind != AFFINITY]

    # Every plot shows the same x range. Not through pyqtgraph's linked
    # views: a change of a linked range repaints every plot at once, a stall
    # of 40 to 90 ms on busy cores, a few times a run. Each plot takes the
    # run's span (_follow_x) at its own redraw instead, so a change spreads
    # over the plots' turns; what the user does to one plot's x range (drag,
    # wheel) goes to all at once, and the "A" (auto range) button of any
    # plot puts all of them back to following the run.

    def _follow_data_x(self) -> None:
        self._x_by_user = False
        for plot in self._x_plots():
            plot.item.enableAutoRange(x=True)  # from the extent: the run's span

    def _x_moved_by_user(self, moved: Plot, _mouse_enabled=None) -> None:
        x_range = moved.item.vb.viewRange()[0]
        self._x_by_user = True
        for plot in self._x_plots():
            if plot is not moved:
                plot.item.vb.setXRange(*x_range, padding=0)  # and its auto range off
        if moved.item.vb.autoRangeEnabled()[0]:
            moved.item.enableAutoRange(x=False)

    def _auto_x_asked(self, plot: Plot, _view=None) -> None:
        if self._x_by_user and plot.item.vb.autoRangeEnabled()[0]:
            self._follow_data_x()

    def _new_plot(
        self,
        key: str,
        kind: str,
        title: str,
        y_label: str,
        *,
        loss: bool,
        always: bool,
        include: tuple[float, ...] = (),
    ) -> Plot:
        return self._place_plot(
            Plot(key, kind, title, y_label, loss=loss, always=always, include=include)
        )

    def _place_plot(self, plot: Plot) -> Plot:
        plot.view.setParent(self.grid.host)  # Qt deletes it with the panel, shown or not
        plot.view.hide()
        self.plots[plot.key] = plot
        return plot

    def _add_curve(
        self,
        plot: Plot,
        key: tuple,
        series: Series,
        color: str,
        *,
        smooths: bool,
        val: bool = False,
        steps: bool = False,
        faint: bool = True,
        name: str | None = None,
    ) -> None:
        curve = Curve(
            self.current,
            series,
            color,
            smooths=smooths,
            val=val,
            steps=steps,
            faint=faint,
            name=name,
        )
        plot.add(curve)
        self._curves[key] = curve

    def _sync_cosine(self, run: RunCurves) -> None:
        """A pair's series appears with its first report: add its line then.
        A legend names the pairs while there are few; with many (8 tasks
        make 28) it would cover the plot, and each entry costs several ms
        to make: the read-out names the most opposed pairs instead."""
        plot = self.plots[COSINE]
        named = len(run.cosine) <= COSINE_LEGEND_PAIRS
        for pair, series in run.cosine.items():
            if ("cosine", pair) not in self._curves:
                color = mix(run.colors.get(pair[0], ""), run.colors.get(pair[1], ""))
                self._add_curve(
                    plot,
                    ("cosine", pair),
                    series,
                    color,
                    smooths=True,
                    faint=named,
                    name=f"{pair[0]} · {pair[1]}" if named else None,
                )
                plot.stale = True

    def _add_overlay(self, run: RunCurves) -> None:
        """The earlier run's curves in the plots the current run has; its
        label goes to each plot's legend once. The overview keeps to the
        current run: its lines are already one per task."""
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
                color = mix(current.colors.get(a, ""), current.colors.get(b, ""))
                entries.append((COSINE, series, color, True, False))
        named: set[str] = set()
        for key, series, color, smooths, val in entries:
            if not len(series):
                continue
            name = None if val or key in named else run.label
            named.add(key)
            curve = Curve(
                run,
                series,
                color,
                smooths=smooths,
                overlay=True,
                val=val,
                steps=key == WEIGHTS,
                name=name,
            )
            curve.main.setToolTip(run.label)
            self.plots[key].add(curve, overlay_of=run)  # takes the plot's log mode

    # --- drawing ------------------------------------------------------------------

    def refresh(self, now: bool = False, everything: bool = False) -> None:
        """Redraw what changed since the last call. While a run streams, a
        plot in view is redrawn once per period (DRAW_SHARE) and the plots
        due take turns, a few per call; plots out of view wait until they
        show. now=True redraws every stale plot in view at once (the user
        waits for it); everything=True every stale plot, in view or not (an
        export). A no-op when no run moved and no setting changed."""
        run = self.current
        if run is None:
            return
        key = (self._settings, run.version, tuple(r.version for r in self.overlaid))
        if key != self._data_key:
            self._data_key = key
            for plot in self.plots.values():
                plot.stale = True
            if len(run.cosine) != sum(1 for k in self._curves if k[0] == "cosine"):
                self._sync_cosine(run)
            if len(run.marks) > self._marks_drawn:
                self._add_marks(run)
            self._layout()
        start = time.perf_counter()
        shown = [self.plots[k] for k in self._shown]
        on_screen = [p for p in shown if self.grid.on_screen(p.view)]
        due = [p for p in (shown if everything else on_screen) if p.stale]
        if not due:
            return
        if run.running and not (now or everything):
            # The plots drawn longest ago first, as many per call as spreads
            # a redraw of every plot in view over the period.
            cost = sum(p.cost_ms for p in on_screen)
            self.period_ms = min(max(cost / DRAW_SHARE, MIN_REDRAW_MS), MAX_REDRAW_MS)
            ready = sorted(
                (p for p in due if (start - p.drawn_at) * 1000 >= self.period_ms),
                key=lambda p: p.drawn_at,
            )
            per_call = (
                max(1, math.ceil(len(on_screen) * DRAIN_MS / self.period_ms))
                if self.period_ms > DRAIN_MS
                else len(due)
            )
            if len(ready) > per_call or len(ready) < len(due):
                # The rest: at the next call, or when the first of them is due.
                waits = [
                    self.period_ms / 1000 - (start - p.drawn_at) for p in due if p not in ready
                ]
                self._redraw_later(DRAIN_MS / 1000 if len(ready) > per_call else min(waits))
            due = ready[:per_call]
        axis, smoothing = self.x_axis, self.smoothing
        self._follow_x()
        best = (run.best_x(axis), run.best_text, run.best_tip)
        for plot in due:
            began = time.thread_time()
            if plot.kind == AFFINITY:
                plot.draw_matrix(run)  # one small image, when a measurement came
            else:
                width = plot.width_px()
                for curve in plot.all_curves():
                    curve.draw(axis, smoothing, width)
                if plot.kind in BEST_PLOTS:
                    # Moved at the plot's own redraw: within the budget, and a
                    # plot out of view moves it when it shows.
                    plot.set_best(*best, labelled=plot.kind == TASK)
                plot.fit_y()
                if self._x_span is not None:
                    plot.extent.set(x=self._x_span)
            plot.stale = False
            plot.drawn_at = start
            # Its cost: this, and its last paint (the next comes after this call).
            plot.cost_ms = ((time.thread_time() - began) * 1000 + plot.view.paint_ms) * UNTIMED
        self.refresh_ms = (time.perf_counter() - start) * 1000

    def _redraw_later(self, seconds: float) -> None:
        """The timer may stop (the run paused or ended): what is due is owed
        anyway."""
        ms = max(0, math.ceil(seconds * 1000))
        if not self._later.isActive() or self._later.remainingTime() > ms:
            self._later.start(ms)

    def _exposed(self) -> None:
        """Scrolling or a resize showed plots that may not be drawn yet."""
        self.refresh(now=True)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._redraw_later(0)  # once the plots have their places

    def _follow_x(self) -> None:
        """The run's x span, shared by every plot: from the first point to a
        round number past the last, never past the run's last step
        (plot_ranges.x_end). Each plot takes it at its own redraw."""
        run = self.current
        xs = self._curves[("total", "")].x(self.x_axis)
        if len(xs):
            first, last = float(xs[0]), float(xs[-1])
        else:
            # A run read back from its folder may have no total (soft
            # sharing's penalty is not in history.csv): its task curves'.
            spans = [
                c.x(self.x_axis)
                for c in (self._curves.get(("train", t)) for t in run.tasks)
                if c and len(c.series)
            ]
            if not spans:
                return
            first = float(min(x[0] for x in spans))
            last = float(max(x[-1] for x in spans))
        cap = None
        if run.total_steps and self.x_axis in ("step", "epoch"):
            cap = (
                run.total_steps
                if self.x_axis == "step"
                else (run.total_steps / run.steps_per_epoch)
            )
        self._x_span = (first, x_end(first, last, cap))

    def _visible_keys(self) -> tuple[str, ...]:
        run = self.current
        keys = []
        for key, plot in self.plots.items():
            if plot.kind == OVERVIEW:
                shown = len(run.tasks) > 1
            elif plot.kind == PENALTY:
                shown = run.mode == "soft_sharing"
            elif plot.kind == AFFINITY:
                shown = run.affinity_count > 0
            elif plot.kind == COSINE:
                # Known before the first report, so the grid is laid out once
                # (a relayout mid-run costs a long stall).
                # A run read back from its folder expects none: history.csv
                # has no cosines (run_history.py), so no empty plot for them.
                shown = plot.has_data() or (
                    len(run.tasks) > 1 and bool(run.cosine) and run.mode in ("joint", "alternating")
                )
            else:
                shown = plot.always or plot.has_data()
            if shown:
                keys.append(key)
        return tuple(keys)

    def _layout(self) -> None:
        """Put the plots that have something to show in the grid, which
        finds their columns (plot_grid.PlotGrid)."""
        keys = self._visible_keys()
        if keys == self._shown:
            return
        self._shown = keys
        self.grid.set_widgets([self.plots[k].view for k in keys])

    def _add_marks(self, run: RunCurves) -> None:
        """Each new mark once, as a dashed vertical line on every plot, with
        its text on the weights plot and as every line's tooltip."""
        for index in range(self._marks_drawn, len(run.marks)):
            mark = run.marks[index]
            tip = f"Step {mark.step}: {mark.text}"
            for plot in self._x_plots():
                labelled = plot.kind == WEIGHTS
                line = pg.InfiniteLine(
                    pos=run.mark_x(mark, self.x_axis),
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(MARK_COLOR, width=1, style=Qt.PenStyle.DashLine),
                    label=mark.text if labelled else None,
                    labelOpts=dict(
                        position=0.6 - 0.1 * (index % 4),
                        color=MARK_COLOR,
                        fill=pg.mkBrush(255, 255, 255, 200),
                        anchors=[(0, 0), (0, 0)],
                    )
                    if labelled
                    else None,
                )
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

    def _mouse_moved(self, plot: Plot, pos) -> None:
        view = plot.item.vb
        if view.sceneBoundingRect().contains(pos) and plot.kind == AFFINITY:
            point = view.mapSceneToView(pos)
            self.hide_cursor()
            text = self.affinity_readout(point.x(), point.y())
            self.readout.setText(text or READOUT_HINT)
            self.readout.setToolTip(text)
        elif view.sceneBoundingRect().contains(pos):
            self.show_cursor(view.mapSceneToView(pos).x(), plot.key)
        else:
            self.clear_cursor()

    def show_cursor(self, x: float, key: str | None = None) -> None:
        """The vertical cursor at x on every plot, and under them the
        values of the plot `key` (every plot's when None) at x."""
        for plot in self._x_plots():
            plot.cursor.setPos(x)
            plot.cursor.show()
        text = self.readout_at(x, key)
        self.readout.setText(text)
        self.readout.setToolTip(text)

    def clear_cursor(self) -> None:
        """The mouse left the plots: no cursor, the read-out's hint back."""
        self.hide_cursor()
        self.readout.setText(READOUT_HINT)
        self.readout.setToolTip("")

    def hide_cursor(self) -> None:
        for plot in self.plots.values():
            plot.cursor.hide()

    def readout_at(self, x: float, key: str | None = None) -> str:
        """The current run's values at the points nearest to x (on the
        current x axis) in the plot `key`, or in every plot when None
        (the words: ui/readout.py)."""
        run = self.current
        if run is None:
            return ""
        axis, smoothing = self.x_axis, self.smoothing

        def value(curve_key: tuple, with_raw: bool) -> str | None:
            curve = self._curves.get(curve_key)
            i = None if curve is None else curve.nearest(x, axis)
            if i is None:
                return None
            raw = curve.series.value[i]
            if curve.smooths and smoothing > 0:
                smoothed = number(curve.smoothed(smoothing)[i])
                return f"{smoothed} (raw {number(raw)})" if with_raw else smoothed
            return number(raw)

        cosines = []
        if key is None or key == COSINE:
            for pair in run.cosine:
                curve = self._curves.get(("cosine", pair))
                i = None if curve is None else curve.nearest(x, axis)
                if i is not None:
                    cosines.append((curve.series.value[i], pair))
        return readout_text(run.tasks, x, axis, key, value, cosines)

    def affinity_readout(self, x: float, y: float) -> str:
        """The affinity heat map's cell at (x, y) in its view's coordinates
        (column x, row y): "a → b: +0.012 ...", or "" off the cells."""
        plot = self.plots.get(AFFINITY)
        run = self.current
        cell = None if plot is None or run is None else plot.cell_at(x, y)
        if cell is None:
            return ""
        i, j = cell
        last = run.affinity_last
        return affinity_text(
            plot.tasks[i],
            plot.tasks[j],
            float(plot.mean[i, j]),
            plot.count,
            None if last is None or last.shape != plot.mean.shape else float(last[i, j]),
        )

    # --- export -------------------------------------------------------------------

    def export_csv(self, path: str | os.PathLike) -> None:
        """Every curve of the current run (RunCurves.to_csv); raises OSError."""
        if self.current is None:
            raise OSError("there is no run to export")
        self.current.to_csv(Path(path))

    def export_png(self, path: str | os.PathLike) -> None:
        """Every plot, those scrolled out of view too, as a PNG image;
        raises OSError."""
        if self.current is None:
            raise OSError("there is no run to export")
        self.refresh(everything=True)
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.grid.host.grab().save(buffer, "PNG"):
            raise OSError("the plots could not be encoded as PNG")
        buffer.close()
        # Python writes the file, so a failure says why (Qt's save only says no).
        Path(path).write_bytes(bytes(data))

    def export_csv_dialog(self) -> None:
        self._export_dialog("Export curves as CSV", "csv", "CSV files (*.csv)", self.export_csv)

    def export_png_dialog(self) -> None:
        self._export_dialog("Export plots as PNG", "png", "PNG images (*.png)", self.export_png)

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
            QMessageBox.warning(
                self, "Export failed", f"Could not write {path}:\n{exc.strerror or exc}"
            )
