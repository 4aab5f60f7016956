"""The files of a run: history.csv, summary.json and TensorBoard events.

A RunRecorder is a Trainer callback. It appends to history.csv as events
arrive (so a crash loses nothing already trained), mirrors the curves into
TensorBoard, and writes summary.json when the run ends. Resuming a run
appends to the same files, after dropping the rows (and TensorBoard
events) of steps past the checkpoint it resumes from: a run killed after its
last checkpoint trains those steps again, and its history then holds each
step once.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import numpy as np

from ..core.atomic import write_text
from . import checkpoint as ckpt
from . import events as ev
from .run_folder import CHECKPOINT
from .tensorboard_trim import trim_events_after
from .tf_import import tf

HISTORY = "history.csv"
AFFINITY = "affinity.csv"
AFFINITY_HEADER = ["step", "from_task", "to_task", "z"]
COSINE = "cosine.csv"  # the gradient cosines of each pair of tasks, as reported
COSINE_HEADER = ["step", "task_a", "task_b", "cosine"]
PENALTY = "penalty.csv"  # soft sharing: the penalty term of each step, as trained
PENALTY_HEADER = ["step", "penalty"]
SUMMARY = "summary.json"
TENSORBOARD = "tensorboard"


def write_json(path: Path, data: dict) -> None:
    """Atomically: a temporary file, then a rename."""
    write_text(path, json.dumps(data, indent=2, allow_nan=False, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _finite(value):
    """JSON has no NaN: unknown values are written as null."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


class RunRecorder:
    def __init__(self, out: Path, project, resume: bool = False, extra: dict | None = None) -> None:
        self.out = Path(out)
        self.project = project
        self.tasks = [t.name for t in project.tasks]
        self.metrics = sorted({m for t in project.tasks for m in t.metrics})
        self.extra = dict(extra or {})
        self.started = time.time()
        self.steps_at_start = 0
        self.last_train: dict[str, float] = {}
        self.last_val: dict[str, float] = {}
        self.last_metrics: dict[str, dict] = {}
        self.weights: dict[str, float] = {}
        self.changes: list[dict] = []
        self.rate = 0.0
        self._first_block: tuple[float, int] | None = None  # (time, step) after the first call
        self.finished: ev.RunFinished | None = None
        self.best: dict | None = None  # {"epoch", "step", "value"} of the best epoch
        # affinity.csv and cosine.csv, each opened at its first row
        self._side_files: dict[str, object] = {}
        self._affinity_sum, self._affinity_count = None, 0
        self.steps_per_epoch: int | None = None  # from RunStarted (or the resumed summary)
        self.weighting = project.training.weighting  # what trained: RunStarted says
        self.listeners: list = []  # e.g. the command line's progress bar
        previous = self._read_summary() if resume else {}
        self.changes = previous.get("setting_changes", [])
        self.wall_before = previous.get("wall_seconds", 0.0) or 0.0
        self._keep(previous)
        history = self.out / HISTORY
        new_file = not (resume and history.exists())
        if resume:
            resumed_at = checkpoint_step(self.out / CHECKPOINT)
            if resumed_at is not None:
                for name in (HISTORY, AFFINITY, COSINE, PENALTY):
                    trim_after(self.out / name, resumed_at)
                # Before the new writer opens its own file, which is not to be trimmed.
                trim_events_after(self.out / TENSORBOARD, resumed_at)
        self._csv_file = open(history, "w" if new_file else "a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._csv_file)
        if new_file:
            self._csv.writerow(
                ["step", "epoch", "task", "split", "loss", "weight", "wall_seconds"] + self.metrics
            )
        self._tb = tf().summary.create_file_writer(str(self.out / TENSORBOARD))

    def _keep(self, previous: dict) -> None:
        """A resumed run starts from what the run recorded so far, so a
        resume that trains nothing (or stops at once) loses nothing."""
        for task, values in previous.get("tasks", {}).items():
            if task not in self.tasks:
                continue
            for key, target in (
                ("final_train_loss", self.last_train),
                ("val_loss", self.last_val),
                ("weight", self.weights),
            ):
                if values.get(key) is not None:
                    target[task] = values[key]
            if values.get("val_metrics"):
                self.last_metrics[task] = dict(values["val_metrics"])
        if previous.get("epochs"):
            self.epochs_done = previous["epochs"]
        if previous.get("steps_per_epoch"):
            self.steps_per_epoch = previous["steps_per_epoch"]
        self.best = previous.get("best_epoch")
        affinity = previous.get("affinity")
        if affinity and affinity.get("tasks") == self.tasks:  # the mean goes on
            mean = np.array(affinity["mean"], dtype=float)
            self._affinity_sum = mean * affinity["measurements"]
            self._affinity_count = affinity["measurements"]
        self.weighting = previous.get("weighting", self.project.training.weighting)

    def _scalar(self, tag: str, value: float) -> None:
        """A TensorBoard scalar, written with TensorFlow's own summary op and
        the scalars plugin's metadata (tf.summary.scalar itself lives in the
        tensorboard package: recording needs only TensorFlow; TensorBoard
        itself, a dependency since Run > Open in TensorBoard, reads them)."""
        t = tf()
        t.summary.write(tag, t.constant(value, t.float32), metadata=_SCALAR_METADATA())

    def _read_summary(self) -> dict:
        try:
            return json.loads((self.out / SUMMARY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def __call__(self, batch: list) -> None:
        for event in batch:
            handler = getattr(self, "_on_" + type(event).__name__, None)
            if handler:
                handler(event)
        self._csv_file.flush()
        for listener in self.listeners:
            listener(batch)

    # --- events ------------------------------------------------------------------

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self.steps_at_start = e.start_step
        self.epochs = e.epochs
        self.steps_per_epoch = e.steps_per_epoch
        self.mode, self.weighting = e.mode, e.weighting
        self.extra["devices"] = list(e.devices)
        if e.weighting != self.project.training.weighting:
            self.extra["weighting_set"] = self.project.training.weighting

    def _on_Weights(self, e: ev.Weights) -> None:
        self.weights = dict(e.weights)

    def _on_StepLosses(self, e: ev.StepLosses) -> None:
        wall = e.wall if e.wall is not None else np.zeros(len(e.steps))
        if self._first_block is None:
            self._first_block = (time.time(), int(e.steps[-1]))
        rows = []
        for i, step in enumerate(e.steps):
            for task in self.tasks:
                loss = e.losses[task][i]
                if np.isfinite(loss):
                    # The weight in force at this very step, when the event has it.
                    weight = (
                        e.weights[task][i] if e.weights else self.weights.get(task, float("nan"))
                    )
                    rows.append(
                        [
                            int(step),
                            e.epoch,
                            task,
                            "train",
                            f"{loss:.7g}",
                            f"{weight:.6g}",
                            f"{wall[i] + self.wall_before:.3f}",
                        ]
                        + [""] * len(self.metrics)
                    )
        if e.weights:
            self.weights = {task: float(w[-1]) for task, w in e.weights.items()}
        self._csv.writerows(rows)
        if e.penalty is not None:  # so a run opened from disk has its total and penalty
            file = self._side_file(PENALTY, PENALTY_HEADER)
            csv.writer(file).writerows(
                [int(step), f"{value:.7g}"] for step, value in zip(e.steps, e.penalty)
            )
        # TensorBoard gets the mean of each block of steps: the same curve,
        # at a fraction of the cost of one summary op per step.
        step = int(e.steps[-1])
        with self._tb.as_default(step=step):
            for task in self.tasks:
                values = e.losses[task][np.isfinite(e.losses[task])]
                if len(values):
                    self.last_train[task] = float(values[-1])
                    self._scalar(f"train_loss/{task}", float(values.mean()))
                    self._scalar(f"weight/{task}", self.weights.get(task, 0.0))
            self._scalar("train_loss/total", float(np.nanmean(e.total)))
            if e.penalty is not None:
                self._scalar("soft_sharing_penalty", float(np.mean(e.penalty)))

    def _side_file(self, name: str, header: list[str]):
        """A CSV file beside history.csv, appended to as it is (a resumed
        run goes on in it), its header written when it is new."""
        if name not in self._side_files:
            path = self.out / name
            new = not path.exists()
            self._side_files[name] = open(path, "a", newline="", encoding="utf-8")
            if new:
                csv.writer(self._side_files[name]).writerow(header)
        return self._side_files[name]

    def _on_GradientCosine(self, e: ev.GradientCosine) -> None:
        """cosine.csv (so a run opened from disk has its cosine plot) and
        TensorBoard."""
        file = self._side_file(COSINE, COSINE_HEADER)
        writer = csv.writer(file)
        with self._tb.as_default(step=e.step):
            for (a, b), value in e.pairs.items():
                writer.writerow([e.step, a, b, f"{value:.7g}"])
                self._scalar(f"gradient_cosine/{a}__{b}", value)
        file.flush()

    def _on_Affinity(self, e: ev.Affinity) -> None:
        """affinity.csv (appended, as history.csv) and TensorBoard; the run's
        mean goes into the summary."""
        file = self._side_file(AFFINITY, AFFINITY_HEADER)
        writer = csv.writer(file)
        with self._tb.as_default(step=e.step):
            for i, a in enumerate(e.tasks):
                for j, b in enumerate(e.tasks):
                    writer.writerow([e.step, a, b, f"{e.z[i, j]:.7g}"])
                    self._scalar(f"affinity/{a}__{b}", float(e.z[i, j]))
        file.flush()
        self._affinity_sum = e.z + (self._affinity_sum if self._affinity_sum is not None else 0)
        self._affinity_count += 1

    def _affinity_summary(self) -> dict | None:
        from .affinity import best_groupings  # noqa: PLC0415 - numpy only

        if not self._affinity_count:
            return None
        mean = self._affinity_sum / self._affinity_count
        return {
            "measurements": self._affinity_count,
            "tasks": self.tasks,
            "mean": [[_finite(v) for v in row] for row in mean],
            "groupings": best_groupings(mean, self.tasks),
        }

    def _on_EpochEnd(self, e: ev.EpochEnd) -> None:
        if e.best_epoch is not None:
            self.best = {
                "epoch": e.best_epoch,
                "step": e.best_step,
                "value": e.monitored if e.best_epoch == e.epoch else (self.best or {}).get("value"),
            }
        self.last_val = dict(e.val_losses)
        self.last_metrics = {t: dict(m) for t, m in e.val_metrics.items()}
        self.epochs_done = e.epoch
        for task, loss in e.train_losses.items():
            self.last_train[task] = loss
        rows = []
        for task in self.tasks:
            if task in e.val_losses:
                metrics = e.val_metrics.get(task, {})
                rows.append(
                    [
                        e.step,
                        e.epoch,
                        task,
                        "val",
                        f"{e.val_losses[task]:.7g}",
                        f"{self.weights.get(task, float('nan')):.6g}",
                        f"{time.time() - self.started + self.wall_before:.3f}",
                    ]
                    + [_cell(metrics.get(m)) for m in self.metrics]
                )
        self._csv.writerows(rows)
        with self._tb.as_default(step=e.step):
            for task, loss in e.val_losses.items():
                self._scalar(f"val_loss/{task}", loss)
                for name, value in e.val_metrics.get(task, {}).items():
                    if np.isfinite(value):
                        self._scalar(f"val_{name}/{task}", value)
        self._tb.flush()

    def _on_Progress(self, e: ev.Progress) -> None:
        self.rate = e.steps_per_second
        self.step = e.step

    def _on_SettingChanged(self, e: ev.SettingChanged) -> None:
        self.changes.append(
            {"step": e.step, "setting": e.setting, "task": e.task, "value": e.value}
        )

    def _on_RunFinished(self, e: ev.RunFinished) -> None:
        self.finished = e

    # --- the end -----------------------------------------------------------------

    def close(self, files: dict[str, str] | None = None) -> dict:
        """Write summary.json and close the files; returns the summary."""
        self._csv_file.close()
        for file in self._side_files.values():
            file.close()
        self._tb.flush()
        self._tb.close()
        wall = time.time() - self.started
        e = self.finished
        steps = e.step if e else 0
        # Speed of training proper: from the end of the first call (which
        # includes tracing the compiled step) to the end of the run.
        rate = self.rate
        if self._first_block is not None:
            t0, s0 = self._first_block
            if steps > s0 and time.time() > t0:
                rate = (steps - s0) / (time.time() - t0)
        summary = {
            "project": self.project.name,
            "status": e.status if e else "unknown",
            "message": e.message if e else "",
            "mode": self.project.training.mode,
            "weighting": self.weighting,  # what trained (alternating: fixed)
            "steps": steps,
            "epochs": getattr(self, "epochs_done", 0),
            "steps_per_epoch": self.steps_per_epoch,
            "wall_seconds": round(wall + self.wall_before, 3),
            "steps_per_second": round(rate, 2) if rate else None,
            "tasks": {
                task: {
                    "final_train_loss": _finite(self.last_train.get(task)),
                    "val_loss": _finite(self.last_val.get(task)),
                    "val_metrics": {
                        m: _finite(v) for m, v in self.last_metrics.get(task, {}).items()
                    },
                    "weight": _finite(self.weights.get(task)),
                }
                for task in self.tasks
            },
            "best_epoch": self.best
            and {
                **self.best,
                "value": _finite(self.best["value"]),
                "monitor": self.project.training.monitor,
            },
            "early_stopped": bool(e and e.early_stopped),
            "affinity": self._affinity_summary(),
            "setting_changes": self.changes,
            "files": files or {},
            **self.extra,
        }
        write_json(self.out / SUMMARY, summary)
        return summary


def checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint holds (where a resumed run goes on), or None
    when there is no readable checkpoint (resuming then fails on its own)."""
    try:
        _, meta = ckpt.load(path)
        return int(meta["step"])
    except (ckpt.CheckpointError, KeyError, TypeError, ValueError):
        return None


def trim_after(path: Path, step: int) -> int:
    """Drop the rows of a run's CSV file (history.csv, affinity.csv) whose
    step is past `step`, and rows cut short by a kill in the middle of a
    write; the file is rewritten atomically. Returns how many rows went."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        return 0
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0  # not ours to mend: appending goes on as before
    if not rows:
        return 0
    header, body = rows[0], rows[1:]
    ends_whole = _ends_with_newline(path)
    kept = []
    for i, row in enumerate(body):
        last = i == len(body) - 1
        if len(row) != len(header) or (last and not ends_whole):
            continue  # half a row: the write was killed
        try:
            if int(row[0]) > step:
                continue
        except ValueError:
            continue
        kept.append(row)
    dropped = len(body) - len(kept)
    if dropped:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(kept)
        write_text(path, out.getvalue())
    return dropped


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return True
            fh.seek(-1, 2)
            return fh.read(1) in (b"\n", b"\r")
    except OSError:
        return True


def _SCALAR_METADATA():
    from tensorflow.core.framework import summary_pb2  # noqa: PLC0415 (after tf_import)

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )


def _cell(value) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.7g}"
