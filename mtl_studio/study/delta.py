"""delta-m: how much better a multi-task model is than the single-task
baselines, in one number (Maninis, Radosavovic and Kokkinos, "Attentive
Single-Tasking of Multiple Tasks", CVPR 2019):

    delta_m = (1/T) * sum_i (-1)^{l_i} * (M_i - M_b,i) / M_b,i * 100

with M_i the figure of task i, M_b,i its single-task baseline's, and
l_i = 1 where a lower figure is better (an error) and 0 where a higher one
is (an accuracy). So each task's relative gain, and their mean, is positive
when the multi-task model does better and negative when it does worse, in
per cent of the baseline.

A task may be scored by several figures. Then its relative gains are
averaged first, and those means over the tasks, as LibMTL's
count_improvement does: each task counts once, however many figures it has.

We divide by |M_b,i|: the same for the figures used here (errors and
accuracies are never negative), and it keeps "positive is better" for a
figure that can be (an R^2 below 0).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

# The figure that stands for a task, per kind of task (training/scores.py
# names). One figure each, so delta-m weighs every task the same. MAE
# rather than RMSE: it is in the target's units and not dominated by a few
# large errors. Accuracy rather than macro F1 or log loss: what the
# multi-task literature reports, and what a user reads most easily. For a
# sequence of labels the share of tokens right, since whole-sequence
# accuracy is near 0 for long sequences and then says little.
MAIN_FIGURES = {"regression": "mae", "classification": "accuracy", "sequence": "token_accuracy"}


def main_figure(task_scores: Mapping) -> tuple[str, float | None, bool]:
    """(figure name, the model's value, higher is better) of one task's
    scores as training/scores.py task_scores gives them: MAE for
    regression (lower is better), accuracy for classification and token
    accuracy for a sequence of labels (higher is better). The value is
    None where scores could not compute it (no rows); delta_m refuses it."""
    kind = task_scores.get("kind")
    if kind not in MAIN_FIGURES:
        raise ValueError(
            f"unknown kind of task {kind!r}: expected one of {', '.join(MAIN_FIGURES)}"
        )
    name = MAIN_FIGURES[kind]
    figure = task_scores["figures"].get(name)
    if figure is None:
        raise ValueError(f"the scores of a {kind} task have no {name!r} figure")
    return name, figure["model"], figure["better"] == "higher"


def main_figures(scores: Mapping[str, Mapping]) -> tuple[dict, dict]:
    """Task -> main figure value, and task -> higher is better, from every
    task's scores (task -> task_scores): the arguments delta_m takes."""
    values, higher = {}, {}
    for task, s in scores.items():
        _, values[task], higher[task] = main_figure(s)
    return values, higher


def relative_gain(value: float, baseline: float, higher_is_better: bool) -> float:
    """Per cent better than the baseline: (-1)^l (value - baseline) / |baseline| * 100."""
    sign = 1.0 if higher_is_better else -1.0
    return sign * (value - baseline) / abs(baseline) * 100.0


def _listed(x) -> list:
    """One figure or several (a list, a tuple, a numpy array), as a list."""
    if isinstance(x, (str, bytes, Mapping)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _number(x, what: str) -> float:
    # numbers.Real takes numpy's floats too; a bool is a slip, not a figure.
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise ValueError(
            f"{what} is {x!r}, not a finite number: a figure that could not be "
            "computed (no rows scored, or a run that diverged) has no relative gain"
        )
    return float(x)


def _task_gains(task: str, figures, baselines, higher) -> list[float]:
    """The relative gain of each of one task's figures."""
    values, bases = _listed(figures), _listed(baselines)
    directions = _listed(higher)
    if len(directions) == 1:
        directions = directions * len(values)  # one direction for all its figures
    if not values or len(bases) != len(values) or len(directions) != len(values):
        raise ValueError(
            f"task {task!r} has {len(values)} figure(s), {len(bases)} baseline "
            f"figure(s) and {len(directions)} direction(s): give one of each"
        )
    gains = []
    for k, (value, base, up) in enumerate(zip(values, bases, directions)):
        where = f"task {task!r}" + (f", figure {k + 1}" if len(values) > 1 else "")
        value = _number(value, f"the figure of {where}")
        base = _number(base, f"the baseline figure of {where}")
        if base == 0:
            raise ValueError(
                f"the baseline figure of {where} is 0, so a gain relative to it "
                "is undefined: delta-m needs baselines that are not 0"
            )
        if not isinstance(up, bool):
            raise ValueError(f"higher_is_better of {where} must be True or False, got {up!r}")
        gains.append(relative_gain(value, base, up))
    return gains


def relative_gains(
    figures: Mapping, baselines: Mapping, higher_is_better: Mapping
) -> dict[str, float]:
    """Task -> its relative gain over its baseline, in per cent (the mean
    over its figures when it has several); positive is better.

    figures, baselines: task -> one number, or a list of numbers (one per
    figure, in the same order in both). higher_is_better: task -> a bool
    (for all its figures) or a list of bools. Tasks are those of `figures`;
    each must be in the other two (extra baseline tasks are ignored)."""
    gains = {}
    for task, values in figures.items():
        for mapping, what in ((baselines, "baselines"), (higher_is_better, "higher_is_better")):
            if task not in mapping:
                raise ValueError(
                    f"task {task!r} is missing from the {what} (which have "
                    f"{', '.join(map(repr, mapping)) or 'no tasks'})"
                )
        task_gains = _task_gains(task, values, baselines[task], higher_is_better[task])
        gains[task] = math.fsum(task_gains) / len(task_gains)
    return gains


def delta_m(figures: Mapping, baselines: Mapping, higher_is_better: Mapping) -> float:
    """The mean over tasks of relative_gains, in per cent: above 0 the
    configuration beats the single-task baselines on average."""
    if not figures:
        raise ValueError("delta-m needs the figures of at least one task")
    gains = relative_gains(figures, baselines, higher_is_better)
    return math.fsum(gains.values()) / len(gains)
