"""The layer catalogue: every kind of node a project may hold.

Each kind declares its parameters, how many inputs it takes, how it
transforms shapes (batch dimension left out), how many weights it has, and
which Keras layer it becomes. The Keras side is only a class name and a
config dictionary here; the builder in mtl_studio.training turns them into
layers, so this module stays free of TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .params import ParamSpec, Shape, format_shape


class ShapeError(Exception):
    """A node cannot take the shapes it is given; the message says what to do."""


ACTIVATIONS = (
    "linear",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "elu",
    "selu",
    "gelu",
    "swish",
    "softplus",
    "leaky_relu",
)
PADDINGS = ("valid", "same")
# How a layer's kernel (or an Embedding's vectors) starts: Keras' names, and
# uniform_0_1, uniform on [0, 1) as np.random.rand (the classic TF1
# multi-task tutorial's start). initializer_config says what Keras takes.
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "uniform_0_1",
    "zeros",
    "ones",
)


def initializer_config(choice: str):
    """What a Keras layer's *_initializer argument takes for a choice: its
    Keras name, or for uniform_0_1 a serialized RandomUniform(0, 1)."""
    if choice == "uniform_0_1":
        return {"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0}}
    return choice


def is_initializer(spec: ParamSpec) -> bool:
    return spec.type == "choice" and spec.choices == INITIALIZERS


def _units(default=32, help="Number of output units.") -> ParamSpec:
    return ParamSpec("units", "int", default, minimum=1, help=help)


def _activation(default="linear") -> ParamSpec:
    return ParamSpec(
        "activation",
        "choice",
        default,
        choices=ACTIVATIONS,
        help="Activation applied to the output.",
    )


def _use_bias() -> ParamSpec:
    return ParamSpec("use_bias", "bool", True, help="Add a learned bias.")


def _initializer(
    name: str = "kernel_initializer", default: str = "glorot_uniform", what: str = "kernel"
) -> ParamSpec:
    return ParamSpec(
        name,
        "choice",
        default,
        choices=INITIALIZERS,
        help=f"How the {what} starts ({default}: Keras' default; uniform_0_1: uniform "
        "on [0, 1)). The seed makes it repeatable.",
    )


def _rate(name: str, default: float, help: str) -> ParamSpec:
    return ParamSpec(
        name, "float", default, minimum=0.0, maximum=1.0, max_inclusive=False, help=help
    )


@dataclass(frozen=True)
class LayerKind:
    name: str
    category: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number (merge layers)
    # (params, input shapes, node label) -> output shape; raises ShapeError.
    infer: Callable[[dict, list, str], Shape] | None = None
    # (params, input shapes) -> number of weights (trainable or not).
    count: Callable[[dict, list], int] = lambda p, s: 0
    keras_class: str = ""
    # Parameters worth showing on the canvas node.
    key_params: tuple[str, ...] = ()
    # Kinds whose weights are copied per task in soft sharing.
    has_weights: bool = False
    # Names of the input ports where they mean different things (an
    # attention layer's query, value, key): the canvas labels them, and
    # validation wants them filled in order, without a gap.
    port_names: tuple[str, ...] = ()
    # (params, number of connected inputs) -> number of output ports. Blocks
    # (core/blocks.py) have one per task; every layer has one.
    outputs: Callable[[dict, int], int] = lambda p, n: 1
    # A block: one node that builds to several standard layers (blocks.expand).
    block: bool = False

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    @property
    def variadic(self) -> bool:
        return self.max_inputs is None


# --- shape rules ------------------------------------------------------------


def _same_dim(a, b) -> bool:
    return a is None or b is None or a == b


def _conv_length(n, kernel, stride, padding):
    if n is None:
        return None
    if padding == "same":
        return -(-n // stride)  # ceil in integers: n / stride overflows a float for huge n
    out = (n - kernel) // stride + 1
    return out


def _needs_rank(label: str, shape: Shape, ranks: tuple[int, ...], wanted: str, fix: str):
    if len(shape) not in ranks:
        raise ShapeError(f"{label} needs {wanted} but gets {format_shape(shape)}: {fix}")


def _infer_dense(p, shapes, label):
    (s,) = shapes
    _needs_rank(
        label,
        s,
        (1, 2),
        "a flat vector",
        "put a Flatten (or a global pooling layer) before it",
    )
    if s[-1] is None:
        raise ShapeError(f"{label} needs a known number of features but gets {format_shape(s)}")
    return s[:-1] + (p["units"],)


def _count_dense(p, shapes):
    return shapes[0][-1] * p["units"] + (p["units"] if p["use_bias"] else 0)


def _needs_grid(label: str, shape: Shape, rank: int) -> None:
    """Convolutions and pooling of rank r take r spatial axes plus channels."""
    wanted = "(steps, channels)" if rank == 1 else "(height, width, channels)"
    fix = "put a Reshape before it" if len(shape) < rank + 1 else "check the layers before it"
    _needs_rank(label, shape, (rank + 1,), f"a {rank + 1}-D input {wanted}", fix)


def _windowed(label: str, shape: Shape, size: int, stride: int, padding: str, what: str):
    """Spatial sizes after sliding a window over every axis but the last."""
    spatial = [_conv_length(n, size, stride, padding) for n in shape[:-1]]
    if any(n is not None and n < 1 for n in spatial):
        raise ShapeError(
            f"{label}: {what} {size} is larger than its input {format_shape(shape)}: "
            f"use padding 'same' or a smaller {what.split()[0]}"
        )
    return tuple(spatial)


def _infer_conv(rank):
    def infer(p, shapes, label):
        (s,) = shapes
        _needs_grid(label, s, rank)
        spatial = _windowed(label, s, p["kernel_size"], p["strides"], p["padding"], "kernel")
        return spatial + (p["filters"],)

    return infer


def _count_conv(rank):
    def count(p, shapes):
        c_in = shapes[0][-1] or 0
        k = p["kernel_size"] ** rank
        return k * c_in * p["filters"] + (p["filters"] if p["use_bias"] else 0)

    return count


def _infer_pool(rank):
    def infer(p, shapes, label):
        (s,) = shapes
        _needs_grid(label, s, rank)
        stride = p["strides"] or p["pool_size"]
        return _windowed(label, s, p["pool_size"], stride, p["padding"], "pool size") + (s[-1],)

    return infer


def _infer_global_pool(rank):
    def infer(p, shapes, label):
        (s,) = shapes
        _needs_grid(label, s, rank)
        return (s[-1],)

    return infer


def _infer_flatten(p, shapes, label):
    (s,) = shapes
    if any(d is None for d in s):
        raise ShapeError(
            f"{label} needs a fixed size but gets {format_shape(s)}: "
            "use a global pooling layer for inputs of any length"
        )
    return (math.prod(s),)


def _infer_reshape(p, shapes, label):
    (s,) = shapes
    target = tuple(p["target_shape"])
    if any(d is None for d in s):
        raise ShapeError(f"{label} needs a fixed size but gets {format_shape(s)}")
    total = math.prod(s)
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if total % known:
            raise ShapeError(
                f"{label} cannot reshape {format_shape(s)} ({total} values) "
                f"into {format_shape(target)}"
            )
        return tuple(total // known if d == -1 else d for d in target)
    if known != total:
        raise ShapeError(
            f"{label} cannot reshape {format_shape(s)} ({total} values) into "
            f"{format_shape(target)} ({known} values): make the sizes agree or use -1"
        )
    return target


def _infer_same(p, shapes, label):
    return shapes[0]


def _count_norm(per_feature):
    def count(p, shapes):
        return per_feature * (shapes[0][-1] or 0)

    return count


def _infer_embedding(p, shapes, label):
    (s,) = shapes
    return s + (p["output_dim"],)


def _infer_recurrent(units_factor):
    def infer(p, shapes, label):
        (s,) = shapes
        _needs_rank(
            label,
            s,
            (2,),
            "a sequence (steps, features)",
            "put an Embedding or a Reshape before it",
        )
        units = p["units"] * units_factor(p)
        return (s[0], units) if p["return_sequences"] else (units,)

    return infer


def _recurrent_count(layer: str, units: int, features: int) -> int:
    if layer == "LSTM":
        return 4 * (units * (features + units) + units)
    # Keras' GRU default (reset_after=True) keeps two bias vectors.
    return 3 * units * (features + units) + 6 * units


def _example_axis(label: str, axis: int, shape: Shape, what: str = "its input") -> int:
    """The index into an example's shape of a Keras axis. Keras counts the
    batch as axis 0: axis 1 is an example's first axis, -1 its last. The
    batch axis and axes past the rank are refused."""
    rank = len(shape)
    if 1 <= axis <= rank:
        return axis - 1
    if -rank <= axis <= -1:
        return axis + rank
    raise ShapeError(
        f"{label} has axis {axis} but {what} {format_shape(shape)} has {rank} axes per "
        f"example: choose an axis from 1 to {rank} or from -{rank} to -1 (Keras counts "
        "the batch as axis 0)"
    )


def _infer_concatenate(p, shapes, label):
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        got = ", ".join(format_shape(s) for s in shapes)
        raise ShapeError(f"{label} needs inputs of one rank but gets {got}")
    axis = _example_axis(label, p["axis"], shapes[0], "its inputs")
    out = list(shapes[0])
    for s in shapes[1:]:
        for i, (a, b) in enumerate(zip(out, s)):
            if i == axis:
                out[i] = None if a is None or b is None else a + b
            elif not _same_dim(a, b):
                got = ", ".join(format_shape(t) for t in shapes)
                raise ShapeError(
                    f"{label} needs inputs that agree on every axis but {p['axis']} and gets {got}"
                )
            elif a is None:
                out[i] = b
    return tuple(out)


def _infer_add(p, shapes, label):
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or not all(_same_dim(a, b) for a, b in zip(first, s)):
            got = ", ".join(format_shape(t) for t in shapes)
            raise ShapeError(f"{label} needs inputs of one shape but gets {got}")
    return first


def _infer_softmax(p, shapes, label):
    (s,) = shapes
    _example_axis(label, p["axis"], s)
    return s


def _infer_dot(p, shapes, label):
    """Keras' Dot (batch_dot): sums the product over one axis of each input
    (axes -1: each input's last); the output is the first input's other
    axes, then the second's, or (1,) when none are left."""
    a, b = shapes
    i = _example_axis(label, p["axes"], a, "its first input")
    j = _example_axis(label, p["axes"], b, "its second input")
    if a[i] != b[j]:

        def size(d):
            return "any number of" if d is None else str(d)

        raise ShapeError(
            f"{label} sums over axis {p['axes']}, where its first input {format_shape(a)} has "
            f"{size(a[i])} values and its second {format_shape(b)} has {size(b[j])}: they "
            "must match; choose another axis or change the layers before it"
        )
    return (a[:i] + a[i + 1 :] + b[:j] + b[j + 1 :]) or (1,)


ATTENTION_PORTS = ("query", "value", "key")


def _attention_inputs(shapes: list) -> tuple:
    """Query, value and key shapes: one input is all three (self-attention),
    a missing key is the value."""
    query = shapes[0]
    value = shapes[1] if len(shapes) > 1 else query
    key = shapes[2] if len(shapes) > 2 else value
    return query, value, key


def _infer_attention(p, shapes, label):
    for port, s in zip(ATTENTION_PORTS, shapes):
        _needs_rank(
            label,
            s,
            (2,),
            f"a sequence (steps, features) as its {port}",
            "put an Embedding, a Conv1D or a recurrent layer with return_sequences before it",
        )
        if s[-1] is None:
            raise ShapeError(
                f"{label} needs a known number of features in its {port} but gets {format_shape(s)}"
            )
    query, value, key = _attention_inputs(shapes)
    if len(shapes) > 2 and key[0] != value[0]:
        raise ShapeError(
            f"{label} needs a key with as many steps as its value but gets value "
            f"{format_shape(value)} and key {format_shape(key)}: feed both from sequences "
            "of one length"
        )
    return query


def _count_attention(p, shapes):
    """Query, key and value projections (features -> heads x size) and the
    output projection (heads x value size -> the query's features), as
    Keras' EinsumDense layers, each with a bias when use_bias is on."""
    query, value, key = (s[-1] for s in _attention_inputs(shapes))
    heads, key_dim = p["num_heads"], p["key_dim"]
    value_dim = p["value_dim"] or key_dim
    kernels = heads * (key_dim * (query + key) + value_dim * (value + query))
    biases = heads * (2 * key_dim + value_dim) + query if p["use_bias"] else 0
    return kernels + biases


def _infer_input(p, shapes, label):
    return tuple(p["shape"])


# --- the kinds --------------------------------------------------------------


def _conv(rank: int) -> LayerKind:
    return LayerKind(
        f"Conv{rank}D",
        "Convolution",
        f"{rank}-D convolution over {'a sequence' if rank == 1 else 'an image'}.",
        (
            ParamSpec("filters", "int", 32, minimum=1, help="Number of filters."),
            ParamSpec("kernel_size", "int", 3, minimum=1, help="Width of the window."),
            ParamSpec("strides", "int", 1, minimum=1, help="Step of the window."),
            ParamSpec(
                "padding",
                "choice",
                "valid",
                choices=PADDINGS,
                help="'same' keeps the size (for stride 1).",
            ),
            _activation("relu"),
            _use_bias(),
            _initializer(),
        ),
        infer=_infer_conv(rank),
        count=_count_conv(rank),
        keras_class=f"Conv{rank}D",
        key_params=("filters", "kernel_size", "activation"),
        has_weights=True,
    )


def _pool(op: str, rank: int) -> LayerKind:
    return LayerKind(
        f"{op}Pooling{rank}D",
        "Pooling",
        f"{op} over windows of the input.",
        (
            ParamSpec("pool_size", "int", 2, minimum=1, help="Size of the window."),
            ParamSpec(
                "strides", "int", 0, minimum=0, help="Step of the window; 0 means the pool size."
            ),
            ParamSpec("padding", "choice", "valid", choices=PADDINGS, help="Border handling."),
        ),
        infer=_infer_pool(rank),
        keras_class=f"{op}Pooling{rank}D",
        key_params=("pool_size",),
    )


def _global_pool(op: str, rank: int) -> LayerKind:
    return LayerKind(
        f"Global{op}Pooling{rank}D",
        "Pooling",
        f"{op} over all positions: one value per channel.",
        infer=_infer_global_pool(rank),
        keras_class=f"Global{op}Pooling{rank}D",
    )


def _recurrent(name: str) -> LayerKind:
    return LayerKind(
        name,
        "Recurrent",
        f"{name} over a sequence.",
        (
            _units(32),
            ParamSpec(
                "return_sequences",
                "bool",
                False,
                help="Output every step (for a tagging head or a stacked layer).",
            ),
            _rate("dropout", 0.0, "Dropout on the inputs."),
            _initializer(what="input kernel"),
        ),
        infer=_infer_recurrent(lambda p: 1),
        count=lambda p, s: _recurrent_count(name, p["units"], s[0][-1] or 0),
        keras_class=name,
        key_params=("units", "return_sequences"),
        has_weights=True,
    )


KINDS: dict[str, LayerKind] = {}


def _register(*kinds: LayerKind) -> None:
    for kind in kinds:
        KINDS[kind.name] = kind


_register(
    LayerKind(
        "Input",
        "Input / Output",
        "A model input: one array per example.",
        (
            ParamSpec(
                "shape",
                "shape",
                (10,),
                allow_none=True,
                help="Shape of one example, e.g. 10 or 28, 28, 1; None for any length.",
            ),
            ParamSpec(
                "dtype",
                "choice",
                "float32",
                choices=("float32", "int32"),
                help="int32 for token ids that feed an Embedding.",
            ),
        ),
        min_inputs=0,
        max_inputs=0,
        infer=_infer_input,
        keras_class="InputLayer",
        key_params=("shape",),
    ),
    LayerKind(
        "Output",
        "Input / Output",
        "The end of a task head: a Dense layer whose output the task learns.",
        (
            _units(1, "Number of outputs: 1 for a value, the class count for a softmax."),
            _activation("linear"),
            _use_bias(),
            _initializer(),
        ),
        infer=_infer_dense,
        count=_count_dense,
        keras_class="Dense",
        key_params=("units", "activation"),
        has_weights=True,
    ),
    LayerKind(
        "Dense",
        "Core",
        "Fully connected layer.",
        (_units(32), _activation("relu"), _use_bias(), _initializer()),
        infer=_infer_dense,
        count=_count_dense,
        keras_class="Dense",
        key_params=("units", "activation"),
        has_weights=True,
    ),
    LayerKind(
        "Dropout",
        "Core",
        "Sets a fraction of inputs to zero while training.",
        (_rate("rate", 0.5, "Fraction of inputs to drop."),),
        infer=_infer_same,
        keras_class="Dropout",
        key_params=("rate",),
    ),
    LayerKind(
        "Activation",
        "Core",
        "Applies an activation function.",
        (_activation("relu"),),
        infer=_infer_same,
        keras_class="Activation",
        key_params=("activation",),
    ),
    LayerKind(
        "Softmax",
        "Core",
        "Turns scores into weights that sum to 1 along an axis (a gate's mixture weights).",
        (ParamSpec("axis", "int", -1, help="The axis whose values sum to 1; -1 is the last."),),
        infer=_infer_softmax,
        keras_class="Softmax",
        key_params=("axis",),
    ),
    LayerKind(
        "Flatten", "Reshaping", "Flattens to a vector.", infer=_infer_flatten, keras_class="Flatten"
    ),
    LayerKind(
        "Reshape",
        "Reshaping",
        "Gives the input a new shape with the same size.",
        (
            ParamSpec(
                "target_shape",
                "shape",
                (-1, 1),
                allow_minus_one=True,
                help="New shape; one dimension may be -1.",
            ),
        ),
        infer=_infer_reshape,
        keras_class="Reshape",
        key_params=("target_shape",),
    ),
    _conv(1),
    _conv(2),
    _pool("Max", 1),
    _pool("Max", 2),
    _pool("Average", 1),
    _pool("Average", 2),
    _global_pool("Max", 1),
    _global_pool("Max", 2),
    _global_pool("Average", 1),
    _global_pool("Average", 2),
    LayerKind(
        "BatchNormalization",
        "Normalization",
        "Normalises each feature over the batch.",
        (
            ParamSpec(
                "momentum",
                "float",
                0.99,
                minimum=0.0,
                maximum=1.0,
                min_inclusive=False,
                max_inclusive=False,
                help="Momentum of the moving averages.",
            ),
            ParamSpec(
                "epsilon",
                "float",
                0.001,
                minimum=0.0,
                min_inclusive=False,
                help="Added to the variance.",
            ),
        ),
        infer=_infer_same,
        count=_count_norm(4),
        keras_class="BatchNormalization",
        has_weights=True,
    ),
    LayerKind(
        "LayerNormalization",
        "Normalization",
        "Normalises each example over its features.",
        (
            ParamSpec(
                "epsilon",
                "float",
                0.001,
                minimum=0.0,
                min_inclusive=False,
                help="Added to the variance.",
            ),
        ),
        infer=_infer_same,
        count=_count_norm(2),
        keras_class="LayerNormalization",
        has_weights=True,
    ),
    LayerKind(
        "Embedding",
        "Core",
        "Maps token ids to vectors.",
        (
            ParamSpec("input_dim", "int", 1000, minimum=1, help="Vocabulary size."),
            ParamSpec("output_dim", "int", 64, minimum=1, help="Vector size."),
            ParamSpec("mask_zero", "bool", False, help="Treat id 0 as padding."),
            _initializer("embeddings_initializer", "random_uniform", "vectors"),
        ),
        infer=_infer_embedding,
        count=lambda p, s: p["input_dim"] * p["output_dim"],
        keras_class="Embedding",
        key_params=("input_dim", "output_dim"),
        has_weights=True,
    ),
    _recurrent("LSTM"),
    _recurrent("GRU"),
    LayerKind(
        "Bidirectional",
        "Recurrent",
        "An LSTM or GRU run forwards and backwards.",
        (
            ParamSpec(
                "layer",
                "choice",
                "LSTM",
                choices=("LSTM", "GRU"),
                help="The recurrent layer inside.",
            ),
            _units(32),
            ParamSpec("return_sequences", "bool", False, help="Output every step."),
            ParamSpec(
                "merge_mode",
                "choice",
                "concat",
                choices=("concat", "sum", "mul", "ave"),
                help="How the two directions combine.",
            ),
            _rate("dropout", 0.0, "Dropout on the inputs."),
            _initializer(what="input kernel of each direction"),
        ),
        infer=_infer_recurrent(lambda p: 2 if p["merge_mode"] == "concat" else 1),
        count=lambda p, s: 2 * _recurrent_count(p["layer"], p["units"], s[0][-1] or 0),
        keras_class="Bidirectional",
        key_params=("layer", "units", "return_sequences"),
        has_weights=True,
    ),
    LayerKind(
        "Concatenate",
        "Merge",
        "Joins its inputs along an axis.",
        (ParamSpec("axis", "int", -1, help="Axis to join along; -1 is the last."),),
        min_inputs=2,
        max_inputs=None,
        infer=_infer_concatenate,
        keras_class="Concatenate",
    ),
    LayerKind(
        "Add",
        "Merge",
        "Adds inputs of one shape.",
        min_inputs=2,
        max_inputs=None,
        infer=_infer_add,
        keras_class="Add",
    ),
    LayerKind(
        "Multiply",
        "Merge",
        "Multiplies inputs of one shape element by element (a gate times what it gates).",
        min_inputs=2,
        max_inputs=None,
        infer=_infer_add,
        keras_class="Multiply",
    ),
    LayerKind(
        "Dot",
        "Merge",
        "Dot product of two inputs along an axis (a gate's weights times stacked "
        "experts, or the cosine similarity of two vectors).",
        (
            ParamSpec(
                "axes",
                "int",
                -1,
                help="The axis summed over, in both inputs, counted as Keras counts: 1 is "
                "an example's first axis, -1 each input's last (0 is the batch).",
            ),
            ParamSpec(
                "normalize",
                "bool",
                False,
                help="L2-normalise both inputs along the axis first: the output is "
                "their cosine similarity.",
            ),
        ),
        min_inputs=2,
        max_inputs=2,
        infer=_infer_dot,
        keras_class="Dot",
        key_params=("axes",),
    ),
    LayerKind(
        "MultiHeadAttention",
        "Attention",
        "Multi-head attention over sequences: one input attends to itself; or a "
        "query, a value and (optionally) a key on ports 0, 1, 2.",
        (
            ParamSpec("num_heads", "int", 2, minimum=1, help="Number of attention heads."),
            ParamSpec(
                "key_dim",
                "int",
                16,
                minimum=1,
                help="Size of each head's query and key projections.",
            ),
            ParamSpec(
                "value_dim",
                "int",
                0,
                minimum=0,
                help="Size of each head's value projection; 0 means key_dim.",
            ),
            _rate("dropout", 0.0, "Dropout on the attention weights."),
            _use_bias(),
        ),
        min_inputs=1,
        max_inputs=3,
        infer=_infer_attention,
        count=_count_attention,
        keras_class="MultiHeadAttention",
        key_params=("num_heads", "key_dim"),
        has_weights=True,
        port_names=ATTENTION_PORTS,
    ),
)

CATEGORIES = (
    "Input / Output",
    "Core",
    "Convolution",
    "Pooling",
    "Recurrent",
    "Attention",
    "Normalization",
    "Reshaping",
    "Merge",
    "Multi-task",
)


def get_kind(name: str) -> LayerKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown node kind {name!r}") from None


def keras_config(kind: LayerKind, params: dict) -> dict:
    """The keyword arguments of the Keras layer for a node of this kind."""
    p = dict(params)
    for spec in kind.params:
        if is_initializer(spec):
            p[spec.name] = initializer_config(p[spec.name])
    if kind.name == "Input":
        return {"shape": tuple(p["shape"]), "dtype": p["dtype"]}
    if kind.name.startswith(("MaxPooling", "AveragePooling")):
        p["strides"] = p["strides"] or None
    if kind.name == "Reshape":
        p["target_shape"] = tuple(p["target_shape"])
    if kind.name == "Bidirectional":
        return {"merge_mode": p["merge_mode"]}
    if kind.name == "MultiHeadAttention":
        p["value_dim"] = p["value_dim"] or None
    return p


def call_arguments(keras_class: str, inputs: list) -> list:
    """The positional arguments a node's Keras layer is called with, from its
    inputs in port order (tensors for the builder, variable names for the
    exported script): one input as itself, a merge layer's inputs as one
    list, and an attention layer's as layer(query, value[, key]), one input
    being both query and value (self-attention)."""
    if keras_class == "MultiHeadAttention":
        return list(inputs) if len(inputs) > 1 else [inputs[0], inputs[0]]
    return [list(inputs) if len(inputs) > 1 else inputs[0]]


def recurrent_inner_config(params: dict) -> dict:
    """The keyword arguments of a Bidirectional node's inner LSTM or GRU
    (its name aside): the builder and the exported script both use them."""
    return {
        "units": params["units"],
        "return_sequences": params["return_sequences"],
        "dropout": params["dropout"],
        "kernel_initializer": initializer_config(params["kernel_initializer"]),
    }


# The multi-task blocks (MMoE, CGC, PLE, cross-stitch) register themselves;
# they are built from the kinds above, so they come last.
from . import blocks  # noqa: E402, F401
