"""After a project opens: tell the user which of its data files are missing
or changed since it was saved, and let them point to the file.

The check hashes the files, so it runs off the GUI thread; its answer comes
back to the window, which asks about each file in turn. Pointing to a file
is an ordinary edit (one undo step) of the source that named it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.commands import SetData, SetTaskField
from ..core.datafiles import FileReport, check_files
from .background import run_in_background
from .document import Document

FILTERS = {
    "csv": "CSV files (*.csv);;All files (*)",
    "npz": "NumPy archives (*.npz);;All files (*)",
}

LOCATE, KEEP = "locate", "keep"


def check_after_open(parent: QWidget, document: Document) -> None:
    """Check the document's data files in the background; ask about each
    one that is missing or changed once the answer is back (if the document
    is still the window's)."""
    project = document.project.copy()

    def done(reports):
        if getattr(parent, "document", None) is document:
            for report in reports:
                resolve(parent, document, report)

    # A failure to check is not worth a dialog: training reports bad files.
    run_in_background(lambda: check_files(project), done, lambda message: None)


def ask(parent: QWidget, report: FileReport) -> str:
    """LOCATE or KEEP; a separate function so tests can answer for the user."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Warning)
    if report.state == "missing":
        box.setWindowTitle("Data file missing")
        box.setText(report.message[:1].upper() + report.message[1:] + ".")
        box.setInformativeText(
            "Point to where the file is now, or do it later in the Data panel. Training needs it."
        )
        keep_text = "Later"
    else:
        box.setWindowTitle("Data file changed")
        box.setText(report.message[:1].upper() + report.message[1:] + ".")
        box.setInformativeText(
            "Runs will use the file as it is now; saving the project "
            "records it. Or point to the file the project was made with."
        )
        keep_text = "Use It as It Is"
    locate = box.addButton("Locate...", QMessageBox.AcceptRole)
    box.addButton(keep_text, QMessageBox.RejectRole)
    box.exec()
    return LOCATE if box.clickedButton() is locate else KEEP


def choose_file(parent: QWidget, report: FileReport, kind: str) -> str:
    start = str(Path(report.path).parent) if Path(report.path).parent.is_dir() else ""
    path, _ = QFileDialog.getOpenFileName(
        parent, f"Locate {Path(report.path).name}", start, FILTERS.get(kind, "All files (*)")
    )
    return path


def resolve(parent: QWidget, document: Document, report: FileReport) -> None:
    if ask(parent, report) != LOCATE:
        return
    source = _source(document, report)
    if source is None:
        return  # the source was edited meanwhile
    path = choose_file(parent, report, source.kind)
    if path:
        relocate(document, report.task, str(Path(path).absolute()))


def relocate(document: Document, task: str | None, path: str) -> bool:
    """Point the source of `task` (None: the project's) to another file."""
    project = document.project
    source = project.data if task is None else project.task(task).data
    moved = dataclasses.replace(source, path=path, fingerprint=None)
    if task is None:
        return document.push(SetData(moved))
    return document.push(SetTaskField(task, "data", moved))


def _source(document: Document, report: FileReport):
    project = document.project
    if report.task is None:
        source = project.data
    elif any(t.name == report.task for t in project.tasks):
        source = project.task(report.task).data
    else:
        return None
    return source if source is not None and source.path == report.path else None
