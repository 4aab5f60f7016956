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


def uniform_draws(n, step, seed):
    """n numbers in (0, 1) drawn from (seed, step): an integer hash of
    (seed, step, index), two rounds of C. Wellons' "lowbias32" mixer with
    multipliers below 2**31, in int64 so that no product overflows.
    TensorFlow's own stateless random ops give other numbers under XLA than
    without it, and a step runs either way (XLA on one device, TensorFlow's
    kernels under tf.distribute): integer arithmetic is the same in both."""
    mask = tf.constant(0xFFFFFFFF, tf.int64)
    x = (
        ((tf.cast(seed, tf.int64) & mask) * 0x45D9F3B & mask)
        + ((tf.cast(step, tf.int64) & mask) * 0x119DE1F3 & mask)
        + (tf.range(n, dtype=tf.int64) * 0x3243F6A9 & mask)
    ) & mask
    for _ in range(2):
        x = x ^ tf.bitwise.right_shift(x, tf.constant(16, tf.int64))
        x = (x * 0x7FEB352D) & mask
        x = x ^ tf.bitwise.right_shift(x, tf.constant(15, tf.int64))
        x = (x * 0x2C1B3C6D) & mask
        x = x ^ tf.bitwise.right_shift(x, tf.constant(16, tf.int64))
    # The top 24 bits, centred in their interval: never 0, never 1.
    top = tf.cast(tf.bitwise.right_shift(x, tf.constant(8, tf.int64)), tf.float32)
    return (top + 0.5) / 16777216.0


def task_order(k, i, step, seed):
    """A random order of the K tasks, the one task i visits the others in at
    a step (PCGrad, GradVac), drawn from (seed, step): the argsort of random
    numbers (uniform_draws), since XLA can compile that and not a shuffle."""
    return tf.argsort(uniform_draws(k, tf.cast(step, tf.int64) * k + i, seed))


def pcgrad_project(flat, step, seed):
    """PCGrad (Yu et al. 2020). flat: [K, P], one gradient per task. Each
    task's gradient loses its component along any other task's gradient it
    conflicts with (a negative dot product), visiting the others in a
    random order drawn from (seed, step). Returns [K, P]."""
    k = flat.shape[0]
    out = []
    for i in range(k):
        g = flat[i]
        order = task_order(k, i, step, seed)
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


def cagrad_coefficients(flat, c, iterations=100):
    """CAGrad, conflict-averse gradient descent (Liu et al. 2021, Algorithm
    1). flat: [K, P], one gradient per task; c >= 0 (the paper: below 1).
    With g0 the mean gradient and g_w = sum_k w_k g_k, it finds the w on the
    simplex that minimises F(w) = g_w . g0 + sqrt(phi) |g_w|, phi = c^2 |g0|^2
    (the dual of: the update within sqrt(phi) of g0 that most helps the task
    it helps least), and updates along d = g0 + sqrt(phi) / |g_w| g_w.
    Returns the a with sum_k a_k g_k = K d: the scale of the sum of the task
    losses, as the other weightings (c = 0 gives that sum). Solved on the
    Gram matrix in float64, scaled to a mean diagonal of 1 (the same w): in
    closed form for two tasks, for more by projected gradient descent
    (backtracking, Nesterov's momentum with restarts)."""
    k = flat.shape[0]
    gram = tf.cast(tf.matmul(flat, flat, transpose_b=True), tf.float64)
    a = gram / tf.maximum(tf.reduce_mean(tf.linalg.diag_part(gram)), 1e-300)
    b = tf.reduce_mean(a, axis=1)  # g_k . g0
    r = tf.cast(c, tf.float64) * tf.sqrt(tf.maximum(tf.reduce_mean(a), 0.0))  # sqrt(phi)
    if k == 1:
        w = tf.ones([1], tf.float64)
    elif k == 2:
        # w = (x, 1 - x): F is convex in x, F'(x) = m + r y / |g_w| with
        # y = e.g_w, e = g1 - g2, m = e.g0; its root solves
        # y^2 (r^2 |e|^2 - m^2) = m^2 gap, gap = |e|^2 |g2|^2 - (e.g2)^2 >= 0.
        # Without a root F is monotone: the minimum is at an end.
        ee = a[0, 0] - 2 * a[0, 1] + a[1, 1]
        eg2 = a[0, 1] - a[1, 1]
        m = (a[0, 0] - a[1, 1]) / 2
        gap = tf.maximum(ee * a[1, 1] - eg2 * eg2, 0.0)
        room = r * r * ee - m * m
        y = -tf.sign(m) * tf.sqrt(m * m * gap / tf.maximum(room, 1e-300))
        root = (y - eg2) / tf.maximum(ee, 1e-300)
        end = tf.where(m < 0, tf.constant(1.0, tf.float64), 0.0)
        x = tf.clip_by_value(tf.where(tf.logical_and(room > 0, ee > 0), root, end), 0.0, 1.0)
        w = tf.stack([x, 1 - x])
    else:

        def objective(w):  # rows of w -> F
            return tf.reduce_sum(w * b, -1) + r * tf.sqrt(
                tf.maximum(tf.reduce_sum(w * tf.matmul(w, a), -1), 0.0)
            )

        def onto_simplex(v):  # rows of v -> nearest points of the simplex (by sorting)
            u = tf.sort(v, axis=-1, direction="DESCENDING")
            excess = tf.cumsum(u, axis=-1) - 1.0
            count = tf.reduce_sum(
                tf.cast(u - excess / tf.range(1, k + 1, dtype=tf.float64) > 0, tf.int32), -1
            )
            theta = tf.gather(excess, count - 1, batch_dims=1) / tf.cast(count, tf.float64)
            return tf.maximum(v - theta[:, None], 0.0)

        halvings = tf.pow(tf.constant(0.5, tf.float64), tf.range(16, dtype=tf.float64))

        def descend(i, w, v, t, rate):
            # A projected gradient step from v, the longest of rate, rate/2,
            # ... with sufficient decrease (none: stay, try shorter next).
            av = tf.linalg.matvec(a, v)
            grad = b + r * av / tf.sqrt(tf.maximum(tf.tensordot(v, av, 1), 1e-300))
            rates = rate * halvings
            trial = onto_simplex(v[None, :] - rates[:, None] * grad[None, :])
            move = trial - v[None, :]
            here = objective(v[None, :])[0]
            bound = (
                here + tf.reduce_sum(move * grad, -1) + tf.reduce_sum(move * move, -1) / (2 * rates)
            )
            fits = objective(trial) <= bound + 1e-12 * (1 + tf.abs(here))
            found = tf.reduce_any(fits)
            # (tf.gather, not trial[first]: XLA would compile the step anew
            # at every call for a slice at an index it cannot know.)
            first = tf.argmax(tf.cast(fits, tf.int32))
            step = tf.where(found, tf.gather(trial, first), v)
            longest = tf.minimum(2 * tf.gather(rates, first), 1e6)
            rate = tf.where(found, longest, tf.maximum(rates[-1], 1e-30))
            # Nesterov's momentum, restarted from w whenever F would go up.
            worse = objective(step[None, :])[0] > objective(w[None, :])[0]
            t_next = (1 + tf.sqrt(1 + 4 * t * t)) / 2
            ahead = step + (t - 1) / t_next * (step - w)
            return (
                i + 1,
                tf.where(worse, w, step),
                tf.where(worse, w, ahead),
                tf.where(worse, tf.constant(1.0, tf.float64), t_next),
                rate,
            )

        start = tf.fill([k], tf.constant(1.0 / k, tf.float64))
        one = tf.constant(1.0, tf.float64)
        _, w, _, _, _ = tf.while_loop(
            lambda i, *_: i < iterations, descend, (tf.constant(0), start, start, one, one)
        )
    norm = tf.sqrt(tf.maximum(tf.tensordot(w, tf.linalg.matvec(a, w), 1), 0.0))  # |g_w|
    lam = tf.where(norm > 1e-12, r / tf.maximum(norm, 1e-12), 0.0)
    return tf.cast(1.0 + k * lam * w, tf.float32)


def gram_eigen(flat):
    """The Gram matrix G = flat flat^T of the task gradients, its
    eigenvalues (ascending) and eigenvectors, and which eigenvalues count:
    those above max * K * float32's epsilon (the rank Aligned-MTL's
    reference implementation keeps)."""
    gram = tf.matmul(flat, flat, transpose_b=True)
    values, vectors = tf.linalg.eigh(gram)
    kept = values > tf.reduce_max(values) * flat.shape[0] * np.finfo(np.float32).eps
    return gram, values, vectors, kept


def imtl_coefficients(flat):
    """IMTL-G (Liu et al. 2021, "Towards Impartial Multi-task Learning").
    flat: [K, P], one gradient per task. The combination g = sum_k a_k g_k
    with sum_k a_k = 1 whose projections on every task's unit gradient
    u_k = g_k / |g_k| are equal. The paper's closed form is
    a_2..K = g_1 U^T (D U^T)^-1 (rows of D: g_1 - g_k; of U: u_1 - u_k).
    Written with the Gram matrix G the conditions read G a = mu |g|, so
    a = G^+ |g| / sum(G^+ |g|): the same a whenever the task gradients are
    independent, and, through the pseudo-inverse (gram_eigen), an answer
    where the closed form's inverse fails (two identical gradients).
    Returns a (it may hold negative values, as in the paper)."""
    k = flat.shape[0]
    gram, values, vectors, kept = gram_eigen(flat)
    inverse = tf.where(kept, 1.0 / tf.where(kept, values, 1.0), 0.0)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    solved = tf.linalg.matvec(vectors, inverse * tf.linalg.matvec(vectors, norms, transpose_a=True))
    total = tf.reduce_sum(solved)
    usable = tf.abs(total) > 0
    return tf.where(usable, solved / tf.where(usable, total, 1.0), tf.fill([k], 1.0 / k))


def gradvac_coefficients(flat, targets, beta, step, seed):
    """GradVac, gradient vaccine (Wang et al. 2021), on the whole shared
    gradient. flat: [K, P], one gradient per task; targets: [K, K], the
    moving averages t_ij of the cosine between task i's gradient (as altered
    so far) and task j's. Task i's gradient visits the others in a random
    order drawn from (seed, step) (task_order); where its cosine phi with
    g_j is below t_ij it gains the multiple of g_j that lifts the cosine to
    t_ij, g_i += g_j |g_i| (t sqrt(1 - phi^2) - phi sqrt(1 - t^2)) / (|g_j| sqrt(1 - t^2)),
    and t_ij moves toward phi: t_ij + beta (phi - t_ij). With targets 0 it is
    PCGrad's projection. Works on the Gram matrix: returns the coefficients
    c (sum_k c_k g_k is the sum of the altered gradients) and the new
    targets."""
    k = flat.shape[0]
    gram = tf.matmul(flat, flat, transpose_b=True)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    total = tf.zeros([k])
    moved = tf.zeros([k, k])
    for i in range(k):
        c = tf.one_hot(i, k)  # task i's altered gradient is sum_m c_m g_m
        order = task_order(k, i, step, seed)
        for n in range(k):
            j = order[n]
            norm_i = tf.sqrt(tf.maximum(tf.tensordot(c, tf.linalg.matvec(gram, c), 1), 0.0))
            norm_j = tf.gather(norms, j)
            cos = tf.tensordot(c, tf.gather(gram, j), 1) / tf.maximum(norm_i * norm_j, 1e-20)
            cos = tf.clip_by_value(cos, -1.0, 1.0)
            target = tf.gather(targets[i], j)
            other = tf.not_equal(j, i)
            lift = tf.logical_and(tf.logical_and(other, cos < target), norm_j > 0)
            lift = tf.logical_and(lift, target < 1.0)
            room = tf.sqrt(tf.maximum(1.0 - target * target, 0.0))
            amount = (
                norm_i
                * (target * tf.sqrt(tf.maximum(1.0 - cos * cos, 0.0)) - cos * room)
                / tf.maximum(norm_j * room, 1e-20)
            )
            c = c + tf.where(lift, amount, 0.0) * tf.one_hot(j, k)
            pair = tf.one_hot(i, k)[:, None] * tf.one_hot(j, k)[None, :]
            moved = moved + tf.where(other, beta * (cos - target), 0.0) * pair
        total = total + c
    return total, targets + moved


def aligned_mtl_coefficients(flat):
    """Aligned-MTL (Senushkin et al. 2023), the balanced update. flat:
    [K, P], one gradient per task. With the Gram matrix's eigendecomposition
    G = V diag(lambda) V^T (gram_eigen: the eigenvalues that count), the
    aligned gradients G_flat^T B, B = sqrt(lambda_min) V diag(lambda^-1/2) V^T,
    are orthogonal and of one norm, sqrt(lambda_min): the gradient system's
    principal components aligned, its condition number 1. The update is
    their sum: returns a = B 1, so that sum_k a_k g_k is that update."""
    _, values, vectors, kept = gram_eigen(flat)
    smallest = tf.reduce_min(tf.where(kept, values, tf.reduce_max(values)))
    scale = tf.where(kept, tf.sqrt(smallest / tf.where(kept, values, 1.0)), 0.0)
    return tf.linalg.matvec(vectors, scale * tf.reduce_sum(vectors, axis=0))


def log_weights(weights):
    """The logarithms of task weights, as float32: where the learned
    log-scales of uncertainty weighting (negated), IMTL and FAMO start so
    that their weights begin at the ones set. Weights below 1e-6 count as
    1e-6 (a weight of 0 has no logarithm)."""
    return np.log(np.maximum(np.asarray(weights, np.float64), 1e-6)).astype(np.float32)


def gradnorm_weight_gradient(weights, norms, losses, initial_losses, alpha):
    """GradNorm (Chen et al. 2018): d L_grad / d w for L_grad = sum_k |G_k -
    target_k|, where G_k = w_k n_k (n_k: the norm of task k's loss gradient
    on the last shared layer) and target_k = mean(G) r_k^alpha, held
    constant as in the paper; r_k = (L_k / L_k(0)) / mean_i (L_i / L_i(0))
    is the task's relative inverse training rate."""
    g = weights * norms
    ratio = losses / initial_losses
    target = tf.stop_gradient(tf.reduce_mean(g) * tf.pow(ratio / tf.reduce_mean(ratio), alpha))
    return tf.sign(g - target) * norms


def summing_to_k(weights):
    """GradNorm's task weights kept positive (1e-6 at least) and scaled to
    sum to K, the number of tasks."""
    w = tf.maximum(tf.cast(weights, tf.float32), 1e-6)
    return w * tf.cast(tf.size(w), tf.float32) / tf.reduce_sum(w)


def rlw_weights(k, step, seed):
    """RLW, random loss weighting (Lin et al. 2022): the softmax of K
    standard-normal draws, new at every step and drawn from (seed, step), so
    a run repeats (Box-Muller on uniform_draws). They sum to 1."""
    u = uniform_draws(2 * k, step, seed)
    draws = tf.sqrt(-2.0 * tf.math.log(u[:k])) * tf.cos(2.0 * np.pi * u[k:])
    return tf.nn.softmax(draws)


def famo_gaps(losses):
    """FAMO's loss gaps l_k - l_k* + eps, with the lower bounds l_k* = 0 (the
    reference implementation's) and eps = 1e-8."""
    return losses + 1e-8


def famo_weights(logits, losses):
    """FAMO (Liu et al. 2023): the weights of the task losses' gradients in
    the update. The step minimises sum_k z_k log(gap_k) / c, z = softmax of
    the task logits, c = sum_k z_k / gap_k held constant: its gradient is
    sum_k (z_k / gap_k) / c grad L_k. The weights sum to 1."""
    ratio = tf.nn.softmax(logits) / famo_gaps(losses)
    return ratio / tf.reduce_sum(ratio)


def famo_logit_gradient(logits, losses, new_losses, weight_decay):
    """FAMO's gradient for the task logits after a step: the softmax
    Jacobian times delta, the change of the log losses over the step on the
    same batch, delta_k = log gap_k(before) - log gap_k(after), plus the
    decay: J^T delta + weight_decay * logits (an Adam step follows)."""
    z = tf.nn.softmax(logits)
    delta = tf.math.log(famo_gaps(losses)) - tf.math.log(famo_gaps(new_losses))
    return z * (delta - tf.reduce_sum(z * delta)) + weight_decay * logits
