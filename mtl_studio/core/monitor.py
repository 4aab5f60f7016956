"""The monitored quantity: what picks a run's best epoch and what early
stopping watches. One place for its spelling, its meaning and its direction.

"total": each task's validation loss times its weight as set in the project
(fixed weights, so the number means the same at every epoch even when an
adaptive method moves the weights during training); "TASK:loss" or
"TASK:METRIC": one task's validation loss or metric.
"""

from __future__ import annotations

from .tasks import CLASSIFICATION_METRICS, METRICS, check_task_name

TOTAL = "total"
FIGURES = ("loss",) + METRICS


def parse(text: str) -> tuple[str | None, str]:
    """(task or None for the total, figure). Raises ValueError saying what
    is allowed."""
    if text == TOTAL:
        return None, "loss"
    task, sep, figure = str(text).rpartition(":")
    try:
        if not isinstance(text, str) or not sep or figure not in FIGURES:
            raise ValueError
        check_task_name(task)
    except ValueError:
        raise ValueError(
            f"expected 'total' or 'TASK:FIGURE' with FIGURE one of "
            f"{', '.join(FIGURES)}, got {text!r}"
        ) from None
    return task, figure


def check(text) -> str:
    parse(text)
    return text


def higher_is_better(figure: str) -> bool:
    return figure in CLASSIFICATION_METRICS


def label(text: str) -> str:
    """As a sentence says it: "the weighted total validation loss",
    "the validation accuracy of task 'kind'"."""
    task, figure = parse(text)
    if task is None:
        return "the weighted total validation loss"
    return f"the validation {figure} of task '{task}'"


def improved(value: float, best: float | None, figure: str, min_delta: float) -> bool:
    """Is `value` better than `best` by more than min_delta?"""
    if best is None:
        return True
    if higher_is_better(figure):
        return value > best + min_delta
    return value < best - min_delta


def renamed(text: str, old: str, new: str) -> str:
    """The monitor after task `old` became `new`."""
    task, figure = parse(text)
    return f"{new}:{figure}" if task == old else text
