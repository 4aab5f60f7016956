"""Prediction on large CSV files: rows per second and peak memory.

Trains the energy example for one epoch (a real run folder), writes CSV
files of 100,000 and 1,000,000 rows in the example's columns, and runs
`mtl-studio predict` on each in a fresh process, reporting wall time, rows
per second and the process's peak resident memory. A file streamed in
blocks keeps the peak near the same for both sizes; a file read whole
would grow it by the file's size.

    .venv/bin/python benchmarks/bench_predict.py [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = [
    "relative_compactness",
    "surface_area",
    "wall_area",
    "roof_area",
    "overall_height",
    "orientation",
    "glazing_area",
    "glazing_area_distribution",
]


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            block = rng.uniform(0, 800, size=(n, len(COLUMNS)))
            np.savetxt(f, block, fmt="%.3f", delimiter=",")


# The command in a child that reports its own peak resident memory on exit
# (RUSAGE_CHILDREN would report the largest child so far: the training run).
MEASURED = """
import resource, runpy, sys
sys.argv = ["mtl-studio"] + sys.argv[1:]
try:
    runpy.run_module("mtl_studio", run_name="__main__")
finally:
    print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_of(arguments: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MiB) of `mtl-studio ARGUMENTS` in a child."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *arguments],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak_kib = int(done.stderr.rsplit("PEAK_KIB", 1)[1].split()[0])
    return seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    cli = [sys.executable, "-m", "mtl_studio"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(
            cli + ["train", "energy", "--epochs", "1", "--out", str(tmp / "run")],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print(f"{'rows':>10} {'file MiB':>9} {'seconds':>8} {'rows/s':>9} {'peak MiB':>9}")
        for rows in sorted(args.rows):
            data = tmp / f"rows{rows}.csv"
            write_csv(data, rows)
            seconds, peak = peak_of(
                ["predict", str(tmp / "run"), str(data), "--out", str(tmp / "out.csv")]
            )
            size = data.stat().st_size / 2**20
            print(f"{rows:>10,} {size:>9.1f} {seconds:>8.1f} {rows / seconds:>9,.0f} {peak:>9.0f}")


if __name__ == "__main__":
    main()
