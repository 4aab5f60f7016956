"""Keras names -> MTL Studio names, for the .keras import (keras_import.py).

Which catalogue kind a Keras layer is, its node parameters read from
get_config(), and the task loss and metrics a compile config names. Every
option the catalogue cannot express comes back as a note, never dropped in
silence. TensorFlow is not imported here: the functions receive the keras
module from their caller.
"""

from __future__ import annotations

import copy
import inspect
from functools import lru_cache

from ..core.catalogue import INITIALIZERS, KINDS, get_kind, initializer_config, is_initializer
from ..core.params import ParamSpec

# Options a catalogue node cannot hold, with the value the node behaves as.
# A layer whose config has another value imports with a note saying so.
_REGULARIZED = {
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
}
_CONV = {**_REGULARIZED, "data_format": "channels_last", "dilation_rate": 1, "groups": 1}
_POOL = {"data_format": "channels_last"}
_NORM = {
    "center": True,
    "scale": True,
    "beta_regularizer": None,
    "gamma_regularizer": None,
    "beta_constraint": None,
    "gamma_constraint": None,
}
_RECURRENT = {
    **_REGULARIZED,
    "recurrent_regularizer": None,
    "recurrent_constraint": None,
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "recurrent_dropout": 0.0,
}
FIXED_OPTIONS = {
    "Dense": {**_REGULARIZED, "lora_rank": None},
    "Conv1D": _CONV,
    "Conv2D": _CONV,
    "MaxPooling1D": _POOL,
    "MaxPooling2D": _POOL,
    "AveragePooling1D": _POOL,
    "AveragePooling2D": _POOL,
    "GlobalMaxPooling1D": {**_POOL, "keepdims": False},
    "GlobalMaxPooling2D": {**_POOL, "keepdims": False},
    "GlobalAveragePooling1D": {**_POOL, "keepdims": False},
    "GlobalAveragePooling2D": {**_POOL, "keepdims": False},
    "Flatten": _POOL,
    "Dropout": {"noise_shape": None},
    "BatchNormalization": {**_NORM, "axis": -1, "synchronized": False, "renorm": False},
    "LayerNormalization": {**_NORM, "axis": -1, "rms_scaling": False},
    "Embedding": {
        "embeddings_regularizer": None,
        "activity_regularizer": None,
        "embeddings_constraint": None,
    },
    "LSTM": _RECURRENT,
    "GRU": {**_RECURRENT, "reset_after": True},
    "ReLU": {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
    "Softmax": {"axis": -1},
    "MultiHeadAttention": {
        **_REGULARIZED,
        "output_shape": None,
        "attention_axes": None,
        "sliding_window": None,
        "use_gate": False,
    },
}


def layer_label(layer) -> str:
    """How notes name a layer: "Conv2D 'conv1'"."""
    return f"{keras_class_name(layer)} '{layer.name}'"


def keras_class_name(layer) -> str:
    """The class a user would recognise, with the wrapped layer for
    wrappers ("Bidirectional(SimpleRNN)") and "ops." for keras.ops calls
    such as `x + y`, which are operations rather than layers."""
    name = type(layer).__name__
    inner = getattr(layer, "layer", None) if name in ("Bidirectional", "TimeDistributed") else None
    if inner is not None:
        return f"{name}({type(inner).__name__})"
    if type(layer).__module__.startswith("keras.src.ops."):
        return f"ops.{name}"
    return name


# --- which kind ----------------------------------------------------------------


@lru_cache(maxsize=2)
def _class_kinds(k) -> dict:
    """Keras class -> catalogue kind, for the kinds that are one Keras layer.
    Input and Output are left out: InputLayer is handled by the graph walk,
    and a Dense becomes an Output only when it ends a model output."""
    table = {}
    for kind in KINDS.values():
        # A block is several layers: block_import finds it by their names.
        if kind.name not in ("Input", "Output") and not kind.block:
            table[getattr(k.layers, kind.keras_class)] = kind.name
    # Activation layers by another name compute one of our activations.
    table[k.layers.ReLU] = "Activation"
    table[k.layers.Softmax] = "Activation"
    return table


def kind_of(k, layer, call) -> str | None:
    """The catalogue kind of one call of a Keras layer, or None when the
    catalogue cannot represent it. Classes are compared exactly: a subclass
    may compute something else, so it is not taken for its parent."""
    if len(call.outputs) != 1:
        return None  # e.g. an LSTM with return_state: our nodes have one output
    cls = type(layer)
    if cls is k.layers.Bidirectional:
        ok = type(layer.forward_layer) in (k.layers.LSTM, k.layers.GRU) and type(
            layer.backward_layer
        ) is type(layer.forward_layer)
        return "Bidirectional" if ok else None
    if cls is k.layers.TimeDistributed:
        # TimeDistributed(Dense) is a Dense: Keras' Dense already works on
        # the last axis of every step.
        return "Dense" if type(layer.layer) is k.layers.Dense else None
    if _is_plain_add(k, layer, call):
        return "Add"
    if _attention_or_dot_unlike_ours(k, layer, call):
        return None
    return _class_kinds(k).get(cls)


def why_unknown(k, layer, call) -> str:
    """Why kind_of found no kind, completing "Conv3D 'c' ..."."""
    if len(call.outputs) != 1:
        return f"returns {len(call.outputs)} tensors where a node returns one"
    unlike = _attention_or_dot_unlike_ours(k, layer, call)
    if unlike:
        return unlike
    if type(layer) in _class_kinds(k) or type(layer).__name__ in (
        "Bidirectional",
        "TimeDistributed",
    ):
        return "is used in a way the catalogue's kind cannot express"
    return "is not in the catalogue"


def _attention_or_dot_unlike_ours(k, layer, call) -> str:
    """Why a Dot or MultiHeadAttention call is one its node cannot be (empty
    when it can): a Dot node sums over one axis of both inputs, and an
    attention node applies no causal mask."""
    cls = type(layer)
    if cls is k.layers.Dot and isinstance(layer.axes, (list, tuple)):
        if len(set(layer.axes)) > 1:
            return (
                f"sums over axes {tuple(layer.axes)}, another axis in each input, where a "
                "Dot node sums over one axis of both"
            )
    if cls is k.layers.MultiHeadAttention and call.arguments.kwargs.get("use_causal_mask"):
        return "uses a causal mask, which a MultiHeadAttention node does not apply"
    return ""


def _is_plain_add(k, layer, call) -> bool:
    """`a + b` (keras.ops add) on two tensors of one shape is an Add layer."""
    if type(layer).__module__ != "keras.src.ops.numpy" or type(layer).__name__ != "Add":
        return False
    args = list(call.arguments.args)
    return (
        len(args) == 2
        and all(isinstance(a, k.KerasTensor) for a in args)
        and tuple(args[0].shape) == tuple(args[1].shape)
    )


# --- parameters ------------------------------------------------------------------


def read_params(k, kind_name: str, layer) -> tuple[dict, list[str]]:
    """The node parameters of a layer of the given kind, and notes on
    anything in its config that the node cannot hold."""
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    params, notes = _params_of(k, kind_name, layer, config)
    if config.get("trainable") is False:
        notes.append(
            f"{layer_label(layer)} is frozen (trainable=False) in the file; a "
            "project trains every layer"
        )
    return params, notes


def _params_of(k, kind_name: str, layer, config: dict) -> tuple[dict, list[str]]:
    label = layer_label(layer)
    cls = type(layer)
    if cls is k.layers.Bidirectional:
        return _bidirectional(k, config, label)
    if cls is k.layers.TimeDistributed:
        params, notes = _params_of(k, "Dense", layer.layer, layer.layer.get_config())
        return params, notes + [
            f"{label} is imported as a Dense: a Dense acts on every step of a sequence by itself"
        ]
    if cls is k.layers.ReLU:
        return {"activation": "relu"}, _fixed_options("ReLU", config, label)
    if cls is k.layers.Softmax:
        return {"activation": "softmax"}, _fixed_options("Softmax", config, label)
    kind = get_kind(kind_name)
    params, notes = _catalogue_params(k, kind, config, label)
    notes += _other_initializers(k, cls, config, label, kind)
    if kind_name.startswith(("MaxPooling", "AveragePooling")) and params.get(
        "strides"
    ) == params.get("pool_size"):
        params["strides"] = 0  # the catalogue's way of saying "the pool size"
    if kind_name == "MultiHeadAttention" and params.get("value_dim") == params.get("key_dim"):
        params["value_dim"] = 0  # Keras stores its default, key_dim, as a number
    return params, notes + _fixed_options(cls.__name__, config, label)


def _catalogue_params(k, kind, config: dict, label: str) -> tuple[dict, list[str]]:
    """Each parameter the kind declares, taken from the config of the same
    name; a value the parameter refuses becomes a note and the default."""
    params, notes = {}, []
    for spec in kind.params:
        if spec.name not in config:
            continue
        if is_initializer(spec):
            params[spec.name], found = _initializer_param(k, spec, config[spec.name], label)
            notes += found
            continue
        value = _one_size(spec, config[spec.name], label, notes)
        try:
            params[spec.name] = spec.check(value)
        except ValueError as exc:
            params[spec.name] = spec.default
            notes.append(
                f"{label}: {spec.name} {_short(config[spec.name])} is not supported "
                f"({exc}); the node uses {_short(spec.default)}"
            )
    return params, notes


def _one_size(spec: ParamSpec, value, label: str, notes: list[str]):
    """Keras keeps kernel sizes, strides and pool sizes per axis, the
    catalogue one size for every axis: (3, 3) becomes 3."""
    if spec.type != "int" or not isinstance(value, (list, tuple)) or not value:
        return value
    if len(set(value)) > 1:
        notes.append(
            f"{label}: {spec.name} {tuple(value)} differs between axes; the node "
            f"uses {value[0]} on every axis"
        )
    return value[0]


def _bidirectional(k, config: dict, label: str) -> tuple[dict, list[str]]:
    """The node holds the wrapped layer's class, units, return_sequences and
    dropout beside the wrapper's merge_mode."""
    inner = config["layer"]
    inner_config = inner.get("config", {})
    merged = {**inner_config, "layer": inner["class_name"], "merge_mode": config.get("merge_mode")}
    kind = get_kind("Bidirectional")
    params, notes = _catalogue_params(k, kind, merged, label)
    inner_label = f"{label} (its {inner['class_name']})"
    inner_class = getattr(k.layers, inner["class_name"], None)
    notes += _other_initializers(k, inner_class, inner_config, inner_label, kind)
    return params, notes + _fixed_options(inner["class_name"], inner_config, inner_label)


def _initializer_form(k, value):
    """What an initializer draws, for comparison: its class and options as
    Keras serializes them, without the seed (the project's seed decides);
    a VarianceScaling by its scale, mode and distribution, so that
    VarianceScaling(2.0, "fan_in", "truncated_normal") is he_normal. None
    when Keras cannot make it."""
    try:
        made = k.initializers.get(copy.deepcopy(value))
        found = k.initializers.serialize(made)
    except Exception:  # noqa: BLE001 - an initializer Keras does not know
        return None
    if isinstance(made, k.initializers.VarianceScaling):
        return "VarianceScaling", (float(made.scale), made.mode, made.distribution)
    if not isinstance(found, dict):
        return None
    options = {key: v for key, v in (found.get("config") or {}).items() if key != "seed"}
    return found.get("class_name"), options


@lru_cache(maxsize=2)
def _initializer_forms(k) -> list:
    """(form, choice) for each initializer choice: the catalogue's own
    catalogue.initializer_config, as Keras serializes it."""
    return [(_initializer_form(k, initializer_config(c)), c) for c in INITIALIZERS]


def _initializer_param(k, spec: ParamSpec, value, label: str) -> tuple[str, list[str]]:
    """The choice for an initializer in a layer's config: RandomUniform(0, 1)
    is uniform_0_1, a Keras initializer of the list its name; any other
    becomes the default, with a note."""
    form = _initializer_form(k, value)
    for known, choice in _initializer_forms(k):
        if form is not None and form == known:
            return choice, []
    return spec.default, [
        f"{label}: {spec.name} {_initializer_text(value)} is not one a node can hold; "
        f"the node uses {spec.default} (Keras' default), so its weights start differently"
    ]


def _initializer_text(value) -> str:
    """ "RandomNormal(mean=0.0, stddev=1.0)": the class and its options."""
    if not isinstance(value, dict) or "class_name" not in value:
        return _short(value)
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    options = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "seed" and v is not None)
    return f"{value['class_name']}({options})"


def _other_initializers(k, cls, config: dict, label: str, kind) -> list[str]:
    """Notes on the initializers a node does not hold (a bias's, a
    recurrent kernel's, a normalisation's) that differ from Keras' default
    for the layer's class: the node starts them from that default."""
    held = {spec.name for spec in kind.params if is_initializer(spec)}
    try:
        defaults = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return []
    notes = []
    for key, value in config.items():
        param = defaults.get(key)
        if not key.endswith("_initializer") or key in held or param is None:
            continue
        if not isinstance(param.default, str):
            continue
        if _initializer_form(k, value) != _initializer_form(k, param.default):
            notes.append(
                f"{label}: {key} {_initializer_text(value)} is not one a node can hold; the "
                f"node uses {param.default} (Keras' default), so its weights start differently"
            )
    return notes


def _fixed_options(class_name: str, config: dict, label: str) -> list[str]:
    notes = []
    for key, default in FIXED_OPTIONS.get(class_name, {}).items():
        if key in config and not _same(config[key], default):
            notes.append(
                f"{label}: {key}={_short(config[key])} is not supported; the node "
                f"behaves as {key}={_short(default)}"
            )
    return notes


def _same(value, default) -> bool:
    """Per-axis values such as (1, 1) or [-1] equal the single default."""
    if isinstance(value, (list, tuple)) and not isinstance(default, (list, tuple)):
        return len(value) > 0 and all(v == default for v in value)
    return value == default


def _short(value) -> str:
    """A config value in a note: a serialized object by its class name."""
    if isinstance(value, dict) and "class_name" in value:
        return str(value["class_name"])
    if isinstance(value, str):
        return repr(value)
    return str(value)


# --- losses and metrics -----------------------------------------------------------


def _key(name: str) -> str:
    """ "MeanSquaredError", "mean_squared_error" -> "meansquarederror"."""
    return name.replace("_", "").lower()


_LOSS_NAMES = {
    "mse": "mse",
    "meansquarederror": "mse",
    "mae": "mae",
    "meanabsoluteerror": "mae",
    "huber": "huber",
    "huberloss": "huber",
    "binarycrossentropy": "binary_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
}
# Keras losses we lack, and the loss of ours that trains most like them.
_CLOSEST_LOSS = {
    "binaryfocalcrossentropy": "binary_crossentropy",
    "categoricalfocalcrossentropy": "categorical_crossentropy",
    "kldivergence": "categorical_crossentropy",
    "kld": "categorical_crossentropy",
    "categoricalhinge": "categorical_crossentropy",
    "hinge": "binary_crossentropy",
    "squaredhinge": "binary_crossentropy",
    "logcosh": "huber",
}
_METRIC_NAMES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "binaryaccuracy": "accuracy",
    "categoricalaccuracy": "accuracy",
    "sparsecategoricalaccuracy": "accuracy",
    "mae": "mae",
    "meanabsoluteerror": "mae",
    "mse": "mse",
    "meansquarederror": "mse",
    "rmse": "rmse",
    "rootmeansquarederror": "rmse",
    "auc": "auc",
    "precision": "precision",
    "recall": "recall",
}


def spec_name(spec) -> tuple[str, dict]:
    """The name and config of a loss or metric as a compile config stores it:
    a string, or a serialized object or function."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict) and isinstance(spec.get("class_name"), str):
        if spec["class_name"] == "function" and isinstance(spec.get("config"), str):
            return spec["config"], {}
        config = spec.get("config")
        return spec["class_name"], config if isinstance(config, dict) else {}
    return repr(spec), {}


def default_loss(activation: str, units: int) -> str:
    """The loss an Output of this activation most likely learns with."""
    if activation == "softmax" and units > 1:
        return "sparse_categorical_crossentropy"
    if activation == "sigmoid":
        return "binary_crossentropy"
    return "mse"


def task_loss(spec, task: str, activation: str, units: int) -> tuple[str, list[str]]:
    """Our loss for a Keras loss spec (None: the file has none), with notes."""
    if spec is None:
        loss = default_loss(activation, units)
        return loss, [
            f"task '{task}': the file names no loss; the task uses {loss}, "
            f"which fits its {activation} output"
        ]
    name, config = spec_name(spec)
    key = _key(name)
    if key in _LOSS_NAMES:
        loss = _LOSS_NAMES[key]
        notes = []
        if loss == "huber" and config.get("delta", 1.0) != 1.0:
            notes.append(
                f"task '{task}': Huber delta {config['delta']} is not supported; "
                "the task uses delta 1.0"
            )
        return loss, notes
    loss = _CLOSEST_LOSS.get(key) or default_loss(activation, units)
    return loss, [
        f"task '{task}': loss {name!r} is not supported; the task uses {loss}, the closest one"
    ]


def from_logits(spec) -> bool:
    return spec is not None and spec_name(spec)[1].get("from_logits") is True


def task_metrics(specs, task: str) -> tuple[list[str], list[str]]:
    """Our metrics for a list of Keras metric specs, with notes on the rest."""
    found, notes = [], []
    for spec in specs:
        name, _ = spec_name(spec)
        ours = _METRIC_NAMES.get(_key(name))
        if ours is None:
            notes.append(f"task '{task}': metric {name!r} is not supported and is left out")
        elif ours not in found:
            found.append(ours)
    return found, notes
