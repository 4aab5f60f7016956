"""Mixed precision: the numbers a run computes in (training.precision).

"float32": everything in float32. "mixed_bfloat16" and "mixed_float16" are
Keras' dtype policies of the same names: each layer computes in bfloat16
or float16 and keeps its weights in float32. The task outputs stay float32
(layer_policy), so the losses, the weighting methods and the reported
figures are float32 as before.

float16's narrow range makes small gradients underflow to zero. With
mixed_float16 the step scales the loss up before backpropagation and the
gradients back down after it (dynamic loss scaling, Micikevicius et al.
2018, the rule of Keras' LossScaleOptimizer): a step whose gradients
overflow is skipped and the scale halved; after GROWTH_STEPS good steps
the scale doubles. bfloat16 has float32's range and needs none of this.

An exported training script (export/script.py) carries verbatim copies of
LossScale and ScaledTape (and the two constants): as in weighting_math.py,
they use only TensorFlow (`tf`, imported at first use).
"""

from __future__ import annotations

from .weighting_math import tf  # TensorFlow, imported at first use

INITIAL_SCALE = 2.0**15
GROWTH_STEPS = 2000


def layer_policy(precision: str, is_output: bool) -> str | None:
    """The dtype policy of a layer (None: float32, Keras' default). A task's
    output layer computes in float32 so its loss does."""
    if precision == "float32" or is_output:
        return None
    return precision


def uses_xla(precision):
    """Whether the step compiles with XLA in this precision: not with
    mixed_bfloat16 on a machine without a GPU, where XLA's bfloat16 is
    slower than its float32 and TensorFlow's own kernels gain
    (docs/benchmarks.md, benchmarks/bench_precision.py)."""
    return precision != "mixed_bfloat16" or bool(tf.config.list_physical_devices("GPU"))


def needs_loss_scale(precision: str) -> bool:
    return precision == "mixed_float16"


class LossScale:
    """Dynamic loss scaling for one run; `tape` and `apply` are used inside
    the compiled step."""

    def __init__(self):
        self.scale = tf.Variable(INITIAL_SCALE, trainable=False, name="loss_scale")
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="good_steps")
        self.finite = None  # this step's gradients so far: all finite?

    def state(self):
        """Variables a checkpoint holds, by name."""
        return {"scale": self.scale, "good_steps": self.good_steps}

    def tape(self, tape):
        """A step's tape (call at the start of each step's gradients)."""
        self.finite = tf.constant(True)
        return ScaledTape(tape, self)

    def apply(self, update):
        """Run `update` (the optimizer's) only if this step's gradients were
        finite, and move the scale."""
        finite = self.finite

        def run():
            update()
            return tf.constant(True)

        tf.cond(finite, run, lambda: tf.constant(False))
        grown = self.good_steps + 1 >= GROWTH_STEPS
        self.scale.assign(
            tf.where(finite, tf.where(grown, self.scale * 2.0, self.scale), self.scale / 2.0)
        )
        self.good_steps.assign(
            tf.where(finite & ~grown, self.good_steps + 1, tf.zeros([], tf.int64))
        )


class ScaledTape:
    """A tape whose gradients are taken of the scaled loss and scaled back.
    Gradients that overflowed are reported (LossScale.finite) and given as
    zeros, so that a weighting method's state stays finite in the skipped
    step."""

    def __init__(self, tape, owner):
        self.tape = tape
        self.owner = owner

    def gradient(self, target, sources, output_gradients=None):
        scale = self.owner.scale
        if output_gradients is None:
            if isinstance(target, (list, tuple)):
                output_gradients = [tf.ones_like(x) * scale for x in target]
            else:
                output_gradients = tf.ones_like(target) * scale
        elif isinstance(output_gradients, (list, tuple)):
            output_gradients = [g * scale for g in output_gradients]
        else:
            output_gradients = output_gradients * scale
        grads = self.tape.gradient(target, sources, output_gradients=output_gradients)
        out = []
        for g in grads:
            if g is None:
                out.append(None)
                continue
            g = tf.convert_to_tensor(g) / scale
            ok = tf.reduce_all(tf.math.is_finite(g))
            self.owner.finite = self.owner.finite & ok
            out.append(tf.where(tf.math.is_finite(g), g, tf.zeros_like(g)))
        return out
