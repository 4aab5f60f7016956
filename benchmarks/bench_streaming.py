"""Training from a CSV file larger than memory: speed and resident memory of
the streamed path (data/stream.py, training/feed.py) against the same rows
held in memory.

    .venv/bin/python benchmarks/bench_streaming.py               # a 2 GB file
    .venv/bin/python benchmarks/bench_streaming.py --quick       # 0.1 GB (~2 min)
    .venv/bin/python benchmarks/bench_streaming.py --size-gb 5
    .venv/bin/python benchmarks/bench_streaming.py --threshold   # the "auto" size

The model is bench_trainer.py's reference model (64 inputs -> Dense 256 ->
Dense 256 shared, two heads Dense 64 -> Output 1, mse, batch 128, Adam
1e-3, steps_per_call 20), here read from a CSV file of 64 input columns and
2 target columns, written into a temporary folder (deleted at the end): a
block of 50,000 seeded random rows repeated to the size asked for.

Each run is a child process (`--child`) that builds the project, prepares
the data (timed), builds the model and trains a fixed number of steps; the
parent samples the child's /proc/PID/status every 20 ms: VmRSS, and its
RssAnon (heap: arrays, the model) and RssFile (mapped files, libraries)
parts. Printed:

- steps/s of the streamed run and of the in-memory run on a smaller file
  that fits (same model, same steps), and their ratio (goal >= 0.9);
- peak RSS minus the RSS after the model is built (goal: flat, well under
  1 GB above the model's own), for both.

--threshold prepares and trains small files both ways, to see from which
size streaming costs nothing (data/stream.py's STREAM_BYTES).

It prints figures and never asserts a timing: the numbers depend on the
machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

INPUTS = 64
BLOCK_ROWS = 50_000
DATA_SEED = 12345
SAMPLE_SECONDS = 0.02
WARM_STEPS = 200  # steps left out of the rate: tracing, XLA, the first reads


# --- the file ----------------------------------------------------------------------


def write_csv(path: Path, size_bytes: int) -> int:
    """A CSV of about size_bytes: x1..x64, a, b; returns its rows."""
    from bench_trainer import make_arrays  # the reference model's data

    arrays = make_arrays(BLOCK_ROWS)
    table = np.concatenate([arrays["x"], arrays["a"], arrays["b"]], axis=1)
    header = ",".join([f"x{i + 1}" for i in range(INPUTS)] + ["a", "b"]) + "\n"
    lines = "\n".join(",".join(f"{v:.5f}" for v in row) for row in table.tolist()) + "\n"
    block = lines.encode()
    per_row = len(block) / BLOCK_ROWS
    rows = 0
    with open(path, "wb") as f:
        f.write(header.encode())
        left = size_bytes - len(header)
        while left >= len(block):
            f.write(block)
            left -= len(block)
            rows += BLOCK_ROWS
        tail = int(left // per_row)
        if tail:
            cut = block.split(b"\n", tail)[:tail]
            f.write(b"\n".join(cut) + b"\n")
            rows += tail
    return rows


def project_for(csv: Path, loading: str):
    from bench_trainer import reference_project

    from mtl_studio.core.settings import DataSource

    p = reference_project("joint", "fixed")
    p.data = DataSource("csv", path=str(csv), inputs={"x": [f"x{i + 1}" for i in range(INPUTS)]})
    p.task("a").target = ["a"]
    p.task("b").target = ["b"]
    p.training.data_loading = loading
    p.training.validation_split = 0.0
    p.training.epochs = 1000
    return p


# --- the child: prepare, build, train --------------------------------------------------


def child(csv: Path, loading: str, steps: int) -> None:
    from mtl_studio.training import events as ev
    from mtl_studio.training.trainer import Trainer

    def mark(what, **figures):
        print(json.dumps({"mark": what, "time": time.time(), **figures}), flush=True)

    seen = []

    def keep(events):
        for e in events:
            if isinstance(e, ev.StepLosses):
                if (seen[-1][0] if seen else 0) < WARM_STEPS <= e.steps[-1]:
                    mark("warm")  # compiled, the first reads done
                seen.append((int(e.steps[-1]), float(e.wall[-1])))
                if e.steps[-1] >= steps:
                    trainer.stop()

    project = project_for(csv, loading)
    start = time.perf_counter()
    from mtl_studio.data.prepare import prepare

    data = prepare(project, None)
    prepared = time.perf_counter() - start
    mark("prepared", seconds=prepared)
    trainer = Trainer(project, None, keep, data=data, flush_seconds=0.01)
    trainer.setup()
    mark("built", feed=type(trainer.feed).__name__, rows=data.datasets[0].train.n)
    finished = trainer.run()
    mark("trained", status=finished.status, message=finished.message)
    if finished.status not in ("completed", "stopped"):
        print(getattr(trainer, "error_traceback", ""), file=sys.stderr)
        raise SystemExit(f"the run ended: {finished.message}")
    warm = next((w for s, w in seen if s >= WARM_STEPS), None)
    first = next(s for s, w in seen if w == warm)
    last_step, last_wall = seen[-1]
    rate = (last_step - first) / (last_wall - warm)
    print(
        json.dumps({"mark": "done", "rate": rate, "steps": last_step, "prepare": prepared}),
        flush=True,
    )


def turns(stream_csv: Path, memory_csv: Path, calls: int, repeats: int) -> None:
    """Both Trainers in one process, taking turns (rounds of `calls`
    compiled calls each, with the feed's work, cut as the run loop cuts
    them, without its events): a burst of load from other processes hits
    both alike. Prints the median steps/s of each."""
    import statistics

    from mtl_studio.training.trainer import Trainer

    class Walk:
        def __init__(self, csv: Path, loading: str) -> None:
            self.trainer = Trainer(project_for(csv, loading), None, None)
            self.trainer.setup()
            self.spc = self.trainer.settings.steps_per_call
            self.epoch, self.start, self.rates = 0, 0, []
            self.plan = self.trainer.epoch_plan(0)
            self.call(first=True)

        def call(self, first: bool = False) -> int:
            t = self.trainer
            n = min(self.spc, t.steps_per_epoch - self.start)
            block = t.feed.block(self.plan, self.epoch, self.start, n)
            (t._first_call(block) if first else t._call(block)).numpy()
            self.start += n
            if self.start >= t.steps_per_epoch:
                self.epoch, self.start = self.epoch + 1, 0
                self.plan = t.epoch_plan(self.epoch)
            return n

    walks = {"memory": Walk(memory_csv, "memory"), "stream": Walk(stream_csv, "stream")}
    for _ in range(repeats):
        for walk in walks.values():
            began = time.perf_counter()
            steps = sum(walk.call() for _ in range(calls))
            walk.rates.append(steps / (time.perf_counter() - began))
    medians = {k: statistics.median(w.rates) for k, w in walks.items()}
    rates = {k: [round(x) for x in w.rates] for k, w in walks.items()}
    print(json.dumps({"mark": "turns", **medians, "all": rates}), flush=True)


# --- the parent: run a child, sample its memory -----------------------------------------


def status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon and RssFile of a process, in bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def run_child(csv: Path, loading: str, steps: int) -> dict:
    log = open(csv.with_suffix(f".{loading}.log"), "w+")  # the child's stderr
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", loading, "--csv", str(csv), "--steps", str(steps)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    marks: dict = {}
    samples: list[tuple[float, dict]] = []

    def read():
        for line in proc.stdout:
            if line.startswith("{"):
                got = json.loads(line)
                got["rss"] = status(proc.pid)
                marks[got["mark"]] = got

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        s = status(proc.pid)
        if s:
            samples.append((time.time(), s))
        time.sleep(SAMPLE_SECONDS)
    reader.join()
    if "done" not in marks:
        log.seek(0)
        tail = "\n".join(log.read().splitlines()[-15:])
        raise RuntimeError(f"the {loading} child failed (exit {proc.returncode}):\n{tail}")
    built, warm = marks["built"]["time"], marks["warm"]["time"]
    after = [s for t, s in samples if t >= built]
    base = marks["built"]["rss"] or after[0]
    warm_rss = marks["warm"]["rss"]
    steady = [s for t, s in samples if t >= warm]

    def peak(key, rows):
        return max((s.get(key, 0) for s in rows), default=0)

    return {
        "loading": loading,
        "feed": marks["built"]["feed"],
        "rows": marks["built"]["rows"],
        "rate": marks["done"]["rate"],
        "prepare_s": marks["done"]["prepare"],
        "rss_built": base.get("VmRSS", 0),
        "peak_rss": peak("VmRSS", [s for _, s in samples]),
        "peak_prepare": peak("VmRSS", [s for t, s in samples if t < built]),
        "peak_training": peak("VmRSS", after),
        "growth": peak("VmRSS", after) - base.get("VmRSS", 0),
        "growth_anon": peak("RssAnon", after) - base.get("RssAnon", 0),
        "growth_file": peak("RssFile", after) - base.get("RssFile", 0),
        "rss_warm": warm_rss.get("VmRSS", 0),
        "steady_growth": peak("VmRSS", steady) - warm_rss.get("VmRSS", 0),
    }


def run_turns(stream_csv: Path, memory_csv: Path, repeats: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "turns",
            "--csv",
            str(stream_csv),
            "--memory-csv",
            str(memory_csv),
            "--repeats",
            str(repeats),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    for line in out.stdout.splitlines():
        if line.startswith('{"mark": "turns"'):
            return json.loads(line)
    raise RuntimeError("the turns child failed:\n" + "\n".join(out.stderr.splitlines()[-15:]))


MB = 1 << 20


def show(r: dict, size: int) -> None:
    print(
        f"  {r['loading']:7s} {size / MB:8.0f} MB file, {r['rows']:,} training rows: "
        f"prepare {r['prepare_s']:.1f} s, {r['rate']:.0f} steps/s\n"
        f"          RSS after build {r['rss_built'] / MB:.0f} MB, peak while preparing "
        f"{r['peak_prepare'] / MB:.0f} MB, peak while training {r['peak_training'] / MB:.0f} MB"
        f" (+{r['growth'] / MB:.0f} MB: anon {r['growth_anon'] / MB:+.0f}, "
        f"file {r['growth_file'] / MB:+.0f}); after {WARM_STEPS} steps "
        f"{r['rss_warm'] / MB:.0f} MB, then +{r['steady_growth'] / MB:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=2.0)
    ap.add_argument("--quick", action="store_true", help="a 0.1 GB file, fewer steps")
    ap.add_argument("--memory-gb", type=float, default=None, help="the in-memory file's size")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--threshold", action="store_true", help="measure the auto threshold")
    ap.add_argument("--child", choices=["stream", "memory", "turns"], help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--memory-csv", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--calls", type=int, default=10, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=9, help="turns of each way, for the speed ratio")
    args = ap.parse_args()
    if args.child == "turns":
        turns(args.csv, args.memory_csv, args.calls, args.repeats)
        return
    if args.child:
        child(args.csv, args.child, args.steps)
        return
    size = 0.1 if args.quick else args.size_gb
    steps = args.steps or (1000 if args.quick else 3000)
    memory_size = args.memory_gb or min(size, 0.25)
    print(
        f"bench_streaming {datetime.date.today()}  {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, python {platform.python_version()}"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    try:
        if args.threshold:
            threshold(folder, steps, args.repeats)
            return
        big = folder / "big.csv"
        start = time.perf_counter()
        rows = write_csv(big, int(size * (1 << 30)))
        print(
            f"wrote {big.stat().st_size / MB:.0f} MB, {rows:,} rows in {time.perf_counter() - start:.0f} s"
        )
        if memory_size < size:
            small = folder / "small.csv"
            write_csv(small, int(memory_size * (1 << 30)))
        else:
            small = big
        print(f"{steps} steps each, the rate over the steps after the first {WARM_STEPS}:")
        streamed = run_child(big, "stream", steps)
        show(streamed, big.stat().st_size)
        memory = run_child(small, "memory", steps)
        show(memory, small.stat().st_size)
        both = run_turns(big, small, args.repeats)
        print(
            f"  taking turns in one process ({args.repeats} rounds of 10 calls each): streamed "
            f"{both['stream']:.0f} steps/s, in memory {both['memory']:.0f} steps/s, ratio "
            f"{both['stream'] / both['memory']:.2f} (goal >= 0.9)\n    rounds: {both['all']}"
        )
        print(
            f"  ratio of the whole runs streamed / in memory: "
            f"{streamed['rate'] / memory['rate']:.2f} (separate processes); "
            f"streamed RSS growth while training: {streamed['growth'] / MB:.0f} MB over the "
            f"model's, {streamed['steady_growth'] / MB:.0f} MB after the first {WARM_STEPS} "
            "steps (goal: flat, under 1 GB)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def threshold(folder: Path, steps: int, repeats: int) -> None:
    """Small files both ways: preparation time, speed and peak memory."""
    print(f"small files, {steps} steps each:")
    for mb in (4, 16, 64, 256):
        path = folder / f"t{mb}.csv"
        write_csv(path, mb * MB)
        rows = {}
        for loading in ("memory", "stream"):
            rows[loading] = r = run_child(path, loading, steps)
            show(r, path.stat().st_size)
        m, s = rows["memory"], rows["stream"]
        both = run_turns(path, path, repeats)
        print(
            f"  {mb} MB: stream/memory speed {both['stream'] / both['memory']:.2f} taking turns "
            f"({both['stream']:.0f} / {both['memory']:.0f} steps/s), prepare "
            f"{s['prepare_s'] - m['prepare_s']:+.2f} s, peak RSS "
            f"{(s['peak_rss'] - m['peak_rss']) / MB:+.0f} MB"
        )
        path.unlink()


if __name__ == "__main__":
    main()
