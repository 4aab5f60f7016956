"""The folder of one training run, the same for the command line and the
window: the project as trained, where its data lives, the history, the
checkpoint and the trained model. `mtl-studio train --resume FOLDER` goes on
from any of them.

TensorFlow is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..core.datafiles import absolute, sources
from ..core.fileformat import ProjectError, load, save
from ..core.project import Project
from . import events as ev

PROJECT_COPY = "project.mtl.json"
CHECKPOINT = "checkpoint.npz"
# The two models a run keeps, both in real units (training/real_units.py):
# the weights of the best epoch by the monitored quantity, and the last.
MODEL_BEST = "model-best.keras"
MODEL_LAST = "model-last.keras"
RUN_INFO = "run.json"


class RunFolderError(Exception):
    """The folder cannot be written, or is not a run to resume."""


def new_folder_name(project_path: Path | None) -> str:
    stem = project_path.name.split(".")[0] if project_path else "untitled"
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def unique_folder(root: Path, name: str) -> Path:
    """root/name, or root/name-2 ... when two runs start in the same second."""
    path, n = root / name, 1
    while path.exists():
        n += 1
        path = root / f"{name}-{n}"
    return path


def start(project: Project, project_dir: Path | None, out: Path) -> None:
    """Make the folder and write what a resume needs (the project as it is
    trained, and the folder its data paths are relative to)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        save(project, out / PROJECT_COPY)
        # The copy keeps its data paths relative to the run folder (as any
        # project file does); the absolute ones find the data again when
        # the run folder alone has moved.
        files = {
            _owner_key(task): str(Path(absolute(s.path, project_dir or Path.cwd())))
            for task, s in sources(project)
        }
        info = {"project_dir": str(project_dir) if project_dir else None, "data_files": files}
        (out / RUN_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    except (OSError, ProjectError) as exc:
        raise RunFolderError(f"{out}: cannot write the run folder: {exc}") from None


def read(out: Path) -> tuple[Project, Path | None]:
    """The project and data folder of a run to resume."""
    try:
        info = json.loads((out / RUN_INFO).read_text(encoding="utf-8"))
        project = load(out / PROJECT_COPY)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{out}: not a run folder to resume ({exc})") from None
    except ProjectError as exc:
        raise RunFolderError(str(exc)) from None
    if not (out / CHECKPOINT).exists():
        raise RunFolderError(f"{out}: has no {CHECKPOINT} to resume from")
    find_moved_data(project, info.get("data_files", {}))
    project_dir = info.get("project_dir")
    return project, Path(project_dir) if project_dir else None


def _owner_key(task: str | None) -> str:
    return "project" if task is None else f"task:{task}"


def find_moved_data(project: Project, recorded: dict[str, str]) -> None:
    """A data path that no longer resolves (the run folder moved, and the
    copy's relative paths with it) falls back to where the data was when
    the run started, if the file is still there."""
    for task, source in sources(project):
        was = recorded.get(_owner_key(task))
        if was and not Path(source.path).exists() and Path(was).exists():
            source.path = was


def finish(trainer, recorder, finished: ev.RunFinished, out: Path) -> tuple[dict, list[str]]:
    """Save the trained model (when anything was trained) and write the
    summary. Returns the summary and the warnings to show (a model that
    could not be written is a warning: the history and checkpoint stand)."""
    warnings = []
    files = {
        "history": "history.csv",
        "summary": "summary.json",
        "tensorboard": "tensorboard/",
        "project": PROJECT_COPY,
    }
    if finished.status in ("completed", "stopped", "nan") and getattr(trainer, "model", None):
        files.update(save_models(trainer, out, warnings))
    if (out / CHECKPOINT).exists():
        files["checkpoint"] = CHECKPOINT
    if trainer._data is not None:
        # What a prediction needs to be read back: class ids -> labels, and
        # the scaling of inputs and targets.
        recorder.extra.update(
            classes=trainer._data.classes, standardization=trainer._data.standardization
        )
    return recorder.close(files), warnings


def save_models(trainer, out: Path, warnings: list[str]) -> dict[str, str]:
    """model-last.keras and model-best.keras in real units; the files
    written, by role. A model that cannot be written is a warning."""
    from .builder import model_name, save_keras  # noqa: PLC0415 - TensorFlow, lazily
    from .real_units import real_units_model  # noqa: PLC0415

    name = model_name(trainer.project.name)
    last = trainer.weight_values()
    plan = [("model_last", MODEL_LAST, last, "last_epoch")]
    if trainer.best_values is not None:
        plan.append(
            ("model_best", MODEL_BEST, trainer.best_values, f"best_epoch_{trainer.best['epoch']}")
        )
    written = {}
    try:
        for role, filename, values, label in plan:
            trainer.use_weights(values)
            try:
                model = real_units_model(
                    trainer.model, trainer._data, trainer.tasks, f"{name}_{label}"
                )
                save_keras(model, out / filename)
                written[role] = filename
            except (OSError, ValueError) as exc:
                warnings.append(f"{out / filename}: cannot write the model: {exc}")
    finally:
        trainer.use_weights(last)  # the trainer goes on with its own weights
    return written
