"""Task losses, by the names the project uses.

Keras' own loss objects where Keras has one, so a joint run matches
model.fit exactly; "l2" is half the sum of squares over the batch, as
tf.nn.l2_loss in the classic TensorFlow multi-task tutorial.
"""

from __future__ import annotations

from .tf_import import keras, tf


def _l2(y_true, y_pred):
    t = tf()
    return t.reduce_sum(t.square(t.cast(y_true, y_pred.dtype) - y_pred)) / 2.0


def loss_function(name: str):
    """A callable (y_true, y_pred) -> scalar loss of one batch."""
    k = keras()
    table = {
        "mse": k.losses.MeanSquaredError,
        "mae": k.losses.MeanAbsoluteError,
        "huber": k.losses.Huber,
        "binary_crossentropy": k.losses.BinaryCrossentropy,
        "categorical_crossentropy": k.losses.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": k.losses.SparseCategoricalCrossentropy,
    }
    if name == "l2":
        return _l2
    return table[name]()


def batch_sum_loss(name: str) -> bool:
    """True for losses that sum over the batch instead of averaging, whose
    validation value is therefore scaled to one training batch."""
    return name == "l2"
