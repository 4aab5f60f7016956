"""The text under the plots: a run's values at the cursor, as plain text.

No Qt: the plots panel hands over how to read a curve at x (the nearest
point, smoothed or raw), and this module says what is worth saying, in
what order and how short. Tested without a window.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# The kinds of plot (the panel keys its plots "task:NAME", "overview", ...).
TASK, OVERVIEW, TOTAL, PENALTY, WEIGHTS, COSINE, AFFINITY = (
    "task",
    "overview",
    "total",
    "penalty",
    "weights",
    "cosine",
    "affinity",
)
COSINE_READOUT_PAIRS = 6  # the most opposed pairs named in the read-out

# value(curve key, with_raw) -> the text of that curve's value at x, or None
Value = Callable[[tuple, bool], "str | None"]


def number(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.4g}"


def x_text(x: float, axis: str) -> str:
    if axis == "step":
        return f"step {x:.0f}"
    if axis == "epoch":
        return f"epoch {x:.2f}"
    return f"{x:.1f} s"


def readout_text(
    tasks: list[str],
    x: float,
    axis: str,
    key: str | None,
    value: Value,
    cosines: list[tuple[float, tuple[str, str]]],
) -> str:
    """The values at x in the plot `key` (None: every plot): a task's train
    loss (smoothed, then raw) and nearest validation loss, the overview's
    ratios, the total, the penalty, the weights, the most opposed gradient
    cosines (`cosines`: (value, pair) at x)."""
    parts = [x_text(x, axis)]

    def wanted(plot_key: str) -> bool:
        return key is None or key == plot_key

    if wanted(OVERVIEW) and key is not None:
        ratios = [(t, value(("ratio", t), False)) for t in tasks]
        ratios = [f"{t} {v}" for t, v in ratios if v is not None]
        if ratios:
            parts.append("L/L(0): " + ", ".join(ratios))
    for task in tasks:
        if not wanted(f"{TASK}:{task}"):
            continue
        train, val = value(("train", task), True), value(("val", task), True)
        if train is not None or val is not None:
            text = f"{task}: {train or 'n/a'}"
            parts.append(text + (f", val {val}" if val is not None else ""))
    if wanted(TOTAL) or key is not None:
        total = value(("total", ""), True)  # the total, under every plot: short
        if total is not None:
            parts.append(f"total: {total}")
    penalty = value(("penalty", ""), True) if wanted(PENALTY) else None
    if penalty is not None:
        parts.append(f"penalty: {penalty}")
    if wanted(WEIGHTS):
        weights = [(t, value(("weight", t), True)) for t in tasks]
        weights = [f"{t} {v}" for t, v in weights if v is not None]
        if weights:
            parts.append("weights: " + ", ".join(weights))
    if wanted(COSINE):
        parts += cosine_text(cosines)
    return "    ".join(parts)


def cosine_text(found: list[tuple[float, tuple[str, str]]]) -> list[str]:
    """The pairs' cosines, the most opposed first; many tasks have many
    pairs, so only the first COSINE_READOUT_PAIRS are named."""
    if not found:
        return []
    found = sorted(found, key=lambda item: (not np.isfinite(item[0]), item[0]))
    named = [f"{a}·{b} {number(v)}" for v, (a, b) in found[:COSINE_READOUT_PAIRS]]
    more = len(found) - COSINE_READOUT_PAIRS
    return ["cosine: " + ", ".join(named) + (f" (+{more} more pairs)" if more > 0 else "")]


def affinity_text(
    source: str, target: str, mean: float, count: int, latest: float | None = None
) -> str:
    """One cell of the affinity heat map: "a → b: +0.012", what it means,
    and over how many measurements."""
    if not np.isfinite(mean):
        return f"{source} → {target}: n/a"
    effect = "lowered" if mean >= 0 else "raised"
    noun = "measurement" if count == 1 else "measurements"
    text = (
        f"{source} → {target}: {mean:+.3g}    (a step for {source} {effect} "
        f"{target}'s loss by {abs(mean) * 100:.3g}%, on average over {count} {noun}"
    )
    if latest is not None and np.isfinite(latest):
        text += f"; latest {latest:+.3g}"
    return text + ")"
