"""The tasks table: one row per task, edited in place, each edit one undo
step. The model reads the project on every call and keeps nothing."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.commands import AddTask, RemoveTask, SetTaskField
from ..core.renaming import rename_task
from ..core.tasks import LOSS_LABELS, LOSSES, Task
from .document import Document
from .widgets import DocumentView, FloatSpinBox, color_icon

COLUMNS = ("", "Task", "Loss", "Weight", "Metrics", "Target", "Output")
COLOR, NAME, LOSS, WEIGHT, METRICS, TARGET, OUTPUT = range(len(COLUMNS))
# The task field each editable column sets.
FIELDS = {
    NAME: "name",
    LOSS: "loss",
    WEIGHT: "weight",
    METRICS: "metrics",
    TARGET: "target",
    OUTPUT: "output",
}
_EDIT = Qt.ItemDataRole.EditRole
# Node events that can change an Output's name in the table (moves cannot).
_NODE_EDITS = ("node_added", "node_changed", "node_removed")
# The table has room for every task up to MAX_ROWS (then it scrolls, or its
# dock grows), and for MIN_ROWS at least, so a new task has somewhere to
# appear. Four: the dock shares the strip under the canvas, which a small
# screen (1024 x 700) cannot give much more height.
MIN_ROWS, MAX_ROWS = 2, 4


def split_names(text: str) -> list[str]:
    """ "accuracy, auc" -> ["accuracy", "auc"]: how lists are typed in a cell."""
    return [part.strip() for part in str(text).split(",") if part.strip()]


class TaskTableModel(QAbstractTableModel):
    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document

    def set_document(self, document: Document) -> None:
        self.beginResetModel()
        self.document = document
        self.endResetModel()

    def task_at(self, row: int | None) -> Task | None:
        tasks = self.document.project.tasks
        return tasks[row] if row is not None and 0 <= row < len(tasks) else None

    def project_changed(self, event) -> None:
        if event.type in ("task_added", "task_removed"):
            # The project has already changed: a reset is the honest signal.
            self.beginResetModel()
            self.endResetModel()
        elif (event.type.startswith("task_") or event.type in _NODE_EDITS) and self.rowCount():
            # Any field, a colour that follows the order, an Output's name.
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1)
            )

    # --- reading ----------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.document.project.tasks)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in FIELDS:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        task = self.task_at(index.row())
        if task is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DecorationRole and column == COLOR:
            return color_icon(self.document.project.task_color(task.name))
        if role == Qt.ItemDataRole.ToolTipRole:
            return {
                COLOR: "Double-click to choose the task's colour",
                LOSS: LOSS_LABELS.get(task.loss),
                OUTPUT: "The Output node this task learns",
            }.get(column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(task, column)
        if role == _EDIT:
            return {WEIGHT: task.weight, OUTPUT: task.output or ""}.get(
                column, self._text(task, column)
            )
        return None

    def _text(self, task: Task, column: int) -> str:
        if column == WEIGHT:
            return f"{task.weight:g}"
        if column in (METRICS, TARGET):
            return ", ".join(getattr(task, FIELDS[column]))
        if column == OUTPUT:
            nodes = self.document.project.nodes
            return nodes[task.output].name if task.output in nodes else "none"
        return getattr(task, FIELDS[column]) if column in FIELDS else ""

    # --- editing ----------------------------------------------------------

    def setData(self, index: QModelIndex, value, role=_EDIT) -> bool:
        task = self.task_at(index.row())
        if role != _EDIT or task is None or index.column() not in FIELDS:
            return False
        field = FIELDS[index.column()]
        if field in ("metrics", "target"):
            value = split_names(value)
        elif field == "name":
            value = str(value).strip()
        elif field == "output":
            value = value or None
        if value == getattr(task, field):
            return False  # an editor closed without a change: no undo step
        # A refused value reaches the user through document.message; the
        # cell shows the project's value again by itself.
        if field == "name":
            # The head's nodes named after the task follow it, in one step.
            command = rename_task(self.document.project, task.name, value)
            done = self.document.push(command)
            if done and command.kept:
                self.document.message.emit(command.kept_text())
            return done
        return self.document.push(SetTaskField(task.name, field, value))


class ChoiceDelegate(QStyledItemDelegate):
    """A combo box editor whose choice is committed as soon as it is made.
    `options(index)` gives (label, value) pairs."""

    def __init__(
        self, options: Callable[[QModelIndex], list[tuple[str, str]]], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.options = options

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        for label, value in self.options(index):
            combo.addItem(label, value)
        # Wide enough for the longest choice, however narrow the column.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.view().setMinimumWidth(combo.sizeHint().width())
        combo.activated.connect(lambda _: self._finish(combo))
        return combo

    def updateEditorGeometry(self, editor, option, index) -> None:
        rect = option.rect
        rect.setWidth(max(rect.width(), editor.sizeHint().width()))
        editor.setGeometry(rect)

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentIndex(max(0, editor.findData(index.data(_EDIT))))

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentData(), _EDIT)

    def _finish(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo)


class WeightDelegate(QStyledItemDelegate):
    """A spin box for a loss weight: any number >= 0."""

    def createEditor(self, parent, option, index):
        box = FloatSpinBox(parent)
        box.setRange(0.0, 1e6)
        box.setSingleStep(0.1)
        return box

    def setEditorData(self, editor, index) -> None:
        editor.setValue(float(index.data(_EDIT)))

    def setModelData(self, editor, model, index) -> None:
        editor.interpretText()
        model.setData(index, editor.value(), _EDIT)


class TaskTable(QTableView):
    """A table as tall as its tasks (MIN_ROWS to MAX_ROWS rows, then it
    scrolls) that takes whatever more height its dock gives."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def setModel(self, model) -> None:
        super().setModel(model)
        # Tasks come and go by model resets (TaskTableModel.project_changed).
        model.modelReset.connect(self.updateGeometry)

    def rows_shown(self) -> int:
        rows = self.model().rowCount() if self.model() is not None else 0
        return min(max(rows, MIN_ROWS), MAX_ROWS)

    def minimumSizeHint(self) -> QSize:
        header = self.horizontalHeader().sizeHint().height()
        rows = self.rows_shown() * self.verticalHeader().defaultSectionSize()
        scroll = self.horizontalScrollBar().sizeHint().height()
        height = header + rows + scroll + 2 * self.frameWidth()
        return QSize(super().minimumSizeHint().width(), height)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumSizeHint().height())


class TasksPanel(DocumentView):
    follows = (("changed", "_on_changed"),)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TaskTableModel(document, self)
        self.view = TaskTable(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.view.setItemDelegateForColumn(
            LOSS, ChoiceDelegate(lambda index: [(loss, loss) for loss in LOSSES], self)
        )
        self.view.setItemDelegateForColumn(OUTPUT, ChoiceDelegate(self._output_options, self))
        self.view.setItemDelegateForColumn(WEIGHT, WeightDelegate(self))

        self.add_button = QPushButton("Add task", self)
        self.remove_button = QPushButton("Remove task", self)
        self.color_button = QPushButton("Colour…", self)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.color_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(self.add_task)
        self.remove_button.clicked.connect(self.remove_task)
        self.color_button.clicked.connect(lambda: self.choose_color(self.selected_row()))
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.selectionModel().selectionChanged.connect(self._row_selected)
        self.model.modelReset.connect(self._update_buttons)
        self.set_document(document)

    def refresh(self) -> None:
        self.model.set_document(self.document)

    def _on_changed(self, event) -> None:
        self.model.project_changed(event)

    def selected_row(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_task(self) -> Task | None:
        return self.model.task_at(self.selected_row())

    # --- actions ----------------------------------------------------------

    def add_task(self) -> None:
        name = self.document.project.unique_task_name("task")
        if self.document.push(AddTask(Task(name))):
            self.view.selectRow(self.document.project.task_index(name))

    def remove_task(self) -> None:
        task = self.selected_task()
        if task is not None:
            self.document.push(RemoveTask(task.name))

    def choose_color(self, row: int | None) -> None:
        task = self.model.task_at(row)
        if task is None:
            return
        current = QColor(self.document.project.task_color(task.name))
        color = QColorDialog.getColor(current, self, f"Colour of task {task.name}")
        if color.isValid() and color != current:
            self.document.push(SetTaskField(task.name, "color", color.name().upper()))

    # --- reactions --------------------------------------------------------

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() == COLOR:
            self.choose_color(index.row())

    def _row_selected(self) -> None:
        self._update_buttons()
        task = self.selected_task()
        if task is not None and task.output is not None:
            # The canvas shows the task by selecting its Output node.
            self.document.set_selection([task.output])

    def _update_buttons(self) -> None:
        selected = self.selected_row() is not None
        self.remove_button.setEnabled(selected)
        self.color_button.setEnabled(selected)

    def _output_options(self, index: QModelIndex) -> list[tuple[str, str]]:
        """Output nodes the task may learn: its own and those no task has."""
        project = self.document.project
        task = self.model.task_at(index.row())
        free = [n for n in project.output_nodes() if project.task_of_output(n.id) in (None, task)]
        return [("none", "")] + [(n.name, n.id) for n in free]
