"""The mapping of data columns to the network: which columns feed each Input
node and which each task learns, as two tables (the mapping, one row per
Input and task; the columns of the data, with a check box for the mapping
row chosen) and the commands an edit becomes.

The rows are derived from the project and the source's profile on every
change; nothing here is kept that the project does not hold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QColor

from ..core.commands import Command, Macro, SetData, SetParam, SetTaskField
from ..core.data_profile import IMAGE, LABEL, ColumnInfo, DataProfile
from ..core.params import format_shape
from ..core.project import Project
from ..core.settings import DataSource
from .widgets import ERROR_COLOR, WARNING_COLOR, color_icon

INPUT, TARGET = "input", "target"


@dataclass(frozen=True)
class Slot:
    """A row of the mapping: an Input node (by id) or a task's target (by name)."""

    kind: str  # INPUT or TARGET
    key: str


def scope_slots(project: Project, scope: str | None) -> list[Slot]:
    """What the source shown feeds. The project's data: every Input and each
    task without a data set of its own. A task's view: the Inputs that feed
    it, and its target."""
    if scope is None:
        inputs = project.input_nodes()
        tasks = [t.name for t in project.tasks if t.data is None]
    else:
        needed = project.task_nodes(scope)
        inputs = [n for n in project.input_nodes() if n.id in needed]
        tasks = [scope]
    return [Slot(INPUT, n.id) for n in inputs] + [Slot(TARGET, name) for name in tasks]


def slot_columns(project: Project, source: DataSource, slot: Slot) -> list[str]:
    if slot.kind == INPUT:
        return list(source.inputs.get(slot.key, []))
    return list(project.task(slot.key).target)


def columns_shape(profile: DataProfile, names: list[str]) -> tuple:
    """The shape of one example of the columns, as training stacks them:
    one array of several values per example keeps its shape; 1-D columns
    side by side give (number of columns,). Raises ValueError when they
    cannot be stacked."""
    infos = [profile.columns[n] for n in names if n in profile.columns]
    if len(infos) == 1 and infos[0].shape:
        return tuple(infos[0].shape)
    arrays = [i.name for i in infos if i.shape]
    if arrays:
        raise ValueError(
            f"'{arrays[0]}' holds {format_shape(profile.columns[arrays[0]].shape)} "
            "values per example and cannot be stacked with other columns: "
            "map it alone"
        )
    return (len(names),)


def source_command(project: Project, owner: str | None, source: DataSource) -> Command:
    """Set the project's source, or the task `owner`'s own."""
    return SetTaskField(owner, "data", source) if owner else SetData(source)


def map_input(
    project: Project,
    owner: str | None,
    source: DataSource,
    input_id: str,
    columns: list[str],
    profile: DataProfile | None,
) -> Command | None:
    """Map columns to an Input and give the Input the shape they have, as
    one undo step (a Macro); None when that changes nothing."""
    inputs = dict(source.inputs)
    if columns:
        inputs[input_id] = list(columns)
    else:
        inputs.pop(input_id, None)
    node = project.node(input_id)
    commands: list[Command] = []
    if inputs != source.inputs:
        commands.append(source_command(project, owner, dataclasses.replace(source, inputs=inputs)))
    if columns and profile is not None:
        shape = list(columns_shape(profile, columns))
        if shape != list(node.params.get("shape") or []):
            commands.append(SetParam(input_id, "shape", shape))
    return Macro(f"Map columns to {node.name}", commands) if commands else None


def used_by(project: Project, source: DataSource, slots: list[Slot]) -> dict[str, list[Slot]]:
    """Column -> the mapping rows (Inputs and targets) that use it, in order."""
    uses: dict[str, list[Slot]] = {}
    for slot in slots:
        for name in slot_columns(project, source, slot):
            uses.setdefault(name, []).append(slot)
    return uses


def mapping_note(
    project: Project,
    slot: Slot | None,
    row: _Row | None,
    *,
    notice: str,
    waiting_for: str | None,
    shared_by: str | None,
    loaded: bool,
) -> tuple[str, str]:
    """What the panel says under the mapping table, and its severity ("",
    "warning" or "error"): why the last tick was refused (notice), else why
    nothing can be ticked (a file being read, a task that uses the
    project's data, nothing to map, the data not read yet), else what is
    wrong with the chosen row, else what to tick."""
    if notice:
        return notice[:1].upper() + notice[1:], "error"
    if waiting_for:
        return (
            f"{waiting_for} becomes the data once all of it is read; its columns show then."
        ), ""
    if shared_by:
        return (
            f"Task {shared_by} learns from the project's data: tick “Own data set” to give "
            "it a data set of its own."
        ), ""
    if slot is None:
        return "Add an Input node or a task to map columns to it.", ""
    if not loaded:
        return "The columns show once the data is read.", ""
    if row is not None and row.problem:
        return row.problem[:1].upper() + row.problem[1:] + ".", row.severity
    if slot.kind == INPUT:
        return (
            f"Tick the columns that feed “{slot_name(project, slot)}”; its shape follows them."
        ), ""
    return f"Tick the column(s) task “{slot.key}” learns.", ""


def slot_name(project: Project, slot: Slot) -> str:
    """An Input node's name, or the task's name."""
    return project.node(slot.key).name if slot.kind == INPUT else slot.key


def kind_text(info: ColumnInfo) -> str:
    text = {LABEL: "class label", IMAGE: "image"}.get(info.kind, "numeric")
    return f"{text} {format_shape(info.shape)}" if info.shape else text


# --- the mapping table ------------------------------------------------------------

MAPPING_COLUMNS = ("Feeds", "Columns", "Shape")


@dataclass
class _Row:
    slot: Slot
    label: str
    columns: str
    shape: str
    color: str = ""  # a task's colour, for its swatch
    problem: str = ""  # why the row is shown in red or amber
    severity: str = ""  # "", "error" or "warning"
    # An Input whose columns give another shape than it has: that shape.
    data_shape: tuple | None = None


class MappingModel(QAbstractTableModel):
    """One row per Input node and task of the source shown."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[_Row] = []

    def update(
        self, project: Project, source: DataSource, slots: list[Slot], profile: DataProfile | None
    ) -> None:
        rows = [self._row(project, source, slot, profile) for slot in slots]
        if [r.slot for r in rows] != [r.slot for r in self.rows]:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()
        else:
            self.rows = rows
            if rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(rows) - 1, len(MAPPING_COLUMNS) - 1)
                )

    @staticmethod
    def _row(project: Project, source: DataSource, slot: Slot, profile: DataProfile | None) -> _Row:
        names = slot_columns(project, source, slot)
        listed = (
            ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])}, … ({len(names)})"
        )
        row = _Row(slot, "", listed or "none", "")
        missing = [n for n in names if profile is not None and n not in profile.columns]
        if slot.kind == INPUT:
            node = project.node(slot.key)
            row.label = node.name
            wanted = tuple(node.params.get("shape") or ())
            row.shape = format_shape(wanted) if wanted else ""
            if names and profile is not None and not missing:
                try:
                    given = columns_shape(profile, names)
                except ValueError as exc:
                    row.problem, row.severity = str(exc), "error"
                else:
                    if len(given) != len(wanted) or any(
                        w is not None and w != g for w, g in zip(wanted, given)
                    ):
                        row.problem = (
                            f"the columns give {format_shape(given)} per example "
                            f"but {node.name} takes {format_shape(wanted)}"
                        )
                        row.severity = "warning"
                        row.data_shape = given
            if not names:
                row.problem = "no columns feed this Input yet: tick them in the list below"
                row.severity = "warning"
        else:
            row.label = slot.key
            row.color = project.task_color(slot.key)
            infos = [profile.columns[n] for n in names if profile and n in profile.columns]
            if len(infos) == 1 and infos[0].classes:
                row.shape = f"{infos[0].classes} classes"
            elif infos and not missing:
                try:
                    row.shape = format_shape(columns_shape(profile, names))
                except ValueError as exc:
                    row.problem, row.severity = str(exc), "error"
            if not names:
                row.problem = "the task has no target yet: tick its column(s) in the list below"
                row.severity = "warning"
        if missing:
            row.problem = f"not in the data: {', '.join(missing)}"
            row.severity = "error"
        return row

    def slot_at(self, row: int) -> Slot | None:
        return self.rows[row].slot if 0 <= row < len(self.rows) else None

    def row_of(self, slot: Slot) -> int:
        return next((i for i, r in enumerate(self.rows) if r.slot == slot), -1)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(MAPPING_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return MAPPING_COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.label if row.slot.kind == INPUT else f"{row.label} (target)"
            return row.columns if column == 1 else row.shape
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and row.color:
            return color_icon(row.color)
        if role == Qt.ItemDataRole.ForegroundRole and row.severity and column > 0:
            return QColor(ERROR_COLOR if row.severity == "error" else WARNING_COLOR)
        if role == Qt.ItemDataRole.ToolTipRole:
            what = (
                "Input node: the columns that feed it"
                if row.slot.kind == INPUT
                else "Task: the columns it learns"
            )
            return f"{what}\n{row.problem}" if row.problem else what
        return None


# --- the columns table ------------------------------------------------------------

COLUMN_HEADERS = ("", "Column", "Type", "Classes", "Used by")
USE, NAME, TYPE, CLASSES, USED_BY = range(len(COLUMN_HEADERS))


class ColumnsModel(QAbstractTableModel):
    """The source's columns with their kind, shape and classes. The check
    box says whether the chosen mapping row uses the column; ticking it
    emits `toggled` (the panel turns it into a command)."""

    toggled = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.infos: list[ColumnInfo] = []
        self.checked: set[str] = set()
        self.uses: dict[str, str] = {}
        self.use_colors: dict[str, str] = {}
        self.editable = False

    def update(
        self,
        project: Project,
        profile: DataProfile | None,
        checked,
        uses: dict[str, list[Slot]],
        editable: bool,
    ) -> None:
        infos = list(profile.columns.values()) if profile is not None else []
        self.checked, self.editable = set(checked), editable
        # Names, and the colour of the first task among the users (a swatch
        # tells a target from an Input at a glance).
        self.uses = {
            name: ", ".join(slot_name(project, s) for s in slots) for name, slots in uses.items()
        }
        self.use_colors = {
            name: project.task_color(target.key)
            for name, slots in uses.items()
            for target in [next((s for s in slots if s.kind == TARGET), None)]
            if target is not None
        }
        if [i.name for i in infos] != [i.name for i in self.infos]:
            self.beginResetModel()
            self.infos = infos
            self.endResetModel()
        else:
            self.infos = infos
            if infos:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(infos) - 1, len(COLUMN_HEADERS) - 1)
                )

    def names(self) -> list[str]:
        return [i.name for i in self.infos]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.infos)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMN_HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {
                USE: "Used by the mapping row chosen above",
                CLASSES: "Distinct values: of a label column, or of a numeric column "
                "of whole numbers with few values (likely class ids)",
            }.get(section)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == USE and self.editable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        info = self.infos[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == USE:
            return (
                Qt.CheckState.Checked if info.name in self.checked else Qt.CheckState.Unchecked
            ).value
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return info.name
            if column == TYPE:
                return kind_text(info)
            if column == CLASSES:
                return str(info.classes) if info.classes else ""
            if column == USED_BY:
                return self.uses.get(info.name, "")
        if (
            role == Qt.ItemDataRole.DecorationRole
            and column == USED_BY
            and info.name in self.use_colors
        ):
            return color_icon(self.use_colors[info.name])
        if role == Qt.ItemDataRole.ToolTipRole and column == NAME:
            return info.name  # (elided when the list is narrow)
        if role == Qt.ItemDataRole.ToolTipRole and column == USED_BY and info.name in self.uses:
            return f"Used by {self.uses[info.name]} (a swatch: a task's target)"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CLASSES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != USE or not self.editable:
            return False
        on = Qt.CheckState(value) == Qt.CheckState.Checked
        self.toggled.emit(self.infos[index.row()].name, on)
        return False  # the project's change comes back through the panel's refresh
