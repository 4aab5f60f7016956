"""The model a user keeps: raw inputs in, each target in its own units out.

Training sees standardised numbers (data/prepare.py scales inputs, and
regression targets when asked, by the training rows' mean and std). The
saved model carries that scaling inside it as plain Keras Normalization
layers, so plain Keras loads it in safe mode, with no MTL Studio import,
and a user feeds it rows of the file as they are.
"""

from __future__ import annotations

import numpy as np

from ..data.prepare import PreparedData
from .tf_import import keras


def _scaler(stats: dict, name: str, invert: bool = False):
    """A Normalization layer with the recorded mean and std: one statistic
    per feature (the last axis) or per element of a larger example."""
    mean = np.asarray(stats["mean"], np.float64)
    std = np.asarray(stats["std"], np.float64)
    axis = -1 if mean.ndim <= 1 else tuple(range(1, mean.ndim + 1))
    return keras().layers.Normalization(
        axis=axis, mean=mean, variance=np.square(std), invert=invert, name=name
    )


def real_units_model(model, data: PreparedData, tasks: list[str], name: str):
    """`model` (standardised in and out) wrapped in the data's scaling.

    Tasks with their own data set (alternating mode) were trained on
    inputs scaled by that data set's statistics, so each data set gets its
    own scaling in front of the shared model, for its own tasks' outputs."""
    k = keras()
    raw = {}
    for tensor in model.inputs:
        input_name = tensor.name.split(":")[0]
        raw[input_name] = k.Input(
            shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=input_name
        )
    targets = data.standardization.get("targets", {})
    outputs = {}
    for index, dataset in enumerate(data.datasets):
        stats = data.standardization.get("inputs", {}).get(str(index), {})
        suffix = f"_{index}" if len(data.datasets) > 1 else ""
        scaled = {
            n: _scaler(stats[n], f"scale_{n}{suffix}")(x) if n in stats else x
            for n, x in raw.items()
        }
        out = model(scaled)
        for task in dataset.tasks:
            y = out[task]
            if task in targets:
                y = _scaler(targets[task], f"unscale_{task}", invert=True)(y)
            outputs[task] = y
    return k.Model(inputs=raw, outputs={task: outputs[task] for task in tasks}, name=name)


def to_real_units(values: np.ndarray, stats: dict | None) -> np.ndarray:
    """Standardised values back in their units (what the saved model does)."""
    if not stats:
        return values
    return values * np.asarray(stats["std"]) + np.asarray(stats["mean"])
