"""Write files atomically: a temporary file in the same folder, then a
rename, so a crash, a full disk or a failed export never leaves half a
file where a good one was.

The one place for this pattern: project files, run records, checkpoints,
.keras models, diagrams and scripts all go through it.

Temporary files are named `.TARGET.PID.XXXXXXXX.tmp` (PID: the process
writing, XXXXXXXX: random), so a process killed in the middle of a write
leaves a file the next write of the same target recognises: `replacing`
first removes the stale temporaries of its own target, those whose process
is gone (or that are older than STALE_SECONDS whatever their process).
docs/recovery.md describes the rule.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# mkstemp makes files private (0600); what we write is meant to be shared
# like any file the user saves, so it gets the usual rw-r--r--.
NEW_FILE_MODE = 0o644

# A temporary file this old is stale even if a process of its id runs (the
# id may have been reused): no single write takes an hour.
STALE_SECONDS = 3600.0


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs (on this machine). Where that
    cannot be told, True: nothing of a live process is ever removed."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    """OpenProcess and GetExitCodeProcess (kernel32): a process that has not
    ended reports STILL_ACTIVE. Where it cannot be asked: True."""
    import ctypes  # noqa: PLC0415 - Windows only

    query_limited_information, still_active = 0x1000, 259
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(query_limited_information, False, pid)
        if not handle:
            # No such process (ERROR_INVALID_PARAMETER, 87), or no right to ask.
            return kernel32.GetLastError() != 87
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == still_active
        finally:
            kernel32.CloseHandle(handle)
    except (AttributeError, OSError):
        return True


def _temporary_pattern(name: str, suffix: str) -> re.Pattern:
    # Today's names carry the pid; the older `.TARGET.XXXXXXXX.tmp` ones
    # do not (group 1 is then None) and go by their age alone.
    return re.compile(rf"^\.{re.escape(name)}\.(?:(\d+)\.)?[A-Za-z0-9_]{{8}}{re.escape(suffix)}$")


def stale_temporaries(
    path: str | os.PathLike, suffix: str = ".tmp", now: float | None = None
) -> list[Path]:
    """The temporary files of `path` left by writes that will never end:
    their process is gone, or they are older than STALE_SECONDS."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    pattern = _temporary_pattern(path.name, suffix)
    now = time.time() if now is None else now
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = match.group(1)
        dead = pid is not None and not pid_alive(int(pid))
        if dead or age > STALE_SECONDS:
            found.append(Path(entry.path))
    return found


def remove_stale(path: str | os.PathLike, suffix: str = ".tmp") -> list[Path]:
    """Remove the stale temporary files of `path` (see stale_temporaries);
    returns those removed. Never raises for a file it cannot remove."""
    removed = []
    for tmp in stale_temporaries(path, suffix):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


@contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to `path`; when the block ends without an
    error the temporary file replaces `path` (keeping the mode of a file it
    replaces), else it is removed and the error goes on. OSError from
    creating the temporary file (a folder that cannot be written) is
    raised before the block runs. Stale temporaries of `path` (a killed
    earlier write) are removed first."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with replacing(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
