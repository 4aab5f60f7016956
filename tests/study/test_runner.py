"""A study end to end, headless: baselines, the project as drawn, a
weighting; stopped and resumed; the baseline's model holds one task."""

import json

import numpy as np

from mtl_studio.cli import main
from mtl_studio.study.runner import STATE, Stop, run_study
from tests.training.test_results import results_project


def test_a_tiny_study_stops_and_goes_on_where_it_stopped(tmp_path):
    project = results_project(tmp_path, epochs=2)
    out = tmp_path / "study"
    stop, started = Stop(), []

    def on_run(index, total, run, state):
        if state == "training":
            started.append(run.folder)
        elif index == 1:  # after the second run: the user presses Stop
            stop.set()

    first = run_study(
        project, out, baselines=True, weightings=["uncertainty"], seeds=2, on_run=on_run, stop=stop
    )
    assert first.stopped and len(started) == 2
    state = json.loads((out / STATE).read_text())
    assert [v["status"] for v in state["runs"].values()] == ["completed", "completed"]

    again = run_study(
        project, out, baselines=True, weightings=["uncertainty"], seeds=2, on_run=on_run
    )
    assert not again.stopped
    assert len(started) == 2 + 6  # 8 runs in all (2 baselines + drawn + 1 weighting, x2 seeds)
    assert len(set(started)) == 8  # none run twice
    names = [row.name for row in again.rows]
    assert names[0] == "single-task baselines" and set(names[1:]) == {
        "as drawn",
        "weighting uncertainty",
    }
    assert (out / "study.md").read_text().startswith("| configuration |")
    row = next(r for r in again.rows if r.name == "as drawn")
    assert row.seeds == 2 and set(row.cells) == {"a", "b"}

    # Each seed of a configuration shares the split: the same test rows.
    runs = json.loads((out / STATE).read_text())["runs"]
    assert {v["split"] for v in runs.values()} == {"test"} and len(runs) == 8


def test_a_baseline_model_has_one_output_and_no_other_head(tmp_path):
    from mtl_studio.training.tf_import import keras

    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "study"
    run_study(project, out, baselines=True, seeds=1)
    model = keras().saving.load_model(out / "alone-a" / "seed-0" / "model-last.keras")
    inner = [layer for layer in model.layers if hasattr(layer, "layers")][0]
    names = {layer.name for layer in inner.layers}
    out_of = model.predict({"x": np.zeros((2, 10))}, verbose=0)
    assert list(out_of) == ["a"]  # one output, by its task's name
    assert "head_a" in names and "out_b" not in names


def test_the_study_command(tmp_path, capsys):
    from mtl_studio.core.fileformat import save

    project = results_project(tmp_path, epochs=1)
    save(project, tmp_path / "p.mtl.json")
    code = main(
        ["study", str(tmp_path / "p.mtl.json"), "--weightings", "dwa", "--out", str(tmp_path / "s")]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "run 2/2: weighting dwa, seed 0: completed" in err
    assert "| as drawn (baseline) |" in out and "against the as drawn" in out
    code = main(
        [
            "study",
            str(tmp_path / "p.mtl.json"),
            "--weightings",
            "mgda",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert code == 1 and "holds another study" in capsys.readouterr().err


def test_a_run_stopped_mid_way_resumes_from_its_checkpoint(tmp_path):
    from mtl_studio.training import events as ev

    project = results_project(tmp_path, epochs=3)
    out = tmp_path / "study"
    stop, current = Stop(), {}

    def on_run(index, total, run, state):
        current["index"] = index

    def listener(batch):  # the user presses Stop during the first epoch of run 2
        if current.get("index") == 1 and any(isinstance(e, ev.StepLosses) for e in batch):
            stop.set()

    first = run_study(
        project, out, baselines=False, seeds=2, listeners=[listener], on_run=on_run, stop=stop
    )
    assert first.stopped
    runs = json.loads((out / STATE).read_text())["runs"]
    assert runs["as-drawn/seed-1"]["status"] == "stopped"
    assert (out / "as-drawn" / "seed-1" / "checkpoint.npz").exists()
    again = run_study(project, out, baselines=False, seeds=2)
    assert not again.stopped
    summary = json.loads((out / "as-drawn" / "seed-1" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 3


def test_mode_variants_are_configurations_and_rows(tmp_path, capsys):
    import pytest

    from mtl_studio.core.fileformat import save
    from mtl_studio.core.validation import errors, validate
    from mtl_studio.study.plan import configurations

    project = results_project(tmp_path, epochs=1, weighting="gradnorm")
    configs = configurations(project, False, [], ["alternating", "soft_sharing", "joint"])
    names = [c.name for c in configs]
    assert names == ["as drawn", "mode alternating", "mode soft sharing"]  # joint is as drawn
    for config in configs:
        assert not errors(validate(config.project)), config.name
    assert configs[1].project.training.weighting == "fixed"
    with pytest.raises(ValueError, match="unknown mode 'sideways'"):
        configurations(project, False, [], ["sideways"])

    save(project, tmp_path / "p.mtl.json")
    code = main(
        [
            "study",
            str(tmp_path / "p.mtl.json"),
            "--modes",
            "alternating",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "| mode alternating |" in out


def test_the_study_bar_on_a_terminal_and_in_a_log():
    import io

    from mtl_studio.study.plan import AS_DRAWN, Configuration, PlannedRun
    from mtl_studio.study_command import StudyBar
    from mtl_studio.training import events as ev

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    run = PlannedRun(Configuration(AS_DRAWN, None), 0)
    log = io.StringIO()
    bar = StudyBar(log)
    bar.run(0, 4, run, "training")
    bar.progress([ev.Progress(5, 10, 1, 2, 100.0, 1.0)])
    bar.run(0, 4, run, "completed")
    assert log.getvalue().splitlines() == [
        "run 1/4: as drawn, seed 0: training",
        "run 1/4: as drawn, seed 0: completed",
    ]
    screen = Terminal()
    bar = StudyBar(screen)
    bar.run(1, 4, run, "training")
    bar.progress([ev.Progress(5, 10, 1, 2, 100.0, 1.0)])
    drawn = screen.getvalue().split("\r")[-1]
    # One run done of four, and half of the second: 1.5 / 4 of the bar.
    assert drawn.startswith("study [#########...............] run 2/4: as drawn")
    assert "epoch 1/2" in drawn
