"""The one run path: a project becomes a run folder.

Freeze the project, write the folder, record the events, build and run the
Trainer (resuming from the folder's checkpoint when asked), save the models
and the summary, and turn every failure into a RunFinished with a message.
The command line, the window's worker thread and the Python API all call
`run_project`; each adds only what is its own (a progress bar and Ctrl-C,
an event buffer and pause from the window, callbacks from a notebook).

TensorFlow is imported when a run starts, on the calling thread.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.project import Project
from . import events as ev
from . import run_folder

ERROR_LOG = "error.log"


@dataclass
class RunOutcome:
    """How a run ended, and where its files are."""

    finished: ev.RunFinished
    folder: Path
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a model not written
    error_log: Path | None = None  # an unexpected error's traceback
    trainer: object = None  # the Trainer, when one was made (its model, its data)
    unwritable: bool = False  # the run folder could not be written (a file error)


def run_project(
    project: Project,
    project_dir: Path | None,
    out: Path,
    *,
    resume: bool = False,
    epochs: int | None = None,
    listeners: list[Callable[[list], None]] = (),
    on_trainer: Callable[[object], None] | None = None,
    distribution=None,
) -> RunOutcome:
    """Train `project` into the folder `out` (resume=True: go on from its
    checkpoint; `epochs` then is the total to reach). `listeners` get each
    batch of events as it is recorded; `on_trainer(trainer)` is called once
    the Trainer exists, before training (to keep it for pause and stop).
    `distribution`: a tf.distribute strategy made by the caller (the command
    line makes it before anything else touches TensorFlow); None: the
    project's strategy setting.
    Never raises for a failure of the run: the outcome says what happened."""
    project = project.copy()  # a frozen copy: edits elsewhere never reach a run
    out = Path(out)
    recorder = None
    try:
        # TensorFlow is first imported here, on the calling thread.
        from .record import RunRecorder  # noqa: PLC0415
        from .trainer import Trainer  # noqa: PLC0415

        if not resume:
            run_folder.start(project, project_dir, out)
        recorder = RunRecorder(out, project, resume=resume)
        recorder.listeners.extend(listeners)
        trainer = Trainer(
            project,
            project_dir,
            recorder,
            checkpoint_path=out / run_folder.CHECKPOINT,
            distribution=distribution,
        )
        if on_trainer is not None:
            on_trainer(trainer)
        if resume:
            trainer.restore_checkpoint(out / run_folder.CHECKPOINT)
        finished = trainer.run(epochs)
        error_log = None
        if finished.status == "error":
            error_log = _keep_details(out, getattr(trainer, "error_traceback", ""))
        if trainer.unwritable:  # a full disk: write no more, say which file
            try:
                recorder.close()
            except OSError:
                pass  # summary.json cannot be written either; the checkpoint is whole
            return RunOutcome(finished, out, trainer=trainer, unwritable=True)
        summary, warnings = run_folder.finish(trainer, recorder, finished, out)
        if trainer._data is not None:
            # A streamed run's row files (data/stream.py) hold disk space
            # until closed; the window's process lives on after its runs.
            from ..data.stream import release  # noqa: PLC0415

            release(trainer._data)
        return RunOutcome(finished, out, summary, warnings, error_log, trainer)
    except Exception as exc:  # noqa: BLE001 - reported, never lost
        # The Trainer reports its own failures as events; this is for the
        # rest (the run folder, a checkpoint that does not fit, the files).
        error_log = None
        if isinstance(exc, _expected_errors()):
            finished = ev.RunFinished("invalid", 0, 0, str(exc))
        else:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            finished = ev.RunFinished("error", 0, 0, f"training failed: {detail}")
            error_log = _keep_details(out, traceback.format_exc())
        for listener in listeners:
            listener([finished])
        if recorder is not None:
            try:
                recorder.close()
            except Exception:  # noqa: BLE001 - the first error is the one to show
                pass
        return RunOutcome(
            finished,
            out,
            error_log=error_log,
            unwritable=isinstance(exc, run_folder.RunFolderError),
        )


def _expected_errors() -> tuple[type, ...]:
    """The failures whose message is a sentence for the user (status
    "invalid"); anything else is a bug of ours (status "error")."""
    from .checkpoint import CheckpointError  # noqa: PLC0415 - numpy only

    found = (run_folder.RunFolderError, CheckpointError)
    trainer = sys.modules.get(f"{__package__}.trainer")  # None if its import failed
    return found + ((trainer.TrainingError,) if trainer is not None else ())


def _keep_details(out: Path, text: str) -> Path | None:
    """An unexpected error's traceback goes to the run folder, for a bug
    report; the user sees the one-line message."""
    if not text:
        return None
    try:
        (out / ERROR_LOG).write_text(text, encoding="utf-8")
        return out / ERROR_LOG
    except OSError:
        return None
