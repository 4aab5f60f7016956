"""The inspector: the one selected node's name, shape, weights, problems
and parameters, each edit one undo step."""

from __future__ import annotations

import html
from typing import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.catalogue import get_kind
from ..core.commands import RenameNode, SetParam
from ..core.params import MAX_INT, ParamSpec, format_shape
from ..core.validation import ERROR, parameter_count
from .document import Document
from .widgets import (
    ERROR_COLOR,
    WARNING_COLOR,
    DocumentView,
    ErrorLabel,
    FloatSpinBox,
    float_step,
    push_or_reason,
)

# Bounds for spin boxes whose parameter has none: QSpinBox needs some. The
# largest integer a project may hold (checked on load), so every value a
# loaded project holds fits (a QSpinBox cannot hold more than 2**31 - 1).
INT_LIMIT = MAX_INT
FLOAT_LIMIT = 1e9


def shape_text(shape) -> str:
    """(28, 28, 1) -> "28, 28, 1", the way a user types it back."""
    return ", ".join("None" if d is None else str(d) for d in shape)


class ParamField(QWidget):
    """The editor of one parameter with its error line. `on_commit` runs
    when a user's edit ends (Enter or focus out for typed values, at once
    for a check box or a combo), so typing 128 is one edit, not three."""

    def __init__(
        self,
        spec: ParamSpec,
        on_commit: Callable[["ParamField"], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.spec = spec
        self.editor = self._make_editor(spec)
        self.editor.setToolTip(spec.help)
        self.error = ErrorLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.editor)
        layout.addWidget(self.error)
        self._commit_signal().connect(lambda *_: on_commit(self))

    def _make_editor(self, spec: ParamSpec) -> QWidget:
        if spec.type in ("int", "float"):
            box = QSpinBox(self) if spec.type == "int" else FloatSpinBox(self)
            limit = INT_LIMIT if spec.type == "int" else FLOAT_LIMIT
            # Exclusive bounds are allowed here and refused, with the
            # reason, by the spec's check when the edit is committed.
            number = int if spec.type == "int" else float
            box.setRange(
                number(-limit if spec.minimum is None else spec.minimum),
                number(limit if spec.maximum is None else spec.maximum),
            )
            if spec.type == "float":
                box.setSingleStep(float_step(spec.default))
            return box
        if spec.type == "bool":
            return QCheckBox(self)
        if spec.type == "choice":
            combo = QComboBox(self)
            combo.addItems([str(c) for c in spec.choices])
            return combo
        return QLineEdit(self)  # "shape"

    def _commit_signal(self):
        editor = self.editor
        if isinstance(editor, QCheckBox):
            return editor.toggled
        if isinstance(editor, QComboBox):
            return editor.currentIndexChanged
        return editor.editingFinished

    def value(self):
        """What the editor holds, as the spec's check takes it."""
        editor = self.editor
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return self.spec.choices[editor.currentIndex()]
        if isinstance(editor, QLineEdit):
            return editor.text()
        return editor.value()

    def show_value(self, value) -> None:
        """Show the project's value without reporting it as an edit."""
        editor = self.editor
        blocked = editor.blockSignals(True)
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(
                list(self.spec.choices).index(value) if value in self.spec.choices else -1
            )
        elif isinstance(editor, QLineEdit):
            editor.setText(shape_text(value) if isinstance(value, (list, tuple)) else str(value))
        elif value is not None:
            editor.setValue(value)
        editor.blockSignals(blocked)


class Inspector(DocumentView):
    follows = (
        ("selection_changed", "refresh"),
        ("changed", "_on_changed"),
        ("problems_changed", "_show_facts"),
    )

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_id: str | None = None
        self.fields: dict[str, ParamField] = {}

        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._build_body())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.scroll)
        self.name_edit.editingFinished.connect(self._rename)
        self.set_document(document)

    def _build_body(self) -> QWidget:
        """The node's page: header, facts, problems; parameters come per node."""
        self.body = QWidget()
        self.header = QLabel(self.body)
        self.description = QLabel(self.body)
        self.description.setWordWrap(True)
        self.name_edit = QLineEdit(self.body)
        self.name_error = ErrorLabel(self.body)
        self.shape_label = QLabel(self.body)
        self.weights_label = QLabel(self.body)
        self.task_label = QLabel(self.body)
        self.problems_label = QLabel(self.body)
        self.problems_label.setWordWrap(True)
        name_box = QVBoxLayout()
        name_box.addWidget(self.name_edit)
        name_box.addWidget(self.name_error)
        # One form for facts and parameters, so their labels line up; the
        # parameter rows come after the facts and change with the node.
        self._form = QFormLayout()
        self._form.addRow("Name", name_box)
        self._form.addRow("Output shape", self.shape_label)
        self._form.addRow("Weights", self.weights_label)
        self._form.addRow("Task", self.task_label)
        self._form.addRow(self.problems_label)
        self._fact_rows = self._form.rowCount()
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.header)
        layout.addWidget(self.description)
        layout.addLayout(self._form)
        layout.addStretch(1)
        return self.body

    # --- showing ------------------------------------------------------------

    def refresh(self) -> None:
        """Show the selection: rebuild the form for one node, or a hint."""
        selection = self.document.selection
        single = len(selection) == 1 and selection[0] in self.document.project.nodes
        self._clear_form()
        self.node_id = selection[0] if single else None
        self.hint.setVisible(not single)
        self.scroll.setVisible(single)
        if not single:
            count = len(selection)
            self.hint.setText(
                "Select one node to edit it" if count == 0 else f"{count} nodes selected"
            )
            return
        node = self.document.project.node(self.node_id)
        kind = get_kind(node.kind)
        self.header.setText(f"<b>{kind.name}</b>")
        self.description.setText(kind.description)
        for spec in kind.params:
            field = ParamField(spec, self._commit, self.body)
            self.fields[spec.name] = field
            self._form.addRow(spec.name, field)
            # A layout shows what it gets only on the next event loop pass;
            # the field must be visible now, to the test and its error line.
            field.show()
        self._show_values()
        self._show_facts()

    def _clear_form(self) -> None:
        for field in self.fields.values():
            # A field that dies with focus would report an edit to the next node.
            field.editor.blockSignals(True)
        while self._form.rowCount() > self._fact_rows:
            row = self._form.takeRow(self._fact_rows)
            for item in (row.labelItem, row.fieldItem):
                # Later, not now: we may be inside one of its editors' signals.
                item.widget().hide()
                item.widget().deleteLater()
        self.fields = {}
        self.name_error.show_reason(None)

    def _show_values(self) -> None:
        """Put the project's values in the fields (no commands pushed)."""
        project = self.document.project
        node = project.node(self.node_id)
        blocked = self.name_edit.blockSignals(True)
        self.name_edit.setText(node.name)
        self.name_edit.blockSignals(blocked)
        for name, field in self.fields.items():
            field.show_value(node.params.get(name))
        is_output = node.kind == "Output"
        self._form.setRowVisible(self.task_label, is_output)
        if is_output:
            task = project.task_of_output(self.node_id)
            self.task_label.setText(task.name if task else "none: add a task that learns it")

    def _show_facts(self) -> None:
        """Shape, weight count and problems: fresh after each validation."""
        if self.node_id is None or self.node_id not in self.document.project.nodes:
            return
        project, shapes = self.document.project, self.document.shapes
        shape = shapes.get(self.node_id)
        self.shape_label.setText("?" if shape is None else format_shape(shape))
        # Nodes added since the last validation have no shape yet: count them as unknown.
        known = {n: shapes.get(n) for n in project.nodes}
        self.weights_label.setText(f"{parameter_count(project, known)[self.node_id]:,}")
        lines = [
            f'<div style="color: {ERROR_COLOR if p.severity == ERROR else WARNING_COLOR}">'
            f"{html.escape(p.message)}</div>"
            for p in self.document.node_problems(self.node_id)
        ]
        self.problems_label.setText("".join(lines))
        self.problems_label.setVisible(bool(lines))

    def _on_changed(self, event) -> None:
        if self.node_id is None or self.node_id not in self.document.project.nodes:
            return
        if event.type.startswith("task_") or (
            event.type == "node_changed" and event["node_id"] == self.node_id
        ):
            self._show_values()
            # The project moved on (an edit, an undo): old reasons are stale.
            self.name_error.show_reason(None)
            for field in self.fields.values():
                field.error.show_reason(None)

    # --- editing ------------------------------------------------------------

    def _rename(self) -> None:
        if self.node_id is None:
            return
        old = self.document.project.node(self.node_id).name
        new = self.name_edit.text().strip()
        if new == old:
            self.name_error.show_reason(None)
            return
        reason = push_or_reason(self.document, RenameNode(self.node_id, new))
        self.name_error.show_reason(reason)
        if reason:
            self.name_edit.setText(old)

    def _commit(self, field: ParamField) -> None:
        if self.node_id is None:
            return
        current = self.document.project.node(self.node_id).params.get(field.spec.name)
        try:
            value = field.spec.check(field.value())
        except ValueError as exc:
            reason = str(exc)
        else:
            if value == current:
                field.error.show_reason(None)
                return
            reason = push_or_reason(self.document, SetParam(self.node_id, field.spec.name, value))
        field.error.show_reason(reason)
        if reason:
            field.show_value(current)
