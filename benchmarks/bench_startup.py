"""Launch to first shown window, in seconds (goal: under 1.0 s).

Starts `python -m mtl_studio` (the window with the default example) several
times; the app, told by MTL_STUDIO_STARTUP_PROBE, prints the moment its
window is first shown and quits. Uses the real display when DISPLAY is set
(run under xvfb-run for a real X server), else Qt's offscreen platform.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]
    xvfb-run -a .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time


def launch() -> tuple[float, str]:
    env = dict(os.environ, MTL_STUDIO_STARTUP_PROBE="1")
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "mtl_studio"], env=env, capture_output=True, text=True, timeout=60
    )
    for line in out.stdout.splitlines():
        if line.startswith("shown "):
            parts = line.split()
            return float(parts[1]) - start, parts[2]
    raise SystemExit(f"the app did not report a shown window:\n{out.stdout}\n{out.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"date      {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"machine   {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}"
    )
    print(f"display   {'X ' + os.environ['DISPLAY'] if os.environ.get('DISPLAY') else 'offscreen'}")
    launch()  # warm the file cache: the first launch after install reads everything from disk
    times, flags = [], set()
    for _ in range(args.runs):
        seconds, flag = launch()
        times.append(seconds)
        flags.add(flag)
    print(
        f"launch to first shown window, {args.runs} runs: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s, max {max(times):.3f} s"
    )
    print(f"at first show: {', '.join(sorted(flags))}")
    verdict = "met" if statistics.median(times) < 1.0 else "NOT met"
    print(f"goal      under 1.0 s: {verdict}")


if __name__ == "__main__":
    main()
