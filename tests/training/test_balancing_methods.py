"""The balancing methods CAGrad, IMTL, RLW, GradVac, Aligned-MTL and FAMO:
each rule on a case worked by hand (tiny gradient matrices), each strategy's
step on variables whose gradients are known, and a short joint training run
of each on a tiny model."""

import math

import numpy as np
import pytest

from mtl_studio.core.settings import TrainingSettings
from mtl_studio.training import events as ev
from mtl_studio.training import weighting as w
from mtl_studio.training import weighting_math as wm
from mtl_studio.training.tf_import import tf
from mtl_studio.training.trainer import Trainer
from tests.training.conftest import regression_project, tiny_data

t = tf()
METHODS = ("cagrad", "imtl", "rlw", "gradvac", "aligned_mtl", "famo")
TOL = 1e-5


def settings(**kw):
    s = TrainingSettings()
    for key, value in kw.items():
        setattr(s, key, value)
    return s


def combined(coefficients, flat):
    """sum_k a_k g_k, in numpy."""
    return np.asarray(coefficients) @ np.asarray(flat)


def xla(fn):
    """The rule as the Trainer runs it: compiled with XLA."""
    return t.function(fn, jit_compile=True)


# --- CAGrad -------------------------------------------------------------------------


def test_cagrad_two_tasks_where_both_improve_equally():
    # g1 = (1, 0), g2 = (-1/2, 1), c = 1/2: g0 = (1/4, 1/2), |g0|^2 = 5/16,
    # r = sqrt(phi) = c |g0| = sqrt(5)/8. The primal: d = g0 + r v with |v| = 1
    # maximising min_k g_k.d. At an inner optimum both improve equally,
    # e.d = 0 for e = g1 - g2 = (3/2, -1): e.v = -e.g0 / r = (1/8) / r = 1/sqrt(5);
    # along e/|e| (|e| = sqrt(13)/2) that is 2/sqrt(65), across it
    # sqrt(1 - 4/65) = sqrt(61/65), on the side that helps both.
    e = np.array([1.5, -1.0]) / math.sqrt(3.25)
    across = np.array([1.0, 1.5]) / math.sqrt(3.25)
    v = 2 / math.sqrt(65) * e + math.sqrt(61 / 65) * across
    r = math.sqrt(5) / 8
    d = np.array([0.25, 0.5]) + r * v  # (0.457889, 0.686834)
    flat = np.array([[1.0, 0.0], [-0.5, 1.0]], np.float32)
    a = xla(lambda f: wm.cagrad_coefficients(f, 0.5))(t.constant(flat)).numpy()
    np.testing.assert_allclose(combined(a, flat), 2 * d, atol=TOL)  # K d: the sum's scale
    np.testing.assert_allclose(2 * d, [0.915779, 1.373668], atol=1e-6)
    # Its properties: both tasks improve by the same, and d is r from g0.
    g1, g2 = flat
    assert g1 @ d == pytest.approx(g2 @ d, abs=1e-12)
    assert np.linalg.norm(d - [0.25, 0.5]) == pytest.approx(r)


def test_cagrad_two_tasks_at_an_end_of_the_simplex():
    # g1 = (-4, 1, 1), g2 = (6, 1, 1), c = 1/2 (torchjd's example): g0 = (1, 1, 1),
    # r = sqrt(3)/2; with e = g1 - g2 = (-10, 0, 0), e.g0 = -10 and r |e| = 8.66
    # < 10: F(x) keeps falling toward w = (1, 0), g_w = g1 (|g1| = sqrt(18)):
    # d = g0 + r g1 / |g1| = (1 - sqrt(6)/3, 1 + sqrt(6)/12, 1 + sqrt(6)/12)
    #   = (0.183503, 1.204124, 1.204124).
    flat = np.array([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]], np.float32)
    d = np.ones(3) + math.sqrt(3) / 2 * flat[0] / math.sqrt(18)
    np.testing.assert_allclose(d, [0.183503, 1.204124, 1.204124], atol=1e-6)
    a = xla(lambda f: wm.cagrad_coefficients(f, 0.5))(t.constant(flat)).numpy()
    np.testing.assert_allclose(combined(a, flat) / 2, d, atol=TOL)


def test_cagrad_three_tasks_by_descent():
    # g1 = e1, g2 = e2, g3 = sqrt(2) e3, c = 0.9: g0 = (1, 1, sqrt 2) / 3,
    # |g0| = 2/3, r = 0.6. By symmetry w = (u, u, 1 - 2u):
    # F(u) = (2 - 2u)/3 + 0.6 sqrt(10u^2 - 8u + 2); F'(u) = 0 gives
    # 0.9 (10u - 4) = sqrt(10u^2 - 8u + 2), so 71u^2 - 56.8u + 10.96 = 0,
    # u = (56.8 + sqrt(113.6)) / 142 = 0.475059 (the root with 10u > 4).
    u = (56.8 + math.sqrt(113.6)) / 142
    g_w = np.array([u, u, math.sqrt(2) * (1 - 2 * u)])
    d = np.array([1, 1, math.sqrt(2)]) / 3 + 0.6 * g_w / np.linalg.norm(g_w)
    flat = np.diag([1.0, 1.0, math.sqrt(2)]).astype(np.float32)
    a = xla(lambda f: wm.cagrad_coefficients(f, 0.9))(t.constant(flat)).numpy()
    np.testing.assert_allclose(combined(a, flat), 3 * d, atol=TOL)
    np.testing.assert_allclose(3 * d, [2.265833, 2.265833, 1.602186], atol=1e-6)
    # Not in the descent's first guess: the third weight is small but not 0.
    assert 0 < 1 - 2 * u < 0.06


def test_cagrad_with_c_0_is_the_sum_of_the_gradients():
    flat = t.constant(np.random.default_rng(0).normal(size=(3, 5)), t.float32)
    np.testing.assert_allclose(wm.cagrad_coefficients(flat, 0.0).numpy(), [1, 1, 1])
    np.testing.assert_allclose(wm.cagrad_coefficients(flat[:2], 0.0).numpy(), [1, 1])


# --- IMTL ---------------------------------------------------------------------------


def test_imtl_g_equal_projections_on_the_unit_gradients():
    # g1 = (1, 0), g2 = (0, 2): u1 = (1, 0), u2 = (0, 1). The paper's closed
    # form: D = g1 - g2 = (1, -2), U = u1 - u2 = (1, -1),
    # a2 = g1.U / (D.U) = 1 / 3, a1 = 1 - a2 = 2/3; g = (2/3, 2/3), whose
    # projections on u1 and u2 are both 2/3.
    flat = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    a = xla(wm.imtl_coefficients)(t.constant(flat)).numpy()
    np.testing.assert_allclose(a, [2 / 3, 1 / 3], atol=TOL)
    np.testing.assert_allclose(combined(a, flat), [2 / 3, 2 / 3], atol=TOL)
    # Three orthogonal gradients of norms 1, 2, 4: a_k |g_k| equal, a = (4, 2, 1)/7.
    flat = np.diag([1.0, 2.0, 4.0]).astype(np.float32)
    a = xla(wm.imtl_coefficients)(t.constant(flat)).numpy()
    np.testing.assert_allclose(a, np.array([4, 2, 1]) / 7, atol=TOL)


def test_imtl_step_scales_the_losses_and_combines_the_shared_gradients():
    # Shared theta (2), a head h: L_a = theta.(1, 0), L_b = theta.(0, 2) + 3 h.
    # Scales start at the task weights (1, 1): s = 0. IMTL-G on the scaled
    # losses' shared gradients (1, 0), (0, 2): a = (2/3, 1/3), so theta gets
    # (2/3, 2/3); the head h its own scaled loss's gradient, 3; each s_k
    # d(e^s L - s)/ds = e^s L - 1 with L = (2, 3.5): (1, 2.5).
    s = w.make_strategy("imtl", ["a", "b"], [1.0, 1.0], settings())
    theta, head = t.Variable([2.0, 0.5]), t.Variable(1.0)
    with t.GradientTape(persistent=True) as tape:
        losses = t.stack([theta[0], 2.0 * theta[1] + 3.0 * head])
        terms = s.terms(losses, None)
    np.testing.assert_allclose(losses.numpy(), [2.0, 4.0])
    grads = s.gradients(tape, terms, [theta, head], [0], t.constant(1, t.int64))
    np.testing.assert_allclose(grads[0].numpy(), [2 / 3, 2 / 3], atol=TOL)
    assert float(grads[1]) == pytest.approx(3.0)
    np.testing.assert_allclose(grads[2].numpy(), [1.0, 3.0], atol=TOL)  # e^0 L - 1
    np.testing.assert_allclose(s.current_weights().numpy(), [2 / 3, 1 / 3], atol=TOL)
    # A live weight sets the scale: e^s = 2.
    s.set_weight(1, 2.0)
    np.testing.assert_allclose(s.log_scale.numpy(), [0.0, math.log(2)], atol=1e-6)


# --- RLW ----------------------------------------------------------------------------


def test_rlw_weights_are_a_softmax_of_normal_draws_from_seed_and_step():
    u = wm.uniform_draws(6, t.constant(4, t.int64), 7).numpy().astype(np.float64)
    draws = np.sqrt(-2 * np.log(u[:3])) * np.cos(2 * np.pi * u[3:])  # Box-Muller
    expected = np.exp(draws) / np.exp(draws).sum()
    got = wm.rlw_weights(3, t.constant(4, t.int64), 7).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(got, wm.rlw_weights(3, t.constant(4, t.int64), 7).numpy())
    assert not np.allclose(got, wm.rlw_weights(3, t.constant(5, t.int64), 7).numpy())
    assert not np.allclose(got, wm.rlw_weights(3, t.constant(4, t.int64), 8).numpy())


def test_rlw_step_uses_the_draw_times_the_task_weights():
    # L_a = 2 theta, L_b = theta: the gradient is 2 l_a w_a + l_b w_b.
    s = w.make_strategy("rlw", ["a", "b"], [1.0, 0.5], settings(), seed=3)
    lam = wm.rlw_weights(2, t.constant(9, t.int64), 3).numpy()
    theta = t.Variable(1.0)
    with t.GradientTape() as tape:
        terms = s.terms(t.stack([2.0 * theta, theta]), None)
    grads = s.gradients(tape, terms, [theta], [], t.constant(9, t.int64))
    assert float(grads[0]) == pytest.approx(2 * lam[0] * 1.0 + lam[1] * 0.5, rel=1e-6)
    np.testing.assert_allclose(s.current_weights().numpy(), lam * [1.0, 0.5], rtol=1e-6)


# --- GradVac ------------------------------------------------------------------------


def test_gradvac_lifts_each_cosine_to_its_target():
    # g1 = (1, 0), g2 = (-1, 1): cos = -1/sqrt 2, below the targets 1/2. The
    # lift of g1 along g2: |g1| (t sqrt(1 - cos^2) - cos sqrt(1 - t^2)) /
    # (|g2| sqrt(1 - t^2)) = (1 + sqrt 3) / (2 sqrt 3) = 0.788675; of g2 along
    # g1: (1 + sqrt 3) / sqrt 3 = 1.577350. The sum: (1 + 1.577350) g1 +
    # (1 + 0.788675) g2 = (0.788675, 1.788675). Targets move by
    # beta (cos - t): 0.5 + 0.01 (-0.707107 - 0.5) = 0.487929.
    flat = np.array([[1.0, 0.0], [-1.0, 1.0]], np.float32)
    targets = t.constant([[0.0, 0.5], [0.5, 0.0]])
    c, moved = xla(lambda f, tg: wm.gradvac_coefficients(f, tg, 0.01, t.constant(1, t.int64), 0))(
        t.constant(flat), targets
    )
    lift_1, lift_2 = (1 + math.sqrt(3)) / (2 * math.sqrt(3)), (1 + math.sqrt(3)) / math.sqrt(3)
    np.testing.assert_allclose(c.numpy(), [1 + lift_2, 1 + lift_1], atol=TOL)
    np.testing.assert_allclose(combined(c, flat), [0.788675, 1.788675], atol=TOL)
    target = 0.5 + 0.01 * (-1 / math.sqrt(2) - 0.5)
    np.testing.assert_allclose(moved.numpy(), [[0, target], [target, 0]], atol=1e-6)
    # g1 lifted: its cosine with g2 is the target.
    g1 = flat[0] + lift_1 * flat[1]
    cos = g1 @ flat[1] / np.linalg.norm(g1) / np.linalg.norm(flat[1])
    assert cos == pytest.approx(0.5, abs=1e-12)


def test_gradvac_with_targets_0_is_pcgrad_and_leaves_agreeing_gradients_alone():
    # Targets 0: PCGrad's projections, g1' = (1/2, 1/2), g2' = (0, 1).
    flat = t.constant([[1.0, 0.0], [-1.0, 1.0]])
    c, _ = wm.gradvac_coefficients(flat, t.zeros([2, 2]), 0.01, t.constant(1, t.int64), 0)
    np.testing.assert_allclose(combined(c, flat.numpy()), [0.5, 1.5], atol=TOL)
    # cos = 1/sqrt 2 above the targets 0: nothing lifted, the targets move.
    agree = t.constant([[1.0, 0.0], [1.0, 1.0]])
    c, moved = wm.gradvac_coefficients(agree, t.zeros([2, 2]), 0.5, t.constant(1, t.int64), 0)
    np.testing.assert_allclose(c.numpy(), [1.0, 1.0])
    half = 0.5 / math.sqrt(2)
    np.testing.assert_allclose(moved.numpy(), [[0, half], [half, 0]], atol=1e-6)


def test_gradvac_strategy_keeps_its_targets_between_steps():
    s = w.make_strategy("gradvac", ["a", "b"], [1.0, 1.0], settings(gradvac_beta=0.5))
    theta = t.Variable([0.0, 0.0])
    for _ in range(2):
        with t.GradientTape(persistent=True) as tape:
            terms = s.terms(t.stack([theta[0], theta[0] + theta[1]]), None)
        s.gradients(tape, terms, [theta], [0], t.constant(1, t.int64))
    # g = (1, 0), (1, 1): cos 1/sqrt 2 each step; 0 -> 0.354 -> 0.530.
    cos = 1 / math.sqrt(2)
    np.testing.assert_allclose(s.targets.numpy()[0, 1], 0.75 * cos, atol=1e-6)
    assert set(s.state()) == {"w", "targets", "reported"}


# --- Aligned-MTL --------------------------------------------------------------------


def test_aligned_mtl_orthogonal_gradients_of_the_smallest_norm():
    # g1 = (1, 0), g2 = (0, 2): Gram diag(1, 4), lambda_min = 1,
    # B = diag(1, 1/2), a = B 1 = (1, 1/2): the aligned gradients (1, 0), (0, 1).
    flat = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    np.testing.assert_allclose(
        xla(wm.aligned_mtl_coefficients)(t.constant(flat)).numpy(), [1.0, 0.5], atol=TOL
    )
    # g1 = (1, 0), g2 = (1, 1): Gram [[1, 1], [1, 2]], eigenvalues (3 -+ sqrt 5)/2,
    # sigma_min = (sqrt 5 - 1)/2. The aligned gradients G^T B are sigma_min
    # times the orthogonal polar factor of G^T = [[1, 1], [0, 1]]:
    # [[2, 1], [-1, 2]] / sqrt 5. Their sum: sigma_min (3, 1) / sqrt 5
    # = (0.829180, 0.276393) = a1 g1 + a2 g2, a = (0.552786, 0.276393).
    flat = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
    sigma = (math.sqrt(5) - 1) / 2
    update = sigma * np.array([3.0, 1.0]) / math.sqrt(5)
    a = xla(wm.aligned_mtl_coefficients)(t.constant(flat)).numpy()
    np.testing.assert_allclose(combined(a, flat), update, atol=TOL)
    np.testing.assert_allclose(a, [update[0] - update[1], update[1]], atol=TOL)


# --- FAMO ---------------------------------------------------------------------------


def test_famo_weights_and_logit_update():
    # Logits 0: z = (1/2, 1/2). Losses (1, 4): the step's gradient weights are
    # (z_k / L_k) / sum = (1/2, 1/8) / (5/8) = (0.8, 0.2).
    logits = t.constant([0.0, 0.0])
    np.testing.assert_allclose(
        wm.famo_weights(logits, t.constant([1.0, 4.0])).numpy(), [0.8, 0.2], atol=1e-6
    )
    # After the step the losses are (0.5, 3): delta = (log 2, log 4/3); the
    # softmax Jacobian: z (delta - z.delta) = +-(log 2 - log 4/3) / 4 = +-log(3/2)/4.
    grad = wm.famo_logit_gradient(logits, t.constant([1.0, 4.0]), t.constant([0.5, 3.0]), 0.0)
    np.testing.assert_allclose(grad.numpy(), [math.log(1.5) / 4, -math.log(1.5) / 4], atol=1e-6)
    # The decay: losses unchanged, logits (1, -1), gamma 0.001: the gradient is gamma xi.
    decay = wm.famo_logit_gradient(
        t.constant([1.0, -1.0]), t.constant([1.0, 4.0]), t.constant([1.0, 4.0]), 0.001
    )
    np.testing.assert_allclose(decay.numpy(), [0.001, -0.001], atol=1e-9)


def test_famo_step_and_adam_update_of_the_logits():
    # L_a = theta, L_b = 4 theta at theta = 1: weights (0.8, 0.2) as above, so
    # the model's gradient is 0.8 * 1 + 0.2 * 4 = 1.6. The losses after the
    # update are given as (0.5, 3): Adam's first step moves each logit by the
    # learning rate against its gradient's sign: (-0.025, +0.025).
    s = w.make_strategy("famo", ["a", "b"], [1.0, 1.0], settings())
    theta = t.Variable(1.0)
    with t.GradientTape() as tape:
        losses = t.stack([theta, 4.0 * theta])
        terms = s.terms(losses, None)
    grads = s.gradients(tape, terms, [theta], [], t.constant(1, t.int64))
    assert float(grads[0]) == pytest.approx(1.6, rel=1e-6)
    np.testing.assert_allclose(s.current_weights().numpy(), [0.5, 0.5])
    s.after_update(losses, lambda: t.constant([0.5, 3.0]))
    np.testing.assert_allclose(s.logits.numpy(), [-0.025, 0.025], atol=TOL)
    # Logits start at log w: z proportional to the task weights.
    s = w.make_strategy("famo", ["a", "b"], [1.0, 3.0], settings())
    np.testing.assert_allclose(s.current_weights().numpy(), [0.25, 0.75], atol=1e-6)


# --- joint training runs ----------------------------------------------------------------


def run(weighting, mode="joint", epochs=4):
    project = regression_project(mode, weighting)
    project.training.epochs = epochs
    found = []
    trainer = Trainer(project, callback=found.extend, data=tiny_data())
    finished = trainer.run()
    losses = {
        task: np.concatenate([e.losses[task] for e in found if isinstance(e, ev.StepLosses)])
        for task in ("a", "b")
    }
    weights = np.array([list(e.weights.values()) for e in found if isinstance(e, ev.Weights)])
    return trainer, finished, losses, weights


@pytest.mark.parametrize(
    "weighting, mode",
    [(m, "joint") for m in METHODS] + [("rlw", "soft_sharing"), ("famo", "soft_sharing")],
)
def test_a_short_joint_run_trains(weighting, mode):
    trainer, finished, losses, weights = run(weighting, mode)
    assert finished.status == "completed", finished.message
    assert trainer.xla and not trainer.xla_error  # the step compiled with XLA
    assert trainer.step == 32  # 4 epochs of 8 steps
    for task, values in losses.items():
        assert np.all(np.isfinite(values)), task
        assert values[-8:].mean() < values[:8].mean(), task  # falling
    assert len(weights) and np.all(np.isfinite(weights))


def test_random_draws_are_the_same_with_and_without_xla_and_look_uniform():
    """RLW, PCGrad and GradVac draw from (seed, step) in the compiled step,
    which runs with XLA on one device and without under tf.distribute: the
    draws must not depend on it (TensorFlow's stateless ops do)."""
    for step, seed in ((0, 0), (7, 3), (2**40, 2**32 - 1)):
        plain = wm.uniform_draws(64, t.constant(step, t.int64), seed).numpy()
        compiled = xla(wm.uniform_draws)(64, t.constant(step, t.int64), seed).numpy()
        np.testing.assert_array_equal(plain, compiled)
        assert np.all((plain > 0) & (plain < 1))
    many = wm.uniform_draws(100_000, t.constant(5, t.int64), 1).numpy()
    counts, _ = np.histogram(many, bins=10, range=(0, 1))
    assert counts.min() > 9_500 and counts.max() < 10_500  # even deciles
    # Neighbouring steps and seeds are not correlated.
    other = wm.uniform_draws(100_000, t.constant(6, t.int64), 1).numpy()
    assert abs(np.corrcoef(many, other)[0, 1]) < 0.02
    np.testing.assert_array_equal(
        xla(wm.rlw_weights)(3, t.constant(9, t.int64), 2).numpy(),
        wm.rlw_weights(3, t.constant(9, t.int64), 2).numpy(),
    )


def test_the_reported_weights_are_those_of_the_step():
    """RLW's weights change every step and are reported as drawn: the step
    losses' weighted total uses the draw of that step."""
    project = regression_project("joint", "rlw")
    project.training.epochs = 1
    found = []
    Trainer(project, callback=found.extend, data=tiny_data(), flush_seconds=0).run()
    steps = [e for e in found if isinstance(e, ev.StepLosses)]
    totals = np.concatenate([e.total for e in steps])
    a = np.concatenate([e.losses["a"] for e in steps])
    b = np.concatenate([e.losses["b"] for e in steps])
    for step in (1, 5):
        lam = xla(wm.rlw_weights)(2, t.constant(step, t.int64), 0).numpy() * [1.0, 0.5]
        i = step - 1
        assert totals[i] == pytest.approx(lam[0] * a[i] + lam[1] * b[i], rel=1e-5)


def test_learned_scales_start_at_the_logarithm_of_the_weights_set():
    from mtl_studio.training.weighting_math import log_weights

    got = log_weights([1.0, 0.5, 0.0])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [0.0, np.log(0.5), np.log(1e-6)], rtol=1e-6)
