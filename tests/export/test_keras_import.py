"""Import of .keras models as projects: tasks, losses and weights from the
compile config, the graph, a round trip through the builder, and refusals."""

import zipfile

import numpy as np
import pytest

from mtl_studio.core import fileformat
from mtl_studio.core.validation import errors, infer_shapes, validate
from mtl_studio.export.keras_import import (
    KerasImportError,
    ImportResult,
    import_keras,
    report_lines,
    write_project,
)
from mtl_studio.training.builder import build_model, save_keras
from mtl_studio.training.tf_import import keras

k = keras()
L = k.layers


# --- the three models of the brief -----------------------------------------------


def trunk_model():
    """A shared Dense trunk, a regression head and a classification head."""
    x = k.Input((6,), name="features")
    h = L.Dense(8, activation="relu", name="trunk")(x)
    r = L.Dense(4, activation="tanh", name="price_hidden")(h)
    price = L.Dense(1, name="price")(r)
    kind = L.Dense(3, activation="softmax", name="kind")(h)
    model = k.Model(x, [price, kind], name="shop")
    model.compile(
        optimizer="sgd",
        loss={"price": "huber", "kind": k.losses.SparseCategoricalCrossentropy()},
        loss_weights={"price": 0.25, "kind": 2.0},
        metrics={"price": ["mae", k.metrics.RootMeanSquaredError()], "kind": ["accuracy"]},
    )
    return model


def cnn_model():
    """A CNN backbone; a category head whose softmax is its own layer, and an
    age head after a Flatten."""
    image = k.Input((12, 12, 3), name="image")
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(image)
    h = L.BatchNormalization(name="bn1")(h)
    h = L.MaxPooling2D(name="pool1")(h)
    h = L.Conv2D(6, 3, activation="relu", name="conv2")(h)
    c = L.GlobalAveragePooling2D(name="gap")(h)
    c = L.Dense(5, name="category_logits")(c)
    category = L.Activation("softmax", name="category")(c)
    a = L.Flatten(name="flat")(h)
    a = L.Dropout(0.3, name="drop")(a)
    age = L.Dense(1, name="age")(L.Dense(8, activation="relu", name="age_hidden")(a))
    model = k.Model(image, [category, age], name="faces")
    model.compile(
        loss=["sparse_categorical_crossentropy", "mae"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae", "mse"]],
    )
    return model


def text_model():
    """Embedding + Bidirectional LSTM trunk; a sentence head on the last
    state of an LSTM and a tagging head on every step. Not compiled."""
    tokens = k.Input((7,), dtype="int32", name="tokens")
    e = L.Embedding(30, 8, mask_zero=True, name="embed")(tokens)
    seq = L.Bidirectional(L.LSTM(6, return_sequences=True), name="encoder")(e)
    sentence = L.Dense(3, activation="softmax", name="sentence")(L.LSTM(5, name="summary")(seq))
    tags = L.Dense(4, activation="softmax", name="tags")(seq)
    return k.Model(tokens, [sentence, tags], name="tagger")


def saved(model, tmp_path, name="model.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def sample_inputs(model, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for t in model.inputs:
        shape = (5,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            arrays[t.name] = rng.integers(0, 30, size=shape).astype("int32")
        else:
            arrays[t.name] = rng.normal(size=shape).astype("float32")
    return arrays


def no_errors(project):
    assert errors(validate(project)) == []


# --- what is imported ---------------------------------------------------------------


def test_trunk_and_two_heads_get_the_compiled_losses_and_weights(tmp_path):
    result = import_keras(saved(trunk_model(), tmp_path))
    p = result.project
    assert isinstance(result, ImportResult) and result.unknown == []
    assert [(n.id, n.kind) for n in p.nodes.values()] == [
        ("features", "Input"),
        ("trunk", "Dense"),
        ("price_hidden", "Dense"),
        ("price", "Output"),
        ("kind", "Output"),
    ]
    assert p.node("trunk").params == {
        "units": 8,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": "glorot_uniform",
    }
    assert p.node("kind").params["activation"] == "softmax"
    tasks = {t.name: t for t in p.tasks}
    assert (tasks["price"].loss, tasks["price"].weight) == ("huber", 0.25)
    assert (tasks["kind"].loss, tasks["kind"].weight) == ("sparse_categorical_crossentropy", 2.0)
    assert tasks["price"].metrics == ["mae", "rmse"] and tasks["kind"].metrics == ["accuracy"]
    assert (tasks["price"].output, tasks["kind"].output) == ("price", "kind")
    assert p.shared_nodes() == ["trunk"]
    no_errors(p)
    assert any("optimizer (SGD)" in n for n in result.notes)
    assert any("weights are not imported" in n for n in result.notes)
    assert any("no data source" in n for n in result.notes)
    # The auto layout puts every node in its own place, inputs on top.
    positions = {(n.x, n.y) for n in p.nodes.values()}
    assert len(positions) == len(p.nodes)
    assert p.node("features").y < p.node("trunk").y < p.node("price_hidden").y


def test_cnn_heads_fold_a_separate_softmax_into_the_output(tmp_path):
    result = import_keras(saved(cnn_model(), tmp_path))
    p = result.project
    assert "category" not in p.nodes  # the Activation layer, folded
    out = p.node("category_logits")
    assert out.kind == "Output" and out.params["activation"] == "softmax"
    assert p.node("conv1").params == {
        "filters": 4,
        "kernel_size": 3,
        "strides": 1,
        "padding": "same",
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": "glorot_uniform",
    }
    assert p.node("pool1").params == {"pool_size": 2, "strides": 0, "padding": "valid"}
    assert p.node("drop").params == {"rate": 0.3}
    tasks = {t.name: t for t in p.tasks}
    assert tasks["category"].output == "category_logits"
    assert (tasks["category"].loss, tasks["age"].loss) == ("sparse_categorical_crossentropy", "mae")
    assert (tasks["category"].weight, tasks["age"].weight) == (1.0, 0.5)
    assert (tasks["category"].metrics, tasks["age"].metrics) == (["accuracy"], ["mae", "mse"])
    assert any("folded" in n for n in result.notes)
    shapes, _ = infer_shapes(p)
    assert shapes["flat"] == (96,)  # 12 -> pool 6 -> conv 4: 4 * 4 * 6
    no_errors(p)


def test_text_model_gets_sequence_heads_and_default_losses(tmp_path):
    result = import_keras(saved(text_model(), tmp_path))
    p = result.project
    assert p.node("tokens").params == {"shape": (7,), "dtype": "int32"}
    assert p.node("embed").params == {
        "input_dim": 30,
        "output_dim": 8,
        "mask_zero": True,
        "embeddings_initializer": "random_uniform",  # Keras' "uniform"
    }
    assert p.node("encoder").params == {
        "layer": "LSTM",
        "units": 6,
        "return_sequences": True,
        "merge_mode": "concat",
        "dropout": 0.0,
        "kernel_initializer": "glorot_uniform",
    }
    assert p.node("summary").params["return_sequences"] is False
    shapes, _ = infer_shapes(p)
    assert shapes["tags"] == (7, 4) and shapes["sentence"] == (3,)
    # No compile config: the loss follows the output's activation, with a note.
    assert [(t.name, t.loss) for t in p.tasks] == [
        ("sentence", "sparse_categorical_crossentropy"),
        ("tags", "sparse_categorical_crossentropy"),
    ]
    assert any("names no loss" in n for n in result.notes)
    no_errors(p)


@pytest.mark.parametrize("make", [trunk_model, cnn_model, text_model])
def test_round_trip_through_the_builder_gives_the_same_outputs(tmp_path, make):
    original = make()
    result = import_keras(saved(original, tmp_path))
    built = build_model(result.project)
    for layer in built.model.layers:
        if layer.weights:
            layer.set_weights(original.get_layer(layer.name).get_weights())
    save_keras(built.model, tmp_path / "rebuilt.keras")
    rebuilt = k.saving.load_model(tmp_path / "rebuilt.keras", safe_mode=True)

    inputs = sample_inputs(original)
    given = [inputs[t.name] for t in original.inputs]
    expected = original(given[0] if len(given) == 1 else given)
    got = rebuilt(inputs)
    names = [t.name for t in result.project.tasks]
    assert len(names) == len(expected)
    for name, want in zip(names, expected):
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_the_project_file_is_written_and_reads_back(tmp_path):
    result = import_keras(saved(trunk_model(), tmp_path))
    write_project(result, tmp_path / "shop.mtl.json")
    assert fileformat.load(tmp_path / "shop.mtl.json") == result.project


# --- what needs a note ---------------------------------------------------------------


def test_outputs_by_name_losses_we_lack_and_logits(tmp_path):
    x = k.Input((4,), name="x")
    h = L.Dense(6, activation="relu", name="h")(x)
    outputs = {
        "rate 2": L.Dense(1, name="rate")(h),
        "class": L.Dense(3, name="logits")(h),
        "flag": L.Dense(1, activation="sigmoid", name="flag")(h),
    }
    model = k.Model(x, outputs)
    model.compile(
        loss={
            "rate 2": "poisson",
            "class": k.losses.CategoricalCrossentropy(from_logits=True),
            "flag": k.losses.BinaryFocalCrossentropy(),
        },
        metrics={"flag": ["auc", "binary_crossentropy"]},
    )
    result = import_keras(saved(model, tmp_path))
    tasks = {t.name: t for t in result.project.tasks}
    assert set(tasks) == {"rate_2", "class_", "flag"}
    assert tasks["rate_2"].loss == "mse"
    assert tasks["flag"].loss == "binary_crossentropy" and tasks["flag"].metrics == ["auc"]
    assert tasks["class_"].loss == "categorical_crossentropy"
    # Our losses take probabilities: the logits get their softmax in the Output.
    assert result.project.node("logits").params["activation"] == "softmax"
    text = "\n".join(result.notes)
    assert "'poisson' is not supported" in text and "from_logits" in text
    assert "metric 'binary_crossentropy' is not supported" in text
    no_errors(result.project)


def test_shared_layer_and_nested_sequential_are_reported(tmp_path):
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    shared = L.Dense(5, activation="relu", name="shared")
    backbone = k.Sequential([L.Dense(3, activation="tanh", name="inner")], name="backbone")
    merged = L.Concatenate(name="join")([shared(a), shared(b)])
    out = L.Dense(1, name="score")(backbone(merged))
    result = import_keras(saved(k.Model([a, b], out), tmp_path))
    p = result.project
    assert {"shared", "shared_2", "inner", "join", "score"} <= set(p.nodes)
    assert p.graph.predecessors("join") == ["shared", "shared_2"]
    assert p.graph.predecessors("score") == ["inner"]
    text = "\n".join(result.notes)
    assert "Dense 'shared' (2 times)" in text and "'backbone'" in text
    no_errors(p)


def test_options_a_node_cannot_hold_are_noted(tmp_path):
    x = k.Input((9, 9, 2), name="x")
    h = L.Conv2D(3, (3, 5), dilation_rate=2, kernel_regularizer="l2", name="odd")(x)
    pooled = L.GlobalMaxPooling2D(name="gmp")(h)
    out = L.Dense(1, name="y")(pooled)
    # An activation after a Dense that has its own cannot be folded into it.
    squashed = L.Activation("sigmoid", name="squash")(
        L.Dense(2, activation="relu", name="pre")(pooled)
    )
    result = import_keras(saved(k.Model(x, [out, squashed]), tmp_path))
    assert [t.name for t in result.project.tasks] == ["y"]
    text = "\n".join(result.notes)
    assert "output 'squash' ends in Activation 'squash', not in a Dense layer" in text
    assert "Conv2D 'odd': kernel_size (3, 5) differs between axes" in text
    assert "dilation_rate=(2, 2) is not supported" in text
    assert "kernel_regularizer=L2 is not supported" in text


def test_initializers_a_node_does_not_hold_are_noted_when_not_keras_defaults(tmp_path):
    x = k.Input((6, 3), name="x")
    h = L.LSTM(4, recurrent_initializer="glorot_uniform", name="seq")(x)
    h2 = L.Bidirectional(L.GRU(2, bias_initializer="ones"), name="both")(x)
    plain = L.Dense(3, name="plain")(L.Concatenate(name="cat")([h, h2]))  # every default
    out = L.Dense(1, bias_initializer="ones", name="y")(plain)
    result = import_keras(saved(k.Model(x, out), tmp_path))
    text = "\n".join(result.notes)
    assert "LSTM 'seq': recurrent_initializer GlorotUniform() is not one a node can hold" in text
    assert "the node uses orthogonal (Keras' default)" in text
    assert "Dense 'y': bias_initializer Ones() is not one a node can hold" in text
    assert "(its GRU): bias_initializer Ones()" in text
    assert "'plain'" not in text and "'cat'" not in text  # Keras' defaults: nothing to say


# --- unknown layers and refusals ---------------------------------------------------------


@k.saving.register_keras_serializable(package="mtl_studio_tests")
class Doubling(L.Layer):
    """A custom layer whose class is registered: safe mode loads it."""

    def call(self, x):
        return x * 2.0


def test_unknown_layers_are_listed_and_cut_the_graph(tmp_path):
    q = k.Input((5, 8), name="q")
    # Causal attention: a MultiHeadAttention node has no causal mask.
    att = L.MultiHeadAttention(2, 4, name="attention")(q, q, use_causal_mask=True)
    h = att + q  # keras.ops add of two tensors of one shape: an Add node
    pooled = L.GlobalAveragePooling1D(name="pool")(h)
    d = Doubling(name="twice")(L.Dense(3, name="pre")(pooled))
    outs = [L.Dense(1, name="y")(pooled), L.Dense(2, activation="softmax", name="z")(d)]
    result = import_keras(saved(k.Model(q, outs), tmp_path))
    assert result.unknown == [("attention", "MultiHeadAttention"), ("twice", "Doubling")]
    p = result.project
    # Each unknown layer's output became an Input of its shape; what follows is kept.
    assert p.node("attention").kind == "Input" and p.node("attention").params["shape"] == (5, 8)
    assert p.node("twice").kind == "Input" and p.node("twice").params["shape"] == (3,)
    assert p.node("add").kind == "Add" and p.graph.predecessors("add") == ["attention", "q"]
    assert p.graph.predecessors("z") == ["twice"]
    assert p.graph.successors("pre") == []  # the layer before the cut ends there
    assert [t.name for t in p.tasks] == ["y", "z"]
    assert sum("the graph is cut there" in n for n in result.notes) == 2
    assert any(
        "unknown layer 'attention' (MultiHeadAttention)" in line for line in report_lines(result)
    )
    no_errors(p)


def test_a_lambda_layer_is_refused_by_name(tmp_path):
    x = k.Input((4,), name="x")
    y = L.Dense(1, name="y")(L.Lambda(lambda t: t * 2, name="double_it")(x))
    path = saved(k.Model(x, y), tmp_path)
    with pytest.raises(KerasImportError, match="Lambda layer \\('double_it'\\)") as info:
        import_keras(path)
    assert str(path) in str(info.value) and "safely" in str(info.value)


def test_custom_code_that_is_not_registered_is_refused(tmp_path):
    class Secret(L.Layer):
        def call(self, x):
            return x

    x = k.Input((4,), name="x")
    path = saved(k.Model(x, L.Dense(1, name="y")(Secret(name="hidden")(x))), tmp_path)
    with pytest.raises(KerasImportError, match="custom code .*'hidden'") as info:
        import_keras(path)
    assert str(path) in str(info.value)


def test_missing_corrupt_and_foreign_files_name_the_path(tmp_path):
    good = saved(trunk_model(), tmp_path, "good.keras")
    cases = {
        "missing.keras": None,
        "text.keras": b"this is not a zip archive",
        "cut.keras": good.read_bytes()[: len(good.read_bytes()) // 2],
        "legacy.keras": b"\x89HDF\r\n\x1a\n" + b"\0" * 64,
    }
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:-40] if item.filename.endswith(".h5") else data)
    (tmp_path / "model.h5").write_bytes(b"x")
    expected = {
        "missing.keras": "no such file",
        "text.keras": "not a .keras archive",
        "cut.keras": "not a .keras archive",
        "legacy.keras": "legacy HDF5",
        "empty.keras": "no config.json",
        "broken.keras": "cannot be loaded",
        "model.h5": "not a .keras file",
    }
    for name, message in expected.items():
        path = tmp_path / name
        with pytest.raises(KerasImportError) as info:
            import_keras(path)
        assert str(info.value).startswith(f"{path}: "), name
        assert message in str(info.value), (name, str(info.value))
