"""A model built with blocks comes back from its .keras file as the block
nodes, and layers only named like a block come back as layers."""

from __future__ import annotations

import numpy as np

from mtl_studio.core.graph import Edge
from mtl_studio.export.keras_import import import_keras
from mtl_studio.training.builder import build_model
from mtl_studio.training.tf_import import keras
from tests.export.test_script_blocks import block_zoo


def test_a_built_model_comes_back_as_its_blocks(tmp_path):
    project = block_zoo()
    path = tmp_path / "blocks.keras"
    build_model(project).model.save(path)
    result = import_keras(path)
    back = result.project
    kinds = {n.name: n.kind for n in back.nodes.values()}
    for name in ("blk", "cgc", "stitch", "moe"):
        assert kinds[name] == project.node(name).kind, name
        assert back.node_by_name(name).params == project.node(name).params, name
    assert not any(name.startswith("moe_") for name in kinds)
    ids = {n.name: n.id for n in back.nodes.values()}
    assert Edge(ids["cgc"], ids["tb"], 0, 1) in back.edges
    assert Edge(ids["blk"], ids["cat1"], 0, 1) in back.edges
    assert sum("came back as that one block node" in n for n in result.notes) == 4
    # Built again, the project is the same model: same layers, same outputs.
    again = build_model(back).model
    theirs = keras().models.load_model(path, safe_mode=True)
    assert sorted(x.name for x in again.layers) == sorted(x.name for x in theirs.layers)
    for layer in again.layers:
        layer.set_weights(theirs.get_layer(layer.name).get_weights())
    x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    mine, saved = again({"x": x}), theirs({"x": x})
    for task in mine:
        np.testing.assert_allclose(np.asarray(mine[task]), np.asarray(saved[task]), rtol=1e-6)


def test_layers_only_named_like_a_block_come_back_as_layers(tmp_path):
    k = keras()
    x = k.Input((4,), name="x")
    expert = k.layers.Dense(3, activation="relu", name="m_expert0_0")(x)
    row = k.layers.Reshape((1, 3), name="m_expert0_row")(expert)
    gate = k.layers.Dense(1, activation="softmax", name="m_gate0")(expert)  # not on the input
    mix = k.layers.Dot(axes=1, name="m_mix0")([gate, row])
    out = k.layers.Dense(1, name="out")(mix)
    path = tmp_path / "lookalike.keras"
    k.Model(x, {"out": out}).save(path)
    result = import_keras(path)
    kinds = sorted(n.kind for n in result.project.nodes.values())
    assert "MMoE" not in kinds and kinds.count("Dense") == 2
    assert any("built otherwise: they came back as layers" in n for n in result.notes)
    assert np.isfinite(build_model(result.project).model.count_params())
