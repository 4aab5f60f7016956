"""Tasks: what each output learns and how its loss counts."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from .params import describe
from .settings import DataSource, OptimizerSpec

LOSSES = (
    "mse",
    "mae",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "l2",
)
# Half the sum of squares, as tf.nn.l2_loss (the classic TensorFlow tutorial).
LOSS_LABELS = {
    "mse": "mean squared error",
    "mae": "mean absolute error",
    "huber": "Huber",
    "binary_crossentropy": "binary cross-entropy",
    "categorical_crossentropy": "categorical cross-entropy (one-hot targets)",
    "sparse_categorical_crossentropy": "sparse categorical cross-entropy (class ids)",
    "l2": "L2: sum of squares / 2, as tf.nn.l2_loss",
}
CLASSIFICATION_LOSSES = frozenset(
    {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"}
)
METRICS = ("mae", "mse", "rmse", "accuracy", "auc", "precision", "recall")
CLASSIFICATION_METRICS = frozenset({"accuracy", "auc", "precision", "recall"})

# Colour-blind safe (Okabe and Ito), and none of them the trunk's grey-blue.
TASK_COLORS = (
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#0072B2",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#882255",
    "#44AA99",
    "#999933",
)
TRUNK_COLOR = "#5B6B7F"
INPUT_COLOR = "#3A3F47"

# fullmatch, not match with $: "$" accepts a trailing line break ("t\n"),
# which would export a script that does not compile.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Long enough for any descriptive name.
MAX_TASK_NAME = 200
# A loss weight or schedule share above this is a typo, not a choice.
MAX_WEIGHT = 1e6


def check_task_name(name: object) -> str:
    """Return the name or raise ValueError saying why it is not allowed."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name):
        raise ValueError(
            f"a task name must be a valid identifier (letters, digits, _; "
            f"not starting with a digit), got {describe(name)}"
        )
    if len(name) > MAX_TASK_NAME:
        raise ValueError(
            f"a task name has at most {MAX_TASK_NAME} characters, this one has {len(name)}"
        )
    return name


@dataclass
class Task:
    name: str
    output: str | None = None  # id of the task's Output node
    loss: str = "mse"
    weight: float = 1.0
    metrics: list[str] = field(default_factory=list)
    # Data columns, or one array name, that the task learns.
    target: list[str] = field(default_factory=list)
    color: str = ""
    # Alternating mode: this task's own optimizer (None: the project's).
    optimizer: OptimizerSpec | None = None
    # Relative chance of picking this task in the random alternating schedule.
    schedule_weight: float = 1.0
    # This task's own data set (None: the project's).
    data: DataSource | None = None

    @property
    def is_classification(self) -> bool:
        return self.loss in CLASSIFICATION_LOSSES


def _check_color(value: object) -> str:
    if value == "" or (isinstance(value, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", value)):
        return value
    raise ValueError(f"expected a colour such as #E69F00, got {value!r}")


def _check_weight(value: object) -> float:
    import math

    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        # An int too large for a float would raise OverflowError in isfinite.
        or (isinstance(value, int) and abs(value) > MAX_WEIGHT)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_WEIGHT
    ):
        raise ValueError(f"expected a number in [0, {MAX_WEIGHT:.0f}], got {describe(value)}")
    return float(value)


def _check_positive(value: object) -> float:
    try:
        ok = _check_weight(value) > 0
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"expected a number in (0, {MAX_WEIGHT:.0f}], got {describe(value)}")
    return float(value)


def _check_choice(options):
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _check_metrics(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of metric names, got {value!r}")
    out = [_check_choice(METRICS)(m) for m in value]
    if len(set(out)) != len(out):
        raise ValueError(f"a metric is listed twice in {out}")
    return out


def _check_target(value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) and c for c in value):
        raise ValueError(f"expected a list of column names, got {value!r}")
    return list(value)


# Field -> check returning the clean value or raising ValueError. "name" and
# "output" need the whole project and are checked by Project.
TASK_FIELD_CHECKS = {
    "loss": _check_choice(LOSSES),
    "weight": _check_weight,
    "metrics": _check_metrics,
    "target": _check_target,
    "color": _check_color,
    "schedule_weight": _check_positive,
}
