"""mtl.run_study: the study of the window and `mtl-studio study`, from a notebook."""

import pytest

import mtl_studio as mtl
from tests.training.test_results import results_project


def test_a_study_from_python_gives_its_table_and_goes_on(tmp_path):
    project = results_project(tmp_path, epochs=1)
    out = tmp_path / "study"
    started = []

    def on_run(index, total, run, state):
        if state == "training":
            started.append(run.folder)

    result = mtl.run_study(project, out, baselines=False, weightings=["dwa"], on_run=on_run)
    assert [row.name for row in result.rows] == ["as drawn", "weighting dwa"]
    assert result.reference == "as drawn"  # no baselines: the project as drawn is the reference
    assert result.markdown.startswith("| configuration |")
    assert (out / "study.md").exists() and (out / "project.mtl.json").exists()
    assert started == ["as-drawn/seed-0", "weighting-dwa/seed-0"]
    # The same call again: every run is scored already, none trains.
    again = mtl.run_study(project, out, baselines=False, weightings=["dwa"], on_run=on_run)
    assert len(started) == 2 and [r.name for r in again.rows] == [r.name for r in result.rows]
    # Other arguments on the same folder: refused, nothing trained.
    with pytest.raises(mtl.TrainingFailed, match="holds another study"):
        mtl.run_study(project, out, seeds=2)


def test_a_project_with_errors_is_refused_before_any_run(tmp_path):
    project = results_project(tmp_path, epochs=1)
    project.task("a").target = []
    with pytest.raises(mtl.TrainingFailed, match="the project has errors") as err:
        mtl.run_study(project, tmp_path / "study")
    assert err.value.problems and not (tmp_path / "study").exists()
