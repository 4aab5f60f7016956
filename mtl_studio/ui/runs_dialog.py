"""Run > Open Run...: the runs beside the project, newest first, to show
one again (its curves, Compare runs, Continue from Checkpoint); Browse...
picks any run folder. The list comes from run_history.project_runs; the
folder chosen goes to RunController.open_run."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .run_history import project_runs

COLUMNS = ("Run", "Status", "Epochs", "Best epoch", "Date")
EMPTY = "No runs yet beside this project: train one, or browse for a run folder."
NONE = "\u2013"  # a value the run does not have


def _date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else NONE


class RunsDialog(QDialog):
    """The runs under `root` (a project's runs folder). After exec(),
    `chosen` is the run folder to open, or None."""

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Run")
        self.root = Path(root)
        self.chosen: Path | None = None
        self.runs: list[dict] = []

        self.where = QLabel(f"Runs in {self.root}")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemDoubleClicked.connect(lambda item, column: self._open(item))
        self.tree.currentItemChanged.connect(lambda current, previous: self._update_buttons())
        self.empty = QLabel(EMPTY)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        self.open_button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        self.browse_button = QPushButton("Browse...")
        self.browse_button.setToolTip(
            "Open any run folder (one with history.csv and "
            "summary.json), from this project or another"
        )
        self.buttons.addButton(self.browse_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(lambda: self._open(self.tree.currentItem()))
        self.buttons.rejected.connect(self.reject)
        self.browse_button.clicked.connect(self.browse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.buttons)
        self.resize(720, 420)
        self.fill()

    def fill(self) -> None:
        """The list, newest first; the sentence instead when it is empty."""
        self.runs = project_runs(self.root)
        self.tree.clear()
        for run in self.runs:
            epochs = NONE if run["epochs"] is None else str(run["epochs"])
            best = NONE if run["best_epoch"] is None else str(run["best_epoch"])
            item = QTreeWidgetItem(
                [run["name"], run["status"], epochs, best, _date(run["started"])]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, str(run["path"]))
            tip = str(run["path"]) + (f"\n{run['message']}" if run["message"] else "")
            for column in range(len(COLUMNS)):
                item.setToolTip(column, tip)
            for column in (2, 3):
                item.setTextAlignment(
                    column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            self.tree.addTopLevelItem(item)
        has_runs = bool(self.runs)
        self.tree.setVisible(has_runs)
        self.empty.setVisible(not has_runs)
        if has_runs:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.open_button.setEnabled(self.tree.currentItem() is not None)

    def _open(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        self.chosen = Path(item.data(0, Qt.ItemDataRole.UserRole))
        self.accept()

    def browse(self) -> None:
        start = self.root if self.root.is_dir() else Path.home()
        path = QFileDialog.getExistingDirectory(self, "Open Run Folder", str(start))
        if path:
            self.chosen = Path(path)
            self.accept()


def choose_run(parent: QWidget | None, root: Path) -> Path | None:
    """Ask for a run folder: one of the runs under `root`, or any folder."""
    dialog = RunsDialog(root, parent)
    try:
        return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
