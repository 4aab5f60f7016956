"""How joint training combines the task losses into one update.

Each strategy runs inside the compiled training step: given the tape, the
unweighted task losses and the variables, it returns the gradients to apply
and the task weights in force. Weights are tf.Variables, so changing them
during a run never re-traces.

- fixed: sum_k w_k L_k with the weights the user set.
- uncertainty (Kendall et al. 2018): learned log-variances s_k, objective
  sum_k exp(-s_k) L_k + s_k; the reported weight is exp(-s_k).
- dwa, dynamic weight average (Liu et al. 2019): at each epoch end
  w_k = K exp(r_k / T) / sum_i exp(r_i / T), r_k = L_k(t-1) / L_k(t-2);
  weights stay 1 for the first two epochs.
- gradnorm (Chen et al. 2018): weights learned so that each task's gradient
  norm on the last shared layer, G_k = w_k |grad L_k|, moves toward
  mean(G) * r_k^alpha with r_k the task's relative inverse training rate;
  after each update the weights are renormalised to sum to K.
- pcgrad (Yu et al. 2020): each task's gradient loses its component along
  any other task's gradient it conflicts with (negative dot product), in a
  random order of the other tasks, then the projected gradients are summed.
- mgda (Sener and Koltun 2018): the shared parameters move along the
  min-norm convex combination of the task gradients (closed form for two
  tasks, Frank-Wolfe for more); task-specific parameters take their own
  task's gradient. The reported weights are the combination's coefficients.

The numeric rules (DWA's weights, PCGrad's projection, MGDA's solver) are
plain functions in weighting_math.py, which an exported script copies.
"""

from __future__ import annotations

import numpy as np

from .tf_import import keras, tf
from .weighting_math import dwa_weights, flatten, min_norm_coefficients, pcgrad_project, unflatten

STRATEGIES = ("fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda")


def _with(objective, penalty):
    """The objective plus the soft-sharing penalty, when there is one."""
    return objective if penalty is None else objective + penalty


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


class Terms:
    """What the tape must record: per-task losses, weighted terms and the
    total. Made by Strategy.terms() inside the GradientTape, since a tape
    only differentiates what it saw being computed."""

    def __init__(self, losses, per_task, weighted, total, penalty) -> None:
        self.losses = losses  # [K] tensor
        self.per_task = per_task  # list of K scalars
        self.weighted = weighted  # list of K scalars
        self.total = total  # scalar: the objective plus the penalty
        self.penalty = penalty  # scalar or None


class Strategy:
    """Fixed weights; the base of the others."""

    name = "fixed"
    needs_persistent_tape = False

    def __init__(self, tasks: list[str], weights: list[float], settings, seed: int = 0) -> None:
        t = tf()
        self.tasks = list(tasks)
        self.k = len(tasks)
        self.seed = seed
        self.settings = settings
        self.w = t.Variable(np.asarray(weights, np.float32), trainable=False, name="task_weights")

    # Variables saved in a checkpoint, by name.
    def state(self) -> dict:
        return {"w": self.w}

    # Extra variables the main optimizer trains (uncertainty's log-variances).
    @property
    def trainable(self) -> list:
        return []

    def objective(self, losses):
        """The scalar the shared optimizer minimises (before any penalty)."""
        return tf().reduce_sum(self.w * losses)

    def current_weights(self):
        return self.w

    def terms(self, losses, penalty) -> Terms:
        """Call inside the tape."""
        per_task = [losses[k] for k in range(self.k)]
        weighted = [self.w[k] * per_task[k] for k in range(self.k)]
        return Terms(losses, per_task, weighted, _with(self.objective(losses), penalty), penalty)

    def gradients(self, tape, terms: Terms, variables, shared, step):
        """Gradients for `variables` (then for `trainable`). `shared` is the
        list of indices into variables that belong to the shared trunk."""
        return tape.gradient(terms.total, list(variables) + self.trainable)

    def set_weight(self, index: int, value: float) -> None:
        w = self.w.numpy()
        w[index] = value
        self.w.assign(w)

    def after_epoch(self, epoch_losses: np.ndarray) -> None:
        """Called in Python with the epoch's mean unweighted losses."""


class Uncertainty(Strategy):
    name = "uncertainty"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        # Start where exp(-s) equals the user's weight.
        start = -np.log(np.maximum(np.asarray(weights, np.float64), 1e-6))
        self.log_var = tf().Variable(start.astype(np.float32), trainable=True, name="log_variance")

    def state(self):
        return {"log_var": self.log_var}

    @property
    def trainable(self):
        return [self.log_var]

    def objective(self, losses):
        t = tf()
        return t.reduce_sum(t.exp(-self.log_var) * losses + self.log_var)

    def current_weights(self):
        return tf().exp(-self.log_var)

    def set_weight(self, index, value):
        s = self.log_var.numpy()
        s[index] = -np.log(max(value, 1e-6))
        self.log_var.assign(s)


class DynamicWeightAverage(Strategy):
    name = "dwa"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, [1.0] * len(tasks), settings, seed)
        self.history: list[list[float]] = []  # mean loss per epoch, kept in checkpoints

    def after_epoch(self, epoch_losses):
        self.history.append([float(x) for x in epoch_losses])
        if len(self.history) >= 2:
            self.w.assign(
                dwa_weights(self.history[-1], self.history[-2], self.settings.dwa_temperature)
            )


class GradNorm(Strategy):
    name = "gradnorm"
    needs_persistent_tape = True

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        t = tf()
        self.w.assign(self.w * self.k / tf().reduce_sum(self.w))
        self.initial = t.Variable(
            np.ones(self.k, np.float32), trainable=False, name="initial_losses"
        )
        self.started = t.Variable(False, trainable=False, name="gradnorm_started")
        self.optimizer = keras().optimizers.Adam(settings.optimizer.learning_rate)
        self.w_train = t.Variable(self.w.numpy(), trainable=True, name="gradnorm_weights")
        self.optimizer.build([self.w_train])
        self.last_shared: list[int] = []  # set by the trainer: the last shared layer's kernel

    def state(self):
        st = {
            "w": self.w,
            "initial": self.initial,
            "started": self.started,
            "w_train": self.w_train,
        }
        for i, v in enumerate(self.optimizer.variables):
            st[f"optimizer_{i}"] = v
        return st

    def weight_gradient(self, losses, norms):
        """d L_grad / d w for L_grad = sum_k |w_k n_k - target_k|, with the
        target held constant as in the paper."""
        t = tf()
        alpha = self.settings.gradnorm_alpha
        g = self.w * norms
        ratio = losses / self.initial
        r = ratio / t.reduce_mean(ratio)
        target = t.stop_gradient(t.reduce_mean(g) * t.pow(r, alpha))
        return t.sign(g - target) * norms

    def gradients(self, tape, terms, variables, shared, step):
        t = tf()
        losses = t.stop_gradient(terms.losses)
        self.initial.assign(t.where(self.started, self.initial, losses))
        self.started.assign(True)
        grads = tape.gradient(terms.total, list(variables))
        layer = [variables[i] for i in self.last_shared]
        norms = t.stack(
            [t.linalg.global_norm(tape.gradient(terms.per_task[k], layer)) for k in range(self.k)]
        )
        self.w_train.assign(self.w)
        self.optimizer.apply([self.weight_gradient(losses, norms)], [self.w_train])
        w = t.maximum(self.w_train, 1e-6)
        self.w.assign(w * self.k / t.reduce_sum(w))
        return grads

    def set_weight(self, index, value):
        super().set_weight(index, value)
        w = np.maximum(self.w.numpy(), 1e-6)
        self.w.assign(w * self.k / w.sum())


class PCGrad(Strategy):
    name = "pcgrad"
    needs_persistent_tape = True

    def gradients(self, tape, terms, variables, shared, step):
        t = tf()
        variables = list(variables)
        flat = t.stack(
            [flatten(tape.gradient(terms.weighted[k], variables), variables) for k in range(self.k)]
        )
        projected = pcgrad_project(flat, step, self.seed)
        grads = unflatten(t.reduce_sum(projected, axis=0), variables)
        if terms.penalty is not None:
            extra = tape.gradient(terms.penalty, variables)
            grads = [_add(g, e) for g, e in zip(grads, extra)]
        return grads


class MGDA(Strategy):
    name = "mgda"
    needs_persistent_tape = True

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        self.alpha = tf().Variable(
            np.full(self.k, 1.0 / self.k, np.float32), trainable=False, name="mgda_alpha"
        )

    def state(self):
        return {"w": self.w, "alpha": self.alpha}

    def current_weights(self):
        return self.alpha

    def gradients(self, tape, terms, variables, shared, step):
        t = tf()
        variables = list(variables)
        shared_vars = [variables[i] for i in shared]
        flat = t.stack(
            [
                flatten(tape.gradient(terms.per_task[k], shared_vars), shared_vars)
                for k in range(self.k)
            ]
        )
        alpha = min_norm_coefficients(flat)
        self.alpha.assign(alpha)
        combined = unflatten(t.tensordot(alpha, flat, axes=1), shared_vars)
        # Task-specific parameters: each head's own (weighted) loss.
        grads = tape.gradient(terms.total, variables)
        for n, i in enumerate(shared):
            grads[i] = combined[n]
        return grads


def make_strategy(name: str, tasks, weights, settings, seed: int = 0) -> Strategy:
    classes = {
        "fixed": Strategy,
        "uncertainty": Uncertainty,
        "dwa": DynamicWeightAverage,
        "gradnorm": GradNorm,
        "pcgrad": PCGrad,
        "mgda": MGDA,
    }
    return classes[name](tasks, weights, settings, seed)
