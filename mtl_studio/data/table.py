"""Tables: named columns of examples, read from CSV or NPZ files.

A Table is what every data source becomes (generators make one too), so the
rest of the data layer never cares where the numbers came from.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

NUMERIC = "numeric"
LABEL = "label"  # a column with at least one cell that is not a number

# Rows are counted as a spreadsheet shows them: the header is row 1, so
# example 0 is row 2. Messages then point at the row the user sees.
CSV_FIRST_ROW = 2


@dataclass
class Table:
    columns: dict[str, np.ndarray]  # name -> array; first axis = example
    kinds: dict[str, str]           # name -> NUMERIC or LABEL
    source: str                     # the file path, or "generator NAME"
    # The row number a person sees for example 0 (CSV_FIRST_ROW for CSV);
    # None where examples have no row numbers (NPZ arrays, generators).
    first_row: int | None = None

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def error(self, message: str, column: str | None = None,
              index: int | None = None) -> DataError:
        """A DataError placed at example `index` (0-based) of `column`."""
        row = None
        if index is not None:
            if self.first_row is not None:
                row = index + self.first_row
            else:
                message += f" (example {index + 1})"
        return DataError(message, self.source, row, column)

    def numbers(self, name: str, why: str) -> np.ndarray:
        """The column as float64. A label column fails at its first cell that
        is not a number; `why` says who needs numbers and what to change."""
        values = self.columns[name]
        if self.kinds[name] == NUMERIC:
            return values.astype(np.float64)
        per_row = values.reshape(len(values), -1)
        out = np.empty(per_row.shape)
        for i, cells in enumerate(per_row):
            for j, cell in enumerate(cells):
                number = _number(str(cell))
                if number is None:
                    raise self.error(f"not a number: {str(cell)!r}: {why}", name, i)
                out[i, j] = number
        return out.reshape(values.shape)


def _number(text: str) -> float | None:
    """The cell's value, or None when it is not a finite number ("nan" and
    "inf" count as text: they are almost always a gap in the data)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _unreadable(exc: OSError, name: str) -> DataError:
    return DataError(f"cannot read the file: {exc.strerror or exc}", name)


# --- CSV ----------------------------------------------------------------------

def read_csv(path) -> Table:
    """A comma separated file with a header row; cells are stripped."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _unreadable(exc, name) from None
    if b"\x00" in raw:
        raise DataError("not a CSV text file: it holds binary data (NUL bytes); "
                        "export the table as CSV UTF-8", name)
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # the byte order mark Excel writes
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The line of the first bad byte (the row, unless a cell spans lines).
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError("not UTF-8 text: save the file as CSV UTF-8", name, line) from None
    if not text.strip():
        raise DataError("the file is empty: it needs a header row and one row per example",
                        name)
    records = _records(text, name)
    while records and not any(records[-1]):
        records.pop()  # blank lines at the end are harmless
    header, rows = records[0], records[1:]
    _check_header(header, name)
    if not rows:
        raise DataError("the file has a header but no data rows: add one row per example",
                        name)
    for r, cells in enumerate(rows, start=CSV_FIRST_ROW):
        _check_row(cells, header, name, r)
    columns, kinds = {}, {}
    for j, column in enumerate(header):
        columns[column], kinds[column] = _column([cells[j] for cells in rows])
    return Table(columns, kinds, name, CSV_FIRST_ROW)


def _records(text: str, name: str) -> list[list[str]]:
    records: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline="")):
            records.append([c.strip() for c in cells])
    except csv.Error as exc:
        raise DataError(f"not a CSV text file: {exc}", name, len(records) + 1) from None
    return records


def _check_header(header: list[str], name: str) -> None:
    if len(header) == 1:
        for sep, sep_name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                raise DataError(f"the header is one column separated by {sep_name}: "
                                "save the file comma separated", name, 1)
    seen: dict[str, int] = {}
    for j, column in enumerate(header):
        if not column:
            raise DataError(f"column {j + 1} has no name: give it one in the header row",
                            name, 1)
        if column in seen:
            raise DataError(f"the name is used by columns {seen[column] + 1} and {j + 1}: "
                            "rename one of them", name, 1, column)
        seen[column] = j


def _check_row(cells: list[str], header: list[str], name: str, row: int) -> None:
    if not any(cells):
        raise DataError("the row is empty: delete it", name, row)
    if len(cells) != len(header):
        raise DataError(f"the row has {len(cells)} cells but the header has {len(header)}: "
                        "give every row one cell per column", name, row)
    for column, cell in zip(header, cells):
        if not cell:
            raise DataError("empty cell: fill it in or delete the row", name, row, column)


def _column(cells: list[str]) -> tuple[np.ndarray, str]:
    numbers = [_number(c) for c in cells]
    if any(v is None for v in numbers):
        return np.array(cells, dtype=str), LABEL
    return np.array(numbers, dtype=np.float64), NUMERIC


# --- NPZ ----------------------------------------------------------------------

def read_npz(path) -> Table:
    """The arrays of a numpy .npz archive; nothing is ever unpickled."""
    name = str(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _unreadable(exc, name) from None
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise DataError("not an NPZ file: save the arrays with numpy.savez", name) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("not an NPZ file: it holds one array (a .npy file); "
                        "save named arrays with numpy.savez(path, X=..., y=...)", name)
    columns, kinds = {}, {}
    with archive:
        for key in archive.files:
            columns[key], kinds[key] = _array(archive, key, name)
    if not columns:
        raise DataError("the file holds no arrays: save them with numpy.savez", name)
    first = next(iter(columns))
    for key, values in columns.items():
        if len(values) != len(columns[first]):
            raise DataError(
                f"arrays '{first}' ({len(columns[first])} examples) and '{key}' "
                f"({len(values)} examples) differ in length: every array needs one entry "
                "per example along its first axis", name, column=key)
    return Table(columns, kinds, name)


def _array(archive, key: str, name: str) -> tuple[np.ndarray, str]:
    try:
        values = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError("an array of Python objects is refused (MTL Studio never "
                            "unpickles data): store numbers or strings", name,
                            column=key) from None
        raise DataError(f"the array cannot be read ({exc})", name, column=key) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"the array cannot be read ({exc})", name, column=key) from None
    if values.ndim == 0:
        raise DataError("the array is a single value: it needs one entry per example "
                        "along its first axis", name, column=key)
    if values.dtype.kind == "b":
        values = values.astype(np.int8)  # True/False as 1/0, so arithmetic works
    if values.dtype.kind in "iuf":
        return values, NUMERIC
    if values.dtype.kind in "US":
        try:
            return values.astype(str), LABEL
        except UnicodeDecodeError:
            raise DataError("the byte strings are not ASCII: store them as str",
                            name, column=key) from None
    raise DataError(f"arrays of type {values.dtype} are not supported: store numbers or "
                    "strings", name, column=key)
