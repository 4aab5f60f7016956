"""Built-in data generators: formulas from a tutorial and two papers.

Each one is reproducible from its seed, so a project that names a generator
and its parameters always trains on the same examples, and nothing but the
project file needs to be shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.params import ParamSpec
from .errors import DataError
from .table import NUMERIC, Table


@dataclass(frozen=True)
class Generator:
    name: str
    description: str
    params: tuple[ParamSpec, ...]
    make: Callable[[dict], Table]  # checked parameters -> table


def _examples() -> ParamSpec:
    return ParamSpec("examples", "int", 1000, minimum=1, help="Number of examples.")


def _seed() -> ParamSpec:
    return ParamSpec(
        "seed", "int", 0, minimum=0, help="The same seed always gives the same examples."
    )


def _table(name: str, arrays: dict[str, np.ndarray]) -> Table:
    columns = {key: values.astype(np.float32) for key, values in arrays.items()}
    return Table(columns, {key: NUMERIC for key in columns}, f"generator {name}")


# --- the classic TensorFlow multi-task tutorial --------------------------------


def _tutorial_uniform(p: dict) -> Table:
    rng = np.random.default_rng(p["seed"])
    n = p["examples"]
    return _table(
        "tutorial_uniform",
        {
            "X": rng.random((n, 10)),
            "Y1": rng.random((n, 20)),
            "Y2": rng.random((n, 20)),
        },
    )


# --- MMoE: two regression tasks of a chosen correlation ------------------------


def _orthonormal_pair(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Two orthogonal unit vectors: Gram-Schmidt on two Gaussian vectors."""
    g1, g2 = rng.normal(size=(2, d))
    u1 = g1 / np.linalg.norm(g1)
    v = g2 - (g2 @ u1) * u1
    return u1, v / np.linalg.norm(v)


def _correlated_regression(p: dict) -> Table:
    """Ma et al. 2018 (MMoE), section 3.2. The cosine of w1 and w2 is the
    correlation p, so w1.x and w2.x correlate by p; the sine terms (shared by
    both tasks, as in the paper) make the labels' correlation a little lower."""
    rng = np.random.default_rng(p["seed"])
    c, rho = p["scale"], p["correlation"]
    u1, u2 = _orthonormal_pair(rng, p["features"])
    weights = (c * u1, c * (rho * u1 + math.sqrt(1 - rho * rho) * u2))
    alpha = rng.normal(size=p["sin_terms"])
    beta = rng.normal(size=p["sin_terms"])
    x = rng.normal(size=(p["examples"], p["features"]))
    arrays = {"X": x}
    for k, w in enumerate(weights, start=1):
        wx = x @ w
        y = wx + np.sin(np.outer(wx, alpha) + beta).sum(axis=1)
        y += rng.normal(0.0, p["noise"], size=len(x))
        arrays[f"y{k}"] = y[:, None]
    return _table("correlated_regression", arrays)


# --- GradNorm: regression tasks of very different scales -----------------------


def _scale_regression(p: dict) -> Table:
    """Chen et al. 2018 (GradNorm), section 5.1: f_i(x) = sigma_i tanh((B + eps_i) x).

    Kept literal: the paper draws B from N(0, 10) and eps_i from N(0, 3.5),
    read here as variances (std sqrt(10) and sqrt(3.5)), and scales nothing.
    With 250 inputs the pre-activations have a std near 60, so tanh saturates
    for most units and each output is close to +-sigma_i: the tasks differ
    mainly in scale, which is what the toy is for.
    """
    rng = np.random.default_rng(p["seed"])
    shape = (p["output_dim"], p["input_dim"])
    b = rng.normal(0.0, math.sqrt(10.0), size=shape)
    tasks = p["tasks"]
    # Spread geometrically from 1 to sigma_max, so the scales are evenly
    # spaced on a log axis; one task has scale 1.
    sigmas = np.geomspace(1.0, p["sigma_max"], tasks) if tasks > 1 else np.ones(1)
    eps = [rng.normal(0.0, math.sqrt(3.5), size=shape) for _ in range(tasks)]
    x = rng.normal(size=(p["examples"], p["input_dim"]))
    arrays = {"X": x}
    for i in range(tasks):
        arrays[f"y{i + 1}"] = sigmas[i] * np.tanh(x @ (b + eps[i]).T)
    return _table("scale_regression", arrays)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator(
            "tutorial_uniform",
            "The classic TensorFlow multi-task tutorial: X (10 values) and two "
            "targets Y1, Y2 (20 values each), all uniform in [0, 1).",
            (_examples(), _seed()),
            _tutorial_uniform,
        ),
        Generator(
            "correlated_regression",
            "Two regression tasks whose correlation you choose (MMoE, Ma et al. "
            "2018): X (features values), targets y1 and y2.",
            (
                _examples(),
                ParamSpec("features", "int", 100, minimum=2, help="Input dimension d."),
                ParamSpec(
                    "correlation",
                    "float",
                    0.5,
                    minimum=-1.0,
                    maximum=1.0,
                    help="Cosine of the two tasks' weight vectors.",
                ),
                ParamSpec(
                    "scale",
                    "float",
                    1.0,
                    minimum=0.0,
                    min_inclusive=False,
                    help="Length c of the weight vectors.",
                ),
                ParamSpec(
                    "sin_terms",
                    "int",
                    10,
                    minimum=0,
                    help="Number m of sine terms that make the tasks non-linear.",
                ),
                ParamSpec(
                    "noise",
                    "float",
                    0.01,
                    minimum=0.0,
                    help="Standard deviation of the label noise.",
                ),
                _seed(),
            ),
            _correlated_regression,
        ),
        Generator(
            "scale_regression",
            "Regression tasks of very different scales (GradNorm, Chen et al. 2018): "
            "X (input_dim values), targets y1 .. yT (output_dim values each).",
            (
                _examples(),
                ParamSpec("tasks", "int", 2, minimum=1, help="Number of tasks T."),
                ParamSpec("input_dim", "int", 250, minimum=1, help="Values per input."),
                ParamSpec("output_dim", "int", 100, minimum=1, help="Values per target."),
                ParamSpec(
                    "sigma_max",
                    "float",
                    100.0,
                    minimum=0.0,
                    min_inclusive=False,
                    help="Scale of the last task; the first has scale 1.",
                ),
                _seed(),
            ),
            _scale_regression,
        ),
    )
}


def generate(name: str, params: dict) -> Table:
    """The generator's table, after filling defaults and checking parameters."""
    generator = GENERATORS.get(name)
    if generator is None:
        known = ", ".join(GENERATORS)
        if not name:
            raise DataError(f"no generator is chosen: choose one of {known}")
        raise DataError(f"unknown generator {name!r}: choose one of {known}")
    where = f"generator '{name}'"
    specs = {spec.name: spec for spec in generator.params}
    for key in params:
        if key not in specs:
            raise DataError(
                f"{where}: there is no parameter {key!r} "
                f"(parameters: {', '.join(specs)}): remove it"
            )
    clean = {}
    for spec in generator.params:
        try:
            clean[spec.name] = spec.check(params.get(spec.name, spec.default))
        except ValueError as exc:
            raise DataError(f"{where}: parameter {spec.name}: {exc}") from None
    return generator.make(clean)
