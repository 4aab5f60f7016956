import pytest

from mtl_studio.data import DataError


def test_str_names_file_row_and_column():
    err = DataError("not a number: 'abc'", "energy.csv", 12, "wall_area")
    assert str(err) == "energy.csv: row 12, column 'wall_area': not a number: 'abc'"
    assert (err.file, err.row, err.column, err.message) == (
        "energy.csv",
        12,
        "wall_area",
        "not a number: 'abc'",
    )


def test_str_leaves_out_unknown_parts():
    assert (
        str(DataError("missing column", "energy.csv", column="x"))
        == "energy.csv: column 'x': missing column"
    )
    assert str(DataError("the file is empty", "energy.csv")) == "energy.csv: the file is empty"
    assert str(DataError("bad row", row=3)) == "row 3: bad row"
    assert str(DataError("just the message")) == "just the message"


@pytest.mark.parametrize("reader", ["csv", "npz"])
def test_a_data_path_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, reader):
    """A folder, a FIFO or a device is never read (a FIFO would block, /dev/zero
    never end); a NUL byte cannot name a file."""
    import os

    from mtl_studio.data.table import read_csv, read_npz

    read = {"csv": read_csv, "npz": read_npz}[reader]
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path, said in (
        (tmp_path, "not a data file but a folder"),
        (fifo, "not a data file but a FIFO, a socket or a device"),
        ("/dev/zero", "not a data file but a FIFO, a socket or a device"),
        (f"{tmp_path}/a\0b.csv", "the path holds a NUL byte"),
        (tmp_path / ("x" * 300 + ".csv"), "cannot read the file: File name too long"),
    ):
        with pytest.raises(DataError, match=said):
            read(path)
