"""The training plots panel, fed synthetic training events (no TensorFlow)."""

import csv
import time
import warnings

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mtl_studio.training import events as ev
from mtl_studio.ui import plot_items
from mtl_studio.ui import plots as plots_module
from mtl_studio.ui.plot_grid import MIN_PLOT_HEIGHT, MIN_PLOT_WIDTH
from mtl_studio.ui.plots import HINT, READOUT_HINT, PlotsPanel
from mtl_studio.ui.run_curves import RunCurves, ema

COLORS = {"a": "#E69F00", "b": "#009E73", "c": "#CC79A7"}


@pytest.fixture(autouse=True)
def never_postpone(monkeypatch):
    """A slow machine must not make a redraw wait (the throttle has its own test)."""
    monkeypatch.setattr(plots_module, "DRAW_SHARE", float("inf"))
    monkeypatch.setattr(plots_module, "MIN_REDRAW_MS", 0.0)


@pytest.fixture
def panel(qtbot, no_leaked_widgets):
    p = PlotsPanel()
    qtbot.addWidget(p)
    # Wide and tall enough for every plot of a small run to be on screen:
    # plots out of view are not drawn until they show.
    p.resize(1200, 800)
    p.show()
    qtbot.waitExposed(p)
    p.set_smoothing(0)
    return p


def make_run(label="Run 1 (joint, fixed)", tasks=("a", "b"), mode="joint", steps_per_epoch=10):
    run = RunCurves(label, list(tasks), {t: COLORS[t] for t in tasks})
    run.add([ev.RunStarted(list(tasks), mode, "fixed", 100, steps_per_epoch, 10)])
    run.add([ev.Weights(0, {t: 1.0 for t in tasks})])
    return run


def feed(run, n, losses=None, penalty=None):
    """n more steps; losses: task -> values (default: decreasing, per task)."""
    start = run.step
    steps = np.arange(start + 1, start + n + 1)
    if losses is None:
        losses = {t: (i + 1) * 10.0 / steps for i, t in enumerate(run.tasks)}
    losses = {t: np.asarray(v, float) for t, v in losses.items()}
    total = np.nansum(np.vstack(list(losses.values())), axis=0)
    run.add([ev.StepLosses(steps, 1, losses, total, penalty=penalty, wall=steps * 0.25)])


def epoch_end(run, val):
    epoch = run.step // run.steps_per_epoch
    run.add(
        [ev.EpochEnd(epoch, run.step, {}, val), ev.Weights(run.step, {t: 1.0 for t in run.tasks})]
    )


def shown_data(item):
    """What the plot was given (before downsampling)."""
    x, y = item.getOriginalDataset()
    return (np.array([]), np.array([])) if x is None else (x, y)


def pen_color(item) -> str:
    return item.opts["pen"].color().name().upper()


# --- empty state and layout -----------------------------------------------------


def test_before_any_run_the_panel_shows_a_hint(panel):
    assert panel.stack.currentWidget() is panel.hint
    assert panel.hint.text() == HINT and "F5" in HINT
    assert panel.current is None and panel.runs == []
    assert not panel.csv_button.isEnabled() and not panel.png_button.isEnabled()
    assert not panel.compare_button.isEnabled()
    panel.refresh()  # no run: nothing to do, nothing breaks
    assert panel.readout_at(3.0) == ""


def test_a_plot_per_task_in_the_task_colour(panel):
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 30)
    epoch_end(run, {"a": 0.5, "b": 0.6, "c": 0.7})
    panel.refresh()
    assert panel.stack.currentIndex() == 1 and panel.current is run and panel.runs == [run]
    assert panel.shown_plots[:5] == ("overview", "task:a", "task:b", "task:c", "total")
    for task in ("a", "b", "c"):
        plot = panel.plots[f"task:{task}"]
        assert task in plot.item.titleLabel.text
        train, val = panel.curve("train", task), panel.curve("val", task)
        assert train.main in plot.item.listDataItems() and val.main in plot.item.listDataItems()
        assert pen_color(train.main) == COLORS[task]
        assert pen_color(val.main) == COLORS[task]
        assert val.main.opts["pen"].style() == Qt.PenStyle.DashLine
        assert val.main.opts["symbol"] == "o"
        assert len(shown_data(train.main)[1]) == len(run.train[task]) == 30
        assert len(shown_data(val.main)[1]) == len(run.val[task]) == 1
        assert plot.item.getAxis("left").labelText == "loss"
    assert len(shown_data(panel.curve("total").main)[0]) == len(run.total) == 30
    weights = panel.curve("weight", "b")
    assert pen_color(weights.main) == COLORS["b"]
    assert len(run.weights["b"]) == 2  # at steps 0 and 30
    assert weights.main.opts["stepMode"] == "right"
    x, y = shown_data(weights.main)
    assert x.tolist() == [0, 30] and y.tolist() == [1.0, 1.0]
    assert panel.plots["weights"].item.getAxis("left").labelText == "weight"


def test_one_task_has_no_overview_and_the_grid_follows_the_plots(panel):
    run = make_run(tasks=("a",))
    panel.show_run(run)
    feed(run, 5)
    panel.refresh()
    # One task: no overview to compare with, no pair, so no cosine plot.
    assert panel.shown_plots == ("task:a", "total", "weights")
    assert panel.grid.widgets == [panel.plots[k].view for k in panel.shown_plots]

    run3 = make_run("Run 2", tasks=("a", "b", "c"))
    panel.show_run(run3)
    feed(run3, 5)
    run3.add([ev.GradientCosine(5, {("a", "b"): 0.5})])
    panel.refresh()
    assert panel.shown_plots == (
        "overview",
        "task:a",
        "task:b",
        "task:c",
        "total",
        "weights",
        "cosine",
    )
    assert panel.grid.widgets == [panel.plots[k].view for k in panel.shown_plots]


def test_the_grid_reflows_its_columns_and_scrolls_rather_than_squeeze(panel, qtbot):
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 5)
    panel.refresh()
    grid = panel.grid
    for width, columns in [(1500, 4), (1200, 3), (800, 2), (500, 1)]:
        panel.resize(width, 700)
        qtbot.waitUntil(lambda columns=columns: grid.columns == columns, timeout=2000)
        views = [panel.plots[k].view for k in panel.shown_plots]
        qtbot.waitUntil(
            lambda views=views: all(v.height() >= MIN_PLOT_HEIGHT for v in views), timeout=2000
        )
        host = grid.host.rect()
        for i, view in enumerate(views):
            assert host.contains(view.geometry()), (width, i)  # reachable by scrolling
            assert view.height() >= MIN_PLOT_HEIGHT
            assert view.width() >= min(MIN_PLOT_WIDTH, grid.viewport().width() - 8)
            # Reading order: row by row.
            assert grid.grid.getItemPosition(grid.grid.indexOf(view))[:2] == divmod(i, columns)
        rows = -(-len(views) // columns)
        if rows * MIN_PLOT_HEIGHT > grid.viewport().height():
            assert grid.verticalScrollBar().maximum() > 0
        assert grid.horizontalScrollBar().maximum() == 0  # never sideways


def x_ranges(panel) -> dict:
    panel.grid.host.grab()  # paint: pyqtgraph fits auto ranges then
    return {
        key: tuple(round(v, 6) for v in panel.plots[key].item.vb.viewRange()[0])
        for key in panel.shown_plots
    }


def test_all_plots_share_the_x_range_and_the_users_zoom(panel):
    run = make_run()
    run.add([ev.RunStarted(["a", "b"], "joint", "fixed", 1000, 10, 100)])
    panel.show_run(run)
    feed(run, 40)
    panel.refresh()
    ranges = x_ranges(panel)
    assert len(set(ranges.values())) == 1, ranges  # one x range for every plot
    ((x0, x1),) = set(ranges.values())
    assert x0 <= 1 and x1 >= 40
    # Not through pyqtgraph's links: a change would repaint every plot at once.
    assert all(p.item.vb.linkedView(pg.ViewBox.XAxis) is None for p in panel.plots.values())

    # The user drags or zooms one plot's x range: every plot follows.
    view = panel.plots["task:b"].item.vb
    view.setXRange(10, 20, padding=0)
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])  # as a drag does
    feed(run, 40)
    panel.refresh()
    assert set(x_ranges(panel).values()) == {(10.0, 20.0)}  # the run does not take it back
    # "A" on any plot: all follow the run again.
    panel.plots["weights"].item.vb.enableAutoRange(x=True)
    ranges = x_ranges(panel)
    assert len(set(ranges.values())) == 1 and ranges["total"][1] >= 80


# --- refresh only draws what changed ---------------------------------------------


def test_refresh_without_new_data_does_not_set_data(panel, monkeypatch):
    run = make_run()
    panel.show_run(run)
    feed(run, 20)
    panel.refresh()
    calls = []
    original = pg.PlotDataItem.setData

    def counting(item, *args, **kwargs):
        calls.append(item)
        return original(item, *args, **kwargs)

    monkeypatch.setattr(pg.PlotDataItem, "setData", counting)
    panel.refresh()
    panel.refresh()
    assert calls == []

    # Only the series that grew are handed over again: the weights here.
    run.add([ev.Weights(20, {"a": 0.5, "b": 1.0})])
    panel.refresh()
    assert set(calls) == {panel.curve("weight", "a").main, panel.curve("weight", "b").main}

    calls.clear()
    feed(run, 5)
    panel.refresh()
    grown = {
        panel.curve(k, n).main
        for k, n in [("train", "a"), ("train", "b"), ("total", ""), ("ratio", "a"), ("ratio", "b")]
    }
    # A weight holds until the last step: its line reaches it.
    grown |= {panel.curve("weight", "a").main, panel.curve("weight", "b").main}
    assert set(calls) == grown
    assert panel.curve("val", "a").main not in calls


def test_curve_lengths_follow_the_series_in_alternating_mode(panel):
    run = make_run(mode="alternating")
    panel.show_run(run)
    feed(run, 6, {"a": [1, np.nan, 3, np.nan, 5, np.nan], "b": [np.nan, 2, np.nan, 4, np.nan, 6]})
    panel.refresh()
    x, y = shown_data(panel.curve("train", "a").main)
    assert x.tolist() == [1, 3, 5] and y.tolist() == [1, 3, 5]
    assert shown_data(panel.curve("train", "b").main)[0].tolist() == [2, 4, 6]


# --- smoothing --------------------------------------------------------------------


def test_smoothing_draws_the_ema_over_a_faint_raw_curve(panel):
    run = make_run()
    panel.show_run(run)
    noisy = 1.0 + 0.5 * np.random.default_rng(0).standard_normal(200)
    feed(run, 200, {"a": noisy, "b": np.full(200, 3.0)})
    panel.refresh()
    a = panel.curve("train", "a")
    np.testing.assert_array_equal(shown_data(a.main)[1], noisy)  # smoothing 0: raw
    assert not a.faint.isVisible() and a.main.opts["pen"].color().alpha() == 255

    panel.set_smoothing(0.9)
    assert panel.smoothing == pytest.approx(0.9) and panel.smoothing_value.text() == "0.90"
    smoothed = shown_data(a.main)[1]
    np.testing.assert_allclose(smoothed, ema(noisy, 0.9))
    assert smoothed.std() < noisy.std() / 2
    assert smoothed[0] == pytest.approx(noisy[0])  # bias corrected: starts at the data
    np.testing.assert_array_equal(shown_data(a.faint)[1], noisy)
    assert a.faint.isVisible()
    faint = a.faint.opts["pen"].color()
    assert faint.alpha() < 128 and faint.rgb() == QColor(COLORS["a"]).rgb()
    # A constant stays constant: no start dragged toward zero.
    np.testing.assert_allclose(shown_data(panel.curve("train", "b").main)[1], 3.0)

    feed(run, 50, {"a": np.full(50, 1.0), "b": np.full(50, 3.0)})
    panel.refresh()
    np.testing.assert_allclose(shown_data(a.main)[1], ema(run.train["a"].value, 0.9))

    panel.set_smoothing(0)
    assert not a.faint.isVisible()
    np.testing.assert_array_equal(shown_data(a.main)[1], run.train["a"].value)


def test_smoothing_is_capped_below_one(panel):
    panel.set_smoothing(5)
    assert panel.smoothing == pytest.approx(0.99)
    panel.set_smoothing(-1)
    assert panel.smoothing == 0


def test_weights_and_validation_are_not_smoothed(panel):
    run = make_run()
    panel.show_run(run)
    feed(run, 10)
    epoch_end(run, {"a": 4.0, "b": 1.0})
    feed(run, 10)
    epoch_end(run, {"a": 2.0, "b": 1.0})
    panel.set_smoothing(0.9)
    assert shown_data(panel.curve("val", "a").main)[1].tolist() == [4.0, 2.0]
    assert panel.curve("weight", "a").faint is None


def test_a_weight_holds_until_the_next_report_and_up_to_the_last_step(panel):
    run = make_run()  # weights reported once, at step 0
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    x, y = shown_data(panel.curve("weight", "a").main)
    assert x.tolist() == [0, 10] and y.tolist() == [1.0, 1.0]
    run.add([ev.SettingChanged(10, "weight", "a", 0.25), ev.Weights(10, {"a": 0.25, "b": 1.0})])
    feed(run, 10)
    panel.refresh()
    x, y = shown_data(panel.curve("weight", "a").main)
    assert x.tolist() == [0, 10, 20] and y.tolist() == [1.0, 0.25, 0.25]
    # The read-out gives the weight in force, though the next report is nearer.
    assert "weights: a 1, b 1" in panel.readout_at(9)
    assert "weights: a 0.25, b 1" in panel.readout_at(10)


# --- log scale ----------------------------------------------------------------------


def test_log_scale_applies_to_loss_plots_only(panel):
    run = make_run(mode="soft_sharing")
    panel.show_run(run)
    feed(run, 10, penalty=np.full(10, 0.1))
    run.add([ev.GradientCosine(10, {("a", "b"): -0.3})])
    panel.refresh()
    panel.log_check.setChecked(True)  # as a click would
    assert panel.log_scale
    for key in ("task:a", "task:b", "total", "penalty"):
        assert panel.plots[key].item.ctrl.logYCheck.isChecked(), key
    for key in ("weights", "cosine"):
        assert not panel.plots[key].item.ctrl.logYCheck.isChecked(), key
    assert panel.curve("train", "a").main.opts["logMode"] == [False, True]
    assert panel.curve("cosine", ("a", "b")).main.opts["logMode"] == [False, False]
    panel.set_log_scale(False)
    assert not panel.log_check.isChecked()
    assert not panel.plots["total"].item.ctrl.logYCheck.isChecked()


def test_log_scale_with_zero_and_negative_values_warns_of_nothing(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    run = make_run()
    panel.show_run(run)
    panel.set_smoothing(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel.set_log_scale(True)
        feed(run, 20, {"a": np.linspace(-1, 1, 20), "b": np.zeros(20)})
        panel.refresh()
        panel.grid.host.grab()  # paints: downsampling, bounds, paths
        feed(run, 5, {"a": np.full(5, np.inf), "b": np.full(5, -5.0)})
        panel.refresh()
        panel.grid.host.grab()
    assert len(shown_data(panel.curve("train", "a").faint)[1]) == 20  # inf is not a loss
    assert len(shown_data(panel.curve("total").main)[1]) == 25


# --- x axis ---------------------------------------------------------------------------


def test_x_axis_by_step_epoch_or_wall_time(panel):
    run = make_run(steps_per_epoch=8)
    panel.show_run(run)
    feed(run, 16)
    run.add([ev.SettingChanged(12, "learning_rate", None, 0.01)])
    panel.refresh()
    a = panel.curve("train", "a")
    np.testing.assert_array_equal(shown_data(a.main)[0], np.arange(1, 17))
    mark_line = panel.plots["task:a"].marks[0]
    assert mark_line.value() == 12

    panel.axis_combo.setCurrentIndex(1)  # as the user picks "Epoch"
    assert panel.x_axis == "epoch"
    np.testing.assert_allclose(shown_data(a.main)[0], np.arange(1, 17) / 8)
    assert mark_line.value() == pytest.approx(1.5)
    assert panel.plots["total"].item.getAxis("bottom").labelText == "epoch"

    panel.set_x_axis("wall")
    np.testing.assert_allclose(shown_data(a.main)[0], np.arange(1, 17) * 0.25)
    assert mark_line.value() == pytest.approx(4.0)
    assert panel.plots["task:b"].item.getAxis("bottom").labelText == "wall time (s)"
    with pytest.raises(ValueError):
        panel.set_x_axis("minutes")


# --- penalty and cosine -----------------------------------------------------------


def test_penalty_plot_only_for_soft_sharing(panel):
    joint = make_run()
    panel.show_run(joint)
    feed(joint, 10)
    panel.refresh()
    assert "penalty" not in panel.shown_plots

    soft = make_run("Run 2 (soft_sharing, fixed)", mode="soft_sharing")
    panel.show_run(soft)
    feed(soft, 10, penalty=np.linspace(1, 0.1, 10))
    panel.refresh()
    assert "penalty" in panel.shown_plots
    assert panel.plots["penalty"].loss
    assert len(shown_data(panel.curve("penalty").main)[1]) == 10


def test_cosine_plot_has_a_line_per_pair_and_a_zero_line(panel):
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    # Laid out from the start for several tasks in joint mode (a relayout
    # mid-run would stall the window), filled in when reports come.
    assert "cosine" in panel.shown_plots and not panel.plots["cosine"].has_data()
    run.add(
        [
            ev.GradientCosine(5, {("a", "b"): 0.5, ("a", "c"): -0.2, ("b", "c"): 0.0}),
            ev.GradientCosine(10, {("a", "b"): 0.4, ("a", "c"): -0.3, ("b", "c"): 0.1}),
        ]
    )
    panel.refresh()
    assert "cosine" in panel.shown_plots
    plot = panel.plots["cosine"]
    for pair in [("a", "b"), ("a", "c"), ("b", "c")]:
        curve = panel.curve("cosine", pair)
        assert curve.main in plot.item.listDataItems()
        assert shown_data(curve.main)[1].tolist() == run.cosine[pair].value.tolist()
    zero = plot.zero_line
    assert zero in plot.item.items and zero.angle == 0 and zero.value() == 0
    assert "below 0" in zero.label.format and "apart" in zero.label.format
    assert "opposite directions" in plot.item.toolTip()
    assert plot.item.getAxis("left").labelText == "cosine"


# --- earlier runs ----------------------------------------------------------------------


def test_an_earlier_run_can_be_overlaid_and_removed(panel):
    first = make_run("Run 1 (joint, fixed)", tasks=("a", "b", "c"))
    panel.show_run(first)
    feed(first, 30)
    first.add([ev.GradientCosine(30, {("a", "b"): 0.2, ("a", "c"): 0.1})])
    panel.refresh()
    second = make_run("Run 2 (joint, gradnorm)", tasks=("a", "b"))
    panel.show_run(second)
    feed(second, 10)
    second.add([ev.GradientCosine(10, {("a", "b"): 0.5})])
    panel.refresh()
    assert panel.runs == [first, second] and panel.current is second
    assert panel.compare_button.isEnabled() and panel.compare_list.count() == 1
    assert "task:c" not in panel.plots  # the current run has no task c

    before = {k: len(p.item.listDataItems()) for k, p in panel.plots.items()}
    item = panel.compare_list.item(0)
    assert item.text() == first.label
    item.setCheckState(Qt.CheckState.Checked)  # as a click would
    assert panel.overlaid == [first]
    plot = panel.plots["task:a"]
    overlay = plot.overlays[id(first)]
    train = overlay[0]
    assert pen_color(train.main) == COLORS["a"]
    assert train.main.opts["pen"].color().alpha() < 255  # lighter
    assert train.main.opts["pen"].style() == Qt.PenStyle.CustomDashLine  # dashed
    assert len(shown_data(train.main)[1]) == 30
    assert [label.text for _, label in plot.legend.items] == [first.label]
    assert plot.legend.isVisible()
    added = {k: len(p.item.listDataItems()) - before[k] for k, p in panel.plots.items()}
    # train (and empty val, not drawn) per task; total; weights a, b; cosine a-b only.
    # The overview keeps to the current run.
    assert added == {
        "overview": 0,
        "task:a": 1,
        "task:b": 1,
        "total": 1,
        "penalty": 0,
        "weights": 2,
        "cosine": 1,
        "affinity": 0,
    }

    item.setCheckState(Qt.CheckState.Unchecked)
    assert panel.overlaid == []
    assert {k: len(p.item.listDataItems()) for k, p in panel.plots.items()} == before
    assert not plot.legend.isVisible()


def test_overlays_stay_when_a_new_run_starts(panel):
    first, second, third = (make_run(f"Run {i}") for i in (1, 2, 3))
    for run in (first, second):
        panel.show_run(run)
        feed(run, 10)
    panel.set_overlay(first, True)
    panel.show_run(third)
    assert panel.overlaid == [first]
    assert id(first) in panel.plots["task:a"].overlays
    states = {
        panel.compare_list.item(i).text(): panel.compare_list.item(i).checkState()
        for i in range(panel.compare_list.count())
    }
    assert states == {"Run 1": Qt.CheckState.Checked, "Run 2": Qt.CheckState.Unchecked}
    panel.show_run(third)  # again: still one entry
    assert panel.runs == [first, second, third]
    assert "(2)" in panel.compare_button.text()


# --- read-out ---------------------------------------------------------------------------


def test_readout_gives_the_values_at_the_nearest_points(panel):
    run = make_run()
    panel.show_run(run)
    feed(run, 10, {"a": np.arange(1.0, 11.0), "b": np.arange(10.0, 110.0, 10.0)})
    epoch_end(run, {"a": 0.75, "b": 0.5})
    run.add([ev.GradientCosine(10, {("a", "b"): -0.25})])
    panel.refresh()
    text = panel.readout_at(4.4)
    assert text.startswith("step 4")
    assert "a: 4, val 0.75" in text and "b: 40, val 0.5" in text and "total: 44" in text
    assert "weights: a 1, b 1" in text and "cosine: a·b -0.25" in text
    assert "a: 5," in panel.readout_at(4.6)
    assert "a: 10," in panel.readout_at(1e9) and "a: 1," in panel.readout_at(-5)

    panel.set_smoothing(0.5)
    smoothed = ema(np.arange(1.0, 11.0), 0.5)[3]
    assert f"a: {smoothed:.4g} (raw 4)" in panel.readout_at(4)

    panel.set_x_axis("epoch")
    assert panel.readout_at(0.4).startswith("epoch 0.40")
    assert "(raw 4)" in panel.readout_at(0.4)


def test_moving_the_mouse_over_a_plot_moves_the_cursor_and_the_readout(panel, qtbot):
    run = make_run()
    panel.show_run(run)
    feed(run, 100)
    epoch_end(run, {"a": 0.5, "b": 0.25})
    panel.refresh()
    qtbot.wait(20)
    plot = panel.plots["task:b"]
    height = panel.readout.height()
    centre = plot.item.vb.sceneBoundingRect().center()
    where = plot.view.mapFromScene(centre)
    qtbot.mouseMove(plot.view.viewport(), QPoint(where.x(), where.y()))
    qtbot.waitUntil(lambda: panel.readout.text().startswith("step"), timeout=2000)
    x = plot.item.vb.mapSceneToView(centre).x()
    for other in panel.plots.values():
        if other.kind == "affinity":  # no x axis of steps: no cursor
            assert not other.cursor.isVisible()
            continue
        assert other.cursor.isVisible() and other.cursor.value() == pytest.approx(x, abs=1)
    # The values of the plot under the mouse (and the total), not of every task.
    text = panel.readout.text()
    assert text == panel.readout_at(panel.plots["total"].cursor.value(), "task:b")
    assert "b: " in text and "val 0.25" in text and "total: " in text and "a: " not in text
    assert panel.readout.height() == height  # a longer text never moves the plots

    # Leaving the plot clears the cursor and the read-out.
    qtbot.mouseMove(panel.readout, QPoint(5, 5))
    qtbot.waitUntil(lambda: panel.readout.text() == READOUT_HINT, timeout=2000)
    assert not any(p.cursor.isVisible() for p in panel.plots.values())


def test_the_readout_keeps_its_height_however_long_its_text(panel):
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    height = panel.readout.height()
    panel.set_smoothing(0.5)
    panel.show_cursor(5)  # every plot's values, smoothed and raw: the longest text
    assert len(panel.readout.text()) > 80
    panel.resize(400, 800)
    assert panel.readout.height() == height


def test_the_overview_plots_each_loss_relative_to_its_first_value(panel):
    run = make_run()
    panel.show_run(run)
    feed(run, 4, {"a": [2.0, 1.0, 0.5, 0.2], "b": [0.0, 300.0, 150.0, 30.0]})
    panel.refresh()
    plot = panel.plots["overview"]
    a, b = panel.curve("ratio", "a"), panel.curve("ratio", "b")
    assert {a.main, b.main} <= set(plot.item.listDataItems())
    np.testing.assert_allclose(shown_data(a.main)[1], [1.0, 0.5, 0.25, 0.1])
    # L(0) is the first positive value: a loss of 0 cannot be a reference.
    np.testing.assert_allclose(shown_data(b.main)[1], [0.0, 1.0, 0.5, 0.1])
    assert pen_color(a.main) == COLORS["a"] and a.faint is None
    assert [label.text for _, label in plot.legend.items] == ["a", "b"]
    assert plot.loss  # a log axis suits ratios too
    text = panel.readout_at(3, "overview")
    assert "a 0.25" in text and "b 0.5" in text


def test_validation_markers_give_way_to_the_line_when_epochs_are_dense(panel):
    run = make_run(tasks=("a",), steps_per_epoch=1)
    panel.show_run(run)
    for _ in range(5):
        feed(run, 1)
        epoch_end(run, {"a": 0.5})
    panel.refresh()
    val = panel.curve("val", "a")
    assert val.main.opts["symbol"] == "o" and val.main.opts["symbolSize"] <= 5
    for _ in range(300):  # 300 epochs in a plot a few hundred pixels wide
        feed(run, 1)
        epoch_end(run, {"a": 0.5})
    panel.refresh()
    assert val.main.opts["symbol"] is None
    assert val.main.opts["pen"].style() == Qt.PenStyle.DashLine  # the line stays


def test_the_plots_in_view_follow_the_run_when_the_total_plot_is_out_of_view(panel, qtbot):
    panel.resize(420, 500)  # one column: the total plot is below the fold
    run = make_run(tasks=("a", "b", "c"))
    run.add([ev.RunStarted(["a", "b", "c"], "joint", "fixed", 1000, 10, 100)])
    panel.show_run(run)
    qtbot.waitUntil(lambda: panel.grid.columns == 1, timeout=2000)
    feed(run, 300)
    panel.refresh()
    assert not panel.grid.on_screen(panel.plots["total"].view)
    panel.grid.host.grab()
    x0, x1 = panel.plots["overview"].item.vb.viewRange()[0]
    assert x0 <= 1 and x1 >= 300  # not pyqtgraph's empty 0 to 1


def test_plots_out_of_view_wait_until_they_show(panel, qtbot):
    panel.resize(420, 500)  # one column: most plots are below the fold
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.grid.columns == 1, timeout=2000)
    feed(run, 10)
    panel.refresh()
    total = panel.curve("total")
    assert len(shown_data(panel.curve("ratio", "a").main)[1]) == 20  # in view: drawn
    assert len(shown_data(total.main)[1]) < 20  # below the fold: not yet
    panel.grid.ensureWidgetVisible(panel.plots["total"].view)  # as scrolling down does
    qtbot.waitUntil(lambda: len(shown_data(total.main)[1]) == 20, timeout=2000)


# --- marks -----------------------------------------------------------------------------


def test_each_mark_is_a_dashed_vertical_line_on_every_plot_drawn_once(panel):
    run = make_run()
    panel.show_run(run)
    feed(run, 10)
    run.add([ev.SettingChanged(10, "weight", "b", 0.5), ev.Weights(10, {"a": 1.0, "b": 0.5})])
    feed(run, 10)
    panel.refresh()
    assert panel.plots["affinity"].marks == []  # no x axis of steps
    for plot in (p for p in panel.plots.values() if p.kind != "affinity"):
        assert len(plot.marks) == 1
        line = plot.marks[0]
        assert line in plot.item.items and line.angle == 90 and line.value() == 10
        assert line.pen.style() == Qt.PenStyle.DashLine
        assert line.toolTip() == "Step 10: b weight = 0.5"
    assert panel.plots["weights"].marks[0].label.format == "b weight = 0.5"
    feed(run, 5)
    panel.refresh()
    stepped = [p for p in panel.plots.values() if p.kind != "affinity"]
    assert all(len(p.marks) == 1 for p in stepped)
    run.add([ev.SettingChanged(25, "learning_rate", None, 1e-4)])
    panel.refresh()
    assert all(len(p.marks) == 2 for p in stepped)
    assert panel.plots["total"].marks[1].value() == 25


# --- the best epoch -----------------------------------------------------------------------


def best_epoch_end(run, val, best):
    """An epoch end whose best epoch so far is `best`."""
    epoch = run.step // run.steps_per_epoch
    run.add(
        [
            ev.EpochEnd(
                epoch,
                run.step,
                {},
                val,
                monitored=val["a"],
                best_epoch=best,
                best_step=best * run.steps_per_epoch,
            )
        ]
    )


def test_the_best_epoch_is_a_grey_dashed_line_on_the_loss_plots_moved_when_it_changes(panel):
    run = make_run(steps_per_epoch=10)
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    assert all(p.best_line is None for p in panel.plots.values())  # no epoch has ended
    best_epoch_end(run, {"a": 0.5, "b": 0.6}, best=1)
    feed(run, 10)
    best_epoch_end(run, {"a": 0.4, "b": 0.6}, best=2)
    panel.refresh()
    marked = {key for key, p in panel.plots.items() if p.best_line is not None}
    assert marked == {"overview", "task:a", "task:b"}
    line = panel.plots["task:a"].best_line
    assert line in panel.plots["task:a"].item.items and line.angle == 90
    assert line.value() == 20 and line.isVisible()
    assert line.pen.style() == Qt.PenStyle.CustomDashLine
    assert line.pen.color().name().upper() == plot_items.BEST_COLOR.upper()
    assert line.label.format == "best epoch 2"
    assert line.toolTip().startswith("Best epoch 2 (step 20)")
    overview = panel.plots["overview"].best_line
    assert getattr(overview, "label", None) is None and overview.toolTip() == line.toolTip()

    feed(run, 10)
    best_epoch_end(run, {"a": 0.45, "b": 0.6}, best=2)  # not better: it stays
    panel.refresh()
    assert line.value() == 20
    feed(run, 10)
    best_epoch_end(run, {"a": 0.3, "b": 0.6}, best=4)
    panel.refresh()
    assert panel.plots["task:a"].best_line is line  # the same line, moved
    assert line.value() == 40 and line.label.format == "best epoch 4"

    panel.set_x_axis("epoch")
    assert line.value() == pytest.approx(4.0)
    panel.set_x_axis("wall")
    assert line.value() == pytest.approx(10.0)  # the wall time of step 40


def test_the_best_epoch_line_moves_at_its_plots_own_redraw(panel, qtbot):
    panel.resize(420, 500)  # one column: task c's plot is below the fold
    run = make_run(tasks=("a", "b", "c"), steps_per_epoch=10)
    panel.show_run(run)
    qtbot.waitUntil(lambda: panel.grid.columns == 1, timeout=2000)
    feed(run, 10)
    best_epoch_end(run, {"a": 0.5, "b": 0.5, "c": 0.5}, best=1)
    panel.refresh()
    below = panel.plots["task:c"]
    assert not panel.grid.on_screen(below.view)
    assert below.best_line is None  # not drawn, so not marked yet
    assert panel.plots["overview"].best_line.value() == 10
    panel.grid.ensureWidgetVisible(below.view)
    qtbot.waitUntil(
        lambda: below.best_line is not None and below.best_line.value() == 10, timeout=2000
    )


def test_no_best_epoch_line_without_validation(panel):
    run = make_run()
    panel.show_run(run)
    feed(run, 10)
    run.add([ev.EpochEnd(1, 10, {}, {}, best_epoch=1, best_step=10)])
    panel.refresh()
    assert all(p.best_line is None or not p.best_line.isVisible() for p in panel.plots.values())


# --- downsampling -------------------------------------------------------------------------


def test_a_long_series_is_peak_downsampled_and_keeps_its_spike(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    run = make_run(tasks=("a",))
    panel.show_run(run)
    values = 1.0 + 0.01 * np.random.default_rng(0).standard_normal(100_000)
    values[54_321] = 50.0
    feed(run, 100_000, {"a": values})
    panel.set_smoothing(0.9)
    panel.refresh()
    panel.grid.host.grab()  # lays out and paints: the view has its size and range
    a = panel.curve("train", "a")
    for item in a.items:
        assert item.opts["downsampleMethod"] == "peak"
        assert item.opts["autoDownsample"] and item.opts["clipToView"]
        assert item.opts["connect"] == "finite"
    x, y = a.faint.getData()  # what is drawn, after downsampling
    assert len(y) < len(values) / 10
    assert y.max() == 50.0  # the one-step spike survives


# --- export ----------------------------------------------------------------------------------


def test_export_csv_writes_every_curve(panel, tmp_path):
    run = make_run()
    panel.show_run(run)
    feed(run, 10)
    epoch_end(run, {"a": 0.5, "b": 0.25})
    run.add([ev.GradientCosine(10, {("a", "b"): 0.1})])
    path = tmp_path / "curves.csv"
    panel.export_csv(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["curve", "task", "step", "epoch", "wall_seconds", "value"]
    curves = {(r[0], r[1]) for r in rows[1:]}
    assert curves == {
        ("train_loss", "a"),
        ("train_loss", "b"),
        ("val_loss", "a"),
        ("val_loss", "b"),
        ("total", ""),
        ("weight", "a"),
        ("weight", "b"),
        ("gradient_cosine", "a|b"),
    }
    assert len(rows) - 1 == 10 + 10 + 2 + 10 + 4 + 1


def test_export_png_writes_an_image(panel, tmp_path):
    run = make_run()
    panel.show_run(run)
    feed(run, 50)
    panel.refresh()
    path = tmp_path / "plots.png"
    panel.export_png(str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_export_without_a_run_raises_oserror(panel, tmp_path):
    with pytest.raises(OSError):
        panel.export_csv(tmp_path / "x.csv")
    with pytest.raises(OSError):
        panel.export_png(tmp_path / "x.png")


@pytest.mark.parametrize(
    "slot, suffix", [("export_csv_dialog", "csv"), ("export_png_dialog", "png")]
)
def test_export_dialogs_write_or_say_why_not(panel, tmp_path, monkeypatch, slot, suffix):
    run = make_run()
    panel.show_run(run)
    feed(run, 5)
    panel.refresh()
    answers, warnings_shown = [], []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args, **kwargs: (answers.pop(0), "")
    )
    monkeypatch.setattr(
        QMessageBox, "warning", lambda parent, title, text, *rest: warnings_shown.append(text)
    )

    answers.append(str(tmp_path / "out"))  # no suffix typed: one is added
    getattr(panel, slot)()
    assert (tmp_path / f"out.{suffix}").stat().st_size > 0
    assert warnings_shown == []

    answers.append("")  # cancelled
    getattr(panel, slot)()
    assert warnings_shown == []

    bad = str(tmp_path / "missing" / f"out.{suffix}")
    answers.append(bad)
    getattr(panel, slot)()
    assert len(warnings_shown) == 1
    assert bad in warnings_shown[0] and "No such file or directory" in warnings_shown[0]


# --- slow redraws -------------------------------------------------------------------------


def test_while_a_run_streams_the_plots_take_turns_within_their_budget(panel, qtbot, monkeypatch):
    monkeypatch.setattr(plots_module, "DRAW_SHARE", 0.05)
    monkeypatch.setattr(plots_module, "MIN_REDRAW_MS", 100.0)
    run = make_run(tasks=("a", "b", "c"))
    run.add([ev.RunStarted(["a", "b", "c"], "joint", "fixed", 10_000, 10, 1000)])
    panel.show_run(run)
    feed(run, 10)
    panel.refresh(now=True)
    panel.grid.host.grab()
    for plot in panel.plots.values():
        plot.cost_ms = 2.0  # a typical redraw: the budget sets the period
        plot.drawn_at = 0.0
    feed(run, 10)
    panel.refresh()
    shown = len(panel.shown_plots)
    assert panel.period_ms == pytest.approx(max(shown * 2.0 / 0.05, 100.0))
    drawn = [[p.key for p in panel.plots.values() if not p.stale]]
    for plot in panel.plots.values():
        plot.stale = True
    for _ in range(40):  # calls at the drain's pace, data in every one
        feed(run, 10)
        panel.refresh()
        drawn.append([p.key for p in panel.plots.values() if not p.stale])
        for plot in panel.plots.values():
            plot.stale = True
        time.sleep(0.033)  # the drain's pace, without events: each draw is in a call here
    # A few plots per call, never all at once: no call blocks the window long.
    assert 0 < max(len(keys) for keys in drawn) < shown
    # And every plot gets its turn.
    assert {key for keys in drawn for key in keys} == set(panel.shown_plots)


def test_a_redraw_put_off_is_never_dropped(panel, qtbot, monkeypatch):
    monkeypatch.setattr(plots_module, "DRAW_SHARE", 0.05)
    monkeypatch.setattr(plots_module, "MIN_REDRAW_MS", 100.0)
    run = make_run()
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    feed(run, 10)
    panel.refresh()  # too soon: waits; no other refresh comes (a pause)
    qtbot.waitUntil(lambda: len(shown_data(panel.curve("total").main)[0]) == 20, timeout=3000)


# --- ranges that stay put -------------------------------------------------------------------


def test_ranges_hold_the_data_and_change_seldom_while_a_run_streams(panel, qtbot):
    run = make_run()
    run.add([ev.RunStarted(["a", "b"], "joint", "fixed", 1000, 10, 100)])  # 1,000 steps
    panel.show_run(run)
    plot = panel.plots["task:a"]
    changes = {"x": 0, "y": 0}
    master = panel.plots["total"].item.vb
    master.sigXRangeChanged.connect(lambda *a: changes.__setitem__("x", changes["x"] + 1))
    plot.item.vb.sigYRangeChanged.connect(lambda *a: changes.__setitem__("y", changes["y"] + 1))
    for _ in range(100):  # 100 refreshes of 10 new steps each
        feed(run, 10)
        panel.refresh()
        panel.grid.host.grab()  # paint, as the window does between refreshes
    (x0, x1), (y0, y1) = plot.item.vb.viewRange()
    values = run.train["a"].value
    assert x0 <= 1 and x1 >= 1000 and y0 <= values.min() and y1 >= values.max()
    assert changes["x"] <= 12 and changes["y"] <= 25, changes  # not once per refresh

    panel.set_log_scale(True)
    panel.grid.host.grab()
    (y0, y1) = plot.item.vb.viewRange()[1]
    assert y0 <= np.log10(values.min()) and y1 >= np.log10(values.max())


# --- task affinity --------------------------------------------------------------------


def test_the_affinity_heat_map_shows_the_mean_once_there_are_measurements(panel):
    run = make_run(tasks=("a", "b", "c"))
    panel.show_run(run)
    feed(run, 10)
    panel.refresh()
    assert "affinity" not in panel.shown_plots
    assert panel.affinity_readout(0.5, 0.5) == ""
    first = np.array([[0.02, 0.01, -0.03], [0.0, 0.01, 0.0], [0.005, -0.01, 0.04]])
    second = np.array([[0.0, 0.03, -0.01], [0.02, 0.03, 0.0], [0.005, 0.01, 0.0]])
    run.add([ev.Affinity(4, ["a", "b", "c"], first), ev.Affinity(8, ["a", "b", "c"], second)])
    panel.refresh(now=True)
    assert panel.shown_plots[-1] == "affinity"
    assert panel.grid.widgets == [panel.plots[k].view for k in panel.shown_plots]
    plot = panel.plots["affinity"]
    mean = (first + second) / 2
    np.testing.assert_allclose(plot.image.image, mean)
    np.testing.assert_allclose(run.affinity_mean, mean)
    # A diverging scale, symmetric about 0 from the largest |z|.
    assert plot.image.levels.tolist() == pytest.approx([-0.02, 0.02])
    assert "mean of 2 measurements" in plot.item.titleLabel.text
    assert "row helps column" in plot.item.titleLabel.text
    # Rows and columns labelled with the task names, in the task colours.
    for side in ("left", "bottom"):
        axis = plot.item.getAxis(side)
        assert [t for _, t in axis._tickLevels[0]] == ["a", "b", "c"]
        assert axis.colors == COLORS
    # Three tasks: every cell shows its value.
    assert plot.cells[0][2].textItem.toPlainText() == "-0.02"
    assert plot.cells[2][2].textItem.toPlainText() == "+0.02"
    # The cell under the mouse: row a (the step), column c (the loss).
    text = panel.affinity_readout(2.5, 0.5)
    assert text.startswith("a → c: -0.02 ") and "raised c's loss by 2%" in text
    assert "over 2 measurements" in text and "latest -0.01" in text
    assert panel.affinity_readout(1.2, 2.9).startswith("c → b: +0 ")
    assert panel.affinity_readout(3.5, 0.5) == ""  # past the cells
    # A third measurement redraws it within the same redraw logic.
    run.add([ev.Affinity(12, ["a", "b", "c"], np.full((3, 3), 0.09))])
    panel.refresh(now=True)
    np.testing.assert_allclose(plot.image.image, (first + second + 0.09) / 3)
    assert "mean of 3 measurements" in plot.item.titleLabel.text


def test_the_affinity_read_out_under_the_mouse(panel, qtbot):
    run = make_run(tasks=("a", "b"))
    panel.show_run(run)
    feed(run, 10)
    run.add([ev.Affinity(4, ["a", "b"], np.array([[0.01, 0.012], [-0.004, 0.02]]))])
    panel.refresh(now=True)
    plot = panel.plots["affinity"]
    panel.grid.ensureWidgetVisible(plot.view)
    qtbot.wait(10)
    scene = plot.item.vb.mapViewToScene(pg.Point(1.5, 0.5))  # row a, column b
    panel._mouse_moved(plot, scene)
    assert panel.readout.text().startswith("a → b: +0.012")
    assert not any(p.cursor.isVisible() for p in panel.plots.values())
    # The step plots' cursor does not show on the heat map either.
    panel.show_cursor(3.0)
    assert not plot.cursor.isVisible()


def test_many_tasks_have_no_values_in_the_cells_but_the_scale_in_the_label(panel):
    tasks = ("a", "b", "c")
    run = make_run(tasks=tasks)
    panel.show_run(run)
    plot = panel.plots["affinity"]
    big = [f"t{i}" for i in range(8)]
    run.affinity_tasks = big  # as if the run had eight tasks
    run.add([ev.Affinity(2, big, np.eye(8) * 0.05)])
    panel.refresh(everything=True)
    assert plot.cells == [] and "±0.05" in plot.item.getAxis("bottom").labelText
