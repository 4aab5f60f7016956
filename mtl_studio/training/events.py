"""What a training run reports, as plain Python objects.

The Trainer hands lists of these to one callback, at most every few tens of
milliseconds; the window's worker and the command line's recorder consume
the same objects. Losses are always unweighted; weights travel alongside.
Arrays are numpy arrays, one entry per training step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RunStarted:
    tasks: list[str]
    mode: str
    weighting: str
    total_steps: int
    steps_per_epoch: int
    epochs: int
    start_step: int = 0  # > 0 when resuming
    # What it trains on, in words (training/devices.py): ["CPU (2 cores)"].
    devices: list[str] = field(default_factory=list)


@dataclass
class StepLosses:
    """Training losses of a run of consecutive steps."""

    steps: np.ndarray  # global step numbers (1-based: the step just taken)
    epoch: int
    losses: dict[str, np.ndarray]  # task -> loss per step; NaN where the task was not trained
    total: np.ndarray  # the weighted objective (with the soft-sharing penalty)
    penalty: np.ndarray | None = None  # soft sharing only: lambda * squared distance
    wall: np.ndarray | None = None  # seconds since the run started, per step
    # task -> the loss weight in force at each step (before that step's
    # adaptive update), so a history row holds its own step's weight.
    weights: dict[str, np.ndarray] | None = None


@dataclass
class Weights:
    """The loss weights in force from the step after `step` on (step 0: the
    first step's)."""

    step: int
    weights: dict[str, float]


@dataclass
class GradientCosine:
    """Cosine similarity between two tasks' gradients on the shared trunk;
    below zero the tasks pull the trunk in opposite directions."""

    step: int
    pairs: dict[tuple[str, str], float]


@dataclass
class Affinity:
    """Inter-task affinity on one batch (training/affinity.py): z[i][j] is
    the relative change of task j's loss after a step along task i's
    gradient of the shared parameters; above zero, i helps j."""

    step: int
    tasks: list[str]
    z: np.ndarray  # [T, T]


@dataclass
class EpochEnd:
    epoch: int  # 1-based, the epoch just finished
    step: int
    train_losses: dict[str, float]  # mean of the epoch's step losses
    val_losses: dict[str, float] = field(default_factory=dict)  # empty: no validation split
    val_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    # The monitored quantity this epoch (None without validation rows or
    # when not finite) and the best epoch so far (core/monitor.py).
    monitored: float | None = None
    best_epoch: int | None = None
    best_step: int | None = None


@dataclass
class Progress:
    step: int
    total_steps: int
    epoch: int  # 1-based, the epoch in progress
    epochs: int
    steps_per_second: float
    seconds_left: float


def devices_text(devices: list[str]) -> str:
    """ "on CPU (2 cores)": a run's devices (RunStarted.devices) in one line."""
    return "on " + ", ".join(devices) if devices else ""


def format_duration(seconds: float) -> str:
    """A duration as people read it: "16s", "4m05s", "1h02m", "?"."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def format_rate(steps_per_second: float) -> str:
    """ "493 steps/s", "0.42 steps/s": a short run's rate is not "0"."""
    if steps_per_second >= 100:
        return f"{steps_per_second:,.0f} steps/s"
    return f"{steps_per_second:.2g} steps/s"


@dataclass
class SettingChanged:
    """A loss weight or learning rate changed during the run (the curves
    mark it, the history records it)."""

    step: int
    setting: str  # "weight" or "learning_rate"
    task: str | None  # None: the shared optimizer
    value: float


@dataclass
class CheckpointSaved:
    step: int
    path: str


@dataclass
class RunFinished:
    """status: "completed", "stopped" (by the user), "nan" (a loss was not
    finite), "invalid" (the project, its data or a checkpoint cannot be
    used; nothing was trained) or "error" (an exception inside training);
    message says what happened."""

    status: str
    step: int
    epoch: int
    message: str = ""
    task: str | None = None  # the task whose loss went NaN
    early_stopped: bool = False  # "completed" before its epochs: no improvement
