"""Training in the window: does the GUI stay responsive, and does the window
train as fast as the command line?

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_window_training.py
    ... bench_window_training.py --tasks 8     # the same trunk with 8 heads
    .venv/bin/python benchmarks/bench_window_training.py --quick   # offscreen smoke test

With a display (DISPLAY set, e.g. under xvfb-run) the window is drawn on it
through Qt's xcb platform, as a user's is; without one, offscreen.

The model is the reference model of bench_trainer.py (64 inputs, two Dense
256 shared layers, two heads, batch 128, Adam), its 25,600 rows written to
an .npz file the project reads, so the window and the command line load the
same data the same way. --tasks N gives it N heads (Dense 64 -> Output 1),
each with a target of its own.

Two figures, each the median over the repeats (the two ways take turns):

1. Responsiveness: while the window trains (curves streaming, the plots
   redrawn from the 30 Hz timer), a 5 ms heartbeat timer on the GUI thread
   records when it fires. A late tick is time the event loop could not
   answer the user. Reported: the longest stall (gap minus 5 ms) and the
   99th percentile of the lateness, measured from the first steps (the
   model build and compile happen on the worker, but are not the steady
   state). Goals: longest < 50 ms, p99 < 20 ms. Also the CPU time of the
   GUI thread (all it did while the run trained, drawing included) as a
   share of one core.
2. Speed: steps per second of a run in the window (the worker thread,
   events drained into the plots; no heartbeat, which is work of its own
   on the GUI thread) against the same project trained headless exactly
   as `mtl-studio train` does (Trainer + RunRecorder on the main thread,
   no Qt). Both rates come from the run's summary.json, measured from the
   end of the first compiled call. Goal: window / headless >= 0.95. The
   three runs of a repeat take turns, so bursts of load from elsewhere
   spread over all of them; the ratio is also given per repeat (the
   median of the repeats' ratios), which cancels slow drifts.

It prints figures and never asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

import numpy as np  # noqa: E402
from bench_trainer import make_arrays, reference_project  # noqa: E402

from mtl_studio.core.graph import Edge, Node  # noqa: E402
from mtl_studio.core.settings import DataSource  # noqa: E402
from mtl_studio.core.tasks import Task  # noqa: E402

ROWS = 25_600
HEARTBEAT_MS = 5


def bench_project(folder: Path, epochs: int, tasks: int = 2):
    """The reference project reading its rows from an .npz file; with more
    than two tasks, a head and a target per task on the same trunk."""
    arrays = make_arrays(ROWS)
    project = reference_project()
    names = ["a", "b"]
    if tasks > 2:
        rng = np.random.default_rng(1)
        x = arrays["x"]
        for k in range(2, tasks):
            name = f"t{k + 1}"
            w = rng.normal(size=(x.shape[1], 1)) / np.sqrt(x.shape[1])
            arrays[name] = (np.tanh(x @ w) * (k + 1)).astype(np.float32)
            project.add_node(
                Node(f"head_{name}", "Dense", f"head_{name}", {"units": 64, "activation": "relu"})
            )
            project.add_node(
                Node(f"out_{name}", "Output", f"out_{name}", {"units": 1, "activation": "linear"})
            )
            project.connect(Edge("shared2", f"head_{name}", 0))
            project.connect(Edge(f"head_{name}", f"out_{name}", 0))
            project.add_task(Task(name, f"out_{name}", "mse"))
            names.append(name)
    path = folder / "reference.npz"
    np.savez(path, **arrays)
    project.data = DataSource("npz", path=str(path), inputs={"x": ["x"]}, standardize_inputs=False)
    for name in names:
        project.task(name).target = [name]
    project.training.epochs = epochs
    return project


def headless(project, out: Path) -> dict:
    """As `mtl-studio train` does it (train_command.train), minus the
    progress bar."""
    from mtl_studio.training import run_folder
    from mtl_studio.training.record import RunRecorder
    from mtl_studio.training.trainer import Trainer

    run_folder.start(project, None, out)
    recorder = RunRecorder(out, project)
    trainer = Trainer(project, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    finished = trainer.run()
    summary, _ = run_folder.finish(trainer, recorder, finished, out)
    return summary


def in_window(app, project, runs_root: Path, heartbeat_ms: int | None = HEARTBEAT_MS) -> dict:
    """Train `project` in a window at 1400 x 900 with the curves tab in
    front; heartbeat_ms=None leaves the GUI thread to the window alone (the
    speed runs: a 200 Hz Python timer is work no user's window does)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer

    from mtl_studio.ui.document import Document
    from mtl_studio.ui.main_window import MainWindow

    settings = QSettings(str(runs_root / "settings.ini"), QSettings.IniFormat)
    window = MainWindow(Document(project.copy()), settings)
    window.runs.runs_root = runs_root
    window.resize(1400, 900)
    window.show()
    app.processEvents()

    ticks: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    heartbeat = QTimer()
    heartbeat.setInterval(heartbeat_ms or HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))
    first_steps: list[float] = []
    refresh_ms: list[float] = []

    def updated():
        if not first_steps and window.runs.curves and window.runs.curves.step:
            first_steps.append(clock.nsecsElapsed() / 1e6)

    # Time the plots' redraw work too: what the 30 Hz timer costs the GUI.
    refresh = window.plots.refresh

    def timed_refresh():
        t0 = time.perf_counter()
        refresh()
        refresh_ms.append((time.perf_counter() - t0) * 1000)

    window.runs.updated.disconnect(window.plots.refresh)
    window.runs.updated.connect(timed_refresh)
    window.runs.updated.connect(updated)
    loop = QEventLoop()
    window.runs.run_finished.connect(lambda finished: loop.quit())
    if heartbeat_ms:
        heartbeat.start()
    cpu_start = time.thread_time()  # this thread is the GUI thread
    window.train()
    loop.exec()  # the real event loop, as the app runs it
    gui_cpu = time.thread_time() - cpu_start
    heartbeat.stop()
    wall = clock.nsecsElapsed() / 1e9
    folder = Path(window.runs.curves.folder)
    summary = json.loads((folder / "summary.json").read_text())
    window.document.undo_stack.set_clean()
    window.close()
    window.deleteLater()
    app.processEvents()

    start = first_steps[0] if first_steps else 0.0
    steady = np.array([t for t in ticks if t >= start])
    gaps = np.diff(steady) - (heartbeat_ms or HEARTBEAT_MS)
    lateness = np.maximum(gaps, 0.0)
    return {
        "summary": summary,
        "longest_ms": float(lateness.max()) if len(lateness) else 0.0,
        "p99_ms": float(np.percentile(lateness, 99)) if len(lateness) else 0.0,
        "ticks": len(steady),
        "refresh_ms": refresh_ms,
        "gui_cpu": gui_cpu / wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one repeat")
    parser.add_argument("--tasks", type=int, default=2, help="task heads (default 2)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 40)")
    parser.add_argument("--repeats", type=int, help="repeats (default 3)")
    args = parser.parse_args()
    epochs, repeats = (8, 1) if args.quick else (40, 3)
    epochs, repeats = args.epochs or epochs, args.repeats or repeats

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from mtl_studio.training.tf_import import tf

    tf()  # import once, outside every measurement
    print(
        f"date {datetime.date.today()}  python {platform.python_version()}  "
        f"{os.cpu_count()} cores  platform {app.platformName()}"
    )
    print(
        f"reference model with {args.tasks} tasks, {ROWS:,} rows, batch 128, {epochs} epochs "
        f"({epochs * ROWS // 128:,} steps) per run, {repeats} repeat(s)\n"
    )
    rates_headless, rates_window, ratios, longest, p99, refresh, gui, gui_beat = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        project = bench_project(tmp, epochs, args.tasks)
        # A first round, not counted: the first window and run of a process
        # pay for imports, caches and pyqtgraph's set-up.
        headless(project.copy(), tmp / "warm-headless")
        in_window(app, project, tmp / "warm-window", heartbeat_ms=None)
        for r in range(repeats):
            s = headless(project.copy(), tmp / f"headless-{r}")
            rates_headless.append(s["steps_per_second"])
            fast = in_window(app, project, tmp / f"window-{r}", heartbeat_ms=None)
            rates_window.append(fast["summary"]["steps_per_second"])
            ratios.append(rates_window[-1] / rates_headless[-1])
            gui.append(fast["gui_cpu"])
            w = in_window(app, project, tmp / f"window-beat-{r}")
            longest.append(w["longest_ms"])
            p99.append(w["p99_ms"])
            refresh += w["refresh_ms"]
            gui_beat.append(w["gui_cpu"])
            print(
                f"repeat {r + 1}: headless {rates_headless[-1]:,.0f} steps/s, window "
                f"{rates_window[-1]:,.0f} steps/s ({ratios[-1]:.2f}), GUI thread CPU "
                f"{100 * gui[-1]:.0f}% of a core; with the heartbeat: longest stall "
                f"{longest[-1]:.1f} ms, p99 lateness {p99[-1]:.1f} ms over "
                f"{w['ticks']:,} heartbeats",
                flush=True,
            )
    h, w_ = statistics.median(rates_headless), statistics.median(rates_window)
    ratio = statistics.median(ratios)
    print()
    print(f"steps/s headless (median)        {h:10,.0f}")
    print(f"steps/s in the window (median)   {w_:10,.0f}")
    print(
        f"window / headless (median of the repeats' ratios) {ratio:.3f}  "
        f"(of the medians {w_ / h:.3f}; repeats {min(ratios):.2f} to {max(ratios):.2f})   "
        f"goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'}"
    )
    lm, pm = statistics.median(longest), statistics.median(p99)
    print(
        f"GUI longest stall (median)       {lm:10.1f} ms   goal < 50 ms: "
        f"{'met' if lm < 50 else 'NOT met'}"
    )
    print(
        f"GUI p99 lateness (median)        {pm:10.1f} ms   goal < 20 ms: "
        f"{'met' if pm < 20 else 'NOT met'}"
    )
    print(
        f"GUI thread CPU (median)          {100 * statistics.median(gui):10.1f} % of a core "
        f"({100 * statistics.median(gui_beat):.1f} % with the heartbeat)"
    )
    if refresh:
        print(
            f"plots refresh per drain          {statistics.median(refresh):10.2f} ms median, "
            f"{max(refresh):.2f} ms max ({len(refresh):,} drains)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
