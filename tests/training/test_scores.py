"""Held-out scores beside a trivial predictor (mtl_studio/training/scores.py)."""

import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mtl_studio.training.scores import format_table, rows_for_csv, task_scores

SPARSE, CATEGORICAL, BINARY = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
)


def figures(scores):
    return {name: f["model"] for name, f in scores["figures"].items()}


def trivial(scores):
    return {name: f["trivial"] for name, f in scores["figures"].items()}


def beats(scores):
    return {name: f["beats_trivial"] for name, f in scores["figures"].items()}


def test_imports_without_qt_or_tensorflow():
    heavy = ("PySide6", "tensorflow", "keras", "pyqtgraph")
    code = (
        "import sys, mtl_studio.training.scores\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- regression ----------------------------------------------------------------


def test_regression_perfect_predictor():
    truth = np.array([1.0, 2.0, 4.0, 7.0])
    s = task_scores("mse", truth, truth[:, None], np.array([0.0, 10.0]))
    assert s["kind"] == "regression" and s["n"] == 4
    assert figures(s) == {"mae": 0.0, "rmse": 0.0, "r2": 1.0}
    # The training mean 5 against truth mean 3.5: MAE mean(|-4,-3,-1,2|) = 2.5.
    assert trivial(s)["mae"] == pytest.approx(2.5)
    assert trivial(s)["rmse"] == pytest.approx(math.sqrt((16 + 9 + 1 + 4) / 4))
    # SST = 2.5^2 + 1.5^2 + 0.5^2 + 3.5^2 = 21; SSE of the mean 5 = 30.
    assert trivial(s)["r2"] == pytest.approx(1 - 30 / 21)
    assert beats(s) == {"mae": True, "rmse": True, "r2": True}
    assert {f["better"] for f in s["figures"].values()} == {"lower", "higher"}
    assert s["figures"]["r2"]["better"] == "higher"
    assert s["figures"]["mae"]["better"] == s["figures"]["rmse"]["better"] == "lower"


def test_regression_hand_values():
    truth = np.array([0.0, 2.0])
    s = task_scores("mae", truth, np.array([1.0, 1.0]), truth)
    # Predicting the mean: MAE 1, RMSE 1, R^2 0 -- exactly the trivial predictor.
    assert figures(s) == {"mae": 1.0, "rmse": 1.0, "r2": 0.0}
    assert trivial(s) == figures(s)
    assert beats(s) == {"mae": False, "rmse": False, "r2": False}


def test_trivial_r2_is_exactly_zero_on_the_training_data():
    rng = np.random.default_rng(0)
    truth = rng.normal(3.0, 2.0, size=(50, 3)).astype(np.float32)
    s = task_scores("huber", truth, truth + 0.1, truth)
    assert s["figures"]["r2"]["trivial"] == 0.0
    assert s["figures"]["r2"]["beats_trivial"] is True


def test_regression_r2_is_the_mean_over_columns_and_constant_columns_have_none():
    truth = np.array([[0.0, 5.0, 1.0], [2.0, 5.0, 3.0]])
    pred = np.array([[0.0, 4.0, 2.0], [2.0, 6.0, 2.0]])
    s = task_scores("l2", truth, pred, truth)
    # Column 0 perfect (1), column 1 constant (None), column 2: 1 - 2 / 2 = 0.
    assert s["figures"]["r2"]["model"] == pytest.approx(0.5)
    only_constant = task_scores("mse", np.full(3, 0.1), np.zeros(3), np.ones(4))
    assert only_constant["figures"]["r2"] == {
        "model": None,
        "trivial": None,
        "better": "higher",
        "beats_trivial": None,
    }
    assert only_constant["figures"]["mae"]["model"] == pytest.approx(0.1)


def test_regression_worse_than_trivial():
    truth = np.array([1.0, 2.0, 3.0])
    s = task_scores("mse", truth, np.array([10.0, -5.0, 7.0]), truth)
    assert beats(s) == {"mae": False, "rmse": False, "r2": False}
    assert figures(s)["r2"] < 0


def test_regression_shapes_with_extra_size_one_axes():
    truth = np.arange(6.0).reshape(3, 2)
    a = task_scores("mse", truth, truth[:, :, None] + 1, truth[:, :, None])
    b = task_scores("mse", truth[:, None, :], truth + 1, truth)
    assert a["figures"] == b["figures"]
    with pytest.raises(ValueError):
        task_scores("mse", truth, np.zeros((3, 3)), truth)


def test_non_finite_predictions_give_none():
    truth = np.array([1.0, 2.0])
    s = task_scores("mse", truth, np.array([np.nan, 1.0]), truth)
    assert figures(s) == {"mae": None, "rmse": None, "r2": None}
    assert set(beats(s).values()) == {None}
    json.dumps(s, allow_nan=False)
    c = task_scores(SPARSE, np.array([0, 1]), np.array([[np.nan, 0.5], [0.5, 0.5]]), np.array([0]))
    assert c["figures"]["log_loss"]["model"] is None
    json.dumps(c, allow_nan=False)


@pytest.mark.parametrize(
    "loss, truth, pred",
    [
        ("mse", np.zeros((0,)), np.zeros((0, 1))),
        (SPARSE, np.zeros((0,), np.int32), np.zeros((0, 3))),
        (SPARSE, np.zeros((0, 4), np.int32), np.zeros((0, 4, 3))),
        (CATEGORICAL, np.zeros((0, 3)), np.zeros((0, 3))),
        (BINARY, np.zeros((0, 2)), np.zeros((0, 2))),
    ],
)
def test_no_examples_gives_none(loss, truth, pred):
    train = np.zeros((0,) + truth.shape[1:], truth.dtype)
    s = task_scores(loss, truth, pred, train)
    assert s["n"] == 0
    for f in s["figures"].values():
        assert f["model"] is None and f["trivial"] is None and f["beats_trivial"] is None
    if "confusion" in s:
        assert np.sum(s["confusion"]["matrix"]) == 0
    json.dumps(s, allow_nan=False)


def test_empty_training_split_gives_no_trivial_figures():
    s = task_scores("mse", np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.zeros((0,)))
    assert figures(s)["mae"] == 0.0
    assert set(trivial(s).values()) == {None}
    c = task_scores(SPARSE, np.array([0, 1]), np.eye(2), np.zeros((0,), np.int32))
    assert set(trivial(c).values()) == {None}


# --- classification ------------------------------------------------------------


def test_classification_known_confusion():
    truth = np.array([0, 1, 2, 1])
    pred = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]])
    s = task_scores(SPARSE, truth, pred, np.array([1, 1, 0, 2]), labels=["a", "b", 7])
    assert s["kind"] == "classification" and s["n"] == 4
    assert s["confusion"] == {
        "labels": ["a", "b", "7"],
        "matrix": [[1, 0, 0], [1, 1, 0], [0, 0, 1]],
    }
    assert figures(s)["accuracy"] == 0.75
    # F1: class 0 = 2/3, class 1 = 2/3, class 2 = 1.
    assert figures(s)["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert figures(s)["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.8, 0.4])))
    # Trivial: training majority 1, probabilities = training frequencies.
    assert trivial(s)["accuracy"] == 0.5
    # All three classes occur in truth: F1 0, 2/3 (2 TP / (2 true + 4 guessed)), 0.
    assert trivial(s)["macro_f1"] == pytest.approx((0 + 2 / 3 + 0) / 3)
    assert trivial(s)["log_loss"] == pytest.approx(-np.mean(np.log([0.25, 0.5, 0.25, 0.5])))
    assert beats(s) == {"accuracy": True, "macro_f1": True, "log_loss": True}
    assert s["figures"]["log_loss"]["better"] == "lower"
    assert s["figures"]["accuracy"]["better"] == s["figures"]["macro_f1"]["better"] == "higher"


def test_classification_perfect_and_uniform():
    truth = np.array([0, 1, 2, 3, 1])
    perfect = task_scores(SPARSE, truth, np.eye(4)[truth], truth)
    assert figures(perfect)["accuracy"] == 1.0
    assert figures(perfect)["macro_f1"] == 1.0
    assert figures(perfect)["log_loss"] == pytest.approx(0.0, abs=1e-6)
    uniform = task_scores(SPARSE, truth, np.full((5, 4), 0.25), truth)
    assert figures(uniform)["log_loss"] == pytest.approx(math.log(4))


def test_categorical_matches_sparse_and_labels_default_to_numbers():
    truth = np.array([2, 0, 1, 1])
    pred = np.random.default_rng(1).dirichlet(np.ones(3), size=4)
    sparse = task_scores(SPARSE, truth, pred, truth)
    onehot = task_scores(CATEGORICAL, np.eye(3, dtype=np.float32)[truth], pred, np.eye(3)[truth])
    assert sparse == onehot
    assert onehot["confusion"]["labels"] == ["0", "1", "2"]


def test_confusion_covers_every_class_of_the_output():
    s = task_scores(SPARSE, np.array([0, 0]), np.array([[0.9, 0.1, 0, 0]] * 2), np.array([0]))
    assert np.shape(s["confusion"]["matrix"]) == (4, 4)
    assert figures(s)["macro_f1"] == 1.0  # only class 0 occurs


def test_worse_than_trivial_classifier():
    truth = np.array([0, 0, 0, 1])
    s = task_scores(SPARSE, truth, np.array([[0.1, 0.9]] * 4), np.array([0, 0, 1]))
    assert trivial(s)["accuracy"] == 0.75 and figures(s)["accuracy"] == 0.25
    assert beats(s)["accuracy"] is False and beats(s)["log_loss"] is False


def test_class_ids_out_of_range_are_an_error():
    with pytest.raises(ValueError):
        task_scores(SPARSE, np.array([0, 3]), np.eye(3)[[0, 1]], np.array([0]))


# --- sequences -----------------------------------------------------------------


def test_sequence_token_and_whole_sequence_accuracy():
    truth = np.array([[0, 1, 1], [2, 1, 1]])
    guess = np.array([[0, 1, 1], [2, 1, 0]])
    s = task_scores(SPARSE, truth, np.eye(3)[guess], np.array([[1, 1, 1], [0, 1, 2]]))
    assert s["kind"] == "sequence" and s["n"] == 2
    assert list(s["figures"]) == ["token_accuracy", "accuracy", "macro_f1", "log_loss"]
    assert figures(s)["token_accuracy"] == pytest.approx(5 / 6)
    assert figures(s)["accuracy"] == 0.5
    assert s["confusion"]["matrix"] == [[1, 0, 0], [1, 3, 0], [0, 0, 1]]
    # Trivial: the majority token 1 everywhere: 4 of 6 tokens, no whole sequence.
    assert trivial(s)["token_accuracy"] == pytest.approx(4 / 6)
    assert trivial(s)["accuracy"] == 0.0
    assert beats(s)["token_accuracy"] is True and beats(s)["accuracy"] is True


# --- binary --------------------------------------------------------------------


def test_binary_single_column():
    truth = np.array([[0.0], [1.0], [1.0], [0.0]])
    pred = np.array([0.2, 0.9, 0.4, 0.6])  # (n,) against (n, 1): fine
    s = task_scores(BINARY, truth, pred, np.array([[1.0], [1.0], [0.0]]), labels=["no", "yes"])
    assert s["kind"] == "classification"
    assert s["confusion"] == {"labels": ["no", "yes"], "matrix": [[1, 1], [1, 1]]}
    assert figures(s)["accuracy"] == 0.5
    assert figures(s)["macro_f1"] == pytest.approx(0.5)
    assert figures(s)["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.9, 0.4, 0.4])))
    # Trivial: training frequency of 1 is 2/3, so it always says 1.
    assert trivial(s)["accuracy"] == 0.5
    assert trivial(s)["log_loss"] == pytest.approx(-np.mean(np.log([1 / 3, 2 / 3] * 2)))


def test_binary_columns_are_averaged_and_the_confusion_pooled():
    truth = np.array([[0, 1], [1, 1], [0, 0]], dtype=np.float32)
    pred = np.array([[0.2, 0.9], [0.4, 0.6], [0.1, 0.3]])
    s = task_scores(BINARY, truth, pred, np.array([[0, 1], [1, 1.0]]))
    assert s["confusion"]["matrix"] == [[3, 0], [1, 2]]
    assert figures(s)["accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    # Column 0: F1(0) = 2*2/(2+3) = .8, F1(1) = 0 (missed) -> .4; column 1 perfect.
    assert figures(s)["macro_f1"] == pytest.approx((0.4 + 1.0) / 2)
    perfect = task_scores(BINARY, truth, truth, truth)
    assert figures(perfect)["accuracy"] == 1.0 and figures(perfect)["macro_f1"] == 1.0


# --- properties ----------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def regression_case(draw):
    n = draw(st.integers(0, 12))
    m = draw(st.integers(1, 12))
    shape = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))
    truth = draw(hnp.arrays(np.float64, (n,) + shape, elements=finite))
    pred = draw(hnp.arrays(np.float64, (n,) + shape, elements=finite))
    train = draw(hnp.arrays(np.float64, (m,) + shape, elements=finite))
    return truth, pred, train


@st.composite
def classification_case(draw):
    loss = draw(st.sampled_from([SPARSE, CATEGORICAL, BINARY]))
    n = draw(st.integers(0, 12))
    m = draw(st.integers(1, 12))
    k = draw(st.integers(1, 5))
    probability = st.floats(0, 1, allow_nan=False)
    if loss == BINARY:
        truth = draw(hnp.arrays(np.float64, (n, k), elements=st.sampled_from([0.0, 1.0])))
        train = draw(hnp.arrays(np.float64, (m, k), elements=st.sampled_from([0.0, 1.0])))
        pred = draw(hnp.arrays(np.float64, (n, k), elements=probability))
        return loss, truth, pred, train, n * k
    steps = draw(st.sampled_from([(), (1,), (4,)])) if loss == SPARSE else ()
    ids = draw(hnp.arrays(np.int32, (n,) + steps, elements=st.integers(0, k - 1)))
    train = draw(hnp.arrays(np.int32, (m,) + steps, elements=st.integers(0, k - 1)))
    pred = draw(hnp.arrays(np.float64, (n,) + steps + (k,), elements=probability))
    if loss == CATEGORICAL:
        ids, train = np.eye(k)[ids], np.eye(k)[train]
    return loss, ids, pred, train, n * max(1, int(np.prod(steps)))


def trivial_prediction(loss, pred, train):
    """The trivial predictor's output, computed here apart from the module:
    the training class (or per-column 1) frequencies, for every example."""
    k = pred.shape[-1]
    if loss == BINARY:
        freq = train.mean(axis=0)
    elif loss == CATEGORICAL:
        freq = train.reshape(-1, k).mean(axis=0)
    else:
        freq = np.bincount(train.ravel(), minlength=k) / train.size
    return np.broadcast_to(freq, pred.shape)


def check_json_ready(s):
    text = json.dumps(s, allow_nan=False)
    assert json.loads(text) == s
    for f in s["figures"].values():
        assert f["beats_trivial"] in (True, False, None)
        if f["model"] is None or f["trivial"] is None:
            assert f["beats_trivial"] is None


@settings(max_examples=150, deadline=None)
@given(regression_case())
def test_regression_properties(case):
    truth, pred, train = case
    s = task_scores("mse", truth, pred, train)
    check_json_ready(s)
    assert s["n"] == len(truth)
    if s["figures"]["mae"]["model"] is not None:
        assert s["figures"]["mae"]["model"] >= 0
        assert s["figures"]["rmse"]["model"] >= s["figures"]["mae"]["model"] - 1e-9
    r2 = s["figures"]["r2"]["model"]
    assert r2 is None or r2 <= 1.0
    same = task_scores("mse", truth, np.broadcast_to(train.mean(axis=0), truth.shape), train)
    assert not any(beats(same).values())


@settings(max_examples=200, deadline=None)
@given(classification_case())
def test_classification_properties(case):
    loss, truth, pred, train, tokens = case
    s = task_scores(loss, truth, pred, train)
    check_json_ready(s)
    matrix = np.asarray(s["confusion"]["matrix"])
    assert matrix.sum() == tokens
    k = 2 if loss == BINARY else pred.shape[-1]
    assert matrix.shape == (k, k) and len(s["confusion"]["labels"]) == k
    for name in ("accuracy", "token_accuracy", "macro_f1"):
        f = s["figures"].get(name, {})
        for value in (f.get("model"), f.get("trivial")):
            assert value is None or 0.0 <= value <= 1.0
    log_loss = s["figures"]["log_loss"]["model"]
    assert log_loss is None or 0.0 <= log_loss <= -math.log(1e-7) + 1e-9
    # A model that predicts exactly what the trivial predictor predicts never beats it.
    same = trivial_prediction(loss, pred, train)
    assert not any(beats(task_scores(loss, truth, same, train)).values())


# --- reporting -----------------------------------------------------------------


def some_scores():
    truth = np.array([1.0, 2.0, 3.0])
    return {
        "price": task_scores("mse", truth, np.array([1.1, 2.0, 2.9]), truth),
        "kind": task_scores(
            SPARSE,
            np.array([0, 0, 1]),
            np.array([[0.1, 0.9]] * 3),
            np.array([0, 0, 1]),
            labels=["cat", "dog"],
        ),
    }


def test_format_table():
    text = format_table(some_scores())
    lines = text.splitlines()
    assert lines[0].split() == ["task", "figure", "model", "trivial"]
    price_mae = next(line for line in lines if line.startswith("price") and "mae" in line)
    assert price_mae.split()[2:] == ["0.06667", "0.6667"]  # 4 significant digits
    assert "trivial" not in price_mae.split("0.6667")[1]
    kind_acc = next(line for line in lines if line.startswith("kind") and "accuracy" in line)
    assert "not better than trivial" in kind_acc
    assert "cat" in text and "dog" in text
    # The confusion matrix comes right under the task's figures.
    at = lines.index(next(line for line in lines if "confusion" in line))
    assert lines[at - 1].startswith("kind")
    assert lines[at + 2].split() == ["cat", "0", "2"]


def test_format_table_truncates_many_classes():
    k = 20
    truth = np.arange(40) % k
    s = task_scores(SPARSE, truth, np.eye(k)[truth], truth)
    text = format_table({"many": s})
    assert "8 of 20 classes left out" in text
    matrix_rows = [
        line
        for line in text.splitlines()
        if line.startswith("    ") and not line.strip().startswith("(")
    ]
    assert len(matrix_rows) == 1 + 12  # header of labels and 12 classes


def test_format_table_shows_missing_figures():
    s = task_scores("mse", np.zeros(0), np.zeros(0), np.zeros(0))
    assert "-" in format_table({"empty": s})


def test_rows_for_csv():
    rows = rows_for_csv(some_scores())
    assert rows[0] == ["task", "figure", "model", "trivial", "beats_trivial"]
    assert [r[:2] for r in rows[1:]] == [
        ["price", "mae"],
        ["price", "rmse"],
        ["price", "r2"],
        ["kind", "accuracy"],
        ["kind", "macro_f1"],
        ["kind", "log_loss"],
    ]
    assert rows[1][4] is True and rows[4][4] is False
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    assert out.getvalue().splitlines()[0] == "task,figure,model,trivial,beats_trivial"
