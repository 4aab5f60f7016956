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
