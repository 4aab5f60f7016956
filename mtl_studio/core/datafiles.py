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
    """{"size": bytes, "sha256": hex} of the file, or None if it cannot be read."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _hashes:
            _hashes[key] = _sha256(path, stat.st_size)
    except OSError:
        return None
    return {"size": stat.st_size, "sha256": _hashes[key]}


def _sha256(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if size <= FULL_HASH_LIMIT:
            for block in iter(lambda: fh.read(_PART), b""):
                digest.update(block)
        else:
            digest.update(fh.read(_PART))
            fh.seek(size - _PART)
            digest.update(fh.read(_PART))
    return digest.hexdigest()


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
        if not path.is_file():
            reports.append(FileReport(task, source.path, "missing"))
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
