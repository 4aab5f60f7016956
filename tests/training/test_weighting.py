"""Each weighting strategy's update rule on a case worked by hand."""

import math

import numpy as np
import pytest

from mtl_studio.core.settings import TrainingSettings
from mtl_studio.training import weighting as w
from mtl_studio.training.tf_import import tf

t = tf()


def settings(**kw):
    s = TrainingSettings()
    for key, value in kw.items():
        setattr(s, key, value)
    return s


def test_fixed_weights_sum_the_weighted_losses():
    s = w.make_strategy("fixed", ["a", "b"], [0.5, 2.0], settings())
    assert float(s.objective(t.constant([1.0, 2.0]))) == pytest.approx(4.5)
    s.set_weight(1, 3.0)  # a live change
    assert float(s.objective(t.constant([1.0, 2.0]))) == pytest.approx(6.5)


def test_uncertainty_objective_and_its_gradient():
    # s = [0, log 2], L = [1, 3]: exp(0)*1 + 0 + exp(-log 2)*3 + log 2 = 2.5 + log 2;
    # d/ds_k = 1 - exp(-s_k) L_k = [0, -0.5]; the weights reported are exp(-s) = [1, 0.5].
    s = w.make_strategy("uncertainty", ["a", "b"], [1.0, 0.5], settings())
    np.testing.assert_allclose(s.log_var.numpy(), [0.0, math.log(2)], rtol=1e-6)
    with t.GradientTape() as tape:
        value = s.objective(t.constant([1.0, 3.0]))
    assert float(value) == pytest.approx(2.5 + math.log(2), rel=1e-6)
    np.testing.assert_allclose(tape.gradient(value, s.log_var).numpy(), [0.0, -0.5], atol=1e-6)
    np.testing.assert_allclose(s.current_weights().numpy(), [1.0, 0.5], rtol=1e-6)


def test_dynamic_weight_average():
    # r = [2/4, 1/1] = [0.5, 1]; T = 2: w = 2 exp(r/2) / sum = [0.8757, 1.1243].
    expected = 2 * np.exp([0.25, 0.5]) / np.exp([0.25, 0.5]).sum()
    np.testing.assert_allclose(w.dwa_weights([2.0, 1.0], [4.0, 1.0], 2.0), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [0.8757, 1.1243], atol=1e-4)
    s = w.make_strategy("dwa", ["a", "b"], [1.0, 1.0], settings(dwa_temperature=2.0))
    s.after_epoch(np.array([4.0, 1.0]))
    np.testing.assert_allclose(s.w.numpy(), [1.0, 1.0])  # first two epochs: weights 1
    s.after_epoch(np.array([2.0, 1.0]))
    np.testing.assert_allclose(s.w.numpy(), expected, rtol=1e-6)


def test_gradnorm_moves_weights_toward_balanced_gradient_norms():
    # Shared weight W = 1; L1 = 2W, L2 = W: gradient norms n = [2, 1].
    # First step: L(0) = L, so r = [1, 1] and the target is mean(G) = 1.5 for
    # both. G = w n = [2, 1]: dL_grad/dw = sign(G - target) n = [2, -1].
    # Adam's first step moves each weight by lr against the gradient's sign:
    # w = [0.9, 1.1], which already sums to K = 2.
    s = w.make_strategy(
        "gradnorm", ["a", "b"], [1.0, 1.0], settings(gradnorm_alpha=1.5, optimizer=_adam(0.1))
    )
    shared = t.Variable([1.0])
    s.last_shared = [0]
    with t.GradientTape(persistent=True) as tape:
        terms = s.terms(t.stack([2.0 * shared[0], shared[0]]), None)
    grads = s.gradients(tape, terms, [shared], [0], t.constant(1, t.int64))
    # The model's gradient uses the weights before the update: 1*2 + 1*1.
    assert float(grads[0][0]) == pytest.approx(3.0)
    np.testing.assert_allclose(s.w.numpy(), [0.9, 1.1], rtol=1e-4)
    np.testing.assert_allclose(s.initial.numpy(), [2.0, 1.0])


def test_gradnorm_weight_gradient_by_hand():
    from mtl_studio.training.weighting_math import gradnorm_weight_gradient

    weights, norms, losses = t.constant([1.0, 1.0]), t.constant([2.0, 1.0]), t.constant([1.0, 1.0])
    initial = t.constant([1.0, 2.0])
    # alpha = 0: target = mean(G) = 1.5; G = [2, 1] -> sign [+, -] times n = [2, -1].
    grad = gradnorm_weight_gradient(weights, norms, losses, initial, 0.0)
    np.testing.assert_allclose(grad.numpy(), [2.0, -1.0])
    # alpha = 1: r = [1, .5] / .75 = [4/3, 2/3]; target = 1.5 r = [2, 1] = G: no push.
    grad = gradnorm_weight_gradient(weights, norms, losses, initial, 1.0)
    np.testing.assert_allclose(grad.numpy(), [0.0, 0.0], atol=1e-6)


def test_gradnorm_renormalises_a_live_change():
    s = w.make_strategy("gradnorm", ["a", "b", "c"], [1.0, 1.0, 1.0], settings())
    s.set_weight(0, 4.0)
    np.testing.assert_allclose(s.w.numpy(), np.array([4.0, 1.0, 1.0]) * 3 / 6, rtol=1e-6)


def test_pcgrad_projects_away_conflicts():
    # g1 = [1, 0], g2 = [-1, 1]: g1.g2 = -1 < 0.
    # g1' = g1 - (-1/|g2|^2) g2 = [0.5, 0.5]; g2' = g2 - (-1/|g1|^2) g1 = [0, 1].
    flat = t.constant([[1.0, 0.0], [-1.0, 1.0]])
    out = w.pcgrad_project(flat, t.constant(0, t.int64), 0).numpy()
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.0, 1.0]], atol=1e-6)
    # Gradients that agree are left alone.
    agree = t.constant([[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        w.pcgrad_project(agree, t.constant(0, t.int64), 0).numpy(), agree.numpy()
    )


def test_mgda_min_norm_two_tasks_closed_form():
    # g1 = [1, 0], g2 = [0, 2]: alpha = (g2.g2 - g1.g2) / |g1 - g2|^2 = 4 / 5.
    alpha = w.min_norm_coefficients(t.constant([[1.0, 0.0], [0.0, 2.0]])).numpy()
    np.testing.assert_allclose(alpha, [0.8, 0.2], rtol=1e-6)
    # One gradient inside the other's direction: all weight on the smaller.
    alpha = w.min_norm_coefficients(t.constant([[1.0, 0.0], [3.0, 0.0]])).numpy()
    np.testing.assert_allclose(alpha, [1.0, 0.0])


def test_mgda_min_norm_three_tasks_frank_wolfe():
    # e1, e2, e1 + e2: the min-norm point is (e1 + e2) / 2 with alpha [.5, .5, 0].
    flat = t.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    alpha = w.min_norm_coefficients(flat).numpy()
    np.testing.assert_allclose(alpha.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(alpha @ flat.numpy(), [0.5, 0.5], atol=1e-2)


def _adam(lr):
    from mtl_studio.core.settings import OptimizerSpec

    return OptimizerSpec("adam", lr)
