"""Reading data sources off the GUI thread, and the preview of what was read.

A SourceRead reads one source in Qt's thread pool (ui/background.py): for a
CSV file, the first rows at once (the preview), then the whole file with
progress, then its profile. Its signals arrive on the GUI thread, at the
document's DataStore (ui/data_store.py). Only the first rows and the
profile are kept: the training run reads the file again itself, so a big
table never sits in the window's memory.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal

from ..core.data_profile import LABEL, DataProfile
from ..core.settings import DataSource
from ..data.errors import DataError
from ..data.prepare import load_source
from ..core.datafiles import fingerprint
from ..data.profile import profile_table
from ..data.table import PREVIEW_ROWS, ReadCancelled, Table, read_csv, read_csv_head, read_npz
from .background import run_in_background


@dataclass
class Loaded:
    """What the DataStore keeps of a source it has read."""

    head: Table  # the first PREVIEW_ROWS examples
    profile: DataProfile


@dataclass
class _Failed:
    message: str


_CANCELLED = object()
# Longest wait (s) for the preview to be shown before the whole file is read.
HEAD_PAUSE = 0.5


def source_path(source: DataSource, project_dir: Path | None) -> Path:
    """The file a source names (the panel stores absolute paths; a relative
    one is read from the project's folder, as training does)."""
    base = Path(project_dir) if project_dir is not None else Path.cwd()
    return Path(os.path.normpath(base / source.path))


_reading: set = set()  # reads under way (SourceRead.start)


class SourceRead(QObject):
    """One read of a data source. Call start(); cancel() stops a file read
    at its next block and ends with `cancelled` (nothing is kept)."""

    # Each signal carries the read itself (its `key` is the source's,
    # core.data_profile.source_key): a cancelled read still ending and a
    # newer read of the same file are told apart by who sent.
    head_ready = Signal(object, object)  # Table: the first rows, before the whole is read
    progress = Signal(object, float)  # share of the file read, 0 to 1
    finished = Signal(object, object)  # Loaded
    failed = Signal(object, str)  # the message, with file, row and column
    cancelled = Signal(object)

    def __init__(self, source: DataSource, key: str, project_dir: Path | None) -> None:
        super().__init__()
        self.source, self.key, self.project_dir = source, key, project_dir
        self._stop = threading.Event()
        # Set once the preview is on screen (see _read; the DataStore).
        self._go_on = threading.Event()
        self.running = False

    def start(self) -> None:
        self.running = True
        # Held until the thread is done: a read whose owner is gone (a
        # closed window) must not be deleted while its thread emits from it.
        _reading.add(self)
        run_in_background(self._work, self._done, self._crashed)

    def cancel(self) -> None:
        self._stop.set()
        self._go_on.set()

    def go_on(self) -> None:
        """The preview is shown: read the rest."""
        self._go_on.set()

    @property
    def is_cancelled(self) -> bool:
        return self._stop.is_set()

    # --- worker thread -------------------------------------------------------------

    def _work(self):
        try:
            return self._read()
        except DataError as exc:
            return _Failed(str(exc))
        except ReadCancelled:
            return _CANCELLED

    def _read(self) -> Loaded:
        source = self.source
        if source.kind == "csv":
            path = source_path(source, self.project_dir)
            head = read_csv_head(path)
            self.head_ready.emit(self, head)
            # Let the preview show before the whole read starts: showing a
            # table is many short Python calls on the GUI thread, each of
            # which would wait for the GIL behind the reading threads.
            self._go_on.wait(HEAD_PAUSE)
            if self._stop.is_set():
                raise ReadCancelled(str(path))
            table = read_csv(path, self._progress)
        elif source.kind == "npz":
            table = read_npz(source_path(source, self.project_dir), self._progress)
        else:
            table = load_source(source, self.project_dir)  # a generator
        profile = profile_table(table)
        if source.kind != "generator":
            # Hash the file now, off the GUI thread: saving the project then
            # finds its fingerprint cached instead of reading the file again.
            fingerprint(source_path(source, self.project_dir))
        return Loaded(table.head(PREVIEW_ROWS), profile)

    def _progress(self, fraction: float) -> bool:
        self.progress.emit(self, fraction)  # queued to the GUI thread
        return not self._stop.is_set()

    # --- GUI thread ----------------------------------------------------------------

    def _done(self, result) -> None:
        self.running = False
        _reading.discard(self)
        if result is _CANCELLED or (self._stop.is_set() and not isinstance(result, _Failed)):
            self.cancelled.emit(self)
        elif isinstance(result, _Failed):
            self.failed.emit(self, result.message)
        else:
            self.finished.emit(self, result)

    def _crashed(self, detail: str) -> None:
        # A bug or an unexpected file, not a DataError: say so in one line,
        # never with a traceback.
        self.running = False
        _reading.discard(self)
        self.failed.emit(self, f"cannot read the data: {detail}")


# --- preview ----------------------------------------------------------------------


def cell_text(value) -> str:
    """One cell as a person reads it: 0.25, 17, red, or [0.1, 0.2, 0.3, …]
    for an example that is an array."""
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        shown = ", ".join(
            cell_text(v) if not isinstance(v, (float, np.floating)) else f"{float(v):.4g}"
            for v in flat[:3]
        )
        return f"[{shown}, …]" if len(flat) > 3 else f"[{shown}]"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


class PreviewModel(QAbstractTableModel):
    """The first rows of a table, read-only. Rows are numbered as a
    spreadsheet shows them for a CSV file (so they match the row in an
    error message), else by example from 1."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.table: Table | None = None
        self.names: list[str] = []

    def set_table(self, table: Table | None) -> None:
        self.beginResetModel()
        self.table = table
        self.names = list(table.columns) if table is not None else []
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() or self.table is None else self.table.n_rows

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.names)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(self.table.columns[self.names[index.column()]][index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            name = self.names[index.column()]
            # Numbers line up on the right; text and arrays read from the left.
            numeric = self.table.kinds[name] != LABEL and self.table.columns[name].ndim == 1
            horizontal = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.names[section] if section < len(self.names) else None
        first = self.table.first_row if self.table and self.table.first_row else 1
        return str(section + first)
