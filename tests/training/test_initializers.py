"""A kernel initializer per layer: the catalogue's choice, what the builder
makes of it, the seed, old files, and the .keras import mapping it back."""

import json

import numpy as np
import pytest

from mtl_studio.core import fileformat as ff
from mtl_studio.core.catalogue import INITIALIZERS, KINDS, initializer_config, is_initializer
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.export.keras_import import import_keras
from mtl_studio.training.builder import build_model, save_keras
from mtl_studio.training.tf_import import keras
from tests.helpers import chain, node

k = keras()
WITH_KERNEL = ("Dense", "Output", "Conv1D", "Conv2D", "LSTM", "GRU", "Bidirectional")


def dense_project(*choices: str, units: int = 6) -> Project:
    """x(5) -> one Dense per choice, in a chain -> out."""
    p = Project("init")
    node(p, "x", "Input", shape=[5])
    names = [
        node(p, f"d{i}", "Dense", units=units, kernel_initializer=c) for i, c in enumerate(choices)
    ]
    node(p, "out", "Output", units=1)
    chain(p, "x", *names, "out")
    p.add_task(Task("t", "out", "mse"))
    return p


def test_the_param_is_on_every_kind_with_a_kernel_and_off_the_canvas():
    for name, kind in KINDS.items():
        params = [s for s in kind.params if is_initializer(s)]
        if name in WITH_KERNEL:
            assert [s.name for s in params] == ["kernel_initializer"], name
            assert kind.param("kernel_initializer").default == "glorot_uniform"
        elif name == "Embedding":
            assert [s.name for s in params] == ["embeddings_initializer"]
        else:
            assert params == [], name
        assert not any(p.endswith("_initializer") for p in kind.key_params), name
    assert initializer_config("he_normal") == "he_normal"
    assert initializer_config("uniform_0_1") == {
        "class_name": "RandomUniform",
        "config": {"minval": 0.0, "maxval": 1.0},
    }


def test_uniform_0_1_starts_the_kernel_in_0_1_and_survives_a_safe_reload(tmp_path):
    built = build_model(dense_project("uniform_0_1"), seed=1).model
    kernel = built.get_layer("d0").kernel.numpy()
    assert kernel.min() >= 0.0 and kernel.max() < 1.0
    assert np.unique(kernel).size == kernel.size  # random, not one value
    assert kernel.mean() == pytest.approx(0.5, abs=0.15)  # not RandomUniform's +-0.05
    save_keras(built, tmp_path / "m.keras")
    again = k.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    config = again.get_layer("d0").get_config()["kernel_initializer"]
    assert config["class_name"] == "RandomUniform"
    assert (config["config"]["minval"], config["config"]["maxval"]) == (0.0, 1.0)
    np.testing.assert_array_equal(again.get_layer("d0").kernel.numpy(), kernel)


@pytest.mark.parametrize(
    "choice, check",
    [
        ("zeros", lambda w: np.all(w == 0)),
        ("ones", lambda w: np.all(w == 1)),
        ("random_uniform", lambda w: np.abs(w).max() <= 0.05 and np.abs(w).max() > 0),
        ("orthogonal", lambda w: np.allclose(w.T @ w, np.eye(w.shape[1]), atol=1e-5)),
        ("he_normal", lambda w: 0.3 < w.std() < 0.9),  # sqrt(2 / 6) = 0.58, truncated
        ("lecun_uniform", lambda w: np.abs(w).max() <= np.sqrt(3 / 6) + 1e-6),
    ],
)
def test_each_choice_is_the_keras_initializer_of_that_name(choice, check):
    built = build_model(dense_project("glorot_uniform", choice, units=6)).model
    assert check(built.get_layer("d1").kernel.numpy()), choice


def test_every_choice_builds():
    built = build_model(dense_project(*INITIALIZERS, units=4)).model
    for i, choice in enumerate(INITIALIZERS):
        config = built.get_layer(f"d{i}").get_config()["kernel_initializer"]
        wanted = k.initializers.serialize(k.initializers.get(initializer_config(choice)))
        assert config["class_name"] == wanted["class_name"], choice


def test_every_kind_with_a_kernel_takes_its_choice():
    """ "ones" is easy to see: the (input) kernel is all ones, the recurrent
    kernel and the biases start as Keras starts them."""
    p = Project("kinds")
    node(p, "tokens", "Input", shape=[6], dtype="int32")
    node(p, "emb", "Embedding", input_dim=9, output_dim=4, embeddings_initializer="ones")
    node(p, "c1", "Conv1D", filters=3, kernel_size=2, kernel_initializer="ones")
    node(p, "lstm", "LSTM", units=3, return_sequences=True, kernel_initializer="ones")
    node(p, "gru", "GRU", units=3, return_sequences=True, kernel_initializer="ones")
    node(p, "bi", "Bidirectional", layer="GRU", units=2, kernel_initializer="ones")
    node(p, "image", "Input", shape=[5, 5, 1])
    node(p, "c2", "Conv2D", filters=2, kernel_initializer="ones")
    node(p, "flat", "Flatten")
    node(p, "cat", "Concatenate")
    node(p, "dense", "Dense", units=3, kernel_initializer="ones")
    node(p, "out", "Output", units=1, kernel_initializer="ones")
    chain(p, "tokens", "emb", "c1", "lstm", "gru", "bi", "cat")
    chain(p, "image", "c2", "flat", "cat", "dense", "out")
    p.add_task(Task("t", "out", "mse"))
    model = build_model(p).model
    kernels = {
        "emb": model.get_layer("emb").embeddings,
        "c1": model.get_layer("c1").kernel,
        "lstm": model.get_layer("lstm").cell.kernel,
        "gru": model.get_layer("gru").cell.kernel,
        "bi forward": model.get_layer("bi").forward_layer.cell.kernel,
        "bi backward": model.get_layer("bi").backward_layer.cell.kernel,
        "c2": model.get_layer("c2").kernel,
        "dense": model.get_layer("dense").kernel,
        "out": model.get_layer("out").kernel,
    }
    for name, kernel in kernels.items():
        assert np.all(kernel.numpy() == 1), name
    recurrent = model.get_layer("lstm").cell.recurrent_kernel.numpy()
    assert not np.all(recurrent == 1)  # orthogonal, as Keras starts it


def test_the_same_seed_gives_the_same_weights_with_any_choice():
    project = dense_project("uniform_0_1", "he_normal", "orthogonal", "random_normal")
    a = build_model(project, seed=3).model.get_weights()
    b = build_model(project, seed=3).model.get_weights()
    c = build_model(project, seed=4).model.get_weights()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, z) for x, z in zip(a, c))


def test_the_defaults_are_keras_own_so_old_projects_start_as_before():
    def form(value):
        found = k.initializers.serialize(k.initializers.get(value))
        return found["class_name"], {key: v for key, v in found["config"].items() if key != "seed"}

    plain = {  # Keras layers left to their own initializers
        ("Dense", "kernel_initializer"): k.layers.Dense(2),
        ("Output", "kernel_initializer"): k.layers.Dense(2),
        ("Conv1D", "kernel_initializer"): k.layers.Conv1D(2, 3),
        ("Conv2D", "kernel_initializer"): k.layers.Conv2D(2, 3),
        ("LSTM", "kernel_initializer"): k.layers.LSTM(2),
        ("GRU", "kernel_initializer"): k.layers.GRU(2),
        ("Embedding", "embeddings_initializer"): k.layers.Embedding(3, 2),
    }
    for (kind, param), layer in plain.items():
        ours = initializer_config(KINDS[kind].param(param).default)
        assert form(ours) == form(layer.get_config()[param]), kind


def test_a_file_without_the_param_loads_with_the_default():
    project = dense_project("he_uniform")
    data = ff.to_dict(project)
    dense = next(n for n in data["nodes"] if n["id"] == "d0")
    assert dense["params"]["kernel_initializer"] == "he_uniform"
    del dense["params"]["kernel_initializer"]
    loaded = ff.loads(json.dumps(data))
    assert loaded.node("d0").params["kernel_initializer"] == "glorot_uniform"
    dense["params"]["kernel_initializer"] = "xavier"
    with pytest.raises(
        ff.ProjectError,
        match=r"nodes\[1\]\.params\.kernel_initializer: expected one of glorot_uniform",
    ):
        ff.loads(json.dumps(data))


# --- the .keras import --------------------------------------------------------------------


def test_import_maps_each_choice_back(tmp_path):
    project = dense_project(*INITIALIZERS, units=3)
    save_keras(build_model(project).model, tmp_path / "all.keras")
    result = import_keras(tmp_path / "all.keras")
    for i, choice in enumerate(INITIALIZERS):
        assert result.project.node(f"d{i}").params["kernel_initializer"] == choice
    assert not any("initializer" in note for note in result.notes)


def test_import_maps_keras_spellings_and_notes_the_rest(tmp_path):
    L = k.layers
    tokens = k.Input((4,), dtype="int32", name="tokens")
    e = L.Embedding(10, 3, name="emb")(tokens)  # Keras' "uniform": random_uniform
    seq = L.Bidirectional(L.LSTM(2, kernel_initializer="he_uniform"), name="bi")(e)
    h = L.Dense(3, kernel_initializer=k.initializers.RandomUniform(0, 1, seed=7), name="h")(seq)
    h = L.Dense(3, kernel_initializer=k.initializers.TruncatedNormal(), name="trunc")(h)
    h = L.Dense(3, kernel_initializer=k.initializers.RandomNormal(stddev=1.0), name="wide")(h)
    # He's initializer spelt out: a VarianceScaling of scale 2 over the fan in.
    h = L.Dense(3, kernel_initializer=k.initializers.VarianceScaling(2.0), name="he")(h)
    out = L.Dense(1, kernel_initializer="GlorotNormal", name="y")(h)
    path = tmp_path / "spellings.keras"
    k.Model(tokens, out).save(path)
    result = import_keras(path)
    p = result.project
    assert p.node("emb").params["embeddings_initializer"] == "random_uniform"
    assert p.node("bi").params["kernel_initializer"] == "he_uniform"
    assert p.node("h").params["kernel_initializer"] == "uniform_0_1"  # the seed is the project's
    assert p.node("y").params["kernel_initializer"] == "glorot_normal"
    assert p.node("he").params["kernel_initializer"] == "he_normal"
    for name in ("trunc", "wide"):
        assert p.node(name).params["kernel_initializer"] == "glorot_uniform"
    notes = [n for n in result.notes if "initializer" in n]
    assert len(notes) == 2
    assert notes[0].startswith("Dense 'trunc': kernel_initializer TruncatedNormal(mean=0.0")
    assert "RandomNormal(mean=0.0, stddev=1.0)" in notes[1]
    assert "the node uses glorot_uniform" in notes[1]
