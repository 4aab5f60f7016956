"""The problems list: every validation problem, errors first, each leading
to its place (a node on the canvas, a task's Output, the data)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..core.validation import ERROR, Problem
from ..core.wording import counted
from .document import Document
from .widgets import DocumentView

_PLACE_ROLE = Qt.ItemDataRole.UserRole


def summary(problems: list[Problem]) -> str:
    """ "2 errors, 1 warning", or "No problems"."""
    if not problems:
        return "No problems"
    n_errors = sum(p.severity == ERROR for p in problems)
    n_warnings = len(problems) - n_errors
    parts = [counted(n, word) for n, word in ((n_errors, "error"), (n_warnings, "warning")) if n]
    return ", ".join(parts)


class ProblemsPanel(DocumentView):
    # A node problem was chosen: the window centres the canvas on the node.
    node_activated = Signal(str)
    # A task problem was chosen (its Output, if any, is selected too).
    task_activated = Signal(str)
    # A data problem was chosen: the task whose own data set it is, or ""
    # for the project's data. The window shows the Data panel.
    data_activated = Signal(str)

    follows = (("problems_changed", "refresh"),)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary_label = QLabel(self)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Severity", "Place", "Message"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._go_to)
        self.tree.itemActivated.connect(self._go_to)
        self.set_document(document)

    def refresh(self) -> None:
        problems = self.document.problems
        self.summary_label.setText(summary(problems))
        self.tree.clear()
        icons = {
            ERROR: self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        # sorted() is stable: within a severity, validation's own order stays.
        for problem in sorted(problems, key=lambda p: p.severity != ERROR):
            item = QTreeWidgetItem(
                self.tree, [problem.severity.capitalize(), str(problem.place), problem.message]
            )
            item.setIcon(0, icons.get(problem.severity, icons["warning"]))
            item.setToolTip(2, problem.message)
            item.setData(0, _PLACE_ROLE, (problem.place.kind, problem.place.id))
        self.tree.resizeColumnToContents(0)
        self.tree.resizeColumnToContents(1)

    def _go_to(self, item: QTreeWidgetItem) -> None:
        kind, place_id = item.data(0, _PLACE_ROLE)
        project = self.document.project
        if kind == "node" and place_id in project.nodes:
            self.document.set_selection([place_id])
            self.node_activated.emit(place_id)
        elif kind == "task" and any(t.name == place_id for t in project.tasks):
            output = project.task(place_id).output
            if output in project.nodes:
                self.document.set_selection([output])
            self.task_activated.emit(place_id)
        elif kind == "data":
            self.data_activated.emit(place_id)
