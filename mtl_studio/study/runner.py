"""Running a study: its runs one after the other through the one run path,
each scored on the held-out rows, the table written as they end.

The study's folder holds a folder per run (CONFIG/seed-N, each a run folder
like any other: it opens in the window and resumes from the command line),
study.json (what was asked and what each run gave), study.csv, study.md and
project.mtl.json (the project as the study started, which the window's
Continue a Study... goes on with).
Started again on the same folder, a study goes on where it stopped: runs
already scored are kept, a stopped run resumes from its checkpoint.
TensorFlow is imported when the first run starts.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.atomic import write_text
from ..core.fileformat import ProjectError, load, save
from ..core.project import Project
from . import table
from .delta import main_figures
from .search import OBJECTIVES
from .plan import (
    AS_DRAWN,
    BASELINE_PREFIX,
    Configuration,
    PlannedRun,
    configurations,
    planned_runs,
)

STATE = "study.json"
PROJECT = "project.mtl.json"
TABLE_CSV = "study.csv"
TABLE_MD = "study.md"
BASELINES_ROW = "single-task baselines"


@dataclass
class StudyResult:
    rows: list[table.Row]
    stopped: bool = False
    failed: dict[str, str] = field(default_factory=dict)  # run folder -> why
    reference: str = BASELINES_ROW  # what the gains and delta-m compare against
    planned: int = 0  # how many runs the study has
    runs: dict[str, str] = field(default_factory=dict)  # run folder -> status, runs begun only

    @property
    def markdown(self) -> str:
        return table.to_markdown(self.rows)


class StudyError(Exception):
    """The study cannot start (its folder holds another study, say)."""


class Stop:
    """Asks a study to stop, from any thread: the run under way stops after
    its current steps (it keeps its checkpoint) and no other starts."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self._lock = threading.Lock()
        self._trainer = None

    def set(self) -> None:
        with self._lock:
            self._asked.set()
            if self._trainer is not None:
                self._trainer.stop()

    def is_set(self) -> bool:
        return self._asked.is_set()

    def hold(self, trainer) -> None:
        """The run under way (None between runs)."""
        with self._lock:
            self._trainer = trainer
            if trainer is not None and self._asked.is_set():
                trainer.stop()


def run_study(
    project: Project,
    out: Path,
    *,
    baselines: bool = True,
    weightings: list[str] = (),
    modes: list[str] = (),
    seeds: int = 1,
    epochs: int | None = None,
    listeners: list[Callable[[list], None]] = (),
    on_run: Callable[[int, int, PlannedRun, str], None] | None = None,
    stop: Stop | None = None,
    search: dict | None = None,
) -> StudyResult:
    """Run (or go on with) the study of `project` in `out`. `listeners` get
    each run's training events; `on_run(index, total, run, state)` is called
    as each run starts ("training") and ends (its status). `stop.set()`
    stops the run under way (it keeps its checkpoint) and ends the study.
    `search` ({"trials", "objective"}): the weight search that follows the
    runs, kept in study.json for whoever goes on with the study."""
    from ..training.run import run_project  # noqa: PLC0415 - TensorFlow

    out = Path(out)
    configs = configurations(project, baselines, list(weightings), list(modes))
    runs = planned_runs(configs, seeds, project.training.seed)
    asked = {
        "project": project.name,
        "baselines": baselines,
        "weightings": list(weightings),
        "seeds": seeds,
        "epochs": epochs,
    }
    if modes:  # a study of weightings alone keeps the folder of an earlier version
        asked["modes"] = list(modes)
    state = _read_state(out, asked)
    _keep_project(out, project)
    # Written before the first run ends, so a study killed in it can go on.
    changed = not (out / STATE).exists()
    if search is not None and state.get("search") != search:
        state["search"], changed = search, True
    if changed:
        _write_state(out, state)
    stop = stop or Stop()
    for index, planned in enumerate(runs):
        done = state["runs"].get(planned.folder, {})
        if done.get("status") == "completed":
            continue
        if stop.is_set():
            break
        if on_run:
            on_run(index, len(runs), planned, "training")
        folder = out / planned.folder
        resume = done.get("status") == "stopped" and (folder / "checkpoint.npz").exists()
        try:
            outcome = run_project(
                planned.project(epochs),
                None,
                folder,
                resume=resume,
                listeners=list(listeners),
                on_trainer=stop.hold,
            )
        finally:
            stop.hold(None)
        status = outcome.finished.status
        record = {"status": status, "message": outcome.finished.message}
        if status == "completed":
            record.update(_scores(folder))
        state["runs"][planned.folder] = record
        _write_state(out, state)
        if on_run:
            on_run(index, len(runs), planned, status)
        if status == "stopped":
            break
    result = _table(configs, runs, state)
    result.stopped = (
        any(state["runs"].get(r.folder, {}).get("status") != "completed" for r in runs)
        and stop.is_set()
    )
    _write_table(out, result)
    return result


def current_table(
    project: Project,
    out: Path,
    *,
    baselines: bool = True,
    weightings: list[str] = (),
    modes: list[str] = (),
    seeds: int = 1,
) -> StudyResult:
    """The table of the study in `out` as it stands, read from its
    study.json: a row for each configuration with a run scored, over the
    seeds scored so far (no rows before the project as drawn has scored,
    nor without a study.json). For a view that fills in as runs end; the
    arguments are run_study's."""
    configs = configurations(project, baselines, list(weightings), list(modes))
    runs = planned_runs(configs, seeds, project.training.seed)
    path = Path(out) / STATE
    if not path.exists():
        return _table(configs, runs, {"runs": {}})
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudyError(f"{path}: cannot read the study ({exc})") from None
    return _table(configs, runs, state)


def _scores(folder: Path) -> dict:
    """The run scored on its test rows (its validation rows without a test
    share), and each task's main figure."""
    from ..training.evaluation import evaluate, open_run  # noqa: PLC0415

    result = evaluate(open_run(folder), split="test")
    values, higher = main_figures(result["tasks"])
    names = {t: _figure_name(s) for t, s in result["tasks"].items()}
    return {"figures": values, "higher": higher, "names": names, "split": result["split"]}


def _figure_name(task_scores: dict) -> str:
    from .delta import main_figure  # noqa: PLC0415

    return main_figure(task_scores)[0]


def _keep_project(out: Path, project: Project) -> None:
    """The project as the study started, written once: going on later
    trains the same project, whatever the window holds by then."""
    path = out / PROJECT
    if path.exists():
        return
    try:
        save(project.copy(), path)
    except ProjectError as exc:
        raise StudyError(str(exc)) from None


def saved_study(out: Path) -> tuple[Project, dict]:
    """The project and the options (run_study's, and the weight search's
    "search_trials" and "objective") of the study in `out`, to go on with
    it. Raises StudyError naming the folder and what is missing."""
    out = Path(out)
    try:
        state = json.loads((out / STATE).read_text(encoding="utf-8"))
        options = _options(state)
    except FileNotFoundError:
        raise StudyError(f"{out}: not a study folder (it has no {STATE})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StudyError(f"{out / STATE}: cannot read the study ({exc})") from None
    if not (out / PROJECT).exists():
        raise StudyError(
            f"{out}: the study keeps no copy of its project (an earlier version made it): "
            f"go on with it with  mtl-studio study PROJECT --out {out}  and the same options"
        )
    try:
        project = load(out / PROJECT)
    except ProjectError as exc:
        raise StudyError(str(exc)) from None
    return project, options


def _options(state: dict) -> dict:
    """study.json's options, each checked: a hand-edited file names its
    field rather than failing in the study's thread."""
    asked, search = state["asked"], state.get("search") or {}
    if not isinstance(asked, dict) or not isinstance(search, dict):
        raise ValueError("asked and search: expected objects")

    def field(where: dict, key: str, ok, default=None):
        value = where.get(key, default)
        if not ok(value):
            raise ValueError(f"{key}: unexpected value {value!r}")
        return value

    def names(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def count(low: int):
        return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low

    epochs = field(asked, "epochs", lambda v: v is None or count(1)(v))
    return {
        "baselines": field(asked, "baselines", lambda v: isinstance(v, bool)),
        "weightings": field(asked, "weightings", names),
        "modes": field(asked, "modes", names, []),
        "seeds": field(asked, "seeds", count(1)),
        "epochs": epochs,
        "search_trials": field(search, "trials", count(0), 0),
        "objective": field(search, "objective", lambda v: v in OBJECTIVES, OBJECTIVES[0]),
    }


def _read_state(out: Path, asked: dict) -> dict:
    path = out / STATE
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        return {"asked": asked, "runs": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudyError(f"{path}: cannot read the study ({exc})") from None
    if state.get("asked") != asked:
        raise StudyError(
            f"{out} holds another study ({state.get('asked')}): choose another folder, or "
            "ask for the same study to go on with it"
        )
    return state


def _write_state(out: Path, state: dict) -> None:
    write_text(out / STATE, json.dumps(state, indent=2, allow_nan=False) + "\n")


def _table(configs: list[Configuration], runs: list[PlannedRun], state: dict) -> StudyResult:
    """Rows of the configurations with a scored run (the seeds scored so far), against the
    single-task baselines (or, without them, the project as drawn)."""
    done = {
        r.folder: state["runs"][r.folder]
        for r in runs
        if state["runs"].get(r.folder, {}).get("status") == "completed"
    }
    failed = {f: v["message"] for f, v in state["runs"].items() if v["status"] != "completed"}
    begun = {r.folder: state["runs"][r.folder]["status"] for r in runs if r.folder in state["runs"]}
    per_config: dict[str, list[dict]] = {}
    for r in runs:
        if r.folder in done:
            per_config.setdefault(r.configuration.name, []).append(done[r.folder])
    tasks = [c.task for c in configs if c.baseline]
    drawn = per_config.get(AS_DRAWN, [])
    if not drawn:
        return StudyResult([], failed=failed, planned=len(runs), runs=begun)
    names, higher = drawn[0]["names"], drawn[0]["higher"]
    alone = {t: per_config.get(BASELINE_PREFIX + t) for t in tasks}
    if tasks and all(alone.values()):
        seeds = min(len(runs_of_task) for runs_of_task in alone.values())
        reference_runs = [{t: alone[t][k]["figures"][t] for t in tasks} for k in range(seeds)]
        reference_name = BASELINES_ROW
    else:
        reference_runs = [run["figures"] for run in drawn]
        reference_name = AS_DRAWN
    means = {t: sum(r[t] for r in reference_runs) / len(reference_runs) for t in names}
    rows = [table.summarize(reference_name, reference_runs, means, names, higher, True)]
    for config in configs:
        if config.baseline or (reference_name == AS_DRAWN and config.name == AS_DRAWN):
            continue
        got = per_config.get(config.name)
        if got:
            rows.append(
                table.summarize(config.name, [g["figures"] for g in got], means, names, higher)
            )
    return StudyResult(
        table.ranked(rows),
        failed=failed,
        reference=reference_name,
        planned=len(runs),
        runs=begun,
    )


def _write_table(out: Path, result: StudyResult) -> None:
    if not result.rows:
        return
    table.to_csv(result.rows, out / TABLE_CSV)
    write_text(out / TABLE_MD, result.markdown + "\n")
