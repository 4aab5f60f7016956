"""Is a target column classes or a measurement? The checks (on the profile)
and training's preparation (on the values) judge alike, by the one rule in
core/data_profile.py: a numeric column with a value that is not a whole
number and more than MAX_CODES distinct values is a measurement."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.core.data_checks import data_problems
from mtl_studio.core.data_profile import MAX_CODES, NUMERIC, source_key
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.data import DataError, prepare
from mtl_studio.data.profile import profile_table
from mtl_studio.data.table import Table
from mtl_studio.core.project import Project
from tests.helpers import chain, node

UNITS = 64  # room for every class a column below can hold
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")


def project_for(loss: str) -> Project:
    p = Project("one column")
    node(p, "x", "Input", shape=[1])
    node(
        p,
        "out",
        "Output",
        units=1 if loss == "binary_crossentropy" else UNITS,
        activation="sigmoid" if loss == "binary_crossentropy" else "softmax",
    )
    chain(p, "x", "out")
    p.add_task(Task("t", "out", loss, target=["y"]))
    p.data = DataSource("csv", path="/memory/d.csv", inputs={"x": ["f"]})
    return p


def table_of(values: list[float]) -> Table:
    y = np.array(values, dtype=np.float64)
    return Table(
        {"f": np.arange(len(y), dtype=np.float64), "y": y},
        {"f": NUMERIC, "y": NUMERIC},
        "/memory/d.csv",
    )


def check_says_measurement(project: Project, table: Table) -> bool:
    profiles = {source_key(project.data): profile_table(table)}
    return any("holds measurements" in p.message for p in data_problems(project, profiles))


def prepare_says_measurement(project: Project, table: Table) -> bool:
    with mock.patch("mtl_studio.data.prepare.load_source", return_value=table):
        try:
            prepare(project)
        except DataError as exc:
            return "holds measurements" in exc.message
    return False


@st.composite
def columns(draw):
    """Some distinct values (whole, fractional or both), each appearing at
    least once, in a shuffled column of at least 5 rows."""
    whole = st.integers(-20, 80).map(float)
    fractional = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
    distinct = draw(st.lists(st.one_of(whole, fractional), min_size=1, max_size=60, unique=True))
    extra = draw(st.lists(st.sampled_from(distinct), max_size=20))
    values = distinct + extra + distinct[: max(0, 5 - len(distinct) - len(extra))] * 5
    return draw(st.permutations(values))


@settings(max_examples=150, deadline=None)
@given(values=columns(), loss=st.sampled_from(LOSSES))
def test_the_checks_and_training_judge_a_column_alike(values, loss):
    project, table = project_for(loss), table_of(values)
    distinct = len(set(values))
    expected = any(v != round(v) for v in values) and distinct > MAX_CODES
    assert check_says_measurement(project, table) == expected
    assert prepare_says_measurement(project, table) == expected


@pytest.mark.parametrize("loss", LOSSES)
def test_a_slump_column_is_refused_by_training_with_the_checks_words(loss):
    rng = np.random.default_rng(0)
    slump = np.round(rng.uniform(0, 29, 103) * 2) / 2 + 0.25  # quarter centimetres
    project, table = project_for(loss), table_of(slump.tolist())
    with mock.patch("mtl_studio.data.prepare.load_source", return_value=table):
        with pytest.raises(DataError) as info:
            prepare(project)
    assert info.value.message.startswith(
        f"task 't': {loss} learns classes but column 'y' holds measurements ("
    )
    assert "choose a regression loss such as mse or huber" in info.value.message
