"""The Data panel: choose the project's data (a built-in generator, or a CSV
or NPZ file), see its first rows and columns, map columns to the Input
nodes and the tasks' targets, and set standardisation and the validation
and test splits. In alternating mode a task may have a data set of its own.

Every edit is one undo step through document.push; the panel shows the
project again on each change. What the sources hold (the first rows and
the profile of each) is read and kept by the document's DataStore
(ui/data_store.py), off the GUI thread, with or without this panel: the
panel shows it, asks for the reads the user chooses, and follows the
store's signals. A newly chosen file becomes the project's source only
once all of it has been read without a problem, so a bad or cancelled file
leaves the project as it was.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QTextLayout
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFormLayout, QFrame, QGridLayout,
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton,
    QScrollArea, QSizePolicy, QSplitter, QTableView, QVBoxLayout, QWidget,
)

from ..core.commands import SetTaskField, SetTraining
from ..core.params import format_shape
from ..core.settings import DataSource
from ..data.generators import GENERATORS
from .data_loader import Loaded, PreviewModel, cell_text
from .data_mapping import (
    INPUT, NAME, TARGET, ColumnsModel, MappingModel, Slot, map_input, mapping_note,
    scope_slots, slot_columns, source_command, used_by,
)
from .data_store import DataStore
from .document import Document
from .inspector import ParamField
from .widgets import (
    ERROR_COLOR, WARNING_COLOR, DocumentView, ErrorLabel, FloatSpinBox, push_or_reason,
)

KINDS = {"generator": "Built-in generator", "csv": "CSV file", "npz": "NPZ file (numpy arrays)"}
FILE_FILTERS = {"csv": "CSV files (*.csv)", "npz": "NPZ files (*.npz)"}
# Widest a preview or column-table column starts (the user can widen it).
MAX_COLUMN_WIDTH = 180
# Preview rows whose text sets the column widths.
FIT_ROWS = 30
# Events that cannot change what the panel shows.
_IGNORED = ("node_moved",)


def table_height(view: QTableView, rows: int) -> int:
    """The height of a table that shows its header, `rows` rows and a
    horizontal scroll bar. (The header is counted as a row: it has no
    height of its own before the table has columns.)"""
    return ((rows + 1) * view.verticalHeader().defaultSectionSize()
            + view.horizontalScrollBar().sizeHint().height() + 2 * view.frameWidth())


class NoteLabel(QLabel):
    """Text in at most `lines` lines, and always that tall, so that what
    follows never moves when the text changes. Longer text ends in an
    ellipsis; the tooltip has all of it."""

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines
        self.full, self.color = "", ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 2)

    def set_note(self, text: str, color: str = "") -> None:
        self.full = text
        if color != self.color:
            self.color = color
            self.setStyleSheet(f"color: {color};" if color else "")
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Break the text into lines here (the label itself does not wrap),
        the last one elided."""
        width = self.contentsRect().width()
        if width <= 0:
            self.setText(self.full)
            return
        layout = QTextLayout(self.full, self.font())
        layout.beginLayout()
        starts = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            starts.append(line.textStart())
        layout.endLayout()
        ends = starts[1:] + [len(self.full)]
        rows = [self.full[a:b].strip() for a, b in zip(starts, ends)]
        cut = len(rows) > self.lines
        if cut:
            rows = rows[:self.lines - 1] + [self.fontMetrics().elidedText(
                self.full[starts[self.lines - 1]:], Qt.TextElideMode.ElideRight, width)]
        self.setText("\n".join(rows))
        self.setToolTip(self.full if cut else "")


class CompactTableView(QTableView):
    """A table that asks for no more than its minimum height: the panel
    scrolls, and a scroll area sizes its content by preferred heights, so
    a table's default wish (about 190 px) would push everything below it
    out of view. Spare height still goes to the tables (stretch)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class DataPanel(DocumentView):
    follows = (("changed", "_on_changed"),)

    # A read of a source began (its key, core.data_profile.source_key).
    read_started = Signal(str)
    # A source was read whole: its preview and profile are in (its key).
    read_finished = Signal(str)
    # A read failed: the message, with file, row and column.
    read_failed = Signal(str)
    # A read was cancelled (its key).
    read_cancelled = Signal(str)
    # The preview table shows rows (possibly only the first rows of a file
    # still being read).
    preview_shown = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scope: str | None = None  # the task whose data is shown, None: the project's
        self.slot: Slot | None = None  # the mapping row whose columns are ticked
        # A file chosen but not yet read whole: (source, owner task or None, key).
        self.candidate: tuple[DataSource, str | None, str] | None = None
        # Why the last gesture failed (a file that could not be read, a
        # refused edit), shown until the next one: a mapping gesture's under
        # the mapping table, any other's under the source (_tell).
        self.notice = ""
        self.mapping_notice = ""
        self._generator_shown: str | None = None
        self.param_fields: dict[str, ParamField] = {}
        self._build()
        self.set_document(document)

    # --- building -------------------------------------------------------------------

    def _build(self) -> None:
        # Whose data: only in alternating mode (or while a task has its own).
        self.scope_combo = QComboBox()
        self.scope_combo.setToolTip("Alternating mode: a task can learn from its own data set")
        self.own_data_check = QCheckBox("Own data set")
        self.own_data_check.setToolTip(
            "Give this task a data set of its own instead of the project's")
        self.scope_bar = QWidget()
        scope_row = QHBoxLayout(self.scope_bar)
        scope_row.setContentsMargins(0, 0, 0, 0)
        scope_row.addWidget(QLabel("Data for"))
        scope_row.addWidget(self.scope_combo, 1)
        scope_row.addWidget(self.own_data_check)

        # The source.
        self.kind_combo = QComboBox()
        for kind, label in KINDS.items():
            self.kind_combo.addItem(label, kind)
        # Room beside it for what was read, in a narrow dock too.
        self.kind_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(12)
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("no file chosen")
        self.browse_button = QPushButton("Browse…")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the file again (after it changed on disk)")
        self.file_row = QWidget()
        file_layout = QHBoxLayout(self.file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        file_layout.addWidget(self.path_edit, 1)
        file_layout.addWidget(self.browse_button)
        file_layout.addWidget(self.reload_button)
        self.generator_combo = QComboBox()
        for name in GENERATORS:
            self.generator_combo.addItem(name, name)
        self.generator_description = QLabel()
        self.generator_description.setWordWrap(True)
        self.source_form = QFormLayout()
        self.source_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_form.addRow("Source", self._status_row())
        self.source_form.addRow("File", self.file_row)
        self.source_form.addRow("Generator", self.generator_combo)
        self.source_form.addRow(self.generator_description)
        # The generator's parameters, two to a row: a tall form would push
        # the tables out of a dock.
        self.params_box = QWidget()
        self.params_grid = QGridLayout(self.params_box)
        self.params_grid.setContentsMargins(0, 0, 0, 0)
        self.params_grid.setColumnStretch(1, 1)
        self.params_grid.setColumnStretch(3, 1)
        self.source_form.addRow(self.params_box)

        # Why a source could not be read or set. It shows only after a
        # gesture on the source, whose controls are all above it.
        self.error = ErrorLabel()
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # The first rows.
        self.preview_model = PreviewModel(self)
        self.preview_view = CompactTableView()
        self.preview_view.setModel(self.preview_model)
        self.preview_view.setAlternatingRowColors(True)
        self.preview_view.verticalHeader().setToolTip(
            "The row in the file (the header is row 1), as error messages count")

        # The mapping and the columns.
        self.mapping_model = MappingModel(self)
        self.mapping_view = QTableView()
        self.mapping_view.setModel(self.mapping_model)
        self.mapping_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.mapping_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.mapping_view.verticalHeader().hide()
        self.mapping_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.mapping_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # What to tick, what is wrong with the chosen row, or why the last
        # tick was refused: all in one place of fixed height (two lines),
        # so that ticking a column never moves the list under the mouse.
        self.mapping_note = NoteLabel(lines=2)
        self.shape_button = QPushButton()
        self.shape_button.setToolTip("Set the Input node's shape to what its columns give")
        note_row = QWidget()
        note_layout = QHBoxLayout(note_row)
        note_layout.setContentsMargins(0, 0, 0, 0)
        note_layout.addWidget(self.mapping_note, 1)
        note_layout.addWidget(self.shape_button, 0, Qt.AlignmentFlag.AlignTop)
        note_row.setFixedHeight(max(self.mapping_note.height(),
                                    self.shape_button.sizeHint().height()))
        self.columns_model = ColumnsModel(self)
        self.columns_view = CompactTableView()
        self.columns_view.setModel(self.columns_model)
        self.columns_view.verticalHeader().hide()
        self.columns_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.columns_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The name takes the width left (a long name is elided, whole in its
        # tooltip) rather than a scroll bar taking a row's height.
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for view in (self.preview_view, self.mapping_view, self.columns_view):
            view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
        # Small enough for a short dock (the panel scrolls below this), and
        # never less than a few rows.
        for view, rows in ((self.preview_view, 2), (self.columns_view, 3)):
            view.setMinimumHeight(table_height(view, rows))
        # No group boxes around the tables: in a short dock their titles and
        # frames would cost rows of the list; the headers say what they are.
        mapping_box = QWidget()
        mapping_layout = QVBoxLayout(mapping_box)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.setSpacing(4)
        mapping_layout.addWidget(self.mapping_view)
        mapping_layout.addWidget(note_row)
        mapping_layout.addWidget(self.columns_view, 1)

        # Preparation. The validation split and the test share live here
        # alone (the training settings form has neither): they say which
        # rows train.
        self.standardize_inputs_check = QCheckBox("inputs")
        self.standardize_inputs_check.setToolTip(
            "Scale each input value by the mean and standard deviation of the training split")
        self.standardize_targets_check = QCheckBox("regression targets")
        self.standardize_targets_check.setToolTip(
            "The same for the targets of regression tasks; predictions are scaled back")
        self.split_spin = FloatSpinBox(decimals=3)
        self.split_spin.setRange(0.0, 0.95)
        self.split_spin.setSingleStep(0.05)
        self.split_spin.setKeyboardTracking(False)
        self.split_spin.setToolTip("Share of the rows held out to measure the validation loss "
                                   "each epoch, drawn with the project's seed (every data set)")
        # Beside it, the same way: the rows kept out of the run altogether.
        self.test_spin = FloatSpinBox(decimals=3)
        self.test_spin.setRange(0.0, 0.95)
        self.test_spin.setSingleStep(0.05)
        self.test_spin.setKeyboardTracking(False)
        self.test_spin.setToolTip(
            "Share of the rows held out from training, early stopping and the choice of the "
            "best epoch, drawn with the project's seed (every data set); `mtl-studio "
            "evaluate` and the Results view score them")
        self.test_label = QLabel("Test share")
        self.test_label.setToolTip(self.test_spin.toolTip())
        self.test_label.setBuddy(self.test_spin)
        options = QFormLayout()
        options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        standardize = QHBoxLayout()
        standardize.addWidget(self.standardize_inputs_check)
        standardize.addWidget(self.standardize_targets_check)
        standardize.addStretch(1)
        options.addRow("Standardise", standardize)
        held_out = QHBoxLayout()
        held_out.addWidget(self.split_spin)
        held_out.addSpacing(12)
        held_out.addWidget(self.test_label)
        held_out.addWidget(self.test_spin)
        held_out.addStretch(1)
        options.addRow("Validation split", held_out)

        # The tables share the height the dock has: the preview a fifth, the
        # mapping the rest (the columns list, where the work is, gets all of
        # its share). A splitter keeps its panes' proportions as it grows,
        # and the user's own once the handle is dragged.
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.preview_view)
        self.splitter.addWidget(mapping_box)
        self.splitter.setSizes([1000, 4000])

        # Everything scrolls when the dock is shorter than the panel needs,
        # rather than being cut off.
        body = QWidget()
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.scope_bar)
        layout.addLayout(self.source_form)
        layout.addWidget(self.error)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(options)

        self.scope_combo.activated.connect(
            lambda i: self.set_scope(self.scope_combo.itemData(i)))
        self.own_data_check.clicked.connect(self.set_own_data)
        self.kind_combo.activated.connect(
            lambda i: self.choose_kind(self.kind_combo.itemData(i)))
        self.generator_combo.activated.connect(
            lambda i: self.choose_generator(self.generator_combo.itemData(i)))
        self.browse_button.clicked.connect(lambda: self.browse())
        self.reload_button.clicked.connect(self.reload)
        self.cancel_button.clicked.connect(self.cancel_read)
        self.shape_button.clicked.connect(self.use_data_shape)
        self.mapping_view.selectionModel().selectionChanged.connect(self._slot_chosen)
        self.columns_model.toggled.connect(self._column_toggled)
        self.standardize_inputs_check.clicked.connect(
            lambda on: self.set_standardize("inputs", on))
        self.standardize_targets_check.clicked.connect(
            lambda on: self.set_standardize("targets", on))
        self.split_spin.valueChanged.connect(self.set_validation_split)
        self.test_spin.valueChanged.connect(self.set_test_split)

    def _status_row(self) -> QWidget:
        """The kind of source, then what was read (rows and columns) or the
        progress of a read with Cancel: one row that is always there, so
        nothing below moves as a read starts and ends."""
        self.status_label = QLabel()
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.progress_row = QWidget()
        progress_layout = QHBoxLayout(self.progress_row)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_layout.addWidget(self.progress_bar, 1)
        progress_layout.addWidget(self.cancel_button)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.kind_combo)
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.progress_row, 1)
        return row

    # --- what is shown ------------------------------------------------------------

    def scope_task(self):
        """The task whose data is shown, or None for the project's."""
        tasks = {t.name: t for t in self.document.project.tasks}
        return tasks.get(self.scope) if self.scope else None

    def owner(self) -> str | None:
        """The task whose own source is shown, or None: the project's source."""
        task = self.scope_task()
        return task.name if task is not None and task.data is not None else None

    def current_source(self) -> DataSource:
        task = self.scope_task()
        return task.data if task is not None and task.data is not None \
            else self.document.project.data

    def current_key(self) -> str:
        return self.store.key(self.current_source())

    @property
    def store(self) -> DataStore:
        """The document's data: what its sources hold, and their reads."""
        return self.document.data_store

    def current_loaded(self) -> Loaded | None:
        return self.store.loaded(self.current_key())

    def _shown_key(self) -> str:
        """The source on screen: a file being tried for this view, else the current one."""
        if self.candidate is not None and self.candidate[1] == self.owner():
            return self.candidate[2]
        return self.current_key()

    # --- following the document ---------------------------------------------------

    def set_document(self, document: Document) -> None:
        # A file being tried belongs to the old project (whose store cancels
        # it as the document closes).
        self._drop_candidate()
        self.scope, self.slot = None, None
        if self.document is not None:
            self._follow_store(self.document.data_store, False)
        self._follow_store(document.data_store, True)
        super().set_document(document)

    def _follow_store(self, store: DataStore, on: bool) -> None:
        pairs = ((store.started, self._read_started), (store.preview_ready, self._read_head),
                 (store.progress, self._read_progress), (store.profile_ready, self._read_finished),
                 (store.failed, self._read_failed), (store.cancelled, self._read_cancelled))
        for signal, slot in pairs:
            if on:
                signal.connect(slot)
            else:
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass  # the old document is already gone

    def refresh(self) -> None:
        # (The document's store reads its sources itself.)
        self._show()

    def _on_changed(self, event) -> None:
        if event.type in _IGNORED:
            return
        if event.type == "task_changed" and event["field"] == "name":
            # Follow a renamed task (its data and target go with it).
            old, new = event["old"], event["name"]
            if self.scope == old:
                self.scope = new
            if self.slot == Slot(TARGET, old):
                self.slot = Slot(TARGET, new)
        # (A changed source is read by the document's store, which heard of
        # the change first: the reads it started show here.)
        self._show()

    def _show(self) -> None:
        project = self.document.project
        if self.scope is not None and self.scope_task() is None:
            self.scope = None  # the task was removed or renamed
        self._show_scope()
        source = self.current_source()
        shown_key = self._shown_key()
        trying = shown_key != self.current_key()
        shown = self.candidate[0] if trying else source
        editable = not trying and (self.scope is None or self.owner() is not None)

        self.kind_combo.setCurrentIndex(self.kind_combo.findData(shown.kind))
        generator = shown.kind == "generator"
        self.source_form.setRowVisible(self.file_row, not generator)
        self.source_form.setRowVisible(self.generator_combo, generator)
        self.source_form.setRowVisible(self.generator_description, generator)
        self.source_form.setRowVisible(self.params_box, generator)
        self.path_edit.setText(shown.path)
        self.path_edit.setToolTip(shown.path)
        self.path_edit.setCursorPosition(len(shown.path))  # the file name, not the root
        if generator:
            self._show_generator(shown)
        for widget in (self.kind_combo, self.browse_button, self.generator_combo):
            widget.setEnabled(editable)
        for field in self.param_fields.values():
            field.setEnabled(editable)
        self.reload_button.setEnabled(editable and shown.chosen and not generator)

        self._show_reading(shown, shown_key)
        loaded = self.store.loaded(shown_key)
        if loaded is not None:
            self._set_preview(loaded.head)
        else:
            self._set_preview(self.store.head(shown_key))

        self._show_mapping(source, None if trying else self.current_loaded(), not trying)
        self.standardize_inputs_check.setChecked(source.standardize_inputs)
        self.standardize_targets_check.setChecked(source.standardize_targets)
        for widget in (self.standardize_inputs_check, self.standardize_targets_check):
            widget.setEnabled(not trying and (self.scope is None or self.owner() is not None))
        for spin, value in ((self.split_spin, project.training.validation_split),
                            (self.test_spin, project.training.test_split)):
            blocked = spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(blocked)

    def _show_scope(self) -> None:
        project = self.document.project
        per_task = project.training.mode == "alternating" or any(
            t.data is not None for t in project.tasks)
        self.scope_bar.setVisible(per_task)
        if not per_task:
            self.scope = None  # no hidden choice of whose data is shown
        self.scope_combo.clear()
        self.scope_combo.addItem("the project", None)
        for task in project.tasks:
            own = " (own data)" if task.data is not None else ""
            self.scope_combo.addItem(f"task {task.name}{own}", task.name)
        self.scope_combo.setCurrentIndex(max(0, self.scope_combo.findData(self.scope)))
        task = self.scope_task()
        self.own_data_check.setVisible(task is not None)
        self.own_data_check.setChecked(task is not None and task.data is not None)

    def _show_generator(self, source: DataSource) -> None:
        generator = GENERATORS.get(source.generator)
        self.generator_combo.setCurrentIndex(self.generator_combo.findData(source.generator))
        if source.generator != self._generator_shown:
            self._generator_shown = source.generator
            for field in self.param_fields.values():
                field.editor.blockSignals(True)  # a dying field must not commit
            while self.params_grid.count():
                widget = self.params_grid.takeAt(0).widget()
                widget.hide()  # now, not when the deletion comes round
                widget.deleteLater()
            self.param_fields = {}
            self.generator_description.setText(generator.description if generator else
                                               "Choose a generator.")
            for i, spec in enumerate(generator.params if generator else ()):
                field = ParamField(spec, self._param_committed)
                label = QLabel(spec.name.replace("_", " "))
                label.setToolTip(spec.help)
                self.param_fields[spec.name] = field
                row, column = divmod(i, 2)
                self.params_grid.addWidget(label, row, 2 * column)
                self.params_grid.addWidget(field, row, 2 * column + 1)
        if generator is not None:
            for spec in generator.params:
                self.param_fields[spec.name].show_value(source.params.get(spec.name,
                                                                          spec.default))

    def _show_reading(self, shown: DataSource, key: str) -> None:
        reading = self.store.is_reading(key)
        # In the same place: the progress while reading, else what was read.
        self.progress_row.setVisible(reading)
        self.status_label.setVisible(not reading)
        loaded = self.store.loaded(key)
        if loaded is not None:
            profile = loaded.profile
            status = (f"{profile.rows:,} rows, {len(profile.columns)} "
                      f"column{'s' if len(profile.columns) != 1 else ''}")
        elif shown.kind != "generator" and not shown.path:
            status = "Choose a file with Browse…"
        else:
            status = ""  # (a generator not chosen yet: its description says so)
        self.status_label.setText(status)
        self.status_label.setToolTip(status)
        error = self.notice or (self.store.failure(key) if not reading else "")
        self.error.show_reason(error)

    def _set_preview(self, head) -> None:
        if head is self.preview_model.table:
            return
        self.preview_model.set_table(head)
        if head is None:
            return
        self._fit_preview_columns(head)
        self.preview_shown.emit()

    def _fit_preview_columns(self, head) -> None:
        """Widths from the longest text of the first rows. Not
        resizeColumnsToContents: it asks the model for every cell, a Python
        call each, and those calls wait for the GIL while a worker reads."""
        metrics = self.preview_view.fontMetrics()
        header = self.preview_view.horizontalHeader()
        padding = 2 * metrics.averageCharWidth() + 8
        for column, name in enumerate(self.preview_model.names):
            texts = [cell_text(v) for v in head.columns[name][:FIT_ROWS]] + [name]
            longest = max(texts, key=len)
            header.resizeSection(column, min(MAX_COLUMN_WIDTH,
                                             metrics.horizontalAdvance(longest) + padding))

    def _show_mapping(self, source: DataSource, loaded: Loaded | None, editable: bool) -> None:
        project = self.document.project
        profile = loaded.profile if loaded is not None else None
        slots = scope_slots(project, self.scope)
        self.mapping_model.update(project, source, slots, profile)
        height = self.mapping_view.horizontalHeader().sizeHint().height() + sum(
            self.mapping_view.rowHeight(r) for r in range(len(slots))) + 4
        self.mapping_view.setFixedHeight(min(max(height, 60), 170))
        if self.slot not in slots:
            self.slot = slots[0] if slots else None
        row = self.mapping_model.row_of(self.slot) if self.slot else -1
        selection = self.mapping_view.selectionModel()
        blocked = selection.blockSignals(True)
        if row >= 0:
            self.mapping_view.selectRow(row)
        else:
            self.mapping_view.clearSelection()
        selection.blockSignals(blocked)
        checked = slot_columns(project, source, self.slot) if self.slot else []
        self.columns_model.update(project, profile, checked, used_by(project, source, slots),
                                  editable and loaded is not None and self.slot is not None)
        self.columns_view.setEnabled(editable)
        self.mapping_view.setEnabled(editable)
        chosen = self.mapping_model.rows[row] if row >= 0 else None
        self._show_note(chosen, loaded is not None, editable)

    def _show_note(self, chosen, loaded: bool, editable: bool) -> None:
        task = self.scope_task()
        waiting = Path(self.candidate[0].path).name \
            if not editable and self.candidate is not None else None
        text, severity = mapping_note(
            self.document.project, self.slot, chosen, notice=self.mapping_notice,
            waiting_for=waiting, shared_by=task.name if task and task.data is None else None,
            loaded=loaded)
        self.mapping_note.set_note(text, {"error": ERROR_COLOR, "warning": WARNING_COLOR}
                                   .get(severity, ""))
        fix = chosen.data_shape if chosen is not None and editable else None
        self.shape_button.setVisible(fix is not None)
        if fix is not None:
            self.shape_button.setText(f"Set shape {format_shape(fix)}")

    # --- reading (the document's store reads; the panel shows) -----------------------

    def _shown_source(self) -> DataSource:
        return self.candidate[0] if self._shown_key() != self.current_key() \
            else self.current_source()

    def _read_started(self, key: str) -> None:
        if key == self._shown_key():
            self.progress_bar.setValue(0)
            self._show_reading(self._shown_source(), key)
        self.read_started.emit(key)

    def _read_head(self, key: str, head) -> None:
        if key == self._shown_key() and self.store.loaded(key) is None:
            self._set_preview(head)

    def _read_progress(self, key: str, fraction: float) -> None:
        if key == self._shown_key():
            self.progress_bar.setValue(int(fraction * 1000))

    def _read_finished(self, key: str, loaded: Loaded) -> None:
        # The store has given the document the profile already.
        if self.candidate is not None and key == self.candidate[2]:
            source, owner = self.candidate[0], self.candidate[1]
            self._drop_candidate()
            project = self.document.project
            current = project.task(owner).data if owner in {t.name for t in project.tasks} \
                else project.data
            # The same file chosen again is read afresh but is no edit (and
            # keeps the fingerprint it was saved with).
            if current is None or dataclasses.replace(
                    source, fingerprint=current.fingerprint) != current:
                self._push_source(source, owner)
        self._show()
        self.read_finished.emit(key)

    def _read_failed(self, key: str, message: str) -> None:
        if self.candidate is not None and key == self.candidate[2]:
            self._drop_candidate()
            self.notice = f"{message} (the data was not changed)"
        self._show()
        self.read_failed.emit(message)

    def _read_cancelled(self, key: str) -> None:
        if self.candidate is not None and key == self.candidate[2]:
            self._drop_candidate()
        self._show()
        self.read_cancelled.emit(key)

    def _drop_candidate(self) -> None:
        self.candidate = None

    def cancel_read(self) -> None:
        """Stop the read shown (a file being tried, or the current source's)."""
        self.store.cancel(self._shown_key())

    def reload(self) -> None:
        """Read the current source again (the file may have changed)."""
        source, key = self.current_source(), self.current_key()
        if not source.chosen or self.store.is_reading(key):
            return
        self.notice = self.mapping_notice = ""
        self.store.read(source, fresh=True)
        self._show()

    def shutdown(self) -> None:
        """Cancel every read (the window is closing)."""
        self.store.shutdown()

    # --- edits ---------------------------------------------------------------------------

    def _tell(self, text: str, mapping: bool = False) -> None:
        """Say why a gesture failed ("": it did not). A mapping gesture's
        word goes in the mapping's note, whose height is fixed, and leaves
        the line above the lists alone, so ticking never moves the list."""
        if mapping:
            self.mapping_notice = text
        else:
            self.notice, self.mapping_notice = text, ""
        self._show()

    def _push(self, command, mapping: bool = False) -> bool:
        reason = push_or_reason(self.document, command)
        self._tell(reason or "", mapping)
        return reason is None

    def _push_source(self, source: DataSource, owner: str | None) -> bool:
        return self._push(source_command(self.document.project, owner, source))

    def set_scope(self, task_name: str | None) -> None:
        """Show the project's data (None) or a task's."""
        self.scope = task_name
        self.slot = None
        self.notice = self.mapping_notice = ""
        self._show()

    def set_own_data(self, on: bool) -> None:
        """Give the task shown a data set of its own (a copy of the project's
        to start from), or let it use the project's again."""
        task = self.scope_task()
        if task is None or on == (task.data is not None):
            return
        value = dataclasses.replace(self.document.project.data) if on else None
        if value is not None:
            value.inputs = {k: list(v) for k, v in value.inputs.items()}
            value.params = dict(value.params)
        self._push(SetTaskField(task.name, "data", value))

    def choose_kind(self, kind: str) -> None:
        source = self.current_source()
        if kind == source.kind:
            return
        if kind == "generator":
            self.choose_generator(source.generator or next(iter(GENERATORS)))
        elif not self.browse(kind):
            self._show()  # the dialog was cancelled: show the project's kind again

    def browse(self, kind: str | None = None) -> bool:
        """Ask for a file, then open_file it; False when cancelled."""
        source = self.current_source()
        kind = kind or (source.kind if source.kind != "generator" else "csv")
        other = "npz" if kind == "csv" else "csv"
        start = str(Path(source.path).parent) if source.path else str(
            self.document.project_dir or Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the data file", start,
            f"{FILE_FILTERS[kind]};;{FILE_FILTERS[other]};;All files (*)")
        if not path:
            return False
        self.open_file(path)
        return True

    def open_file(self, path) -> None:
        """Try a CSV or NPZ file (by its suffix) as the shown source: its
        first rows show at once; the project takes it once it is read whole.
        The mapping is kept; columns the file lacks are marked."""
        path = Path(path).expanduser().absolute()
        kind = "npz" if path.suffix.lower() == ".npz" else "csv"
        # A new file: the fingerprint of the old one (core/datafiles.py) goes.
        source = dataclasses.replace(self.current_source(), kind=kind, path=str(path),
                                     generator="", params={}, fingerprint=None)
        owner = self.owner()
        key = self.store.key(source)
        if self.candidate is not None and self.candidate[2] != key:
            self.store.cancel(self.candidate[2])  # another file chosen meanwhile
        self._drop_candidate()
        self.notice = self.mapping_notice = ""
        self.candidate = (source, owner, key)
        # Chosen again: read what is there now (a read of it under way will
        # do: one per file).
        self.store.read(source, fresh=True)
        self._show()

    def choose_generator(self, name: str) -> None:
        source = self.current_source()
        if source.kind == "generator" and source.generator == name:
            return
        defaults = {spec.name: spec.default for spec in GENERATORS[name].params}
        self._push_source(dataclasses.replace(source, kind="generator", generator=name,
                                              params=defaults, path="", fingerprint=None),
                          self.owner())

    def set_generator_param(self, name: str, value) -> bool:
        """Set one parameter of the generator shown; False (and the reason
        under the field) when the value is refused."""
        source = self.current_source()
        generator = GENERATORS.get(source.generator)
        spec = next((s for s in generator.params if s.name == name), None) if generator else None
        if spec is None:
            return False
        field = self.param_fields.get(name)
        try:
            value = spec.check(value)
        except ValueError as exc:
            if field is not None:
                field.error.show_reason(str(exc))
                field.show_value(source.params.get(name, spec.default))
            return False
        if field is not None:
            field.error.show_reason(None)
        if source.params.get(name, spec.default) == value and name in source.params:
            return True
        params = {**source.params, name: value}
        return self._push_source(dataclasses.replace(source, params=params), self.owner())

    def _param_committed(self, field: ParamField) -> None:
        self.set_generator_param(field.spec.name, field.value())

    def set_input_columns(self, input_id: str, columns: list[str]) -> bool:
        """Map columns to an Input node and set its shape from them: one undo step."""
        source = self.current_source()
        loaded = self.current_loaded()
        try:
            command = map_input(self.document.project, self.owner(), source, input_id,
                                list(columns), loaded.profile if loaded else None)
        except ValueError as exc:
            self._tell(str(exc), mapping=True)
            return False
        if command is None:
            self._tell("", mapping=True)
            return True
        return self._push(command, mapping=True)

    def use_data_shape(self) -> bool:
        """Give the chosen Input the shape its columns have (one undo step)."""
        if self.slot is None or self.slot.kind != INPUT:
            return False
        return self.set_input_columns(
            self.slot.key, slot_columns(self.document.project, self.current_source(), self.slot))

    def set_target_columns(self, task_name: str, columns: list[str]) -> bool:
        if list(self.document.project.task(task_name).target) == list(columns):
            return True
        return self._push(SetTaskField(task_name, "target", list(columns)), mapping=True)

    def set_standardize(self, which: str, on: bool) -> bool:
        """which: "inputs" or "targets"."""
        source = self.current_source()
        field = f"standardize_{which}"
        if getattr(source, field) == on:
            return True
        return self._push_source(dataclasses.replace(source, **{field: on}), self.owner())

    def set_validation_split(self, value: float) -> bool:
        if self.document.project.training.validation_split == value:
            return True
        return self._push(SetTraining("validation_split", value))

    def set_test_split(self, value: float) -> bool:
        if self.document.project.training.test_split == value:
            return True
        return self._push(SetTraining("test_split", value))

    # --- mapping gestures -----------------------------------------------------------

    def choose_slot(self, slot: Slot | None) -> None:
        """Choose the mapping row whose columns the check boxes edit."""
        self.slot = slot
        self.mapping_notice = ""
        self._show()

    def _slot_chosen(self) -> None:
        rows = self.mapping_view.selectionModel().selectedRows()
        if rows:
            self.choose_slot(self.mapping_model.slot_at(rows[0].row()))

    def _column_toggled(self, name: str, on: bool) -> None:
        if self.slot is None:
            return
        project = self.document.project
        columns = slot_columns(project, self.current_source(), self.slot)
        if on and name not in columns:
            # Keep the data's column order: features stay in file order.
            order = self.columns_model.names()
            columns = sorted(columns + [name],
                             key=lambda c: order.index(c) if c in order else len(order))
        elif not on:
            columns = [c for c in columns if c != name]
        if self.slot.kind == INPUT:
            self.set_input_columns(self.slot.key, columns)
        elif self.slot.kind == TARGET:
            self.set_target_columns(self.slot.key, columns)
