"""The loss-weight search (study/search.py): trials as run folders in an
Optuna storage that survives a restart and serves several worker processes;
delta-m with pruning; a chosen trial applied as one undo step."""

import json
import math
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from mtl_studio.cli import main
from mtl_studio.core.commands import UndoStack
from mtl_studio.core.fileformat import save
from mtl_studio.study import search
from mtl_studio.study.runner import Stop
from mtl_studio.study.search import SearchError, apply_trial, load_search, search_weights
from mtl_studio.training.evaluation import open_run
from tests.training.test_results import results_project


def summary(folder):
    return json.loads((folder / "summary.json").read_text())


def trained_weights(folder):
    """The weights a trial's run was trained with, from its own project copy."""
    project = open_run(folder).project
    return {t.name: t.weight for t in project.tasks}


def test_a_search_writes_its_trials_and_goes_on_where_it_stopped(tmp_path):
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "search"
    seen = []
    first = search_weights(project, out, 3, on_trial=lambda t: seen.append((t.number, t.state)))
    assert (out / "search.db").exists()
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["trial-0", "trial-1", "trial-2"]
    assert [t.state for t in first.trials] == ["complete"] * 3
    assert seen == [(0, "running"), (0, "complete"), (1, "running"), (1, "complete")] + [
        (2, "running"),
        (2, "complete"),
    ]
    for trial in first.trials:
        folder = out / trial.folder
        assert summary(folder)["status"] == "completed"
        assert trained_weights(folder) == pytest.approx(trial.weights)
        assert all(0.05 <= w <= 20 for w in trial.weights.values())
        # Each task's validation figure, in the objective's order (a: MAE, b: accuracy).
        assert trial.values == [trial.figures["a"], trial.figures["b"]]
    assert first.names == {"a": "mae", "b": "accuracy"}
    assert first.higher == {"a": False, "b": True}
    assert 1 <= len(first.front) <= 3  # the Pareto front of the complete trials
    assert first.markdown.startswith("| trial | weight a | weight b | a: mae ↓ | b: accuracy ↑ |")

    # The same search again (same storage, same study): two more trials, five in all.
    again = search_weights(project, out, 2)
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4]
    assert {t.state for t in again.trials} == {"complete"}
    assert len({t.folder for t in again.trials}) == 5
    assert load_search(search.default_storage(out), project.name).count("complete") == 5

    # Each trial kept the study's split: the project's seed and split seed.
    copy = open_run(out / "trials" / "trial-4").project.training
    assert copy.split_seed == project.training.seed_of_split == copy.seed


WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mtl_studio.core.fileformat import load
    from mtl_studio.study.search import search_weights

    project = load(sys.argv[1])
    search_weights(project, Path(sys.argv[2]), 3, storage=sys.argv[3], study_name="shared")
""")


def test_two_worker_processes_share_one_study_on_one_sqlite_file(tmp_path):
    project = results_project(tmp_path, epochs=1)
    save(project, tmp_path / "p.mtl.json")
    out = tmp_path / "search"
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    # Both start at once on a new database file: both create its tables.
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "p.mtl.json"), str(out), storage],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    result = load_search(storage, "shared")
    numbers = [t.number for t in result.trials]
    assert sorted(numbers) == list(range(6))  # none lost, none run twice
    assert {t.state for t in result.trials} == {"complete"}
    assert len({t.folder for t in result.trials}) == 6
    assert sorted(p.name for p in (out / "trials").iterdir()) == [f"trial-{n}" for n in range(6)]
    by_worker = {}
    for trial in result.trials:
        by_worker.setdefault(trial.worker, []).append(trial.number)
        assert summary(out / trial.folder)["status"] == "completed"
        assert trained_weights(out / trial.folder) == pytest.approx(trial.weights)
    assert sorted(len(v) for v in by_worker.values()) == [3, 3]  # each its share


def test_apply_trial_is_one_undo_step(tmp_path):
    project = results_project(tmp_path)
    project.training.optimizer.learning_rate = 0.001
    stack = UndoStack(project)
    stack.push(apply_trial(project, {"a": 2.5, "b": 0.125}, learning_rate=0.004))
    assert [t.weight for t in project.tasks] == [2.5, 0.125]
    assert project.training.optimizer.learning_rate == 0.004
    assert stack.undo_text == "Apply searched weights"
    stack.undo()
    assert [t.weight for t in project.tasks] == [1.0, 1.0]
    assert project.training.optimizer.learning_rate == 0.001
    assert not stack.can_undo
    stack.redo()
    assert [t.weight for t in project.tasks] == [2.5, 0.125]
    with pytest.raises(ValueError, match="no task 'c'"):
        apply_trial(project, {"c": 1.0})


def test_delta_m_prunes_nothing_when_told_not_to_and_a_pruned_run_stops(tmp_path):
    project = results_project(tmp_path, epochs=2)
    baselines = {"a": 5.0, "b": 0.5}
    kept = search_weights(
        project,
        tmp_path / "kept",
        3,
        objective="delta_m",
        baselines=baselines,
        learning_rate=True,
        prune=False,
    )
    assert [t.state for t in kept.trials] == ["complete"] * 3
    best = kept.best
    assert best.values[0] == max(t.values[0] for t in kept.trials)
    gains = [
        (5.0 - best.figures["a"]) / 5.0 * 100,
        (best.figures["b"] - 0.5) / 0.5 * 100,
    ]
    assert best.values[0] == pytest.approx(sum(gains) / 2)  # delta-m against the baselines
    lr = project.training.optimizer.learning_rate
    assert all(lr / 10 <= t.learning_rate <= lr * 10 for t in kept.trials)
    assert kept.markdown.splitlines()[0].endswith(
        "| learning rate | a: mae ↓ | b: accuracy ↑ | Δm % |"
    )
    # The validation figure of each epoch was reported, as pruning reads it.
    study = optuna.load_study(
        study_name=project.name, storage=search.default_storage(tmp_path / "kept")
    )
    assert all(sorted(t.intermediate_values) == [1, 2] for t in study.trials)

    # A pruner that prunes every trial at its first report: the run stops.
    project.training.epochs = 3
    pruned = search_weights(
        project,
        tmp_path / "pruned",
        1,
        objective="delta_m",
        baselines=baselines,
        prune=optuna.pruners.ThresholdPruner(lower=math.inf),
    )
    (trial,) = pruned.trials
    assert trial.state == "pruned" and pruned.best is None
    folder = summary(tmp_path / "pruned" / trial.folder)
    assert folder["status"] == "stopped" and folder["epochs"] < 3


def test_a_stopped_trial_is_tried_again_first(tmp_path):
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "search"
    stop = Stop()

    def on_trial(trial):
        if trial.number == 1 and trial.state == "running":
            stop.set()  # the user presses Stop as trial 1 starts

    first = search_weights(project, out, 3, stop=stop, on_trial=on_trial)
    assert first.stopped
    assert [t.state for t in first.trials] == ["complete", "fail", "waiting"]
    assert summary(out / first.trials[1].folder)["status"] == "stopped"
    again = search_weights(project, out, 1)
    assert not again.stopped
    retried = again.trials[2]
    assert retried.state == "complete" and retried.weights == first.trials[1].weights


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_a_trial_of_a_worker_that_died_is_failed_and_tried_again(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "HEARTBEAT", 1)
    monkeypatch.setattr(search, "GRACE", 1)
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "search"
    study = search.open_study(project, out)
    dead = study.ask()  # a worker took trial 0, sampled its weights, and died
    weights = {t: dead.suggest_float(f"weight:{t}", 0.05, 20.0, log=True) for t in ("a", "b")}
    study._storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)
    result = search_weights(project, out, 1)
    states = {t.number: t.state for t in result.trials}
    assert states == {0: "fail", 1: "complete"}
    assert result.trials[1].weights == pytest.approx(weights)


def test_what_a_search_refuses(tmp_path):
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "search"
    search.open_study(project, out)
    search.open_study(project, out, storage=search.default_storage(out))  # the same
    with pytest.raises(SearchError, match="searches pareto over a, b \\(1 epochs\\), not"):
        search.open_study(project, out, learning_rate=True)
    with pytest.raises(
        SearchError, match="holds the trials of the search 'two tasks' in search.db"
    ):
        search.open_study(project, out, study_name="other")
    with pytest.raises(SearchError, match="holds the trials of the search"):
        search.open_study(project, out, storage=f"sqlite:///{tmp_path / 'elsewhere.db'}")
    with pytest.raises(SearchError, match="needs the baselines"):
        search.open_study(project, tmp_path / "d", objective="delta_m")
    search.open_study(project, tmp_path / "d2", objective="delta_m", baselines={"a": 1, "b": 1})
    with pytest.raises(SearchError, match="other baselines"):
        search.open_study(project, tmp_path / "d2", objective="delta_m", baselines={"a": 2, "b": 1})
    project.training.weighting = "dwa"
    with pytest.raises(SearchError, match="sets the task weights itself"):
        search.open_study(project, tmp_path / "x")
    project.training.weighting = "fixed"
    project.training.validation_split = 0.0
    with pytest.raises(SearchError, match="validation split"):
        search.open_study(project, tmp_path / "x")


def test_the_study_command_searches_with_two_workers_against_the_baselines(tmp_path, capsys):
    project = results_project(tmp_path, epochs=1)
    save(project, tmp_path / "p.mtl.json")
    out = tmp_path / "s"
    code = main(
        ["study", str(tmp_path / "p.mtl.json"), "--baselines", "--out", str(out)]
        + ["--search-weights", "3", "--objective", "delta_m", "--workers", "2"]
    )
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "| single-task baselines (baseline) |" in stdout  # the study ran first
    assert "loss-weight search 'two tasks': 3 trials (3 complete); the best trial" in stdout
    assert "| trial | weight a | weight b | a: mae ↓ | b: accuracy ↑ | Δm % |" in stdout
    result = load_search(search.default_storage(out), "two tasks")
    assert sorted(t.number for t in result.trials) == [0, 1, 2]
    assert len({t.worker for t in result.trials}) == 2  # this process and one more
    # delta-m against the study's baselines, scored on their validation rows.
    reference = search.study_reference(project, out, baselines=True)
    study = optuna.load_study(study_name="two tasks", storage=search.default_storage(out))
    assert study.user_attrs["baselines"] == pytest.approx(reference)

    code = main(["study", str(tmp_path / "p.mtl.json"), "--out", str(out), "--workers", "2"])
    assert code == 1 and "go with --search-weights" in capsys.readouterr().err
