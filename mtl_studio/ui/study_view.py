"""The Study tab: does sharing help each task, and which weighting serves
best, on the user's own project and data (docs/studies.md).

A form says what to run (the single-task baselines, weighting variants,
seeds, epochs); Start runs the study in the background (ui/study_worker.py:
study/runner.py's run_study on a frozen copy of the project, into a new
folder under the project's runs folder), one run after the other. The
window stays live; a progress line and bar follow the runs, and the table
fills in as each configuration's runs end: each task's figure on the test
rows with its gain against the single-task baselines (cells shaded green
when better, red when worse), and delta-m, ranked as the runner ranks.
Stop ends the run under way (it keeps its checkpoint); Continue the Last
Study goes on where it stopped, and runs already scored never train again.
Continue a Study... does the same for a study folder chosen on disk (one of
an earlier session, or of `mtl-studio study`), with the project and options
the folder kept when the study started.

With Trials above 0, the loss-weight search follows the study's runs in
the same worker (into the study folder's "search" subfolder); its result
shows under the table (ui/search_view.py: the Pareto front, or the trials
ranked by delta-m), and a chosen trial's weights are applied to the
project as one undo step.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import MODES, WEIGHTINGS
from ..core.validation import errors
from ..core.wording import counted
from ..study.plan import configuration_count
from ..study.runner import StudyError, StudyResult, saved_study
from ..study.search import apply_trial
from ..training import run_folder
from .document import Document
from .results_view import FIGURE_NAMES
from .search_view import SearchView, weights_text
from .study_worker import StudyWorker
from .widgets import ERROR_COLOR, DocumentView, ErrorLabel

MAX_SEEDS = 10
MAX_TRIALS = 1000
WEIGHTINGS_PER_ROW = 6  # check boxes a row in the form
OBJECTIVES = {  # the search's objective -> its name in the form
    "pareto": "Pareto front of the tasks' validation figures",
    "delta_m": "delta-m against the baselines",
}
PROGRESS_MS = 250  # the progress bar follows the run under way this often
SHUTDOWN_MS = 2000  # closing the window waits this long for the study to stop
# A gain this large (per cent) gets the strongest shade; smaller ones are
# lighter, so the eye finds the big differences first.
FULL_GAIN = 20.0
BETTER = QColor(46, 125, 50)  # green
WORSE = QColor(198, 40, 40)  # red
TEXT = QColor(25, 25, 25)  # dark on the light shades, whatever the theme
STOPPED = "stopped"


def gain_color(gain: float | None) -> QColor | None:
    """The background of a cell with this gain (per cent better than the
    baseline): white shaded towards green (better) or red (worse), more as
    the gain grows up to FULL_GAIN; None for no gain (the baseline) or one
    that rounds to 0.0 %."""
    if gain is None or math.isnan(gain) or abs(gain) < 0.05:
        return None
    base = BETTER if gain > 0 else WORSE
    share = 0.15 + 0.45 * min(abs(gain) / FULL_GAIN, 1.0)
    return QColor(
        *(round(255 + (c - 255) * share) for c in (base.red(), base.green(), base.blue()))
    )


def _figure(x: float) -> str:
    return f"{x:.4g}"  # as the study table's Markdown prints figures


def _signed(x: float, digits: int) -> str:
    return f"{round(x, digits) + 0.0:+.{digits}f}"  # round first: no "-0.00"


def cell_text(mean: float, std: float, gain: float | None, seeds: int) -> str:
    """ "mean ± std (gain %)"; no spread for a single seed (it is 0)."""
    text = _figure(mean) + (f" ± {_figure(std)}" if seeds > 1 else "")
    if gain is not None and not math.isnan(gain):
        text += f" ({_signed(gain, 1)} %)"
    return text


def _drawn_weighting(project) -> str | None:
    """The weighting of the project as drawn, in joint mode (a variant
    with it would be the same runs); None in the other modes."""
    t = project.training
    return t.weighting if t.mode == "joint" else None


def run_count(
    project, baselines: bool, weightings: list[str], seeds: int, modes: list[str] = ()
) -> int:
    """How many runs a study has: study/plan.py's configurations, once per seed."""
    return configuration_count(project, baselines, weightings, modes) * seeds


def _duration(ms: int) -> str:
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


class StudyView(DocumentView):
    """The study form, its progress and its table. `runs_root()` gives the
    folder new studies go under (the project's runs folder);
    `busy_reason()` says why no study may start now (a training run is
    under way), or None."""

    follows = (("changed", "_project_changed"), ("problems_changed", "refresh"))

    state_changed = Signal(bool)  # a study runs (True) or not
    run_started = Signal(int, int, str, int)  # index, total, configuration, seed
    table_changed = Signal(object)  # the StudyResult on screen
    study_ended = Signal(object)  # the StudyResult, or None when the study could not run
    message = Signal(str)  # news for the status bar

    _setting_epochs = False  # the spin box follows the project's epochs: not the user's edit

    def __init__(
        self,
        document: Document,
        runs_root: Callable[[], Path],
        busy_reason: Callable[[], str | None] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runs_root = runs_root
        self.busy_reason = busy_reason
        self.worker: StudyWorker | None = None
        self.folder: Path | None = None  # of the study shown
        self.result: StudyResult | None = None  # its table as it stands
        self.last: dict | None = None  # what the last study of this session ran
        self.last_stopped = False  # ... and that it stopped before its end
        self._total = 0
        self._trials = 0  # the search's trials asked for
        self._trials_ended: set[int] = set()  # the trials that ended in this go
        self._searching = False  # the worker runs the search now
        self._current = ""  # the progress line of the run under way
        self._epochs_touched = False  # the user chose epochs: the project's no longer follow
        self._clock = QElapsedTimer()

        self.baselines_box = QCheckBox("Single-task baselines")
        self.baselines_box.setChecked(True)
        self.baselines_box.setToolTip(
            "Train each task alone (its own copy of the trunk and its head): the "
            "reference that says whether sharing helps each task"
        )
        self.weighting_boxes: dict[str, QCheckBox] = {}
        # A grid, not a row: a dozen weightings in a row would make the
        # whole central area as wide as they are and squeeze the docks.
        weightings = QGridLayout()
        weightings.addWidget(QLabel("Weightings:"), 0, 0)
        for i, name in enumerate(WEIGHTINGS):
            box = QCheckBox(name)
            box.setToolTip(f"The project in joint mode with the {name} weighting")
            self.weighting_boxes[name] = box
            weightings.addWidget(box, i // WEIGHTINGS_PER_ROW, 1 + i % WEIGHTINGS_PER_ROW)
        weightings.setColumnStretch(WEIGHTINGS_PER_ROW + 1, 1)
        self.mode_boxes: dict[str, QCheckBox] = {}
        modes = QHBoxLayout()
        modes.addWidget(QLabel("Modes:"))
        for name in MODES:
            box = QCheckBox(name.replace("_", " "))
            box.setToolTip(f"The project trained in {name.replace('_', ' ')} mode")
            self.mode_boxes[name] = box
            modes.addWidget(box)
        modes.addStretch(1)
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setRange(1, MAX_SEEDS)
        self.seeds_spin.setToolTip(
            "Each configuration is trained with this many seeds (the project's "
            "seed, then the next ones) on the same data split: the table gives "
            "the mean ± standard deviation over them"
        )
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 100000)
        self.epochs_spin.setToolTip("The training budget of every run (the project's by default)")
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        budget = QHBoxLayout()
        budget.addWidget(QLabel("Seeds:"))
        budget.addWidget(self.seeds_spin)
        budget.addSpacing(12)
        budget.addWidget(QLabel("Epochs:"))
        budget.addWidget(self.epochs_spin)
        budget.addSpacing(12)
        budget.addWidget(self.plan_label, 1)
        self.trials_spin = QSpinBox()
        self.trials_spin.setRange(0, MAX_TRIALS)
        self.trials_spin.setSpecialValueText("none")
        self.trials_spin.setToolTip(
            "After the study's runs, train the project this many more times with "
            "sampled task weights (Optuna) and score each trial on the validation rows"
        )
        self.objective_combo = QComboBox()
        for key, name in OBJECTIVES.items():
            self.objective_combo.addItem(name, key)
        self.objective_note = QLabel()
        self.objective_note.setWordWrap(True)
        search = QHBoxLayout()
        search.addWidget(QLabel("Weight search trials:"))
        search.addWidget(self.trials_spin)
        search.addSpacing(12)
        search.addWidget(QLabel("Objective:"))
        search.addWidget(self.objective_combo)
        search.addSpacing(12)
        search.addWidget(self.objective_note, 1)
        self.form = QGroupBox("What to run")
        form = QVBoxLayout(self.form)
        form.addWidget(self.baselines_box)
        form.addLayout(weightings)
        form.addLayout(modes)
        form.addLayout(budget)
        form.addLayout(search)

        self.start_button = QPushButton("Start Study")
        self.start_button.setToolTip(
            "Train every run of the study one after the other, in the background, "
            "into a new folder under the project's runs folder"
        )
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(
            "Stop the run under way (it keeps its checkpoint) and start no other"
        )
        self.continue_button = QPushButton("Continue the Last Study")
        self.continue_button.setToolTip(
            "Go on with the stopped study where it stopped: runs already scored "
            "are kept, the stopped run resumes from its checkpoint"
        )
        self.open_button = QPushButton("Continue a Study...")
        self.open_button.setToolTip(
            "Choose a study folder (of this session, an earlier one or mtl-studio "
            "study) and go on with it where it stopped, with the project and options "
            "it started with: runs already scored are kept"
        )
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(200)
        self.progress.setMaximumWidth(320)
        self.progress_label = QLabel()
        bar = QHBoxLayout()
        for widget in (
            self.start_button,
            self.stop_button,
            self.continue_button,
            self.open_button,
        ):
            bar.addWidget(widget)
        bar.addSpacing(12)
        bar.addWidget(self.progress)
        bar.addWidget(self.progress_label, 1)
        self.start_button.clicked.connect(lambda: self._refused(self.start()))
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(lambda: self._refused(self.continue_last()))
        self.open_button.clicked.connect(self._choose_study)

        self.reason_label = ErrorLabel()  # why Start cannot be pressed now
        self.status = QLabel()  # the last study's outcome
        self.status.setWordWrap(True)
        self.status.hide()
        self.folder_label = QLabel()
        self.folder_label.setTextFormat(Qt.PlainText)
        self.folder_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.folder_label.setToolTip(
            "Each run has its folder in it (CONFIGURATION/seed-N): open one with "
            "Run > Open Run... for its curves and results. study.md and study.csv "
            "hold the table."
        )
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.failed_label = ErrorLabel()
        self.search_view = SearchView()
        self.search_view.apply_requested.connect(self.apply_weights)
        self.search_view.hide()

        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.heading)
        column.addWidget(self.table, 0, Qt.AlignLeft)
        column.addWidget(self.failed_label)
        column.addSpacing(8)
        column.addWidget(self.search_view)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(content)

        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(bar)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.status)
        layout.addWidget(self.folder_label)
        layout.addWidget(scroll, 1)

        self._ticker = QTimer(self)
        self._ticker.setInterval(PROGRESS_MS)
        self._ticker.timeout.connect(self._show_progress)
        self.baselines_box.toggled.connect(self._show_plan)
        self.baselines_box.toggled.connect(self.refresh)
        self.trials_spin.valueChanged.connect(self._show_plan)
        self.trials_spin.valueChanged.connect(self._follow_baselines)
        for box in [*self.weighting_boxes.values(), *self.mode_boxes.values()]:
            box.toggled.connect(self._show_plan)
        self.seeds_spin.valueChanged.connect(self._show_plan)
        self.epochs_spin.valueChanged.connect(self._epochs_edited)
        self.set_document(document)
        self._show_table(None)
        self.progress.hide()

    # --- the form ----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def options(self) -> dict:
        """What the form asks for: run_study's arguments."""
        drawn = _drawn_weighting(self.document.project)
        return {
            "baselines": self.baselines_box.isChecked(),
            "weightings": [
                name
                for name, box in self.weighting_boxes.items()
                if box.isChecked() and name != drawn
            ],
            "modes": [
                name
                for name, box in self.mode_boxes.items()
                if box.isChecked() and name != self.document.project.training.mode
            ],
            "seeds": self.seeds_spin.value(),
            "epochs": self.epochs_spin.value(),
            "search_trials": self.trials_spin.value(),
            "objective": self.objective_combo.currentData(),
        }

    def planned(self) -> tuple[int, str]:
        """How many runs the form asks for, and what they are in words."""
        o, project = self.options(), self.document.project
        parts = []
        if o["baselines"]:
            parts.append(counted(len(project.tasks), "baseline"))
        parts.append("as drawn")
        if o["weightings"]:
            parts.append(counted(len(o["weightings"]), "weighting"))
        if o["modes"]:
            parts.append(counted(len(o["modes"]), "mode"))
        what = " + ".join(parts)
        if o["seeds"] > 1:
            what = f"({what}) × {counted(o['seeds'], 'seed')}"
        if o["search_trials"]:
            what += f", then {counted(o['search_trials'], 'search trial')}"
        count = run_count(project, o["baselines"], o["weightings"], o["seeds"], o["modes"])
        return count, what

    def _show_plan(self) -> None:
        runs, what = self.planned()
        self.plan_label.setText(f"{counted(runs, 'run')}: {what}")

    def _epochs_edited(self) -> None:
        if not self._setting_epochs:
            self._epochs_touched = True

    def _project_changed(self, event) -> None:
        if event.type in ("training_changed", "task_added", "task_removed"):
            self.refresh()

    def refresh(self) -> None:
        """Follow the project (its weighting, epochs and tasks) and say
        whether a study may start."""
        if self.document is None or not hasattr(self, "start_button"):
            return
        t = self.document.project.training
        drawn = _drawn_weighting(self.document.project)
        for name, box in self.weighting_boxes.items():
            box.setEnabled(not self.busy and name != drawn)
            box.setText(f"{name} (as drawn)" if name == drawn else name)
            if name == drawn:
                box.setChecked(False)  # the project as drawn runs it anyway
        for name, box in self.mode_boxes.items():
            label = name.replace("_", " ")
            box.setEnabled(not self.busy and name != t.mode)
            box.setText(f"{label} (as drawn)" if name == t.mode else label)
            if name == t.mode:
                box.setChecked(False)
        if not self._epochs_touched:
            self._setting_epochs = True
            self.epochs_spin.setValue(t.epochs)
            self._setting_epochs = False
        self._show_plan()
        for widget in (self.baselines_box, self.seeds_spin, self.epochs_spin, self.trials_spin):
            widget.setEnabled(not self.busy)
        self._follow_baselines()
        reason = None if self.busy else self.start_refusal()
        self.start_button.setEnabled(not self.busy and reason is None)
        self.reason_label.show_reason(f"Cannot start a study: {reason}" if reason else None)
        self.stop_button.setEnabled(self.busy and not self.worker.stopping)
        self.continue_button.setEnabled(
            not self.busy and self.last_stopped and self.busy_reason() is None
        )
        self.open_button.setEnabled(not self.busy and self.busy_reason() is None)

    def _follow_baselines(self) -> None:
        """delta-m needs the single-task baselines: offered only with them."""
        baselines = self.baselines_box.isChecked()
        item = self.objective_combo.model().item(self.objective_combo.findData("delta_m"))
        item.setEnabled(baselines)
        if not baselines and self.objective_combo.currentData() == "delta_m":
            self.objective_combo.setCurrentIndex(self.objective_combo.findData("pareto"))
        self.objective_combo.setEnabled(not self.busy and self.trials_spin.value() > 0)
        self.objective_note.setText(
            "" if baselines else "delta-m needs the single-task baselines: tick them for it."
        )

    # --- start, stop, continue ------------------------------------------------------------

    def start_refusal(self) -> str | None:
        """Why a new study cannot start now, or None."""
        if self.busy:
            return "a study is in progress"
        reason = self.busy_reason()
        if reason:
            return reason
        problems = errors(self.document.problems)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return f"fix the project's errors first: {first.place}: {first.message}{more}"
        if not self.document.project.tasks:
            return "add a task first"
        return None

    def start(self, out: Path | None = None) -> str | None:
        """Run the study the form asks for on the project as it is now, into
        `out` (a new folder under runs_root() when None; an existing study's
        folder goes on with it, if it asked the same). Returns None, or the
        reason nothing started."""
        reason = self.start_refusal()
        if reason:
            return reason
        if out is None:
            out = run_folder.unique_folder(self.runs_root(), self._folder_name())
        self.last = {"project": self.document.project.copy(), "out": Path(out), **self.options()}
        self._launch()
        return None

    def continue_last(self) -> str | None:
        """Go on with the last study of this session where it stopped (the
        project as it was when it started). Returns None, or why not."""
        if self.busy:
            return "a study is in progress"
        if self.last is None or not self.last_stopped:
            return "there is no stopped study to go on with"
        reason = self.busy_reason()
        if reason:
            return reason
        self._launch()
        return None

    def continue_from(self, folder: Path) -> str | None:
        """Go on with the study in `folder` where it stopped, with the
        project and options it kept when it started (not the window's
        project as it is now). Returns None, or why nothing started."""
        if self.busy:
            return "a study is in progress"
        reason = self.busy_reason()
        if reason:
            return reason
        try:
            project, options = saved_study(folder)
        except StudyError as exc:
            return str(exc)
        self.last = {"project": project, "out": Path(folder), **options}
        self._launch()
        return None

    def _choose_study(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Continue a study", str(self.runs_root()))
        if folder:
            self._refused(self.continue_from(Path(folder)))

    def stop(self) -> None:
        """Stop the run under way (it keeps its checkpoint); no other starts."""
        if self.worker is not None and not self.worker.stopping:
            self.worker.stop()
            self._current = f"Stopping {self._current[:1].lower()}{self._current[1:]}..."
            self.progress_label.setText(self._current)
            self.refresh()

    def shutdown(self, msecs: int = SHUTDOWN_MS) -> bool:
        """The window closes: stop the study and wait for its thread; False
        if it is still busy after msecs (inside a long compiled call or a
        model build): study_ended follows when it ends."""
        if self.worker is None:
            return True
        self.stop()
        if not self.worker.wait(msecs):
            return False
        self._worker_finished()
        return True

    def _refused(self, reason: str | None) -> None:
        if reason:
            self._say(f"<span style='color:{ERROR_COLOR}'>Cannot start: {_escape(reason)}</span>")
            self.message.emit(f"Cannot start the study: {reason}")

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _folder_name(self) -> str:
        """study-NAME-TIME: the project file's name, else the project's."""
        path = self.document.path
        name = path.name.split(".")[0] if path else self.document.project.name
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "untitled"
        return "study-" + run_folder.new_folder_name(Path(name))

    def _launch(self) -> None:
        spec = dict(self.last)
        project, out = spec.pop("project"), spec.pop("out")
        self.folder, self.last_stopped = out, False
        self.worker = worker = StudyWorker(project, out, parent=self, **spec)
        worker.run_started.connect(self._run_started)
        worker.table_changed.connect(self._show_table)
        worker.trial_changed.connect(self._trial_changed)
        worker.finished.connect(self._worker_finished)
        self._total = run_count(
            project, spec["baselines"], spec["weightings"], spec["seeds"], spec.get("modes", [])
        )
        self._current = "Starting the study..."
        self._trials, self._trials_ended = spec.get("search_trials", 0), set()
        self._searching = False
        self.search_view.hide()
        self._say("")
        self.folder_label.setText(f"Study folder: {out}")
        self.progress.setRange(0, self._total * 100)
        self.progress.setValue(0)
        self.progress.show()
        self.progress_label.setText(self._current)
        self._clock.start()
        worker.start()
        self._ticker.start()
        self.refresh()
        self.state_changed.emit(True)

    # --- from the worker ---------------------------------------------------------------------

    def _run_started(self, index: int, total: int, configuration: str, seed: int) -> None:
        self._total = total
        self.progress.setRange(0, total * 100)
        self._current = f"Run {index + 1} of {total}: {configuration}, seed {seed}"
        if self.worker is not None and self.worker.stopping:
            return  # the study stops: the line says so already
        self.progress_label.setText(self._current)
        self._show_progress()
        self.run_started.emit(index, total, configuration, seed)

    def _done_runs(self) -> int:
        runs = self.result.runs if self.result is not None else {}
        return sum(status == "completed" for status in runs.values())

    def _trial_changed(self, trial) -> None:
        if not self._searching:
            self._searching = True
            self.progress.setRange(0, max(1, self._trials))
        if trial.state == "running":
            self._current = f"Weight search: trial {trial.number} (weights {weights_text(trial)})"
            if self.worker is not None and self.worker.stopping:
                return
            self.progress_label.setText(self._current)
        else:
            self._trials_ended.add(trial.number)
        self._show_progress()

    def _show_progress(self) -> None:
        if self._searching:
            done = min(len(self._trials_ended), self._trials)
            self.progress.setValue(done)
            self.progress.setFormat(f"{done} of {counted(self._trials, 'trial')} done")
            return
        worker = self.worker
        share = worker.run_share() if worker is not None else 0.0
        done = self._done_runs()
        self.progress.setValue(min(self._total * 100, round((done + share) * 100)))
        self.progress.setFormat(f"{done} of {counted(self._total, 'run')} done")

    def _worker_finished(self) -> None:
        worker = self.worker
        if worker is None:
            return  # handled already (shutdown waits, then the signal arrives)
        self.worker = None
        self._ticker.stop()
        worker.deleteLater()
        result, error = worker.result, worker.error
        search, search_error = worker.search, worker.search_error
        elapsed = _duration(self._clock.elapsed())
        if result is None:
            self.last_stopped = False
            detail = error or "the study ended without a result"
            self._say(
                f"<span style='color:{ERROR_COLOR}'>The study could not run: "
                f"{_escape(detail)}</span>"
            )
            self.progress_label.setText("")
            self.message.emit(f"The study could not run: {detail.splitlines()[0]}")
        else:
            self._searching = False
            self._show_table(result)
            self.last_stopped = worker.stopped
            self._show_progress()
            failed = self._failed(result)
            if result.stopped:
                text = (
                    f"Study stopped after {elapsed}: {self._done_runs()} of "
                    f"{counted(self._total, 'run')} done. Continue the Last Study goes on "
                    "where it stopped."
                )
            else:
                text = f"Study ended in {elapsed}: {counted(self._done_runs(), 'run')} scored"
                text += f", {counted(len(failed), 'run')} failed." if failed else "."
            shown = _escape(text)
            if search is not None:
                complete = search.count("complete")
                line = f" Weight search: {complete} of {counted(len(search.trials), 'trial')} "
                line += (
                    "complete so far (stopped: Continue the Last Study goes on with it)."
                    if search.stopped
                    else "complete."
                )
                text += line
                shown += _escape(line)
                self.search_view.show_result(search)
                self.search_view.show()
            if search_error:
                text += f" The weight search could not run: {search_error.splitlines()[0]}"
                shown += (
                    f"<br><span style='color:{ERROR_COLOR}'>The weight search could not run: "
                    f"{_escape(search_error)}</span>"
                )
            self._say(shown)
            self.progress_label.setText("")
            self.message.emit(text)
        self.refresh()
        self.state_changed.emit(False)
        self.study_ended.emit(result)

    # --- the search ------------------------------------------------------------------------

    def apply_weights(self, trial) -> bool:
        """Set a search trial's weights (and learning rate) on the project:
        one undo step. Says so through `message`; returns whether done."""
        try:
            command = apply_trial(self.document.project, trial.weights, trial.learning_rate)
        except ValueError as exc:
            self.message.emit(f"Cannot apply the weights of trial {trial.number}: {exc}")
            return False
        if not self.document.push(command):
            return False
        self.message.emit(
            f"Weights of trial {trial.number} applied: {weights_text(trial)} "
            "(Edit > Undo to go back)"
        )
        return True

    # --- the table -------------------------------------------------------------------------

    @staticmethod
    def _failed(result: StudyResult) -> dict[str, str]:
        """Runs that failed (a stopped run is not: it goes on)."""
        return {f: m for f, m in result.failed.items() if result.runs.get(f) != STOPPED}

    def _show_table(self, result: StudyResult | None) -> None:
        self.result = result
        self._show_progress()
        failed = self._failed(result) if result is not None else {}
        self.failed_label.show_reason(
            "Failed, left out of the table: "
            + "; ".join(f"{folder}: {message}" for folder, message in failed.items())
            if failed
            else None
        )
        rows = result.rows if result is not None else []
        if not rows:
            self.table.hide()
            self.heading.setText(
                "The table fills in as runs end: a row for each configuration whose runs "
                "have all been scored, from the project as drawn on."
                if result is not None
                else "Choose what to run and press Start Study: the table fills in as runs end."
            )
            self.table_changed.emit(result)
            return
        self._fill(result)
        self.table_changed.emit(result)

    def _fill(self, result: StudyResult) -> None:
        rows = result.rows
        tasks = list(rows[0].cells.items())
        headers = ["Configuration"]
        for task, cell in tasks:
            arrow = "↑" if cell.higher_is_better else "↓"
            headers.append(f"{task}: {FIGURE_NAMES.get(cell.figure, cell.figure)} {arrow}")
        headers.append("Δm %")
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(headers)
        reference = (
            "the single-task baselines"
            if result.reference != "as drawn"
            else "the project as drawn"
        )
        seeds = self.last["seeds"] if self.last else max(row.seeds for row in rows)
        self.heading.setText(
            f"Each task's figure on the test rows ({'mean ± std over ' if seeds > 1 else ''}"
            f"{counted(seeds, 'seed')}), and its gain against {reference}: green better, "
            "red worse. Δm: the mean gain over the tasks, positive is better; ranked by it."
        )
        for i, row in enumerate(rows):
            name = row.name + (" (reference)" if row.baseline else "")
            if row.seeds < seeds:  # its other seeds are still to come
                name += f" ({row.seeds} of {counted(seeds, 'seed')})"
            name = QTableWidgetItem(name)
            if row.baseline:
                font = name.font()
                font.setBold(True)
                name.setFont(font)
            self.table.setItem(i, 0, name)
            for j, (task, _) in enumerate(tasks, start=1):
                c = row.cells[task]
                item = self._number(cell_text(c.mean, c.std, c.gain, row.seeds), c.gain)
                better = "higher" if c.higher_is_better else "lower"
                tip = f"{task}: {FIGURE_NAMES.get(c.figure, c.figure)} ({better} is better)"
                if c.gain is not None:
                    tip += f", {_signed(c.gain, 1)} % against {reference}"
                item.setToolTip(tip)
                self.table.setItem(i, j, item)
            delta = _signed(row.delta_m, 2) + (f" ± {row.delta_m_std:.2f}" if row.seeds > 1 else "")
            item = self._number(delta, None if row.baseline else row.delta_m)
            item.setToolTip("delta-m: the tasks' mean gain in per cent; positive is better")
            self.table.setItem(i, len(headers) - 1, item)
        self.table.show()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        frame = 2 * self.table.frameWidth()
        self.table.setFixedSize(
            frame + sum(self.table.columnWidth(j) for j in range(len(headers))),
            frame
            + header.sizeHint().height()
            + sum(self.table.rowHeight(i) for i in range(len(rows))),
        )

    @staticmethod
    def _number(text: str, gain: float | None) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        color = gain_color(gain)
        if color is not None:
            item.setBackground(QBrush(color))
            item.setForeground(QBrush(TEXT))
        return item

    def cell_colors(self) -> list[list[str | None]]:
        """Each task cell's background (#rrggbb, None: neutral), row by row:
        for tests."""
        out = []
        for i in range(self.table.rowCount()):
            line = []
            for j in range(1, self.table.columnCount() - 1):
                brush = self.table.item(i, j).background()
                line.append(brush.color().name() if brush.style() != Qt.NoBrush else None)
            out.append(line)
        return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
