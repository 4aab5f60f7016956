"""The curves of one training run, kept as growing numpy arrays.

The training worker's events (mtl_studio.training.events) are folded in here
by the GUI timer; the plots read the arrays. No Qt and no TensorFlow: the
module is plain numpy, so it is tested without a window, and the same
arrays go to the CSV export.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import monitor as monitors
from ..training import events as ev

X_AXES = ("step", "epoch", "wall")


class Series:
    """(step, wall seconds, value) triples, appended in blocks. The buffers
    double when full, so appending n points costs O(n) in total and the
    arrays handed to a plot are views, never copies."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty((3, capacity))
        self.n = 0

    def append(self, step, wall, value) -> None:
        step, wall, value = np.broadcast_arrays(
            np.atleast_1d(np.asarray(step, float)),
            np.atleast_1d(np.asarray(wall, float)),
            np.atleast_1d(np.asarray(value, float)),
        )
        k = len(value)
        if self.n + k > self._data.shape[1]:
            grown = np.empty((3, max(2 * self._data.shape[1], self.n + k)))
            grown[:, : self.n] = self._data[:, : self.n]
            self._data = grown
        self._data[0, self.n : self.n + k] = step
        self._data[1, self.n : self.n + k] = wall
        self._data[2, self.n : self.n + k] = value
        self.n += k

    @property
    def step(self) -> np.ndarray:
        return self._data[0, : self.n]

    @property
    def wall(self) -> np.ndarray:
        return self._data[1, : self.n]

    @property
    def value(self) -> np.ndarray:
        return self._data[2, : self.n]

    def __len__(self) -> int:
        return self.n

    def truncate(self, step: float) -> None:
        """Drop the points past `step` (a run resumed from an older
        checkpoint trains them again). Into a fresh buffer: a plot may
        still hold a view of the old points."""
        keep = int(np.searchsorted(self.step, step, side="right"))
        if keep < self.n:
            fresh = np.empty_like(self._data)
            fresh[:, :keep] = self._data[:, :keep]
            self._data, self.n = fresh, keep


class Divided:
    """values / divisor of a growing array, kept in a buffer that doubles:
    only the points added since the last call are divided, so a plot that
    asks at every redraw gets a view, not a fresh copy. A new divisor (or a
    shorter array: a new run) starts a fresh buffer, not the old one
    rewritten, since a plot may still hold a view of it."""

    def __init__(self) -> None:
        self._buf = np.empty(0)
        self.n = 0
        self.divisor = 0.0

    def of(self, values: np.ndarray, divisor: float) -> np.ndarray:
        if divisor != self.divisor or self.n > len(values):
            self._buf, self.n, self.divisor = np.empty(0), 0, divisor
        if self.n < len(values):
            end = len(values)
            if end > len(self._buf):
                grown = np.empty(max(2 * len(self._buf), end, 1024))
                grown[: self.n] = self._buf[: self.n]
                self._buf = grown
            self._buf[self.n : end] = values[self.n : end] / divisor
            self.n = end
        return self._buf[: len(values)]


class Ratio:
    """A task's loss relative to its start, L_i(t) / L_i(0): the ratio
    GradNorm balances, which puts tasks whose losses live on different
    scales on one axis (1 at the start, 0.1 when the loss fell tenfold).
    L_i(0) is the first positive value of the series; before there is one
    the ratio is NaN. Reads like a Series (step, wall, value, len)."""

    def __init__(self, series: Series) -> None:
        self.series = series
        self._divided = Divided()
        self._first: float | None = None

    @property
    def first(self) -> float | None:
        if self._first is None and len(self.series):
            positive = np.flatnonzero(self.series.value > 0)
            if len(positive):
                self._first = float(self.series.value[positive[0]])
        return self._first

    @property
    def step(self) -> np.ndarray:
        return self.series.step

    @property
    def wall(self) -> np.ndarray:
        return self.series.wall

    @property
    def value(self) -> np.ndarray:
        first = self.first
        if first is None:
            return np.full(len(self.series), np.nan)
        return self._divided.of(self.series.value, first)

    def __len__(self) -> int:
        return len(self.series)


@dataclass
class Mark:
    """A loss weight or learning rate changed during the run."""

    step: int
    wall: float
    setting: str  # "weight" or "learning_rate"
    task: str | None  # None: the shared optimizer
    value: float

    @property
    def text(self) -> str:
        what = "weight" if self.setting == "weight" else "learning rate"
        return f"{self.task + ' ' if self.task else ''}{what} = {self.value:g}"


@dataclass
class RunCurves:
    """Everything a run reported that a plot can show."""

    label: str
    tasks: list[str]
    colors: dict[str, str] = field(default_factory=dict)
    mode: str = ""
    weighting: str = ""
    devices: list[str] = field(default_factory=list)  # what it trains on, in words
    steps_per_epoch: int = 1
    total_steps: int = 0
    folder: str = ""  # where the run's files are
    status: str = "running"  # then a RunFinished status
    message: str = ""
    monitor: str = ""  # what picks the best epoch (core/monitor.py); "" when unknown
    step: int = 0
    # The best epoch so far by the monitored quantity (EpochEnd.best_epoch):
    # the model-best.keras of the run. None until an epoch has ended.
    best_epoch: int | None = None
    best_step: int | None = None
    best_value: float | None = None  # the monitored quantity at the best epoch
    progress: ev.Progress | None = None
    version: int = 0  # grows with every change: a plot redraws only when it moved

    def __post_init__(self) -> None:
        self.train = {t: Series() for t in self.tasks}
        self.ratio = {t: Ratio(self.train[t]) for t in self.tasks}
        self.val = {t: Series(64) for t in self.tasks}
        self.weights = {t: Series() for t in self.tasks}
        self.total = Series()
        self.penalty = Series()
        self.cosine: dict[tuple[str, str], Series] = {}
        self._expect_cosines()
        self.marks: list[Mark] = []
        # Task affinity (Affinity events): the tasks in the matrices' order,
        # the latest matrix and its step, the sum and count of them all.
        self.affinity_tasks: list[str] = []
        self.affinity_last: np.ndarray | None = None
        self.affinity_step = 0
        self.affinity_sum: np.ndarray | None = None
        self.affinity_count = 0
        self.wall = 0.0  # seconds since the start, as last reported
        self.wall_offset = 0.0  # a continued run goes on from the earlier wall time

    # --- events in ---------------------------------------------------------------

    def add(self, events: list) -> None:
        for e in events:
            handler = getattr(self, "_on_" + type(e).__name__, None)
            if handler is not None:
                handler(e)
        if events:
            self.version += 1

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self.mode, self.weighting = e.mode, e.weighting
        self.devices = list(e.devices)
        self.steps_per_epoch = max(1, e.steps_per_epoch)
        self.total_steps = e.total_steps
        self.status = "running"
        self._expect_cosines()
        if e.start_step and (self.step or len(self.total)):
            # Continued from a checkpoint: the wall time goes on, and steps
            # past the checkpoint (a NaN puts the run back to its last good
            # epoch) are trained again, so their points go.
            self.wall_offset = self.wall
            if e.start_step < self.step:
                self._rewind(e.start_step)

    def _rewind(self, step: int) -> None:
        for series in (
            *self.train.values(),
            *self.val.values(),
            *self.weights.values(),
            self.total,
            self.penalty,
            *self.cosine.values(),
        ):
            series.truncate(step)
        self.step = step

    def _expect_cosines(self) -> None:
        """Joint and alternating runs of several tasks report the gradient
        cosine of every pair (in task order, as the Trainer does). Their
        series exist from the start, so the plots make their lines before
        training, not at the first report (28 lines for 8 tasks: a stall)."""
        if self.mode in ("joint", "alternating"):
            for i, a in enumerate(self.tasks):
                for b in self.tasks[i + 1 :]:
                    self.cosine.setdefault((a, b), Series(256))

    def _on_StepLosses(self, e: ev.StepLosses) -> None:
        if not len(e.steps):
            return
        wall = (e.wall if e.wall is not None else np.zeros(len(e.steps))) + self.wall_offset
        for task, values in e.losses.items():
            values = np.asarray(values, float)
            # Alternating mode trains one task a step: the others are NaN
            # there, and a curve is drawn through the steps that trained it.
            keep = np.isfinite(values)
            if task in self.train and keep.any():
                self.train[task].append(e.steps[keep], wall[keep], values[keep])
        self.total.append(e.steps, wall, e.total)
        if e.penalty is not None:
            self.penalty.append(e.steps, wall, e.penalty)
        self.step = int(e.steps[-1])
        self.wall = float(wall[-1])

    def _on_Weights(self, e: ev.Weights) -> None:
        for task, value in e.weights.items():
            series = self.weights.get(task)
            # One point per report is plenty; repeats at the same step (an
            # epoch end right after its last block) add nothing.
            if series is not None and not (
                len(series) and series.step[-1] == e.step and series.value[-1] == value
            ):
                series.append(e.step, self.wall, value)

    def _on_GradientCosine(self, e: ev.GradientCosine) -> None:
        for pair, value in e.pairs.items():
            self.cosine.setdefault(tuple(pair), Series(256)).append(e.step, self.wall, value)

    def _on_Affinity(self, e: ev.Affinity) -> None:
        z = np.array(e.z, float)
        if list(e.tasks) != self.affinity_tasks or self.affinity_sum is None:
            self.affinity_tasks = list(e.tasks)
            self.affinity_sum, self.affinity_count = np.zeros_like(z), 0
        # As the run's record sums them (training/record.py): the mean goes
        # on over a continued run's measurements too.
        self.affinity_sum = self.affinity_sum + z
        self.affinity_count += 1
        self.affinity_last, self.affinity_step = z, e.step

    def _on_EpochEnd(self, e: ev.EpochEnd) -> None:
        for task, value in e.val_losses.items():
            if task in self.val:
                self.val[task].append(e.step, self.wall, value)
        if e.best_epoch is not None:
            if e.best_epoch == e.epoch:
                self.best_value = e.monitored
            elif e.best_epoch != self.best_epoch:
                self.best_value = None  # an epoch these curves never saw end
            self.best_epoch = e.best_epoch
            self.best_step = e.best_step if e.best_step is not None else e.step

    def _on_Progress(self, e: ev.Progress) -> None:
        self.progress = e

    def _on_SettingChanged(self, e: ev.SettingChanged) -> None:
        self.marks.append(Mark(e.step, self.wall, e.setting, e.task, e.value))

    def _on_RunFinished(self, e: ev.RunFinished) -> None:
        self.status, self.message = e.status, e.message

    # --- reading -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.status == "running"

    def x(self, series: Series, axis: str) -> np.ndarray:
        """The x values of a series on the chosen axis."""
        if axis == "epoch":
            return series.step / self.steps_per_epoch
        if axis == "wall":
            return series.wall
        return series.step

    def mark_x(self, mark: Mark, axis: str) -> float:
        if axis == "epoch":
            return mark.step / self.steps_per_epoch
        return mark.wall if axis == "wall" else float(mark.step)

    @property
    def affinity_mean(self) -> np.ndarray | None:
        """The mean affinity matrix over the run's measurements so far
        (z[i, j]: a step for task i helps task j above 0), or None."""
        if not self.affinity_count or self.affinity_sum is None:
            return None
        return self.affinity_sum / self.affinity_count

    @property
    def has_validation(self) -> bool:
        return any(len(s) for s in self.val.values())

    def best_x(self, axis: str) -> float | None:
        """Where the best epoch ends on the chosen axis, or None while there
        is none to show: no epoch has ended, or the run has no validation
        rows (then the "best" epoch is merely the latest)."""
        if self.best_step is None or not self.has_validation:
            return None
        if axis == "epoch":
            return self.best_step / self.steps_per_epoch
        if axis == "wall":
            return self.wall_at(self.best_step)
        return float(self.best_step)

    def wall_at(self, step: int) -> float:
        """The wall time of the last recorded point at or before `step`."""
        return float(self.walls_at([step])[0])

    def walls_at(self, steps) -> np.ndarray:
        """wall_at of each of `steps`, in one pass."""
        steps = np.asarray(steps, float)
        for series in (self.total, *self.train.values(), *self.val.values()):
            if len(series):
                i = np.searchsorted(series.step, steps, side="right") - 1
                return np.asarray(series.wall[np.maximum(i, 0)], float)
        return np.zeros(steps.shape)

    @property
    def best_text(self) -> str:
        """ "best epoch 7", as the plots label the line."""
        return f"best epoch {self.best_epoch}" if self.best_epoch is not None else ""

    @property
    def best_tip(self) -> str:
        """The best epoch's line's tooltip: which epoch, by what, and what it is for."""
        if self.best_epoch is None:
            return ""
        by = ""
        if self.monitor:
            try:
                by = f" by {monitors.label(self.monitor)}"
            except ValueError:
                by = f" by {self.monitor}"
        value = (
            f" ({self.best_value:.4g})"
            if self.best_value is not None and np.isfinite(self.best_value)
            else ""
        )
        return (
            f"Best epoch {self.best_epoch} (step {self.best_step}){by}{value}: "
            f"the weights of model-best.keras"
        )

    def point_count(self) -> int:
        return (
            sum(len(s) for s in self.train.values())
            + len(self.total)
            + len(self.penalty)
            + sum(len(s) for s in self.val.values())
        )

    def rows(self):
        """Every point as (curve, task, step, epoch, wall_seconds, value)."""
        groups = [("train_loss", t, s) for t, s in self.train.items()]
        groups += [("val_loss", t, s) for t, s in self.val.items()]
        groups += [("total", "", self.total), ("penalty", "", self.penalty)]
        groups += [("weight", t, s) for t, s in self.weights.items()]
        groups += [("gradient_cosine", f"{a}|{b}", s) for (a, b), s in self.cosine.items()]
        for curve, task, s in groups:
            epochs = s.step / self.steps_per_epoch
            for i in range(len(s)):
                yield curve, task, int(s.step[i]), epochs[i], s.wall[i], s.value[i]
        for m in self.marks:
            yield (
                f"set_{m.setting}",
                m.task or "",
                m.step,
                m.step / self.steps_per_epoch,
                m.wall,
                m.value,
            )

    def to_csv(self, path: Path) -> None:
        """All curves of the run in one long table; raises OSError."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["curve", "task", "step", "epoch", "wall_seconds", "value"])
            for curve, task, step, epoch, wall, value in self.rows():
                out.writerow([curve, task, step, f"{epoch:.6g}", f"{wall:.3f}", f"{value:.7g}"])


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average with bias correction, as Adam corrects its
    moments: s_t = b s_(t-1) + (1 - b) v_t is shown divided by the same
    recursion run on ones (1 - b^t when every value is there), so the start
    is the mean of the first values, not dragged toward zero or toward the
    first value. smoothing 0 returns a copy; NaN values count for nothing
    (the average carries over them)."""
    return np.array(Smoother().of(values, smoothing), float)


class Smoother:
    """The smoothed copy of one growing series. A plot asks for it at every
    redraw; only the points added since the last call are computed, into a
    buffer that doubles like a Series', so a redraw copies nothing."""

    def __init__(self) -> None:
        self.smoothing = -1.0
        self._out = np.empty(0)
        self.n = 0
        self.carry = (0.0, 0.0)

    @property
    def out(self) -> np.ndarray:
        return self._out[: self.n]

    def of(self, values: np.ndarray, smoothing: float) -> np.ndarray:
        values = np.asarray(values, float)
        b = min(max(float(smoothing), 0.0), 0.9999)
        if b == 0:
            return values
        if b != self.smoothing or self.n > len(values):
            # A fresh buffer, not the old one rewritten: a plot may still
            # hold a view of the old values.
            self.smoothing, self._out, self.n, self.carry = b, np.empty(0), 0, (0.0, 0.0)
        if self.n < len(values):
            new, self.carry = _ema_tail(values[self.n :], b, self.carry)
            end = self.n + len(new)
            if end > len(self._out):
                grown = np.empty(max(2 * len(self._out), end, 1024))
                grown[: self.n] = self._out[: self.n]
                self._out = grown
            self._out[self.n : end] = new
            self.n = end
        return self.out


def _ema_tail(values: np.ndarray, b: float, carry: tuple[float, float]):
    """Vectorised in blocks, because a Python loop over a million points
    takes a third of a second: within a block, s_k = b^k (b s_(-1) +
    sum_(j<=k) (1-b) v_j b^-j), and blocks are short enough that b^-j stays
    a finite float."""
    finite = np.isfinite(values)
    v = np.where(finite, values, 0.0) * (1 - b)
    w = finite * (1 - b)
    block = int(min(1024, max(1, 100 / -np.log10(b))))  # b^-block <= 1e100
    k = np.arange(block)
    powers, inverse = b**k, b ** -k.astype(float)
    num, den = np.empty_like(v), np.empty_like(v)
    carry_num, carry_den = carry
    for start in range(0, len(v), block):
        end = min(start + block, len(v))
        n = end - start
        num[start:end] = powers[:n] * (b * carry_num + np.cumsum(v[start:end] * inverse[:n]))
        den[start:end] = powers[:n] * (b * carry_den + np.cumsum(w[start:end] * inverse[:n]))
        carry_num, carry_den = num[end - 1], den[end - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out, (carry_num, carry_den)
