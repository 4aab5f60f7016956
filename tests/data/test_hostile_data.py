"""Hostile data files (issue 17): each class the fuzzing campaign met gets a
fixed case, and a hypothesis fuzz test mutates a small CSV and NPZ file:
the readers return a table or raise DataError with one line naming the
file, never another exception, and never take long."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.data.errors import DataError
from mtl_studio.data.prepare import prepare
from mtl_studio.data.table import read_csv, read_npz
from tests.helpers import chain, node

FUZZ_EXAMPLES = int(os.environ.get("MTL_STUDIO_FUZZ_EXAMPLES", "150"))
SECONDS = 5.0  # a bound on one read, far above what a small file takes
fuzz = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_old_mac_line_ends_are_line_breaks(tmp_path):
    table = read_csv(write(tmp_path, "cr.csv", b"a,b\r1,2\r3,4\r"))
    assert table.n_rows == 2
    assert table.columns["b"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    "data, row",
    [
        (b'a,b\n1,2\n"3,4\n5,6\n', 3),  # in the middle of the file
        (b'a,b\n1,2\n3,"4\n5,6\n7,8\n', 3),  # in the last column: it swallowed the rest
        (b'a,"b\n1,2\n', 1),  # in the header
    ],
)
def test_a_quote_that_never_closes_is_named_with_its_row(tmp_path, data, row):
    with pytest.raises(DataError) as caught:
        read_csv(write(tmp_path, "q.csv", data))
    assert caught.value.row == row
    assert "a quote opens in this row and never closes" in str(caught.value)


def test_a_line_break_inside_an_unquoted_cell_is_named(tmp_path):
    with pytest.raises(DataError) as caught:
        read_csv(write(tmp_path, "n.csv", b"a,b\n1,2\r\n3\r4,5\n"))
    assert caught.value.row == 3
    assert "the row has 1 cell but the header has 2" in str(caught.value)


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_an_npz_that_asks_for_terabytes_is_refused(tmp_path):
    member = zipfile.ZipFile(io.BytesIO(_npz_bytes(x=np.zeros(3)))).read("x.npy")
    path = tmp_path / "tb.npz"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("x.npy", member.replace(b"(3,)", b"(99999999999,)"))
    with pytest.raises(DataError, match="larger than this machine's memory") as caught:
        read_npz(path)
    assert caught.value.column == "x"


def test_a_damaged_npz_is_named(tmp_path):
    member = zipfile.ZipFile(io.BytesIO(_npz_bytes(x=np.arange(100.0)))).read("x.npy")
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("x.npy", member)
    data = bytearray(path.read_bytes())
    for i in range(60, 90):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="cannot be read|not an NPZ file"):
        read_npz(path)


def _project(csv: Path, loading: str, standardize: bool) -> Project:
    p = Project("h")
    node(p, "x", "Input", shape=[2])
    node(p, "o", "Output", units=1)
    chain(p, "x", "o")
    p.add_task(Task("t", "o", "mse"))
    p.task("t").target = ["c"]
    p.data = DataSource(
        "csv", path=str(csv), inputs={"x": ["a", "b"]}, standardize_inputs=standardize
    )
    p.training.data_loading = loading
    return p


@pytest.mark.parametrize("loading", ["memory", "stream"])
def test_values_too_large_to_standardise_or_to_train_on_are_named(tmp_path, loading):
    # +-1e308: the mean and spread overflow (summary.json was never written).
    rows = "".join(f"{(-1) ** i * 1e308},{i},{i * 2}\n" for i in range(20))
    huge = write(tmp_path, "huge.csv", f"a,b,c\n{rows}".encode())
    with pytest.raises(DataError, match="values of Input 'x' are too large to standardise"):
        prepare(_project(huge, loading, True), None)
    # 1e300, not standardised: past float32, which training computes in.
    rows = "".join(f"{i * 1e300},{i},{i * 2}\n" for i in range(20))
    wide = write(tmp_path, "wide.csv", f"a,b,c\n{rows}".encode())
    with pytest.raises(DataError, match="values of Input 'x' pass float32's range") as caught:
        prepare(_project(wide, loading, False), None)
    assert caught.value.file == str(wide)


def test_a_cell_of_1e400_is_named_with_its_row_and_column(tmp_path):
    rows = "".join(f"{i},{i},{i}\n" for i in range(10)) + "1e400,3,4\n"
    path = write(tmp_path, "inf.csv", f"a,b,c\n{rows}".encode())
    with pytest.raises(DataError) as caught:
        prepare(_project(path, "memory", True), None)
    assert (caught.value.row, caught.value.column) == (12, "a")


# --- fuzzing ----------------------------------------------------------------------

BASE_CSV = b'a,b,label\n1,2.5,x\n3,-4e2,"y, z"\n5,6,x\n7,8,y\n'
HOSTILE = [
    b"\r",
    b"\n",
    b'"',
    b",",
    b"\x00",
    b"\xff\xfe",
    b"1e400",
    b"-1e308",
    b"nan",
    b"\xef\xbb\xbf",
    b'""',
    b"\r\n",
    b" ",
    b"9" * 400,
]


def _one_line(error: DataError, path: Path) -> None:
    text = str(error)
    assert "\n" not in text, text
    assert str(path) in text or path.name in text, text


@fuzz
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(BASE_CSV)), st.integers(0, 4), st.sampled_from(HOSTILE)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_csv_files_read_or_are_refused_in_one_line(tmp_path, edits):
    data = bytearray(BASE_CSV)
    for at, cut, piece in edits:
        at = min(at, len(data))
        data[at : at + cut] = piece
    path = write(tmp_path, "fuzz.csv", bytes(data))
    # Read, and as training prepares it: inputs a, b and a class task on label.
    _read_or_refused(path, lambda: read_csv(path), lambda: prepare(_classes(path), None))


def _read_or_refused(path: Path, *reads) -> None:
    """Each read succeeds or raises a one-line DataError naming the file,
    and all of them end within the bound."""
    start = time.perf_counter()
    for read in reads:
        try:
            read()
        except DataError as exc:
            _one_line(exc, path)
    assert time.perf_counter() - start < SECONDS


def _classes(csv: Path) -> Project:
    p = Project("fuzz")
    node(p, "x", "Input", shape=[2])
    node(p, "o", "Output", units=3, activation="softmax")
    chain(p, "x", "o")
    p.add_task(Task("t", "o", "sparse_categorical_crossentropy"))
    p.task("t").target = ["label"]
    p.data = DataSource("csv", path=str(csv), inputs={"x": ["a", "b"]})
    p.training.validation_split = 0.0
    return p


@fuzz
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_npz_files_read_or_are_refused_in_one_line(tmp_path, edits):
    base = _npz_bytes(x=np.arange(12.0).reshape(6, 2), y=np.array(["a", "b"] * 3))
    data = bytearray(base)
    for at, piece in edits:
        at %= len(data)
        data[at : at + len(piece)] = piece
    path = write(tmp_path, "fuzz.npz", bytes(data))
    _read_or_refused(path, lambda: read_npz(path))


def test_found_by_the_campaign_an_npz_header_cut_short(tmp_path):
    """numpy tokenizes a version-1 array header: a damaged one raised
    tokenize.TokenError, which is no ValueError."""
    base = _npz_bytes(x=np.arange(12.0).reshape(6, 2), y=np.array(["a", "b"] * 3))
    data = bytearray(base)
    for at, piece in [(114, b"\x00\x00"), (7219, b"\x01\x00\x03")]:
        at %= len(data)
        data[at : at + len(piece)] = piece
    path = write(tmp_path, "cut.npz", bytes(data))
    with pytest.raises(DataError, match="the file is damaged") as err:
        read_npz(path)
    _one_line(err.value, path)
