import pytest

from mtl_studio.core.catalogue import KINDS, ShapeError, get_kind
from mtl_studio.core.params import ParamSpec, format_shape, parse_shape

REQUIRED = {
    "Input",
    "Dense",
    "Conv1D",
    "Conv2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Reshape",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "Activation",
    "Embedding",
    "LSTM",
    "GRU",
    "Bidirectional",
    "Concatenate",
    "Add",
    "Dot",
    "MultiHeadAttention",
    "Output",
}


def infer(kind, shapes, **params):
    k = get_kind(kind)
    p = k.defaults()
    p.update(params)
    return k.infer(p, [tuple(s) for s in shapes], f"{kind} 'n'")


def test_catalogue_has_every_kind_the_product_promises():
    assert REQUIRED <= set(KINDS)


def test_every_default_passes_its_own_check():
    for kind in KINDS.values():
        for spec in kind.params:
            assert spec.check(spec.default) == spec.default or spec.type == "shape"


@pytest.mark.parametrize(
    "kind, shapes, params, expected",
    [
        ("Dense", [(10,)], {"units": 4}, (4,)),
        ("Dense", [(7, 10)], {"units": 4}, (7, 4)),  # per step, like Keras
        ("Conv1D", [(100, 8)], {"filters": 16, "kernel_size": 5}, (96, 16)),
        (
            "Conv1D",
            [(100, 8)],
            {"filters": 16, "kernel_size": 5, "padding": "same", "strides": 2},
            (50, 16),
        ),
        ("Conv2D", [(28, 28, 1)], {"filters": 8, "kernel_size": 3}, (26, 26, 8)),
        ("Conv2D", [(None, None, 3)], {"filters": 8}, (None, None, 8)),
        ("MaxPooling2D", [(26, 26, 8)], {}, (13, 13, 8)),
        ("AveragePooling1D", [(10, 4)], {"pool_size": 3, "strides": 1}, (8, 4)),
        ("GlobalAveragePooling2D", [(13, 13, 8)], {}, (8,)),
        ("GlobalMaxPooling1D", [(None, 8)], {}, (8,)),
        ("Flatten", [(13, 13, 8)], {}, (1352,)),
        ("Reshape", [(12,)], {"target_shape": (3, -1)}, (3, 4)),
        ("Embedding", [(20,)], {"output_dim": 5}, (20, 5)),
        ("LSTM", [(20, 5)], {"units": 7}, (7,)),
        ("GRU", [(20, 5)], {"units": 7, "return_sequences": True}, (20, 7)),
        ("Bidirectional", [(20, 5)], {"units": 7, "return_sequences": True}, (20, 14)),
        ("Bidirectional", [(20, 5)], {"units": 7, "merge_mode": "sum"}, (7,)),
        ("Concatenate", [(3,), (4,)], {}, (7,)),
        ("Concatenate", [(5, 3), (5, 4)], {}, (5, 7)),
        ("Add", [(6,), (6,), (6,)], {}, (6,)),
        ("Dropout", [(6, 2)], {}, (6, 2)),
        ("Output", [(16,)], {"units": 3}, (3,)),
    ],
)
def test_shape_rules(kind, shapes, params, expected):
    assert infer(kind, shapes, **params) == expected


@pytest.mark.parametrize(
    "kind, shapes, params, words",
    [
        ("Dense", [(8, 8, 16)], {}, "needs a flat vector but gets (8, 8, 16): put a Flatten"),
        ("Conv2D", [(10,)], {}, "needs a 3-D input"),
        ("Conv1D", [(3, 2)], {"kernel_size": 5}, "kernel 5 is larger than its input"),
        ("LSTM", [(10,)], {}, "needs a sequence (steps, features)"),
        ("Flatten", [(None, 4)], {}, "needs a fixed size"),
        ("Reshape", [(10,)], {"target_shape": (3, 3)}, "cannot reshape (10,)"),
        ("Reshape", [(10,)], {"target_shape": (3, -1)}, "cannot reshape (10,)"),
        ("Concatenate", [(3,), (4, 1)], {}, "inputs of one rank"),
        ("Concatenate", [(5, 3), (6, 4)], {}, "agree on every axis"),
        ("Add", [(3,), (4,)], {}, "inputs of one shape"),
    ],
)
def test_shape_errors_say_what_to_change(kind, shapes, params, words):
    with pytest.raises(ShapeError) as err:
        infer(kind, shapes, **params)
    assert words in str(err.value)
    assert f"{kind} 'n'" in str(err.value)


@pytest.mark.parametrize(
    "spec, value, message",
    [
        (ParamSpec("units", "int", 1, minimum=1), -4, "expected a positive integer, got -4"),
        (ParamSpec("units", "int", 1, minimum=1), 2.5, "expected a positive integer, got 2.5"),
        (ParamSpec("units", "int", 1, minimum=1), True, "expected a positive integer, got true"),
        (
            ParamSpec("rate", "float", 0.5, minimum=0, maximum=1, max_inclusive=False),
            1.0,
            "expected a number in [0, 1), got 1.0",
        ),
        (ParamSpec("a", "choice", "x", choices=("x", "y")), "z", "expected one of x, y, got 'z'"),
        (ParamSpec("b", "bool", True), "yes", "expected true or false, got 'yes'"),
        (ParamSpec("s", "shape", (1,)), [0], "positive integer"),
        (ParamSpec("s", "shape", (1,)), [], "expected a shape"),
        (ParamSpec("s", "shape", (1,), allow_minus_one=True), [-1, -1], "only one dimension"),
    ],
)
def test_param_checks_refuse_with_a_reason(spec, value, message):
    with pytest.raises(ValueError) as err:
        spec.check(value)
    assert message in str(err.value)


def test_shapes_parse_and_print():
    spec = ParamSpec("s", "shape", (1,), allow_none=True)
    assert spec.check("28, 28, 1") == (28, 28, 1)
    assert spec.check("(None, 8)") == (None, 8)
    assert parse_shape("[3]") == [3]
    assert format_shape((10,)) == "(10,)"
    assert format_shape((None, 4)) == "(None, 4)"
    with pytest.raises(ValueError):
        spec.check("a, b")


def test_softmax_and_multiply_shapes():
    from mtl_studio.core.catalogue import get_kind

    softmax, multiply = get_kind("Softmax"), get_kind("Multiply")
    assert softmax.infer({"axis": -1}, [(None, 8)], "Softmax 's'") == (None, 8)
    with pytest.raises(ShapeError, match="axis 3 but its input"):
        softmax.infer({"axis": 3}, [(8,)], "Softmax 's'")
    assert multiply.infer({}, [(4,), (4,)], "Multiply 'm'") == (4,)
    with pytest.raises(ShapeError, match="needs inputs of one shape"):
        multiply.infer({}, [(4,), (3,)], "Multiply 'm'")
