"""The window's side of training: starts a worker on a frozen copy of the
project, drains its events into the run's curves ten times a second,
and keeps the state the buttons and menus show.

States: "idle" (no run), "starting" (building the model and compiling the
step), "running", "paused", "stopping".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, QStandardPaths, QTimer, Signal

from ..core.validation import errors
from ..training import events as ev
from ..training import run_folder
from .document import Document
from .run_curves import RunCurves
from .run_worker import TrainingWorker

# Ten times a second: the plots redraw a few times a second at most while a
# run streams (plots.DRAW_SHARE), so draining more often only costs the GUI
# thread, whose every busy moment a run on busy cores waits for.
DRAIN_MS = 100
# The progress read-outs change at most this often: a progress bar repaints
# at once on every new value (1.6 ms each on 2 busy cores), and four times a
# second reads as live.
PROGRESS_MS = 250
# Closing the window waits this long for the run to stop.
SHUTDOWN_MS = 2000


class RunController(QObject):
    state_changed = Signal(str)
    run_started = Signal(object)  # the RunCurves of a new (or continued) run
    updated = Signal()  # new events were drained into the current run's curves
    progressed = Signal()  # the run's progress to show: at most every PROGRESS_MS
    run_finished = Signal(object)  # the RunFinished event

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = "idle"
        self.worker: TrainingWorker | None = None
        self.curves: RunCurves | None = None  # the current (or last) run
        self.runs: list[RunCurves] = []
        self.runs_root: Path | None = None  # None: next to the project, or the user's data folder
        self.finished_event: ev.RunFinished | None = None
        self._run_project = None  # the frozen copy the current run trains
        self.warnings: list[str] = []  # of the last run (e.g. a model not written)
        self.error_log: Path | None = None  # an unexpected error's details
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        self._progress_clock = QElapsedTimer()

    # --- starting ------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.state != "idle"

    def train_refusal(self, document: Document) -> str | None:
        """Why Train cannot start now, or None."""
        if self.busy:
            return "a run is in progress"
        problems = errors(document.problems)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return f"fix the project's errors first: {first.place}: {first.message}{more}"
        if not document.project.tasks:
            return "add a task first"
        return None

    def folder_for(self, document: Document) -> Path:
        if self.runs_root is not None:
            root = self.runs_root
        elif document.path is not None:
            root = document.path.resolve().parent / "runs"
        else:
            base = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation)
            root = Path(base or Path.home() / ".mtl-studio") / "runs"
        return run_folder.unique_folder(root, run_folder.new_folder_name(document.path))

    def start(self, document: Document) -> str | None:
        """Train the document's project as it is now. Returns None, or the
        reason nothing started."""
        reason = self.train_refusal(document)
        if reason:
            return reason
        project = document.project.copy()
        project_dir = document.path.resolve().parent if document.path else None
        out = self.folder_for(document)
        tasks = [t.name for t in project.tasks]
        curves = RunCurves(
            f"Run {len(self.runs) + 1}: {_mode_label(project.training)}", tasks,
            {t: project.task_color(t) for t in tasks}, mode=project.training.mode,
            weighting=project.training.weighting, folder=str(out))
        self.runs.append(curves)
        self._launch(TrainingWorker(project, project_dir, out, parent=self), curves, project)
        return None

    def can_continue(self) -> bool:
        c = self.curves
        return (not self.busy and c is not None and c.status in ("completed", "stopped", "nan")
                and (Path(c.folder) / run_folder.CHECKPOINT).exists())

    def continue_run(self) -> str | None:
        """Go on from the last run's checkpoint: to its planned epochs after
        a stop, or for as many epochs again after it completed."""
        if not self.can_continue():
            return "there is no stopped or finished run with a checkpoint to go on from"
        c = self.curves
        out = Path(c.folder)
        try:
            project, project_dir = run_folder.read(out)
        except run_folder.RunFolderError as exc:
            return str(exc)
        epochs_done = c.step // c.steps_per_epoch
        epochs = None if c.status != "completed" else epochs_done + project.training.epochs
        self._launch(TrainingWorker(project, project_dir, out, resume=True, epochs=epochs,
                                    parent=self), c, project)
        return None

    def _launch(self, worker: TrainingWorker, curves: RunCurves, project) -> None:
        self.worker, self.curves, self._run_project = worker, curves, project
        self.finished_event = None
        curves.status, curves.message = "running", ""
        worker.finished.connect(self._worker_finished)
        self._set_state("starting")
        self.run_started.emit(curves)
        worker.start()
        self._timer.start()

    # --- controls ------------------------------------------------------------------------

    def pause(self) -> None:
        if self.worker and self.state in ("starting", "running"):
            self.worker.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.worker and self.state == "paused":
            self.worker.resume_run()
            self._set_state("running" if self.curves and self.curves.step else "starting")

    def stop(self) -> None:
        if self.worker and self.state in ("starting", "running", "paused"):
            self.worker.stop()
            self._set_state("stopping")

    def set_weight(self, task: str, value: float) -> None:
        if self.worker:
            self.worker.set_weight(task, value)

    def set_learning_rate(self, value: float, task: str | None = None) -> None:
        if self.worker:
            self.worker.set_learning_rate(value, task)

    @property
    def run_project(self):
        """The frozen copy the current run trains (its tasks, mode, rates)."""
        return self._run_project

    def shutdown(self, msecs: int = SHUTDOWN_MS) -> bool:
        """Stop the run and wait for its thread; False if it is still busy
        (inside one long compiled call or model build) after msecs."""
        if self.worker is None:
            return True
        self.stop()
        if not self.worker.wait(msecs):
            return False
        self._worker_finished()
        return True

    # --- events ------------------------------------------------------------------------

    def drain(self) -> None:
        """Move the worker's events into the curves: on the GUI thread, numpy
        only."""
        if self.worker is None or self.curves is None:
            return
        events = self.worker.buffer.take()
        if not events:
            return
        self.curves.add(events)
        for e in events:
            if isinstance(e, ev.StepLosses) and self.state == "starting":
                self._set_state("running")
            elif isinstance(e, ev.RunFinished):
                self.finished_event = e
        self.updated.emit()
        clock = self._progress_clock
        if not clock.isValid() or clock.elapsed() >= PROGRESS_MS or self.finished_event:
            clock.start()
            self.progressed.emit()

    def _worker_finished(self) -> None:
        worker = self.worker
        if worker is None:
            return  # already handled (shutdown waits, then the signal arrives)
        self.drain()
        self._timer.stop()
        self.worker = None
        worker.deleteLater()
        finished = self.finished_event or ev.RunFinished(
            "error", self.curves.step if self.curves else 0, 0,
            "training ended without a report")
        if self.curves is not None:
            self.curves.status, self.curves.message = finished.status, finished.message
            self.curves.version += 1
        self.warnings, self.error_log = worker.warnings, worker.error_log
        self._set_state("idle")
        self.run_finished.emit(finished)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
            self.progressed.emit()


def _mode_label(settings) -> str:
    if settings.mode == "alternating":
        return f"alternating, {settings.schedule.replace('_', ' ')}"
    if settings.mode == "soft_sharing":
        return f"soft sharing, lambda {settings.soft_sharing_lambda:g}"
    return f"joint, {settings.weighting}"
