"""A study's plan is counted after every edit (the Study tab's run count):
configuration_count gives len(configurations(...)) without copying the
project for each configuration."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.core.settings import MODES, WEIGHTINGS
from mtl_studio.study.plan import configuration_count, configurations
from tests.helpers import two_task_project


@settings(max_examples=60, deadline=None)
@given(
    baselines=st.booleans(),
    weightings=st.lists(st.sampled_from(WEIGHTINGS), max_size=4, unique=True),
    modes=st.lists(st.sampled_from(MODES), max_size=3, unique=True),
    drawn=st.sampled_from(list(itertools.product(MODES, ("fixed", "gradnorm", "dwa")))),
)
def test_the_count_is_the_number_of_configurations(baselines, weightings, modes, drawn):
    project = two_task_project()
    project.training.mode, project.training.weighting = drawn
    made = configurations(project, baselines, weightings, modes)
    assert configuration_count(project, baselines, weightings, modes) == len(made)
    # Each configuration has a project of its own: the plan's copies.
    assert len({id(c.project) for c in made}) == len(made)
    assert all(c.project is not project for c in made)
