"""The study worker: a study's runs one after the other on a QThread.

A StudyWorker calls study/runner.py's run_study on a frozen copy of the
project, so the runs are the same as `mtl-studio study`'s (and each one the
one run path's). What the GUI needs comes as signals, queued to the GUI
thread: a run starts, a run ends, the table as it stands after each run,
and the study's end (its StudyResult in `result`, or a message in `error`,
then QThread.finished). Stop is thread-safe: the run under way stops after
its current steps, keeping its checkpoint, and no other starts; run_study
on the same folder then goes on where it stopped.

With search_trials > 0, the loss-weight search (study/search.py's
search_weights) follows the study's runs on the same thread, into the
study folder's "search" subfolder, with the same Stop; trial_changed says
as each trial starts and ends, and the search's SearchResult is in
`search` (or a message in `search_error`). Gone on with after a stop, the
search runs only the trials still to come.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from ..core.project import Project
from ..study.runner import Stop, StudyError, StudyResult, current_table, run_study
from ..training import events as ev
from .run_worker import lower_training_priority

SEARCH = "search"  # the study folder's subfolder of the weight search


class StudyWorker(QThread):
    """Runs (or goes on with) the study of `project` (already a copy) in the
    folder `out`."""

    run_started = Signal(int, int, str, int)  # index, total, configuration, seed
    run_ended = Signal(int, str)  # index, status ("completed", "stopped", "failed", ...)
    table_changed = Signal(object)  # the StudyResult as it stands (current_table)
    trial_changed = Signal(object)  # a SearchTrial that starts ("running") or ends

    def __init__(
        self,
        project: Project,
        out: Path,
        *,
        baselines: bool = True,
        weightings: list[str] = (),
        modes: list[str] = (),
        seeds: int = 1,
        epochs: int | None = None,
        search_trials: int = 0,
        objective: str = "pareto",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.out = Path(out)
        self.baselines = baselines
        self.weightings = list(weightings)
        self.modes = list(modes)
        self.seeds = seeds
        self.epochs = epochs
        self.search_trials = search_trials
        self.objective = objective
        self.search = None  # the search's SearchResult, when it ran
        self.search_error: str | None = None  # why the search could not run or go on
        self.stopped = False  # the study or its search stopped before its end: it may go on
        self.result: StudyResult | None = None  # when the study has ended
        self.error: str | None = None  # why it could not start or go on
        self._stop = Stop()
        self._lock = threading.Lock()
        self._share = 0.0  # of the run under way, 0 to 1

    # --- from the GUI thread ---------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_share(self) -> float:
        """How much of the run under way is done (0 to 1)."""
        with self._lock:
            return self._share

    # --- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        lower_training_priority()  # before TensorFlow starts its threads from here
        try:
            self.table_changed.emit(self._table())  # a study that goes on: its rows so far
            self.result = run_study(
                self.project,
                self.out,
                **self._configuration(),
                epochs=self.epochs,
                listeners=[self._listen],
                on_run=self._on_run,
                stop=self._stop,
                search=(
                    {"trials": self.search_trials, "objective": self.objective}
                    if self.search_trials
                    else None
                ),
            )
            searching = self.search_trials > 0 and not self.result.stopped
            if searching and not self._stop.is_set():
                self._search()
            self.stopped = self.result.stopped or (
                searching
                and self.search_error is None
                and (self.search is None or self.search.stopped)
            )
        except (StudyError, ValueError, OSError) as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: say it, keep the window
            self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"

    @property
    def search_folder(self) -> Path:
        return self.out / SEARCH

    def _search(self) -> None:
        import optuna  # noqa: PLC0415 - only a search needs it

        from ..study import search as ws  # noqa: PLC0415

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the window shows the trials
        try:
            baselines = None
            if self.objective == "delta_m":
                baselines = ws.study_reference(
                    self.project, self.out, baselines=True, seeds=self.seeds
                )
            trials = self.search_trials - self._trials_done(ws)
            self.search = ws.search_weights(
                self.project,
                self.search_folder,
                max(0, trials),
                objective=self.objective,
                baselines=baselines,
                epochs=self.epochs,
                stop=self._stop,
                on_trial=self.trial_changed.emit,
            )
        except (ws.SearchError, ValueError, OSError) as exc:
            self.search_error = str(exc)

    def _trials_done(self, ws) -> int:
        """The trials of this search that ended in an earlier go (a stopped
        one is tried again: it counts as to come)."""
        if not (self.search_folder / ws.DATABASE).exists():
            return 0
        try:
            held = ws.load_search(ws.default_storage(self.search_folder), self.project.name)
        except KeyError:  # the file holds no such study yet
            return 0
        return sum(
            t.state in ("complete", "pruned") or (t.state == "fail" and t.status != "stopped")
            for t in held.trials
        )

    def _configuration(self) -> dict:
        """What the study runs: the same for running it and for its table."""
        return {
            "baselines": self.baselines,
            "weightings": self.weightings,
            "modes": self.modes,
            "seeds": self.seeds,
        }

    def _table(self) -> StudyResult:
        return current_table(self.project, self.out, **self._configuration())

    def _on_run(self, index: int, total: int, planned, state: str) -> None:
        if state == "training":
            with self._lock:
                self._share = 0.0
            self.run_started.emit(index, total, planned.configuration.name, planned.seed)
            return
        self.run_ended.emit(index, state)
        try:
            self.table_changed.emit(self._table())  # study.json is written: the new rows
        except StudyError:
            pass  # the study's end reads it again and says what is wrong

    def _listen(self, batch: list) -> None:
        for event in batch:
            if isinstance(event, ev.Progress) and event.total_steps:
                with self._lock:
                    self._share = min(1.0, event.step / event.total_steps)
