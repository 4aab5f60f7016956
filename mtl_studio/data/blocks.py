"""Rows of a file in blocks, for prediction on files larger than memory.

Only the named columns are kept, as float64, one block of rows at a time;
a cell that is not a number is named with its row and column, as the table
reader names it (data/table.py).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import DataError
from .table import CSV_FIRST_ROW, _check_header, _check_row, _number, _unreadable

BLOCK_ROWS = 8192


def _missing(wanted: list[str], found: list[str], name: str) -> None:
    for column in wanted:
        if column not in found:
            shown = ", ".join(found[:12]) + (
                f", ... ({len(found)} in all)" if len(found) > 12 else ""
            )
            raise DataError(
                f"missing column (columns: {shown}): the run's model takes it as an input",
                name,
                column=column,
            )


def csv_blocks(
    path: Path,
    columns: list[str],
    block_rows: int | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """(index of the block's first example, column -> values, share of the
    file read) for each block of rows."""
    block_rows = block_rows or BLOCK_ROWS
    name = str(path)
    try:
        size = max(1, Path(path).stat().st_size)
        raw = open(path, "rb")
    except OSError as exc:
        raise _unreadable(exc, name) from None
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        try:
            header = [cell.strip() for cell in next(reader)]
        except StopIteration:
            raise DataError("the file is empty: it needs a header row", name) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"cannot read the file as CSV text: {exc}", name, 1) from None
        _check_header(header, name)
        _missing(columns, header, name)
        where = [header.index(c) for c in columns]
        start, block = 0, []
        try:
            for cells in reader:
                row = start + len(block) + CSV_FIRST_ROW
                if len(cells) != len(header):  # other columns may be empty: they are not read
                    _check_row([c.strip() for c in cells], header, name, row)
                values = []
                for column, j in zip(columns, where):
                    cell = cells[j].strip()
                    value = _number(cell)
                    if value is None:
                        what = f"not a number: {cell!r}" if cell else "empty cell"
                        raise DataError(
                            f"{what}: the run's model takes numbers here", name, row, column
                        )
                    values.append(value)
                block.append(values)
                if len(block) == block_rows:
                    yield start, _columns(block, columns), raw.tell() / size
                    start, block = start + len(block), []
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DataError(
                f"cannot read the file as CSV text: {exc}", name, start + len(block) + CSV_FIRST_ROW
            ) from None
        if block or start == 0:
            yield start, _columns(block, columns), 1.0


def _columns(block: list[list[float]], columns: list[str]) -> dict[str, np.ndarray]:
    values = np.array(block, np.float64).reshape(len(block), len(columns))
    return {c: values[:, j] for j, c in enumerate(columns)}


def npz_blocks(path: Path, columns: list[str], block_rows: int | None = None):
    """The same for an NPZ archive (arrays are read whole: NPZ cannot be
    read in parts, but only the named arrays are loaded)."""
    from .table import read_npz  # noqa: PLC0415

    block_rows = block_rows or BLOCK_ROWS
    table = read_npz(path)
    _missing(columns, list(table.columns), str(path))
    arrays = {c: table.numbers(c, "the run's model takes numbers here") for c in columns}
    n = table.n_rows
    for start in range(0, max(n, 1), block_rows):
        for c in columns:
            bad = ~np.isfinite(arrays[c][start : start + block_rows])
            if bad.any():
                index = start + int(np.argwhere(bad)[0][0])
                raise table.error(
                    "not a finite number: the run's model takes numbers here", c, index
                )
        yield (
            start,
            {c: a[start : start + block_rows] for c, a in arrays.items()},
            min(1.0, (start + block_rows) / max(n, 1)),
        )


def blocks(path: Path, columns: list[str], block_rows: int | None = None):
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return npz_blocks(path, columns, block_rows)
    if suffix == ".csv":
        return csv_blocks(path, columns, block_rows)
    raise DataError(
        "predictions are made from .csv or .npz files: save the data as one of them", str(path)
    )
