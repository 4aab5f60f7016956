"""Runs on disk: a run folder's curves read back, and the runs beside a
project (issue 12, "Runs on disk").

`curves_from_folder(folder)` rebuilds the RunCurves a run's events gave the
window, from the files the RunRecorder wrote (training/record.py):
history.csv (a row per step and task, and a validation row per epoch and
task), affinity.csv (task affinity, when measured), cosine.csv (the
gradient cosines, in joint and alternating runs), summary.json (status,
message, best epoch, setting changes, steps per epoch) and the project as trained (project.mtl.json: the tasks in
order and their colours). `project_runs(root)` lists the run folders under
a runs root for the Open Run dialog.

Plain numpy and csv, no Qt and no TensorFlow, so the window reads a folder
off its GUI thread (RunController.open_run) and tests need no window. A
long run's history (200,000 rows) is read in one pass and each series is
appended to once (docs/training.md gives the time).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import numpy as np

from ..core.fileformat import ProjectError, load
from ..training.record import (
    AFFINITY,
    AFFINITY_HEADER,
    COSINE,
    COSINE_HEADER,
    HISTORY,
    PENALTY,
    PENALTY_HEADER,
    SUMMARY,
)
from ..training.run_folder import PROJECT_COPY, RUN_INFO
from .run_curves import Mark, RunCurves, Series

HEADER = ["step", "epoch", "task", "split", "loss", "weight", "wall_seconds"]
SPLITS = ("train", "val")
# A run folder's name ends with the time it started (run_folder.new_folder_name).
_STARTED = re.compile(r"-(\d{8}-\d{6})(?:-\d+)?$")


class RunOpenError(Exception):
    """A folder that cannot be read back as a run. The message names the
    file and says what is wrong with it (and where: a line of history.csv,
    a key of summary.json)."""


# --- one run ---------------------------------------------------------------------


def curves_from_folder(folder: Path) -> RunCurves:
    """The curves of the run in `folder`, as the window showed them while it
    trained: train losses per step, validation losses per epoch, the loss
    weights, the setting changes, the best epoch, the status and message.
    The total is rebuilt as sum_k w_k L_k of each step (the Trainer's own
    formula), plus the soft-sharing penalty of penalty.csv in soft sharing
    (a run without that file has no total). The gradient cosines come from cosine.csv and the task affinity
    measurements from affinity.csv, when the run has them.
    Raises RunOpenError."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise RunOpenError(f"{folder}: there is no such folder")
    history = folder / HISTORY
    if not history.is_file():
        raise RunOpenError(
            f"{folder}: not a run folder: it has no {HISTORY} (a run folder "
            f"holds {HISTORY}, {SUMMARY} and {PROJECT_COPY})"
        )
    project = _project(folder)
    tasks = [t.name for t in project.tasks]
    summary = read_summary(folder)
    table = _read_history(history, tasks)

    mode = _text(summary, "mode", folder) or project.training.mode
    weighting = _text(summary, "weighting", folder) or project.training.weighting
    curves = RunCurves(
        folder.name,
        tasks,
        {t: project.task_color(t) for t in tasks},
        mode=mode,
        weighting=weighting,
        folder=str(folder),
        monitor=project.training.monitor,
    )
    curves.cosine.clear()  # only the pairs cosine.csv holds: no empty plot that waits

    train = table["split"] == SPLITS.index("train")
    kept_train = np.zeros(len(train), bool)
    for index, task in enumerate(tasks):
        mine = table["task"] == index
        rows = _latest(np.flatnonzero(mine & train), table["step"])
        kept_train[rows] = True
        step, wall = table["step"][rows], table["wall"][rows]
        curves.train[task].append(step, wall, table["loss"][rows])
        weight = table["weight"][rows]
        if len(rows):
            # Where the weight changed: a weight "from the step after s on"
            # is a point at s - 1, as the live Weights events give them.
            changed = np.flatnonzero(np.r_[True, weight[1:] != weight[:-1]])
            curves.weights[task].append(step[changed] - 1, wall[changed], weight[changed])
        rows = _latest(np.flatnonzero(mine & ~train), table["step"])
        curves.val[task].append(table["step"][rows], table["wall"][rows], table["loss"][rows])
    penalty = None
    if mode == "soft_sharing" and (folder / PENALTY).is_file():
        penalty = _read_penalty(folder / PENALTY)
    if kept_train.any() and (mode != "soft_sharing" or penalty is not None):
        rows = np.flatnonzero(kept_train)
        steps, first, inverse = np.unique(
            table["step"][rows], return_index=True, return_inverse=True
        )
        weighted = table["weight"][rows] * table["loss"][rows]
        wall = table["wall"][rows][first]
        total = np.bincount(inverse, weights=weighted, minlength=len(steps))
        if penalty is not None:  # the steps that have both
            at = np.minimum(np.searchsorted(penalty[0], steps), max(len(penalty[0]) - 1, 0))
            both = penalty[0][at] == steps if len(penalty[0]) else np.zeros(len(steps), bool)
            steps, wall, total = steps[both], wall[both], total[both] + penalty[1][at[both]]
            curves.penalty.append(steps, wall, penalty[1][at[both]])
        curves.total.append(steps, wall, total)

    last_step = int(table["step"].max()) if len(table["step"]) else 0
    curves.step = max(last_step, _int(summary, "steps", folder) or 0)
    curves.wall = float(table["wall"].max()) if len(table["wall"]) else 0.0
    curves.steps_per_epoch = (
        _int(summary, "steps_per_epoch", folder) or _steps_per_epoch(table)
    ) or 1
    curves.status = _text(summary, "status", folder) or "unknown"
    curves.message = _text(summary, "message", folder) or (
        ""
        if summary
        else f"the run has no {SUMMARY}: it did not finish (it may have been "
        "interrupted, or may still be training)"
    )
    planned = project.training.epochs * curves.steps_per_epoch
    # A run that did not complete goes on to its planned epochs: the x axis
    # shows them, as it did while the run trained.
    curves.total_steps = curves.step if curves.status == "completed" else max(curves.step, planned)
    _best(curves, summary, folder)
    if (folder / AFFINITY).is_file():
        _read_affinity(folder / AFFINITY, curves)
    if (folder / COSINE).is_file():
        _read_cosine(folder / COSINE, curves)
    for change in _changes(summary, folder):
        curves.marks.append(
            Mark(
                change["step"],
                curves.wall_at(change["step"]),
                change["setting"],
                change["task"],
                change["value"],
            )
        )
    curves.version += 1
    return curves


def _read_affinity(path: Path, curves: RunCurves) -> None:
    """affinity.csv (step, from_task, to_task, z: a row per cell of each
    measurement) into the curves: the latest matrix, the sum and the count,
    as the Affinity events gave them. Each measurement has a row per cell,
    so a cell's mean over its rows is the mean over the measurements (a
    continued run's too, as summary.json counts them). A last line without
    its line end (a run killed while writing it) is left out."""
    index = {t: i for i, t in enumerate(curves.tasks)}
    size = len(curves.tasks)
    total, count = np.zeros((size, size)), np.zeros((size, size))
    last, last_step = np.full((size, size), np.nan), None
    for step, a, b, z in _pair_rows(path, AFFINITY_HEADER, curves.tasks):
        i, j = index[a], index[b]
        total[i, j] += z
        count[i, j] += 1
        if step != last_step:
            last, last_step = np.full((size, size), np.nan), step
        last[i, j] = z
    measured = int(count.max()) if size else 0
    if not measured:
        return
    cells = np.flatnonzero(count.max(axis=1) > 0)  # the tasks measured, in run order
    cells = np.union1d(cells, np.flatnonzero(count.max(axis=0) > 0))
    keep = np.ix_(cells, cells)
    curves.affinity_tasks = [curves.tasks[i] for i in cells]
    curves.affinity_count = int(measured)
    with np.errstate(invalid="ignore"):
        curves.affinity_sum = (total / np.where(count > 0, count, np.nan))[keep] * measured
    curves.affinity_last = last[keep]
    curves.affinity_step = last_step


def _read_cosine(path: Path, curves: RunCurves) -> None:
    """cosine.csv (step, task_a, task_b, cosine: a row per pair of each
    report) into a series per pair, as the GradientCosine events gave them."""
    found: dict[tuple[str, str], list] = {}
    for step, a, b, value in _pair_rows(path, COSINE_HEADER, curves.tasks):
        found.setdefault((a, b), []).append((step, value))
    for pair, points in found.items():
        steps, values = np.array(points, float).T
        series = curves.cosine.setdefault(pair, Series(max(16, len(steps))))
        series.append(steps, curves.walls_at(steps), values)


def _read_penalty(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """penalty.csv: (steps, penalties), in step order, the latest of a step
    kept (a resumed run trims its own, this guards a hand-edited file)."""
    points = {}
    for number, row in _csv_rows(path, PENALTY_HEADER):
        try:
            points[int(row[0])] = float(row[1])
        except (IndexError, ValueError):
            raise RunOpenError(
                f"{path}: line {number}: expected a step and a number, got {','.join(row)[:120]}"
            ) from None
    steps = np.array(sorted(points), float)
    return steps, np.array([points[s] for s in sorted(points)], float)


def _csv_rows(path: Path, header: list[str]):
    """(line number, row) of a run's CSV file after its header is checked;
    a last line without its line end (a run killed while writing it) is
    left out. Raises RunOpenError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunOpenError(f"{path}: cannot read the file: {exc}") from None
    lines = csv.reader(io.StringIO(text[: text.rfind("\n") + 1]))
    if next(lines, [])[: len(header)] != header:
        raise RunOpenError(f"{path}: line 1: expected the header {','.join(header)}")
    yield from enumerate(lines, start=2)


def _pair_rows(path: Path, header: list[str], tasks: list[str]):
    """The rows (step, task, task, number) of a run's CSV file of task
    pairs, each checked. Raises RunOpenError naming the line."""
    known = set(tasks)
    for number, row in _csv_rows(path, header):
        try:
            step, a, b, value = int(row[0]), row[1], row[2], float(row[3])
            if a not in known or b not in known:
                raise KeyError(a)
        except (IndexError, KeyError, ValueError):
            raise RunOpenError(
                f"{path}: line {number}: expected a step, two of the run's tasks "
                f"({', '.join(tasks)}) and a number, got {','.join(row)[:120]}"
            ) from None
        yield step, a, b, value


def _project(folder: Path):
    path = folder / PROJECT_COPY
    if not path.is_file():
        raise RunOpenError(f"{path}: missing: the run's copy of its project names its tasks")
    try:
        return load(path)
    except ProjectError as exc:
        raise RunOpenError(str(exc)) from None


def read_summary(folder: Path) -> dict:
    """summary.json as a dictionary; {} when the run has none yet (it is
    written when a run ends). Raises RunOpenError for one that is not a
    JSON object."""
    path = Path(folder) / SUMMARY
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise RunOpenError(f"{path}: cannot read the file: {exc}") from None
    try:
        summary = json.loads(text)
    except ValueError as exc:
        raise RunOpenError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(summary, dict):
        raise RunOpenError(f"{path}: expected a JSON object, got {type(summary).__name__}")
    return summary


def _bad(folder: Path, key: str, expected: str, value) -> RunOpenError:
    return RunOpenError(
        f"{Path(folder) / SUMMARY}: '{key}' should be {expected}, got {json.dumps(value)}"
    )


def _text(summary: dict, key: str, folder: Path) -> str:
    value = summary.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(folder, key, "text", value)
    return value or ""


def _int(summary: dict, key: str, folder: Path) -> int | None:
    value = summary.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(folder, key, "a whole number, 0 or more", value)
    return value


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _best(curves: RunCurves, summary: dict, folder: Path) -> None:
    best = summary.get("best_epoch")
    if best is None:
        return
    if not (
        isinstance(best, dict)
        and isinstance(best.get("epoch"), int)
        and isinstance(best.get("step"), int)
        and (best.get("value") is None or _number(best["value"]))
    ):
        raise _bad(folder, "best_epoch", 'null or {"epoch": N, "step": N, "value": X}', best)
    curves.best_epoch, curves.best_step = best["epoch"], best["step"]
    curves.best_value = None if best.get("value") is None else float(best["value"])
    if isinstance(best.get("monitor"), str):
        curves.monitor = best["monitor"]


def _changes(summary: dict, folder: Path) -> list[dict]:
    changes = summary.get("setting_changes") or []
    ok = isinstance(changes, list) and all(
        isinstance(c, dict)
        and isinstance(c.get("step"), int)
        and c.get("setting") in ("weight", "learning_rate")
        and (c.get("task") is None or isinstance(c["task"], str))
        and _number(c.get("value"))
        for c in changes
    )
    if not ok:
        raise _bad(
            folder, "setting_changes", 'a list of {"step", "setting", "task", "value"}', changes
        )
    return changes


def _latest(rows: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The rows of one series to keep, in file order. A run resumed from a
    checkpoint older than its last rows (a NaN puts a run back to its last
    good epoch) trains those steps again and appends them: a step written
    again replaces what was written from it on, so steps only increase."""
    if len(rows) < 2:
        return rows
    s = steps[rows]
    later_min = np.minimum.accumulate(s[::-1])[::-1]  # the smallest step from each row on
    keep = np.r_[s[:-1] < later_min[1:], True]
    return rows if keep.all() else rows[keep]


def _steps_per_epoch(table: dict) -> int | None:
    """For runs written before summary.json held it: a validation row is
    written at its epoch's last step; else the largest step of epoch 1."""
    val = np.flatnonzero((table["split"] == SPLITS.index("val")) & (table["epoch"] > 0))
    if len(val):
        return max(1, int(round(table["step"][val[0]] / table["epoch"][val[0]])))
    first = table["step"][table["epoch"] == 1]
    return int(first.max()) if len(first) else None


NUMBERS = (("step", 0), ("epoch", 1), ("loss", 4), ("weight", 5), ("wall", 6))
NAMES = (("task", 2), ("split", 3))


def _read_history(path: Path, tasks: list[str]) -> dict[str, np.ndarray]:
    """history.csv's columns as arrays: step, epoch, loss, weight, wall
    (floats), task and split (indices into `tasks` and SPLITS). numpy's
    own parser reads the file (the recorder never quotes a cell: task names
    are identifiers); a file it refuses, or whose cells fail a check, is
    read again row by row with the csv module, to say which line is wrong
    and why. A last line without its line end (a run killed while writing
    it) is left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunOpenError(f"{path}: cannot read the file: {exc}") from None
    text = text[: text.rfind("\n") + 1]
    head, _, body = text.partition("\n")
    header = next(csv.reader([head]), [])
    if header[: len(HEADER)] != HEADER:
        got = head.strip()[:120] or "an empty file"
        raise RunOpenError(f"{path}: line 1: expected the header {','.join(HEADER)},... got {got}")
    width = len(header)
    rows = body.count("\n")
    if not rows:
        table = {name: np.empty(0) for name, _ in NUMBERS}
        table.update({name: np.empty(0, np.int64) for name, _ in NAMES})
        return table
    # Quotes, or a line with more or fewer cells: the careful reading.
    if '"' not in body and body.count(",") == rows * (width - 1):
        try:
            return _parsed(body, tasks)
        except ValueError:
            pass
    return _read_rows(path, body, width, tasks)


def _parsed(body: str, tasks: list[str]) -> dict[str, np.ndarray]:
    """The quick reading; ValueError for anything the careful one must explain."""
    options = dict(delimiter=",", comments=None, ndmin=2, encoding=None)
    numbers = np.loadtxt(io.StringIO(body), usecols=[i for _, i in NUMBERS], dtype=float, **options)
    names = np.loadtxt(io.StringIO(body), usecols=[i for _, i in NAMES], dtype=str, **options)
    table = {name: numbers[:, k].copy() for k, (name, _) in enumerate(NUMBERS)}
    for k, ((name, _), allowed) in enumerate(zip(NAMES, (tasks, SPLITS))):
        ids = np.full(len(names), -1, np.int64)
        for i, value in enumerate(allowed):
            ids[names[:, k] == value] = i
        if (ids < 0).any():
            raise ValueError(name)
        table[name] = ids
    for name in ("step", "epoch"):
        if not _whole(table[name]).all():
            raise ValueError(name)
    return table


def _whole(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values >= 0) & (values == np.round(values))


def _read_rows(path: Path, body: str, width: int, tasks: list[str]) -> dict[str, np.ndarray]:
    """The careful reading: the csv module, and a RunOpenError naming the
    first bad line and cell."""
    rows = list(csv.reader(io.StringIO(body)))
    lengths = list(map(len, rows))
    if any(n != width for n in lengths):
        line = next(i for i, n in enumerate(lengths, start=2) if n != width)
        raise RunOpenError(
            f"{path}: line {line}: {lengths[line - 2]} cells, expected {width} as in the header"
        )
    columns = list(zip(*rows))
    table: dict[str, np.ndarray] = {}
    for name, index in NUMBERS:
        try:
            table[name] = np.array(columns[index], dtype=float)
        except ValueError:
            line, cell = _first_bad(columns[index], float)
            raise RunOpenError(
                f"{path}: line {line}: column '{HEADER[index]}' is {cell!r}, not a number"
            ) from None
        if name in ("step", "epoch") and not _whole(table[name]).all():
            line = int(np.argmax(~_whole(table[name]))) + 2
            raise RunOpenError(
                f"{path}: line {line}: column '{name}' is "
                f"{columns[index][line - 2]!r}, not a whole number"
            )
    for (name, index), allowed, what in zip(
        NAMES, (tasks, SPLITS), ("a task of the run's project", "train or val")
    ):
        lookup = {value: i for i, value in enumerate(allowed)}
        ids = np.array([lookup.get(cell, -1) for cell in columns[index]], np.int64)
        if (ids < 0).any():
            line = int(np.argmax(ids < 0)) + 2
            raise RunOpenError(
                f"{path}: line {line}: column '{name}' is "
                f"{columns[index][line - 2]!r}, not {what} "
                f"({', '.join(allowed)})"
            )
        table[name] = ids
    return table


def _first_bad(cells, convert) -> tuple[int, str]:
    for line, cell in enumerate(cells, start=2):
        try:
            convert(cell)
        except ValueError:
            return line, cell
    return 2, ""


# --- the runs beside a project --------------------------------------------------------


def project_runs(root: Path) -> list[dict]:
    """The run folders directly under `root` (a folder with a history.csv
    or a summary.json), newest first, each as a dictionary: name, path,
    status ("unfinished" without a summary, "unreadable" for a summary
    that cannot be read), epochs, best_epoch (None when unknown), steps,
    started (seconds since the epoch: from the folder's name, which ends
    with its start time, else when run.json was written) and message."""
    root = Path(root)
    try:
        folders = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    runs = []
    for folder in folders:
        if not ((folder / HISTORY).is_file() or (folder / SUMMARY).is_file()):
            continue
        entry = {
            "name": folder.name,
            "path": folder,
            "status": "unfinished",
            "epochs": None,
            "best_epoch": None,
            "steps": None,
            "started": _started(folder),
            "message": "",
        }
        try:
            summary = read_summary(folder)
        except RunOpenError as exc:
            entry.update(status="unreadable", message=str(exc))
            summary = {}
        if summary:
            best = summary.get("best_epoch")
            entry.update(
                status=summary.get("status")
                if isinstance(summary.get("status"), str)
                else "unknown",
                epochs=summary.get("epochs") if isinstance(summary.get("epochs"), int) else None,
                steps=summary.get("steps") if isinstance(summary.get("steps"), int) else None,
                best_epoch=best.get("epoch")
                if isinstance(best, dict) and isinstance(best.get("epoch"), int)
                else None,
                message=summary.get("message") if isinstance(summary.get("message"), str) else "",
            )
        runs.append(entry)
    runs.sort(key=lambda r: (r["started"], r["name"]), reverse=True)
    return runs


def _started(folder: Path) -> float:
    match = _STARTED.search(folder.name)
    if match:
        try:
            return time.mktime(time.strptime(match.group(1), "%Y%m%d-%H%M%S"))
        except (ValueError, OverflowError):
            pass
    for path in (folder / RUN_INFO, folder):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0
