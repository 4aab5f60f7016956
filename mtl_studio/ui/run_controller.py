"""The window's side of training: starts a worker on a frozen copy of the
project, drains its events into the run's curves ten times a second,
and keeps the state the buttons and menus show.

States: "idle" (no run), "starting" (building the model and compiling the
step), "running", "paused", "stopping".

A run from disk (Run > Open Run...): open_run(folder) reads the folder's
history.csv and summary.json off the GUI thread (ui/run_history.py: a long
run's history takes a few tenths of a second), then adds its curves to the
session's runs and makes them the current run, as if it had just finished
here: the plots show it, Compare runs offers it, and Continue from
Checkpoint goes on from its checkpoint. open_run returns at once, with the
reason it cannot start or None; then exactly one of run_opened(curves) or
open_failed(reason) follows. While a folder is read, Train and Continue
wait (train_refusal and can_continue say so).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, QStandardPaths, QTimer, Signal
from shiboken6 import isValid

from ..core.validation import errors
from ..training import events as ev
from ..training import run_folder
from .background import run_in_background
from .document import Document
from .run_curves import RunCurves
from .run_history import RunOpenError, curves_from_folder, project_runs  # noqa: F401
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
    run_opened = Signal(object)  # the RunCurves of a run read back from its folder (open_run)
    open_failed = Signal(str)  # why the folder given to open_run could not be read

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
        self.opening: Path | None = None  # the run folder being read (open_run)
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
        if self.opening is not None:
            return f"the run in {self.opening} is still being read"
        problems = errors(document.problems)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return f"fix the project's errors first: {first.place}: {first.message}{more}"
        if not document.project.tasks:
            return "add a task first"
        return None

    def runs_root_for(self, document: Document) -> Path:
        """Where the document's runs go: runs/ next to the project file, or
        the user's data folder for an unsaved project (or runs_root, when set)."""
        if self.runs_root is not None:
            return self.runs_root
        if document.path is not None:
            return document.path.resolve().parent / "runs"
        base = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation)
        return Path(base or Path.home() / ".mtl-studio") / "runs"

    def folder_for(self, document: Document) -> Path:
        """A new run's folder, under runs_root_for(document)."""
        return run_folder.unique_folder(
            self.runs_root_for(document), run_folder.new_folder_name(document.path)
        )

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
            f"Run {len(self.runs) + 1}: {_mode_label(project.training)}",
            tasks,
            {t: project.task_color(t) for t in tasks},
            mode=project.training.mode,
            weighting=project.training.weighting,
            folder=str(out),
            monitor=project.training.monitor,
        )
        self.runs.append(curves)
        self._launch(TrainingWorker(project, project_dir, out, parent=self), curves, project)
        return None

    def can_continue(self) -> bool:
        c = self.curves
        return (
            not self.busy
            and self.opening is None
            and c is not None
            and c.status in ("completed", "stopped", "nan")
            and bool(c.folder)
            and (Path(c.folder) / run_folder.CHECKPOINT).exists()
        )

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
        self._launch(
            TrainingWorker(project, project_dir, out, resume=True, epochs=epochs, parent=self),
            c,
            project,
        )
        return None

    # --- runs from disk -------------------------------------------------------------------

    def open_run(self, folder: Path | str) -> str | None:
        """Show the run in `folder` (a run folder written by the window or by
        `mtl-studio train`) as the current run. Returns the reason it cannot
        (a run is training, another folder is being read), or None: the
        folder is then read off the GUI thread, and run_opened(curves) or
        open_failed(reason) follows. A run of this session opened again is
        shown from the curves the session has (they hold the gradient
        cosines too, which history.csv does not)."""
        if self.busy:
            return "a run is in progress: open a run when it has ended"
        if self.opening is not None:
            return f"the run in {self.opening} is still being read"
        folder = Path(folder).resolve()
        for curves in self.runs:
            if curves.folder and Path(curves.folder).resolve() == folder:
                self._opened(curves)
                return None
        self.opening = folder

        def read():
            try:
                return curves_from_folder(folder)
            except RunOpenError as exc:  # says what is wrong, with the file
                return exc

        run_in_background(
            read,
            self._read,
            lambda detail: self._read(RunOpenError(f"{folder}: cannot read the run: {detail}")),
        )
        return None

    def _read(self, result) -> None:
        if not isValid(self):
            return  # the window closed while the folder was read
        self.opening = None
        if isinstance(result, RunOpenError):
            self.open_failed.emit(str(result))
            return
        self._opened(result)

    def _opened(self, curves: RunCurves) -> None:
        if not any(run is curves for run in self.runs):
            self.runs.append(curves)
        self.curves = curves
        self._run_project = None  # read again from the folder by continue_run
        self.finished_event, self.warnings, self.error_log = None, [], None
        self.state_changed.emit(self.state)  # the state is the same; Continue may be possible now
        self.run_opened.emit(curves)
        self.progressed.emit()

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
            "error", self.curves.step if self.curves else 0, 0, "training ended without a report"
        )
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
