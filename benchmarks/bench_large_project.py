"""How long the window takes to open a large project: a chain of Dense
layers of 1,000, 3,000 and 5,000 nodes (5,000 is the file format's limit),
each opened in a fresh process: open_path (read, validate, build the
canvas and the panels) and the first round of events after it (the first
paint of every item).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_large_project.py

Prints figures; asserts nothing.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1000, 3000, 5000)

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from PySide6.QtWidgets import QApplication
from mtl_studio.core.fileformat import save
from mtl_studio.core.graph import Edge, Node
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
n = {n}
p = Project("large")
ids = ["x"] + [f"d{{i}}" for i in range(n - 2)] + ["o"]
p.add_node(Node("x", "Input", "x", {{"shape": [4]}}))
for i in ids[1:-1]:
    p.add_node(Node(i, "Dense", i, {{"units": 4}}))
p.add_node(Node("o", "Output", "o", {{"units": 1}}))
for a, b in zip(ids, ids[1:]):
    p.connect(Edge(a, b, 0))
p.add_task(Task("t", "o", "mse"))
path = Path({folder!r}) / "large.mtl.json"
save(p, path)
app = QApplication([])
from mtl_studio.ui.main_window import MainWindow
window = MainWindow()
window.resize(1400, 900)
window.show()
start = time.perf_counter()
window.open_path(path, ask=False)
opened = time.perf_counter() - start
start = time.perf_counter()
app.processEvents()
print(f"RESULT {{opened:.2f}} {{time.perf_counter() - start:.2f}}")
"""


def main() -> None:
    print(
        f"{datetime.date.today()}  {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"{'nodes':>6} {'open_path s':>12} {'first paint s':>14}")
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    for n in SIZES:
        with tempfile.TemporaryDirectory() as folder:
            code = CHILD.format(root=str(ROOT), n=n, folder=folder)
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env
            )
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(done.stderr[-3000:])
        opened, painted = line.split()[1:]
        print(f"{n:>6} {opened:>12} {painted:>14}")


if __name__ == "__main__":
    main()
