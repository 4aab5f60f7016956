"""Profiles: kinds, the shape of one example and class counts of a table."""

import numpy as np

from mtl_studio.core.data_profile import LABEL, NUMERIC, ColumnInfo
from mtl_studio.data import generate, read_csv, read_npz
from mtl_studio.data.profile import MAX_CLASSES, class_count, column_info, profile_table
from mtl_studio.data.table import Table


def test_a_csv_tables_profile(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("size,color,k,y\n1.5,red,0,3\n2.5,blue,2,3\n3.5,red,1,4\n4.5,green,1,5\n")
    profile = profile_table(read_csv(path))
    assert profile.source == str(path)
    assert profile.rows == 4
    assert profile.columns == {
        "size": ColumnInfo("size", NUMERIC, (), 0, 4, True),  # not whole numbers
        "color": ColumnInfo("color", LABEL, (), 3, 3),  # labels: distinct values
        "k": ColumnInfo("k", NUMERIC, (), 3, 3),  # whole numbers, few: class ids
        "y": ColumnInfo("y", NUMERIC, (), 3, 3),
    }


def test_many_whole_numbers_are_not_classes():
    values = np.arange(MAX_CLASSES + 1, dtype=np.float64)
    assert class_count(values, NUMERIC) == 0
    assert class_count(values[:MAX_CLASSES], NUMERIC) == MAX_CLASSES
    # Beyond the first values looked at, a new value still counts.
    few_then_many = np.concatenate([np.zeros(20_000), np.arange(100.0)])
    assert class_count(few_then_many, NUMERIC) == 0
    # Whole at first, a fraction later.
    assert class_count(np.concatenate([np.zeros(20_000), [0.5]]), NUMERIC) == 0
    # Labels are counted however many there are.
    assert class_count(np.array([str(i) for i in range(200)]), LABEL) == 200


def test_an_npz_tables_profile_has_shapes(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        images=np.random.default_rng(0).random((6, 4, 2)),
        y=np.array([0, 1, 2, 0, 1, 2], dtype=np.int64),
        onehot=np.eye(3)[[0, 1, 2, 0, 1, 2]],
        flag=np.array([True, False] * 3),
        name=np.array(list("abcabb")),
    )
    profile = profile_table(read_npz(path))
    assert profile.rows == 6
    columns = profile.columns
    assert columns["images"] == ColumnInfo("images", NUMERIC, (4, 2), 0, 48, True)
    assert columns["y"].classes == 3 and columns["y"].shape == ()
    assert columns["onehot"].shape == (3,) and columns["onehot"].classes == 2  # its values
    assert columns["flag"].classes == 2
    assert columns["name"] == ColumnInfo("name", LABEL, (), 3, 3)


def test_a_generators_profile():
    profile = profile_table(generate("tutorial_uniform", {"examples": 50}))
    assert profile.source == "generator tutorial_uniform"
    assert profile.rows == 50
    assert {n: c.shape for n, c in profile.columns.items()} == {
        "X": (10,),
        "Y1": (20,),
        "Y2": (20,),
    }
    assert all(c.kind == NUMERIC and c.classes == 0 for c in profile.columns.values())


def test_an_empty_table():
    table = Table({"a": np.zeros(0)}, {"a": NUMERIC}, "empty")
    assert profile_table(table).columns["a"].classes == 0


def test_distinct_values_are_counted_whatever_they_are(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("height,x\n3.5,0.1\n7,0.2\n3.5,0.3\n")
    columns = profile_table(read_csv(path)).columns
    assert (columns["height"].classes, columns["height"].distinct) == (0, 2)
    assert columns["x"].distinct == 3
    assert (
        profile_table(Table({"a": np.arange(100.0)}, {"a": NUMERIC}, "t")).columns["a"].distinct
        == 0
    )


def test_a_column_is_fractional_when_a_finite_value_is_not_whole():
    assert column_info("h", np.array([3.5, 7.0]), NUMERIC).fractional
    assert not column_info("k", np.array([1.0, 2.0, np.nan]), NUMERIC).fractional
    assert not column_info("k", np.array([1, 2, 3]), NUMERIC).fractional
    assert not column_info("c", np.array(["a", "b"]), LABEL).fractional
