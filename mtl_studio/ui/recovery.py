"""Autosave and recovery in the window: a recovery copy of the project is
written every AUTOSAVE_SECONDS while it has unsaved changes, removed on
save, on undo back to the saved state and on a clean close; the next start
after a crash or a kill offers to restore it, discard it or keep it for
later. core/recovery.py names, writes and finds the copies;
docs/recovery.md describes the whole.

The question goes through `ask` (tests replace it, as data_files.ask).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer
from PySide6.QtWidgets import QMessageBox

from ..core import recovery as core
from ..core.fileformat import ProjectError
from .document import Document

RESTORE, DISCARD, LATER = "restore", "discard", "later"
# Where the copies of never-saved projects go, instead of the user's data
# folder (tests, or a user who wants them elsewhere).
FOLDER_VARIABLE = "MTL_STUDIO_RECOVERY_DIR"


def recovery_folder() -> Path:
    """The folder of the copies of never-saved projects."""
    chosen = os.environ.get(FOLDER_VARIABLE)
    if chosen:
        return Path(chosen)
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(base or Path.home() / ".mtl-studio") / "recovery"


class Autosave(QObject):
    """The window's autosave: follows its document, writes a copy at each
    tick when the project changed since the last copy and is unsaved."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.document: Document | None = None
        self.token = core.new_token()
        self.writer = core.Writer()
        self.written: Path | None = None  # this window's copy on disk
        self._changed = False  # edits since the last copy
        self._error_shown = False
        self._pending = None  # the last write's future
        self.timer = QTimer(self)
        self.timer.setInterval(int(core.autosave_seconds() * 1000))
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def follow(self, document: Document) -> None:
        """A new document in the window: the old one's copy goes (its
        changes were saved or discarded when the user was asked)."""
        if self.document is not None:
            try:
                self.document.history_changed.disconnect(self._history_changed)
            except (RuntimeError, TypeError):
                pass
        self.remove()
        self.document = document
        self._changed = document.is_modified
        document.history_changed.connect(self._history_changed)

    def _history_changed(self) -> None:
        self._changed = True
        if self.document is not None and not self.document.is_modified:
            self.remove()  # saved, or undone back to the saved state
            self._changed = False

    def path(self) -> Path:
        return core.copy_path(self.document.path, recovery_folder(), self.token)

    def tick(self) -> None:
        """Write a copy if there are edits since the last one."""
        self._report_error()
        document = self.document
        if document is None or not document.is_modified or not self._changed:
            return
        try:
            text = core.snapshot(document.project, document.path)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            self._show_error(f"cannot make a recovery copy: {exc}")
            return
        target = self.path()
        if self.written is not None and self.written != target:
            self.writer.remove(self.written)  # the project moved (Save As)
        self._pending = self.writer.write(target, text)
        self.written = target
        self._changed = False

    def save_now(self) -> None:
        self._changed = True
        self.tick()

    def remove(self) -> None:
        if self.written is not None:
            self.writer.remove(self.written)
            self.written = None

    def stop(self) -> None:
        """A clean close: no more copies, and this window's goes."""
        self.timer.stop()
        self.remove()
        self.writer.close()
        self.document = None

    def _report_error(self) -> None:
        future, self._pending = self._pending, None
        if future is None:
            return
        if not future.done():
            self._pending = future
            return
        exc = future.exception()
        if exc is not None:
            self.written = None
            self._show_error(f"cannot write the recovery copy: {exc}")

    def _show_error(self, text: str) -> None:
        if not self._error_shown:  # once: it would say the same every tick
            self._error_shown = True
            self.window.show_notice(text[:1].upper() + text[1:], None)


def when(copy: core.Copy) -> str:
    made = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(copy.made))
    minutes = max(0, int(time.time() - copy.made) // 60)
    if minutes < 1:
        ago = "less than a minute ago"
    elif minutes < 120:
        ago = f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    else:
        ago = f"{minutes // 60} hours ago"
    return f"{made} ({ago})"


def question(copy: core.Copy) -> str:
    what = str(copy.original) if copy.original else f"the unsaved project '{copy.name}'"
    text = (
        f"A window closed without saving its changes to {what}. "
        f"A recovery copy of them was made {when(copy)}."
    )
    if copy.older_than_file():
        text += " The project's file was saved after that."
    return (
        text + "\n\nRestore opens the copy as unsaved changes; Discard deletes it; "
        "Later keeps it and asks again at the next start."
    )


def ask(parent, copy: core.Copy) -> str:
    """RESTORE, DISCARD or LATER, from the user."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Question)
    box.setWindowTitle("Recover unsaved changes")
    box.setText(question(copy))
    restore = box.addButton("Restore", QMessageBox.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.DestructiveRole)
    later = box.addButton("Later", QMessageBox.RejectRole)
    box.setDefaultButton(restore)
    box.setEscapeButton(later)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    if clicked is restore:
        return RESTORE
    if clicked is discard:
        return DISCARD
    return LATER


def offer(window, copies: list[core.Copy]) -> bool:
    """Ask about each copy, newest first, until one is restored (the rest
    then stay for later); returns whether one was."""
    for copy in copies:
        choice = ask(window, copy)
        if choice == DISCARD:
            core.remove(copy.path)
        elif choice == RESTORE and restore(window, copy):
            return True
    return False


def restore(window, copy: core.Copy) -> bool:
    """Open the copy as an unsaved, modified document of its project's file.
    The window's own copy of it is written before the old one goes."""
    try:
        project = core.read_project(copy)
    except (core.RecoveryError, ProjectError) as exc:
        QMessageBox.warning(window, "Cannot restore the copy", str(exc))
        return False
    document = Document(project, copy.original)
    # Unsaved: the file holds something else, so it stays modified until
    # the next save.
    document.undo_stack.set_modified()
    window.set_document(document)
    document.history_changed.emit()
    window.autosave.save_now()
    window.autosave.writer.remove(copy.path)  # after the new copy is written
    window.show_notice(f"Restored the changes made until {when(copy)}; save to keep them")
    return True


def copies_at_start(window) -> list[core.Copy]:
    """The orphaned copies of the open project, of the recent projects and
    of never-saved projects."""
    files = [window.document.path] if window.document.path else []
    files += [Path(p) for p in window.recent_files()]
    copies, seen = [], set()
    for path in files:
        key = str(Path(path).resolve())
        if key not in seen:
            seen.add(key)
            copies += core.copies_of(Path(path))
    copies += core.unsaved_copies(recovery_folder())
    return core.orphans(copies)


def offer_at_start(window) -> bool:
    return offer(window, copies_at_start(window))


def offer_on_open(window, path: Path) -> bool:
    """A project just opened: its orphaned copies made after its last save."""
    return offer(window, core.orphans(core.copies_of(Path(path)), newer_than_file=True))
