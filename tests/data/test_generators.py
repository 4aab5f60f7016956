import numpy as np
import pytest

from mtl_studio.data import GENERATORS, DataError, generate


def test_tutorial_uniform_shapes_and_range():
    table = generate("tutorial_uniform", {"examples": 50})
    assert table.source == "generator tutorial_uniform"
    assert {k: v.shape for k, v in table.columns.items()} == {
        "X": (50, 10),
        "Y1": (50, 20),
        "Y2": (50, 20),
    }
    assert all(v.dtype == np.float32 for v in table.columns.values())
    assert set(table.kinds.values()) == {"numeric"}
    assert table.columns["X"].min() >= 0 and table.columns["X"].max() < 1


def test_correlated_regression_shapes():
    table = generate("correlated_regression", {"examples": 30, "features": 7})
    assert {k: v.shape for k, v in table.columns.items()} == {
        "X": (30, 7),
        "y1": (30, 1),
        "y2": (30, 1),
    }


@pytest.mark.parametrize("p", [0.0, 0.5, 0.9])
def test_correlated_regression_correlation_of_the_linear_parts(p):
    # With no sine terms and no noise, y_k = w_k.x, whose correlation is the
    # cosine of w1 and w2, which the generator sets to p.
    table = generate(
        "correlated_regression",
        {"examples": 20000, "features": 10, "correlation": p, "sin_terms": 0, "noise": 0.0},
    )
    y1, y2 = table.columns["y1"][:, 0], table.columns["y2"][:, 0]
    assert np.corrcoef(y1, y2)[0, 1] == pytest.approx(p, abs=0.03)


def test_scale_regression_shapes_and_scales():
    table = generate(
        "scale_regression",
        {"examples": 400, "tasks": 3, "input_dim": 40, "output_dim": 6, "sigma_max": 100.0},
    )
    assert {k: v.shape for k, v in table.columns.items()} == {
        "X": (400, 40),
        "y1": (400, 6),
        "y2": (400, 6),
        "y3": (400, 6),
    }
    stds = [table.columns[f"y{i}"].std() for i in (1, 2, 3)]
    # Scales 1, 10, 100: tanh is mostly saturated, so each std is near sigma_i.
    assert stds[2] / stds[0] == pytest.approx(100, rel=0.3)
    assert stds[1] / stds[0] == pytest.approx(10, rel=0.3)


def test_scale_regression_one_task_has_scale_one():
    table = generate(
        "scale_regression", {"examples": 20, "tasks": 1, "input_dim": 5, "output_dim": 2}
    )
    assert set(table.columns) == {"X", "y1"}
    assert np.abs(table.columns["y1"]).max() <= 1


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_from_the_seed(name):
    small = {"examples": 20}
    if name == "scale_regression":
        small.update(input_dim=5, output_dim=3)
    a, b = generate(name, {**small, "seed": 3}), generate(name, {**small, "seed": 3})
    c = generate(name, {**small, "seed": 4})
    for key in a.columns:
        np.testing.assert_array_equal(a.columns[key], b.columns[key])
    first = next(iter(a.columns))  # the input: X, a title, words, an image, a strip
    assert not np.array_equal(a.columns[first], c.columns[first])


def test_defaults_are_filled():
    table = generate("correlated_regression", {})
    assert table.columns["X"].shape == (1000, 100)


@pytest.mark.parametrize(
    "name, params, message",
    [
        (
            "tutorial_uniform",
            {"examples": 0},
            "generator 'tutorial_uniform': parameter examples: expected a positive integer, got 0",
        ),
        (
            "tutorial_uniform",
            {"seed": -1},
            "generator 'tutorial_uniform': parameter seed: expected an integer in [0, 2147483647], got -1",
        ),
        (
            "correlated_regression",
            {"correlation": 2},
            "generator 'correlated_regression': parameter correlation: expected a number in "
            "[-1, 1], got 2",
        ),
        (
            "tutorial_uniform",
            {"rows": 5},
            "generator 'tutorial_uniform': there is no parameter 'rows' (parameters: examples, "
            "high, seed): remove it",
        ),
    ],
)
def test_bad_parameters(name, params, message):
    with pytest.raises(DataError) as info:
        generate(name, params)
    assert str(info.value) == message


def test_unknown_generator_lists_the_known_ones():
    with pytest.raises(DataError) as info:
        generate("gauss", {})
    assert str(info.value) == (
        "unknown generator 'gauss': choose one of tutorial_uniform, "
        "correlated_regression, scale_regression, support_tickets, toy_sentences, "
        "aging_shapes, digit_strips"
    )
    with pytest.raises(DataError, match="no generator is chosen"):
        generate("", {})
