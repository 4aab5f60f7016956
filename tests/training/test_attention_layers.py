"""Dot and MultiHeadAttention built by the builder: equal to hand-written
Keras, weight counts equal to Keras' own, and a small transformer-encoder
trunk from catalogue layers only that trains, saves and loads in Keras'
safe mode and comes back through the .keras import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtl_studio.core.graph import Edge
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import errors, parameter_count, validate
from mtl_studio.export.keras_import import import_keras
from mtl_studio.training import events as ev
from mtl_studio.training.builder import BuildError, build_model, save_keras
from mtl_studio.training.tf_import import keras
from mtl_studio.training.trainer import Trainer
from tests.helpers import chain, node

k = keras()
STEPS = 6  # sequence length of the transformer data


def mixture_project() -> Project:
    """MMoE's gated mixture with plain layers: two experts as rows [1, 4]
    stacked into [2, 4], a softmax gate [2], their Dot over axis 1: [4]."""
    p = Project("mixture")
    node(p, "x", "Input", shape=[5])
    for e in ("e0", "e1"):
        node(p, e, "Dense", units=4, activation="relu")
        node(p, f"{e}_row", "Reshape", target_shape=[1, 4])
        chain(p, "x", e, f"{e}_row")
    node(p, "experts", "Concatenate", axis=1)
    node(p, "gate", "Dense", units=2, activation="softmax")
    node(p, "mix", "Dot", axes=1)
    node(p, "out", "Output", units=1)
    chain(p, "e0_row", "experts")
    chain(p, "e1_row", "experts")
    chain(p, "x", "gate", "mix")
    chain(p, "experts", "mix", "out")
    p.add_task(Task("y", "out", "mse"))
    return p


def test_a_dot_mixture_of_stacked_experts_equals_hand_written_keras():
    project = mixture_project()
    built = build_model(project)
    assert built.model.get_layer("mix").output.shape == (None, 4)

    x = k.Input((5,), name="x")
    e0, e1 = k.layers.Dense(4, activation="relu"), k.layers.Dense(4, activation="relu")
    gate, out = k.layers.Dense(2, activation="softmax"), k.layers.Dense(1)
    rows = [k.layers.Reshape((1, 4))(e(x)) for e in (e0, e1)]
    experts = k.layers.Concatenate(axis=1)(rows)
    hand = k.Model(x, out(k.layers.Dot(axes=1)([gate(x), experts])))
    for layer, name in ((e0, "e0"), (e1, "e1"), (gate, "gate"), (out, "out")):
        layer.set_weights(built.model.get_layer(name).get_weights())

    data = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(built.model({"x": data})["y"], hand(data), rtol=1e-5, atol=1e-6)
    # The mixture is sum_i g_i e_i, computed by hand.
    m = built.model
    g = np.asarray(m.get_layer("gate")(data))
    ex = [np.asarray(m.get_layer(e)(data)) for e in ("e0", "e1")]
    mix = k.Model(m.inputs, m.get_layer("mix").output)({"x": data})
    np.testing.assert_allclose(mix, g[:, :1] * ex[0] + g[:, 1:] * ex[1], rtol=1e-5, atol=1e-6)


def test_a_normalized_dot_is_the_cosine_similarity():
    p = Project("cosine")
    node(p, "a", "Input", shape=[3])
    node(p, "b", "Input", shape=[3])
    node(p, "cos", "Dot", normalize=True)
    node(p, "out", "Output", units=1)
    chain(p, "a", "cos", "out")
    chain(p, "b", "cos")
    p.add_task(Task("y", "out", "mse"))
    model = build_model(p).model
    cos = k.Model(model.inputs, model.get_layer("cos").output)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    want = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(np.asarray(cos({"a": a, "b": b}))[:, 0], want, rtol=1e-5)


def attention_project(n_inputs: int, **params) -> Project:
    """q (5, 4), v (7, 3), key (7, 6): an attention node on the first
    n_inputs of them, pooled into one task."""
    p = Project("attention")
    shapes = {"q": [5, 4], "v": [7, 3], "key": [7, 6]}
    node(p, "att", "MultiHeadAttention", **params)
    for port, name in enumerate(list(shapes)[:n_inputs]):
        node(p, name, "Input", shape=shapes[name])
        p.connect(Edge(name, "att", port))
    node(p, "pool", "GlobalAveragePooling1D")
    node(p, "out", "Output", units=1)
    chain(p, "att", "pool", "out")
    p.add_task(Task("y", "out", "mse"))
    return p


@pytest.mark.parametrize(
    "n_inputs, params",
    [
        (1, {"num_heads": 2, "key_dim": 3}),
        (2, {"num_heads": 1, "key_dim": 2, "value_dim": 5, "use_bias": False}),
        (3, {"num_heads": 3, "key_dim": 2, "value_dim": 4, "dropout": 0.2}),
    ],
)
def test_attention_equals_keras_called_as_query_value_key(n_inputs, params):
    project = attention_project(n_inputs, **params)
    built = build_model(project)
    layer = built.model.get_layer("att")
    assert layer.count_params() == parameter_count(project)["att"]

    q = k.Input((5, 4), name="q")
    others = [k.Input(s, name=n) for n, s in (("v", (7, 3)), ("key", (7, 6)))][: n_inputs - 1]
    value_dim = params.get("value_dim") or None
    att = k.layers.MultiHeadAttention(**{**params, "value_dim": value_dim})
    out = k.layers.Dense(1)
    args = [q, *others] if others else [q, q]  # one input: self-attention
    hand = k.Model([q, *others], out(k.layers.GlobalAveragePooling1D()(att(*args))))
    att.set_weights(layer.get_weights())
    out.set_weights(built.model.get_layer("out").get_weights())
    assert att.count_params() == layer.count_params()

    rng = np.random.default_rng(2)
    data = {
        n: rng.normal(size=(2, *s)).astype("float32")
        for n, s in (("q", (5, 4)), ("v", (7, 3)), ("key", (7, 6)))
    }
    feed = {n: data[n] for n in built.input_names}
    np.testing.assert_allclose(
        built.model(feed)["y"],
        hand([data[n] for n in ["q", "v", "key"][:n_inputs]]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_attention_with_a_gap_in_its_ports_is_not_built():
    project = attention_project(1, num_heads=1, key_dim=2)
    node(project, "key", "Input", shape=[5, 4])
    project.connect(Edge("key", "att", 2))
    with pytest.raises(BuildError, match="none on port 1 \\(value\\)"):
        build_model(project)


# --- a transformer-encoder trunk ----------------------------------------------------


def transformer_project(folder: Path, rows: int = 96) -> Project:
    """Token ids (padded with 0) and their position ids (1, 2, ... and 0
    at the padding), each embedded with mask_zero and added (Keras' Add
    keeps a mask only when each input has one); one encoder block (self-attention, Add, LayerNormalization, a
    Dense feed-forward pair, Add, LayerNormalization); mean-pooled over the
    tokens (the padding masked) into two tasks: how many tokens there are
    (regression) and whether token 3 is one of them (a class)."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(2, STEPS + 1, size=rows)
    tokens = rng.integers(1, 10, size=(rows, STEPS))
    tokens[np.arange(STEPS)[None, :] >= lengths[:, None]] = 0
    np.savez(
        folder / "sequences.npz",
        tokens=tokens,
        positions=np.arange(1, STEPS + 1)[None, :] * (tokens != 0),
        length=lengths[:, None].astype(float),
        has3=(tokens == 3).any(axis=1).astype(int),
    )
    p = Project("encoder")
    node(p, "tokens", "Input", shape=[STEPS], dtype="int32")
    node(p, "positions", "Input", shape=[STEPS], dtype="int32")
    node(p, "token_emb", "Embedding", input_dim=10, output_dim=8, mask_zero=True)
    node(p, "pos_emb", "Embedding", input_dim=STEPS + 1, output_dim=8, mask_zero=True)
    node(p, "embed", "Add")
    node(p, "attention", "MultiHeadAttention", num_heads=2, key_dim=4)
    node(p, "residual1", "Add")
    node(p, "norm1", "LayerNormalization")
    node(p, "ff1", "Dense", units=16, activation="relu")
    node(p, "ff2", "Dense", units=8, activation="linear")
    node(p, "residual2", "Add")
    node(p, "norm2", "LayerNormalization")
    node(p, "pool", "GlobalAveragePooling1D")
    node(p, "count", "Output", units=1)
    node(p, "has3", "Output", units=2, activation="softmax")
    chain(p, "tokens", "token_emb", "embed")
    chain(p, "positions", "pos_emb", "embed")
    chain(p, "embed", "attention", "residual1", "norm1", "ff1", "ff2", "residual2", "norm2")
    chain(p, "embed", "residual1")
    chain(p, "norm1", "residual2")
    chain(p, "norm2", "pool", "count")
    chain(p, "pool", "has3")
    p.add_task(Task("length", "count", "mse", target=["length"]))
    p.add_task(Task("has3", "has3", "sparse_categorical_crossentropy", target=["has3"]))
    p.data = DataSource(
        "npz",
        path=str(folder / "sequences.npz"),
        inputs={"tokens": ["tokens"], "positions": ["positions"]},
        standardize_targets=True,
    )
    p.training.batch_size = 16
    p.training.epochs = 8
    p.training.learning_rate = 0.01
    p.training.validation_split = 0.0
    return p


def test_a_transformer_encoder_trunk_trains_on_sequences(tmp_path):
    project = transformer_project(tmp_path)
    assert not errors(validate(project))
    shapes_ok = build_model(project).model
    assert shapes_ok.get_layer("ff1").output.shape == (None, STEPS, 16)  # Dense keeps the steps
    losses: list = []
    trainer = Trainer(
        project,
        tmp_path,
        lambda evs: losses.extend(e.total for e in evs if isinstance(e, ev.StepLosses)),
        flush_seconds=0,
    )
    finished = trainer.run()
    assert finished.status == "completed", finished.message
    total = np.concatenate(losses)
    assert len(total) == 8 * 6 and np.all(np.isfinite(total))
    assert total[-6:].mean() < 0.5 * total[:6].mean()


def test_the_encoder_masks_padding_saves_and_loads_in_safe_mode(tmp_path):
    project = transformer_project(tmp_path, rows=8)
    built = build_model(project)
    model = built.model
    counts = parameter_count(project)
    for node_id, n in project.nodes.items():
        if n.kind != "Input":
            assert model.get_layer(n.name).count_params() == counts[node_id], node_id
    tokens = np.array([[4, 3, 7, 0, 0, 0], [5, 1, 2, 8, 9, 6]], "int32")
    positions = (np.arange(1, STEPS + 1) * (tokens != 0)).astype("int32")
    out = model({"tokens": tokens, "positions": positions})
    # Padded steps are masked in the attention and the pooling: the vectors
    # of id 0, which the padding embeds to, change nothing.
    for name in ("token_emb", "pos_emb"):
        (table,) = model.get_layer(name).get_weights()
        table[0] = 5.0
        model.get_layer(name).set_weights([table])
    again = model({"tokens": tokens, "positions": positions})
    for task in ("length", "has3"):
        np.testing.assert_allclose(out[task], again[task], rtol=1e-5, atol=1e-6)

    path = tmp_path / "encoder.keras"
    save_keras(model, path)
    loaded = k.saving.load_model(path, safe_mode=True)
    back = loaded({"tokens": tokens, "positions": positions})
    for task in ("length", "has3"):
        np.testing.assert_allclose(back[task], out[task], rtol=1e-6)

    # And back into a project: the same kinds, parameters and ports.
    imported = import_keras(path)
    assert imported.unknown == []
    p = imported.project
    for node_id, n in project.nodes.items():
        assert p.node(node_id).kind == n.kind
        assert p.node(node_id).params == {**p.node(node_id).params, **n.params}, node_id
    assert p.graph.predecessors("attention") == ["embed"]  # self-attention: one port
    assert sorted(p.graph.predecessors("residual1")) == ["attention", "embed"]


def test_the_import_keeps_attention_ports_and_dot_axes_and_cuts_what_it_cannot_hold(tmp_path):
    q, v, key = k.Input((5, 4), name="q"), k.Input((7, 3), name="v"), k.Input((7, 6), name="key")
    three = k.layers.MultiHeadAttention(2, 3, name="three")(q, v, key=key)
    two = k.layers.MultiHeadAttention(1, 2, value_dim=3, name="two")(three, v)
    causal = k.layers.MultiHeadAttention(1, 2, name="causal")(two, two, use_causal_mask=True)
    a = k.layers.GlobalAveragePooling1D(name="a")(causal)
    b = k.layers.GlobalMaxPooling1D(name="b")(two)
    dot = k.layers.Dot(axes=[1, 1], normalize=True, name="dot")([a, b])
    pair = k.layers.Dot(axes=(1, 2), name="pair")([q, k.layers.Permute((2, 1), name="t")(q)])
    flat = k.layers.Flatten(name="flat")(pair)
    model = k.Model(
        {"q": q, "v": v, "key": key},
        {"y": k.layers.Dense(1, name="y")(dot), "z": k.layers.Dense(1, name="z")(flat)},
    )
    path = tmp_path / "attention.keras"
    model.save(path)
    result = import_keras(path)
    p = result.project
    assert p.graph.predecessors("three") == ["q", "v", "key"]
    assert p.graph.predecessors("two") == ["three", "v"]
    assert p.node("two").params == {
        "num_heads": 1,
        "key_dim": 2,
        "value_dim": 3,
        "dropout": 0.0,
        "use_bias": True,
    }
    assert p.node("dot").kind == "Dot" and p.node("dot").params == {"axes": 1, "normalize": True}
    assert ("causal", "MultiHeadAttention") in result.unknown
    assert ("pair", "Dot") in result.unknown
    notes = " ".join(result.notes)
    assert "uses a causal mask, which a MultiHeadAttention node does not apply" in notes
    assert "sums over axes (1, 2), another axis in each input" in notes
