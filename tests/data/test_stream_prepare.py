"""Streaming preparation (data/stream.py) gives what prepare() gives in
memory: the same splits, statistics, class ids and values, and the same
messages for bad cells, from files read in blocks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_studio.core import fileformat
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.data import stream
from mtl_studio.data.errors import DataError
from mtl_studio.data.prepare import prepare
from mtl_studio.data.stream import RowColumn, RowFile, streams
from tests.helpers import chain, node


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch, tmp_path):
    """Blocks and chunks of a few rows, so every pass crosses many of them."""
    monkeypatch.setattr(stream, "STREAM_BLOCK_BYTES", 200)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 96)
    caches = tmp_path / "caches"
    caches.mkdir()
    monkeypatch.setattr(stream, "CACHE_PARENT", str(caches))
    return caches


def project_for(kind: str, path: str, *, classes: str = "sparse") -> Project:
    """x (3 columns) -> out_a (mse on y) and out_b (3 classes of column c)."""
    p = Project("s")
    node(p, "x", "Input", shape=[3])
    node(p, "h", "Dense", units=4)
    node(p, "oa", "Output", units=1)
    node(p, "ob", "Output", units=3, activation="softmax")
    chain(p, "x", "h", "oa")
    chain(p, "h", "ob")
    p.add_task(Task("a", "oa", "mse", target=["y"]))
    loss = {"sparse": "sparse_categorical_crossentropy", "onehot": "categorical_crossentropy"}
    p.add_task(Task("b", "ob", loss[classes], target=["c"]))
    columns = ["x1", "x2", "x3"] if kind == "csv" else ["x"]
    p.data = DataSource(kind, path=path, inputs={"x": columns})
    p.data.standardize_targets = True
    return p


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, c: list) -> None:
    lines = ["x1,x2,x3,y,c"] + [
        f"{a!r},{b!r},{d!r},{t!r},{label}" for (a, b, d), t, label in zip(x.tolist(), y, c)
    ]
    path.write_text("\n".join(lines) + "\n")


def both(p: Project, folder: Path):
    memory = prepare(p, folder)
    q = p.copy()
    q.training.data_loading = "stream"
    return memory, prepare(q, folder)


def assert_same(memory, streamed) -> None:
    assert streamed.classes == memory.classes
    assert streamed.task_dataset == memory.task_dataset
    # Statistics: the same within float rounding.
    for kind in ("inputs", "targets"):
        a, b = memory.standardization[kind], streamed.standardization[kind]
        assert a.keys() == b.keys()
        flat_a, flat_b = json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)
        if flat_a != flat_b:
            for key in a:
                for name in a[key] if kind == "inputs" else [key]:
                    sa = a[key][name] if kind == "inputs" else a[key]
                    sb = b[key][name] if kind == "inputs" else b[key]
                    for stat in ("mean", "std"):
                        np.testing.assert_allclose(sa[stat], sb[stat], rtol=1e-9, atol=1e-12)
    for dm, ds in zip(memory.datasets, streamed.datasets):
        assert ds.source == dm.source
        for part in ("train", "val", "test"):
            sm, ss = dm.part(part), ds.part(part)
            assert ss.n == sm.n
            for group in ("inputs", "targets"):
                am, as_ = getattr(sm, group), getattr(ss, group)
                assert am.keys() == as_.keys()
                for name in am:
                    assert isinstance(as_[name], RowColumn)
                    assert as_[name].shape == am[name].shape
                    assert as_[name].dtype == am[name].dtype
                    np.testing.assert_allclose(as_[name][:], am[name], rtol=1e-5, atol=1e-6)


tables = st.tuples(
    st.integers(8, 70),  # rows
    st.integers(0, 2**31 - 1),  # data seed
    st.integers(0, 1000),  # split seed
    st.sampled_from([0.0, 0.2, 0.3]),  # validation share
    st.sampled_from([0.0, 0.1]),  # test share
    st.booleans(),  # text labels (or numbers that are not class ids)
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tables)
def test_stream_csv_matches_prepare(tmp_path, table):
    rows, seed, split_seed, val, test, text = table
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)) * rng.uniform(0.1, 100, 3) + rng.normal(0, 50, 3)
    x[:, 2] = np.round(x[:, 2])  # whole numbers too
    y = (x[:, 0] * 0.5 + rng.normal(size=rows)).tolist()
    pool = ["cat", "dog", "emu"] if text else ["7", "-2", "3.5"]
    c = [pool[i] for i in rng.integers(0, 3, rows)]
    write_csv(tmp_path / "t.csv", x, y, c)
    p = project_for("csv", "t.csv")
    p.training.seed = split_seed
    p.training.validation_split, p.training.test_split = val, test
    assert_same(*both(p, tmp_path))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tables, st.sampled_from(["sparse", "onehot"]))
def test_stream_npz_matches_prepare(tmp_path, table, classes):
    rows, seed, split_seed, val, test, text = table
    rng = np.random.default_rng(seed)
    labels = np.array(["lo", "mid", "hi"]) if text else np.array([4, 0, 9])
    np.savez(
        tmp_path / "t.npz",
        x=rng.normal(size=(rows, 3)).astype(np.float32),
        y=rng.integers(-5, 5, rows),
        c=labels[rng.integers(0, 3, rows)],
    )
    p = project_for("npz", "t.npz", classes=classes)
    p.training.seed = split_seed
    p.training.validation_split, p.training.test_split = val, test
    assert_same(*both(p, tmp_path))


def test_stream_class_column_turning_to_text_late(tmp_path):
    """Numbers for many blocks, then text: the column is text throughout,
    as in memory (the read starts again)."""
    rng = np.random.default_rng(0)
    rows = 60
    c = ["1", "2", "3"] * 19 + ["x", "2", "3"]
    write_csv(tmp_path / "t.csv", rng.normal(size=(rows, 3)), rng.normal(size=rows).tolist(), c)
    p = project_for("csv", "t.csv")
    node(p, "ob2", "Output", units=4, activation="softmax")
    chain(p, "h", "ob2")
    p.task("b").output = "ob2"
    memory, streamed = both(p, tmp_path)
    assert memory.classes["b"] == ["1", "2", "3", "x"]
    assert_same(memory, streamed)


@pytest.mark.parametrize(
    "cell,column", [("abc", "x2"), ("", "x3"), ("nan", "y")], ids=["text", "empty", "nan"]
)
def test_stream_bad_cell_far_down_is_placed(tmp_path, cell, column):
    rng = np.random.default_rng(1)
    rows = 300
    write_csv(
        tmp_path / "t.csv", rng.normal(size=(rows, 3)), rng.normal(size=rows).tolist(), ["a"] * rows
    )
    lines = (tmp_path / "t.csv").read_text().splitlines()
    cells = lines[250].split(",")
    cells[["x1", "x2", "x3", "y", "c"].index(column)] = cell
    lines[250] = ",".join(cells)
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    in_memory, streamed = both_refusals(project_for("csv", "t.csv"), tmp_path)
    assert streamed.row == in_memory.row == 251
    assert streamed.column == in_memory.column == column


def both_refusals(project, folder) -> tuple[DataError, DataError]:
    """The DataError of preparing the project in memory and streamed: the
    same message."""
    with pytest.raises(DataError) as in_memory:
        prepare(project, folder)
    project.training.data_loading = "stream"
    with pytest.raises(DataError) as streamed:
        prepare(project, folder)
    assert str(streamed.value) == str(in_memory.value)
    return in_memory.value, streamed.value


def test_stream_npz_bad_value_names_the_example(tmp_path):
    x = np.ones((50, 3))
    x[41, 1] = np.inf
    np.savez(tmp_path / "t.npz", x=x, y=np.zeros(50), c=np.zeros(50, int))
    _, streamed = both_refusals(project_for("npz", "t.npz"), tmp_path)
    assert "(example 42)" in str(streamed)


def test_stream_cache_folder_is_gone_and_files_read(tmp_path, small_blocks):
    rng = np.random.default_rng(2)
    write_csv(tmp_path / "t.csv", rng.normal(size=(40, 3)), list(range(40)), ["q"] * 40)
    p = project_for("csv", "t.csv")
    p.training.data_loading = "stream"
    data = prepare(p, tmp_path)
    assert list(small_blocks.iterdir()) == []  # removed, the files still open
    x = data.datasets[0].train.inputs["x"]
    whole = x[:]
    assert x[-1].tolist() == whole[-1].tolist()
    assert x[[5, 2, 2, 7]].tolist() == whole[[5, 2, 2, 7]].tolist()
    assert x[1:9:3].tolist() == whole[1:9:3].tolist()
    assert np.asarray(x).shape == x.shape == whole.shape
    stream.release(data)


def test_row_file_reads_runs(tmp_path):
    record = np.dtype([("a", np.float32, (2,)), ("b", np.int32)])
    values = np.zeros(100, record)
    values["a"] = np.arange(200).reshape(100, 2)
    values["b"] = np.arange(100)
    (tmp_path / "r").write_bytes(values.tobytes())
    file = RowFile(tmp_path / "r", record, 100)
    rows = np.array([99, 3, 4, 5, 50, 3, 0])
    assert file.read(rows)["b"].tolist() == rows.tolist()
    assert file.read_range(95, 200)["b"].tolist() == [95, 96, 97, 98, 99]
    with pytest.raises(IndexError):
        file.read([100])
    assert len(file.read([])) == 0
    file.close()
    with pytest.raises(OSError, match="the row file is closed"):
        file.read([1])
    # Records of 2 KB: rows more than 3 apart are separate reads.
    wide = np.dtype([("a", np.float64, (256,))])
    values = np.zeros(50, wide)
    values["a"] = np.arange(50)[:, None]
    (tmp_path / "w").write_bytes(values.tobytes())
    file = RowFile(tmp_path / "w", wide, 50)
    rows = np.array([0, 2, 3, 9, 10, 30, 49, 48, 2])
    for _ in range(3):
        assert file.read(rows)["a"][:, 0].tolist() == rows.tolist()
        assert file.read_range(47, 50)["a"][:, 0].tolist() == [47, 48, 49]
    file.close()


def test_stream_auto_threshold(tmp_path, monkeypatch):
    (tmp_path / "t.csv").write_text("x1,x2,x3,y,c\n" + "1,2,3,4,a\n" * 10)
    p = project_for("csv", "t.csv")
    size = (tmp_path / "t.csv").stat().st_size
    training = p.training
    assert training.data_loading == "auto"
    monkeypatch.setattr(stream, "STREAM_BYTES", size + 1)
    assert not streams(p.data, training, tmp_path)
    monkeypatch.setattr(stream, "STREAM_BYTES", size)
    assert streams(p.data, training, tmp_path)
    training.data_loading = "memory"
    assert not streams(p.data, training, tmp_path)
    training.data_loading = "stream"
    assert streams(p.data, training, tmp_path)
    assert not streams(DataSource("generator", "linear"), training, tmp_path)


def test_stream_data_loading_in_the_project_file():
    p = project_for("csv", "t.csv")
    p.training.data_loading = "stream"
    text = fileformat.dumps(p)
    assert fileformat.loads(text).training.data_loading == "stream"
    data = json.loads(text)
    data["training"]["data_loading"] = "disk"
    with pytest.raises(fileformat.ProjectError) as err:
        fileformat.from_dict(data)
    assert "training.data_loading" in str(err.value)
    del data["training"]["data_loading"]
    assert fileformat.from_dict(data).training.data_loading == "auto"
