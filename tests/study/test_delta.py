"""delta-m and relative gains (mtl_studio/study/delta.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.study.delta import (
    delta_m,
    main_figure,
    main_figures,
    relative_gain,
    relative_gains,
)
from mtl_studio.training.scores import task_scores

HIGHER = {"energy": False, "kind": True}  # MAE: lower is better; accuracy: higher


def test_hand_worked_two_tasks():
    figures = {"energy": 2.0, "kind": 0.90}
    baselines = {"energy": 2.5, "kind": 0.80}
    # MAE 2.0 against 2.5: 0.5 / 2.5 = 20 % better; accuracy 0.90 against 0.80: 12.5 %.
    gains = relative_gains(figures, baselines, HIGHER)
    assert gains == pytest.approx({"energy": 20.0, "kind": 12.5})
    assert delta_m(figures, baselines, HIGHER) == pytest.approx(16.25)


def test_signs_positive_is_better_negative_is_worse():
    assert relative_gain(2.0, 2.5, higher_is_better=False) == pytest.approx(20.0)
    assert relative_gain(3.0, 2.5, higher_is_better=False) == pytest.approx(-20.0)
    assert relative_gain(0.9, 0.8, higher_is_better=True) == pytest.approx(12.5)
    assert relative_gain(0.7, 0.8, higher_is_better=True) == pytest.approx(-12.5)
    # Worse on both tasks: negative.
    assert delta_m(
        {"energy": 3.0, "kind": 0.7}, {"energy": 2.5, "kind": 0.8}, HIGHER
    ) == pytest.approx(-16.25)
    # A negative baseline (R^2 below 0) still reads "positive is better".
    assert relative_gain(-0.5, -1.0, higher_is_better=True) == pytest.approx(50.0)


def test_several_figures_are_averaged_within_the_task_first():
    # Task a: +20 % and -10 % -> +5 %; task b: +12.5 %. delta-m = 8.75, not the
    # mean of the three gains (7.5).
    figures = {"a": [2.0, 1.1], "b": 0.9}
    baselines = {"a": [2.5, 1.0], "b": 0.8}
    higher = {"a": False, "b": True}
    assert relative_gains(figures, baselines, higher) == pytest.approx({"a": 5.0, "b": 12.5})
    assert delta_m(figures, baselines, higher) == pytest.approx(8.75)
    # A direction per figure: an MAE and an accuracy for one task.
    assert relative_gains(
        {"a": (2.0, 0.9)}, {"a": (2.5, 0.8)}, {"a": [False, True]}
    ) == pytest.approx({"a": 16.25})
    # numpy values and arrays too.
    assert delta_m(
        {"a": np.array([2.0, 1.1]), "b": np.float32(0.9)}, baselines, higher
    ) == pytest.approx(8.75)


def test_a_zero_baseline_is_refused():
    with pytest.raises(ValueError, match="baseline figure of task 'kind' is 0"):
        delta_m({"energy": 2.0, "kind": 0.5}, {"energy": 2.5, "kind": 0.0}, HIGHER)


def test_a_task_missing_from_the_baselines_is_refused():
    with pytest.raises(ValueError, match="task 'kind' is missing from the baselines"):
        delta_m({"energy": 2.0, "kind": 0.9}, {"energy": 2.5}, HIGHER)
    with pytest.raises(ValueError, match="task 'kind' is missing from the higher_is_better"):
        delta_m({"energy": 2.0, "kind": 0.9}, {"energy": 2.5, "kind": 0.8}, {"energy": False})


@pytest.mark.parametrize(
    "figures, baselines, words",
    [
        ({}, {}, "at least one task"),
        ({"a": None}, {"a": 1.0}, "the figure of task 'a' is None"),
        ({"a": float("nan")}, {"a": 1.0}, "not a finite number"),
        ({"a": [1.0, 2.0]}, {"a": [1.0]}, "2 figure"),
        ({"a": 1.0}, {"a": True}, "baseline figure of task 'a' is True"),
    ],
)
def test_figures_that_give_no_gain_are_refused(figures, baselines, words):
    with pytest.raises(ValueError, match=words):
        delta_m(figures, baselines, {"a": False})


def scores(kind_loss, truth, pred, train):
    return task_scores(kind_loss, np.asarray(truth), np.asarray(pred), np.asarray(train))


def test_main_figure_of_each_kind_of_task():
    regression = scores("mse", [[1.0], [2.0], [4.0]], [[1.5], [2.0], [3.0]], [[0.0], [2.0]])
    assert main_figure(regression) == ("mae", pytest.approx(0.5), False)
    probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
    classes = scores("sparse_categorical_crossentropy", [0, 1, 1, 1], probs, [0, 1])
    assert main_figure(classes) == ("accuracy", pytest.approx(0.75), True)
    tokens = scores(
        "sparse_categorical_crossentropy",
        [[0, 1], [1, 1]],
        [[[0.9, 0.1], [0.2, 0.8]], [[0.7, 0.3], [0.1, 0.9]]],
        [[0, 1]],
    )
    assert tokens["kind"] == "sequence"
    assert main_figure(tokens) == ("token_accuracy", pytest.approx(0.75), True)
    values, higher = main_figures({"r": regression, "c": classes})
    assert values == pytest.approx({"r": 0.5, "c": 0.75})
    assert higher == {"r": False, "c": True}


def test_main_figure_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind of task 'ranking'"):
        main_figure({"kind": "ranking", "figures": {}})


positive = st.floats(min_value=1e-3, max_value=1e3)
task_figures = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(st.lists(positive, min_size=1, max_size=3), st.booleans()),
    min_size=1,
)


@given(task_figures)
def test_the_baselines_against_themselves_give_zero(tasks):
    figures = {t: values for t, (values, _) in tasks.items()}
    higher = {t: up for t, (_, up) in tasks.items()}
    assert delta_m(figures, figures, higher) == 0.0
    assert set(relative_gains(figures, figures, higher).values()) == {0.0}


@given(task_figures, st.floats(min_value=0.01, max_value=0.99))
def test_lower_errors_on_one_task_give_a_positive_gain(tasks, c):
    baselines = {t: values for t, (values, _) in tasks.items()}
    higher = {t: up for t, (_, up) in tasks.items()}
    task = sorted(tasks)[0]
    higher[task] = False  # an error: lower is better
    figures = dict(baselines)
    figures[task] = [c * v for v in baselines[task]]
    gains = relative_gains(figures, baselines, higher)
    assert gains[task] == pytest.approx((1 - c) * 100)
    assert gains[task] > 0
    assert delta_m(figures, baselines, higher) == pytest.approx((1 - c) * 100 / len(tasks))
