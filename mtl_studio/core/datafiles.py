"""The data files a project points to: where they are, and whether they are
still the files the project was saved with.

Paths are kept absolute in memory and written relative to the project file
when they can be (fileformat does both), so a project folder that holds its
data can be moved or shared. Each file's size and SHA-256 are written with
the project; when it opens, `check_files` says which files are missing or
no longer the same, for the window and the command line to report.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .settings import DataSource

# Above this size only the first and last MiBs are hashed (with the size):
# enough to notice a new export of a data set, without reading gigabytes.
FULL_HASH_LIMIT = 512 * 2**20
_PART = 2**20
# (path, size, mtime_ns) -> sha256: a file is hashed once until it changes.
_hashes: dict[tuple[str, int, int], str] = {}


def fingerprint(path: Path) -> dict | None:
    """{"size": bytes, "sha256": hex} of the file, or None if it cannot be
    read or is not a regular file (a folder, a FIFO, a device such as
    /dev/zero: never read, so never read forever)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (str(path), info.st_size, info.st_mtime_ns)
        if key not in _hashes:
            _hashes[key] = _sha256(path, info.st_size)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None
    return {"size": info.st_size, "sha256": _hashes[key]}


def _sha256(path: Path, size: int) -> str:
    """The hash of a regular file of `size` bytes; OSError for anything else.
    It reads at most `size` bytes (plus one block), so a file that grows or
    a special file swapped in behind the path cannot keep it reading."""
    digest = hashlib.sha256()
    # O_NONBLOCK: opening a FIFO put in the file's place does not wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        if size <= FULL_HASH_LIMIT:
            left = size + _PART
            while left > 0:
                block = fh.read(min(_PART, left))
                if not block:
                    break
                digest.update(block)
                left -= len(block)
        else:
            digest.update(fh.read(_PART))
            fh.seek(size - _PART)
            digest.update(fh.read(_PART))
    return digest.hexdigest()


def file_problem(path: Path) -> str:
    """Why `path` is not a data file that can be read ("" when it is one):
    missing, a folder, a FIFO or a device, a name too long or holding a NUL."""
    try:
        info = os.stat(path)
    except ValueError:
        return "the path holds a NUL byte"
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO or a device)"
    return ""


def sources(project) -> list[tuple[str | None, DataSource]]:
    """Every data source with a file, with the task that owns it (None for
    the project's own source)."""
    found = []
    if project.data is not None:
        found.append((None, project.data))
    found += [(t.name, t.data) for t in project.tasks if t.data is not None]
    return [(task, s) for task, s in found if s.kind != "generator" and s.path]


def owner_text(task: str | None) -> str:
    return "the project" if task is None else f"task '{task}'"


def absolute(path: str, folder: Path) -> str:
    if not path or Path(path).is_absolute():
        return path
    return os.path.normpath(Path(folder).absolute() / path)


def relative(path: str, folder: Path) -> str:
    """The path relative to `folder` when the two share a folder below the
    file system's root (a project folder and its data, or sibling folders);
    else absolute, since a path climbing to / moves with nothing."""
    if not path or not Path(path).is_absolute():
        return path
    folder = Path(folder).absolute()
    try:
        common = os.path.commonpath([path, str(folder)])
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive
        return path
    if Path(common) == Path(common).parent:  # only the root in common
        return path
    return Path(rel).as_posix()


@dataclass(frozen=True)
class FileReport:
    task: str | None  # the task whose own source it is; None: the project's
    path: str  # absolute
    state: str  # "missing" or "changed"
    detail: str = ""

    @property
    def message(self) -> str:
        if self.state == "missing" and self.detail:
            return (
                f"the data file of {owner_text(self.task)} cannot be read ({self.detail}): "
                f"{self.path}"
            )
        if self.state == "missing":
            return f"the data file of {owner_text(self.task)} is missing: {self.path}"
        return (
            f"the data file of {owner_text(self.task)} changed since the project was saved "
            f"({self.detail}): {self.path}"
        )


def check_files(project) -> list[FileReport]:
    """Files that are missing, or not the ones the project was saved with.
    Reads every file (hashing it): run it off the GUI thread."""
    reports = []
    for task, source in sources(project):
        path = Path(source.path)
        problem = file_problem(path)
        if problem:
            detail = "" if problem == "missing" else problem
            reports.append(FileReport(task, source.path, "missing", detail))
            continue
        saved = source.fingerprint
        if not saved:
            continue
        now = fingerprint(path)
        if now is None:
            reports.append(FileReport(task, source.path, "missing", "cannot be read"))
        elif now["size"] != saved.get("size"):
            reports.append(
                FileReport(
                    task,
                    source.path,
                    "changed",
                    f"{saved.get('size')} bytes then, {now['size']} now",
                )
            )
        elif now["sha256"] != saved.get("sha256"):
            reports.append(FileReport(task, source.path, "changed", "same size, other contents"))
    return reports
