import zipfile

import numpy as np
import pytest

from mtl_studio.data import DataError, read_csv, read_npz


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def read_error(reader, path) -> DataError:
    with pytest.raises(DataError) as info:
        reader(path)
    err = info.value
    assert err.file == str(path)
    assert str(path) in str(err)
    return err


# --- CSV ----------------------------------------------------------------------


def test_csv_numeric_and_label_columns(tmp_path):
    path = write(tmp_path, ' x , name ,y\n1, red ,2.5\n-3e2,"blue, dark",4\n')
    table = read_csv(path)
    assert table.source == str(path)
    assert table.n_rows == 2
    assert list(table.columns) == ["x", "name", "y"]
    assert table.kinds == {"x": "numeric", "name": "label", "y": "numeric"}
    assert table.columns["x"].dtype == np.float64
    np.testing.assert_array_equal(table.columns["x"], [1.0, -300.0])
    assert table.columns["name"].tolist() == ["red", "blue, dark"]


def test_csv_nan_and_inf_count_as_text(tmp_path):
    table = read_csv(write(tmp_path, "a,b\nnan,1\n2,inf\n"))
    assert table.kinds == {"a": "label", "b": "label"}


def test_csv_byte_order_mark_and_trailing_blank_lines(tmp_path):
    table = read_csv(write(tmp_path, b"\xef\xbb\xbfa,b\r\n1,2\r\n\r\n\r\n"))
    assert list(table.columns) == ["a", "b"]
    assert table.n_rows == 1


def test_csv_numbers_of_a_label_column_name_the_first_bad_cell(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,x\n")
    table = read_csv(path)
    with pytest.raises(DataError) as info:
        table.numbers("b", "fix it")
    # The header is row 1, so the second example is row 3.
    assert str(info.value) == f"{path}: row 3, column 'b': not a number: 'x': fix it"


@pytest.mark.parametrize(
    "text, row, column, words",
    [
        ("", None, None, "the file is empty"),
        (" \n\n", None, None, "the file is empty"),
        ("a,b\n", None, None, "no data rows"),
        ("a,b\n\n", None, None, "no data rows"),
        ("a,b,a\n1,2,3\n", 1, "a", "columns 1 and 3"),
        ("a,,c\n1,2,3\n", 1, None, "column 2 has no name"),
        ("a,b,c\n1,2,3\n4,5\n", 3, None, "the row has 2 cells but the header has 3"),
        ("a,b\n1,2\n3,4,5\n", 3, None, "the row has 3 cells but the header has 2"),
        ("a,b\n1,2\n3, \n", 3, "b", "empty cell"),
        ("a,b\n1,2\n\n3,4\n", 3, None, "the row is empty"),
        ("a;b;c\n1;2;3\n", 1, None, "semicolons"),
        (b"a,b\n1,2\n\xff\xfe,3\n", 3, None, "not UTF-8"),
        (b"PK\x03\x04\x00\x00binary", None, None, "not a CSV text file"),
    ],
)
def test_csv_errors_name_file_row_and_column(tmp_path, text, row, column, words):
    err = read_error(read_csv, write(tmp_path, text))
    assert words in err.message
    assert (err.row, err.column) == (row, column)
    if row is not None:
        assert f"row {row}" in str(err)
    if column is not None:
        assert f"column '{column}'" in str(err)


def test_csv_missing_file(tmp_path):
    err = read_error(read_csv, tmp_path / "nope.csv")
    assert "cannot read the file" in err.message


# --- NPZ ----------------------------------------------------------------------


def test_npz_arrays_of_any_rank(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(
        path,
        images=np.zeros((4, 3, 2)),
        y=np.arange(4),
        name=np.array(list("abcd")),
        flag=np.array([True, False, True, True]),
    )
    table = read_npz(path)
    assert table.n_rows == 4
    assert table.columns["images"].shape == (4, 3, 2)
    assert table.kinds == {"images": "numeric", "y": "numeric", "name": "label", "flag": "numeric"}
    assert table.columns["flag"].tolist() == [1, 0, 1, 1]
    assert table.first_row is None


def test_npz_refuses_object_arrays(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros(2), bad=np.array([{"a": 1}, None], dtype=object))
    err = read_error(read_npz, path)
    assert err.column == "bad"
    assert "refused" in err.message and "unpickle" in err.message


def test_npz_arrays_must_share_their_length(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((10, 3)), y=np.zeros(9))
    err = read_error(read_npz, path)
    assert "'X' (10 examples)" in err.message and "'y' (9 examples)" in err.message


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04 truncated", b""])
def test_npz_bad_zip(tmp_path, content):
    err = read_error(read_npz, write(tmp_path, content, "d.npz"))
    assert "not an NPZ file" in err.message


def test_npz_a_npy_file_is_not_an_npz_file(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.zeros(3))
    assert "not an NPZ file" in read_error(read_npz, path).message


def test_npz_a_damaged_member(tmp_path):
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", b"\x93NUMPY garbage")
    err = read_error(read_npz, path)
    assert err.column == "x"


def test_npz_single_values_and_no_arrays(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.float64(3.0))
    assert "single value" in read_error(read_npz, path).message
    np.savez(path)
    assert "no arrays" in read_error(read_npz, path).message


def test_npz_missing_file(tmp_path):
    assert "cannot read the file" in read_error(read_npz, tmp_path / "nope.npz").message


# --- CSV in blocks: progress, cancel, the head, the fast path -----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mtl_studio.core import data_profile  # noqa: E402
from mtl_studio.data import table as table_module  # noqa: E402
from mtl_studio.data.table import ReadCancelled, read_csv_head  # noqa: E402


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 bytes, so a small file is read in many blocks."""
    monkeypatch.setattr(table_module, "BLOCK_BYTES", 64)
    monkeypatch.setattr(table_module, "HEAD_BLOCK_BYTES", 64)


@pytest.fixture
def careful_only(monkeypatch):
    """Every block through the csv module: the reference the fast path must match."""
    monkeypatch.setattr(table_module, "_fast_block", lambda block, n: None)


def numbers_csv(tmp_path, rows=200, name="n.csv"):
    lines = ["a,b,c"] + [f"{i},{i * 0.5},{-i / 3:.6f}" for i in range(rows)]
    return write(tmp_path, "\n".join(lines) + "\n", name)


def test_the_kinds_are_the_profiles_kinds():
    # One definition: the table's kinds are the ones validation reads.
    assert table_module.NUMERIC is data_profile.NUMERIC
    assert table_module.LABEL is data_profile.LABEL


def test_csv_progress_rises_to_one(tmp_path, small_blocks):
    seen = []
    table = read_csv(numbers_csv(tmp_path), progress=seen.append)
    assert table.n_rows == 200
    assert len(seen) > 10
    assert seen == sorted(seen) and seen[-1] == 1.0
    np.testing.assert_array_equal(table.columns["a"], np.arange(200))
    np.testing.assert_allclose(table.columns["c"], -np.arange(200) / 3, atol=1e-6)


def test_csv_cancel_stops_the_read(tmp_path, small_blocks):
    calls = []

    def progress(fraction):
        calls.append(fraction)
        return len(calls) < 3  # False: stop

    with pytest.raises(ReadCancelled):
        read_csv(numbers_csv(tmp_path), progress)
    assert len(calls) == 3


def test_csv_progress_may_raise_to_stop(tmp_path, small_blocks):
    def progress(fraction):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        read_csv(numbers_csv(tmp_path), progress)


def test_csv_head_reads_the_first_rows_only(tmp_path):
    path = numbers_csv(tmp_path, rows=5000)
    with open(path, "a") as f:
        f.write("1,2\n")  # a ragged row far beyond the head
    head = read_csv_head(path, rows=100)
    assert head.n_rows == 100
    np.testing.assert_array_equal(head.columns["a"], np.arange(100))
    assert "row 5002" in str(read_error(read_csv, path))


def test_csv_head_of_text_and_a_short_file(tmp_path):
    path = write(tmp_path, "x,name\n1,a\n2,b\n3,c\n")
    head = read_csv_head(path, rows=2)
    assert head.columns["name"].tolist() == ["a", "b"]
    assert read_csv_head(path, rows=100).n_rows == 3


def test_csv_errors_in_a_later_block_name_their_row(tmp_path, small_blocks):
    lines = ["a,b"] + [f"{i},{i}" for i in range(100)]
    lines[61] = "60,"  # row 62 in the file
    err = read_error(read_csv, write(tmp_path, "\n".join(lines) + "\n"))
    assert (err.row, err.column) == (62, "b") and "empty cell" in err.message
    lines[61] = "60,1,2"
    err = read_error(read_csv, write(tmp_path, "\n".join(lines) + "\n"))
    assert err.row == 62 and "3 cells" in err.message
    lines[61] = ""
    err = read_error(read_csv, write(tmp_path, "\n".join(lines) + "\n"))
    assert err.row == 62 and "the row is empty" in err.message


def test_csv_text_found_late_makes_the_whole_column_text(tmp_path, small_blocks):
    lines = ["a,b"] + [f"{i},{i}.50" for i in range(100)]
    lines[90] = "89,n/a"
    table = read_csv(write(tmp_path, "\n".join(lines) + "\n"))
    assert table.kinds == {"a": "numeric", "b": "label"}
    # The numbers' text is kept as written (not "0.5" for "0.50").
    assert table.columns["b"][:2].tolist() == ["0.50", "1.50"]
    assert table.columns["b"][89] == "n/a"
    with pytest.raises(DataError) as info:
        table.numbers("b", "fix it")
    assert (info.value.row, info.value.column) == (91, "b")


def test_csv_nan_in_a_later_block_is_text(tmp_path, small_blocks):
    lines = ["a"] + [str(i) for i in range(100)] + ["nan"]
    assert read_csv(write(tmp_path, "\n".join(lines))).kinds == {"a": "label"}


def test_csv_a_quoted_cell_with_line_breaks_across_blocks(tmp_path, small_blocks):
    note = 'a long note,\nwith a line break and ""quotes""\n' * 3
    text = "id,note\n" + "".join(f'{i},"{note}"\n' for i in range(5)) + "5,plain\n"
    table = read_csv(write(tmp_path, text))
    assert table.n_rows == 6
    assert table.columns["note"][0] == note.replace('""', '"').strip()
    assert table.columns["note"][5] == "plain"


def test_csv_crlf_and_no_final_line_break(tmp_path, small_blocks):
    lines = ["a,b"] + [f"{i},{i * 2}" for i in range(50)]
    table = read_csv(write(tmp_path, "\r\n".join(lines)))
    assert table.n_rows == 50 and table.kinds == {"a": "numeric", "b": "numeric"}
    assert table.columns["b"][-1] == 98


def test_csv_a_blank_header_row(tmp_path):
    err = read_error(read_csv, write(tmp_path, "\n\na,b\n1,2\n"))
    assert err.row == 1 and "header row is empty" in err.message
    # Commas and spaces only: no names, no rows.
    assert "the file is empty" in read_error(read_csv, write(tmp_path, " , \n")).message


def test_csv_a_quoted_header(tmp_path):
    table = read_csv(write(tmp_path, '"size, m2",b\n1,2\n'))
    assert list(table.columns) == ["size, m2", "b"]


def test_csv_binary_data_in_a_later_block(tmp_path, small_blocks):
    text = b"a,b\n" + b"1,2\n" * 50 + b"\x00\x01\x02"
    assert "binary data" in read_error(read_csv, write(tmp_path, text)).message


@pytest.mark.parametrize(
    "cell",
    [
        "1.2.3",
        "--1",
        "1e5e",
        "e5",
        "1-2",
        ".",
        "+",
        "1e999",
        "0x10",
        "1_000",
        " 7 ",
        "1e-3",
        "+.5",
        "5.",
    ],
)
def test_csv_odd_numbers_read_as_the_csv_module_reads_them(tmp_path, cell, monkeypatch):
    path = write(tmp_path, "a,b\n" + "1,2\n" * 20 + f"3,{cell}\n")
    with _no_check():
        fast = read_csv(path)
    monkeypatch.setattr(table_module, "_fast_block", lambda block, n: None)
    careful = read_csv(path)
    assert fast.kinds == careful.kinds
    for name in fast.columns:
        np.testing.assert_array_equal(fast.columns[name], careful.columns[name])


class _no_check:
    """numpy may warn about a malformed number before the careful path takes over."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", DeprecationWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


_cells = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.floats(-1e3, 1e3).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["nan", "x", "", " 4", "1e400", '"5"', "1,5"]),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=1, max_size=40))
def test_csv_blocks_read_as_one_careful_pass(tmp_path_factory, rows):
    """Whatever the cells, reading in small blocks with the fast path gives
    the table (or the error) that the csv module alone gives."""
    text = "a,b,c\n" + "".join(",".join(r) + "\n" for r in rows)
    path = write(tmp_path_factory.mktemp("csv"), text)

    def outcome():
        try:
            table = read_csv(path)
        except DataError as exc:
            return str(exc)
        return table.kinds, {k: v.tolist() for k, v in table.columns.items()}

    original = (table_module.BLOCK_BYTES, table_module._fast_block)
    try:
        table_module.BLOCK_BYTES = 32
        with _no_check():
            fast = outcome()
        table_module._fast_block = lambda block, n: None
        table_module.BLOCK_BYTES = 1 << 20
        careful = outcome()
    finally:
        table_module.BLOCK_BYTES, table_module._fast_block = original
    assert fast == careful


# --- NPZ progress -------------------------------------------------------------


def test_npz_progress_and_cancel(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, a=np.zeros(3), b=np.ones(3), c=np.arange(3))
    seen = []
    assert read_npz(path, seen.append).n_rows == 3
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    with pytest.raises(ReadCancelled):
        read_npz(path, lambda fraction: False)
