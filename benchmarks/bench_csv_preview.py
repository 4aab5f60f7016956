"""A large CSV file in the Data panel: how soon does the preview show, how
long does the whole read take, and does the window stay responsive?

    .venv/bin/python benchmarks/bench_csv_preview.py           # ~2 min on 2 cores
    .venv/bin/python benchmarks/bench_csv_preview.py --quick   # 100,000 rows, one repeat
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_csv_preview.py

The file: 1,000,000 rows x 20 numeric columns (4 decimals, about 150 MB),
written once to a temporary folder. Each repeat opens it in a new Data
panel (450 x 800, shown) exactly as Browse... does, and measures from the
call:

1. Preview: until the preview table holds rows and has painted them.
   Goal: under 2 s.
2. Read and profile: until the whole file is read, profiled and the
   project's data changed (the panel's read_finished).
3. Responsiveness meanwhile: a 10 ms heartbeat timer on the GUI thread
   records when it fires; lateness is each gap minus 10 ms. Reported: the
   longest stall and the 99th percentile of the lateness. Goals: longest
   < 100 ms, p99 < 20 ms.

Then, for comparison, the same file read without Qt: read_csv_head,
read_csv and profile_table alone.

It prints figures and never asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

HEARTBEAT_MS = 10
COLUMNS = 20


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(COLUMNS)) + "\n")
        for start in range(0, rows, 100_000):  # in slices: bounded memory
            block = rng.normal(size=(min(100_000, rows - start), COLUMNS))
            np.savetxt(f, block, delimiter=",", fmt="%.4f")


def in_panel(app, path: Path) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from mtl_studio.core.project import Project
    from mtl_studio.ui.background import wait_for_background
    from mtl_studio.ui.data_panel import DataPanel
    from mtl_studio.ui.document import Document

    document = Document(Project("bench"))
    panel = DataPanel(document)
    panel.resize(450, 800)
    panel.show()
    app.processEvents()

    clock = QElapsedTimer()
    ticks: list[float] = []
    marks: dict[str, float] = {}
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))

    def preview():
        if "preview" not in marks and panel.preview_model.rowCount():
            panel.preview_view.viewport().repaint()  # painted, not just modelled
            marks["preview"] = clock.nsecsElapsed() / 1e6

    loop = QEventLoop()

    def finished(key):
        marks["done"] = clock.nsecsElapsed() / 1e6
        loop.quit()

    panel.preview_shown.connect(preview)
    panel.read_finished.connect(finished)
    panel.read_failed.connect(lambda message: (print(message), loop.quit()))
    clock.start()
    heartbeat.start()
    panel.open_file(path)
    loop.exec()  # the real event loop, as the app runs it
    heartbeat.stop()
    rows = document.data_profiles and next(iter(document.data_profiles.values())).rows
    panel.close()
    panel.deleteLater()
    wait_for_background()
    document.close()
    app.processEvents()

    gaps = np.diff(np.array([0.0] + ticks)) - HEARTBEAT_MS
    lateness = np.maximum(gaps, 0.0)
    return {
        "preview_s": marks.get("preview", float("nan")) / 1000,
        "done_s": marks.get("done", float("nan")) / 1000,
        "rows": rows,
        "longest_ms": float(lateness.max()) if len(lateness) else 0.0,
        "p99_ms": float(np.percentile(lateness, 99)) if len(lateness) else 0.0,
        "ticks": len(ticks),
    }


def headless(path: Path) -> dict:
    from mtl_studio.data import table as table_module
    from mtl_studio.data.profile import profile_table

    out = {}
    t0 = time.perf_counter()
    table = table_module.read_csv(path)
    out["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    profile_table(table)
    out["profile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table_module.read_csv_head(path)
    out["head"] = time.perf_counter() - t0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one repeat")
    args = parser.parse_args()
    rows, repeats = (100_000, 1) if args.quick else (1_000_000, 3)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(
        f"date {datetime.date.today()}  python {platform.python_version()}  "
        f"{os.cpu_count()} cores  platform {app.platformName()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.perf_counter()
        write_csv(path, rows)
        print(
            f"{rows:,} rows x {COLUMNS} columns, {path.stat().st_size / 1e6:.0f} MB "
            f"(written in {time.perf_counter() - t0:.1f} s), {repeats} repeat(s)\n"
        )
        results = []
        for r in range(repeats):
            result = in_panel(app, path)
            results.append(result)
            print(
                f"repeat {r + 1}: preview {result['preview_s']:.3f} s, read + profile "
                f"{result['done_s']:.2f} s ({result['rows']:,} rows); GUI longest stall "
                f"{result['longest_ms']:.1f} ms, p99 lateness {result['p99_ms']:.1f} ms "
                f"over {result['ticks']:,} heartbeats",
                flush=True,
            )
        alone = headless(path)

    def median(name):
        return statistics.median(r[name] for r in results)

    preview, done = median("preview_s"), median("done_s")
    longest, p99 = median("longest_ms"), median("p99_ms")
    print()
    print(
        f"preview shows rows (median)        {preview:8.3f} s    goal < 2 s: "
        f"{'met' if preview < 2 else 'NOT met'}"
    )
    print(f"read + profile done (median)       {done:8.2f} s")
    print(
        f"GUI longest stall (median)         {longest:8.1f} ms   goal < 100 ms: "
        f"{'met' if longest < 100 else 'NOT met'}"
    )
    print(
        f"GUI p99 lateness (median)          {p99:8.1f} ms   goal < 20 ms: "
        f"{'met' if p99 < 20 else 'NOT met'}"
    )
    print(f"without Qt: read_csv_head          {alone['head']:8.3f} s")
    print(f"without Qt: read_csv               {alone['read']:8.2f} s")
    print(f"without Qt: profile_table          {alone['profile']:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
