"""RunCurves, Series, ema and Smoother: plain numpy, no window."""

import csv

import numpy as np
import pytest

from mtl_studio.training import events as ev
from mtl_studio.ui.run_curves import Mark, RunCurves, Series, Smoother, ema


def started(tasks=("a", "b"), mode="joint", steps_per_epoch=4, start_step=0):
    return ev.RunStarted(
        list(tasks), mode, "fixed", 100, steps_per_epoch, 25, start_step=start_step
    )


def steps_block(start, n, losses, total=None, wall=None, penalty=None):
    steps = np.arange(start + 1, start + n + 1)
    losses = {t: np.asarray(v, float) for t, v in losses.items()}
    if total is None:
        total = np.nansum(np.vstack(list(losses.values())), axis=0)
    wall = steps * 0.5 if wall is None else wall
    return ev.StepLosses(steps, 1, losses, np.asarray(total, float), penalty=penalty, wall=wall)


def reference_ema(values, b):
    """The textbook loop: s = b s + (1 - b) v, divided by the same run on ones."""
    s = w = 0.0
    out = []
    for v in values:
        if np.isfinite(v):
            s = b * s + (1 - b) * v
            w = b * w + (1 - b)
        else:
            s, w = b * s, b * w
        out.append(s / w if w > 0 else np.nan)
    return np.array(out)


# --- Series --------------------------------------------------------------------


def test_series_grows_beyond_its_capacity_and_keeps_every_point():
    s = Series(capacity=4)
    for block in range(5):
        steps = np.arange(block * 3, block * 3 + 3)
        s.append(steps, steps * 0.1, steps * 2.0)
    assert len(s) == 15
    np.testing.assert_array_equal(s.step, np.arange(15))
    np.testing.assert_allclose(s.wall, np.arange(15) * 0.1)
    np.testing.assert_array_equal(s.value, np.arange(15) * 2.0)


def test_series_view_taken_before_growth_keeps_its_values():
    s = Series(capacity=2)
    s.append([1, 2], [0, 0], [10, 20])
    early = s.value
    s.append(np.arange(3, 100), 0, 7.0)  # scalars broadcast; the buffer is replaced
    np.testing.assert_array_equal(early, [10, 20])
    assert len(s) == 99 and s.value[-1] == 7.0


def test_series_accepts_single_points():
    s = Series()
    s.append(5, 1.5, 0.25)
    assert (s.step.tolist(), s.wall.tolist(), s.value.tolist()) == ([5.0], [1.5], [0.25])


# --- RunCurves -----------------------------------------------------------------


def test_alternating_mode_draws_each_task_through_the_steps_that_trained_it():
    run = RunCurves("Run 1", ["a", "b"])
    run.add(
        [
            started(mode="alternating"),
            steps_block(0, 4, {"a": [1.0, np.nan, 3.0, np.nan], "b": [np.nan, 2.0, np.nan, 4.0]}),
        ]
    )
    assert run.train["a"].step.tolist() == [1, 3]
    assert run.train["a"].value.tolist() == [1.0, 3.0]
    assert run.train["b"].step.tolist() == [2, 4]
    assert run.train["b"].wall.tolist() == [1.0, 2.0]
    assert len(run.total) == 4  # the objective has a value at every step
    assert run.step == 4 and run.wall == 2.0


def test_a_block_with_only_nan_for_a_task_adds_nothing_to_it():
    run = RunCurves("Run 1", ["a", "b"])
    run.add([started(), steps_block(0, 2, {"a": [np.nan, np.nan], "b": [1.0, 2.0]})])
    assert len(run.train["a"]) == 0 and len(run.train["b"]) == 2


def test_an_empty_block_is_ignored():
    run = RunCurves("Run 1", ["a"])
    run.add(
        [started(("a",)), ev.StepLosses(np.array([], int), 1, {"a": np.array([])}, np.array([]))]
    )
    assert len(run.total) == 0 and run.step == 0


def test_unknown_tasks_and_events_are_ignored_and_version_moves():
    run = RunCurves("Run 1", ["a"])
    assert run.version == 0
    run.add(
        [
            started(("a",)),
            steps_block(0, 2, {"a": [1, 2], "zzz": [3, 4]}),
            ev.CheckpointSaved(2, "/tmp/x"),
        ]
    )
    assert run.version == 1 and "zzz" not in run.train
    run.add([])
    assert run.version == 1  # no events, no change
    run.add([ev.Progress(2, 100, 1, 25, 10.0, 9.8)])
    assert run.version == 2 and run.progress.step == 2


def test_validation_losses_are_one_point_per_epoch():
    run = RunCurves("Run 1", ["a", "b"])
    run.add([started(steps_per_epoch=4)])
    for epoch in (1, 2, 3):
        run.add(
            [
                steps_block((epoch - 1) * 4, 4, {"a": [1] * 4, "b": [2] * 4}),
                ev.EpochEnd(
                    epoch,
                    epoch * 4,
                    {"a": 1.0, "b": 2.0},
                    {"a": 0.5 * epoch, "b": 1.5, "other": 9.0},
                ),
            ]
        )
    assert run.val["a"].step.tolist() == [4, 8, 12]
    assert run.val["a"].value.tolist() == [0.5, 1.0, 1.5]
    assert run.x(run.val["a"], "epoch").tolist() == [1.0, 2.0, 3.0]
    assert run.val["a"].wall.tolist() == [2.0, 4.0, 6.0]  # the wall of the epoch's end


def test_the_best_epoch_is_kept_with_its_step_and_value():
    run = RunCurves("Run 1", ["a"], monitor="total")
    run.add([started(("a",), steps_per_epoch=4)])
    assert run.best_epoch is None and run.best_x("step") is None and run.best_text == ""
    for epoch, val, best in ((1, 0.9, 1), (2, 0.5, 2), (3, 0.7, 2)):
        run.add(
            [
                steps_block((epoch - 1) * 4, 4, {"a": [1] * 4}),
                ev.EpochEnd(
                    epoch,
                    epoch * 4,
                    {"a": 1.0},
                    {"a": val},
                    monitored=val,
                    best_epoch=best,
                    best_step=best * 4,
                ),
            ]
        )
    assert (run.best_epoch, run.best_step, run.best_value) == (2, 8, 0.5)
    assert run.best_x("step") == 8.0
    assert run.best_x("epoch") == 2.0
    assert run.best_x("wall") == 4.0  # the wall time of step 8
    assert run.best_text == "best epoch 2"
    assert run.best_tip.startswith(
        "Best epoch 2 (step 8) by the weighted total validation loss (0.5)"
    )


def test_a_best_epoch_the_curves_never_saw_end_has_no_value():
    run = RunCurves("Run 1", ["a"])
    run.add(
        [
            started(("a",), steps_per_epoch=4, start_step=8),
            steps_block(8, 4, {"a": [1] * 4}),
            ev.EpochEnd(3, 12, {"a": 1.0}, {"a": 0.9}, 0.9, best_epoch=2, best_step=8),
        ]
    )
    assert (run.best_epoch, run.best_step, run.best_value) == (2, 8, None)
    assert "(step 8)" in run.best_tip and "(0." not in run.best_tip


def test_without_validation_the_best_epoch_is_not_shown():
    # The Trainer's "best" epoch is then merely the latest: no line for it.
    run = RunCurves("Run 1", ["a"])
    run.add(
        [
            started(("a",)),
            steps_block(0, 4, {"a": [1] * 4}),
            ev.EpochEnd(1, 4, {"a": 1.0}, best_epoch=1, best_step=4),
        ]
    )
    assert run.best_epoch == 1 and run.best_x("step") is None


def test_epoch_end_without_validation_adds_no_point():
    run = RunCurves("Run 1", ["a"])
    run.add([started(("a",)), steps_block(0, 4, {"a": [1] * 4}), ev.EpochEnd(1, 4, {"a": 1.0})])
    assert len(run.val["a"]) == 0


def test_weights_keep_one_point_per_report_and_skip_exact_repeats():
    run = RunCurves("Run 1", ["a", "b"])
    run.add(
        [
            started(),
            ev.Weights(0, {"a": 1.0, "b": 1.0}),
            steps_block(0, 4, {"a": [1] * 4, "b": [1] * 4}),
            ev.Weights(4, {"a": 1.0, "b": 0.5}),
            ev.Weights(4, {"a": 1.0, "b": 0.5}),
        ]
    )
    assert run.weights["a"].step.tolist() == [0, 4]
    assert run.weights["b"].value.tolist() == [1.0, 0.5]


def test_gradient_cosine_series_exist_per_pair_from_the_start():
    run = RunCurves("Run 1", ["a", "b", "c"], mode="joint")
    # Every pair, in task order, before any report: the plots make their
    # lines before training rather than at the first report.
    assert list(run.cosine) == [("a", "b"), ("a", "c"), ("b", "c")]
    run.add(
        [
            started(("a", "b", "c")),
            ev.GradientCosine(5, {("a", "b"): 0.5, ("a", "c"): -0.25}),
            ev.GradientCosine(10, {("a", "b"): 0.1}),
        ]
    )
    assert run.cosine[("a", "b")].value.tolist() == [0.5, 0.1]
    assert run.cosine[("a", "c")].step.tolist() == [5]
    assert len(run.cosine[("b", "c")]) == 0
    assert RunCurves("Run 2", ["a", "b"], mode="soft_sharing").cosine == {}


def test_marks_say_what_changed_and_where():
    run = RunCurves("Run 1", ["a"])
    run.add(
        [
            started(("a",), steps_per_epoch=10),
            steps_block(0, 10, {"a": [1] * 10}),
            ev.SettingChanged(10, "weight", "a", 0.5),
            ev.SettingChanged(10, "learning_rate", None, 0.001),
        ]
    )
    weight, lr = run.marks
    assert isinstance(weight, Mark) and weight.text == "a weight = 0.5"
    assert lr.text == "learning rate = 0.001"
    assert run.mark_x(weight, "step") == 10.0
    assert run.mark_x(weight, "epoch") == 1.0
    assert run.mark_x(weight, "wall") == 5.0  # the wall time when it was reported


def test_x_by_step_epoch_and_wall():
    run = RunCurves("Run 1", ["a"])
    run.add([started(("a",), steps_per_epoch=4), steps_block(0, 8, {"a": np.ones(8)})])
    s = run.train["a"]
    assert run.x(s, "step").tolist() == list(range(1, 9))
    np.testing.assert_allclose(run.x(s, "epoch"), np.arange(1, 9) / 4)
    np.testing.assert_allclose(run.x(s, "wall"), np.arange(1, 9) * 0.5)


def test_a_continued_run_goes_on_from_the_earlier_wall_time():
    run = RunCurves("Run 1", ["a"])
    run.add([started(("a",)), steps_block(0, 4, {"a": [1] * 4})])  # wall 0.5 .. 2.0
    run.add(
        [started(("a",), start_step=4), steps_block(4, 2, {"a": [1, 1]}, wall=np.array([0.5, 1.0]))]
    )
    assert run.train["a"].wall.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]


def test_run_finished_sets_status_and_message():
    run = RunCurves("Run 1", ["a"])
    assert run.running
    run.add([ev.RunFinished("nan", 3, 1, "loss of a is NaN", task="a")])
    assert not run.running and run.status == "nan" and "NaN" in run.message


def test_to_csv_writes_a_header_and_one_row_per_point(tmp_path):
    run = RunCurves("Run 1", ["a", "b"])
    run.add(
        [
            started(steps_per_epoch=2),
            ev.Weights(0, {"a": 1.0, "b": 1.0}),
            steps_block(0, 4, {"a": [4, 3, 2, 1], "b": [8, 6, 4, 2]}, penalty=np.ones(4)),
            ev.EpochEnd(2, 4, {}, {"a": 1.5, "b": 3.5}),
            ev.GradientCosine(4, {("a", "b"): -0.5}),
            ev.SettingChanged(4, "weight", "b", 0.25),
        ]
    )
    path = tmp_path / "curves.csv"
    run.to_csv(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["curve", "task", "step", "epoch", "wall_seconds", "value"]
    body = rows[1:]
    count = {}
    for curve, task, *_ in body:
        count[(curve, task)] = count.get((curve, task), 0) + 1
    assert count == {
        ("train_loss", "a"): 4,
        ("train_loss", "b"): 4,
        ("val_loss", "a"): 1,
        ("val_loss", "b"): 1,
        ("total", ""): 4,
        ("penalty", ""): 4,
        ("weight", "a"): 1,
        ("weight", "b"): 1,
        ("gradient_cosine", "a|b"): 1,
        ("set_weight", "b"): 1,
    }
    assert ["train_loss", "a", "3", "1.5", "1.500", "2"] in body
    assert ["gradient_cosine", "a|b", "4", "2", "2.000", "-0.5"] in body
    assert len(body) == len(list(run.rows()))


def test_to_csv_raises_oserror_for_a_missing_folder(tmp_path):
    run = RunCurves("Run 1", ["a"])
    with pytest.raises(OSError):
        run.to_csv(tmp_path / "missing" / "curves.csv")


# --- ema and Smoother -------------------------------------------------------------


def test_ema_of_a_constant_is_the_constant_from_the_first_point():
    # Bias correction: not dragged toward 0 at the start.
    np.testing.assert_allclose(ema(np.array([5.0, 5.0, 5.0]), 0.9), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(ema(np.full(3000, -2.5), 0.999), np.full(3000, -2.5))


def test_ema_starts_at_the_mean_of_the_first_values():
    out = ema(np.array([1.0, 3.0]), 0.5)
    # weights (1 - b) b and (1 - b), normalised: (0.25 * 1 + 0.5 * 3) / 0.75
    assert out[0] == 1.0 and out[1] == pytest.approx(7 / 3)


@pytest.mark.parametrize("b", [0.1, 0.5, 0.9, 0.99, 0.9999])
def test_ema_matches_a_straightforward_loop(b):
    values = np.random.default_rng(0).normal(1.0, 0.5, 5000)
    np.testing.assert_allclose(ema(values, b), reference_ema(values, b), rtol=1e-9, atol=1e-12)


def test_ema_carries_over_nan_values():
    values = np.array([np.nan, 2.0, np.nan, np.nan, 4.0, np.nan])
    out = ema(values, 0.5)
    assert np.isnan(out[0])  # nothing seen yet
    np.testing.assert_allclose(out[1:], reference_ema(values, 0.5)[1:])
    assert out[2] == out[3] == 2.0


def test_ema_with_smoothing_zero_is_a_copy():
    values = np.array([1.0, 2.0])
    out = ema(values, 0.0)
    np.testing.assert_array_equal(out, values)
    out[0] = 99
    assert values[0] == 1.0


def test_smoother_fed_in_pieces_equals_the_whole():
    values = np.random.default_rng(1).normal(size=10_000)
    smoother = Smoother()
    start = 0
    sizes = np.random.default_rng(2).integers(1, 700, 100)
    for size in sizes:
        start = min(start + int(size), len(values))
        out = smoother.of(values[:start], 0.95)
        assert len(out) == start
    np.testing.assert_allclose(smoother.of(values, 0.95), ema(values, 0.95), rtol=1e-10)


def test_smoother_computes_only_new_points_and_its_views_survive_growth():
    values = np.arange(1.0, 3001.0)
    smoother = Smoother()
    early = smoother.of(values[:10], 0.9)
    kept = early.copy()
    smoother.of(values, 0.9)  # grows its buffer well past 10
    np.testing.assert_array_equal(early, kept)
    assert smoother.n == 3000


def test_smoother_starts_over_when_smoothing_changes_or_the_series_shrinks():
    values = np.random.default_rng(3).normal(size=500)
    smoother = Smoother()
    smoother.of(values, 0.9)
    np.testing.assert_allclose(smoother.of(values, 0.5), ema(values, 0.5), rtol=1e-10)
    np.testing.assert_allclose(smoother.of(values[:100], 0.5), ema(values[:100], 0.5), rtol=1e-10)
    assert smoother.of(values, 0.0) is not None
    np.testing.assert_array_equal(smoother.of(values, 0.0), values)  # raw, not smoothed


def test_ratio_divides_by_the_first_positive_loss_and_only_new_points():
    from mtl_studio.ui.run_curves import Ratio, Series

    series = Series(4)
    ratio = Ratio(series)
    assert len(ratio) == 0 and ratio.first is None
    series.append([1, 2], [0.1, 0.2], [0.0, 4.0])
    np.testing.assert_allclose(ratio.value, [0.0, 1.0])
    view = ratio.value
    series.append([3, 4], [0.3, 0.4], [2.0, 1.0])
    np.testing.assert_allclose(ratio.value, [0.0, 1.0, 0.5, 0.25])
    np.testing.assert_array_equal(ratio.step, [1, 2, 3, 4])
    assert view.base is ratio.value.base or len(view) == 2  # a view, not a copy per call


def test_ratio_is_nan_until_a_positive_loss_comes():
    from mtl_studio.ui.run_curves import Ratio, Series

    series = Series()
    series.append([1], [0.0], [0.0])
    assert np.isnan(Ratio(series).value).all()


def test_affinity_keeps_the_latest_matrix_the_mean_and_the_count():
    run = RunCurves("r", ["a", "b"])
    run.add([started()])
    assert run.affinity_mean is None and run.affinity_count == 0 and run.affinity_last is None
    first, second = np.array([[0.1, -0.2], [0.0, 0.3]]), np.array([[0.3, 0.0], [0.2, 0.1]])
    version = run.version
    run.add([ev.Affinity(2, ["a", "b"], first)])
    assert run.version > version and run.affinity_count == 1
    first[0, 0] = 9.0  # the curves keep their own copy
    run.add([ev.Affinity(4, ["a", "b"], second)])
    assert run.affinity_count == 2 and run.affinity_step == 4
    assert run.affinity_tasks == ["a", "b"]
    np.testing.assert_allclose(run.affinity_last, second)
    np.testing.assert_allclose(run.affinity_mean, [[0.2, -0.1], [0.1, 0.2]])
