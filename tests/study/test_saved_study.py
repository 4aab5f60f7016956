"""A study folder keeps its project and options when it starts, so the
window can go on with it in a later session (Continue a Study...); a
damaged or hand-edited study.json is named, never a traceback."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.core.datafiles import sources
from mtl_studio.core.fileformat import dumps
from mtl_studio.study.runner import PROJECT, STATE, Stop, StudyError, run_study, saved_study
from tests.training.test_results import results_project


def begun_study(tmp_path, **options):
    """A study started and stopped before its first run: what a window
    killed at once leaves."""
    project = results_project(tmp_path, epochs=2)
    out = tmp_path / "study"
    stop = Stop()
    stop.set()
    run_study(project, out, stop=stop, **options)
    return project, out


def test_a_study_keeps_its_project_and_options_from_the_start(tmp_path):
    project, out = begun_study(
        tmp_path,
        baselines=False,
        weightings=["dwa"],
        modes=["alternating"],
        seeds=2,
        epochs=3,
        search={"trials": 4, "objective": "delta_m"},
    )
    assert (out / STATE).exists() and (out / PROJECT).exists()
    kept, options = saved_study(out)
    for _, source in sources(kept):
        assert source.fingerprint is not None  # the data as the study started
        source.fingerprint = None
    assert dumps(kept) == dumps(project)  # data paths found again, absolute
    assert options == {
        "baselines": False,
        "weightings": ["dwa"],
        "modes": ["alternating"],
        "seeds": 2,
        "epochs": 3,
        "search_trials": 4,
        "objective": "delta_m",
    }
    # Going on with other options is refused as before; the kept project stays.
    project.name = "renamed_since"
    with pytest.raises(StudyError, match="holds another study"):
        run_study(project, out, seeds=5)
    assert saved_study(out)[0].name != "renamed_since"


def test_without_a_search_the_options_say_none(tmp_path):
    _, out = begun_study(tmp_path)
    options = saved_study(out)[1]
    assert options["search_trials"] == 0 and options["objective"] == "pareto"
    assert options["modes"] == [] and options["baselines"] is True


def test_folders_that_are_no_study_are_named(tmp_path):
    with pytest.raises(StudyError, match="not a study folder"):
        saved_study(tmp_path)
    _, out = begun_study(tmp_path)
    (out / PROJECT).unlink()  # a study of an earlier version
    with pytest.raises(StudyError, match="mtl-studio study PROJECT --out"):
        saved_study(out)
    (out / STATE).write_text("{")
    with pytest.raises(StudyError, match="cannot read the study"):
        saved_study(out)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(["baselines", "weightings", "modes", "seeds", "epochs", "search"]),
    value=JSON,
)
def test_a_hand_edited_study_json_gives_options_or_a_named_error(tmp_path_factory, field, value):
    folder = tmp_path_factory.mktemp("edited")
    state = {
        "asked": {"project": "p", "baselines": True, "weightings": [], "seeds": 1, "epochs": None},
        "runs": {},
    }
    if field == "search":
        state["search"] = value
    else:
        state["asked"][field] = value
    (folder / STATE).write_text(json.dumps(state))
    (folder / PROJECT).write_text(dumps(results_project(folder, epochs=1)))
    try:
        _, options = saved_study(folder)
    except StudyError as exc:
        assert str(folder) in str(exc) and "\n" not in str(exc)
        return
    assert isinstance(options["seeds"], int) and options["seeds"] >= 1
    assert isinstance(options["search_trials"], int) and options["search_trials"] >= 0
    assert all(isinstance(w, str) for w in options["weightings"] + options["modes"])
