import numpy as np
import pytest

from mtl_studio.core.settings import DataSource
from mtl_studio.data.prepare import DataSet, PreparedData, Split
from tests.helpers import chain, node
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task


def regression_project(mode="joint", weighting="fixed") -> Project:
    """x(6) -> trunk Dense 8 -> out_a (1), and trunk -> head_b Dense 4 -> out_b (2)."""
    p = Project("tiny")
    node(p, "x", "Input", shape=[6])
    node(p, "trunk", "Dense", units=8, activation="tanh")
    node(p, "head_b", "Dense", units=4, activation="tanh")
    node(p, "out_a", "Output", units=1)
    node(p, "out_b", "Output", units=2)
    chain(p, "x", "trunk", "out_a")
    chain(p, "trunk", "head_b", "out_b")
    p.add_task(Task("a", "out_a", "mse", weight=1.0))
    p.add_task(Task("b", "out_b", "mse", weight=0.5))
    p.training.mode = mode
    p.training.weighting = weighting
    p.training.batch_size = 8
    p.training.epochs = 2
    p.training.steps_per_call = 3
    p.training.validation_split = 0.0
    p.data = DataSource("generator", "none", inputs={"x": ["x"]})
    return p


def tiny_data(n=64, seed=0, val=16) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + val, 6)).astype("float32")
    a = (x[:, :1] * 2 + 0.1 * rng.normal(size=(n + val, 1))).astype("float32")
    b = np.stack([x[:, 1] - x[:, 2], x[:, 3]], axis=1).astype("float32")

    def split(rows):
        return Split({"x": x[rows]}, {"a": a[rows], "b": b[rows]})

    train, held = np.arange(n), np.arange(n, n + val)
    return PreparedData(
        [
            DataSet(
                "the project's data", "test", ["a", "b"], split(train), split(held), split(held[:0])
            )
        ],
        {"a": 0, "b": 0},
        {},
        {},
    )


@pytest.fixture
def project():
    return regression_project()


@pytest.fixture
def data():
    return tiny_data()
