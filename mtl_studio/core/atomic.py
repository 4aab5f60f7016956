"""Write files atomically: a temporary file in the same folder, then a
rename, so a crash, a full disk or a failed export never leaves half a
file where a good one was.

The one place for this pattern: project files, run records, checkpoints,
.keras models, diagrams and scripts all go through it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# mkstemp makes files private (0600); what we write is meant to be shared
# like any file the user saves, so it gets the usual rw-r--r--.
NEW_FILE_MODE = 0o644


@contextmanager
def replacing(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to `path`; when the block ends without an
    error the temporary file replaces `path` (keeping the mode of a file it
    replaces), else it is removed and the error goes on. OSError from
    creating the temporary file (a folder that cannot be written) is
    raised before the block runs."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
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
