"""The graph checked against what its data holds (DataProfiles): problems
placed on the Input and Output nodes that disagree with their columns."""

from pathlib import Path

from mtl_studio.core.data_checks import data_problems, source_groups
from mtl_studio.core.data_profile import (
    LABEL,
    MAX_CODES,
    NUMERIC,
    ColumnInfo,
    DataProfile,
    source_key,
)
from mtl_studio.core.settings import DataSource
from mtl_studio.core.validation import ERROR, Place, validate
from tests.helpers import two_task_project

FILE = "/data/d.csv"


def numeric(name, classes=0, shape=()):
    return ColumnInfo(name, NUMERIC, shape, classes)


def label(name, classes):
    return ColumnInfo(name, LABEL, (), classes)


def setup(columns, inputs=None, target_a=("y",), target_b=("kind",)):
    """two_task_project (x: 10 features; a: mse on 1 unit; b: sparse on 3
    units) on a CSV whose profile holds `columns`."""
    project = two_task_project()
    names = [f"f{i}" for i in range(10)]
    project.data = DataSource("csv", path=FILE, inputs={"x": list(inputs or names)})
    project.tasks[0].target = list(target_a)
    project.tasks[1].target = list(target_b)
    cols = {n: numeric(n) for n in names}
    cols.update({c.name: c for c in columns})
    profile = DataProfile(FILE, 100, cols)
    return project, {source_key(project.data): profile}


def messages(project, profiles, node_id=None):
    found = data_problems(project, profiles)
    return [p.message for p in found if node_id is None or p.place.id == node_id]


def test_a_project_that_fits_its_data_has_no_problems():
    project, profiles = setup([numeric("y"), label("kind", 3)])
    assert data_problems(project, profiles) == []


def test_an_input_shape_that_disagrees_with_its_columns_is_a_problem_on_the_input():
    project, profiles = setup([numeric("y"), label("kind", 3)], inputs=["f0", "f1", "f2"])
    (problem,) = data_problems(project, profiles)
    assert problem.severity == ERROR and problem.place.id == "x"
    assert "(10,)" in problem.message and "give (3,)" in problem.message
    assert "set its shape to (3,)" in problem.message


def test_text_columns_cannot_feed_an_input():
    project, profiles = setup(
        [numeric("y"), label("kind", 3), label("city", 4)],
        inputs=[f"f{i}" for i in range(9)] + ["city"],
    )
    assert any("'city'" in m and "text labels" in m for m in messages(project, profiles, "x"))


def test_a_missing_column_is_named():
    project, profiles = setup([label("kind", 3)])  # no "y"
    (problem,) = data_problems(project, profiles)
    assert problem.place.kind == "task" and "'y'" in problem.message and "d.csv" in problem.message


def test_more_classes_than_units_is_a_problem_on_the_output():
    project, profiles = setup([numeric("y"), label("kind", 10)])
    (problem,) = data_problems(project, profiles)
    assert problem.place.id == "out_b"
    assert "10 classes" in problem.message and "set units to 10" in problem.message


def test_class_ids_in_a_numeric_column_count_too():
    project, profiles = setup([numeric("y"), numeric("kind", classes=5)])
    assert "set units to 5" in messages(project, profiles, "out_b")[0]


def test_a_regression_on_a_label_column_suggests_a_classification_loss():
    project, profiles = setup([label("y", 4), label("kind", 3)])
    (problem,) = data_problems(project, profiles)
    assert problem.place == Place("task", "a", "task 'a'")  # the loss is what to change
    assert "sparse_categorical_crossentropy with 4 units" in problem.message


def test_regression_units_follow_the_number_of_target_columns():
    project, profiles = setup([numeric("y"), numeric("z"), label("kind", 3)], target_a=("y", "z"))
    assert "set units to 2" in messages(project, profiles, "out_a")[0]


def test_binary_crossentropy_needs_two_classes():
    project, profiles = setup([numeric("y"), label("kind", 3)])
    project.tasks[1].loss = "binary_crossentropy"
    assert "needs two classes" in messages(project, profiles, "b")[0]


def test_an_npz_array_gives_its_shape():
    project, profiles = setup(
        [numeric("y"), label("kind", 3), numeric("image", shape=(10,))], inputs=["image"]
    )
    assert data_problems(project, profiles) == []
    project.node("x").params["shape"] = [4, 4]
    assert "give (10,)" in messages(project, profiles, "x")[0]


def test_sources_without_a_profile_are_not_checked():
    project, _ = setup([])
    assert data_problems(project, {}) == []


def test_validate_adds_data_problems_only_when_given_profiles():
    project, profiles = setup([numeric("y"), label("kind", 10)])
    assert not any("classes" in p.message for p in validate(project))
    assert any("10 classes" in p.message for p in validate(project, profiles))


def test_a_task_with_its_own_data_is_checked_against_that_source(tmp_path):
    project, profiles = setup([numeric("y"), label("kind", 3)])
    own = DataSource("csv", path="b.csv", inputs={"x": [f"f{i}" for i in range(10)]})
    project.tasks[1].data = own
    cols = {f"f{i}": numeric(f"f{i}") for i in range(10)}
    cols["kind"] = label("kind", 7)
    profiles[source_key(own, tmp_path)] = DataProfile(str(tmp_path / "b.csv"), 50, cols)
    assert [len(tasks) for _, tasks in source_groups(project)] == [1, 1]
    found = data_problems(project, profiles, tmp_path)
    assert [p.place.id for p in found] == ["out_b"] and "7 classes" in found[0].message
    assert "b.csv" in found[0].message or "7 classes" in found[0].message


def test_source_keys_resolve_relative_paths_against_the_project_folder(tmp_path):
    relative = DataSource("csv", path="d.csv")
    absolute = DataSource("csv", path=str(tmp_path / "d.csv"))
    assert source_key(relative, tmp_path) == source_key(absolute)
    assert source_key(DataSource("generator", "two_moons", {"n": 5})) != source_key(
        DataSource("generator", "two_moons", {"n": 6})
    )
    assert Path(source_key(absolute).split(":", 1)[1]).name == "d.csv"


def test_values_that_are_not_ids_count_as_classes_for_a_classification_loss():
    # energy_mixed's overall_height: 3.5 and 7, mapped to ids by training.
    heights = ColumnInfo("kind", NUMERIC, (), classes=0, distinct=2)
    project, profiles = setup([numeric("y"), heights])
    project.node("out_b").params["units"] = 1
    assert "holds 2 classes" in messages(project, profiles, "out_b")[0]


# --- a classification loss on a measurement (issue 11, item 3) ---------------------


def measurement(name, distinct):
    """A numeric column of values that are not all whole numbers."""
    return ColumnInfo(name, NUMERIC, (), classes=0, distinct=distinct, fractional=True)


def test_a_classification_loss_on_a_measurement_suggests_a_regression_loss():
    # The concrete slump test: 39 distinct values in cm, such as 23.5.
    project, profiles = setup([numeric("y"), measurement("slump_cm", 39)], target_b=("slump_cm",))
    (problem,) = data_problems(project, profiles)
    assert problem.severity == ERROR and problem.place == Place("task", "b", "task 'b'")
    assert problem.message == (
        "sparse_categorical_crossentropy learns classes but column 'slump_cm' holds "
        "measurements (39 distinct values, not all whole numbers): choose a regression loss "
        "such as mse or huber, with a linear activation"
    )
    assert "set units" not in problem.message


def test_a_measurement_of_many_values_is_not_classes_for_any_classification_loss():
    for loss in (
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        "binary_crossentropy",
    ):
        project, profiles = setup([numeric("y"), measurement("kind", 0)])  # over 50 values
        project.tasks[1].loss = loss
        (message,) = messages(project, profiles, "b")
        assert message.startswith(f"{loss} learns classes") and "more than 50" in message


def test_a_few_codes_that_are_not_whole_numbers_are_classes():
    # energy_mixed's overall_height: 3.5 and 7; up to MAX_CODES such values.
    project, profiles = setup([numeric("y"), measurement("kind", MAX_CODES)])
    assert "holds 10 classes but this Output has 3 units" in messages(project, profiles)[0]
    project, profiles = setup([numeric("y"), measurement("kind", MAX_CODES + 1)])
    assert "holds measurements (11 distinct values" in messages(project, profiles)[0]


def test_whole_numbers_are_class_ids_however_many():
    project, profiles = setup([numeric("y"), numeric("kind", classes=0)])  # 0: over 50
    assert data_problems(project, profiles) == []


def test_a_measurement_is_fine_for_a_regression_loss():
    project, profiles = setup([measurement("y", 39), label("kind", 3)])
    assert data_problems(project, profiles) == []


# --- texts (issue 11, item 11) --------------------------------------------------------


def test_units_and_classes_are_counted_in_singular_and_plural():
    heights = ColumnInfo("kind", NUMERIC, (), classes=0, distinct=2)
    project, profiles = setup([numeric("y"), heights])
    project.node("out_b").params["units"] = 1
    (message,) = messages(project, profiles, "out_b")
    assert "holds 2 classes but this Output has 1 unit: set units to 2" in message
    project, profiles = setup([numeric("y"), numeric("z"), label("kind", 3)], target_a=("y", "z"))
    assert (
        "learns 2 target columns but this Output has 1 unit"
        in messages(project, profiles, "out_a")[0]
    )
    project, profiles = setup([numeric("y"), label("kind", 1)])
    project.tasks[1].loss = "binary_crossentropy"
    assert (
        "holds 1: use sparse_categorical_crossentropy with 1 unit and"
        in messages(project, profiles, "b")[0]
    )


def test_a_data_problem_names_its_place_once():
    """The Problems list and `mtl-studio validate` show the place before the
    message: the message does not name it again."""
    project, profiles = setup([label("y", 4), label("kind", 10)], inputs=["f0", "f1"])
    project.tasks[0].target = []
    found = data_problems(project, profiles)
    project, profiles = setup(
        [numeric("y"), numeric("z"), label("kind", 10)], target_a=("y", "z"), inputs=["f0", "nope"]
    )
    found += data_problems(project, profiles)
    project, profiles = setup([label("y", 4), measurement("kind", 30)])
    found += data_problems(project, profiles)
    assert len({p.place for p in found}) >= 4
    for problem in found:
        assert problem.place.label not in problem.message, str(problem)
