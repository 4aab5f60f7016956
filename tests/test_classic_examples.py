"""The classic multi-task examples: each is listed, valid, and trains headless
through the public API, on fewer rows than it ships with so that the suite
stays fast; one opens from File > New from Example and trains in the window.
The tutorial is checked against the TensorFlow 1 code it reproduces."""

import math

import numpy as np
import pytest

import mtl_studio as mtl
from mtl_studio.cli import main as cli_main
from tests.ui.conftest import make_window, no_leaked_widgets  # noqa: F401 - fixtures

CLASSIC = ["tutorial", "tickets", "tagging", "shapes", "digit_strips"]
RUN_TIMEOUT = 90_000  # ms: a first run in the process imports TensorFlow and compiles


def small(name: str, rows: int = 200):
    """The example on `rows` generated rows, for one epoch."""
    project = mtl.load(name)
    project.data.params["examples"] = rows
    project.training.epochs = 1
    return project


@pytest.mark.parametrize("name", CLASSIC)
def test_each_example_is_listed_valid_and_trains_a_few_steps(name, tmp_path, capsys):
    assert name in mtl.examples()
    assert cli_main(["examples"]) == 0
    assert f"  {name} " in capsys.readouterr().out
    project = mtl.load(name)
    assert project.data.kind == "generator"  # its own data, made from a seed
    assert mtl.validate(project) == []

    project = small(name)
    run = mtl.train(project, out=tmp_path / name)
    assert run.status == "completed", run.message
    steps = run.summary["steps"]
    assert steps >= 5
    for task in project.tasks:
        curve = run.curves[task.name]
        assert len(curve.loss) and np.isfinite(curve.loss).all()
    trained = sum(len(run.curves[t.name].step) for t in project.tasks)
    if project.training.mode == "alternating":
        assert trained == steps  # each step trains one task
    else:
        assert trained == steps * len(project.tasks)
        assert project.training.validation_split > 0
        assert all(len(c.val_loss) == 1 for c in run.curves.values())


def test_the_tutorial_is_the_tf1_code_as_written(tmp_path):
    """X, Y1, Y2 from np.random.rand(...) * 10 fresh for each step, layers
    tf.nn.relu(tf.matmul(...)) with np.random.rand weights, tf.nn.l2_loss,
    one tf.train.AdamOptimizer() per task, and the task of a step drawn with
    np.random.rand() < 0.5."""
    project = mtl.load("tutorial")
    t, data = project.training, project.data
    assert (t.mode, t.schedule, t.batch_size) == ("alternating", "random", 10)
    assert t.validation_split == 0 and t.test_split == 0 and t.epochs == 1
    assert not data.standardize_inputs and not data.standardize_targets
    assert data.params["high"] == 10
    for task in project.tasks:
        assert task.loss == "l2" and task.schedule_weight == 1.0
        adam = task.optimizer
        assert (adam.name, adam.learning_rate, adam.beta_1, adam.beta_2) == (
            "adam",
            0.001,
            0.9,
            0.999,
        )
        assert adam.epsilon == 1e-8  # TensorFlow 1's default; Keras' is 1e-7

    project.data.params["examples"] = 400  # 40 steps
    seen = {}

    def hook(trainer):
        trainer.setup()
        seen["weights"] = [w.copy() for w in trainer.model.get_weights()]
        seen["epsilons"] = [float(o.epsilon) for o in trainer.optimizers]

    run = mtl.train(project, out=tmp_path / "tutorial", on_trainer=hook)
    assert run.status == "completed"
    # Three kernels and no biases, each starting uniform in [0, 1).
    assert [w.shape for w in seen["weights"]] == [(10, 20), (20, 20), (20, 20)]
    for w in seen["weights"]:
        assert 0 <= w.min() and w.max() < 1 and 0.4 < w.mean() < 0.6
    assert seen["epsilons"] == [pytest.approx(1e-8)] * 2
    # Every row trains (no validation), in batches of 10: 40 steps, each one
    # task's; X in [0, 10) unscaled makes the first losses millions, as the
    # tutorial printed (4.5e6 to 7e6).
    assert run.summary["steps"] == run.summary["steps_per_epoch"] == 40
    y1, y2 = run.curves["Y1"], run.curves["Y2"]
    assert sorted(np.concatenate([y1.step, y2.step]).tolist()) == list(range(1, 41))
    first = max(y1.loss[0], y2.loss[0])
    assert 1e6 < first < 3e7
    assert all(len(c.val_loss) == 0 for c in run.curves.values())


def test_the_tutorial_draws_each_step_s_task_with_probability_one_half():
    from mtl_studio.training.batches import alternating_plan

    t = mtl.load("tutorial").training
    ids, rows = alternating_plan(t.seed, 0, 5000, t.schedule, [1.0, 1.0], [0, 0], [50000], [10])
    share = ids.mean()
    assert abs(share - 0.5) < 3 * math.sqrt(0.25 / 5000)
    # Independent draws: a task follows itself as often as the other.
    assert np.mean(ids[1:] == ids[:-1]) == pytest.approx(0.5, abs=0.03)
    # Within a task no row comes twice in the epoch: each batch is new rows.
    for k in (0, 1):
        taken = rows[ids == k].ravel()
        assert len(np.unique(taken)) == len(taken)


def test_a_classic_example_opens_from_the_menu_and_trains_in_the_window(qtbot, make_window):
    window = make_window()
    menu = {a.text(): a for a in window.examples_menu.actions()}
    assert set(CLASSIC) <= set(menu)
    menu["digit_strips"].trigger()
    project = window.document.project
    assert project.name == mtl.load("digit_strips").name and window.document.path is None
    assert [t.name for t in project.tasks] == ["length"] + [f"digit_{k}" for k in range(1, 6)]
    assert window.act_train.isEnabled()  # valid: Train is not held back by an error

    window.act_train.trigger()
    curves = window.runs.curves
    qtbot.waitUntil(
        lambda: bool(curves.train) and all(len(s) >= 2 for s in curves.train.values()),
        timeout=RUN_TIMEOUT,
    )
    window.act_stop.trigger()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT)
    assert curves.status == "stopped"
    for task in project.tasks:
        assert np.isfinite(curves.train[task.name].value).all()
