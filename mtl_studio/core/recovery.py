"""Recovery copies of unsaved work (no Qt): what the window's autosave
writes, how copies are named and found, and which are offered back.

A recovery copy is one JSON file: a small header (the project's file, the
time it was made, the id of the process that made it) and the project as
the project file holds it. A saved project's copy lies beside it as
`.NAME.mtl.json.PID.N.recovery` (hidden), an unsaved project's in the
user's data folder as `untitled.PID.N.recovery`; PID is the writing
process and N tells apart the windows of one process, so two windows of one
project never overwrite or delete each other's copies. A copy whose process
still runs belongs to a live window and is never offered. docs/recovery.md
describes the whole.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import atomic
from .fileformat import ProjectError, loads, to_dict
from .project import Project

FORMAT = "mtl-studio-recovery"
VERSION = 1
SUFFIX = ".recovery"
UNSAVED = "untitled"

# How often the window writes a copy while it has unsaved changes; the
# environment variable overrides it (tests make it short).
AUTOSAVE_SECONDS = 30.0
AUTOSAVE_SECONDS_VARIABLE = "MTL_STUDIO_AUTOSAVE_SECONDS"

_tokens = itertools.count(1)


class RecoveryError(Exception):
    pass


def autosave_seconds() -> float:
    """AUTOSAVE_SECONDS, or the environment variable's value when it is a
    positive number."""
    value = os.environ.get(AUTOSAVE_SECONDS_VARIABLE, "")
    try:
        seconds = float(value)
    except ValueError:
        return AUTOSAVE_SECONDS
    return seconds if 0 < seconds < 1e6 else AUTOSAVE_SECONDS


def new_token() -> str:
    """Tells apart the copies of the windows of one process."""
    return str(next(_tokens))


def copy_path(original: Path | None, unsaved_folder: Path, token: str) -> Path:
    """Where this process' copy of a project goes: beside its file, or in
    the unsaved folder for a project never saved."""
    pid = os.getpid()
    if original is None:
        return Path(unsaved_folder) / f"{UNSAVED}.{pid}.{token}{SUFFIX}"
    original = Path(original)
    return original.parent / f".{original.name}.{pid}.{token}{SUFFIX}"


@dataclass
class Copy:
    """A recovery copy on disk, as its header describes it."""

    path: Path
    original: Path | None  # the project's file; None: never saved
    made: float  # seconds since the epoch
    pid: int
    name: str  # the project's name

    @property
    def alive(self) -> bool:
        """Its window's process still runs: the copy is that window's."""
        return atomic.pid_alive(self.pid)

    def older_than_file(self) -> bool:
        """The project's file was saved after the copy was made."""
        if self.original is None:
            return False
        try:
            return self.original.stat().st_mtime > self.made
        except OSError:
            return False


def snapshot(project: Project, original: Path | None) -> str:
    """The text of a copy of `project` (fast: a fraction of a millisecond
    for the bundled examples, so it is made on the GUI thread)."""
    record = {
        "format": FORMAT,
        "version": VERSION,
        "original": os.path.abspath(original) if original is not None else None,
        "made": time.time(),
        "made_text": time.strftime("%Y-%m-%d %H:%M:%S"),
        "pid": os.getpid(),
        "project": to_dict(project),
    }
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise RecoveryError(f"{path}: not a readable recovery copy ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise RecoveryError(f"{path}: not an MTL Studio recovery copy")
    if record.get("version") != VERSION:
        raise RecoveryError(f"{path}: a recovery copy of version {record.get('version')}")
    return record


def read_header(path: Path) -> Copy:
    record = _read_record(path)
    original = record.get("original")
    made, pid = record.get("made"), record.get("pid")
    if not isinstance(made, (int, float)) or not isinstance(pid, int) or isinstance(pid, bool):
        raise RecoveryError(f"{path}: the recovery copy's header is damaged")
    project = record.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return Copy(
        Path(path),
        Path(original) if isinstance(original, str) and original else None,
        float(made),
        pid,
        name if isinstance(name, str) else UNSAVED,
    )


def read_project(copy: Copy) -> Project:
    """The project a copy holds; raises RecoveryError or ProjectError."""
    record = _read_record(copy.path)
    try:
        project = loads(json.dumps(record.get("project")), str(copy.path))
    except ProjectError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise RecoveryError(f"{copy.path}: the recovery copy is damaged ({exc})") from None
    if copy.original is not None:
        project.anchor_data_paths(copy.original.parent)
    return project


def _headers(paths) -> list[Copy]:
    found = []
    for path in paths:
        try:
            found.append(read_header(path))
        except RecoveryError:
            continue  # not ours to judge: left as it is
    return found


def copies_of(original: Path) -> list[Copy]:
    """The recovery copies beside a project file, of every process."""
    original = Path(original)
    pattern = re.compile(rf"^\.{re.escape(original.name)}\.\d+\.\w+{re.escape(SUFFIX)}$")
    try:
        names = [p for p in original.parent.iterdir() if pattern.match(p.name)]
    except OSError:
        return []
    return _headers(names)


def unsaved_copies(folder: Path) -> list[Copy]:
    """The recovery copies of never-saved projects in the user's folder."""
    pattern = re.compile(rf"^{UNSAVED}\.\d+\.\w+{re.escape(SUFFIX)}$")
    try:
        names = [p for p in Path(folder).iterdir() if pattern.match(p.name)]
    except OSError:
        return []
    return _headers(names)


def orphans(copies, newer_than_file: bool = False) -> list[Copy]:
    """The copies to offer: their window is gone (a crash or a kill), and
    (newer_than_file) they were made after the project was last saved;
    newest first, each once."""
    seen, found = set(), []
    for copy in copies:
        key = str(copy.path)
        if key in seen or copy.alive:
            continue
        if newer_than_file and copy.older_than_file():
            continue
        seen.add(key)
        found.append(copy)
    return sorted(found, key=lambda c: c.made, reverse=True)


def remove(path: Path) -> None:
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass  # a folder gone read-only: the copy stays, and is offered again


def write(path: Path, text: str) -> None:
    """Atomically (a temporary file, then a rename): a copy is whole or
    absent, even if the window is killed in the middle of writing it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)


class Writer:
    """Writes and removes copies on one thread of its own, in order, so a
    slow disk never holds up the window and a removal never overtakes the
    write before it."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self.last: Future | None = None

    def _submit(self, fn, *args) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="mtl-recovery")
        self.last = self._pool.submit(fn, *args)
        return self.last

    def write(self, path: Path, text: str) -> Future:
        return self._submit(write, path, text)

    def remove(self, path: Path) -> Future:
        if self._pool is None:
            remove(path)
            future: Future = Future()
            future.set_result(None)
            return future
        return self._submit(remove, path)

    def wait(self) -> None:
        """Until every write and removal asked for is done."""
        if self.last is not None:
            try:
                self.last.result()
            except Exception:  # noqa: BLE001 - the caller reads errors from the futures
                pass

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
