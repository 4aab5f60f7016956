"""How long the training plots take to redraw, with a million points.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_plot_redraw.py
    .venv/bin/python benchmarks/bench_plot_redraw.py --quick     # 100,000 points

(offscreen is set by the script when QT_QPA_PLATFORM is unset.) It prints
figures and never asserts a timing.

1. One pyqtgraph PlotWidget of 1000 x 400 px holding one curve of 1,000,000
   points (a seeded random walk with five isolated one-point spikes), with
   peak downsampling (auto) and clip to view, as every curve of the plots
   panel has:
   - full redraw: widget.grab(), which paints the whole scene, after the
     curve was told its view changed (so downsampling runs again, as after
     a zoom or a new point);
   - setData of the array grown by 20 points (as a refresh hands it over),
     then the repaint;
   - whether the spikes survive: the max of the displayed (downsampled) y
     against the true max, and each spike's value against the displayed
     max around it.
2. PlotsPanel (1000 x 600 px) refresh() for a RunCurves of 2 tasks x
   1,000,000 steps (smoothing 0.6, steps_per_epoch 1,000, validation each
   epoch, a cosine every 1,000 steps), after appending a block of 20 steps
   (with a Weights report), then the repaint that follows (grab() of the
   plots); 3. the same for a typical run of 2 tasks x 5,000 steps. Every
   plot is redrawn at each repetition (refresh(now=True)); while a run
   streams, the panel instead redraws each plot once per period, so that
   drawing takes at most plots.DRAW_SHARE of the GUI thread: the script
   prints the period the panel would keep.

The goal it reports on: refresh() of the typical run well under 10 ms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from mtl_studio.training import events as ev  # noqa: E402
from mtl_studio.ui import plots  # noqa: E402
from mtl_studio.ui.plots import PlotsPanel  # noqa: E402
from mtl_studio.ui.run_curves import RunCurves  # noqa: E402

BLOCK = 20  # steps per StepLosses event, the project default steps_per_call
GOAL_MS = 10.0


def row(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"  {label:<52} median {median:8.2f} ms   max {max(times):8.2f} ms")
    return median


def random_walk(n: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    y = np.cumsum(rng.standard_normal(n)) * 0.01 + 10.0
    spikes = sorted(rng.choice(np.arange(n // 10, n - n // 10), 5, replace=False).tolist())
    for i in spikes:
        y[i] += 40.0  # one point, far above the walk's spread
    return y, spikes


def bench_curve(app: QApplication, n: int, reps: int) -> None:
    print(
        f"\n1. one curve of {n:,} points in a 1000 x 400 px PlotWidget "
        f"(peak downsampling, clip to view), {reps} repetitions"
    )
    y_all, spikes = random_walk(n + BLOCK * (reps + 2))
    x_all = np.arange(len(y_all), dtype=float)
    widget = pg.PlotWidget()
    widget.resize(1000, 400)
    widget.setBackground("w")
    plot = widget.getPlotItem()
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    item = plot.plot(x_all[:n], y_all[:n], pen=pg.mkPen("#0072B2"), connect="finite")
    widget.show()
    app.processEvents()
    widget.grab()

    def full_redraw():
        item.viewRangeChanged()  # as a zoom or pan would: downsample again
        widget.grab()

    times = []
    for _ in range(reps):
        start = time.perf_counter()
        full_redraw()
        times.append((time.perf_counter() - start) * 1000)
    row("full redraw (downsample + paint, grab())", times)

    set_times, paint_times = [], []
    size = n
    for _ in range(reps):
        size += BLOCK
        start = time.perf_counter()
        item.setData(x_all[:size], y_all[:size])  # views, as refresh() hands them
        middle = time.perf_counter()
        widget.grab()
        end = time.perf_counter()
        set_times.append((middle - start) * 1000)
        paint_times.append((end - middle) * 1000)
    row(f"setData of the array grown by {BLOCK} points", set_times)
    row("  then the repaint (grab())", paint_times)
    total = [a + b for a, b in zip(set_times, paint_times)]
    row("  together", total)

    shown_x, shown_y = item._getDisplayDataset().x, item._getDisplayDataset().y
    print(
        f"  displayed points: {len(shown_y):,} of {size:,}; "
        f"max displayed y {shown_y.max():.3f} vs true max {y_all[:size].max():.3f}"
    )
    kept = 0
    for i in spikes:
        near = np.abs(shown_x - i) <= max(1.0, n / len(shown_y) * 2)
        seen = shown_y[near].max() if near.any() else float("nan")
        kept += bool(seen >= y_all[i] - 1e-9)
        print(f"    spike at x={i:>9,}: true {y_all[i]:.3f}, displayed max near it {seen:.3f}")
    print(f"  spikes still visible: {kept} of {len(spikes)}")
    dispose(widget)


def dispose(widget) -> None:
    """Delete a widget now: a pyqtgraph item left to Python's exit, after the
    QApplication, crashes the interpreter."""
    widget.close()
    widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def make_run(tasks: list[str], steps: int, steps_per_epoch: int, seed: int = 1) -> RunCurves:
    """A run fed as the trainer reports it, in blocks of BLOCK steps, but with
    the events of many blocks folded at once so building it is quick."""
    rng = np.random.default_rng(seed)
    colors = dict(zip(tasks, ("#E69F00", "#009E73", "#CC79A7")))
    run = RunCurves("bench", tasks, colors)
    run.add(
        [
            ev.RunStarted(
                tasks, "joint", "fixed", steps, steps_per_epoch, max(1, steps // steps_per_epoch)
            )
        ]
    )
    run.add([ev.Weights(0, {t: 1.0 for t in tasks})])
    chunk = 50_000
    for start in range(0, steps, chunk):
        s = np.arange(start + 1, min(start + chunk, steps) + 1)
        losses = {
            t: np.exp(-s / steps) * (1 + 0.2 * rng.standard_normal(len(s))) + 0.1 * k
            for k, t in enumerate(tasks)
        }
        total = sum(losses.values())
        found = []
        for e in range(int(s[0]) // steps_per_epoch + 1, int(s[-1]) // steps_per_epoch + 1):
            found.append(ev.EpochEnd(e, e * steps_per_epoch, {}, {t: 0.5 for t in tasks}))
        run.add([ev.StepLosses(s, 1, losses, total, wall=s * 0.002)] + found)
        for step in range(int(s[0]) + BLOCK - 1, int(s[-1]) + 1, BLOCK * 50):
            run.add([ev.GradientCosine(step, {(tasks[0], tasks[1]): rng.uniform(-1, 1)})])
    return run


def append_block(run: RunCurves, rng) -> None:
    s = np.arange(run.step + 1, run.step + BLOCK + 1)
    losses = {t: 0.3 + 0.05 * rng.standard_normal(BLOCK) for t in run.tasks}
    run.add(
        [
            ev.StepLosses(s, 1, losses, sum(losses.values()), wall=s * 0.002),
            ev.Weights(int(s[-1]), {t: 1.0 for t in run.tasks}),
        ]
    )


def bench_panel(app: QApplication, steps: int, reps: int, label: str, number: int) -> float:
    tasks = ["a", "b"]
    build = time.perf_counter()
    run = make_run(tasks, steps, 1000)
    build = time.perf_counter() - build
    panel = PlotsPanel()
    panel.resize(1000, 600)
    panel.show()
    panel.set_smoothing(0.6)
    panel.show_run(run)
    app.processEvents()
    panel.grid.host.grab()
    print(
        f"\n{number}. PlotsPanel.refresh(), {label}: 2 tasks x {steps:,} steps "
        f"({run.point_count():,} points, built in {build:.1f} s), {reps} repetitions"
    )
    rng = np.random.default_rng(2)
    refresh_times, paint_times = [], []
    for _ in range(reps):
        append_block(run, rng)
        start = time.perf_counter()
        panel.refresh(now=True)  # every plot in view, as after a setting change
        middle = time.perf_counter()
        panel.grid.host.grab()
        end = time.perf_counter()
        refresh_times.append((middle - start) * 1000)
        paint_times.append((end - middle) * 1000)
    median = row(f"refresh() after appending {BLOCK} steps", refresh_times)
    paint = row("  then the repaint (grab() of the plots)", paint_times)
    cost = median + paint
    period = min(
        max(cost * plots.UNTIMED / plots.DRAW_SHARE, plots.MIN_REDRAW_MS), plots.MAX_REDRAW_MS
    )
    print(
        f"  redraw of every plot {cost:.1f} ms: while a run streams each plot is redrawn "
        f"every {period:.0f} ms ({plots.DRAW_SHARE:.0%} of a core)"
    )
    idle = []
    for _ in range(reps):
        start = time.perf_counter()
        panel.refresh()  # nothing changed
        idle.append((time.perf_counter() - start) * 1000)
    row("refresh() with nothing new", idle)
    dispose(panel)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points instead of 1,000,000, 10 repetitions"
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions of each row")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    reps = args.reps or (10 if args.quick else 30)

    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine   os.cpu_count()={os.cpu_count()}  {platform.platform()}  {platform.machine()}")
    print(
        f"software  Python {platform.python_version()}, pyqtgraph {pg.__version__}, "
        f"numpy {np.__version__}, Qt platform {os.environ['QT_QPA_PLATFORM']}"
    )
    app = QApplication.instance() or QApplication(sys.argv)

    bench_curve(app, n, reps)
    bench_panel(app, n, reps, "large run", 2)
    typical = bench_panel(app, 5_000, reps, "typical run", 3)
    verdict = "met" if typical < GOAL_MS / 2 else "not met"
    print(
        f"\ngoal      refresh() of a typical run well under {GOAL_MS:.0f} ms, taken as under "
        f"{GOAL_MS / 2:.0f} ms: median {typical:.2f} ms -> {verdict}"
    )


if __name__ == "__main__":
    main()
