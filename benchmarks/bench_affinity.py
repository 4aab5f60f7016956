"""What task affinity costs a run.

The energy example (2 tasks) and a 4-task variant trained headless with
affinity off, every 10 steps and every step; prints steps per second and
the cost of one measurement in milliseconds (the extra time over the run
without it, divided by the measurements). Median of 3, in turns.

    .venv/bin/python benchmarks/bench_affinity.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from mtl_studio.api import add_task, load
from mtl_studio.training import events as ev
from mtl_studio.training.trainer import Trainer


def four_tasks():
    project = load("energy")
    trunk = project.node_by_name("trunk_2") or project.node_by_name("trunk_1")
    for k, column in enumerate(("heating_load", "cooling_load")):
        add_task(project, f"copy{k}", trunk.name, target=column)
    return project


def timed(project, every: int, epochs: int) -> tuple[float, int, int]:
    project = project.copy()
    project.training.affinity_every = every
    project.training.epochs = epochs
    counted = []
    trainer = Trainer(
        project, None, lambda b: counted.extend(e for e in b if isinstance(e, ev.Affinity))
    )
    trainer.setup()
    trainer.run(1)  # compiles the step (and the affinity) before the clock
    start = time.perf_counter()
    trainer.run(epochs + 1)
    seconds = time.perf_counter() - start
    return seconds, trainer.step - trainer.steps_per_epoch, len(counted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    for name, project in (("energy, 2 tasks", load("energy")), ("4 tasks", four_tasks())):
        results = {every: [] for every in (0, 10, 1)}
        for _ in range(3):
            for every in results:
                results[every].append(timed(project, every, args.epochs))
        base = statistics.median(r[0] for r in results[0])
        steps = results[0][0][1]
        print(f"{name}: {steps} steps, off: {steps / base:,.0f} steps/s")
        for every in (10, 1):
            seconds = statistics.median(r[0] for r in results[every])
            measured = max(1, statistics.median(r[2] for r in results[every]))
            cost = (seconds - base) / measured * 1000
            print(
                f"  every {every:>2} steps: {steps / seconds:,.0f} steps/s, "
                f"{measured} measurements, {cost:.2f} ms each"
            )


if __name__ == "__main__":
    main()
