"""What the window does on every edit, timed on a 200-node project:
validation, shape inference, roles and auto layout, and one edit (SetParam
through the undo stack) followed by validate.

    .venv/bin/python benchmarks/bench_validation.py            # 50 runs each
    .venv/bin/python benchmarks/bench_validation.py --runs 200

It prints figures and never asserts a timing. The goal it reports on:
validate after an edit well under one frame (16 ms) for 200 nodes. Then it
prints where validate spends its time (cProfile, functions of mtl_studio).

The project: an Input (32 features); a trunk of 39 nodes (a Dense, nine
blocks of two parallel Dense 64 merged by a Concatenate or an Add and
followed by a Dense, two more Dense); ten task heads of 15 Dense 32 and an
Output 1 each, five hanging from the middle of the trunk and five from its
end; ten mse tasks.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import os
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mtl_studio.core.commands import SetParam, UndoStack  # noqa: E402
from mtl_studio.core.graph import Edge, Node  # noqa: E402
from mtl_studio.core.layout import auto_layout  # noqa: E402
from mtl_studio.core.project import Project  # noqa: E402
from mtl_studio.core.tasks import Task  # noqa: E402
from mtl_studio.core.validation import errors, infer_shapes, validate  # noqa: E402

FRAME_MS = 16.0
TASKS = 10
HEAD_DEPTH = 15


def build_project() -> Project:
    p = Project("bench")

    def add(node_id: str, kind: str, *parents: str, **params) -> str:
        p.add_node(Node(node_id, kind, node_id, params))
        for parent in parents:
            p.connect(Edge(parent, node_id, p.graph.free_port(node_id)))
        return node_id

    last = add("trunk_0", "Dense", add("x", "Input", shape=[32]), units=64)
    middle = last
    for b in range(9):
        left = add(f"b{b}_left", "Dense", last, units=64)
        right = add(f"b{b}_right", "Dense", last, units=64)
        merge = add(f"b{b}_merge", "Concatenate" if b % 2 else "Add", left, right)
        last = add(f"b{b}_out", "Dense", merge, units=64)
        if b == 4:
            middle = last
    last = add("trunk_end", "Dense", add("trunk_pre", "Dense", last, units=64), units=64)
    for t in range(TASKS):
        below = middle if t < TASKS // 2 else last
        for d in range(HEAD_DEPTH):
            below = add(f"t{t}_h{d}", "Dense", below, units=32)
        p.add_task(Task(f"task{t}", add(f"t{t}_out", "Output", below, units=1), "mse"))
    return p


def timed(fn, runs: int) -> list[float]:
    """Milliseconds of each of `runs` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"  {label:<34} median {median:8.2f} ms   max {max(times):8.2f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each row")
    runs = parser.parse_args().runs

    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine   os.cpu_count()={os.cpu_count()}  {platform.platform()}  {platform.machine()}")
    print(f"software  Python {platform.python_version()} ({platform.python_implementation()})")

    p = build_project()
    problems = validate(p)
    print(
        f"project   {len(p.nodes)} nodes, {len(p.edges)} edges, {len(p.tasks)} tasks; "
        f"validate finds {len(errors(problems))} errors, "
        f"{len(problems) - len(errors(problems))} warnings"
    )
    print(f"timings   {runs} runs each, after one warm-up")

    row("validate(project)", timed(lambda: validate(p), runs))
    row("infer_shapes(project)", timed(lambda: infer_shapes(p), runs))
    row("project.roles()", timed(p.roles, runs))
    row("auto_layout(project)", timed(lambda: auto_layout(p), runs))

    stack = UndoStack(p)
    units = iter(range(10**9))

    def edit_then_validate():
        # A new value each time, as typing in the inspector would give.
        stack.push(SetParam("b4_out", "units", 64 + next(units) % 7))
        validate(p)

    edit = row("SetParam push + validate", timed(edit_then_validate, runs))
    verdict = "met" if edit < FRAME_MS / 2 else "not met"
    print(
        f"goal      validate after an edit well under one frame ({FRAME_MS:.0f} ms), "
        f"taken as under {FRAME_MS / 2:.0f} ms: median {edit:.2f} ms -> {verdict}"
    )

    print(
        "\nwhere validate spends its time (cProfile, 20 calls, mtl_studio functions, by own time):"
    )
    profile = cProfile.Profile()
    profile.runcall(lambda: [validate(p) for _ in range(20)])
    stats = pstats.Stats(profile)
    rows = [
        (tt, nc, ct, f) for f, (_, nc, tt, ct, _) in stats.stats.items() if "mtl_studio" in f[0]
    ]
    print(f"  {'own ms':>8} {'total ms':>9} {'calls':>8}  function")
    for tt, nc, ct, (file, line, name) in sorted(rows, reverse=True)[:10]:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line} {name}"
        print(f"  {tt * 1000:8.1f} {ct * 1000:9.1f} {nc:8d}  {where}")


if __name__ == "__main__":
    main()
