"""The optimizer's settings beyond the learning rate (Adam's and AdamW's
beta_1, beta_2 and epsilon; momentum for SGD and RMSprop, which has epsilon
too): Keras' defaults, the project file, the checks, and what they become."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.core import fileformat as ff
from mtl_studio.core.commands import SetTaskField, SetTraining
from mtl_studio.core.project import OPTIMIZER_CHECKS
from mtl_studio.core.settings import (
    OPTIMIZER_PARAMS,
    OPTIMIZERS,
    OptimizerSpec,
    describe,
    describe_optimizer,
)
from tests.helpers import two_task_project

FILE = "classic.mtl.json"
EXTRA = ("beta_1", "beta_2", "epsilon", "momentum")


def project_dict() -> dict:
    project = two_task_project()
    project.tasks[1].optimizer = OptimizerSpec("sgd", 0.01)
    return ff.to_dict(project)


def test_the_defaults_are_keras_own():
    spec = OptimizerSpec()
    assert (spec.beta_1, spec.beta_2, spec.epsilon, spec.momentum) == (0.9, 0.999, 1e-7, 0.0)
    # Every field is checked and saved; the extra ones are each taken by some optimizer.
    assert tuple(OPTIMIZER_CHECKS) == ("name", "learning_rate", *EXTRA)
    assert set(OPTIMIZER_PARAMS) == set(OPTIMIZERS)
    assert {f for fields in OPTIMIZER_PARAMS.values() for f in fields} == set(EXTRA)


@pytest.mark.parametrize(
    "name, wanted",
    [
        ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
        ("adamw", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
        ("sgd", {"momentum": 0.5}),
        ("rmsprop", {"momentum": 0.5, "epsilon": 1e-6}),
    ],
)
def test_each_optimizer_gets_only_its_own_arguments(name, wanted):
    spec = OptimizerSpec(name, 0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6, momentum=0.5)
    assert spec.keras_arguments() == {"learning_rate": 0.01, **wanted}


def test_an_old_file_without_the_fields_loads_with_the_defaults():
    data = project_dict()
    old = {"name": "adam", "learning_rate": 0.002}
    data["training"]["optimizer"] = dict(old)
    data["tasks"][1]["optimizer"] = {"name": "sgd", "learning_rate": 0.01}
    project = ff.loads(json.dumps(data))
    assert project.training.optimizer == OptimizerSpec("adam", 0.002)
    assert project.tasks[1].optimizer == OptimizerSpec("sgd", 0.01)
    assert project.tasks[1].optimizer.momentum == 0.0


def test_the_fields_round_trip_through_the_file():
    project = two_task_project()
    project.training.optimizer = OptimizerSpec("adamw", 0.003, 0.85, 0.98, 1e-8, 0.0)
    project.tasks[0].optimizer = OptimizerSpec("sgd", 0.05, momentum=0.9)
    data = ff.to_dict(project)
    assert data["tasks"][0]["optimizer"] == {
        "name": "sgd",
        "learning_rate": 0.05,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "momentum": 0.9,
    }
    again = ff.loads(ff.dumps(project))
    assert again.training.optimizer == project.training.optimizer
    assert again.tasks[0].optimizer == project.tasks[0].optimizer


# --- hostile values in a file -------------------------------------------------------------

# What each field refuses: beta_1, beta_2 and momentum live in [0, 1),
# epsilon and the learning rate above 0.
OUT_OF_RANGE = {
    "beta_1": st.floats(min_value=1.0) | st.floats(max_value=-1e-12) | st.integers(1, 10**30),
    "beta_2": st.floats(min_value=1.0) | st.floats(max_value=-1e-12),
    "momentum": st.floats(min_value=1.0) | st.floats(max_value=-1e-12) | st.integers(max_value=-1),
    "epsilon": st.floats(max_value=0.0) | st.integers(max_value=0),
}
NOT_NUMBERS = (
    st.text(max_size=5)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)
    | st.sampled_from([math.nan, math.inf, -math.inf])
)


@st.composite
def hostile(draw):
    field = draw(st.sampled_from(EXTRA))
    value = draw(OUT_OF_RANGE[field] | NOT_NUMBERS)
    where = draw(st.sampled_from(["training", "task"]))
    return field, value, where


def load_error(data: dict) -> str:
    # NaN and infinity are what Python's json writes for them (and reads back).
    with pytest.raises(ff.ProjectError) as err:
        ff.loads(json.dumps(data), FILE)
    assert err.value.file == FILE
    return str(err.value)


@given(hostile())
def test_a_bad_value_is_refused_naming_the_field_and_the_file(case):
    field, value, where = case
    data = project_dict()
    if where == "training":
        data["training"]["optimizer"][field] = value
        path = f"training.optimizer.{field}"
    else:
        data["tasks"][1]["optimizer"][field] = value
        path = f"tasks[1].optimizer.{field}"
    message = load_error(data)
    assert message.startswith(f"{FILE}: {path}: expected a number "), message
    wanted = "> 0" if field == "epsilon" else ">= 0 and < 1"
    assert wanted in message


@given(
    st.sampled_from(["beta_1", "beta_2", "momentum"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_any_value_in_range_loads_as_it_is(field, value):
    data = project_dict()
    data["training"]["optimizer"][field] = value
    assert getattr(ff.loads(json.dumps(data)).training.optimizer, field) == value


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("beta_1", 1, "training.optimizer.beta_1: expected a number >= 0 and < 1, got 1"),
        ("beta_2", 1.5, "training.optimizer.beta_2: expected a number >= 0 and < 1, got 1.5"),
        ("epsilon", 0, "training.optimizer.epsilon: expected a number > 0, got 0"),
        ("momentum", -0.1, "training.optimizer.momentum: expected a number >= 0 and < 1, got -0.1"),
        ("learning_rate", 0, "training.optimizer.learning_rate: expected a number > 0, got 0"),
        ("name", "adagrad", "training.optimizer.name: expected one of adam, adamw, sgd, rmsprop"),
        ("nesterov", True, "training.optimizer.nesterov: unknown field"),
    ],
)
def test_the_message_says_what_is_wanted(field, value, message):
    data = project_dict()
    data["training"]["optimizer"][field] = value
    assert load_error(data).startswith(f"{FILE}: {message}")


# --- editing, describing ----------------------------------------------------------------------


def test_an_edit_is_checked_and_undone_like_the_learning_rate():
    project = two_task_project()
    command = SetTraining("optimizer", OptimizerSpec("sgd", 0.01, momentum=0.9))
    command.do(project)
    assert project.training.optimizer.momentum == 0.9
    command.undo(project)
    assert project.training.optimizer == OptimizerSpec()
    with pytest.raises(ValueError, match="^beta_1: expected a number >= 0 and < 1"):
        SetTraining("optimizer", OptimizerSpec(beta_1=1.0)).do(project)
    with pytest.raises(ValueError, match="^momentum: "):
        SetTaskField("a", "optimizer", OptimizerSpec("sgd", momentum=-1)).do(project)
    assert project.training.optimizer == OptimizerSpec()
    assert project.tasks[0].optimizer is None


def test_describe_names_the_settings_that_differ_from_keras_defaults():
    project = two_task_project()
    assert "optimizer adam (learning rate 0.001), batch 32" in describe(project.training)
    project.training.optimizer = OptimizerSpec("sgd", 0.01, momentum=0.9)
    assert "optimizer sgd (learning rate 0.01, momentum 0.9), batch" in describe(project.training)
    # Only the fields the optimizer takes: Adam has no momentum.
    spec = OptimizerSpec("adam", 0.001, beta_1=0.5, momentum=0.9)
    assert describe_optimizer(spec) == "adam (learning rate 0.001, beta_1 0.5)"
    spec = OptimizerSpec("rmsprop", 0.001, epsilon=1e-5)
    assert describe_optimizer(spec) == "rmsprop (learning rate 0.001, epsilon 1e-05)"


def test_the_trainer_makes_the_keras_optimizer_with_these_settings():
    from mtl_studio.training.trainer import make_optimizer  # TensorFlow

    adam = make_optimizer(OptimizerSpec("adamw", 0.002, 0.8, 0.95, 1e-5))
    assert type(adam).__name__ == "AdamW"
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.8, 0.95, 1e-5)
    assert float(adam.learning_rate) == pytest.approx(0.002)
    sgd = make_optimizer(OptimizerSpec("sgd", 0.1, momentum=0.9))
    assert type(sgd).__name__ == "SGD" and sgd.momentum == 0.9
    rms = make_optimizer(OptimizerSpec("rmsprop", 0.1, epsilon=1e-4, momentum=0.3))
    assert type(rms).__name__ == "RMSprop" and (rms.momentum, rms.epsilon) == (0.3, 1e-4)


def test_validation_names_a_bad_value_set_from_code():
    from mtl_studio.core.validation import validate

    project = two_task_project()
    project.training.optimizer.epsilon = 0.0  # past set_training's check
    messages = [p.message for p in validate(project)]
    assert "optimizer: epsilon: expected a number > 0, got 0.0" in messages
