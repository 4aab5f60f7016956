"""MTL Studio as a Python library: the public surface `import mtl_studio as
mtl` gives (docs/python-api.md). What is not reachable from here is private
and may change.

Importing this costs no TensorFlow: `train`, `run_study`, a Run's model,
evaluate and predict import it when first used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .core import fileformat
from .core.building import add_input, add_layer, add_task, arrange, use_data
from .core.project import Project
from .core.settings import DataSource, OptimizerSpec, TrainingSettings
from .core.tasks import Task
from .core.validation import Problem, errors
from .examples import examples

__all__ = [
    "Project",
    "Task",
    "DataSource",
    "TrainingSettings",
    "OptimizerSpec",
    "Problem",
    "add_input",
    "add_layer",
    "add_task",
    "use_data",
    "arrange",
    "load",
    "save",
    "examples",
    "validate",
    "train",
    "run_study",
    "Run",
    "open_run",
    "TrainingFailed",
]


class TrainingFailed(Exception):
    """train() could not train: the project or its data has errors (the
    problems are in .problems), or the run ended in an error."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


# --- projects --------------------------------------------------------------------


def load(path_or_example: str | Path) -> Project:
    """A project file, or the name of a bundled example ("energy", ...).
    Data paths come back absolute. Raises ProjectError naming the place."""
    path = Path(path_or_example)
    if not path.exists() and str(path_or_example) in examples():
        path = examples()[str(path_or_example)]
    return fileformat.load(path)


def save(project: Project, path: str | Path) -> Path:
    """Write the project file (atomically; data paths relative to it)."""
    path = Path(path)
    fileformat.save(project, path)
    return path


def validate(project: Project, data: bool = True) -> list[Problem]:
    """Every problem, each with its place (`problem.place`, `.message`,
    `.severity`): what the window's Problems list shows. data=False checks
    the design and settings alone, without reading the data files."""
    from .core.validation import validate as design  # noqa: PLC0415

    if not data:
        return design(project)
    from .data.project_checks import all_problems  # noqa: PLC0415 - reads the files

    # Loaded projects hold absolute data paths; relative ones (a project
    # built in code) are read from the current folder, as training reads them.
    return all_problems(project, None)


# --- runs --------------------------------------------------------------------------


@dataclass
class Curve:
    """One task's losses: `step` and `loss` (training, per step), `val_step`,
    `val_epoch` and `val_loss` (validation, per epoch), `metrics` (name ->
    per-epoch validation values), `weight` (per step)."""

    step: np.ndarray
    loss: np.ndarray
    weight: np.ndarray
    val_step: np.ndarray
    val_epoch: np.ndarray
    val_loss: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)


class Run:
    """A run folder: its summary, curves, models; evaluate and predict.
    What train() returns, and what open_run() gives for an earlier run."""

    def __init__(self, folder: str | Path) -> None:
        from .training.evaluation import open_run as read  # noqa: PLC0415 - no TensorFlow

        self.folder = Path(folder)
        self._run = read(self.folder)
        self._models: dict[str, object] = {}
        self._curves: dict[str, Curve] | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r}, status={self.status!r})"

    @property
    def summary(self) -> dict:
        """summary.json: status, message, steps, epochs, per-task figures,
        best_epoch, setting changes, class labels, files."""
        return self._run.summary

    @property
    def status(self) -> str:
        return self.summary.get("status", "unknown")

    @property
    def message(self) -> str:
        return self.summary.get("message", "")

    @property
    def best_epoch(self) -> int | None:
        return (self.summary.get("best_epoch") or {}).get("epoch")

    @property
    def project(self) -> Project:
        """The project as it was trained."""
        return self._run.project

    @property
    def curves(self) -> dict[str, Curve]:
        """Each task's curves as numpy arrays, read from history.csv."""
        if self._curves is None:
            self._curves = _read_curves(
                self.folder / "history.csv", [t.name for t in self.project.tasks]
            )
        return self._curves

    def model(self, which: str = "best"):
        """The Keras model in real units ("best" epoch or "last"): raw
        inputs by Input name in, each task's output by task name out."""
        if which not in self._models:
            from .training.evaluation import load_model  # noqa: PLC0415 - TensorFlow

            self._models[which] = load_model(self._run.model_path(which))
        return self._models[which]

    def evaluate(
        self, split: str = "test", data: str | Path | None = None, which: str = "best"
    ) -> dict:
        """Per-task scores beside a trivial predictor (docs/results.md);
        also written to the run folder."""
        from .training.evaluation import evaluate  # noqa: PLC0415

        return evaluate(self._run, Path(data) if data else None, split, which)

    def predict(self, inputs: dict[str, np.ndarray], which: str = "best") -> dict:
        """Predictions in real units for raw inputs (Input name -> array of
        examples): task name -> array (probabilities for classification)."""
        out = self.model(which).predict(inputs, verbose=0)
        return {task: np.asarray(value) for task, value in out.items()}

    def predict_file(self, data: str | Path, out: str | Path, which: str = "best") -> int:
        """As `mtl-studio predict`: a CSV of predictions per row of a CSV or
        NPZ file. Returns the number of rows."""
        from .training.evaluation import predict_file  # noqa: PLC0415

        return predict_file(self._run, Path(data), Path(out), which)


def open_run(folder: str | Path) -> Run:
    """An earlier run from its folder (runs/NAME-TIME)."""
    return Run(folder)


def train(
    project: Project,
    epochs: int | None = None,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    callbacks: list[Callable[[list], None]] = (),
    on_trainer: Callable[[object], None] | None = None,
) -> Run:
    """Train the project as the window and `mtl-studio train` do (one run
    path), into the run folder `out` (default runs/NAME-TIME in the current
    folder). `callbacks` get each batch of events (mtl_studio.training.events)
    as training goes; `on_trainer(trainer)` is called before the first step
    (e.g. to read or set trainer.model's weights after trainer.setup()).
    resume=True goes on from the folder's checkpoint. Raises TrainingFailed
    when the project has errors or the run fails; a run stopped by a NaN
    loss returns, with status "nan"."""
    from .training import run_folder  # noqa: PLC0415
    from .training.run import run_project  # noqa: PLC0415 - TensorFlow

    if resume:
        if out is None:
            raise ValueError("resume=True needs the run folder: out=...")
        project, project_dir = run_folder.read(Path(out))
    else:
        project, project_dir = project.copy(), None  # data paths: absolute, or from here
        _refuse_errors(project)
    if epochs is not None:
        project.training.epochs = epochs
    if out is None:
        out = run_folder.unique_folder(
            Path("runs"), run_folder.new_folder_name(Path(_stem(project.name)))
        )
    outcome = run_project(
        project,
        project_dir,
        Path(out),
        resume=resume,
        listeners=list(callbacks),
        on_trainer=on_trainer,
    )
    if outcome.finished.status in ("invalid", "error"):
        raise TrainingFailed(outcome.finished.message)
    return Run(outcome.folder)


def run_study(
    project: Project,
    out: str | Path | None = None,
    *,
    baselines: bool = True,
    weightings: list[str] = (),
    modes: list[str] = (),
    seeds: int = 1,
    epochs: int | None = None,
    callbacks: list[Callable[[list], None]] = (),
    on_run: Callable[[int, int, object, str], None] | None = None,
):
    """Does sharing help each task, and which weighting or mode serves best:
    the study `mtl-studio study` and the window's Study tab run
    (docs/studies.md), into the folder `out` (default runs/study-NAME-TIME).
    Returns the StudyResult: `.rows` (each configuration's figures, gains
    and delta-m), `.markdown`, `.reference`, `.failed`, `.runs`. Called
    again with the same `out` and arguments it goes on where it stopped.
    `callbacks` get each run's training events, `on_run(index, total, run,
    state)` each run's start ("training") and end (its status). Raises
    TrainingFailed when the project has errors or `out` holds another study."""
    # Named run_study here: `mtl.study` is the package mtl_studio.study.
    from .study import runner  # noqa: PLC0415 - TensorFlow
    from .training import run_folder  # noqa: PLC0415

    project = project.copy()
    _refuse_errors(project)
    if out is None:
        out = run_folder.unique_folder(
            Path("runs"), "study-" + run_folder.new_folder_name(Path(_stem(project.name)))
        )
    try:
        return runner.run_study(
            project,
            Path(out),
            baselines=baselines,
            weightings=list(weightings),
            modes=list(modes),
            seeds=seeds,
            epochs=epochs,
            listeners=list(callbacks),
            on_run=on_run,
        )
    except (runner.StudyError, ValueError) as exc:
        raise TrainingFailed(str(exc)) from None


def _refuse_errors(project: Project) -> None:
    """TrainingFailed, naming every error, for a project that cannot train."""
    problems = errors(validate(project))
    if problems:
        lines = "; ".join(f"{p.place}: {p.message}" for p in problems)
        raise TrainingFailed(f"the project has errors: {lines}", problems)


def _stem(name: str) -> str:
    clean = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    return clean.lower() or "project"


def _read_curves(path: Path, tasks: list[str]) -> dict[str, Curve]:
    import csv  # noqa: PLC0415

    rows = {t: {"train": [], "val": []} for t in tasks}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        metrics = [
            c
            for c in reader.fieldnames or []
            if c not in ("step", "epoch", "task", "split", "loss", "weight", "wall_seconds")
        ]
        for r in reader:
            if r["task"] in rows:
                rows[r["task"]][r["split"]].append(r)

    def number(rs, key):
        return np.array([float(r[key]) if r[key] else np.nan for r in rs])

    curves = {}
    for task, split in rows.items():
        train, val = split["train"], split["val"]
        curves[task] = Curve(
            number(train, "step").astype(np.int64),
            number(train, "loss"),
            number(train, "weight"),
            number(val, "step").astype(np.int64),
            number(val, "epoch").astype(np.int64),
            number(val, "loss"),
            {m: number(val, m) for m in metrics if any(r[m] for r in val)},
        )
    return curves
