"""Blocks on the Keras side: the layers they build to, their weight counts
against Keras, what they compute (against the papers' formulas, by hand in
numpy), a .keras file that loads in Keras' safe mode, and training through
them in joint, GradNorm and alternating runs."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_studio.core.validation import parameter_count
from mtl_studio.training import events as ev
from mtl_studio.training.builder import build_model
from mtl_studio.training.tf_import import keras
from mtl_studio.training.trainer import Trainer
from tests.helpers import block_project, with_data

BLOCKS = ("MMoE", "CGC", "PLE", "CrossStitch")


@pytest.mark.parametrize("kind", BLOCKS)
def test_block_builds_to_standard_layers_counted_as_keras_counts(kind, tmp_path):
    p = block_project(kind)
    built = build_model(p)
    model = built.model
    assert sum(parameter_count(p).values()) == model.count_params()
    names = built.blocks["blk"]
    assert built.layer_names("blk") == names
    standard = {"Dense", "Reshape", "Concatenate", "Dot"}
    assert {type(model.get_layer(n)).__name__ for n in names} <= standard
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    before = model({"x": x})
    path = tmp_path / "block.keras"
    model.save(path)
    again = keras().models.load_model(path, safe_mode=True)
    after = again({"x": x})
    for task in ("t0", "t1"):
        np.testing.assert_allclose(np.asarray(after[task]), np.asarray(before[task]), rtol=1e-6)


def _dense(model, name, h, activation=None):
    kernel, bias = (w.numpy() for w in model.get_layer(name).weights)
    z = h @ kernel + bias
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def test_mmoe_computes_each_task_s_gated_mixture_of_the_experts():
    """Ma et al. 2018, eq. (5)-(6): f^k(x) = sum_i g^k(x)_i f_i(x), g^k(x) = softmax(W_gk x)."""
    p = block_project("MMoE", experts=3, expert_units=[5, 4])
    model = build_model(p).model
    x = np.random.default_rng(1).normal(size=(6, 8)).astype("float32")
    experts = [
        _dense(model, f"blk_expert{i}_1", _dense(model, f"blk_expert{i}_0", x, "relu"), "relu")
        for i in range(3)
    ]
    mixer = keras().Model(model.inputs, [model.get_layer(f"blk_mix{k}").output for k in range(2)])
    got = mixer({"x": x})
    for k in range(2):
        gate = _dense(model, f"blk_gate{k}", x, "softmax")
        expected = sum(gate[:, i : i + 1] * experts[i] for i in range(3))
        np.testing.assert_allclose(np.asarray(got[k]), expected, rtol=1e-5, atol=1e-6)


def test_cgc_gates_mix_own_and_shared_experts_only():
    p = block_project("CGC", shared_experts=1, task_experts=2, expert_units=[3])
    model = build_model(p).model
    x = np.random.default_rng(2).normal(size=(5, 8)).astype("float32")
    mixer = keras().Model(model.inputs, [model.get_layer(f"blk_mix{k}").output for k in range(2)])
    got = mixer({"x": x})
    shared = _dense(model, "blk_shared0_0", x, "relu")
    for k in range(2):
        own = [_dense(model, f"blk_task{k}_{e}_0", x, "relu") for e in range(2)]
        gate = _dense(model, f"blk_gate{k}", x, "softmax")
        pool = own + [shared]  # the task's own experts, then the shared ones
        expected = sum(gate[:, i : i + 1] * pool[i] for i in range(3))
        np.testing.assert_allclose(np.asarray(got[k]), expected, rtol=1e-5, atol=1e-6)


def test_cross_stitch_starts_by_keeping_most_of_each_tower():
    """Misra et al. 2016: out_A = a_AA x_A + a_AB x_B, started at 0.9 / 0.1."""
    p = block_project("CrossStitch", share=0.1)
    model = build_model(p).model
    x = np.random.default_rng(3).normal(size=(4, 8)).astype("float32")
    probe = keras().Model(
        model.inputs,
        [model.get_layer(n).output for n in ("tower0", "tower1", "blk_out0", "blk_out1")],
    )
    a, b, out0, out1 = (np.asarray(t) for t in probe({"x": x}))
    np.testing.assert_allclose(out0, 0.9 * a + 0.1 * b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out1, 0.1 * a + 0.9 * b, rtol=1e-5, atol=1e-6)


def _losses(project, folder):
    """A run's step losses (NaN where alternating left a task out)."""
    seen = []

    def keep(events):
        seen.extend(v for e in events if isinstance(e, ev.StepLosses) for v in e.losses.values())

    trainer = Trainer(project, folder, keep, flush_seconds=0)
    assert trainer.run().status == "completed"
    assert seen, "no steps ran"
    return trainer, np.concatenate(seen)


@pytest.mark.parametrize(
    "kind, mode, weighting",
    [
        ("MMoE", "joint", "gradnorm"),
        ("PLE", "alternating", "fixed"),
        ("CrossStitch", "joint", "mgda"),
    ],
)
def test_training_runs_through_a_block(kind, mode, weighting, tmp_path):
    p = with_data(block_project(kind), tmp_path, rows=40)
    p.training.mode, p.training.weighting = mode, weighting
    p.training.epochs, p.training.batch_size = 2, 8
    p.training.validation_split = 0.0
    trainer, losses = _losses(p, tmp_path)
    assert np.isfinite(losses[~np.isnan(losses)]).all() and (~np.isnan(losses)).any()
    # The block's weights moved: its layers are trained as the trunk.
    watched = {"MMoE": "blk_gate0", "PLE": "blk_l1_gate1", "CrossStitch": "blk_unit0"}[kind]
    start = build_model(p).model.get_layer(watched)
    trained = trainer.model.get_layer(start.name)
    assert not np.allclose(trained.weights[0].numpy(), start.weights[0].numpy())


@pytest.mark.parametrize("mode, weighting", [("alternating", "fixed"), ("joint", "gradnorm")])
def test_a_block_port_that_feeds_no_task_is_left_out(mode, weighting, tmp_path):
    """Gate 2 feeds nothing: Keras leaves its layers out of the model, and
    neither the trainer nor the exported script may look for them."""
    from mtl_studio.export.script import write_script

    p = with_data(block_project("MMoE", tasks=3), tmp_path, rows=24)
    p.training.mode, p.training.weighting = mode, weighting
    p.training.epochs, p.training.batch_size, p.training.validation_split = 1, 8, 0.0
    built = build_model(p)
    assert "blk_gate2" not in built.layer_names("blk")
    assert {"blk_gate0", "blk_gate1", "blk_experts"} <= set(built.layer_names("blk"))
    for name in built.layer_names("blk"):
        built.model.get_layer(name)  # each one is in the model
    trainer, losses = _losses(p, tmp_path)
    assert (~np.isnan(losses)).any()
    script = tmp_path / "three_gates.py"
    write_script(p, tmp_path, script)
    assert '"blk_gate2"' not in script.read_text().split("def build_model")[0]
