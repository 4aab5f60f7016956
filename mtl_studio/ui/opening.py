"""Read a project file off the GUI thread.

`read_document(parent, path)` loads and checks the file in a thread of its
own while the GUI thread goes on painting and running its timers. The
user's clicks and keys wait meanwhile, as for any open; a file that takes
longer than SHOW_AFTER_MS brings up a window-modal dialog whose Cancel
leaves the open project as it was. Making the Document (Qt objects) and
drawing it stay on the GUI thread: only the file's reading and checking,
pure core work, moves.

A thread of its own, not Qt's pool: the pool also hashes and reads data
files, which can take minutes, and an open must not queue behind them.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..core.fileformat import ProjectError, load
from .document import Document, check

SHOW_AFTER_MS = 400  # below this an open feels immediate: no dialog flashes by


class _Finished(QObject):
    done = Signal()


def read_document(parent: QWidget | None, path: Path) -> Document | None:
    """The document of the file at `path`, or None when the user cancelled.
    Raises ProjectError for a file that cannot be opened."""
    path = Path(path)
    outcome: dict = {}
    finished = _Finished()
    loop = QEventLoop()
    # Queued: the thread's emit reaches the loop through the GUI thread's queue.
    finished.done.connect(loop.quit, Qt.QueuedConnection)

    def work() -> None:
        try:
            project = load(path)
            outcome["read"] = project, check(project, {}, path.parent)
        except ProjectError as exc:
            outcome["error"] = exc
        except Exception as exc:  # a loader bug still reaches the user as one line
            outcome["error"] = ProjectError(
                "", f"cannot open the file ({type(exc).__name__}: {exc})", str(path)
            )
        finished.done.emit()

    threading.Thread(target=work, name=f"open {path.name}", daemon=True).start()
    patience = QTimer(loop)
    patience.setSingleShot(True)
    patience.timeout.connect(loop.quit)
    patience.start(SHOW_AFTER_MS)
    if not outcome:
        loop.exec(QEventLoop.ExcludeUserInputEvents)
    patience.stop()
    if not outcome and not _wait_with_dialog(parent, path, loop, outcome):
        return None  # the thread ends on its own; what it read is dropped
    if "error" in outcome:
        raise outcome["error"]
    project, checked = outcome["read"]
    return Document(project, path, checked=checked)


def _wait_with_dialog(parent, path: Path, loop: QEventLoop, outcome: dict) -> bool:
    """Wait for the thread with a dialog up; False when cancelled."""
    dialog = QProgressDialog(f"Opening {path.name}...", "Cancel", 0, 0, parent)
    dialog.setWindowTitle("Opening project")
    dialog.setWindowModality(Qt.WindowModal)  # the window takes no edits meanwhile
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.canceled.connect(loop.quit)  # the button, or the dialog closed
    dialog.rejected.connect(loop.quit)  # Escape
    dialog.show()
    if not outcome:
        loop.exec()
    dialog.hide()
    dialog.deleteLater()
    return bool(outcome)
