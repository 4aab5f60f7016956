"""The result table of a study: one row per configuration (the single-task
baselines, then each multi-task set-up), each task's figure as mean and
standard deviation over seeds with its gain over the baseline, and delta-m.

Rows are ranked by delta-m, best first, after the baseline row, so the
answer to "does sharing help?" is the top of the table. Written as CSV (all
digits, for other tools) or Markdown (rounded, for a report).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.atomic import write_text
from .delta import delta_m, relative_gain


@dataclass(frozen=True)
class Cell:
    """One task's figure in one configuration, over its seeds."""

    figure: str  # its name, as training/scores.py gives it: "mae", "accuracy"
    higher_is_better: bool
    mean: float
    std: float = 0.0
    gain: float | None = None  # per cent better than the baseline's mean; None on the baseline


@dataclass(frozen=True)
class Row:
    """One configuration: its name, each task's figure, delta-m over seeds."""

    name: str
    cells: dict[str, Cell]  # task -> its figure, in the table's column order
    delta_m: float  # mean over seeds, per cent
    delta_m_std: float = 0.0
    seeds: int = 1
    baseline: bool = False


def spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value): the
    spread a reader expects from "± std over seeds"."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values to summarise: a configuration needs at least one run")
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std


def summarize(
    name: str,
    runs: Sequence[Mapping[str, float]],
    baseline: Mapping[str, float],
    figures: Mapping[str, str],
    higher_is_better: Mapping[str, bool],
    is_baseline: bool = False,
) -> Row:
    """A row from runs of one configuration, one per seed (task -> the
    value of its main figure). `baseline`: task -> the single-task mean,
    the reference for each task's gain and for each seed's delta-m.
    `figures`: task -> figure name; tasks are in its order."""
    tasks = list(figures)
    for k, run in enumerate(runs):
        missing = [t for t in tasks if t not in run]
        if missing:
            raise ValueError(f"{name}: run {k + 1} has no figure for task {missing[0]!r}")
    deltas = [delta_m({t: run[t] for t in tasks}, baseline, higher_is_better) for run in runs]
    d_mean, d_std = spread(deltas)
    cells = {}
    for t in tasks:
        mean, std = spread([run[t] for run in runs])
        gain = None if is_baseline else relative_gain(mean, baseline[t], higher_is_better[t])
        cells[t] = Cell(figures[t], higher_is_better[t], mean, std, gain)
    return Row(name, cells, d_mean, d_std, len(runs), is_baseline)


def ranked(rows: Sequence[Row]) -> list[Row]:
    """Baseline rows first, then the rest by delta-m, best first; rows of
    equal delta-m (and a NaN, last) keep their order."""

    def key(row: Row):
        d = row.delta_m
        return (not row.baseline, math.isnan(d), -d if not math.isnan(d) else 0.0)

    return sorted(rows, key=key)


def _columns(rows: Sequence[Row]) -> list[tuple[str, Cell]]:
    """(task, a cell naming its figure) per column, from the first row;
    every row must score the same tasks by the same figures."""
    if not rows:
        raise ValueError("a study table needs at least one row")
    first = rows[0]
    for row in rows[1:]:
        if set(row.cells) != set(first.cells):
            raise ValueError(
                f"row {row.name!r} has tasks {sorted(row.cells)} but row "
                f"{first.name!r} has {sorted(first.cells)}: every row scores "
                "the same tasks"
            )
        for task, cell in row.cells.items():
            if cell.figure != first.cells[task].figure:
                raise ValueError(
                    f"row {row.name!r} scores task {task!r} by {cell.figure} but "
                    f"row {first.name!r} by {first.cells[task].figure}: a column "
                    "holds one figure"
                )
    return list(first.cells.items())


# --- Markdown -------------------------------------------------------------------


def _figure(x: float) -> str:
    return f"{x:.4g}"  # as scores.format_table prints figures


def _signed(x: float | None, digits: int) -> str:
    if x is None or math.isnan(x):
        return "-"
    # Round first, so a mean of -1e-17 (the baseline's, in floats) reads
    # "+0.00", not "-0.00".
    return f"{round(x, digits) + 0.0:+.{digits}f}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table: configuration, each task's "mean ± std (gain %)",
    delta-m; ranked (see ranked), the baseline row marked "(baseline)"."""
    rows = ranked(rows)
    columns = _columns(rows)
    head = (
        ["configuration"]
        + [
            f"{task}: {cell.figure} {'↑' if cell.higher_is_better else '↓'}"
            for task, cell in columns
        ]
        + ["Δm %"]
    )
    lines = ["| " + " | ".join(_escape(h) for h in head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        name = row.name + (" (baseline)" if row.baseline else "")
        cells = []
        for task, _ in columns:
            c = row.cells[task]
            text = f"{_figure(c.mean)} ± {_figure(c.std)}"
            if c.gain is not None:
                text += f" ({_signed(c.gain, 1)} %)"
            cells.append(text)
        delta = f"{_signed(row.delta_m, 2)} ± {row.delta_m_std:.2f}"
        lines.append("| " + " | ".join(_escape(x) for x in [name] + cells + [delta]) + " |")
    return "\n".join(lines) + "\n"


# --- CSV ------------------------------------------------------------------------


def csv_rows(rows: Sequence[Row]) -> list[list]:
    """Header, then one line per configuration, ranked; every digit kept,
    an absent gain left empty."""
    rows = ranked(rows)
    columns = _columns(rows)
    header = ["configuration", "baseline", "seeds"]
    for task, cell in columns:
        header += [
            f"{task}_{cell.figure}_mean",
            f"{task}_{cell.figure}_std",
            f"{task}_gain_percent",
        ]
    header += ["delta_m_percent_mean", "delta_m_percent_std"]
    out = [header]
    for row in rows:
        line = [row.name, row.baseline, row.seeds]
        for task, _ in columns:
            c = row.cells[task]
            line += [c.mean, c.std, "" if c.gain is None else c.gain]
        out.append(line + [row.delta_m, row.delta_m_std])
    return out


def to_csv(rows: Sequence[Row], path) -> None:
    """Write the table as CSV, atomically (the old file stays whole on an error)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(rows))
    write_text(path, buffer.getvalue())
