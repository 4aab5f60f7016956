"""Validation metrics, computed in numpy on whole predictions.

Targets come as mtl_studio.data prepares them: class ids for the sparse
loss, one-hot rows for categorical, 0/1 values for binary, numbers for
regression. Probabilities come from the model.
"""

from __future__ import annotations

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def binary_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U); NaN if one class is absent."""
    truth = truth.astype(bool).ravel()
    score = score.ravel()
    n_pos, n_neg = truth.sum(), (~truth).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(score)
    return float((r[truth].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _precision_recall(truth: np.ndarray, guess: np.ndarray, classes: int):
    """Macro averages over the classes that occur (in truth or guess)."""
    precisions, recalls = [], []
    for c in range(classes):
        t, g = truth == c, guess == c
        if not t.any() and not g.any():
            continue
        tp = np.sum(t & g)
        precisions.append(tp / g.sum() if g.any() else 0.0)
        recalls.append(tp / t.sum() if t.any() else 0.0)
    if not precisions:
        return float("nan"), float("nan")
    return float(np.mean(precisions)), float(np.mean(recalls))


def compute(metric: str, loss: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        k = y_pred.shape[-1]
        ids = (
            np.asarray(y_true).astype(np.int64)
            if loss.startswith("sparse")
            else np.argmax(y_true, axis=-1)
        )
        ids = ids.reshape(y_pred.shape[:-1])
        guess = np.argmax(y_pred, axis=-1)
        if metric == "accuracy":
            return float(np.mean(guess == ids))
        if metric in ("precision", "recall"):
            p, r = _precision_recall(ids.ravel(), guess.ravel(), k)
            return p if metric == "precision" else r
        if metric == "auc":
            aucs = [binary_auc(ids == c, y_pred[..., c]) for c in range(k)]
            aucs = [a for a in aucs if not np.isnan(a)]
            return float(np.mean(aucs)) if aucs else float("nan")
        onehot = np.eye(k)[ids]
        err = onehot - y_pred
    elif loss == "binary_crossentropy":
        truth = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape) > 0.5
        guess = y_pred > 0.5
        if metric == "accuracy":
            return float(np.mean(guess == truth))
        if metric in ("precision", "recall"):
            tp = np.sum(truth & guess)
            if metric == "precision":
                return float(tp / guess.sum()) if guess.any() else float("nan")
            return float(tp / truth.sum()) if truth.any() else float("nan")
        if metric == "auc":
            return binary_auc(truth, y_pred)
        err = truth - y_pred
    else:
        if metric in ("accuracy", "auc", "precision", "recall"):
            return float("nan")  # validation warns about these on regression
        err = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape) - y_pred
    if metric == "mae":
        return float(np.mean(np.abs(err)))
    mse = float(np.mean(err**2))
    return mse if metric == "mse" else float(np.sqrt(mse))
