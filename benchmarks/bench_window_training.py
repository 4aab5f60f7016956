"""Training in the window: does the GUI stay responsive, and does the window
train as fast as the command line?

    .venv/bin/python benchmarks/bench_window_training.py           # ~2 min on 2 cores
    .venv/bin/python benchmarks/bench_window_training.py --quick   # smoke test
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_window_training.py

The model is the reference model of bench_trainer.py (64 inputs, two Dense
256 shared layers, two heads, batch 128, Adam), its 25,600 rows written to
an .npz file the project reads, so the window and the command line load the
same data the same way.

Two figures, each the median over the repeats (the two ways take turns):

1. Responsiveness: while the window trains (curves streaming, the plots
   redrawn by the 30 Hz timer), a 5 ms heartbeat timer on the GUI thread
   records when it fires. A late tick is time the event loop could not
   answer the user. Reported: the longest stall (gap minus 5 ms) and the
   99th percentile of the lateness, measured from the first steps (the
   model build and compile happen on the worker, but are not the steady
   state). Goals: longest < 50 ms, p99 < 20 ms.
2. Speed: steps per second of the run in the window (the worker thread,
   events drained into the plots) against the same project trained
   headless exactly as `mtl-studio train` does (Trainer + RunRecorder on
   the main thread, no Qt). Both rates come from the run's summary.json,
   measured from the end of the first compiled call. Goal: window /
   headless >= 0.95.

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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from bench_trainer import make_arrays, reference_project  # noqa: E402

from mtl_studio.core.settings import DataSource  # noqa: E402

ROWS = 25_600
HEARTBEAT_MS = 5


def bench_project(folder: Path, epochs: int):
    arrays = make_arrays(ROWS)
    path = folder / "reference.npz"
    np.savez(path, **arrays)
    project = reference_project()
    project.data = DataSource("npz", path=str(path), inputs={"x": ["x"]},
                              standardize_inputs=False)
    project.task("a").target = ["a"]
    project.task("b").target = ["b"]
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


def in_window(app, project, runs_root: Path) -> dict:
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
    heartbeat.setInterval(HEARTBEAT_MS)
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
    heartbeat.start()
    window.train()
    loop.exec()  # the real event loop, as the app runs it
    heartbeat.stop()
    folder = Path(window.runs.curves.folder)
    summary = json.loads((folder / "summary.json").read_text())
    window.document.undo_stack.set_clean()
    window.close()
    window.deleteLater()
    app.processEvents()

    start = first_steps[0] if first_steps else 0.0
    steady = np.array([t for t in ticks if t >= start])
    gaps = np.diff(steady) - HEARTBEAT_MS
    lateness = np.maximum(gaps, 0.0)
    return {"summary": summary, "longest_ms": float(lateness.max()) if len(lateness) else 0.0,
            "p99_ms": float(np.percentile(lateness, 99)) if len(lateness) else 0.0,
            "ticks": len(steady), "refresh_ms": refresh_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one repeat")
    args = parser.parse_args()
    epochs, repeats = (8, 1) if args.quick else (40, 3)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from mtl_studio.training.tf_import import tf

    tf()  # import once, outside every measurement
    print(f"date {datetime.date.today()}  python {platform.python_version()}  "
          f"{os.cpu_count()} cores  platform {app.platformName()}")
    print(f"reference model, {ROWS:,} rows, batch 128, {epochs} epochs "
          f"({epochs * ROWS // 128:,} steps) per run, {repeats} repeat(s)\n")
    rates_headless, rates_window, longest, p99, refresh = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        project = bench_project(tmp, epochs)
        for r in range(repeats):
            s = headless(project.copy(), tmp / f"headless-{r}")
            rates_headless.append(s["steps_per_second"])
            w = in_window(app, project, tmp / f"window-{r}")
            rates_window.append(w["summary"]["steps_per_second"])
            longest.append(w["longest_ms"])
            p99.append(w["p99_ms"])
            refresh += w["refresh_ms"]
            print(f"repeat {r + 1}: headless {rates_headless[-1]:,.0f} steps/s, window "
                  f"{rates_window[-1]:,.0f} steps/s; GUI longest stall {longest[-1]:.1f} ms, "
                  f"p99 lateness {p99[-1]:.1f} ms over {w['ticks']:,} heartbeats", flush=True)
    h, w_ = statistics.median(rates_headless), statistics.median(rates_window)
    ratio = w_ / h
    print()
    print(f"steps/s headless (median)        {h:10,.0f}")
    print(f"steps/s in the window (median)   {w_:10,.0f}")
    print(f"window / headless                {ratio:10.3f}   goal >= 0.95: "
          f"{'met' if ratio >= 0.95 else 'NOT met'}")
    lm, pm = statistics.median(longest), statistics.median(p99)
    print(f"GUI longest stall (median)       {lm:10.1f} ms   goal < 50 ms: "
          f"{'met' if lm < 50 else 'NOT met'}")
    print(f"GUI p99 lateness (median)        {pm:10.1f} ms   goal < 20 ms: "
          f"{'met' if pm < 20 else 'NOT met'}")
    if refresh:
        print(f"plots refresh per drain          {statistics.median(refresh):10.2f} ms median, "
              f"{max(refresh):.2f} ms max ({len(refresh):,} drains)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
