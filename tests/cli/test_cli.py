import json
import subprocess
import sys

import pytest

from mtl_studio.cli import main
from mtl_studio.core.fileformat import dumps, to_dict
from mtl_studio.examples import examples
from tests.helpers import two_task_project, with_data


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def broken(tmp_path):
    """A project with one error: an Output that belongs to no task."""
    p = with_data(two_task_project(), tmp_path)
    p.remove_task("b")
    path = tmp_path / "broken.mtl.json"
    path.write_text(dumps(p))
    return path


@pytest.mark.parametrize("name", sorted(examples()))
def test_validate_a_valid_example(capsys, name):
    code, out, _ = run(capsys, "validate", name)
    assert code == 0 and out.strip().endswith(f"{name}.mtl.json: valid")


def test_validate_lists_problems_with_places(capsys, broken):
    code, out, _ = run(capsys, "validate", str(broken))
    assert code == 1
    assert "error: Output 'out_b': belongs to no task: add a task that learns it" in out
    assert "1 error," in out


@pytest.mark.parametrize(
    "content, words",
    [
        ("{", "not valid JSON"),
        (json.dumps({"format": "mtl-studio-project", "format_version": 99}), "format_version"),
        ("", "not valid JSON"),
    ],
)
def test_unreadable_files_exit_2_with_a_message(capsys, tmp_path, content, words):
    path = tmp_path / "bad.mtl.json"
    path.write_text(content)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and words in err and str(path) in err
    assert "Traceback" not in out + err


def test_a_missing_file_exits_2(capsys):
    code, _, err = run(capsys, "validate", "no/such/file.mtl.json")
    assert code == 2 and "no such file or example" in err


def test_examples_lists_the_bundled_projects(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0
    names = ("tutorial", "energy", "energy_mixed", "tickets", "tagging", "shapes", "digit_strips")
    for name in names:
        assert f"  {name} " in out


def test_show_summarises_roles_shapes_and_weights(capsys):
    code, out, _ = run(capsys, "show", "tutorial")
    assert code == 0
    assert "shared trunk (Y1, Y2)" in out and "head of Y1" in out
    # The tutorial's layers have no biases: 10 x 20 + 2 x (20 x 20) weights.
    assert "total weights: 1,000" in out and "Valid: no problems." in out


def test_export_keras_writes_a_model_that_loads_in_safe_mode(capsys, tmp_path):
    out_path = tmp_path / "energy.keras"
    code, out, _ = run(capsys, "export", "energy", "--keras", str(out_path))
    assert code == 0 and "3,746 weights" in out
    from mtl_studio.training.tf_import import keras

    model = keras().models.load_model(out_path, safe_mode=True)
    assert model.count_params() == 3746
    assert sorted(model.output_names) == ["cooling", "heating"]


def test_export_refuses_an_invalid_project(capsys, tmp_path, broken):
    code, out, _ = run(capsys, "export", str(broken), "--keras", str(tmp_path / "m.keras"))
    assert code == 1 and "not exported" in out
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize(
    "target, words",
    [
        ("missing_dir/m.keras", "does not exist"),
        ("m.h5", "must end in .keras"),
    ],
)
def test_export_bad_output_paths(capsys, tmp_path, target, words):
    code, _, err = run(capsys, "export", "tutorial", "--keras", str(tmp_path / target))
    assert code == 2 and words in err


def test_the_installed_command_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.mtl.json"
    data = to_dict(two_task_project())
    data["nodes"][3]["params"]["units"] = -4
    bad.write_text(json.dumps(data))
    result = subprocess.run(
        [sys.executable, "-m", "mtl_studio", "validate", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"mtl-studio: {bad}: nodes[3].params.units: expected a positive integer, got -4"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_reports_missing_and_changed_data_files(capsys, tmp_path):
    from mtl_studio.core.fileformat import save
    from mtl_studio.core.settings import DataSource

    p = two_task_project()
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    p.data = DataSource("csv", path=str(tmp_path / "a.csv"))
    p.tasks[1].data = DataSource("csv", path=str(tmp_path / "b.csv"))
    save(p, tmp_path / "p.mtl.json")
    (tmp_path / "a.csv").unlink()
    (tmp_path / "b.csv").write_text("x\n2\n")
    code, out, _ = run(capsys, "validate", str(tmp_path / "p.mtl.json"))
    assert code == 1
    assert "error: data: the data file of the project is missing" in out
    assert "warning: data: the data file of task 'b' changed since the project was saved" in out


def test_validate_checks_the_graph_against_its_data(capsys, tmp_path):
    from mtl_studio.core.fileformat import save
    from mtl_studio.core.settings import DataSource

    p = two_task_project()  # x takes 10 features; b has 3 units
    (tmp_path / "d.csv").write_text("f1,f2,y,kind\n1,2,0.5,a\n3,4,1.5,b\n5,6,2.5,c\n7,8,3.5,d\n")
    p.data = DataSource("csv", path=str(tmp_path / "d.csv"), inputs={"x": ["f1", "f2"]})
    p.tasks[0].target = ["y"]
    p.tasks[1].target = ["kind"]
    save(p, tmp_path / "p.mtl.json")
    code, out, _ = run(capsys, "validate", str(tmp_path / "p.mtl.json"))
    assert code == 1
    assert "error: Input 'x': this Input has shape (10,) but its columns in d.csv give (2,)" in out
    assert (
        "error: Output 'out_b': column 'kind' of task 'b' holds 4 classes but this Output "
        "has 3 units: set units to 4" in out
    )


def test_validate_says_a_project_has_no_data(capsys, tmp_path):
    path = tmp_path / "p.mtl.json"
    path.write_text(dumps(two_task_project()))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert "error: data: no data is chosen: choose a file or a generator in the Data panel" in out


def test_validate_reports_an_unreadable_data_file_with_its_place(capsys, tmp_path):
    from mtl_studio.core.fileformat import save
    from mtl_studio.core.settings import DataSource

    p = two_task_project()
    (tmp_path / "d.csv").write_text("f1,f2\n1,2\n3\n")
    p.data = DataSource("csv", path=str(tmp_path / "d.csv"), inputs={"x": ["f1"]})
    save(p, tmp_path / "p.mtl.json")
    code, out, _ = run(capsys, "validate", str(tmp_path / "p.mtl.json"))
    assert code == 1 and "d.csv: row 3" in out
