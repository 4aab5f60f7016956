"""Dot and MultiHeadAttention in the catalogue: shape rules as Keras applies
them (axes counted with the batch, as Keras counts), weight counts, the
order their inputs are called in, and the port rule of named ports.
Keras itself checks the same numbers in tests/training/test_attention_layers.py."""

import pytest

from mtl_studio.core.catalogue import (
    CATEGORIES,
    KINDS,
    ShapeError,
    call_arguments,
    get_kind,
    keras_config,
)
from mtl_studio.core.graph import Edge
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import errors, infer_shapes, parameter_count, validate
from tests.helpers import chain, node


def infer(kind, shapes, **params):
    k = get_kind(kind)
    return k.infer({**k.defaults(), **params}, [tuple(s) for s in shapes], f"{kind} 'n'")


def count(kind, shapes, **params):
    k = get_kind(kind)
    return k.count({**k.defaults(), **params}, [tuple(s) for s in shapes])


@pytest.mark.parametrize(
    "shapes, axes, expected",
    [
        ([(4,), (4, 6)], 1, (6,)),  # an MMoE mixture: gate [n] . experts [n, d] -> [d]
        ([(4, 6), (4,)], 1, (6,)),
        ([(8,), (8,)], -1, (1,)),  # two vectors: one number, kept as (1,)
        ([(8,), (8,)], 1, (1,)),
        ([(3, 4), (5, 4)], -1, (3, 5)),  # query . key scores
        ([(3, 4), (5, 4)], 2, (3, 5)),
        ([(4,), (6, 4)], -1, (6,)),  # -1 is each input's own last axis
        ([(None, 4), (None, 4)], 1, (4, 4)),  # any length, on both sides
    ],
)
def test_dot_shapes_follow_keras_batch_dot(shapes, axes, expected):
    assert infer("Dot", shapes, axes=axes) == expected


@pytest.mark.parametrize(
    "shapes, axes, message",
    [
        (
            [(4,), (5, 6)],
            1,
            r"sums over axis 1, where its first input \(4,\) has 4 values and its second "
            r"\(5, 6\) has 5: they must match",
        ),
        ([(None,), (4,)], 1, "has any number of values and its second"),
        ([(4,), (4,)], 0, "Keras counts the batch as axis 0"),
        ([(4,), (4, 6)], 2, r"axis 2 but its first input \(4,\) has 1 axes per example"),
        ([(4, 6), (4,)], -2, r"axis -2 but its second input \(4,\) has 1 axes"),
    ],
)
def test_dot_refusals_say_what_to_change(shapes, axes, message):
    with pytest.raises(ShapeError, match=message):
        infer("Dot", shapes, axes=axes)


def test_axes_count_the_batch_as_keras_does_for_concatenate_and_softmax_too():
    """Concatenate(axis=1) of two [1, d] rows stacks them into [2, d] in
    Keras; the catalogue said [1, 2d] before, and took axis 0 (the batch)."""
    assert infer("Concatenate", [(1, 4), (1, 4)], axis=1) == (2, 4)
    assert infer("Concatenate", [(3,), (4,)], axis=1) == (7,)
    assert infer("Concatenate", [(5, 3), (5, 4)], axis=-1) == (5, 7)
    assert infer("Softmax", [(8,)], axis=1) == (8,)
    for kind in ("Concatenate", "Softmax"):
        with pytest.raises(ShapeError, match="counts the batch as axis 0"):
            infer(kind, [(3,), (3,)][: 2 if kind == "Concatenate" else 1], axis=0)


@pytest.mark.parametrize(
    "shapes, expected",
    [
        ([(5, 8)], (5, 8)),  # self-attention
        ([(5, 8), (7, 3)], (5, 8)),  # a query attends to another sequence
        ([(5, 8), (7, 3), (7, 6)], (5, 8)),
        ([(None, 8), (None, 3)], (None, 8)),
    ],
)
def test_attention_keeps_the_query_shape(shapes, expected):
    assert infer("MultiHeadAttention", shapes) == expected


@pytest.mark.parametrize(
    "shapes, message",
    [
        ([(8,)], r"needs a sequence \(steps, features\) as its query but gets \(8,\): put an"),
        ([(5, 8), (3,)], r"as its value but gets \(3,\)"),
        ([(5, 8), (7, 3), (2, 2, 2)], r"as its key but gets \(2, 2, 2\)"),
        ([(5, None)], "needs a known number of features in its query"),
        (
            [(5, 8), (7, 3), (6, 3)],
            r"needs a key with as many steps as its value but gets value \(7, 3\) and key "
            r"\(6, 3\)",
        ),
    ],
)
def test_attention_refusals_name_the_port(shapes, message):
    with pytest.raises(ShapeError, match=message):
        infer("MultiHeadAttention", shapes)


def test_attention_weights_are_the_four_projections():
    # One head of size 2 on (3, 4) attending to itself: query, key, value
    # kernels 4 x 2 each, output kernel 2 x 4; biases 2 + 2 + 2 + 4.
    assert count("MultiHeadAttention", [(3, 4)], num_heads=1, key_dim=2) == 24 + 8 + 10
    assert count("MultiHeadAttention", [(3, 4)], num_heads=1, key_dim=2, use_bias=False) == 32
    # value_dim 0 is key_dim; another value size changes the value and output kernels.
    assert count("MultiHeadAttention", [(3, 4)], num_heads=1, key_dim=2, value_dim=2) == 42
    with_values = count("MultiHeadAttention", [(3, 4)], num_heads=1, key_dim=2, value_dim=5)
    assert with_values == 4 * 2 * 2 + 4 * 5 + 5 * 4 + (2 + 2 + 5 + 4)
    # The key's and the value's own feature sizes count, not the query's.
    three = count("MultiHeadAttention", [(3, 4), (6, 7), (6, 9)], num_heads=2, key_dim=3)
    assert three == 2 * 3 * (4 + 9) + 2 * 3 * (7 + 4) + (2 * 3 * 2 + 2 * 3 + 4)
    assert count("Dot", [(4,), (4, 6)], axes=1) == 0


def test_value_dim_zero_means_keras_default():
    kind = get_kind("MultiHeadAttention")
    assert keras_config(kind, kind.defaults())["value_dim"] is None
    assert keras_config(kind, {**kind.defaults(), "value_dim": 8})["value_dim"] == 8


def test_call_arguments_put_attention_inputs_in_call_order():
    assert call_arguments("MultiHeadAttention", ["x"]) == ["x", "x"]
    assert call_arguments("MultiHeadAttention", ["q", "v"]) == ["q", "v"]
    assert call_arguments("MultiHeadAttention", ["q", "v", "k"]) == ["q", "v", "k"]
    assert call_arguments("Dot", ["a", "b"]) == [["a", "b"]]
    assert call_arguments("Dense", ["a"]) == ["a"]


def test_the_palette_shows_the_new_kinds_with_help_on_every_field():
    assert get_kind("MultiHeadAttention").category == "Attention"
    assert get_kind("Dot").category == "Merge"
    assert {k.category for k in KINDS.values()} <= set(CATEGORIES)
    for name in ("Dot", "MultiHeadAttention"):
        assert all(spec.help for spec in get_kind(name).params), name
    assert get_kind("MultiHeadAttention").port_names == ("query", "value", "key")


def attention_project(ports=(0,)) -> Project:
    """seq (6, 4) into an attention node on the given ports, pooled, one task."""
    p = Project("attention")
    node(p, "seq", "Input", shape=[6, 4])
    node(p, "att", "MultiHeadAttention", num_heads=2, key_dim=3)
    node(p, "pool", "GlobalAveragePooling1D")
    node(p, "out", "Output", units=1)
    for port in ports:
        source = "seq" if port == 0 else node(p, f"in{port}", "Input", shape=[5, 3])
        p.connect(Edge(source, "att", port))
    chain(p, "att", "pool", "out")
    p.add_task(Task("y", "out", "mse"))
    return p


def test_attention_ports_must_be_filled_in_order():
    assert not errors(validate(attention_project((0,))))
    assert not errors(validate(attention_project((0, 1))))
    (problem,) = errors(validate(attention_project((0, 2))))
    assert problem.place.id == "att"
    assert problem.message == (
        "has an input on port 2 (key) but none on port 1 (value): connect its value to "
        "port 1, or move the edge to port 1"
    )


def test_a_dot_mismatch_is_a_problem_on_the_node_and_counts_stay_zero():
    p = Project("dot")
    node(p, "a", "Input", shape=[4])
    node(p, "b", "Input", shape=[5, 6])
    node(p, "dot", "Dot", axes=1)
    node(p, "out", "Output", units=1)
    chain(p, "a", "dot", "out")
    chain(p, "b", "dot")
    p.add_task(Task("y", "out", "mse"))
    shapes, problems = infer_shapes(p)
    assert shapes["dot"] is None
    wanted = "sums over axis 1, where its first input (4,) has 4 values and its second (5, 6)"
    assert [(x.place.id, x.message.split(" has 5:")[0]) for x in problems] == [("dot", wanted)]
    assert parameter_count(p, shapes)["dot"] == 0
