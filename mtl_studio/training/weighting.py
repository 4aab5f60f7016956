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
- cagrad (Liu et al. 2021): the shared parameters move along the mean
  gradient plus the direction, within c times its norm, that most helps
  the task it helps least.
- imtl (Liu et al. 2021, hybrid): learned loss scales e^s_k (objective
  sum_k e^s_k L_k - s_k, IMTL-L) and, on the shared parameters, IMTL-G's
  combination of the scaled gradients whose projections on every task's
  unit gradient are equal.
- rlw (Lin et al. 2022): weights drawn at each step, softmax of K
  standard-normal numbers from (seed, step).
- gradvac (Wang et al. 2021): each task's shared gradient gains multiples
  of the others' until its cosine with each reaches a moving average of the
  cosines seen (a target, moved by beta at each step).
- aligned_mtl (Senushkin et al. 2023): the shared parameters move along the
  sum of the task gradients after aligning the gradient matrix's principal
  components (its Gram matrix's eigendecomposition): orthogonal, one norm.
- famo (Liu et al. 2023): weights z = softmax of task logits on the log
  losses; after each step the logits follow the change of the log losses
  on the same batch (Adam, with weight decay).

The gradient methods on the shared trunk (mgda, cagrad, imtl, gradvac,
aligned_mtl) share SharedCombination: one gradient per task on the shared
parameters, a rule that combines them, each head its own task's gradient.
The numeric rules are plain functions in weighting_math.py, which an
exported script copies.
"""

from __future__ import annotations

import numpy as np

from .distribute import apply_update
from .tf_import import keras, tf
from .weighting_math import (
    aligned_mtl_coefficients,
    cagrad_coefficients,
    dwa_weights,
    famo_logit_gradient,
    famo_weights,
    flatten,
    gradnorm_weight_gradient,
    log_weights,
    gradvac_coefficients,
    imtl_coefficients,
    min_norm_coefficients,
    pcgrad_project,
    rlw_weights,
    summing_to_k,
    unflatten,
)


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
    # The weights in force are known once gradients() ran (a combination's
    # coefficients, RLW's draw): the trainer reports them then, not before.
    weights_after_gradients = False

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

    def after_update(self, losses, new_losses) -> None:
        """Called in the step after the optimizer's update, with the step's
        losses and a function that computes them again on the same batch
        (a forward pass, traced only if called: FAMO's)."""


class Uncertainty(Strategy):
    name = "uncertainty"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        # Start where exp(-s) equals the user's weight.
        self.log_var = tf().Variable(-log_weights(weights), trainable=True, name="log_variance")

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
        s[index] = -log_weights([value])[0]
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
        self.w.assign(summing_to_k(self.w))
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
        gradient = gradnorm_weight_gradient(
            self.w, norms, losses, self.initial, self.settings.gradnorm_alpha
        )
        apply_update(self.optimizer, [gradient], [self.w_train])
        self.w.assign(summing_to_k(self.w_train))
        return grads

    def set_weight(self, index, value):
        super().set_weight(index, value)
        self.w.assign(summing_to_k(self.w))


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


class SharedCombination(Strategy):
    """The shared trunk moves along a combination sum_k a_k g_k of one
    gradient per task on the shared parameters (the rows: the gradients of
    the weighted task losses, unless a method says otherwise); the other
    parameters take the gradient of the objective, so each head follows its
    own task. The reported weights are the coefficients on the task losses:
    a_k times d row_k / d L_k."""

    needs_persistent_tape = True
    weights_after_gradients = True
    title = ""  # the method's name in messages

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        self.reported = tf().Variable(
            np.asarray(self.start_weights(weights), np.float32),
            trainable=False,
            name=f"{self.name}_weights",
        )

    def start_weights(self, weights):
        """The weights reported before the first step."""
        return weights

    def state(self):
        return {"w": self.w, "reported": self.reported}

    def current_weights(self):
        return self.reported

    def rows(self, terms):
        """The losses whose shared gradients are combined."""
        return terms.weighted

    def row_scale(self):
        """d row_k / d L_k: the task weight by default."""
        return self.w

    def coefficients(self, flat, step):
        """a_k from the rows' gradients [K, P]: what each method defines
        (CLASSES lists only the methods, never this base)."""
        raise NotImplementedError(f"{type(self).__name__} defines no coefficients")

    def gradients(self, tape, terms, variables, shared, step):
        t = tf()
        variables = list(variables)
        shared_vars = [variables[i] for i in shared]
        flat = t.stack(
            [flatten(tape.gradient(row, shared_vars), shared_vars) for row in self.rows(terms)]
        )
        coefficients = self.coefficients(flat, step)
        self.reported.assign(coefficients * self.row_scale())
        combined = unflatten(t.tensordot(coefficients, flat, axes=1), shared_vars)
        # Task-specific parameters: each head's own (weighted) loss.
        grads = tape.gradient(terms.total, variables + self.trainable)
        for n, i in enumerate(shared):
            grads[i] = combined[n]
        return grads


class MGDA(SharedCombination):
    name = "mgda"
    title = "MGDA"

    def start_weights(self, weights):
        return np.full(self.k, 1.0 / self.k)

    def state(self):
        return {"w": self.w, "alpha": self.reported}

    def rows(self, terms):
        return terms.per_task  # unweighted: the coefficients are the weights

    def row_scale(self):
        return 1.0

    def coefficients(self, flat, step):
        return min_norm_coefficients(flat)


class CAGrad(SharedCombination):
    name = "cagrad"
    title = "CAGrad"

    def coefficients(self, flat, step):
        return cagrad_coefficients(flat, self.settings.cagrad_c)


class IMTL(SharedCombination):
    """Hybrid IMTL: IMTL-L's learned scales (trained by the main optimizer,
    starting where e^s_k is the task weight) and IMTL-G on the shared
    gradients of the scaled losses."""

    name = "imtl"
    title = "IMTL"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        self.log_scale = tf().Variable(log_weights(weights), trainable=True, name="log_scale")

    def state(self):
        return {"w": self.w, "log_scale": self.log_scale, "reported": self.reported}

    @property
    def trainable(self):
        return [self.log_scale]

    def terms(self, losses, penalty):
        t = tf()
        scale = t.exp(self.log_scale)
        per_task = [losses[k] for k in range(self.k)]
        weighted = [scale[k] * per_task[k] for k in range(self.k)]
        total = t.reduce_sum(scale * losses - self.log_scale)
        return Terms(losses, per_task, weighted, _with(total, penalty), penalty)

    def row_scale(self):
        return tf().exp(self.log_scale)

    def coefficients(self, flat, step):
        return imtl_coefficients(flat)

    def set_weight(self, index, value):
        s = self.log_scale.numpy()
        s[index] = log_weights([value])[0]
        self.log_scale.assign(s)


class GradVac(SharedCombination):
    name = "gradvac"
    title = "GradVac"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        self.targets = tf().Variable(
            np.zeros((self.k, self.k), np.float32), trainable=False, name="gradvac_targets"
        )

    def state(self):
        return {"w": self.w, "targets": self.targets, "reported": self.reported}

    def coefficients(self, flat, step):
        coefficients, targets = gradvac_coefficients(
            flat, self.targets, self.settings.gradvac_beta, step, self.seed
        )
        self.targets.assign(targets)
        return coefficients


class AlignedMTL(SharedCombination):
    name = "aligned_mtl"
    title = "Aligned-MTL"

    def coefficients(self, flat, step):
        return aligned_mtl_coefficients(flat)


class RLW(Strategy):
    """Random loss weighting: sum_k lambda_k w_k L_k with lambda drawn anew
    at each step from (seed, step); the reported weights are lambda_k w_k."""

    name = "rlw"
    weights_after_gradients = True

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        self.drawn = tf().Variable(
            np.asarray(weights, np.float32) / self.k, trainable=False, name="rlw_weights"
        )

    def state(self):
        return {"w": self.w, "drawn": self.drawn}

    def current_weights(self):
        return self.drawn

    def gradients(self, tape, terms, variables, shared, step):
        t = tf()
        weights = rlw_weights(self.k, step, self.seed) * self.w
        self.drawn.assign(weights)
        # The gradient of sum_k weights_k L_k (+ the penalty), from the losses.
        if terms.penalty is None:
            return tape.gradient(terms.losses, list(variables), output_gradients=weights)
        return tape.gradient(
            [terms.losses, terms.penalty],
            list(variables),
            output_gradients=[weights, t.ones_like(terms.penalty)],
        )


class FAMO(Strategy):
    """FAMO: the step minimises sum_k z_k log L_k / c (famo_weights); then
    the task logits take an Adam step (famo_learning_rate) along
    famo_logit_gradient, from the losses before and after the step on the
    same batch. The logits start at log w_k (z proportional to the task
    weights); the reported weights are z = softmax(logits)."""

    name = "famo"

    def __init__(self, tasks, weights, settings, seed=0) -> None:
        super().__init__(tasks, weights, settings, seed)
        t = tf()
        self.logits = t.Variable(log_weights(weights), trainable=True, name="famo_logits")
        self.optimizer = keras().optimizers.Adam(settings.famo_learning_rate)
        self.optimizer.build([self.logits])

    def state(self):
        st = {"w": self.w, "logits": self.logits}
        for i, v in enumerate(self.optimizer.variables):
            st[f"optimizer_{i}"] = v
        return st

    def current_weights(self):
        return tf().nn.softmax(self.logits)

    def terms(self, losses, penalty):
        t = tf()
        weights = t.stop_gradient(famo_weights(self.logits, t.stop_gradient(losses)))
        per_task = [losses[k] for k in range(self.k)]
        weighted = [weights[k] * per_task[k] for k in range(self.k)]
        return Terms(
            losses, per_task, weighted, _with(t.reduce_sum(weights * losses), penalty), penalty
        )

    def after_update(self, losses, new_losses):
        t = tf()
        gradient = famo_logit_gradient(
            self.logits, t.stop_gradient(losses), new_losses(), self.settings.famo_weight_decay
        )
        apply_update(self.optimizer, [gradient], [self.logits])

    def set_weight(self, index, value):
        logits = self.logits.numpy()
        logits[index] = log_weights([value])[0]
        self.logits.assign(logits)


CLASSES = {
    "fixed": Strategy,
    "uncertainty": Uncertainty,
    "dwa": DynamicWeightAverage,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
    "mgda": MGDA,
    "cagrad": CAGrad,
    "imtl": IMTL,
    "rlw": RLW,
    "gradvac": GradVac,
    "aligned_mtl": AlignedMTL,
    "famo": FAMO,
}
STRATEGIES = tuple(CLASSES)


def make_strategy(name: str, tasks, weights, settings, seed: int = 0) -> Strategy:
    return CLASSES[name](tasks, weights, settings, seed)
