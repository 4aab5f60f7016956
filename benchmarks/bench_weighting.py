"""Time per training step of every weighting method against fixed weights,
on a small model, with the MTL Studio Trainer.

    .venv/bin/python benchmarks/bench_weighting.py               # 2 and 3 tasks (~3 min on 2 cores)
    .venv/bin/python benchmarks/bench_weighting.py --tasks 2     # one task count
    .venv/bin/python benchmarks/bench_weighting.py --quick       # smoke test (~40 s)

It prints figures and never asserts a timing: the numbers depend on the
machine and on whatever else runs on it.

Model (an MTL Studio project, built by builder.build_model, the same for
every weighting):

    x (32) -> Dense 128 relu -> Dense 128 relu   (shared trunk)
           -> per task: Dense 32 relu -> Output Dense 1 linear, mse
    batch 64, Adam lr 1e-3, seeded random in-memory data, no validation split.

Each row times whole Trainer.run() calls (the compiled multi-step calls,
events, the gradient-cosine report, epoch ends) after a warm-up (one epoch,
which covers tracing and XLA compilation, then one round of measurements
that is not counted); the weightings take turns, each measurement is
repeated and the median is reported, with the time per step relative to
fixed weights.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

from mtl_studio.core.building import add_input, add_layer, add_task  # noqa: E402
from mtl_studio.core.project import Project  # noqa: E402
from mtl_studio.core.settings import WEIGHTINGS, DataSource  # noqa: E402
from mtl_studio.data.prepare import DataSet, PreparedData, Split  # noqa: E402

INPUTS = 32
WIDTH = 128
HEAD = 32
BATCH = 64
LEARNING_RATE = 1e-3
SEED = 0
DATA_SEED = 12345

FULL = dict(steps_per_epoch=100, epochs=30, repeats=5)
QUICK = dict(steps_per_epoch=40, epochs=5, repeats=2)


def project(weighting: str, tasks: int) -> Project:
    p = Project("bench weighting")
    add_input(p, "x", [INPUTS])
    add_layer(p, "Dense", "x", "shared1", units=WIDTH, activation="relu")
    add_layer(p, "Dense", "shared1", "shared2", units=WIDTH, activation="relu")
    for k in range(tasks):
        head = add_layer(p, "Dense", "shared2", f"head{k}", units=HEAD, activation="relu")
        add_task(p, f"t{k}", head, loss="mse", output=f"out{k}")
    s = p.training
    s.weighting = weighting
    s.batch_size = BATCH
    s.optimizer.name = "adam"
    s.optimizer.learning_rate = LEARNING_RATE
    s.validation_split = 0.0
    s.seed = SEED
    p.data = DataSource("generator", "none", inputs={"x": ["x"]})
    return p


def data(rows: int, tasks: int) -> PreparedData:
    rng = np.random.default_rng(DATA_SEED)
    x = rng.normal(size=(rows, INPUTS)).astype(np.float32)
    targets = {}
    for k in range(tasks):
        w = rng.normal(size=(INPUTS, 1)) / np.sqrt(INPUTS)
        y = np.tanh(x @ w) * (k + 1) + 0.1 * rng.normal(size=(rows, 1))
        targets[f"t{k}"] = y.astype(np.float32)
    train = Split({"x": x}, targets)
    val = Split({"x": x[:0]}, {t: v[:0] for t, v in targets.items()})
    names = list(targets)
    return PreparedData(
        [DataSet("the project's data", "bench", names, train, val, val)],
        dict.fromkeys(names, 0),
        {},
        {},
    )


class Row:
    def __init__(self, weighting: str, tasks: int, prepared: PreparedData, epochs: int) -> None:
        from mtl_studio.training.trainer import Trainer

        self.weighting = weighting
        self.epochs = epochs
        self.seconds_per_step: list[float] = []
        self.trainer = Trainer(
            project(weighting, tasks), callback=lambda events: None, data=prepared
        )
        start = time.perf_counter()
        done = self.trainer.run(epochs=1)  # setup (build, trace, compile) and one epoch
        if done.status != "completed":
            raise SystemExit(f"{weighting}: warm-up ended {done.status}: {done.message}")
        self.warmup = time.perf_counter() - start

    def measure(self) -> None:
        tr = self.trainer
        before = tr.step
        target = tr.step // tr.steps_per_epoch + self.epochs
        start = time.perf_counter()
        done = tr.run(epochs=target)
        seconds = time.perf_counter() - start
        if done.status != "completed":
            raise SystemExit(f"{self.weighting}: run ended {done.status}: {done.message}")
        self.seconds_per_step.append(seconds / (tr.step - before))

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_step)


def bench(tasks: int, cfg: dict) -> None:
    rows = cfg["steps_per_epoch"] * BATCH
    prepared = data(rows, tasks)
    print(
        f"\n{tasks} tasks: {rows} rows ({cfg['steps_per_epoch']} steps/epoch), "
        f"{cfg['epochs'] * cfg['steps_per_epoch']} steps per measurement, "
        f"median of {cfg['repeats']}"
    )
    print("warm-up (build, trace, XLA, one epoch):", flush=True)
    table = []
    for weighting in WEIGHTINGS:
        row = Row(weighting, tasks, prepared, cfg["epochs"])
        xla = "XLA" if row.trainer.xla else "no XLA: " + row.trainer.xla_error[:60]
        print(f"  {weighting:<12}{row.warmup:6.1f} s  ({xla})", flush=True)
        table.append(row)
    # A first round, not counted: thread pools, caches and the
    # gradient-cosine report's first call settle.
    for row in table:
        row.measure()
        row.seconds_per_step.clear()
    for r in range(cfg["repeats"]):
        print(f"repeat {r + 1}/{cfg['repeats']}:", end="", flush=True)
        for row in table:
            row.measure()
            print(f" {1000 * row.seconds_per_step[-1]:.2f}", end="", flush=True)
        print(flush=True)
    fixed = table[0].median
    print(f"\n{'weighting':<14}{'ms/step':>9}{'steps/s':>9}{'x fixed':>9}{'min-max ms':>14}")
    for row in table:
        spread = f"{1000 * min(row.seconds_per_step):.2f}-{1000 * max(row.seconds_per_step):.2f}"
        print(
            f"{row.weighting:<14}{1000 * row.median:9.2f}{1 / row.median:9.0f}"
            f"{row.median / fixed:9.2f}{spread:>14}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-test run")
    parser.add_argument(
        "--tasks", type=int, nargs="+", default=[2, 3], help="task counts (default 2 3)"
    )
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    wall = time.perf_counter()

    from mtl_studio.training.tf_import import keras, tf  # quiet import

    k, t = keras(), tf()
    print("MTL Studio weighting benchmark" + (" (--quick)" if args.quick else " (full)"))
    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(
        f"machine   os.cpu_count()={os.cpu_count()}  {platform.platform()}  "
        f"load average {os.getloadavg()[0]:.2f} (1 min) at start"
    )
    print(
        f"software  Python {platform.python_version()}  TensorFlow {t.__version__}  "
        f"Keras {k.__version__}  numpy {np.__version__}"
    )
    print(
        f"model     {INPUTS} -> Dense {WIDTH} relu -> Dense {WIDTH} relu (shared) -> per task "
        f"Dense {HEAD} relu -> Dense 1, mse; Adam {LEARNING_RATE:g}, batch {BATCH}"
    )
    for tasks in args.tasks:
        bench(tasks, cfg)
    print(
        f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end; whole benchmark "
        f"{time.perf_counter() - wall:.0f} s"
    )


if __name__ == "__main__":
    main()
