"""The monitored quantity: its spelling, its direction, its label."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.core import monitor
from mtl_studio.core.fileformat import dumps, loads
from tests.helpers import two_task_project


def test_parse_and_label():
    assert monitor.parse("total") == (None, "loss")
    assert monitor.parse("heating:mae") == ("heating", "mae")
    assert monitor.label("total") == "the weighted total validation loss"
    assert monitor.label("kind:accuracy") == "the validation accuracy of task 'kind'"


@pytest.mark.parametrize(
    "bad", ["", "heating", "heating:", ":loss", "heating:f1", "1a:loss", "if:loss", 3, None]
)
def test_bad_monitors_are_refused_with_what_is_allowed(bad):
    with pytest.raises(ValueError, match="total"):
        monitor.check(bad)


def test_direction():
    assert monitor.improved(0.5, 0.6, "loss", 0.0)
    assert not monitor.improved(0.55, 0.6, "loss", 0.1)
    assert monitor.improved(0.9, 0.8, "accuracy", 0.05)
    assert not monitor.improved(0.8, 0.8, "accuracy", 0.0)
    assert monitor.improved(123.0, None, "mae", 5.0)


@given(
    st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.sampled_from(monitor.FIGURES), st.floats(0, 10)
)
def test_an_improvement_is_never_an_improvement_the_other_way(a, b, figure, delta):
    assert not (monitor.improved(a, b, figure, delta) and monitor.improved(b, a, figure, delta))


def test_settings_round_trip_through_the_file_and_are_checked():
    p = two_task_project()
    p.set_training("monitor", "b:accuracy")
    p.set_training("early_stopping", True)
    p.set_training("patience", 3)
    p.set_training("min_delta", 0.01)
    p.set_training("test_split", 0.15)
    p.set_training("split_seed", 4)
    back = loads(dumps(p))
    assert back.training.split_seed == 4 and back.training.seed_of_split == 4
    t = back.training
    assert (t.monitor, t.early_stopping, t.patience, t.min_delta, t.test_split) == (
        "b:accuracy",
        True,
        3,
        0.01,
        0.15,
    )
    for field, value in (
        ("early_stopping", 1),
        ("patience", 0),
        ("min_delta", -1),
        ("test_split", 1.0),
        ("monitor", "b:f1"),
    ):
        with pytest.raises(ValueError):
            p.set_training(field, value)
