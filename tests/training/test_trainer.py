import threading
import time

import numpy as np
import pytest

from mtl_studio.training import events as ev
from mtl_studio.training.builder import build_model
from mtl_studio.training.tf_import import keras
from mtl_studio.training.trainer import Trainer
from tests.training.conftest import regression_project, tiny_data

k = keras()


class Recorder:
    def __init__(self):
        self.batches = []

    def __call__(self, events):
        self.batches.append(list(events))

    def of(self, kind):
        return [e for batch in self.batches for e in batch if isinstance(e, kind)]

    def losses(self, task):
        return np.concatenate([e.losses[task] for e in self.of(ev.StepLosses)])

    def totals(self):
        return np.concatenate([e.total for e in self.of(ev.StepLosses)])


def test_joint_fixed_weights_match_keras_fit_step_by_step():
    project = regression_project()
    project.training.epochs = 3  # 3 epochs x 8 steps >= 20 steps
    data = tiny_data()
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=data)
    trainer.setup()
    reference = build_model(project).model
    reference.set_weights(trainer.model.get_weights())  # same initial weights
    reference.compile(
        optimizer=k.optimizers.Adam(0.001),
        loss={"a": "mse", "b": "mse"},
        loss_weights={"a": 1.0, "b": 0.5},
    )
    rows = [trainer.epoch_plan(e)[1] for e in range(3)]
    assert trainer.run().status == "completed"

    train = data.datasets[0].train
    fit_total, fit_a = [], []
    for block in rows:
        for batch in block:
            h = reference.fit(
                {"x": train.inputs["x"][batch]},
                {t: train.targets[t][batch] for t in ("a", "b")},
                batch_size=len(batch),
                epochs=1,
                shuffle=False,
                verbose=0,
            )
            fit_total.append(h.history["loss"][0])
            fit_a.append(h.history["a_loss"][0])
    ours = rec.totals()
    assert len(ours) == len(fit_total) == 24
    np.testing.assert_allclose(ours[:20], fit_total[:20], rtol=0, atol=1e-5)
    np.testing.assert_allclose(rec.losses("a")[:20], fit_a[:20], rtol=0, atol=1e-5)
    for ours_w, ref_w in zip(trainer.model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(ours_w, ref_w, atol=1e-5)


def test_alternating_step_updates_only_the_trunk_and_its_own_head():
    project = regression_project(mode="alternating")
    project.training.schedule = "round_robin"
    trainer = Trainer(project, data=tiny_data())
    trainer.setup()
    model = trainer.model
    before = {x.name: [w.copy() for w in x.get_weights()] for x in model.layers}
    ids, rows = trainer.epoch_plan(0)
    assert ids[0] == 0  # round robin starts with task a
    trainer._call((ids[:1], rows[:1]))
    after = {x.name: x.get_weights() for x in model.layers}

    def changed(name):
        return any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))

    assert changed("trunk") and changed("out_a")
    assert not changed("head_b") and not changed("out_b")


def test_alternating_reports_only_the_trained_task_per_step():
    project = regression_project(mode="alternating")
    project.training.schedule = "round_robin"
    rec = Recorder()
    assert Trainer(project, callback=rec, data=tiny_data()).run().status == "completed"
    a, b = rec.losses("a"), rec.losses("b")
    assert np.all(np.isfinite(a[0::2])) and np.all(np.isnan(a[1::2]))
    assert np.all(np.isnan(b[0::2])) and np.all(np.isfinite(b[1::2]))


# Every weighting that keeps state between steps (learned scales, loss
# history, EMA targets, logits and their optimizer), plus a random one (its
# draws follow the step count): each must come back from a checkpoint. The
# stateless ones (pcgrad, mgda, cagrad, aligned_mtl) read only the step's
# gradients, as fixed weights do; leaving them out keeps the suite near ten
# minutes on two cores.
@pytest.mark.parametrize(
    "mode, weighting",
    [
        ("joint", "fixed"),
        ("joint", "uncertainty"),
        ("joint", "dwa"),
        ("joint", "gradnorm"),
        ("joint", "imtl"),
        ("joint", "rlw"),
        ("joint", "gradvac"),
        ("joint", "famo"),
        ("alternating", "fixed"),
        ("soft_sharing", "fixed"),
    ],
)
def test_resuming_from_a_checkpoint_gives_the_same_losses(tmp_path, mode, weighting):
    project = regression_project(mode, weighting)
    project.training.epochs = 3
    whole = Recorder()
    Trainer(project, callback=whole, data=tiny_data()).run()

    path = tmp_path / "checkpoint.npz"
    first = Recorder()
    trainer = Trainer(
        project, callback=first, data=tiny_data(), checkpoint_path=path, flush_seconds=0
    )

    def stop_after_ten(events):
        first(events)
        if trainer.step >= 10:
            trainer.stop()

    trainer.callback = stop_after_ten
    assert trainer.run().status == "stopped"
    assert trainer.step == 11  # calls of 3, 3, 2 steps per epoch: stops after a call

    second = Recorder()
    resumed = Trainer(project, callback=second, data=tiny_data())
    resumed.restore_checkpoint(path)
    assert resumed.run().status == "completed"
    for task in ("a", "b"):
        joined = np.concatenate([first.losses(task), second.losses(task)])
        np.testing.assert_allclose(joined, whole.losses(task), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(
        [w for e in second.of(ev.Weights) for w in e.weights.values()][-2:],
        [w for e in whole.of(ev.Weights) for w in e.weights.values()][-2:],
        rtol=1e-6,
    )


def test_runs_are_repeatable_from_the_seed():
    first, second, other = Recorder(), Recorder(), Recorder()
    Trainer(regression_project(), callback=first, data=tiny_data()).run()
    Trainer(regression_project(), callback=second, data=tiny_data()).run()
    p = regression_project()
    p.training.seed = 1
    Trainer(p, callback=other, data=tiny_data()).run()
    np.testing.assert_array_equal(first.totals(), second.totals())
    assert not np.array_equal(first.totals(), other.totals())


def test_nan_loss_stops_with_task_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    project = regression_project()
    project.training.epochs = 3
    data = tiny_data()
    path = tmp_path / "ck.npz"
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=data, checkpoint_path=path, flush_seconds=0)

    def poison(events):
        rec(events)
        # After the first epoch, task b's targets turn to NaN on the device.
        if any(isinstance(e, ev.EpochEnd) for e in events) and trainer.step == 8:
            y = trainer.train_y[0]["b"]
            y.assign(np.full(y.shape, np.nan, np.float32))

    trainer.callback = poison
    finished = trainer.run()
    assert finished.status == "nan" and finished.task == "b"
    assert finished.step == 9  # the first step of epoch 2
    assert "task 'b'" in finished.message and "step 9" in finished.message
    assert trainer.step == 8
    assert all(np.all(np.isfinite(w)) for w in trainer.model.get_weights())
    from mtl_studio.training import checkpoint

    _, meta = checkpoint.load(path)
    assert meta["step"] == 8  # the checkpoint of the last good epoch stays


def test_an_exception_inside_training_becomes_an_error_event():
    rec = Recorder()
    trainer = Trainer(regression_project(), callback=rec, data=tiny_data())
    trainer.setup()

    def broken(plan):
        raise RuntimeError("device on fire")

    trainer._call = broken
    finished = trainer.run()
    assert finished.status == "error" and "device on fire" in finished.message
    assert rec.of(ev.RunFinished)[-1] is finished


def test_a_project_with_errors_is_reported_not_raised():
    project = regression_project()
    project.remove_task("b")
    finished = Trainer(project, data=tiny_data()).run()
    assert finished.status == "invalid" and "belongs to no task" in finished.message


def test_pause_resume_and_stop_from_another_thread():
    project = regression_project()
    project.training.epochs = 200
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=tiny_data())
    trainer.setup()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("end", trainer.run()))
    thread.start()
    while trainer.step < 6:
        threading.Event().wait(0.01)
    trainer.pause()
    # A call already under way ends first; it may be the first call of its
    # size (the epoch's last steps), which compiles, so the time is unknown.
    deadline = time.monotonic() + 30
    while not trainer.waiting and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert trainer.waiting
    held = trainer.step
    threading.Event().wait(0.3)
    assert trainer.step == held  # paused: no progress
    trainer.resume()
    while trainer.step <= held:
        threading.Event().wait(0.01)
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert result["end"].status == "stopped" and result["end"].step < 200 * 8


def test_a_weight_change_takes_effect_at_the_next_call_without_retracing():
    project = regression_project()
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=tiny_data(), flush_seconds=0)

    asked = []

    def change(events):
        rec(events)
        if trainer.step == 3 and not asked:
            asked.append(True)
            trainer.set_weight("b", 2.0)
            trainer.set_learning_rate(0.01)

    trainer.callback = change
    trainer.run()
    weights = [e for e in rec.of(ev.Weights)]
    assert weights[0].weights["b"] == 0.5 and weights[-1].weights["b"] == 2.0
    marks = rec.of(ev.SettingChanged)
    assert [(m.setting, m.task, m.value, m.step) for m in marks] == [
        ("weight", "b", 2.0, 3),
        ("learning_rate", None, 0.01, 3),
    ]
    assert trainer.learning_rates() == [pytest.approx(0.01)]
    # One trace of the compiled call for the whole run.
    assert trainer._call.__closure__ is not None
    call = [
        c.cell_contents
        for c in trainer._call.__closure__
        if hasattr(c.cell_contents, "experimental_get_tracing_count")
    ][0]
    assert call.experimental_get_tracing_count() == 1


def test_soft_sharing_reports_its_penalty():
    project = regression_project(mode="soft_sharing")
    project.training.soft_sharing_lambda = 0.5
    rec = Recorder()
    Trainer(project, callback=rec, data=tiny_data()).run()
    penalty = np.concatenate([e.penalty for e in rec.of(ev.StepLosses)])
    assert penalty[0] >= 0 and np.all(np.isfinite(penalty)) and penalty.max() > 0


def test_events_arrive_in_batches_with_validation_and_cosines():
    project = regression_project()
    project.tasks[0].metrics = ["mae", "rmse"]
    rec = Recorder()
    Trainer(project, callback=rec, data=tiny_data()).run()
    assert len(rec.batches) < sum(len(b) for b in rec.batches)  # several per call
    ends = rec.of(ev.EpochEnd)
    assert [e.epoch for e in ends] == [1, 2]
    assert set(ends[-1].val_losses) == {"a", "b"}
    assert set(ends[-1].val_metrics["a"]) == {"mae", "rmse"}
    cos = rec.of(ev.GradientCosine)
    assert cos and all(-1 <= v <= 1 for e in cos for v in e.pairs.values())
    progress = rec.of(ev.Progress)[-1]
    assert progress.step == progress.total_steps == 16


def test_a_model_xla_cannot_compile_falls_back_to_plain_tensorflow():
    from mtl_studio.training.tf_import import tf

    trainer = Trainer(regression_project(), data=tiny_data())
    trainer.setup()

    def no_kernel(block):
        raise tf().errors.InvalidArgumentError(None, None, "No registered XLA kernel for Foo")

    trainer._call = no_kernel
    finished = trainer.run()
    assert finished.status == "completed"
    assert trainer.xla is False and "XLA kernel" in trainer.xla_error


def test_alternating_with_a_data_set_per_task():
    """Two tasks, two data sets of different sizes sharing the input."""
    from mtl_studio.data.prepare import PreparedData

    a_data, b_data = tiny_data(n=64, seed=1), tiny_data(n=40, seed=2)
    a_set, b_set = a_data.datasets[0], b_data.datasets[0]
    a_set.tasks, b_set.tasks = ["a"], ["b"]
    a_set.label, b_set.label = "task 'a''s data", "task 'b''s data"
    for part in (a_set.train, a_set.val):
        del part.targets["b"]
    for part in (b_set.train, b_set.val):
        del part.targets["a"]
    data = PreparedData([a_set, b_set], {"a": 0, "b": 1}, {}, {})
    project = regression_project(mode="alternating")
    project.training.schedule = "proportional"
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=data)
    finished = trainer.run()
    assert finished.status == "completed", finished.message
    assert trainer.steps_per_epoch == 64 // 8 + 40 // 8
    ids, rows = trainer.epoch_plan(0)
    assert rows[ids == 1].max() < 40  # task b's rows come from its own, smaller set
    ends = rec.of(ev.EpochEnd)
    assert set(ends[-1].val_losses) == {"a", "b"}


def test_joint_mode_refuses_a_data_set_per_task():
    data = tiny_data()
    data.datasets.append(data.datasets[0])
    data.task_dataset["b"] = 1
    finished = Trainer(regression_project(), data=data).run()
    assert finished.status == "invalid" and "alternating mode" in finished.message


@pytest.mark.parametrize("schedule", ["random", "round_robin", "proportional"])
def test_alternating_schedules(schedule):
    project = regression_project(mode="alternating")
    project.training.schedule = schedule
    project.tasks[1].schedule_weight = 3.0  # random: b three times as likely
    trainer = Trainer(project, data=tiny_data(n=800))
    trainer.setup()
    ids = np.concatenate([trainer.epoch_plan(e)[0] for e in range(5)])
    share_b = ids.mean()
    expected = {"random": 0.75, "round_robin": 0.5, "proportional": 0.5}[schedule]
    assert share_b == pytest.approx(expected, abs=0.05)
    assert np.array_equal(trainer.epoch_plan(2)[0], trainer.epoch_plan(2)[0])  # seeded


def test_alternating_steps_on_a_data_set_smaller_than_a_batch_count_each_row_once():
    """Task b's set (5 rows) is smaller than the batch (8): its steps take 5
    rows; the padding of the step's block must not enter its loss."""
    from mtl_studio.data.prepare import PreparedData

    a_data, b_data = tiny_data(n=64, seed=1), tiny_data(n=5, seed=2, val=0)
    a_set, b_set = a_data.datasets[0], b_data.datasets[0]
    a_set.tasks, b_set.tasks = ["a"], ["b"]
    data = PreparedData([a_set, b_set], {"a": 0, "b": 1}, {}, {})
    project = regression_project(mode="alternating")
    project.training.epochs = 1
    project.training.optimizer.learning_rate = 1e-12  # weights stay as they start
    rec = Recorder()
    trainer = Trainer(project, callback=rec, data=data)
    assert trainer.run().status == "completed"
    ids, rows = trainer.epoch_plan(0)
    step = int(np.flatnonzero(ids == 1)[0])
    taken = rows[step, :5]
    out = trainer.model({"x": b_set.train.inputs["x"][taken]}, training=False)["b"]
    expected = np.mean((np.asarray(out) - b_set.train.targets["b"][taken]) ** 2)
    np.testing.assert_allclose(rec.losses("b")[step], expected, rtol=1e-4)


def test_a_given_task_order_for_alternating_mode():
    project = regression_project(mode="alternating")
    trainer = Trainer(project, data=tiny_data(), task_order=["a", "a", "b"])
    trainer.setup()
    for epoch in (0, 1):
        ids, rows = trainer.epoch_plan(epoch)
        first = epoch * trainer.steps_per_epoch
        assert ids.tolist() == [[0, 0, 1][(first + i) % 3] for i in range(trainer.steps_per_epoch)]
    seen = Recorder()
    trainer.callback = seen
    assert trainer.run().status == "completed"
    trained = [np.isfinite(e.losses["b"]) for e in seen.of(ev.StepLosses)]
    assert np.concatenate(trained).tolist()[:6] == [False, False, True, False, False, True]
    bad = Trainer(project, data=tiny_data(), task_order=["a", "nope"])
    finished = bad.run()
    assert finished.status == "invalid" and "task_order names task 'nope'" in finished.message
