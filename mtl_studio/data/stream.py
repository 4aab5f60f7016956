"""Data larger than memory: a CSV or NPZ file prepared into row files.

prepare() (data/prepare.py) reads a whole table into memory. For a file
that the training setting `data_loading` streams, it calls stream_dataset
instead, which gives the same data set (the same split, statistics, class
ids and values, within float rounding) with the rows on disk:

1. One pass over the file in blocks (the CSV block reader of table.py, or
   the NPZ members read in parts): each block is a small Table that goes
   through prepare()'s own column gathering and checks (so a bad cell far
   down the file is named with its row and column, as in memory), and its
   inputs and targets are appended to raw float64 files in file order. The
   values of a class target are kept as codes of the distinct values seen.
2. The row count gives the split (splits.split_rows, the same seed gives
   the same rows); the distinct values of a class column, put through
   prepare()'s target rule as one small table, give the class ids (the ids
   of np.unique over the distinct values are those over the whole column).
3. A pass over the raw files collects the training rows' mean and std, and
   a last one writes each split's rows, scaled by prepare()'s formula and
   in its dtypes (float32 / int32), to one file of fixed-size records per
   split (all inputs and targets of a row side by side, so a row is one
   read). The raw files are then deleted.

A split's arrays are RowColumn objects: len, shape, dtype, and indexing
with a slice, an int or an array of ints, which reads just those rows with
os.preadv (runs of consecutive rows in one read), so reading never maps
the file and resident memory stays flat. The cache folder is removed as
soon as the row files are open (on Linux and macOS an open file stays
readable after its name is gone); their disk space is freed when they are
closed: release(prepared), garbage collection, or the end of the process.

No TensorFlow here: the Trainer's StreamFeed (training/feed.py) reads the
rows of each compiled call from these files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
import zipfile
from pathlib import Path

import numpy as np

from ..core.project import Project
from ..core.settings import DataSource, TrainingSettings
from ..core.tasks import Task
from ..core.validation import infer_shapes
from .errors import DataError
from .prepare import (
    REGRESSION_LOSSES,
    DataSet,
    PreparedData,
    Split,
    _check_finite,
    _input_array,
    _one_column,
    _target,
    as_trained,
    data_set_label,
    inputs_of,
    scaling,
    source_path,
    split_rows,
    standardized,
)
from .table import BLOCK_BYTES, NUMERIC, Table, _array, _CsvReader, _Restart, _unreadable

__all__ = ["STREAM_BYTES", "RowColumn", "RowFile", "release", "stream_dataset", "streams"]

# data_loading "auto" streams a CSV or NPZ file of at least this size.
# Measured (benchmarks/bench_streaming.py --threshold, 2026-12-02, 2 cores,
# no GPU, docs/benchmarks.md): streaming never quite costs nothing in speed
# here (0.8 of the in-memory steps/s for 4-64 MB files, 0.66 at 256 MB, with
# the machine shared), its preparation is as fast from 16 MB up and faster
# from 64 MB, and it saves the in-memory path's peak of about 3.5 times the
# CSV's size (-55 MB at 64 MB, -720 MB at 256 MB). So below 256 MB a file
# is read whole (a few hundred MB of memory at most, full speed); from
# 256 MB on, where the in-memory peak passes a gigabyte, it streams.
STREAM_BYTES = 256 << 20
# Bytes of file per block of the first pass, and of raw rows per chunk of
# the later passes: what the preparation holds in memory at a time.
STREAM_BLOCK_BYTES = 4 * BLOCK_BYTES
CHUNK_BYTES = 16 << 20
# Rows closer than this are read in one call, the rows between dropped.
GAP_BYTES = 4096
# Where cache folders go (None: the system's temporary folder).
CACHE_PARENT: str | None = None
CACHE_PREFIX = "mtl-stream-"


def streams(source: DataSource, training: TrainingSettings, project_dir) -> bool:
    """Does training read this source through row files? Generators never."""
    if source.kind not in ("csv", "npz") or not source.chosen:
        return False
    loading = getattr(training, "data_loading", "auto")
    if loading == "memory":
        return False
    if loading == "stream":
        return True
    try:
        return source_path(source, project_dir).stat().st_size >= STREAM_BYTES
    except (DataError, OSError):
        return False  # the in-memory path reports the missing file


# --- row files ---------------------------------------------------------------------


class _Cache:
    """A folder for row files: removed once they are open (remove()), or
    else when the last row file that uses it goes, or at exit."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=CACHE_PREFIX, dir=CACHE_PARENT))
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        self._remove()


class RowFile:
    """n records of a structured dtype, read by rows with os.preadv. Reading
    never maps the file, so the run's resident memory stays flat (a memory
    map's pages, and the neighbours the kernel maps with each, count in it:
    a 2 GB file's random rows mapped about 1 GB in 200 steps)."""

    def __init__(self, path: Path, dtype: np.dtype, n: int, cache: _Cache | None = None) -> None:
        self.path, self.dtype, self.n = Path(path), np.dtype(dtype), n
        self.cache = cache  # kept alive while the file is
        self.fd = os.open(self.path, os.O_RDONLY)
        self._close = weakref.finalize(self, os.close, self.fd)
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._close()

    def __len__(self) -> int:
        return self.n

    def _check_open(self) -> None:
        if self._closed:
            raise OSError(f"{self.path}: the row file is closed")

    def read_range(self, start: int, stop: int) -> np.ndarray:
        self._check_open()
        start, stop = max(0, start), min(self.n, stop)
        out = np.empty(max(0, stop - start), self.dtype)
        if len(out):
            self._fill(out, 0, len(out), start)
        return out

    def read(self, rows) -> np.ndarray:
        """The records of `rows` (any ints in range), in that order."""
        self._check_open()
        rows = np.asarray(rows, np.int64).ravel()
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n):
            raise IndexError(f"row index out of range for {self.n} rows")
        if not len(rows):
            return np.empty(0, self.dtype)
        if len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1])):
            wanted, back = rows, None  # sorted and distinct already
        else:
            wanted, back = np.unique(rows, return_inverse=True)
        size = self.dtype.itemsize
        # Runs of nearby rows (gaps of at most GAP_BYTES, read and dropped:
        # cheaper than another call), one read each with os.pread in a list
        # comprehension (the least Python per read), joined in one copy.
        gap = 1 + GAP_BYTES // size
        breaks = np.flatnonzero(np.diff(wanted) > gap) + 1
        starts = np.concatenate([[0], breaks]).astype(np.int64)
        ends = np.concatenate([breaks, [len(wanted)]]).astype(np.int64)
        first, last = wanted[starts], wanted[ends - 1] + 1
        fd, pread = self.fd, os.pread
        data = b"".join(
            [
                pread(fd, length, offset)
                for offset, length in zip((first * size).tolist(), ((last - first) * size).tolist())
            ]
        )
        read = int((last - first).sum())
        if len(data) != read * size:
            raise OSError(f"{self.path}: the cache file is shorter than expected")
        out = np.frombuffer(data, self.dtype)  # read-only: columns copy their fields
        if read != len(wanted):  # drop the rows of the gaps
            base = np.concatenate([[0], np.cumsum(last - first)[:-1]])
            run = np.repeat(np.arange(len(starts)), ends - starts)
            out = out[base[run] + wanted - first[run]]
        return out if back is None else out[back]

    def _fill(self, out: np.ndarray, a: int, b: int, row: int) -> None:
        size = self.dtype.itemsize
        view = memoryview(out.view(np.uint8).reshape(-1))[a * size : b * size]
        offset, done = row * size, 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"{self.path}: the cache file is shorter than expected")
            done += got


class RowColumn:
    """One input or target of a split: an array-like over a RowFile field.
    Indexing reads rows: a slice, an int or an array of ints gives numpy."""

    def __init__(self, file: RowFile, field: str) -> None:
        self.file, self.field = file, field
        base = file.dtype.fields[field][0]
        self.dtype = base.base
        self.shape = (file.n, *base.shape)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.file.n

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.file.n)
            if step == 1:
                out = self.file.read_range(start, stop)[self.field]
            else:
                out = self.file.read(np.arange(start, stop, step))[self.field]
        elif isinstance(key, (int, np.integer)):
            index = int(key) + (self.file.n if key < 0 else 0)
            if not 0 <= index < self.file.n:
                raise IndexError(f"index {key} out of range for {self.file.n} rows")
            out = self.file.read_range(index, index + 1)[self.field][0]
        else:
            key = np.asarray(key)
            if key.dtype == bool:
                key = np.flatnonzero(key)
            out = self.file.read(key)[self.field].reshape(key.shape + self.shape[1:])
        out = np.ascontiguousarray(out)
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype=None, copy=None):
        """The whole column: for small things only (a target's values)."""
        values = self[:]
        return values if dtype is None else values.astype(dtype)

    def __repr__(self) -> str:
        return f"RowColumn({self.file.path.name}:{self.field}, shape={self.shape}, {self.dtype})"


def release(prepared: PreparedData) -> None:
    """Close the row files of a prepared data set (their disk space is
    freed); its streamed splits cannot be read after this."""
    for dataset in prepared.datasets:
        for split in (dataset.train, dataset.val, dataset.test):
            for file in split_files(split):
                file.close()


def split_files(split: Split) -> list[RowFile]:
    """The row files behind a split's columns (none for arrays)."""
    found = []
    for column in [*split.inputs.values(), *split.targets.values()]:
        if isinstance(column, RowColumn) and column.file not in found:
            found.append(column.file)
    return found


# --- reading a file in blocks ----------------------------------------------------


def csv_tables(path: Path, on_block) -> None:
    """Each block of a CSV file as a Table to on_block (table.py's reader:
    the same checks and messages). A column found to hold text after
    earlier blocks had it as numbers starts the read again (on_block sees
    offset 0 again) with that column as text, as the in-memory read does."""
    reader = _CsvReader(path, on_block=on_block)
    reader.block_bytes = STREAM_BLOCK_BYTES
    reader.read()


class _Member:
    """One array of an NPZ archive, read in parts from the zip member."""

    def __init__(self, archive: zipfile.ZipFile, member: str, name: str) -> None:
        self.key = member[: -len(".npy")]
        self.file = archive.open(member)
        fmt = np.lib.format
        try:
            version = fmt.read_magic(self.file)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(self.file)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(self.file)
            else:
                shape, fortran, dtype = fmt._read_array_header(self.file, version)
        except ValueError as exc:
            raise DataError(f"the array cannot be read ({exc})", name, column=self.key) from None
        self.shape, self.dtype = shape, dtype
        if dtype.hasobject:  # _array's message for a pickled array
            self.whole = None
            _array(_Refuse(), self.key, name)
        if not shape:
            _array({self.key: np.zeros(())}, self.key, name)
        # A Fortran-ordered array cannot be read by rows: it is read whole.
        self.whole = None
        if fortran and len(shape) > 1:
            self.whole = np.asfortranarray(
                np.frombuffer(self.file.read(), dtype).reshape(shape[::-1]).T
            )
        self.row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))

    def rows(self, start: int, count: int) -> np.ndarray:
        if self.whole is not None:
            return self.whole[start : start + count]
        data = self.file.read(count * self.row_bytes)
        return np.frombuffer(data, self.dtype).reshape((-1, *self.shape[1:]))


class _Refuse:
    def __getitem__(self, key):
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")


def npz_tables(path: Path, on_block) -> None:
    """Each block of rows of an NPZ archive's arrays as a Table (nothing
    is unpickled; read_npz's checks and messages)."""
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise _unreadable(exc, name) from None
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise DataError("not an NPZ file: save the arrays with numpy.savez", name) from None
    with archive:
        members = [m for m in archive.namelist() if m.endswith(".npy")]
        if len(members) != len(archive.namelist()):
            raise DataError("not an NPZ file: save the arrays with numpy.savez", name)
        if not members:
            raise DataError("the file holds no arrays: save them with numpy.savez", name)
        arrays = [_Member(archive, m, name) for m in members]
        first = arrays[0]
        for a in arrays:
            if a.shape[0] != first.shape[0]:
                raise DataError(
                    f"arrays '{first.key}' ({first.shape[0]} examples) and '{a.key}' "
                    f"({a.shape[0]} examples) differ in length: every array needs one entry "
                    "per example along its first axis",
                    name,
                    column=a.key,
                )
        n = first.shape[0]
        step = max(1, STREAM_BLOCK_BYTES // max(1, sum(a.row_bytes for a in arrays)))
        for start in range(0, n, step):
            count = min(step, n - start)
            columns, kinds = {}, {}
            for a in arrays:
                columns[a.key], kinds[a.key] = _array({a.key: a.rows(start, count)}, a.key, name)
            on_block(Table(columns, kinds, name, None, start))


# --- preparing a data set ----------------------------------------------------------


def _class_path(table: Table, task: Task, shape) -> bool:
    """Is the task's target made of class ids of its one column (the
    targets prepare() maps through np.unique), rather than row by row?"""
    if task.loss == "sparse_categorical_crossentropy":
        return True
    if len(task.target) != 1:
        return False
    if task.loss == "binary_crossentropy":
        return True
    column = table.columns.get(task.target[0])
    return (
        task.loss == "categorical_crossentropy" and column is not None and column.ndim == len(shape)
    )


class _Raw:
    """An array appended block by block to a file, read back in chunks."""

    def __init__(self, path: Path) -> None:
        self.path, self.file = path, open(path, "wb")
        self.dtype: np.dtype | None = None
        self.shape: tuple = ()

    def append(self, values: np.ndarray) -> None:
        if self.dtype is None:
            self.dtype, self.shape = values.dtype, values.shape[1:]
        self.file.write(np.ascontiguousarray(values, self.dtype).tobytes())

    def finish(self, n: int) -> None:
        self.file.close()
        if self.dtype is None:
            self.dtype = np.dtype(np.float64)
        self.n = n
        self.file = open(self.path, "rb")
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.shape, dtype=np.int64))

    def chunk(self, start: int, count: int) -> np.ndarray:
        self.file.seek(start * self.row_bytes)
        data = self.file.read(count * self.row_bytes)
        return np.frombuffer(data, self.dtype).reshape((-1, *self.shape))

    def close(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


class _FirstPass:
    """on_block for the pass over the file: check and keep each block."""

    def __init__(self, project, source, tasks, shapes, classes, name: str, folder: Path) -> None:
        self.project, self.source, self.tasks = project, source, tasks
        self.shapes, self.classes, self.folder = shapes, classes, folder
        self.label, self.source_name = data_set_label(tasks), name
        self.nodes = inputs_of(project, tasks)
        # The columns read; one of them turning to text restarts the read.
        self.used = {c for node in self.nodes for c in source.inputs.get(node.id) or ()}
        self.used |= {c for t in tasks for c in t.target}
        self.raws: dict[str, _Raw] = {}
        self.reset()

    def reset(self) -> None:
        for raw in self.raws.values():
            raw.file.close()
        self.n = 0
        self.kinds: dict[str, str] = {}
        self.class_tasks: set[str] | None = None
        self.raws: dict[str, _Raw] = {}
        self.codes: dict[str, dict] = {}  # class task -> distinct value -> code
        self.distinct: dict[str, list[np.ndarray]] = {}  # the values in code order

    def raw(self, key: str) -> _Raw:
        if key not in self.raws:
            self.raws[key] = _Raw(self.folder / f"raw-{len(self.raws)}.bin")
        return self.raws[key]

    def __call__(self, table: Table) -> None:
        if table.offset == 0 and self.n:
            self.reset()  # the reader starts again, with a column as text
        for column, kind in table.kinds.items():
            if self.kinds.setdefault(column, kind) != kind and column in self.used:
                raise _Restart(column)
        for node in self.nodes:
            self.raw(f"i/{node.name}").append(_input_array(table, self.source, node, self.label))
        if self.class_tasks is None:
            self.class_tasks = {
                t.name for t in self.tasks if _class_path(table, t, self.shapes.get(t.output) or ())
            }
        for task in self.tasks:
            if task.name in self.class_tasks:
                self._codes(table, task)
            else:
                target = _target(self.project, table, task, self.shapes, self.classes)
                self.raw(f"t/{task.name}").append(target)
        self.n += table.n_rows

    def _codes(self, table: Table, task: Task) -> None:
        """Codes of the distinct values of a class column (first seen, first
        code), after prepare()'s checks that look at one value at a time."""
        if len(task.target) != 1:
            _one_column(table, task)  # its message: one column per class target
        name = task.target[0]
        if name not in table.columns:
            _target(self.project, table, task, self.shapes, {})  # the missing column
        values = table.columns[name]
        if table.kinds[name] == NUMERIC:
            _check_finite(table, [name], values)
        found, inverse = np.unique(values, return_inverse=True)
        codes = self.codes.setdefault(task.name, {})
        keys = found.tolist()
        new = [i for i, key in enumerate(keys) if key not in codes]
        for i in new:
            codes[keys[i]] = len(codes)
        if new:
            self.distinct.setdefault(task.name, []).append(found[new])
        lookup = np.array([codes[key] for key in keys], np.int32)
        self.raw(f"c/{task.name}").append(lookup[inverse.reshape(values.shape)])

    def class_targets(self, table_kinds) -> dict[str, np.ndarray]:
        """Task -> the target of each code: prepare()'s rule applied to a
        table of the distinct values (np.unique of the distinct values is
        np.unique of the column, so classes and ids are the same)."""
        out = {}
        for task in self.tasks:
            if task.name not in (self.class_tasks or ()):
                continue
            name = task.target[0]
            values = np.concatenate(self.distinct[task.name])
            table = Table({name: values}, {name: table_kinds[name]}, self.source_name)
            out[task.name] = _target(self.project, table, task, self.shapes, self.classes)
        return out


def stream_dataset(
    project: Project,
    project_dir,
    source: DataSource,
    tasks: list[Task],
    index: int,
    prepared: PreparedData,
    *,
    scale: bool = True,
) -> DataSet:
    """One data set of prepare(), its splits in row files of a cache folder;
    the statistics and classes go into `prepared` as prepare() puts them."""
    path = source_path(source, project_dir)
    label = data_set_label(tasks)
    shapes, _ = infer_shapes(project)
    cache = _Cache()
    first = _FirstPass(project, source, tasks, shapes, prepared.classes, str(path), cache.path)
    try:
        reader = npz_tables if source.kind == "npz" else csv_tables
        try:
            reader(path, first)
        finally:
            for raw in first.raws.values():
                raw.finish(first.n)
        rows = split_rows(first.n, project.training, label, str(path))
        class_targets = first.class_targets(first.kinds)
        dataset = _write_splits(project, source, tasks, first, class_targets, rows, cache, scale)
        # The row files are open: the folder can go now. The files' space
        # is freed when they are closed (release(), garbage collection or
        # the end of the process), so even a killed run leaves nothing behind.
        cache.remove()
        stats = dataset.pop("stats")
        if stats["inputs"]:
            prepared.standardization["inputs"][str(index)] = stats["inputs"]
        prepared.standardization["targets"].update(stats["targets"])
        return DataSet(label, str(path), [t.name for t in tasks], *dataset["splits"])
    except BaseException:
        cache.remove()
        raise
    finally:
        for raw in first.raws.values():
            raw.close()


def _chunks(n: int, row_bytes: int):
    step = max(1, CHUNK_BYTES // max(1, row_bytes))
    for start in range(0, n, step):
        yield start, min(step, n - start)


def _what(field: str) -> str:
    """A record field ("i/NAME" or "t/NAME") as messages name it."""
    kind, name = field.split("/", 1)
    return f"{'Input' if kind == 'i' else 'task'} '{name}'"


def _write_splits(project, source, tasks, first, class_targets, rows, cache, scale) -> dict:
    n = first.n
    which = np.full(n, -1, np.int8)  # the split of each row: 0 train, 1 val, 2 test
    for s, r in enumerate(rows):
        which[r] = s
    raws = first.raws
    row_bytes = sum(raw.row_bytes for raw in raws.values())

    def values(start, count):
        """Raw inputs and targets of a chunk of rows, by field name."""
        out = {}
        for node in first.nodes:
            out[f"i/{node.name}"] = raws[f"i/{node.name}"].chunk(start, count)
        for task in tasks:
            if task.name in class_targets:
                out[f"t/{task.name}"] = class_targets[task.name][
                    raws[f"c/{task.name}"].chunk(start, count)
                ]
            else:
                out[f"t/{task.name}"] = raws[f"t/{task.name}"].chunk(start, count)
        return out

    # Which fields are scaled: prepare()'s choice (float64 inputs; regression targets).
    scaled = []
    if scale and source.standardize_inputs:
        scaled += [
            f"i/{node.name}" for node in first.nodes if raws[f"i/{node.name}"].dtype == np.float64
        ]
    if scale and source.standardize_targets:
        scaled += [f"t/{t.name}" for t in tasks if t.loss in REGRESSION_LOSSES]

    # The training rows' mean and std, as prepare()'s x.mean(axis=0) and
    # x.std(axis=0) (the root of the mean squared deviation), in float64:
    # each chunk's count, mean and sum of squared deviations from its own
    # mean are merged with Chan et al.'s pairwise update, which gives the
    # same mean and std up to float rounding (about 1e-15 relative).
    moments = {f: (0, 0.0, 0.0) for f in scaled}
    if scaled:
        for start, count in _chunks(n, row_bytes):
            train = which[start : start + count] == 0
            if not train.any():
                continue
            got = values(start, count)
            for f in scaled:
                x = got[f][train].astype(np.float64)
                # Huge values overflow to inf here; scaling() then says so.
                with np.errstate(over="ignore", invalid="ignore"):
                    n_b, mean_b = len(x), x.mean(axis=0)
                    m2_b = ((x - mean_b) ** 2).sum(axis=0)
                    n_a, mean_a, m2_a = moments[f]
                    total = n_a + n_b
                    delta = mean_b - mean_a
                    moments[f] = (
                        total,
                        mean_a + delta * (n_b / total),
                        m2_a + m2_b + delta**2 * (n_a * n_b / total),
                    )
    stats = {"inputs": {}, "targets": {}}
    scales = {}
    for f in scaled:
        count, mean, m2 = moments[f]
        kind, name = f.split("/", 1)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.sqrt(np.asarray(m2) / count)
        mean, std = scaling(np.asarray(mean, np.float64), spread, _what(f), first.source_name)
        scales[f] = (mean, std)
        kind, name = f.split("/", 1)
        stats["inputs" if kind == "i" else "targets"][name] = {
            "mean": mean.tolist(),
            "std": std.tolist(),
        }

    # The record of a row: every field in the dtype training takes.
    sample = {f: as_trained(v[:0]) for f, v in values(0, 0).items()} if n else {}
    for f in scaled:
        sample[f] = sample[f].astype(np.float32)
    record = np.dtype([(f, v.dtype, v.shape[1:]) for f, v in sample.items()])
    paths = [cache.path / f"{part}.rows" for part in ("train", "val", "test")]
    outs = [open(p, "wb") for p in paths]
    try:
        for start, count in _chunks(n, row_bytes):
            got = values(start, count)
            for f, (mean, std) in scales.items():
                got[f] = standardized(got[f], mean, std)
            got = {f: as_trained(v, _what(f), first.source_name) for f, v in got.items()}
            part = which[start : start + count]
            for s, out in enumerate(outs):
                mask = part == s
                k = int(mask.sum())
                if not k:
                    continue
                block = np.empty(k, record)
                for f in record.names:
                    block[f] = got[f][mask]
                out.write(block.tobytes())
    finally:
        for out in outs:
            out.close()
    splits = []
    for p, r in zip(paths, rows):
        file = RowFile(p, record, len(r), cache)
        inputs = {f[2:]: RowColumn(file, f) for f in record.names if f.startswith("i/")}
        targets = {f[2:]: RowColumn(file, f) for f in record.names if f.startswith("t/")}
        splits.append(Split(inputs, targets))
    return {"splits": splits, "stats": stats}
