"""Loss-weight search: which task weights (and learning rate) serve the
project best, searched with Optuna.

Each trial is the project with its task weights sampled (log-uniform,
WEIGHT_RANGE; with learning_rate, also the shared optimizer's learning rate,
log-uniform within LEARNING_RATE_FACTOR of the project's), trained through
the one run path into OUT/trials/trial-N (a run folder like any other, on
the study's data split and budget: plan.PlannedRun's rule), and scored with
`evaluate` on its validation rows; the test rows stay held out for the
study's table.

Two objectives:

- "pareto": each task's main figure on the validation rows (delta.py: MAE
  lower is better, accuracy higher), searched with NSGA-II; the result is
  the Pareto front, the trials no other trial beats on every task.
- "delta_m": one number, delta-m against the baselines (task -> the
  baseline's main figure), maximised with TPE; a trial whose validation
  figure trails the median of the trials before it at the same epoch is
  pruned (its run stopped: its folder says "stopped").

The trials live in an Optuna storage, an SQLite file OUT/search.db unless a
database URL is given, and the study is named after the project: started
again, a search goes on with the trials it has; several processes on one
storage (on this machine, or on others sharing a database server) run trials
of one study at once. A trial that was running when its process died is
failed by the next worker once its heartbeat is stale, and tried again.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core import monitor
from ..core.atomic import write_text
from ..core.commands import Command, Macro, SetTaskField, SetTraining
from ..core.project import Project
from .delta import delta_m, main_figures
from .plan import (
    AS_DRAWN,
    BASELINE_PREFIX,
    Configuration,
    PlannedRun,
    configurations,
    planned_runs,
)

OBJECTIVES = ("pareto", "delta_m")
WEIGHT_RANGE = (0.05, 20.0)  # each task weight, sampled log-uniform
LEARNING_RATE_FACTOR = 10.0  # the learning rate: from lr / 10 to lr * 10, log-uniform
TRIALS = "trials"  # OUT/trials/trial-N: a trial's run folder
DATABASE = "search.db"  # the default storage, in OUT
INFO = "search.json"  # OUT's study name and storage, so OUT never mixes two searches
WEIGHT_PARAM = "weight:"  # Optuna's parameter of a task's weight: "weight:TASK"
LEARNING_RATE_PARAM = "learning_rate"
# NSGA-II's generation: small enough that a search of a few dozen trials
# evolves over several generations (Optuna's default of 50 would sample
# them all at random).
POPULATION = 16
# Pruning (delta_m): the median rule starts once PRUNE_STARTUP trials have
# finished, and prunes no trial before half its epochs: early on, larger
# weights (a larger step) simply learn faster, and would win the median.
PRUNE_STARTUP = 4
PRUNE_FROM = 0.5  # the share of the epochs before a trial can be pruned
# A running trial records a heartbeat every HEARTBEAT seconds; one silent
# for GRACE seconds (its process died) is failed by the next trial to start
# in any worker and tried again (at most RETRIES times).
HEARTBEAT = 60
GRACE = 300
RETRIES = 2
SQLITE_TIMEOUT = 60  # seconds a worker waits for another's write to an SQLite file


class SearchError(Exception):
    """The search cannot start or go on (no validation rows, another search
    in the folder or the storage, no baselines for delta-m, a project that
    cannot train)."""


class _TrialFailed(Exception):
    """A trial's run did not complete (a NaN loss, an error): the trial
    fails, the search goes on."""


class _Stopped(Exception):
    """The user stopped the search during a trial."""


@dataclass
class SearchTrial:
    number: int
    weights: dict[str, float]
    learning_rate: float | None
    values: list[float] | None  # the objective's: one per task (pareto) or [delta-m]
    state: str  # "complete", "pruned", "fail", "running", "waiting"
    figures: dict[str, float] = field(default_factory=dict)  # task -> main figure (validation)
    folder: str | None = None  # the run folder, relative to the search's folder
    status: str | None = None  # the run's status ("completed", "stopped", "nan", ...)
    message: str = ""
    worker: str = ""  # host:pid of the process that ran it


@dataclass
class SearchResult:
    objective: str
    study_name: str
    storage: str  # the storage's URL, without a password
    tasks: list[str]
    names: dict[str, str]  # task -> its main figure's name ("mae", "accuracy")
    higher: dict[str, bool]  # task -> higher is better
    trials: list[SearchTrial]
    front: list[SearchTrial] = field(default_factory=list)  # pareto: the Pareto front
    best: SearchTrial | None = None  # delta_m: the best trial
    stopped: bool = False

    @property
    def chosen(self) -> list[SearchTrial]:
        """The trials to choose from: the Pareto front, or the best trial."""
        if self.objective == "pareto":
            return self.front
        return [self.best] if self.best is not None else []

    def count(self, state: str) -> int:
        return sum(t.state == state for t in self.trials)

    @property
    def markdown(self) -> str:
        return self.table(self.chosen)

    def table(self, trials: list[SearchTrial]) -> str:
        """A Markdown table: trial, each task's weight (and the learning
        rate), each task's validation figure (and delta-m)."""
        lr = any(t.learning_rate is not None for t in self.trials)
        head = ["trial"] + [f"weight {t}" for t in self.tasks]
        head += ["learning rate"] if lr else []
        head += [f"{t}: {self.names[t]} {'↑' if self.higher[t] else '↓'}" for t in self.tasks]
        head += ["Δm %"] if self.objective == "delta_m" else []
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for trial in trials:
            cells = [str(trial.number)] + [_g(trial.weights.get(t)) for t in self.tasks]
            cells += [_g(trial.learning_rate)] if lr else []
            cells += [_g(trial.figures.get(t)) for t in self.tasks]
            if self.objective == "delta_m":
                cells.append(f"{trial.values[0]:+.2f}" if trial.values else "")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _g(value) -> str:
    return "" if value is None else f"{value:.4g}"


# --- the study in its storage ----------------------------------------------------


def default_storage(out: Path) -> str:
    return f"sqlite:///{(Path(out) / DATABASE).resolve()}"


def shown_url(url: str) -> str:
    """A storage URL to print: without its password."""
    try:
        from sqlalchemy.engine import make_url  # noqa: PLC0415 - Optuna's own dependency

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: shown as given
        return url


def _directions(project: Project) -> dict[str, bool]:
    """Task -> higher is better, from its loss: regression is scored by
    MAE (lower is better), the rest by an accuracy (delta.MAIN_FIGURES)."""
    from ..training.scores import REGRESSION  # noqa: PLC0415 - numpy only

    return {t.name: t.loss not in REGRESSION for t in project.tasks}


def _space(project: Project, objective: str, learning_rate: bool, epochs: int | None) -> dict:
    """What the study searches and how it scores: every worker, and every
    later run of the same search, must ask for the same."""
    lr = project.training.optimizer.learning_rate
    return {
        "objective": objective,
        "tasks": [t.name for t in project.tasks],
        "weights": list(WEIGHT_RANGE),
        "learning_rate": [lr / LEARNING_RATE_FACTOR, lr * LEARNING_RATE_FACTOR]
        if learning_rate
        else None,
        "epochs": epochs or project.training.epochs,
        "higher": _directions(project),
    }


def _open_storage(url: str):
    import optuna  # noqa: PLC0415 - only a search needs it

    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT}} if url.startswith("sqlite") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=kwargs,
            heartbeat_interval=HEARTBEAT,
            grace_period=GRACE,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=RETRIES
            ),
        )


def _retrying(what: Callable, url: str, attempts: int = 8):
    """Two workers that start at once on a new SQLite file both create its
    tables: the loser's error passes once the winner is done."""
    import time  # noqa: PLC0415

    for attempt in range(attempts):
        try:
            return what()
        except Exception as exc:  # noqa: BLE001 - the last one is reported
            name = type(exc).__module__
            if not name.startswith("sqlalchemy") or attempt == attempts - 1:
                raise SearchError(
                    f"{shown_url(url)}: cannot open the search's storage: {exc}"
                ) from None
            time.sleep(0.25 * (attempt + 1))


def open_study(
    project: Project,
    out: Path,
    *,
    objective: str = "pareto",
    baselines: dict | None = None,
    learning_rate: bool = False,
    storage: str | None = None,
    study_name: str | None = None,
    epochs: int | None = None,
    prune=True,
):
    """The Optuna study of this search, created or joined (load_if_exists).
    Refuses a study in the storage that searches another space or scores
    otherwise, and a folder that holds another search's trials."""
    import optuna  # noqa: PLC0415

    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: choose from {', '.join(OBJECTIVES)}")
    if not project.tasks:
        raise SearchError(f"{project.name}: has no tasks to weigh")
    if project.training.validation_split <= 0:
        raise SearchError(
            f"{project.name}: the search scores each trial on its validation rows: "
            "give the project a validation split"
        )
    training = project.training
    if training.mode == "joint" and training.weighting == "dwa":
        raise SearchError(
            f"{project.name}: dynamic weight average sets the task weights itself: search "
            "the weights with the fixed weighting (or uncertainty, GradNorm: they start there)"
        )
    out = Path(out)
    url = storage or default_storage(out)
    name = study_name or project.name
    _claim_folder(out, name, DATABASE if url == default_storage(out) else shown_url(url))
    higher = _directions(project)
    space = _space(project, objective, learning_rate, epochs)
    if objective == "pareto":
        sampler = optuna.samplers.NSGAIISampler(population_size=POPULATION)
        directions = ["maximize" if higher[t.name] else "minimize" for t in project.tasks]
        pruner = optuna.pruners.NopPruner()
    else:
        sampler = optuna.samplers.TPESampler()  # constant liar: workers spread out
        directions = ["maximize"]
        pruner = (
            prune
            if isinstance(prune, optuna.pruners.BasePruner)
            else optuna.pruners.MedianPruner(
                n_startup_trials=PRUNE_STARTUP,
                n_warmup_steps=max(1, math.ceil(space["epochs"] * PRUNE_FROM)),
            )
            if prune
            else optuna.pruners.NopPruner()
        )
    rdb = _retrying(lambda: _open_storage(url), url)
    study = _retrying(
        lambda: optuna.create_study(
            storage=rdb,
            study_name=name,
            sampler=sampler,
            pruner=pruner,
            directions=directions,
            load_if_exists=True,
        ),
        url,
    )
    where = f"the study {name!r} in {shown_url(url)}"
    held = study.user_attrs.get("space")
    if held is None:
        study.set_user_attr("space", space)
    elif held != space:
        raise SearchError(
            f"{where} searches {_describe(held)}, not {_describe(space)}: ask for the same "
            "search to go on with it, or give another storage or study name"
        )
    if [d.name.lower() for d in study.directions] != directions:
        raise SearchError(f"{where} has other objectives: give another storage or study name")
    if objective == "delta_m":
        held = study.user_attrs.get("baselines")
        if baselines is not None:
            baselines = {t: float(baselines[t]) for t in space["tasks"] if t in baselines}
            missing = [t for t in space["tasks"] if t not in baselines]
            if missing:
                raise SearchError(f"delta-m needs a baseline figure for task {missing[0]!r}")
            if held is None:
                study.set_user_attr("baselines", baselines)
            elif held != baselines:
                raise SearchError(
                    f"{where} measures delta-m against other baselines ({held}): "
                    "give another storage or study name"
                )
        elif held is None:
            raise SearchError(
                "the delta_m objective needs the baselines' figures (task -> main figure), "
                "given by the worker that starts the search"
            )
    return study


def _describe(space: dict) -> str:
    lr = space.get("learning_rate")
    return (
        f"{space['objective']} over {', '.join(space['tasks'])} "
        f"({space['epochs']} epochs{', with the learning rate' if lr else ''})"
    )


def _claim_folder(out: Path, name: str, storage: str) -> None:
    """OUT keeps the trials of one study in one storage: its trial numbers
    name the folders (`storage` is DATABASE for the folder's own, which
    moves with it)."""
    path = out / INFO
    if path.exists():
        try:
            held = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SearchError(f"{path}: cannot read the search ({exc})") from None
        if (held.get("study"), held.get("storage")) != (name, storage):
            raise SearchError(
                f"{out} holds the trials of the search {held.get('study')!r} in "
                f"{held.get('storage')}: choose another folder, or go on with that search"
            )
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({"study": name, "storage": storage}, indent=2) + "\n")
    except OSError as exc:
        raise SearchError(f"{out}: cannot write the search's folder: {exc}") from None


# --- the search ------------------------------------------------------------------


def search_weights(
    project: Project,
    out: Path,
    trials: int,
    *,
    objective: str = "pareto",
    baselines: dict | None = None,
    learning_rate: bool = False,
    storage: str | None = None,
    study_name: str | None = None,
    epochs: int | None = None,
    stop=None,
    prune=True,
    on_trial: Callable[[SearchTrial], None] | None = None,
) -> SearchResult:
    """Run `trials` more trials of the search (this process's share: other
    processes may run trials of the same study at once), then read the
    study as it stands. `baselines` (delta_m): task -> the baseline's main
    figure, on validation rows; a worker joining a study may leave them out
    (the study keeps them). `prune` (delta_m): True for the median rule,
    False for none, or an Optuna pruner. `stop` (a runner.Stop) stops the
    trial under way (it fails, and its weights are tried again first when
    the search goes on). `on_trial(trial)` as each trial starts ("running")
    and ends."""
    import optuna  # noqa: PLC0415

    from .runner import Stop  # noqa: PLC0415

    if trials < 0:
        raise ValueError(f"the number of trials must be at least 0, got {trials}")
    out = Path(out)
    study = open_study(
        project,
        out,
        objective=objective,
        baselines=baselines,
        learning_rate=learning_rate,
        storage=storage,
        study_name=study_name,
        epochs=epochs,
        prune=prune,
    )
    stop = stop or Stop()
    run_trial = _Objective(project, out, study, epochs, stop, on_trial)

    def after(study, frozen) -> None:
        if on_trial is not None:
            on_trial(_trial(frozen))
        if stop.is_set():
            study.stop()

    stopped = stop.is_set()
    if trials and not stopped:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                study.optimize(run_trial, n_trials=trials, catch=(_TrialFailed,), callbacks=[after])
            except _Stopped:
                stopped = True
                if on_trial is not None and run_trial.last is not None:
                    number = run_trial.last.number
                    on_trial(next(_trial(t) for t in study.get_trials() if t.number == number))
    result = read_search(study, storage or default_storage(out))
    result.stopped = stopped or stop.is_set()
    return result


class _Objective:
    """One trial: the weights sampled, the run trained and scored."""

    def __init__(self, project, out, study, epochs, stop, on_trial) -> None:
        self.project, self.out, self.study = project, out, study
        self.epochs, self.stop, self.on_trial = epochs, stop, on_trial
        self.space = study.user_attrs["space"]
        self.baselines = study.user_attrs.get("baselines")
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.last = None

    def __call__(self, trial):
        import optuna  # noqa: PLC0415

        from ..training import events as ev  # noqa: PLC0415
        from ..training.run import run_project  # noqa: PLC0415 - TensorFlow

        self.last = trial
        lo, hi = self.space["weights"]
        weights = {
            t: trial.suggest_float(f"{WEIGHT_PARAM}{t}", lo, hi, log=True)
            for t in self.space["tasks"]
        }
        lr = None
        if self.space["learning_rate"]:
            lr = trial.suggest_float(LEARNING_RATE_PARAM, *self.space["learning_rate"], log=True)
        folder = f"{TRIALS}/trial-{trial.number}"
        trial.set_user_attr("folder", folder)
        trial.set_user_attr("worker", self.worker)
        if self.on_trial is not None:
            self.on_trial(SearchTrial(trial.number, weights, lr, None, "running", folder=folder))

        variant = self.project.copy()
        for task, weight in weights.items():
            variant.task(task).weight = weight
        if lr is not None:
            variant.training.optimizer.learning_rate = lr
        # The study's rule: the project's seed and data split, the study's budget.
        planned = PlannedRun(Configuration(f"trial {trial.number}", variant), variant.training.seed)
        pruned = threading.Event()
        trainer = {}

        def hold(t) -> None:
            trainer["run"] = t
            self.stop.hold(t)

        def report(batch) -> None:
            for event in batch:
                if not isinstance(event, ev.EpochEnd):
                    continue
                value = comparable(event, variant.training.monitor)
                if value is None:
                    continue
                trial.report(value, event.epoch)
                if not pruned.is_set() and trial.should_prune():
                    pruned.set()
                    trainer["run"].stop()

        listeners = [report] if self.space["objective"] == "delta_m" else []
        try:
            outcome = run_project(
                planned.project(self.space["epochs"]),
                None,
                self.out / folder,
                listeners=listeners,
                on_trainer=hold,
            )
        finally:
            self.stop.hold(None)
        status, message = outcome.finished.status, outcome.finished.message
        trial.set_user_attr("status", status)
        trial.set_user_attr("message", message)
        if pruned.is_set():
            raise optuna.TrialPruned(f"pruned after epoch {outcome.finished.epoch}")
        if status == "stopped" and self.stop.is_set():
            # Tried again first when the search goes on (a new trial, a new folder).
            self.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            raise _Stopped()
        if status == "invalid":
            raise SearchError(f"{self.out / folder}: {message}")
        if status != "completed":
            raise _TrialFailed(message)
        return self.score(trial, self.out / folder)

    def score(self, trial, folder: Path):
        from ..data.errors import DataError  # noqa: PLC0415
        from ..training.evaluation import RunError, evaluate, open_run  # noqa: PLC0415
        from .delta import main_figure  # noqa: PLC0415

        try:
            result = evaluate(open_run(folder), split="val", write=False)
            figures, higher = main_figures(result["tasks"])
        except (DataError, RunError, ValueError) as exc:
            trial.set_user_attr("message", f"not scored: {exc}")
            raise _TrialFailed(str(exc)) from None
        names = {t: main_figure(s)[0] for t, s in result["tasks"].items()}
        trial.set_user_attr("figures", figures)
        trial.set_user_attr("names", names)
        tasks = self.space["tasks"]
        if any(figures.get(t) is None or not math.isfinite(figures[t]) for t in tasks):
            raise _TrialFailed("a task's figure could not be computed on the validation rows")
        if self.space["objective"] == "pareto":
            return [figures[t] for t in tasks]
        return delta_m(figures, self.baselines, higher)


def comparable(event, monitor_text: str) -> float | None:
    """The epoch's validation figure that pruning compares across trials,
    oriented so that higher is better (the delta_m study maximises): the
    project's monitored quantity, except that "total" sums the tasks'
    validation losses with weight 1 each (each trial's own weights would
    make the weighted total of one trial mean something else than
    another's). None when there is none (no validation rows, a NaN)."""
    task, figure = monitor.parse(monitor_text)
    if task is None:
        value = sum(event.val_losses.values()) if event.val_losses else None
    elif figure == "loss":
        value = event.val_losses.get(task)
    else:
        value = event.val_metrics.get(task, {}).get(figure)
    if value is None or not math.isfinite(value):
        return None
    return float(value) if monitor.higher_is_better(figure) else -float(value)


# --- reading a search ----------------------------------------------------------------


def _trial(frozen) -> SearchTrial:
    attrs = frozen.user_attrs
    weights = {
        k[len(WEIGHT_PARAM) :]: v for k, v in frozen.params.items() if k.startswith(WEIGHT_PARAM)
    }
    return SearchTrial(
        number=frozen.number,
        weights=weights,
        learning_rate=frozen.params.get(LEARNING_RATE_PARAM),
        values=list(frozen.values) if frozen.values is not None else None,
        state=frozen.state.name.lower(),
        figures=dict(attrs.get("figures") or {}),
        folder=attrs.get("folder"),
        status=attrs.get("status"),
        message=attrs.get("message", ""),
        worker=attrs.get("worker", ""),
    )


def read_search(study, storage: str = "") -> SearchResult:
    """The search as it stands in its storage: every trial, and the Pareto
    front (pareto) or the best trial (delta_m) of those complete."""
    import optuna  # noqa: PLC0415

    space = study.user_attrs["space"]
    frozen = study.get_trials(deepcopy=False)
    complete = [t for t in frozen if t.state == optuna.trial.TrialState.COMPLETE]
    higher = dict(space["higher"])
    names = next((dict(t.user_attrs["names"]) for t in complete if t.user_attrs.get("names")), {})
    for task in space["tasks"]:
        names.setdefault(task, "accuracy" if higher[task] else "mae")
    trials = [_trial(t) for t in frozen]
    result = SearchResult(
        objective=space["objective"],
        study_name=study.study_name,
        storage=shown_url(storage),
        tasks=list(space["tasks"]),
        names=names,
        higher=higher,
        trials=trials,
    )
    by_number = {t.number: t for t in trials}
    if complete and space["objective"] == "pareto":
        result.front = sorted((by_number[t.number] for t in study.best_trials), key=_number)
    elif complete:
        result.best = by_number[study.best_trial.number]
    return result


def _number(trial: SearchTrial) -> int:
    return trial.number


def load_search(storage: str, study_name: str) -> SearchResult:
    """A search read back from its storage (for a report, or a window)."""
    import optuna  # noqa: PLC0415

    study = _retrying(
        lambda: optuna.load_study(study_name=study_name, storage=_open_storage(storage)), storage
    )
    if "space" not in study.user_attrs:
        raise SearchError(f"{study_name!r} in {shown_url(storage)} is not a loss-weight search")
    return read_search(study, storage)


# --- the reference of delta-m from a study ---------------------------------------------


def study_reference(
    project: Project, study_out: Path, *, baselines: bool = True, seeds: int = 1
) -> dict[str, float]:
    """Task -> the reference's main figure on the validation rows, from the
    runs of a study in `study_out` (runner.run_study with these arguments):
    each task's single-task baseline (baselines=True), or else the project
    as drawn; the mean over the seeds. On validation rows, as the search
    scores its trials: the test rows stay held out."""
    from ..training.evaluation import RunError, evaluate, open_run  # noqa: PLC0415

    got: dict[str, list[float]] = {}
    for config in configurations(project, baselines):
        if config.baseline != baselines or (not baselines and config.name != AS_DRAWN):
            continue  # the baselines, or else the project as drawn
        for run in planned_runs([config], seeds, project.training.seed):
            folder = Path(study_out) / run.folder
            try:
                result = evaluate(open_run(folder), split="val", write=False)
                figures, _ = main_figures(result["tasks"])
            except (RunError, ValueError) as exc:
                raise SearchError(f"{folder}: the reference run cannot be scored: {exc}") from None
            for task, value in figures.items():
                if config.task in (None, task):  # a baseline: its own task only
                    got.setdefault(task, []).append(value)
    missing = [t.name for t in project.tasks if t.name not in got]
    if missing:
        what = f"{BASELINE_PREFIX}{missing[0]}" if baselines else AS_DRAWN
        raise SearchError(f"the study in {study_out} has no scored run of {what!r}")
    return {t: sum(v) / len(v) for t, v in got.items()}


# --- applying a trial ------------------------------------------------------------------


def apply_trial(
    project: Project, weights: dict[str, float], learning_rate: float | None = None
) -> Command:
    """One undoable command that sets a trial's task weights (and learning
    rate) on the project: push it on the undo stack (one step), or do it."""
    unknown = [t for t in weights if not any(task.name == t for task in project.tasks)]
    if unknown:
        raise ValueError(f"the project has no task {unknown[0]!r}")
    commands: list[Command] = [SetTaskField(t, "weight", float(w)) for t, w in weights.items()]
    if learning_rate is not None:
        from dataclasses import replace  # noqa: PLC0415

        spec = replace(project.training.optimizer, learning_rate=float(learning_rate))
        commands.append(SetTraining("optimizer", spec))
    return Macro("Apply searched weights", commands)
