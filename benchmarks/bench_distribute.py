"""What tf.distribute costs on one machine: steps per second of the
reference model (benchmarks/bench_trainer.py) trained on one device and
mirrored over 2 logical CPU devices (--cpu-devices 2), joint fixed and
joint PCGrad, batch 128.

    .venv/bin/python benchmarks/bench_distribute.py           # ~2 min on 2 cores
    .venv/bin/python benchmarks/bench_distribute.py --quick   # smoke test

Each configuration runs in a process of its own (the CPU must be split
before TensorFlow starts); each takes a warm-up epoch, then the median of
3 timed epochs of 200 steps. Mirrored over logical CPU devices shares the
same cores, so it shows the cost of the replicas' synchronisation, not a
gain: on a machine with several GPUs each replica has its own device.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
from mtl_studio.training import distribute
if {devices}:
    distribute.split_cpu({devices})
from bench_trainer import make_arrays, prepared_data, reference_project
from mtl_studio.training.trainer import Trainer
project = reference_project("joint", {weighting!r})
steps = {steps}
data = prepared_data(make_arrays(steps * 128))
dist = distribute.make_distribution("mirrored") if {devices} else None
trainer = Trainer(project, data=data, distribution=dist)
trainer.run(1)
times = []
for epoch in range(2, 2 + {repeats}):
    start = time.perf_counter()
    trainer.run(epoch)
    times.append(time.perf_counter() - start)
print("RESULT " + json.dumps({{"seconds": times, "steps": steps, "xla": trainer.xla}}))
"""


def measure(weighting: str, devices: int, steps: int, repeats: int) -> dict:
    code = CHILD.format(
        root=str(ROOT),
        bench=str(ROOT / "benchmarks"),
        devices=devices,
        weighting=weighting,
        steps=steps,
        repeats=repeats,
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(done.stderr[-3000:])
    result = json.loads(line[len("RESULT ") :])
    result["steps_per_second"] = steps / statistics.median(result["seconds"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, repeats = (20, 1) if args.quick else (200, 3)
    print(
        f"{datetime.date.today()}  {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"{'weighting':<10} {'devices':<26} {'steps/s':>9} {'x one device':>13}")
    started = time.perf_counter()
    for weighting in ("fixed", "pcgrad"):
        one = measure(weighting, 0, steps, repeats)
        two = measure(weighting, 2, steps, repeats)
        for label, r in (("one device (XLA)", one), ("mirrored, 2 CPU devices", two)):
            ratio = r["steps_per_second"] / one["steps_per_second"]
            print(f"{weighting:<10} {label:<26} {r['steps_per_second']:>9,.0f} {ratio:>13.2f}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
