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


@pytest.mark.parametrize("text, row, column, words", [
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
])
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
    np.savez(path, images=np.zeros((4, 3, 2)), y=np.arange(4), name=np.array(list("abcd")),
             flag=np.array([True, False, True, True]))
    table = read_npz(path)
    assert table.n_rows == 4
    assert table.columns["images"].shape == (4, 3, 2)
    assert table.kinds == {"images": "numeric", "y": "numeric", "name": "label",
                           "flag": "numeric"}
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
