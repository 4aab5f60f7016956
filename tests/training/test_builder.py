import re

import numpy as np
import pytest

from mtl_studio.core.fileformat import load
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import parameter_count
from mtl_studio.examples import example_path
from mtl_studio.training.builder import BuildError, build_model
from mtl_studio.training.tf_import import keras
from tests.helpers import chain, node, two_task_project

k = keras()


def copy_weights(src, dst):
    for layer in dst.layers:
        if layer.weights:
            layer.set_weights(src.get_layer(layer.name).get_weights())


def test_energy_example_equals_hand_written_keras():
    project = load(example_path("energy"))
    built = build_model(project)

    x = k.Input((8,), name="features")
    h = k.layers.Dense(64, activation="relu", name="trunk_1")(x)
    h = k.layers.Dense(32, activation="relu", name="trunk_2")(h)
    a = k.layers.Dense(16, activation="relu", name="heating_hidden")(h)
    b = k.layers.Dense(16, activation="relu", name="cooling_hidden")(h)
    hand = k.Model(
        {"features": x},
        {
            "heating_load": k.layers.Dense(1, name="heating")(a),
            "cooling_load": k.layers.Dense(1, name="cooling")(b),
        },
    )
    copy_weights(built.model, hand)
    data = {"features": np.random.default_rng(0).normal(size=(5, 8)).astype("float32")}
    ours, theirs = built.model(data), hand(data)
    for task in ("heating_load", "cooling_load"):
        np.testing.assert_allclose(ours[task], theirs[task], rtol=1e-6)

    lines = []
    built.model.summary(print_fn=lambda line, **kw: lines.append(line))
    total = int(re.search(r"Total params: ([\d,]+)", "\n".join(lines)).group(1).replace(",", ""))
    assert total == hand.count_params() == sum(parameter_count(project).values()) == 3746
    assert built.input_names == ["features"]
    assert built.output_names == {"heating_load": "heating", "cooling_load": "cooling"}


def text_project() -> Project:
    """A sentence input and two position inputs (as in Keras' multi-input
    examples): an embedded BiLSTM trunk, a sentence-class head and a
    per-token tagging head."""
    p = Project("text")
    node(p, "tokens", "Input", shape=[12], dtype="int32")
    node(p, "pos1", "Input", shape=[12, 1])
    node(p, "pos2", "Input", shape=[12, 1])
    node(p, "embed", "Embedding", input_dim=50, output_dim=8)
    node(p, "merge", "Concatenate")
    node(p, "bilstm", "Bidirectional", units=6, return_sequences=True)
    node(p, "pool", "GlobalMaxPooling1D")
    node(p, "sentence", "Output", units=4, activation="softmax")
    node(p, "tags", "Output", units=5, activation="softmax")
    chain(p, "tokens", "embed", "merge")
    chain(p, "pos1", "merge")
    chain(p, "pos2", "merge")
    chain(p, "merge", "bilstm", "pool", "sentence")
    chain(p, "bilstm", "tags")
    p.add_task(Task("topic", "sentence", "sparse_categorical_crossentropy"))
    p.add_task(Task("tagging", "tags", "sparse_categorical_crossentropy"))
    return p


def test_multi_input_text_model_equals_hand_written_keras():
    built = build_model(text_project())
    tokens = k.Input((12,), dtype="int32", name="tokens")
    pos1, pos2 = k.Input((12, 1), name="pos1"), k.Input((12, 1), name="pos2")
    e = k.layers.Embedding(50, 8, name="embed")(tokens)
    m = k.layers.Concatenate(name="merge")([e, pos1, pos2])
    s = k.layers.Bidirectional(k.layers.LSTM(6, return_sequences=True), name="bilstm")(m)
    hand = k.Model(
        {"tokens": tokens, "pos1": pos1, "pos2": pos2},
        {
            "topic": k.layers.Dense(4, activation="softmax", name="sentence")(
                k.layers.GlobalMaxPooling1D(name="pool")(s)
            ),
            "tagging": k.layers.Dense(5, activation="softmax", name="tags")(s),
        },
    )
    copy_weights(built.model, hand)
    rng = np.random.default_rng(1)
    data = {
        "tokens": rng.integers(0, 50, size=(3, 12)).astype("int32"),
        "pos1": rng.normal(size=(3, 12, 1)).astype("float32"),
        "pos2": rng.normal(size=(3, 12, 1)).astype("float32"),
    }
    ours, theirs = built.model(data), hand(data)
    assert ours["tagging"].shape == (3, 12, 5)
    for task in ("topic", "tagging"):
        np.testing.assert_allclose(ours[task], theirs[task], rtol=1e-5, atol=1e-6)
    assert built.model.count_params() == hand.count_params()


def every_kind_project() -> Project:
    p = Project("zoo")
    node(p, "image", "Input", shape=[16, 16, 3])
    node(p, "conv", "Conv2D", filters=4, kernel_size=3)
    node(p, "bn", "BatchNormalization")
    node(p, "maxpool", "MaxPooling2D")
    node(p, "avgpool", "AveragePooling2D", pool_size=1)
    node(p, "gap", "GlobalAveragePooling2D")
    node(p, "gmp", "GlobalMaxPooling2D")
    node(p, "add", "Add")
    node(p, "flat", "Flatten")
    node(p, "drop", "Dropout", rate=0.1)
    node(p, "seq", "Reshape", target_shape=[-1, 2])
    node(p, "conv1", "Conv1D", filters=3, kernel_size=2, padding="same")
    node(p, "pool1", "MaxPooling1D")
    node(p, "apool1", "AveragePooling1D", pool_size=1)
    node(p, "gru", "GRU", units=5, return_sequences=True)
    node(p, "lstm", "LSTM", units=3)
    node(p, "bigru", "Bidirectional", layer="GRU", units=2)
    node(p, "gap1", "GlobalAveragePooling1D")
    node(p, "gmp1", "GlobalMaxPooling1D")
    node(p, "cat", "Concatenate")
    node(p, "ln", "LayerNormalization")
    node(p, "act", "Activation", activation="tanh")
    node(p, "dense", "Dense", units=6)
    node(p, "gate", "Dense", units=6)
    node(p, "softmax", "Softmax")
    node(p, "mul", "Multiply")
    node(p, "selfatt", "MultiHeadAttention", num_heads=1, key_dim=2)
    node(p, "att", "MultiHeadAttention", num_heads=2, key_dim=3, value_dim=4, use_bias=False)
    node(p, "gapatt", "GlobalAveragePooling1D")
    node(p, "dot", "Dot", normalize=True)
    node(p, "out1", "Output", units=2, activation="softmax")
    node(p, "out2", "Output", units=1)
    chain(p, "image", "conv", "bn", "maxpool", "avgpool", "gap", "add")
    chain(p, "maxpool", "gmp", "add")
    chain(p, "add", "flat", "drop", "seq", "conv1", "pool1", "apool1", "gru", "lstm", "cat")
    chain(p, "gru", "bigru", "cat")
    chain(p, "apool1", "gap1", "cat")
    chain(p, "apool1", "gmp1", "cat")
    chain(p, "cat", "ln", "act", "dense", "mul", "out1")
    chain(p, "act", "gate", "softmax", "mul")
    chain(p, "act", "out2")
    chain(p, "gru", "selfatt", "att", "gapatt", "cat")  # att: query, value, key
    chain(p, "pool1", "att")
    chain(p, "apool1", "att")
    chain(p, "gap1", "dot", "cat")
    chain(p, "gmp1", "dot")
    p.add_task(Task("kind", "out1", "sparse_categorical_crossentropy"))
    p.add_task(Task("size", "out2", "mse"))
    return p


def test_every_kind_builds_and_weight_counts_match_keras():
    project = every_kind_project()
    built = build_model(project)
    counts = parameter_count(project)
    for node_id, n in project.nodes.items():
        if n.kind != "Input":
            layer = built.model.get_layer(n.name)
            assert layer.count_params() == counts[node_id], n.label
    out = built.model({"image": np.zeros((2, 16, 16, 3), "float32")})
    assert out["kind"].shape == (2, 2) and out["size"].shape == (2, 1)


def test_soft_sharing_builds_a_tower_per_task_with_tied_weights():
    project = two_task_project()
    built = build_model(project, mode="soft_sharing")
    model = built.model
    assert [g.node_id for g in built.tied] == ["shared"]
    assert built.tied[0].layers == {"a": "shared_a", "b": "shared_b"}
    assert {"shared_a", "shared_b", "head_a", "out_a", "out_b"} <= {x.name for x in model.layers}
    pairs = built.tied_variables()
    assert len(pairs) == 2  # kernel and bias
    assert all(len(p) == 2 and p[0] is not p[1] for p in pairs)
    assert pairs[0][0].shape == pairs[0][1].shape == (10, 16)
    hard = build_model(project, mode="joint").model
    assert model.count_params() - hard.count_params() == 10 * 16 + 16


def test_building_is_repeatable_from_the_seed():
    a = build_model(two_task_project(), seed=3).model.get_weights()
    b = build_model(two_task_project(), seed=3).model.get_weights()
    c = build_model(two_task_project(), seed=4).model.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_an_invalid_project_is_refused_with_its_problems():
    project = two_task_project()
    project.remove_task("b")
    with pytest.raises(BuildError) as err:
        build_model(project)
    assert "Output 'out_b': belongs to no task" in str(err.value)
    assert err.value.problems[0].place.id == "out_b"
    assert "\n" not in str(err.value)  # one line, as every message a user meets
    many = BuildError(err.value.problems * 3)
    assert str(many).endswith(f"(and {3 * len(err.value.problems) - 1} more problems)")


def test_a_softmax_gate_times_an_expert_equals_hand_written_keras():
    """The gated mixture of MMoE, drawn with plain layers: Softmax over a
    gate's scores, Multiply with the expert."""
    from mtl_studio.training.tf_import import keras

    k = keras()
    p = Project("gated")
    node(p, "x", "Input", shape=[5])
    node(p, "expert", "Dense", units=4, activation="relu")
    node(p, "gate", "Dense", units=4, activation="linear")
    node(p, "weights", "Softmax")
    node(p, "mix", "Multiply")
    node(p, "out", "Output", units=1)
    chain(p, "x", "expert", "mix", "out")
    chain(p, "x", "gate", "weights", "mix")
    p.add_task(Task("y", "out", "mse"))
    built = build_model(p)
    x = k.Input((5,), name="x")
    expert, gate, out = k.layers.Dense(4, activation="relu"), k.layers.Dense(4), k.layers.Dense(1)
    mix = k.layers.Multiply()([expert(x), k.layers.Softmax()(gate(x))])
    hand = k.Model(x, out(mix))
    for layer, name in ((expert, "expert"), (gate, "gate"), (out, "out")):
        layer.set_weights(built.model.get_layer(name).get_weights())
    data = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(built.model({"x": data})["y"], hand(data), rtol=1e-5)
    gate = built.model.get_layer("weights")(built.model.get_layer("gate")(data))
    np.testing.assert_allclose(np.sum(gate, axis=1), 1.0, rtol=1e-5)
