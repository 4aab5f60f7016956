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

from ..core.fileformat import ProjectError, load, save
from ..core.project import Project
from . import events as ev

PROJECT_COPY = "project.mtl.json"
CHECKPOINT = "checkpoint.npz"
MODEL = "model.keras"
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
        info = {"project_dir": str(project_dir) if project_dir else None}
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
    project_dir = info.get("project_dir")
    return project, Path(project_dir) if project_dir else None


def finish(trainer, recorder, finished: ev.RunFinished, out: Path) -> tuple[dict, list[str]]:
    """Save the trained model (when anything was trained) and write the
    summary. Returns the summary and the warnings to show (a model that
    could not be written is a warning: the history and checkpoint stand)."""
    from .builder import save_keras  # noqa: PLC0415 - TensorFlow, lazily

    warnings = []
    files = {"history": "history.csv", "summary": "summary.json", "tensorboard": "tensorboard/",
             "project": PROJECT_COPY}
    if finished.status in ("completed", "stopped", "nan") and getattr(trainer, "model", None):
        try:
            save_keras(trainer.model, out / MODEL)
            files["model"] = MODEL
        except OSError as exc:
            warnings.append(f"{out / MODEL}: cannot write the model: {exc}")
    if (out / CHECKPOINT).exists():
        files["checkpoint"] = CHECKPOINT
    if trainer._data is not None:
        # What a prediction needs to be read back: class ids -> labels, and
        # the scaling of inputs and targets.
        recorder.extra.update(classes=trainer._data.classes,
                              standardization=trainer._data.standardization)
    return recorder.close(files), warnings
