"""Tables: named columns of examples, read from CSV or NPZ files.

A Table is what every data source becomes (generators make one too), so the
rest of the data layer never cares where the numbers came from.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

# One definition of the kinds, shared with the profiles validation reads.
from ..core.data_profile import LABEL, NUMERIC
from ..core.wording import counted
from .errors import DataError

__all__ = ["LABEL", "NUMERIC", "ReadCancelled", "Table", "read_csv", "read_csv_head", "read_npz"]

# Rows are counted as a spreadsheet shows them: the header is row 1, so
# example 0 is row 2. Messages then point at the row the user sees.
CSV_FIRST_ROW = 2


@dataclass
class Table:
    columns: dict[str, np.ndarray]  # name -> array; first axis = example
    kinds: dict[str, str]  # name -> NUMERIC or LABEL
    source: str  # the file path, or "generator NAME"
    # The row number a person sees for example 0 (CSV_FIRST_ROW for CSV);
    # None where examples have no row numbers (NPZ arrays, generators).
    first_row: int | None = None
    # The file's index of example 0: nonzero for a block of a file read in
    # parts (data/stream.py), so messages still name the file's row.
    offset: int = 0

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def error(self, message: str, column: str | None = None, index: int | None = None) -> DataError:
        """A DataError placed at example `index` (0-based) of `column`."""
        row = None
        if index is not None:
            index += self.offset
            if self.first_row is not None:
                row = index + self.first_row
            else:
                message += f" (example {index + 1})"
        return DataError(message, self.source, row, column)

    def head(self, rows: int) -> "Table":
        """The first rows, copied so that the whole table can go: what a
        preview keeps."""
        return Table(
            {k: v[:rows].copy() for k, v in self.columns.items()},
            dict(self.kinds),
            self.source,
            self.first_row,
        )

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


def check_regular(path) -> None:
    """A DataError unless `path` names a regular file: a folder, a FIFO or a
    device (/dev/zero) would be read forever or block, a NUL byte cannot
    be a path. Asked before opening (stat never blocks)."""
    name = str(path)
    try:
        mode = os.stat(path).st_mode
    except ValueError:
        raise DataError("the path holds a NUL byte: choose the file again", repr(name)) from None
    except OSError as exc:
        raise _unreadable(exc, name) from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO, a socket or a device"
        raise DataError(f"not a data file but {what}: choose a CSV or NPZ file", name)


# --- CSV ----------------------------------------------------------------------
#
# The file is read in blocks that end at a line break, so memory stays near
# the size of the result and a caller can show progress and cancel. A block
# of plain numbers (the usual large file) is parsed by numpy in one call:
# np.fromstring is four times the speed of the csv module with a Python
# float per cell, and it lets go of the GIL between numbers, so a GUI thread
# stays responsive while a worker reads (it does not run in parallel, so
# one thread reads). Any block with something else in it (text, quotes,
# spaces, a bad row) goes through the csv module cell by cell, which finds
# the exact row and column of a problem. Both give the same table.

BLOCK_BYTES = 1 << 20  # about 7,000 rows of 20 numbers; ~40 ms of parsing
HEAD_BLOCK_BYTES = 1 << 16  # enough for a preview's rows in one read
PREVIEW_ROWS = 100
_BOM = b"\xef\xbb\xbf"  # the byte order mark Excel writes
# The only bytes a block of the fast path may hold: numbers, commas, line ends.
_NUMBER_BYTES = b"0123456789.+-eE,\n\r"
# Whitespace other than line ends: cells then need stripping.
_INNER_SPACE = re.compile(r"[^\S\r\n]")


class ReadCancelled(Exception):
    """The progress callback returned False: the read stopped, nothing is kept."""


def read_csv(path, progress: Callable[[float], object] | None = None) -> Table:
    """A comma separated file with a header row; cells are stripped.

    `progress(fraction)` is called after each block (about every megabyte)
    with the share of the file read so far; when it returns False the read
    stops with ReadCancelled. It may also raise to stop."""
    return _CsvReader(path, progress).read()


def read_csv_head(path, rows: int = PREVIEW_ROWS) -> Table:
    """The header and the first `rows` data rows, with the same checks as
    read_csv on what is read: fast on any file size, for a preview. Kinds
    are those of the rows read (a later row may turn a column into text)."""
    return _CsvReader(path, None, max_rows=rows).read()


class _Restart(Exception):
    """A column read as numbers so far holds text: read again, keeping it as text."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class _CsvReader:
    def __init__(self, path, progress=None, max_rows: int | None = None, on_block=None) -> None:
        self.path = path
        self.name = str(path)
        self.progress = progress
        self.max_rows = max_rows
        self.block_bytes = HEAD_BLOCK_BYTES if max_rows is not None else BLOCK_BYTES
        # on_block(table): each block's rows as a Table (its offset: the
        # index of its first example), handed over instead of kept, so a
        # file larger than memory can be read (data/stream.py). The read
        # then returns None.
        self.on_block = on_block

    def read(self) -> Table:
        # Text columns are rare and usually show in the first block; a column
        # found to hold text later means one more pass, since its earlier
        # cells were kept as numbers and their exact text is gone.
        text_columns: set[str] = set()
        while True:
            try:
                return self._read(text_columns)
            except _Restart as restart:
                text_columns.add(restart.column)

    # --- one pass ---------------------------------------------------------------

    def _read(self, text_columns: set[str]) -> Table:
        check_regular(self.path)
        try:
            file = open(self.path, "rb")
        except OSError as exc:
            raise _unreadable(exc, self.name) from None
        with file:
            try:
                size = os.fstat(file.fileno()).st_size
                return self._parse(_blocks(file, self.block_bytes, self.name), size, text_columns)
            except OSError as exc:
                raise _unreadable(exc, self.name) from None

    def _parse(self, blocks, size: int, text_columns: set[str]) -> Table:
        name = self.name
        first = next(blocks, None)
        if first is None:
            raise DataError(_EMPTY, name)
        header, rest, lines = self._header(first)
        if not any(header):
            if not rest.strip() and not any(b.strip() for b in blocks):
                raise DataError(_EMPTY, name)
            raise DataError("the header row is empty: put the column names in row 1", name, 1)
        _check_header(header, name)
        self.header, self.text_columns = header, text_columns
        self.parts: list[list[np.ndarray]] = [[] for _ in header]
        self.record = CSV_FIRST_ROW  # the record number of the next row
        self.line = 1 + lines  # the line number the next block starts on
        self.pending_blank: int | None = None
        self.n_rows = 0
        self.handed = 0  # rows handed to on_block
        self._rows(rest, len(first), blocks, size)
        if not self.n_rows:
            raise DataError("the file has a header but no data rows: add one row per example", name)
        if self.on_block is not None:
            self._hand_over()
            return None
        columns, kinds = {}, {}
        for column, parts in zip(header, self.parts):
            columns[column] = np.concatenate(parts)
            kinds[column] = LABEL if column in text_columns else NUMERIC
            parts.clear()  # let each block go as soon as its column is copied
        return Table(columns, kinds, name, CSV_FIRST_ROW)

    def _rows(self, rest: bytes, done: int, blocks, size: int) -> None:
        """Take the blocks in file order, reporting progress after each."""
        block = rest
        while True:
            if not self._block(block):
                return  # a head has its rows
            if self.on_block is not None:
                self._hand_over()
            if self.progress is not None and size:
                if self.progress(min(done / size, 1.0)) is False:
                    raise ReadCancelled(self.name)
            block = next(blocks, None)
            if block is None:
                return
            done += len(block)

    def _hand_over(self) -> None:
        """The rows read since the last hand-over, as a Table to on_block."""
        if self.n_rows == self.handed:
            return
        columns = {c: np.concatenate(parts) for c, parts in zip(self.header, self.parts)}
        kinds = {c: LABEL if c in self.text_columns else NUMERIC for c in self.header}
        for parts in self.parts:
            parts.clear()
        table = Table(columns, kinds, self.name, CSV_FIRST_ROW, self.handed)
        self.handed = self.n_rows
        self.on_block(table)

    def _header(self, block: bytes) -> tuple[list[str], bytes, int]:
        """The header's cells, the rest of the block and the lines the header took."""
        end = block.find(b"\n") + 1 or len(block)
        if b'"' not in block[:end]:
            text = self._decode(block[:end], 1)
            try:
                cells = next(csv.reader([text]), [])
            except csv.Error as exc:
                raise DataError(f"not a CSV text file: {exc}", self.name, 1) from None
            return [c.strip() for c in cells], block[end:], 1
        # A quoted name may hold commas or even line breaks: let csv find its end.
        reader = csv.reader(io.StringIO(self._decode(block, 1), newline=""), strict=True)
        try:
            cells = next(reader, [])
        except csv.Error as exc:
            raise _csv_error(exc, self.name, 1) from None
        offset = 0
        for _ in range(reader.line_num):
            offset = block.find(b"\n", offset) + 1 or len(block)
        return [c.strip() for c in cells], block[offset:], reader.line_num

    def _decode(self, block: bytes, line: int) -> str:
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as exc:
            # The line of the first bad byte (the row, unless a cell spans lines).
            line += block[: exc.start].count(b"\n")
            raise DataError("not UTF-8 text: save the file as CSV UTF-8", self.name, line) from None

    def _block(self, block: bytes) -> bool:
        """Add a block's rows; False once a head has all its rows."""
        if not block:
            return True
        # A text column needs the cells' text, not numbers: no fast path then.
        values = None if self.text_columns else _fast_block(block, len(self.header))
        if values is not None:
            if self.pending_blank is not None:
                raise DataError("the row is empty: delete it", self.name, self.pending_blank)
            rows = len(values)
            self.record += rows
            self.line += rows
            self._keep_numbers(values)
        else:
            self._careful_block(block)
        return self.max_rows is None or self.n_rows < self.max_rows

    def _keep_numbers(self, values: np.ndarray) -> None:
        if self.max_rows is not None:
            values = values[: self.max_rows - self.n_rows]
        for j, parts in enumerate(self.parts):
            parts.append(values[:, j])
        self.n_rows += len(values)

    def _careful_block(self, block: bytes) -> None:
        """Cell by cell with the csv module: exact rows and columns in messages."""
        name, header = self.name, self.header
        text = self._decode(block, self.line)
        self.line += block.count(b"\n")
        strip = _INNER_SPACE.search(text) is not None
        rows: list[list[str]] = []
        wanted = None if self.max_rows is None else self.max_rows - self.n_rows
        # strict: a quote that opens and never closes is an error, not a
        # cell that swallows the rest of the file.
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            for cells in reader:
                record = self.record
                self.record += 1
                if strip:
                    cells = [c.strip() for c in cells]
                if not any(cells):
                    if self.pending_blank is None:
                        self.pending_blank = record  # harmless if only blank rows follow
                    continue
                if self.pending_blank is not None:
                    raise DataError("the row is empty: delete it", name, self.pending_blank)
                _check_row(cells, header, name, record)
                rows.append(cells)
                if wanted is not None and len(rows) >= wanted:
                    break
        except csv.Error as exc:
            raise _csv_error(exc, name, self.record) from None
        if not rows:
            return
        for j, cells in enumerate(zip(*rows)):
            self.parts[j].append(self._column(header[j], cells))
        self.n_rows += len(rows)

    def _column(self, column: str, cells) -> np.ndarray:
        if column not in self.text_columns:
            values = _numbers(cells)
            if values is not None:
                return values
            if self.parts[self.header.index(column)]:
                raise _Restart(column)  # earlier blocks kept it as numbers
            self.text_columns.add(column)
        return np.array(cells, dtype=str)


def _csv_error(exc: csv.Error, name: str, row: int) -> DataError:
    if "unexpected end of data" in str(exc):
        return DataError(
            "a quote opens in this row and never closes (the rest of the file would be "
            "one cell): close the quote, or remove it",
            name,
            row,
        )
    return DataError(f"not a CSV text file: {exc}", name, row)


_EMPTY = "the file is empty: it needs a header row and one row per example"


def _blocks(file, size: int, name: str):
    """The file's bytes in pieces that end at a line break outside quotes
    (a quoted cell may hold line breaks), the last one at the end of the file."""
    carry = b""
    carry_quotes = 0  # quotes in carry, for the parity at its line breaks
    first = True
    old_mac = False  # lines end in "\r" alone (classic Mac OS): read as "\n"
    while True:
        data = file.read(size)
        if first:
            data, first = data.removeprefix(_BOM), False
            old_mac = b"\r" in data and b"\n" not in data
        if old_mac:
            data = data.replace(b"\r", b"\n")
        if b"\x00" in data:
            raise DataError(
                "not a CSV text file: it holds binary data (NUL bytes); "
                "export the table as CSV UTF-8",
                name,
            )
        if not data:
            if carry:
                yield carry
            return
        start = len(carry)
        data, quotes = carry + data, carry_quotes + data.count(b'"')
        # The last line break with an even number of quotes before it; the
        # breaks inside the old carry were tried before and had an odd one.
        cut = data.rfind(b"\n", start) + 1
        before = quotes - data.count(b'"', cut) if cut else quotes
        while cut and before % 2:
            previous = data.rfind(b"\n", start, cut - 1) + 1
            before -= data.count(b'"', previous or start, cut)
            cut = previous
        if cut:
            yield data[:cut]
            carry, carry_quotes = data[cut:], quotes - before
        else:
            carry, carry_quotes = data, quotes


def _fast_block(block: bytes, n_columns: int) -> np.ndarray | None:
    """A block of plain numbers as (rows, n_columns) float64, or None when
    any byte, row or cell needs the careful path (which then finds the
    exact problem, or text)."""
    if block.translate(None, _NUMBER_BYTES):
        return None  # letters, quotes, spaces, non-ASCII
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n")
        if b"\r" in block:
            return None
    if not block.endswith(b"\n"):
        block += b"\n"
    if (
        block.startswith((b"\n", b","))
        or b"\n\n" in block
        or b",," in block
        or b",\n" in block
        or b"\n," in block
    ):
        return None  # blank rows or empty cells
    raw = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    commas_per_row = np.diff(np.searchsorted(np.flatnonzero(raw == ord(",")), ends), prepend=0)
    if (commas_per_row != n_columns - 1).any():
        return None  # a ragged row
    try:
        # A malformed token ("1.2.3") stops the parse early: numpy raises or
        # warns, and the count below tells.
        values = np.fromstring(block[:-1].replace(b"\n", b","), sep=",")
    except ValueError:
        return None
    if values.size != len(ends) * n_columns or not np.isfinite(values).all():
        return None  # nan and inf count as text, as in _number
    return values.reshape(len(ends), n_columns)


def _numbers(cells) -> np.ndarray | None:
    """The cells as float64, or None if one is not a finite number."""
    try:
        values = np.fromiter(map(float, cells), np.float64, len(cells))
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _check_header(header: list[str], name: str) -> None:
    if len(header) == 1:
        for sep, sep_name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                raise DataError(
                    f"the header is one column separated by {sep_name}: "
                    "save the file comma separated",
                    name,
                    1,
                )
    seen: dict[str, int] = {}
    for j, column in enumerate(header):
        if not column:
            raise DataError(f"column {j + 1} has no name: give it one in the header row", name, 1)
        if column in seen:
            raise DataError(
                f"the name is used by columns {seen[column] + 1} and {j + 1}: rename one of them",
                name,
                1,
                column,
            )
        seen[column] = j


def _check_row(cells: list[str], header: list[str], name: str, row: int) -> None:
    if not any(cells):
        raise DataError("the row is empty: delete it", name, row)
    if len(cells) != len(header):
        raise DataError(
            f"the row has {counted(len(cells), 'cell')} but the header has {len(header)}: "
            "give every row one cell per column",
            name,
            row,
        )
    for column, cell in zip(header, cells):
        if not cell:
            raise DataError("empty cell: fill it in or delete the row", name, row, column)


# --- NPZ ----------------------------------------------------------------------


# What a damaged NPZ archive raises from zipfile, zlib and numpy's header
# parsing (a fuzz test found each): the file is damaged, not our bug.
_DAMAGED = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    OverflowError,
    RuntimeError,  # "encrypted, password required"
    NotImplementedError,  # an unknown compression method
    SyntaxError,  # a header numpy cannot parse
    tokenize.TokenError,  # a version-1 header cut short (numpy tokenizes it)
    UnicodeDecodeError,
    zipfile.BadZipFile,
    zlib.error,
)


def read_npz(path, progress: Callable[[float], object] | None = None) -> Table:
    """The arrays of a numpy .npz archive; nothing is ever unpickled.
    `progress` as for read_csv, called after each array."""
    name = str(path)
    check_regular(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _unreadable(exc, name) from None
    except _DAMAGED:
        raise DataError("not an NPZ file: save the arrays with numpy.savez", name) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            "not an NPZ file: it holds one array (a .npy file); "
            "save named arrays with numpy.savez(path, X=..., y=...)",
            name,
        )
    columns, kinds = {}, {}
    with archive:
        for i, key in enumerate(archive.files, start=1):
            columns[key], kinds[key] = _array(archive, key, name)
            if progress is not None and progress(i / len(archive.files)) is False:
                raise ReadCancelled(name)
    if not columns:
        raise DataError("the file holds no arrays: save them with numpy.savez", name)
    first = next(iter(columns))
    for key, values in columns.items():
        if len(values) != len(columns[first]):
            raise DataError(
                f"arrays '{first}' ({len(columns[first])} examples) and '{key}' "
                f"({len(values)} examples) differ in length: every array needs one entry "
                "per example along its first axis",
                name,
                column=key,
            )
    return Table(columns, kinds, name)


def _array(archive, key: str, name: str) -> tuple[np.ndarray, str]:
    try:
        values = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                "an array of Python objects is refused (MTL Studio never "
                "unpickles data): store numbers or strings",
                name,
                column=key,
            ) from None
        raise DataError(f"the array cannot be read ({exc})", name, column=key) from None
    except _DAMAGED as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(
            f"the array cannot be read, the file is damaged ({detail})", name, column=key
        ) from None
    except MemoryError:
        raise DataError(
            "the array is larger than this machine's memory: store fewer examples per "
            "file, or use a CSV file (large files are streamed)",
            name,
            column=key,
        ) from None
    if values.ndim == 0:
        raise DataError(
            "the array is a single value: it needs one entry per example along its first axis",
            name,
            column=key,
        )
    if values.dtype.kind == "b":
        values = values.astype(np.int8)  # True/False as 1/0, so arithmetic works
    if values.dtype.kind in "iuf":
        return values, NUMERIC
    if values.dtype.kind in "US":
        try:
            return values.astype(str), LABEL
        except UnicodeDecodeError:
            raise DataError(
                "the byte strings are not ASCII: store them as str", name, column=key
            ) from None
    raise DataError(
        f"arrays of type {values.dtype} are not supported: store numbers or strings",
        name,
        column=key,
    )
