import csv
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mtl_studio.core.fileformat import load
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource, TrainingSettings
from mtl_studio.core.tasks import Task
from mtl_studio.data import DataError, generate, load_source, prepare, splits
from mtl_studio.data.prepare import split_rows, split_sizes
from mtl_studio.examples import example_path
from tests.helpers import chain, node, two_task_project

FEATURES = [f"f{i}" for i in range(10)]


def example(name):
    path = example_path(name)
    return prepare(load(path), path.parent)


def rows_of(n: int, seed: int = 1) -> list[dict]:
    """Rows for two_task_project(): f0 is the row index (to follow rows
    through the split), f1..f9 random, a a value, b a class id 0..2."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row = {"f0": i, **{f: round(float(rng.normal()), 4) for f in FEATURES[1:]}}
        row.update(a=round(float(rng.normal()), 4), b=i % 3)
        rows.append(row)
    return rows


def write_csv(path, rows: list[dict]):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def csv_source(path, **kw) -> DataSource:
    kw.setdefault("standardize_inputs", False)
    return DataSource("csv", path=str(path), inputs={"x": list(FEATURES)}, **kw)


def csv_project(tmp_path, rows=None, **kw) -> Project:
    """two_task_project() learning from a CSV of rows_of(20) (or `rows`)."""
    path = write_csv(tmp_path / "data.csv", rows or rows_of(20))
    project = two_task_project()
    project.tasks[0].target = ["a"]
    project.tasks[1].target = ["b"]
    project.data = csv_source(path, **kw)
    return project


def error_of(project, project_dir=None) -> DataError:
    with pytest.raises(DataError) as info:
        prepare(project, project_dir)
    return info.value


def train_rows(n: int, split: float, seed: int, test: float = 0.0) -> np.ndarray:
    """The training rows, worked out here independently of prepare."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[int(round(n * split)) + int(round(n * test)) :])


# --- the bundled examples -------------------------------------------------------


def test_energy_example_is_standardised_with_training_statistics():
    data = example("energy")
    (ds,) = data.datasets
    assert ds.label == "the project's data"
    assert ds.tasks == ["heating_load", "cooling_load"]
    # 768 rows: 154 for validation, 115 for test (the example's 15 %), 499 train.
    assert (ds.train.n, ds.val.n, ds.test.n) == (499, 154, 115)
    x = ds.train.inputs["features"]
    assert x.shape == (499, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)
    for task in ds.tasks:
        y = ds.train.targets[task]
        assert y.shape == (499, 1) and y.dtype == np.float32
        assert abs(y.mean()) < 1e-5 and abs(y.std() - 1) < 1e-4
        assert ds.val.targets[task].shape == (154, 1)
        assert ds.test.targets[task].shape == (115, 1)

    # The statistics are those of the training rows of the file.
    with open(example_path("energy").parent / "../data/energy_efficiency.csv") as f:
        heating = np.array([float(r["heating_load"]) for r in csv.DictReader(f)])
    train = heating[train_rows(768, 0.2, 0, test=0.15)]
    stats = data.standardization["targets"]["heating_load"]
    assert stats["mean"] == pytest.approx([train.mean()])
    assert stats["std"] == pytest.approx([train.std()])
    assert len(data.standardization["inputs"]["0"]["features"]["mean"]) == 8
    json.dumps(data.standardization)


def test_energy_mixed_maps_heights_to_classes():
    data = example("energy_mixed")
    assert data.classes == {"tall": [3.5, 7.0]}
    ds = data.dataset_of("tall")
    tall = ds.train.targets["tall"]
    assert tall.dtype == np.int32 and tall.shape == (499,)
    assert set(np.unique(tall).tolist()) == {0, 1}
    assert ds.train.inputs["design"].shape == (499, 7)
    assert set(data.standardization["targets"]) == {"heating_load"}
    json.dumps(data.classes)


def test_tutorial_example_takes_the_generators_arrays_whole_and_unscaled():
    # As in the tutorial: no rows held out, values uniform in [0, 10) as drawn.
    params = load(example_path("tutorial")).data.params
    data = example("tutorial")
    (ds,) = data.datasets
    assert ds.source == "generator tutorial_uniform"
    n = params["examples"]
    assert ds.val.n == 0 and ds.test.n == 0
    assert ds.train.inputs["X"].shape == (n, 10)
    assert {k: v.shape for k, v in ds.train.targets.items()} == {"Y1": (n, 20), "Y2": (n, 20)}
    assert data.standardization == {"inputs": {}, "targets": {}}
    table = generate("tutorial_uniform", params)
    np.testing.assert_array_equal(ds.train.inputs["X"], table.columns["X"][train_rows(n, 0.0, 0)])
    np.testing.assert_array_equal(ds.train.targets["Y2"], table.columns["Y2"])
    assert 9 < ds.train.inputs["X"].max() < 10


# --- split ----------------------------------------------------------------------


def test_split_sizes_order_and_seed(tmp_path):
    project = csv_project(tmp_path)
    project.training.validation_split = 0.25
    ds = prepare(project).datasets[0]
    assert (ds.train.n, ds.val.n) == (15, 5)
    train_ids = ds.train.inputs["x"][:, 0].tolist()
    val_ids = ds.val.inputs["x"][:, 0].tolist()
    assert train_ids == sorted(train_ids) and val_ids == sorted(val_ids)
    assert sorted(train_ids + val_ids) == list(range(20))
    assert train_ids == train_rows(20, 0.25, 0).tolist()

    assert prepare(project).datasets[0].val.inputs["x"][:, 0].tolist() == val_ids
    project.training.seed = 1
    assert prepare(project).datasets[0].val.inputs["x"][:, 0].tolist() != val_ids


def test_no_validation_rows(tmp_path):
    project = csv_project(tmp_path)
    project.training.validation_split = 0.0
    ds = prepare(project).datasets[0]
    assert (ds.train.n, ds.val.n) == (20, 0)
    assert ds.val.inputs["x"].shape == (0, 10)


def test_too_few_training_rows(tmp_path):
    project = csv_project(tmp_path, rows=rows_of(3))
    project.training.validation_split = 0.5
    err = error_of(project)
    assert "the project's data has 3 examples, which leaves 1 for training" in str(err)


def test_one_unit_is_counted_in_the_singular(tmp_path):
    project = csv_project(tmp_path)
    project.node("out_b").params["units"] = 1
    assert (
        "holds 3 classes but Output 'out_b' of task 'b' has 1 unit: set its units to 3"
        in error_of(project).message
    )


def test_one_example_is_counted_in_the_singular(tmp_path):
    project = csv_project(tmp_path, rows=rows_of(1))
    project.training.validation_split = 0.0
    assert "the project's data has 1 example, which leaves 1 for training" in str(error_of(project))


# --- data sets per task ---------------------------------------------------------


def test_tasks_with_their_own_files_get_their_own_data_sets(tmp_path):
    project = two_task_project()
    project.tasks[0].target, project.tasks[1].target = ["a"], ["b"]
    project.tasks[0].data = csv_source(write_csv(tmp_path / "a.csv", rows_of(12)))
    project.tasks[1].data = csv_source(write_csv(tmp_path / "b.csv", rows_of(9, seed=2)))
    data = prepare(project)
    assert [ds.label for ds in data.datasets] == ["task 'a''s data", "task 'b''s data"]
    assert [ds.tasks for ds in data.datasets] == [["a"], ["b"]]
    assert data.task_dataset == {"a": 0, "b": 1}
    a, b = data.dataset_of("a"), data.dataset_of("b")
    assert a.source == str(tmp_path / "a.csv")
    assert (a.train.n + a.val.n, b.train.n + b.val.n) == (12, 9)
    assert set(a.train.targets) == {"a"} and set(b.train.targets) == {"b"}
    assert a.train.inputs["x"].shape[1:] == b.train.inputs["x"].shape[1:] == (10,)


def test_a_task_data_equal_to_the_projects_shares_its_data_set(tmp_path):
    project = csv_project(tmp_path)
    project.tasks[1].data = csv_source(tmp_path / "data.csv")
    assert project.tasks[1].data == project.data
    data = prepare(project)
    assert len(data.datasets) == 1 and data.datasets[0].tasks == ["a", "b"]


def token_project() -> Project:
    """int32 token ids of any length -> Embedding -> pooling -> two outputs."""
    p = Project("tokens")
    node(p, "tokens", "Input", shape=[None], dtype="int32")
    node(p, "embed", "Embedding", input_dim=50, output_dim=4)
    node(p, "pool", "GlobalAveragePooling1D")
    node(p, "out_a", "Output", units=1)
    node(p, "out_b", "Output", units=1)
    chain(p, "tokens", "embed", "pool", "out_a")
    chain(p, "pool", "out_b")
    p.add_task(Task("a", "out_a", target=["y"]))
    p.add_task(Task("b", "out_b", target=["y"]))
    return p


def token_source(tmp_path, name, width, value=1) -> DataSource:
    columns = [f"t{j}" for j in range(width)]
    rows = [{**{c: value for c in columns}, "y": i} for i in range(10)]
    return DataSource("csv", path=str(write_csv(tmp_path / name, rows)), inputs={"tokens": columns})


def test_inputs_of_different_shapes_across_task_data_sets(tmp_path):
    project = token_project()
    project.tasks[0].data = token_source(tmp_path, "a.csv", 3)
    project.tasks[1].data = token_source(tmp_path, "b.csv", 2)
    assert str(error_of(project)) == (
        "inputs of different shapes across task data sets: Input 'tokens' is (3,) in "
        "task 'a''s data and (2,) in task 'b''s data: map columns of the same shape in both"
    )


def test_int32_inputs(tmp_path):
    project = token_project()
    project.data = token_source(tmp_path, "a.csv", 3, value=7)
    x = prepare(project).datasets[0].train.inputs["tokens"]
    assert x.dtype == np.int32 and x.tolist()[0] == [7, 7, 7]

    project.data = token_source(tmp_path, "b.csv", 3, value=1.5)
    err = error_of(project)
    assert (err.row, err.column) == (2, "t0")
    assert "not a whole number: 1.5" in err.message


# --- columns and their errors ---------------------------------------------------


def test_missing_column(tmp_path):
    project = csv_project(tmp_path)
    project.data.inputs["x"][3] = "f99"
    err = error_of(project)
    assert err.file == str(tmp_path / "data.csv")
    assert err.column == "f99"
    assert "missing column (columns: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, a, b)" in err.message
    assert "Input 'x'" in err.message


def test_missing_column_lists_at_most_twelve(tmp_path):
    rows = [{f"c{j}": 1 for j in range(20)} | {"a": 1.0, "b": 0} for _ in range(5)]
    project = csv_project(tmp_path, rows=rows)
    assert "c11, ... (22 in all)" in error_of(project).message


def test_missing_target_column(tmp_path):
    project = csv_project(tmp_path)
    project.tasks[0].target = ["heat"]
    err = error_of(project)
    assert err.column == "heat" and "task 'a'" in err.message


def test_non_numeric_input_cell(tmp_path):
    rows = rows_of(20)
    rows[4]["f3"] = "abc"
    err = error_of(csv_project(tmp_path, rows=rows))
    # Example 4 is row 6 of the file: the header is row 1.
    assert str(err).startswith(f"{tmp_path / 'data.csv'}: row 6, column 'f3': not a number: 'abc'")


def test_unmapped_input(tmp_path):
    project = csv_project(tmp_path)
    project.data.inputs = {}
    assert (
        "Input 'x' has no columns mapped in the project's data: map its columns in the "
        "Data panel" in str(error_of(project))
    )


def test_input_of_the_wrong_shape(tmp_path):
    project = csv_project(tmp_path)
    project.data.inputs["x"] = FEATURES[:8]
    assert "Input 'x' expects examples of shape (10,) but its columns give (8,)" in str(
        error_of(project)
    )


def test_task_without_target(tmp_path):
    project = csv_project(tmp_path)
    project.tasks[0].target = []
    assert "task 'a' has no target: choose its columns" in str(error_of(project))


def test_regression_target_of_the_wrong_shape(tmp_path):
    project = csv_project(tmp_path)
    project.tasks[0].target = ["a", "f1"]
    assert "task 'a' learns (1,) values per example but its target gives (2,)" in str(
        error_of(project)
    )


def test_binary_loss_with_five_classes(tmp_path):
    project = csv_project(tmp_path, rows=[r | {"a": i % 5} for i, r in enumerate(rows_of(20))])
    project.tasks[0].loss = "binary_crossentropy"
    err = error_of(project)
    assert err.column == "a"
    assert "binary_crossentropy needs two classes but the column has 5" in err.message
    assert "use sparse_categorical_crossentropy" in err.message


def test_binary_loss_maps_two_labels_to_0_and_1(tmp_path):
    rows = [r | {"a": "yes" if i % 2 else "no"} for i, r in enumerate(rows_of(20))]
    project = csv_project(tmp_path, rows=rows)
    project.tasks[0].loss = "binary_crossentropy"
    data = prepare(project)
    assert data.classes == {"a": ["no", "yes"]}
    y = data.datasets[0].train.targets["a"]
    assert y.dtype == np.float32 and y.shape == (16, 1)
    assert set(np.unique(y).tolist()) == {0.0, 1.0}


def test_too_many_classes_for_the_units(tmp_path):
    project = csv_project(tmp_path, rows=[r | {"b": 10 + i % 5} for i, r in enumerate(rows_of(20))])
    err = error_of(project)
    assert err.column == "b"
    assert "5 classes but Output 'out_b' of task 'b' has 3 units: set its units to 5" in err.message


def test_class_ids_in_range_are_kept(tmp_path):
    data = prepare(csv_project(tmp_path))
    b = data.datasets[0].train.targets["b"]
    assert b.dtype == np.int32 and b.shape == (16,)
    assert data.classes == {}


def test_categorical_from_labels_and_from_one_hot_columns(tmp_path):
    rows = [
        r
        | {
            "b": "cat dog owl".split()[i % 3],
            "h0": int(i % 3 == 0),
            "h1": int(i % 3 == 1),
            "h2": int(i % 3 == 2),
        }
        for i, r in enumerate(rows_of(20))
    ]
    project = csv_project(tmp_path, rows=rows)
    project.tasks[1].loss = "categorical_crossentropy"
    data = prepare(project)
    one_hot = data.datasets[0].train.targets["b"]
    assert data.classes == {"b": ["cat", "dog", "owl"]}
    assert one_hot.dtype == np.float32 and one_hot.shape == (16, 3)
    np.testing.assert_array_equal(one_hot.sum(axis=1), 1)

    project.tasks[1].target = ["h0", "h1", "h2"]
    np.testing.assert_array_equal(prepare(project).datasets[0].train.targets["b"], one_hot)


# --- standardisation ------------------------------------------------------------


def test_constant_features_keep_std_one(tmp_path):
    rows = [r | {"f5": 3.0} for r in rows_of(20)]
    project = csv_project(tmp_path, rows=rows, standardize_inputs=True)
    data = prepare(project)
    stats = data.standardization["inputs"]["0"]["x"]
    assert stats["std"][5] == 1.0 and stats["mean"][5] == 3.0
    np.testing.assert_array_equal(data.datasets[0].train.inputs["x"][:, 5], 0)


def test_npz_array_feeds_an_input_whole(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(5, 2, size=(30, 10)), a=rng.normal(size=30), b=np.arange(30) % 3)
    project = two_task_project()
    project.tasks[0].target, project.tasks[1].target = ["a"], ["b"]
    project.data = DataSource("npz", path=str(path), inputs={"x": ["x"]})
    ds = prepare(project).datasets[0]
    assert ds.train.inputs["x"].shape == (24, 10)
    np.testing.assert_allclose(ds.train.inputs["x"].mean(axis=0), 0, atol=1e-5)
    assert ds.train.targets["a"].shape == (24, 1)


# --- where files are found ------------------------------------------------------


def test_relative_paths_are_read_from_the_project_folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "project").mkdir()
    write_csv(tmp_path / "data" / "d.csv", rows_of(20))
    source = csv_source("../data/d.csv")
    table = load_source(source, tmp_path / "project")
    assert table.source == str(tmp_path / "data" / "d.csv")

    monkeypatch.chdir(tmp_path)
    assert load_source(csv_source("data/d.csv"), None).n_rows == 20


def test_missing_file_names_the_resolved_path(tmp_path):
    project = csv_project(tmp_path)
    project.data.path = "../data/nope.csv"
    err = error_of(project, tmp_path / "project")
    assert err.file == str(tmp_path / "data" / "nope.csv")
    assert (
        "the file does not exist; the path '../data/nope.csv' is relative to the project "
        f"file's folder ({tmp_path / 'project'})" in err.message
    )


def test_generator_source_with_bad_parameters():
    project = two_task_project()
    project.data = DataSource("generator", "tutorial_uniform", {"examples": 0})
    assert "parameter examples: expected a positive integer, got 0" in str(error_of(project))


# --- the test split, real units, a run's classes (issue 12) ----------------------


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 400),
    val=st.floats(0, 0.45),
    test=st.floats(0, 0.45),
    seed=st.integers(0, 2**31),
)
def test_three_way_split_is_a_partition_and_test_zero_keeps_the_old_split(n, val, test, seed):
    training = TrainingSettings(validation_split=val, test_split=test, seed=seed)
    n_val, n_test = split_sizes(n, training)
    assume(n - n_val - n_test >= 2)
    train, v, t = split_rows(n, training, "data", "f.csv")
    assert (len(v), len(t)) == (n_val, n_test)
    assert sorted(np.concatenate([train, v, t]).tolist()) == list(range(n))
    # The validation rows do not depend on the test share: a project that
    # gains a test share keeps its validation rows.
    _, v0, t0 = split_rows(n, TrainingSettings(validation_split=val, seed=seed), "data", "f")
    assert v0.tolist() == v.tolist() and len(t0) == 0


def test_prepare_splits_by_the_plain_rule_and_names_the_data_set():
    """splits.split_rows (the function an exported script copies) is the
    rule; prepare's split_rows adds the data set to its message."""
    training = TrainingSettings(validation_split=0.2, test_split=0.1, seed=5)
    for mine, plain in zip(
        split_rows(50, training, "data", "f"), splits.split_rows(50, 0.2, 0.1, 5)
    ):
        np.testing.assert_array_equal(mine, plain)
    with pytest.raises(
        ValueError, match="10 rows leave 1 for training after 5 for validation and 4 for test"
    ):
        splits.split_rows(10, 0.5, 0.4, 0)
    with pytest.raises(
        DataError,
        match="task 'b''s data has 10 examples, which leaves 1 for "
        "training after 5 for validation and 4 for test",
    ):
        split_rows(
            10, TrainingSettings(validation_split=0.5, test_split=0.4), "task 'b''s data", "f.csv"
        )


def test_test_rows_are_standardised_with_training_statistics_only(tmp_path):
    project = csv_project(tmp_path, standardize_inputs=True)
    project.training.validation_split = 0.25
    project.training.test_split = 0.25
    ds = prepare(project).datasets[0]
    assert (ds.train.n, ds.val.n, ds.test.n) == (10, 5, 5)
    raw = prepare(project, scale=False).datasets[0]
    ids = raw.test.inputs["x"][:, 0].astype(int)
    assert set(ids).isdisjoint(raw.train.inputs["x"][:, 0].astype(int))
    mean, std = raw.train.inputs["x"].mean(0), raw.train.inputs["x"].std(0)
    np.testing.assert_allclose(
        ds.test.inputs["x"], (raw.test.inputs["x"] - mean) / std, rtol=1e-5, atol=1e-5
    )


def test_too_few_training_rows_names_the_test_share(tmp_path):
    project = csv_project(tmp_path, rows=rows_of(4))
    project.training.validation_split = 0.25
    project.training.test_split = 0.25
    assert prepare(project).datasets[0].train.n == 2
    project.training.test_split = 0.5
    assert "1 for validation and 2 for test" in str(error_of(project))


def test_a_runs_classes_give_the_same_ids_to_a_file_that_lacks_a_class(tmp_path):
    rows = [r | {"a": ["low", "mid", "high"][i % 3]} for i, r in enumerate(rows_of(20))]
    project = csv_project(tmp_path, rows=rows)
    project.tasks[0].loss = "sparse_categorical_crossentropy"
    project.node("out_a").params["units"] = 3
    labels = prepare(project).classes["a"]
    assert labels == ["high", "low", "mid"]
    only_mid = [r | {"a": "mid"} for r in rows]
    project.data.path = str(write_csv(tmp_path / "new.csv", only_mid))
    data = prepare(project, classes={"a": labels})
    assert set(data.datasets[0].train.targets["a"].tolist()) == {2}
    unknown = [r | {"a": "huge" if i == 4 else "mid"} for i, r in enumerate(rows)]
    project.data.path = str(write_csv(tmp_path / "bad.csv", unknown))
    with pytest.raises(DataError) as info:
        prepare(project, classes={"a": labels})
    assert info.value.row == 6 and info.value.column == "a"
    assert "'huge'" in str(info.value)


def test_a_split_seed_keeps_the_split_while_the_seed_changes(tmp_path):
    project = csv_project(tmp_path)
    project.training.test_split = 0.2
    first = prepare(project).datasets[0]
    project.training.split_seed = project.training.seed
    project.training.seed = 9  # a study's second seed: other weights and batches
    again = prepare(project).datasets[0]
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(again.part(part).inputs["x"], first.part(part).inputs["x"])
    project.training.split_seed = None
    assert not np.array_equal(prepare(project).datasets[0].val.inputs["x"], first.val.inputs["x"])
