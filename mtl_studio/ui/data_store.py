"""What the open project's data sources hold, read off the GUI thread.

The Document owns one DataStore, so the graph is checked against its data
whether or not a Data panel exists (no window, a closed dock). The store
reads each source the project uses (ui/data_loader.py: the first rows, then
the whole with progress, then the profile), keeps the first rows and the
profile of each (never the whole table) with the file's stamp when it was
read, and gives the document each profile; validation checks the graph
against them (core/data_checks.py).

A source already read is not read again while its file is unchanged (same
size and modification time); a file changed on disk is read again the next
time the project's sources are looked at (an edit of the data, an undo).
The Data panel shows what is here, asks for reads the user chooses (a
file, Reload, Cancel) and listens to the signals below.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.data_profile import source_key
from ..core.events import Event
from ..core.settings import DataSource
from .data_loader import Loaded, SourceRead, source_path
from .signals import connect_all

if TYPE_CHECKING:
    from .document import Document

# Sources read and kept (first rows and profile); older ones not in use are
# read again if they come back (undo after many generator edits).
KEPT_SOURCES = 16
# Time given to paint the first rows before a file is read whole (the read
# waits for it: see SourceRead._read).
PAINT_MS = 30

# A file's state when read: (size, modification time in ns), None for a
# generator or a file that cannot be looked at. The same key as the hash
# cache of core/datafiles.py uses, and as cheap: one stat.
Stamp = tuple[int, int] | None


class DataStore(QObject):
    # Each signal carries the source's key (core.data_profile.source_key).
    started = Signal(str)  # a read began
    preview_ready = Signal(str, object)  # Table: the first rows of a file still being read
    progress = Signal(str, float)  # share of the file read, 0 to 1
    profile_ready = Signal(str, object)  # Loaded: read whole; the document has its profile
    failed = Signal(str, str)  # the message, with file, row and column
    cancelled = Signal(str)

    def __init__(self, document: "Document") -> None:
        super().__init__(document)
        self.document = document
        self._loaded: dict[str, tuple[Stamp, Loaded]] = {}  # oldest first
        self._failures: dict[str, tuple[Stamp, str]] = {}
        self._reads: dict[str, tuple[Stamp, SourceRead]] = {}
        self._heads: dict = {}  # the first rows of reads under way
        self._closed = False
        # For tests and benchmarks: how many reads were started.
        self.reads_started = 0

    # --- what is known -------------------------------------------------------------

    def key(self, source: DataSource) -> str:
        return source_key(source, self.document.project_dir)

    def loaded(self, key: str) -> Loaded | None:
        entry = self._loaded.get(key)
        return entry[1] if entry is not None else None

    def head(self, key: str):
        """The first rows of a read under way (None once it ends)."""
        return self._heads.get(key)

    def failure(self, key: str) -> str:
        """Why the source could not be read ("" when it could, or was not tried)."""
        entry = self._failures.get(key)
        return entry[1] if entry is not None else ""

    def is_reading(self, key: str) -> bool:
        """A read of the source is under way (and was not cancelled)."""
        entry = self._reads.get(key)
        return entry is not None and not entry[1].is_cancelled

    # --- asking for reads ----------------------------------------------------------

    def read_project(self) -> None:
        """Read each source the project uses that was not read, or whose
        file changed since; give the document the profiles already read."""
        for source in self._project_sources():
            self.read(source)

    def read(self, source: DataSource, fresh: bool = False) -> str:
        """Make sure the source is read; returns its key. fresh: read it again
        even if it looks unchanged (the user chose it, or Reload), else
        what was read of the same file is used. A read under way will do:
        one read per file at a time."""
        key = self.key(source)
        if self._closed or not source.chosen or self.is_reading(key):
            return key
        stamp = self._stamp(source)
        if not fresh:
            entry = self._loaded.get(key)
            if entry is not None and entry[0] == stamp:
                self._give(key, entry[1])
                return key
            failure = self._failures.get(key)
            if failure is not None and failure[0] == stamp:
                return key  # the same file failed: only Reload tries again
        self._start(source, key, stamp)
        return key

    def cancel(self, key: str) -> None:
        """Stop a read at its next block; it ends with `cancelled`."""
        entry = self._reads.get(key)
        if entry is not None:
            entry[1].cancel()

    def shutdown(self) -> None:
        """Cancel every read (the window is closing)."""
        for _, read in self._reads.values():
            read.cancel()

    def close(self) -> None:
        """Cancel every read and take no more results (the document closes):
        a late result must not reach a document that is gone."""
        self.shutdown()
        self._closed = True
        for _, read in self._reads.values():
            self._watch(read, False)
        self._reads.clear()
        self._heads.clear()

    def follow(self, event: Event) -> None:
        """The project changed (called by the Document before its views
        hear of it, so they see the reads this starts)."""
        if event.type in ("data_changed", "task_added") or (
            event.type == "task_changed" and event["field"] == "data"
        ):
            self.read_project()

    # --- internals ------------------------------------------------------------------

    def _project_sources(self) -> list[DataSource]:
        project = self.document.project
        return [project.data] + [t.data for t in project.tasks if t.data is not None]

    def _stamp(self, source: DataSource) -> Stamp:
        if source.kind == "generator":
            return None  # its key holds all its parameters
        try:
            stat = source_path(source, self.document.project_dir).stat()
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    def _give(self, key: str, loaded: Loaded) -> None:
        if self.document.data_profiles.get(key) is not loaded.profile:
            self.document.set_data_profile(key, loaded.profile)

    def _start(self, source: DataSource, key: str, stamp: Stamp) -> None:
        # What was read of it before is gone: the preview shows the new rows.
        self._loaded.pop(key, None)
        self._failures.pop(key, None)
        self._heads.pop(key, None)
        old = self._reads.get(key)
        if old is not None:  # a cancelled read still ending: its end is not news
            self._watch(old[1], False)
        read = SourceRead(dataclasses.replace(source), key, self.document.project_dir)
        self._watch(read, True)
        self._reads[key] = (stamp, read)
        self.reads_started += 1
        read.start()
        self.started.emit(key)

    def _watch(self, read: SourceRead, on: bool) -> None:
        pairs = (
            (read.head_ready, self._on_head),
            (read.progress, self._on_progress),
            (read.finished, self._on_finished),
            (read.failed, self._on_failed),
            (read.cancelled, self._on_cancelled),
        )
        connect_all(pairs, on)

    def _current(self, read: SourceRead) -> bool:
        entry = self._reads.get(read.key)
        return not self._closed and entry is not None and entry[1] is read

    def _end(self, read: SourceRead) -> Stamp:
        stamp, _ = self._reads.pop(read.key)
        self._heads.pop(read.key, None)
        return stamp

    def _on_head(self, read: SourceRead, head) -> None:
        if not self._current(read) or read.is_cancelled:
            return
        self._heads[read.key] = head
        self.preview_ready.emit(read.key, head)
        # After the paint that shows the rows: the rest is read then.
        QTimer.singleShot(PAINT_MS, read.go_on)

    def _on_progress(self, read: SourceRead, fraction: float) -> None:
        if self._current(read):
            self.progress.emit(read.key, fraction)

    def _on_finished(self, read: SourceRead, loaded: Loaded) -> None:
        if not self._current(read):
            return
        stamp = self._end(read)
        self._loaded[read.key] = (stamp, loaded)  # the newest last, for _forget_old
        self._forget_old()
        self.document.set_data_profile(read.key, loaded.profile)
        self.profile_ready.emit(read.key, loaded)

    def _on_failed(self, read: SourceRead, message: str) -> None:
        if not self._current(read):
            return
        self._failures[read.key] = (self._end(read), message)
        self.failed.emit(read.key, message)

    def _on_cancelled(self, read: SourceRead) -> None:
        if not self._current(read):
            return
        self._failures[read.key] = (
            self._end(read),
            "The read was cancelled: press Reload to read the file.",
        )
        self.cancelled.emit(read.key)

    def _forget_old(self) -> None:
        in_use = {self.key(s) for s in self._project_sources()}
        for key in list(self._loaded):
            if len(self._loaded) <= KEPT_SOURCES:
                break
            if key not in in_use:
                del self._loaded[key]
