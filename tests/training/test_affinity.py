"""Inter-task affinity (Fifty et al. 2021): a case worked by hand, the
run's record, and the grouping."""

import csv
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.training import events as ev
from mtl_studio.training import run_folder
from mtl_studio.training.affinity import best_groupings, group_score
from mtl_studio.training.record import RunRecorder
from mtl_studio.training.trainer import Trainer
from tests.training.test_results import results_project


def twin_project(tmp_path):
    """Two regression tasks learning the same column through heads of the
    same shape: with the heads' weights made equal, their gradients on the
    trunk are identical."""
    project = results_project(tmp_path, epochs=1)
    project.node("out_b").params.update(units=1, activation="linear")
    project.tasks[1].loss = "mse"
    project.tasks[1].target = ["a"]
    project.tasks[1].metrics = []
    project.node("head_a").params["units"] = 8
    return project


def test_two_tasks_with_identical_gradients_have_their_own_lookahead_gain(tmp_path):
    project = twin_project(tmp_path)
    # The same head for both tasks: b's Output reads the trunk through its
    # own Dense, made equal to a's below.
    from mtl_studio.core.building import add_layer

    project.disconnect(next(e for e in project.edges if e.target == "out_b"))
    add_layer(project, "Dense", "shared", "head_b", units=8)
    from mtl_studio.core.graph import Edge

    project.connect(Edge(project.node_by_name("head_b").id, "out_b"))
    project.training.affinity_every = 1
    trainer = Trainer(project)
    trainer.setup()
    model = trainer.model
    model.get_layer("head_b").set_weights(model.get_layer("head_a").get_weights())
    model.get_layer("out_b").set_weights(model.get_layer("out_a").get_weights())

    from mtl_studio.training.tf_import import tf

    plan = trainer.epoch_plan(0)
    rows = plan[1][0][: trainer.batch[0]]
    x = {k: tf().gather(v, rows) for k, v in trainer.train_x[0].items()}
    y = {k: tf().gather(v, rows) for k, v in trainer.train_y[0].items()}
    before = [v.numpy().copy() for v in model.variables]
    z = trainer._affinity(x, y, tf().constant(0.05)).numpy()
    # Identical gradients: a step for a helps b exactly as it helps a.
    assert z[0, 1] == pytest.approx(z[0, 0], rel=1e-5)
    assert z[1, 0] == pytest.approx(z[1, 1], rel=1e-5)
    assert z[0, 0] > 0  # a small step along a's own gradient lowers its loss
    # Worked by hand for task a: 1 - L_a(trunk - lr * grad) / L_a(trunk).
    shared = [trainer.variables[i] for i in trainer.shared_index]
    with tf().GradientTape() as tape:
        loss = trainer.loss_fns[0](y["a"], model(x, training=False)["a"])
    grads = tape.gradient(loss, shared)
    for v, g in zip(shared, grads):
        v.assign_sub(0.05 * g)
    after = trainer.loss_fns[0](y["a"], model(x, training=False)["a"])
    for v, value in zip(model.variables, before):
        v.assign(value)
    assert z[0, 0] == pytest.approx(1 - float(after) / float(loss), rel=1e-4)
    # The lookahead left every weight as it was.
    z = trainer._affinity(x, y, tf().constant(0.05))
    for v, value in zip(model.variables, before):
        np.testing.assert_array_equal(v.numpy(), value)


def test_a_run_records_affinity_every_k_steps(tmp_path):
    project = results_project(tmp_path, epochs=2)
    project.training.affinity_every = 4
    out = tmp_path / "run"
    run_folder.start(project, None, out)
    seen = []
    recorder = RunRecorder(out, project)
    recorder.listeners.append(seen.extend)
    trainer = Trainer(project, None, recorder)
    finished = trainer.run()
    summary, _ = run_folder.finish(trainer, recorder, finished, out)
    measured = [e for e in seen if isinstance(e, ev.Affinity)]
    steps = trainer.step
    assert len(measured) >= steps // 4 - 1 and measured[0].z.shape == (2, 2)
    rows = list(csv.DictReader((out / "affinity.csv").open()))
    assert len(rows) == 4 * len(measured)
    assert summary["affinity"]["measurements"] == len(measured)
    mean = np.mean([e.z for e in measured], axis=0)
    np.testing.assert_allclose(summary["affinity"]["mean"], mean, rtol=1e-6)
    json.dumps(summary)


def test_off_by_default_and_costs_nothing_then(tmp_path):
    project = results_project(tmp_path, epochs=1)
    seen = []
    trainer = Trainer(project, None, seen.extend)
    trainer.run()
    assert trainer._affinity is None
    assert not any(isinstance(e, ev.Affinity) for e in seen)


def test_grouping_puts_tasks_that_help_each_other_together():
    z = np.array(
        [
            [0.2, 0.3, -0.1, 0.0],
            [0.3, 0.2, -0.2, 0.0],
            [-0.1, -0.1, 0.2, 0.25],
            [0.0, 0.0, 0.3, 0.2],
        ]
    )
    found = best_groupings(z, ["a", "b", "c", "d"])
    assert found[2]["groups"] == [["a", "b"], ["c", "d"]]
    assert set(found) == {2, 3}
    assert best_groupings(z[:2, :2], ["a", "b"]) == {}


@given(
    st.integers(3, 6).flatmap(
        lambda n: st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n).map(
            lambda v: np.array(v).reshape(n, n)
        )
    )
)
def test_each_grouping_is_a_partition_and_the_best_of_its_size(z):
    tasks = [f"t{i}" for i in range(len(z))]
    for k, found in best_groupings(z, tasks).items():
        groups = found["groups"]
        assert len(groups) == k and sorted(sum(groups, [])) == sorted(tasks)
        index = {t: i for i, t in enumerate(tasks)}
        score = sum(group_score(z, tuple(index[t] for t in g)) for g in groups)
        assert score == pytest.approx(found["score"])
