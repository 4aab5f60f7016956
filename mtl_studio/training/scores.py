"""Held-out scores of one task, each beside the score of a trivial predictor.

A loss curve alone cannot tell a user whether a task learned anything: a
regression that predicts the training mean, or a classifier that always
answers the most common class, already gets a fair-looking error. So every
figure here comes with the same figure for that trivial predictor.

Pure numpy (no TensorFlow, no Qt), so the window, the command line and the
tests can all call it. Targets come as mtl_studio.data.prepare makes them;
regression values are in real units (the caller undoes standardisation).
The result is JSON-ready: plain floats, ints, lists and strings, and None
where a figure cannot be computed (no examples, constant truth, NaN).
"""

from __future__ import annotations

import math

import numpy as np

REGRESSION = frozenset({"mse", "mae", "huber", "l2"})
CLASSIFICATION = frozenset(
    {"sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"}
)
# Which way is better, per figure.
LOWER_IS_BETTER = frozenset({"mae", "rmse", "log_loss"})
# Probabilities are clipped so one confident wrong answer costs a finite amount.
EPSILON = 1e-7
# Differences this small are rounding, not learning (a model that predicts the
# training mean computed in another order must not "beat" the trivial one).
REL_TOL, ABS_TOL = 1e-9, 1e-12
# format_table prints confusion matrices of at most this many classes.
SHOWN_CLASSES = 12


def task_scores(
    loss: str,
    truth: np.ndarray,
    pred: np.ndarray,
    train_truth: np.ndarray,
    labels: list | None = None,
) -> dict:
    """{"kind", "n", "figures": {name: {"model", "trivial", "better",
    "beats_trivial"}}} plus "confusion": {"labels", "matrix"} for classes."""
    truth, pred, train_truth = np.asarray(truth), np.asarray(pred), np.asarray(train_truth)
    n = len(truth)
    if len(pred) != n:
        raise ValueError(f"{len(pred)} predictions for {n} targets")
    if loss in REGRESSION:
        return _regression(truth, pred, train_truth)
    if loss == "binary_crossentropy":
        return _binary(truth, pred, train_truth, labels)
    if loss in CLASSIFICATION:
        return _categorical(loss, truth, pred, train_truth, labels)
    raise ValueError(f"unknown loss {loss!r}")


# --- helpers -------------------------------------------------------------------


def _number(x) -> float | None:
    """A plain float, or None for NaN, infinity or nothing."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _mean(values: list) -> float | None:
    """Mean of the figures that exist."""
    values = [v for v in values if v is not None]
    return _number(np.mean(values)) if values else None


def _figure(name: str, model, trivial) -> dict:
    model, trivial = _number(model), _number(trivial)
    better = "lower" if name in LOWER_IS_BETTER else "higher"
    if model is None or trivial is None:
        beats = None
    elif math.isclose(model, trivial, rel_tol=REL_TOL, abs_tol=ABS_TOL):
        beats = False
    else:
        beats = model < trivial if better == "lower" else model > trivial
    return {"model": model, "trivial": trivial, "better": better, "beats_trivial": beats}


def _table(a: np.ndarray, columns: int, what: str) -> np.ndarray:
    """(n, columns) float64; extra size-1 axes are fine, other shapes are not.
    Sizes come from the arguments, not -1, so n == 0 works too."""
    if a.size != len(a) * columns:
        raise ValueError(f"{what} of shape {a.shape} does not give {columns} values per example")
    return a.reshape(len(a), columns).astype(np.float64)


def _per_example(a: np.ndarray) -> int:
    return int(np.prod(a.shape[1:], dtype=np.int64))


# --- regression ----------------------------------------------------------------


def _regression_figures(truth: np.ndarray, pred: np.ndarray) -> dict:
    """truth, pred: (n, columns) float64."""
    if truth.size == 0:
        return {"mae": None, "rmse": None, "r2": None}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        err = truth - pred
        sse = np.sum(err**2, axis=0)
        # Constant truth has no variance to explain; test with max == min since
        # the mean of equal floats can differ from them in the last bit.
        varies = np.ptp(truth, axis=0) > 0
        sst = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
        r2 = [_number(1.0 - e / s) if v else None for e, s, v in zip(sse, sst, varies)]
        return {"mae": np.mean(np.abs(err)), "rmse": np.sqrt(np.mean(err**2)), "r2": _mean(r2)}


def _regression(truth, pred, train_truth) -> dict:
    columns = _per_example(truth)
    truth = _table(truth, columns, "the truth")
    pred = _table(pred, columns, "the prediction")
    train = _table(train_truth, columns, "the training truth")
    model = _regression_figures(truth, pred)
    if len(train):
        trivial = _regression_figures(truth, np.broadcast_to(train.mean(axis=0), truth.shape))
    else:
        trivial = dict.fromkeys(model)
    return {
        "kind": "regression",
        "n": len(truth),
        "figures": {k: _figure(k, model[k], trivial[k]) for k in model},
    }


# --- classification ------------------------------------------------------------


def _confusion(truth_ids: np.ndarray, guess_ids: np.ndarray, k: int) -> np.ndarray:
    """k x k counts, rows = true class, columns = predicted class."""
    flat = truth_ids.ravel().astype(np.int64) * k + guess_ids.ravel().astype(np.int64)
    return np.bincount(flat, minlength=k * k).reshape(k, k)


def _macro_f1(matrix: np.ndarray) -> float | None:
    """Mean F1 over the classes that occur in truth or prediction."""
    tp = np.diag(matrix).astype(np.float64)
    true, guessed = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (true + guessed) > 0
    if not present.any():
        return None
    # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (true + guessed); > 0 where present.
    return _number(np.mean(2 * tp[present] / (true + guessed)[present]))


def _log_loss(p_true: np.ndarray) -> float | None:
    if p_true.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        return _number(-np.mean(np.log(np.clip(p_true, EPSILON, 1 - EPSILON))))


def _class_figures(ids: np.ndarray, probs: np.ndarray, sequence: bool) -> tuple[dict, np.ndarray]:
    """ids (n, T) class ids, probs (n, T, K); the figures and the confusion."""
    k = probs.shape[-1]
    guess = np.argmax(probs, axis=-1)
    right = guess == ids
    matrix = _confusion(ids, guess, k)
    p_true = np.take_along_axis(probs, ids[..., None], axis=-1)
    figures = {}
    if sequence:
        figures["token_accuracy"] = np.mean(right) if right.size else None
    # For sequences "accuracy" is the whole sequence right (exact match).
    figures["accuracy"] = np.mean(np.all(right, axis=1)) if len(ids) else None
    figures["macro_f1"] = _macro_f1(matrix)
    figures["log_loss"] = _log_loss(p_true)
    return figures, matrix


def _ids(loss: str, truth: np.ndarray, k: int, what: str) -> np.ndarray:
    """Class ids (n, T) from class ids or one-hot rows."""
    if loss == "categorical_crossentropy":
        if truth.shape[-1:] != (k,):
            raise ValueError(f"{what} of shape {truth.shape} is not one-hot rows of {k} classes")
        truth = np.argmax(truth, axis=-1)
    ids = np.rint(truth).astype(np.int64).reshape(len(truth), _per_example(truth))
    if ids.size and (ids.min() < 0 or ids.max() >= k):
        raise ValueError(f"{what} holds class ids outside 0..{k - 1}")
    return ids


def _labels(labels: list | None, k: int) -> list[str]:
    labels = list(labels or [])
    return [str(labels[i]) if i < len(labels) else str(i) for i in range(k)]


def _categorical(loss, truth, pred, train_truth, labels) -> dict:
    k = pred.shape[-1]
    ids = _ids(loss, truth, k, "the truth")
    n, steps = ids.shape
    if pred.size != n * steps * k:
        raise ValueError(
            f"prediction of shape {pred.shape} does not give {steps} rows of "
            f"{k} probabilities per example"
        )
    probs = pred.reshape(n, steps, k).astype(np.float64)
    sequence = steps > 1
    model, matrix = _class_figures(ids, probs, sequence)
    # The trivial predictor: the training split's class (token) frequencies,
    # whose argmax is the majority class and whose log loss is that of the prior.
    train = _ids(loss, train_truth, k, "the training truth")
    if train.size:
        freq = np.bincount(train.ravel(), minlength=k) / train.size
        trivial, _ = _class_figures(ids, np.broadcast_to(freq, probs.shape), sequence)
    else:
        trivial = dict.fromkeys(model)
    return {
        "kind": "sequence" if sequence else "classification",
        "n": n,
        "figures": {name: _figure(name, model[name], trivial[name]) for name in model},
        "confusion": {"labels": _labels(labels, k), "matrix": matrix.tolist()},
    }


def _binary_figures(truth: np.ndarray, probs: np.ndarray) -> tuple[dict, np.ndarray]:
    """truth (n, k) bool, probs (n, k): each column is a 0/1 classification;
    figures are averaged over columns, the 2 x 2 confusion is pooled."""
    guess = probs > 0.5
    matrix = _confusion(truth, guess, 2)
    if truth.size == 0:
        return {"accuracy": None, "macro_f1": None, "log_loss": None}, matrix
    p_true = np.where(truth, probs, 1 - probs)
    columns = range(truth.shape[1])
    return {
        "accuracy": np.mean(truth == guess),  # equal columns, so mean of means
        "macro_f1": _mean([_macro_f1(_confusion(truth[:, c], guess[:, c], 2)) for c in columns]),
        "log_loss": _mean([_log_loss(p_true[:, c]) for c in columns]),
    }, matrix


def _binary(truth, pred, train_truth, labels) -> dict:
    columns = _per_example(truth)
    truth = _table(truth, columns, "the truth") > 0.5
    probs = _table(pred, columns, "the prediction")
    train = _table(train_truth, columns, "the training truth") > 0.5
    model, matrix = _binary_figures(truth, probs)
    if len(train):
        # Per column the training frequency of 1: above one half it predicts 1.
        freq = train.mean(axis=0)
        trivial, _ = _binary_figures(truth, np.broadcast_to(freq, probs.shape))
    else:
        trivial = dict.fromkeys(model)
    return {
        "kind": "classification",
        "n": len(truth),
        "figures": {name: _figure(name, model[name], trivial[name]) for name in model},
        "confusion": {"labels": _labels(labels, 2), "matrix": matrix.tolist()},
    }


# --- reporting -----------------------------------------------------------------


def _text(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _confusion_lines(confusion: dict) -> list[str]:
    """The matrix with labels; past SHOWN_CLASSES classes, the busiest ones."""
    labels, matrix = confusion["labels"], np.asarray(confusion["matrix"], dtype=np.int64)
    k = len(labels)
    shown = list(range(k))
    if k > SHOWN_CLASSES:
        busy = matrix.sum(axis=0) + matrix.sum(axis=1)
        shown = sorted(np.argsort(-busy, kind="stable")[:SHOWN_CLASSES].tolist())
    names = [labels[i][:12] for i in shown]
    cells = [[str(matrix[i, j]) for j in shown] for i in shown]
    width = max(len(s) for s in names + [c for row in cells for c in row] + ["true"])
    lines = [
        "  confusion (rows: true class, columns: predicted class)",
        "    " + " " * width + " " + " ".join(s.rjust(width) for s in names),
    ]
    for name, row in zip(names, cells):
        lines.append("    " + name.rjust(width) + " " + " ".join(c.rjust(width) for c in row))
    if k > SHOWN_CLASSES:
        lines.append(f"    ({k - SHOWN_CLASSES} of {k} classes left out: the least frequent)")
    return lines


def format_table(scores: dict[str, dict]) -> str:
    """Plain text for a terminal: task, figure, model, trivial, and a mark
    where the model does worse than (or only as well as) the trivial one."""
    rows = [["task", "figure", "model", "trivial", ""]]
    blocks = []  # per task: (its rows, its confusion lines)
    for task, s in scores.items():
        task_rows = [
            [
                task,
                name,
                _text(f["model"]),
                _text(f["trivial"]),
                "not better than trivial" if f["beats_trivial"] is False else "",
            ]
            for name, f in s["figures"].items()
        ]
        rows += task_rows
        blocks.append((task_rows, _confusion_lines(s["confusion"]) if "confusion" in s else []))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]

    def line(r):
        return "  ".join(
            [
                r[0].ljust(widths[0]),
                r[1].ljust(widths[1]),
                r[2].rjust(widths[2]),
                r[3].rjust(widths[3]),
                r[4],
            ]
        ).rstrip()

    out = [line(rows[0])]
    for task_rows, confusion in blocks:
        out += [line(r) for r in task_rows] + confusion
    return "\n".join(out) + "\n"


def rows_for_csv(scores: dict[str, dict]) -> list[list]:
    """Header, then one row per task and figure; None stays None (csv writes "")."""
    rows = [["task", "figure", "model", "trivial", "beats_trivial"]]
    for task, s in scores.items():
        for name, f in s["figures"].items():
            rows.append([task, name, f["model"], f["trivial"], f["beats_trivial"]])
    return rows
