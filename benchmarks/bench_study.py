"""A study's overhead against its runs run one by one.

The energy example with --baselines and one weighting, 2 seeds (8 runs):
first the study (run_study: plan, runs through the one run path, scoring,
state and table), then the same 8 runs by hand, each through run_project
and evaluate in the same process. Both after a warm-up run, alternating
twice. Goal (issue 14): the study under 5 % above its runs.

    .venv/bin/python benchmarks/bench_study.py [--epochs 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from mtl_studio.api import load
from mtl_studio.study.plan import configurations, planned_runs
from mtl_studio.study.runner import run_study
from mtl_studio.training.evaluation import evaluate, open_run
from mtl_studio.training.run import run_project


def by_hand(project, out: Path, epochs: int) -> float:
    runs = planned_runs(configurations(project, True, ["dwa"]), 2, project.training.seed)
    start = time.perf_counter()
    for planned in runs:
        folder = out / planned.folder
        run_project(planned.project(epochs), None, folder)
        evaluate(open_run(folder), split="test")
    return time.perf_counter() - start


def as_study(project, out: Path, epochs: int) -> float:
    start = time.perf_counter()
    run_study(project, out, baselines=True, weightings=["dwa"], seeds=2, epochs=epochs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    project = load("energy")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_project(project, None, tmp / "warm-up")  # TensorFlow's start, once
        hand, study = [], []
        for k in range(args.repeats):
            hand.append(by_hand(project, tmp / f"hand{k}", args.epochs))
            study.append(as_study(project, tmp / f"study{k}", args.epochs))
    h, s = statistics.median(hand), statistics.median(study)
    print(
        f"8 runs of {args.epochs} epochs: by hand {h:.1f} s, as a study {s:.1f} s "
        f"(each median of {args.repeats}: {hand}, {study})"
    )
    print(f"overhead {100 * (s / h - 1):+.1f} % (goal: under 5 %)")


if __name__ == "__main__":
    main()
