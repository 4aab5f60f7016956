"""Rows in blocks for prediction: the named columns only, every bad cell
named with its row and column."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.data import DataError
from mtl_studio.data.blocks import blocks


def test_blocks_keep_order_and_only_the_named_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i * 2},x{i}\n" for i in range(10)))
    got = list(blocks(path, ["b", "a"], block_rows=4))
    assert [start for start, _, _ in got] == [0, 4, 8]
    assert np.concatenate([c["a"] for _, c, _ in got]).tolist() == list(range(10))
    assert np.concatenate([c["b"] for _, c, _ in got]).tolist() == [2 * i for i in range(10)]
    assert got[-1][2] == 1.0 and all(set(c) == {"a", "b"} for _, c, _ in got)


def test_a_missing_column_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError) as info:
        list(blocks(path, ["a", "zz"]))
    assert info.value.column == "zz" and "columns: a, b" in str(info.value)


def test_npz_and_other_suffixes(tmp_path):
    np.savez(tmp_path / "d.npz", a=np.arange(5.0), b=np.ones((5, 2)))
    ((start, cols, share),) = blocks(tmp_path / "d.npz", ["a"])
    assert cols["a"].tolist() == [0, 1, 2, 3, 4] and share == 1.0
    with pytest.raises(DataError, match=".csv or .npz"):
        blocks(tmp_path / "d.xlsx", ["a"])


cells = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["", "nan", "inf", "x", "1,5", '"3"', " 7 ", "1e400"]),
)


@settings(max_examples=80, deadline=None)
@given(
    grid=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=12),
    block_rows=st.integers(1, 5),
)
def test_any_grid_gives_its_numbers_or_the_first_bad_cell(tmp_path_factory, grid, block_rows):
    path = tmp_path_factory.mktemp("g") / "g.csv"
    lines = ["p,q,r"] + [",".join(row) for row in grid]
    path.write_text("\n".join(lines) + "\n")
    try:
        got = list(blocks(path, ["p", "r"], block_rows=block_rows))
    except DataError as exc:
        assert exc.row is not None and 2 <= exc.row <= len(grid) + 1
        assert str(exc).startswith(str(path))
        return
    values = np.concatenate([c["r"] for _, c, _ in got])
    assert len(values) == len(grid)
    assert np.isfinite(values).all()
