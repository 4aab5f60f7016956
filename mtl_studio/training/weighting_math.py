"""The numeric rules of the weighting strategies, as plain functions.

weighting.py's strategies call these inside the compiled training step, and
an exported training script (export/script.py) carries a verbatim copy of
each one it needs, so the two cannot drift apart. Hence the rules for this
module: each function uses only numpy (`np`), TensorFlow (`tf`) and the
standard library, never MTL Studio, and reads as part of a standalone
script.

`tf` here stands for TensorFlow imported at first use (tf_import), so that
importing this module stays light; in a script it is the real module.
"""

from __future__ import annotations

import numpy as np

from . import tf_import


class _TensorFlow:
    """The tensorflow module, imported (quietly) on first attribute access."""

    def __getattr__(self, name: str):
        return getattr(tf_import.tf(), name)


tf = _TensorFlow()


def dwa_weights(last, before, temperature):
    """Dynamic weight average (Liu et al. 2019): the task weights after an
    epoch, w_k = K exp(r_k / T) / sum_i exp(r_i / T), from each task's rate
    of loss change r_k = L_k(t-1) / L_k(t-2) (the last two epochs' mean
    losses) and the temperature T."""
    r = np.asarray(last, np.float64) / np.maximum(np.asarray(before, np.float64), 1e-12)
    e = np.exp((r - r.max()) / temperature)  # shifted: the same weights, no overflow
    return (len(r) * e / e.sum()).astype(np.float32)


def flatten(grads, variables):
    """The gradients of `variables` as one vector (zeros where a variable
    has none)."""
    return tf.concat(
        [
            tf.reshape(g if g is not None else tf.zeros_like(v), [-1])
            for g, v in zip(grads, variables)
        ],
        axis=0,
    )


def unflatten(vector, variables):
    """One vector back into tensors shaped like `variables`: flatten()'s inverse."""
    out, start = [], 0
    for v in variables:
        size = int(np.prod(v.shape))
        out.append(tf.reshape(vector[start : start + size], v.shape))
        start += size
    return out


def pcgrad_project(flat, step, seed):
    """PCGrad (Yu et al. 2020). flat: [K, P], one gradient per task. Each
    task's gradient loses its component along any other task's gradient it
    conflicts with (a negative dot product), visiting the others in a
    random order drawn from (seed, step). Returns [K, P]."""
    k = flat.shape[0]
    out = []
    for i in range(k):
        g = flat[i]
        # A random order as the argsort of random numbers: unlike a shuffle
        # op, XLA can compile it.
        order = tf.argsort(
            tf.random.stateless_uniform(
                [k], seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64) * k + i])
            )
        )
        for n in range(k):
            j = order[n]
            other = tf.gather(flat, j)
            dot = tf.reduce_sum(g * other)
            conflict = tf.logical_and(tf.not_equal(j, i), dot < 0)
            g = tf.where(conflict, g - dot / (tf.reduce_sum(other * other) + 1e-20) * other, g)
        out.append(g)
    return tf.stack(out)


def min_norm_coefficients(flat, iterations=250):
    """MGDA's min-norm solver (Sener and Koltun 2018). flat: [K, P], one
    gradient per task. Returns the alpha on the simplex (alpha_k >= 0, sum 1)
    that minimises |sum_k alpha_k g_k|^2: in closed form for two tasks, by
    Frank-Wolfe with exact line search for more."""
    k = flat.shape[0]
    if k == 1:
        return tf.ones([1])
    gram = tf.matmul(flat, flat, transpose_b=True)
    if k == 2:
        g11, g12, g22 = gram[0, 0], gram[0, 1], gram[1, 1]
        denom = g11 - 2 * g12 + g22
        a = tf.where(denom > 1e-20, (g22 - g12) / tf.maximum(denom, 1e-20), 0.5)
        a = tf.clip_by_value(a, 0.0, 1.0)
        return tf.stack([a, 1.0 - a])

    def frank_wolfe_step(i, alpha):
        grad = tf.linalg.matvec(gram, alpha)
        d = tf.one_hot(tf.argmin(grad), k) - alpha
        gd = tf.tensordot(d, tf.linalg.matvec(gram, d), 1)
        step = tf.where(gd > 1e-20, -tf.tensordot(d, grad, 1) / tf.maximum(gd, 1e-20), 0.0)
        return i + 1, alpha + tf.clip_by_value(step, 0.0, 1.0) * d

    _, alpha = tf.while_loop(
        lambda i, a: i < iterations, frank_wolfe_step, (tf.constant(0), tf.fill([k], 1.0 / k))
    )
    return alpha
