"""What a run leaves a user (issue 12): the best epoch's model and the
last, both in real units; early stopping; summaries that a resume keeps."""

import csv
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mtl_studio.data.prepare import prepare
from mtl_studio.training import run_folder
from mtl_studio.training.real_units import to_real_units
from mtl_studio.training.record import RunRecorder
from mtl_studio.training.trainer import Trainer
from tests.helpers import two_task_project

LABELS = ["cat", "dog", "eel"]


def write_rows(path, n=120, seed=0):
    """Inputs far from 0 and 1 (mean 50, std 5), target a in "centimetres"
    (mean 170) and b a text label: standardisation matters both ways."""
    rng = np.random.default_rng(seed)
    x = 50 + 5 * rng.normal(size=(n, 10))
    a = 170 + 2 * (x[:, 0] - 50) - (x[:, 1] - 50) + rng.normal(size=n)
    b = np.digitize(x[:, 2], [47, 53])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(10)] + ["a", "b"])
        for i in range(n):
            w.writerow([f"{v:.5f}" for v in x[i]] + [f"{a[i]:.4f}", LABELS[b[i]]])
    return path


def results_project(tmp_path, **training):
    from mtl_studio.core.settings import DataSource

    p = two_task_project()
    p.tasks[0].target, p.tasks[1].target = ["a"], ["b"]
    p.data = DataSource(
        "csv",
        path=str(write_rows(tmp_path / "rows.csv")),
        inputs={"x": [f"f{i}" for i in range(10)]},
        standardize_targets=True,
    )
    t = p.training
    t.batch_size, t.epochs, t.steps_per_call = 16, 3, 4
    t.validation_split, t.test_split = 0.2, 0.2
    for key, value in training.items():
        setattr(t, key, value)
    return p


def run(project, out, epochs=None):
    run_folder.start(project, None, out)
    recorder = RunRecorder(out, project)
    trainer = Trainer(project, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    finished = trainer.run(epochs)
    summary, warnings = run_folder.finish(trainer, recorder, finished, out)
    assert not warnings
    return trainer, finished, summary


PLAIN_KERAS = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    model = keras.saving.load_model(sys.argv[1], safe_mode=True)
    x = np.load(sys.argv[2])["x"]
    out = model.predict({"x": x}, verbose=0)
    assert not any(name.startswith("mtl_studio") for name in sys.modules)
    np.savez(sys.argv[3], **{k: np.asarray(v) for k, v in out.items()}, name=model.name)
""")


def test_the_saved_models_take_raw_rows_and_give_real_units_in_plain_keras(tmp_path):
    project = results_project(tmp_path)
    out = tmp_path / "run"
    trainer, finished, summary = run(project, out)
    assert finished.status == "completed"
    assert summary["files"]["model_best"] == "model-best.keras"
    assert summary["files"]["model_last"] == "model-last.keras"
    assert summary["classes"]["b"] == LABELS

    # The Trainer's own predictions (standardised), put back in real units.
    scaled = prepare(project).datasets[0].test
    raw = prepare(project, scale=False).datasets[0].test
    stats = trainer._data.standardization["targets"]["a"]
    expected = trainer._predict(scaled.inputs)
    np.savez(tmp_path / "x.npz", x=raw.inputs["x"])
    subprocess.run(
        [
            sys.executable,
            "-c",
            PLAIN_KERAS,
            str(out / "model-last.keras"),
            str(tmp_path / "x.npz"),
            str(tmp_path / "y.npz"),
        ],
        check=True,
        cwd=tmp_path,
    )
    got = np.load(tmp_path / "y.npz")
    np.testing.assert_allclose(got["a"], to_real_units(expected["a"], stats), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got["b"], expected["b"], rtol=1e-5, atol=1e-6)
    assert abs(float(np.mean(got["a"])) - 170) < 20  # centimetres, not standard units
    np.testing.assert_allclose(got["b"].sum(axis=1), 1.0, rtol=1e-5)  # probabilities
    assert str(got["name"]) == "two_tasks_last_epoch"


def test_the_best_model_holds_the_best_epochs_weights(tmp_path):
    # A learning rate far too high: validation gets worse after a good start.
    project = results_project(tmp_path, epochs=6)
    project.training.optimizer.learning_rate = 0.05
    out = tmp_path / "run"
    trainer, finished, summary = run(project, out)
    best = summary["best_epoch"]
    assert best["monitor"] == "total" and 1 <= best["epoch"] <= 6
    # The best epoch's monitored value is the smallest weighted total.
    rows = list(csv.DictReader((out / "history.csv").open()))
    totals = {}
    for r in rows:
        if r["split"] == "val":
            totals[int(r["epoch"])] = (
                totals.get(int(r["epoch"]), 0.0)
                + float(r["loss"]) * {"a": 1.0, "b": 1.0}[r["task"]]
            )
    assert best["epoch"] == min(totals, key=totals.get)
    assert best["value"] == pytest.approx(totals[best["epoch"]], rel=1e-5)

    from mtl_studio.training.tf_import import keras

    model = keras().saving.load_model(out / "model-best.keras", safe_mode=True)
    assert model.name == f"two_tasks_best_epoch_{best['epoch']}"
    trainer.use_weights(trainer.best_values)
    x = prepare(project, scale=False).datasets[0].val.inputs["x"]
    scaled = prepare(project).datasets[0].val.inputs["x"]
    stats = trainer._data.standardization["targets"]["a"]
    np.testing.assert_allclose(
        model.predict({"x": x}, verbose=0)["a"],
        to_real_units(trainer._predict({"x": scaled})["a"], stats),
        rtol=1e-5,
        atol=1e-4,
    )


@pytest.mark.parametrize(
    "mode,weighting", [("joint", "uncertainty"), ("alternating", "fixed"), ("soft_sharing", "dwa")]
)
def test_early_stopping_stops_and_says_why_in_every_mode(tmp_path, mode, weighting):
    project = results_project(
        tmp_path,
        epochs=40,
        early_stopping=True,
        patience=2,
        min_delta=1e9,
        mode=mode,
        weighting=weighting,
    )
    out = tmp_path / "run"
    _, finished, summary = run(project, out)
    # Nothing improves by 1e9: epoch 1 is the best, the run stops after 3.
    assert finished.status == "completed" and finished.early_stopped
    assert finished.epoch == 3 and summary["epochs"] == 3
    assert "stopped early after epoch 3" in finished.message
    assert "the weighted total validation loss" in finished.message
    assert "best epoch is 1" in finished.message
    assert summary["early_stopped"] and summary["best_epoch"]["epoch"] == 1


def test_a_task_metric_can_pick_the_best_epoch(tmp_path):
    project = results_project(tmp_path, epochs=4, monitor="b:accuracy")
    _, _, summary = run(project, tmp_path / "run")
    rows = [
        r
        for r in csv.DictReader((tmp_path / "run" / "history.csv").open())
        if r["split"] == "val" and r["task"] == "b"
    ]
    accuracy = {int(r["epoch"]): float(r["accuracy"]) for r in rows}
    best = max(accuracy.values())
    assert accuracy[summary["best_epoch"]["epoch"]] == best
    # The first epoch reaching the best is kept: later ties are not better.
    assert summary["best_epoch"]["epoch"] == min(e for e, v in accuracy.items() if v == best)


def test_a_monitor_the_task_does_not_compute_is_refused(tmp_path):
    project = results_project(tmp_path, monitor="a:accuracy")
    _, finished, _ = run(project, tmp_path / "run")
    assert finished.status == "invalid"
    assert "add accuracy to the metrics of task 'a'" in finished.message


def test_resume_keeps_the_best_epoch_and_resume_with_nothing_left_loses_nothing(tmp_path):
    project = results_project(tmp_path, epochs=2)
    out = tmp_path / "run"
    _, _, before = run(project, out)
    # The same run resumed with nothing left to train.
    project2, _ = run_folder.read(out)
    recorder = RunRecorder(out, project2, resume=True)
    trainer = Trainer(project2, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    trainer.restore_checkpoint(out / run_folder.CHECKPOINT)
    finished = trainer.run(1)
    after, _ = run_folder.finish(trainer, recorder, finished, out)
    assert "nothing to train" in finished.message
    for task in ("a", "b"):
        for key in ("final_train_loss", "val_loss", "val_metrics", "weight"):
            assert after["tasks"][task][key] == before["tasks"][task][key], (task, key)
    assert after["epochs"] == before["epochs"] and after["best_epoch"] == before["best_epoch"]
    assert trainer.best_values is not None  # the best weights came back with the checkpoint


def test_history_rows_hold_the_weight_in_force_at_their_step(tmp_path):
    project = results_project(tmp_path, epochs=2, weighting="uncertainty")
    out = tmp_path / "run"
    seen = []
    run_folder.start(project, None, out)
    recorder = RunRecorder(out, project)
    recorder.listeners.append(seen.extend)
    trainer = Trainer(project, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    trainer.run()
    recorder.close()
    from mtl_studio.training import events as ev

    per_step = {}
    for e in seen:
        if isinstance(e, ev.StepLosses):
            for i, step in enumerate(e.steps):
                per_step[int(step)] = e.weights["a"][i]
    rows = [
        r
        for r in csv.DictReader((out / "history.csv").open())
        if r["split"] == "train" and r["task"] == "a"
    ]
    assert len({r["weight"] for r in rows}) > 2  # uncertainty weighting moves them
    for r in rows:
        assert float(r["weight"]) == pytest.approx(per_step[int(r["step"])], rel=1e-5)
    # One Weights event per step at most, and never two different at one step.
    by_step = {}
    for e in seen:
        if isinstance(e, ev.Weights):
            assert by_step.setdefault(e.step, e.weights) == e.weights, e.step


def test_alternating_with_a_joint_weighting_records_what_trained(tmp_path):
    project = results_project(tmp_path, epochs=1, mode="alternating", weighting="pcgrad")
    _, _, summary = run(project, tmp_path / "run")
    assert summary["weighting"] == "fixed" and summary["weighting_set"] == "pcgrad"


def test_a_moved_run_folder_still_resumes(tmp_path):
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "runs" / "first"
    run(project, out)
    moved = tmp_path / "elsewhere" / "deeper" / "first"
    moved.parent.mkdir(parents=True)
    out.rename(moved)
    copy, _ = run_folder.read(moved)
    assert copy.data.path == str(tmp_path / "rows.csv")
    trainer = Trainer(copy, None, checkpoint_path=moved / run_folder.CHECKPOINT)
    trainer.restore_checkpoint(moved / run_folder.CHECKPOINT)
    assert trainer.run(2).status == "completed"


def test_a_nan_in_the_first_call_keeps_the_finite_steps_before_it(tmp_path, capsys):
    from mtl_studio.training import events as ev

    project = results_project(tmp_path, epochs=2)
    project.training.steps_per_call = 5
    out = tmp_path / "run"
    run_folder.start(project, None, out)
    recorder = RunRecorder(out, project)
    trainer = Trainer(project, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    trainer.setup()
    # The rows of the third step turn NaN on the device: steps 1 and 2 of
    # the same call are finite and must be kept.
    plan = trainer.epoch_plan(0)
    y = trainer.train_y[0]["a"]
    poisoned = y.numpy().copy()
    poisoned[plan[1][2]] = np.nan
    y.assign(poisoned)
    finished = trainer.run()
    summary, _ = run_folder.finish(trainer, recorder, finished, out)
    assert finished.status == "nan" and finished.step == 3
    assert summary["tasks"]["a"]["final_train_loss"] is not None
    rows = [r for r in csv.DictReader((out / "history.csv").open()) if r["task"] == "a"]
    assert [int(r["step"]) for r in rows] == [1, 2]

    from mtl_studio.train_command import _report

    _report(finished, summary, out)
    printed = capsys.readouterr().out
    assert "train loss None" not in printed and "a: train loss" in printed
    assert "steps/s" not in printed or "(0 steps/s)" not in printed
    assert ev.format_rate(0.42) == "0.42 steps/s" and ev.format_rate(1234.4) == "1,234 steps/s"


def test_alternating_with_a_data_set_per_task_scales_each_task_by_its_own_data(tmp_path):
    """Task b learns from its own file whose inputs sit elsewhere (mean 500):
    the model in real units must scale each task's inputs as its data set's."""
    from mtl_studio.core.settings import DataSource

    project = results_project(tmp_path, mode="alternating", epochs=2)
    rows = [line.split(",") for line in (tmp_path / "rows.csv").read_text().splitlines()]
    shifted = [rows[0]] + [[f"{float(v) * 10:.4f}" for v in r[:10]] + r[10:] for r in rows[1:]]
    other = tmp_path / "other.csv"
    other.write_text("\n".join(",".join(r) for r in shifted) + "\n")
    project.tasks[1].data = DataSource(
        "csv", path=str(other), inputs={"x": [f"f{i}" for i in range(10)]}
    )
    out = tmp_path / "run"
    trainer, finished, _ = run(project, out)
    assert finished.status == "completed" and len(trainer._data.datasets) == 2

    from mtl_studio.training.tf_import import keras

    model = keras().saving.load_model(out / "model-last.keras", safe_mode=True)
    for task in ("a", "b"):
        scaled = trainer._data.dataset_of(task).test
        raw = prepare(project, scale=False).dataset_of(task).test
        expected = trainer._predict(scaled.inputs)[task]
        stats = trainer._data.standardization["targets"].get(task)
        np.testing.assert_allclose(
            model.predict(raw.inputs, verbose=0)[task],
            to_real_units(expected, stats),
            rtol=1e-5,
            atol=1e-4,
        )
