"""The balancing methods' settings in the core: the names every front end
offers, their hyperparameters in the project file (defaults, round trip,
bad values named by their field), validation of where they apply, and the
one-line description of a run."""

import json

import pytest

from mtl_studio.core import fileformat as ff
from mtl_studio.core.commands import SetTraining
from mtl_studio.core.project import Project
from mtl_studio.core.settings import (
    SHARED_TRUNK_WEIGHTINGS,
    WEIGHTING_PARAMS,
    WEIGHTINGS,
    TrainingSettings,
    describe,
)
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import ERROR, validate
from tests.helpers import chain, node, two_task_project

NEW = ("cagrad", "imtl", "rlw", "gradvac", "aligned_mtl", "famo")


def test_every_front_end_offers_the_new_weightings():
    from mtl_studio.cli import make_parser
    from mtl_studio.study.plan import configurations

    assert set(NEW) <= set(WEIGHTINGS)
    args = make_parser().parse_args(["train", "p.mtl.json", "--weighting", "aligned_mtl"])
    assert args.weighting == "aligned_mtl"
    configs = configurations(two_task_project(), baselines=False, weightings=list(NEW))
    assert [c.name for c in configs][1:] == [f"weighting {name}" for name in NEW]
    assert [c.project.training.weighting for c in configs][1:] == list(NEW)


def test_the_hyperparameters_default_to_the_papers_and_round_trip():
    t = TrainingSettings()
    assert (t.cagrad_c, t.gradvac_beta) == (0.5, 0.01)
    assert (t.famo_learning_rate, t.famo_weight_decay) == (0.025, 0.001)
    project = two_task_project()
    project.training.weighting = "famo"
    project.training.cagrad_c = 0.25
    project.training.gradvac_beta = 0.5
    project.training.famo_learning_rate = 0.01
    project.training.famo_weight_decay = 0.0
    data = json.loads(ff.dumps(project))
    assert data["training"]["cagrad_c"] == 0.25 and data["training"]["famo_weight_decay"] == 0.0
    back = ff.from_dict(data).training
    assert (back.weighting, back.cagrad_c, back.gradvac_beta) == ("famo", 0.25, 0.5)
    assert (back.famo_learning_rate, back.famo_weight_decay) == (0.01, 0.0)
    # A file written before them reads with the defaults.
    for key in ("cagrad_c", "gradvac_beta", "famo_learning_rate", "famo_weight_decay"):
        del data["training"][key]
    assert ff.from_dict(data).training.famo_learning_rate == 0.025


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("cagrad_c", 1.0, "expected a number >= 0 and < 1, got 1.0"),
        ("cagrad_c", -0.1, "expected a number >= 0 and < 1"),
        ("gradvac_beta", 1.5, "expected a number >= 0 and <= 1, got 1.5"),
        ("famo_learning_rate", 0, "expected a number > 0, got 0"),
        ("famo_weight_decay", -0.001, "expected a number >= 0"),
        ("famo_weight_decay", "high", "expected a number >= 0, got 'high'"),
        ("weighting", "nash_mtl", "expected one of fixed, uncertainty"),
    ],
)
def test_a_bad_value_is_refused_with_its_field(key, value, message):
    data = json.loads(ff.dumps(two_task_project()))
    data["training"][key] = value
    with pytest.raises(ff.ProjectError) as err:
        ff.from_dict(data)
    assert err.value.path == f"training.{key}"
    assert message in err.value.message


def test_a_command_refuses_a_bad_value_and_validation_names_one_set_in_code():
    project = two_task_project()
    with pytest.raises(ValueError, match="< 1"):
        SetTraining("cagrad_c", 1.2).do(project)
    SetTraining("famo_learning_rate", 0.05).do(project)
    assert project.training.famo_learning_rate == 0.05
    project.training.gradvac_beta = 2.0  # set from code, unchecked
    messages = [p.message for p in validate(project, {}) if p.severity == ERROR]
    assert any(m.startswith("gradvac beta: expected a number >= 0 and <= 1") for m in messages)


def unshared(weighting: str) -> Project:
    """Two tasks on separate paths from the input: no shared layer."""
    p = Project("apart")
    node(p, "x", "Input", shape=[6])
    node(p, "out_a", "Output", units=1)
    node(p, "out_b", "Output", units=2)
    chain(p, "x", "out_a")
    chain(p, "x", "out_b")
    p.add_task(Task("a", "out_a", "mse"))
    p.add_task(Task("b", "out_b", "mse"))
    p.training.weighting = weighting
    return p


def weighting_errors(project: Project) -> list[str]:
    return [
        p.message for p in validate(project, {}) if p.severity == ERROR and "weighting" in p.message
    ]


@pytest.mark.parametrize("name", NEW)
def test_the_trunk_methods_need_a_shared_layer_and_joint_mode(name):
    trunk = name in SHARED_TRUNK_WEIGHTINGS
    assert trunk == (name not in ("rlw", "famo"))
    found = weighting_errors(unshared(name))
    assert bool(found) == trunk
    if trunk:
        assert f"weighting '{name}' needs a shared layer with weights" in found[0]
    soft = two_task_project()
    soft.training.weighting = name
    soft.training.mode = "soft_sharing"
    found = weighting_errors(soft)
    assert bool(found) == trunk
    if trunk:
        assert "soft sharing" in found[0]
    joint = two_task_project()
    joint.training.weighting = name
    assert not weighting_errors(joint)


def test_describe_names_the_methods_hyperparameters():
    t = TrainingSettings(weighting="cagrad")
    assert "weighting cagrad (c 0.5), optimizer" in describe(t)
    t.weighting = "famo"
    assert "weighting famo (learning rate 0.025, weight decay 0.001)," in describe(t)
    t.weighting, t.gradvac_beta = "gradvac", 0.2
    assert "weighting gradvac (beta 0.2)," in describe(t)
    t.weighting = "aligned_mtl"
    assert "weighting aligned_mtl, optimizer" in describe(t)
    # Every hyperparameter is a setting named after its method.
    for method, keys in WEIGHTING_PARAMS.items():
        assert method in WEIGHTINGS
        assert all(key.startswith(f"{method}_") and hasattr(t, key) for key in keys)
