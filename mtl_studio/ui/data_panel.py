"""The Data panel: choose the project's data (a built-in generator, or a CSV
or NPZ file), see its first rows and columns, map columns to the Input
nodes and the tasks' targets, and set standardisation and the validation
and test splits. In alternating mode a task may have a data set of its own.

The panel is in three parts. Its widgets are built in
ui/data_panel_widgets.py; the edits its gestures make (each one undo step
through document.push) are the DataEdits mixin of ui/data_edits.py; this
module shows the project and its data again on each change, and joins the
other two: it connects the widgets' signals to the edits. What the
sources hold (the first rows and the profile of each) is read and kept by
the document's DataStore (ui/data_store.py), off the GUI thread, with or
without this panel: the panel shows it, asks for the reads the user
chooses, and follows the store's signals. A newly chosen file becomes the
project's source only once all of it has been read without a problem, so
a bad or cancelled file leaves the project as it was.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from ..core.commands import Macro, SetParam
from ..core.params import format_shape
from ..core.settings import DataSource
from ..data.errors import DataError
from ..data.generators import GENERATORS
from ..data.images import guess_fields
from ..data.table import read_csv_head
from .data_edits import DataEdits
from .data_loader import Loaded, cell_text, source_path
from .data_mapping import (
    TARGET,
    Slot,
    mapping_note,
    scope_slots,
    slot_columns,
    source_command,
    used_by,
)
from .data_panel_widgets import build_widgets

# Defined here before the split; still importable from here.
from .data_panel_widgets import CompactTableView, NoteLabel, table_height  # noqa: F401
from .data_store import DataStore
from .document import Document
from .image_preview import THUMBNAILS, Thumb
from .inspector import ParamField
from .signals import connect_all
from .widgets import ERROR_COLOR, WARNING_COLOR, DocumentView

# Widest a preview or column-table column starts (the user can widen it).
MAX_COLUMN_WIDTH = 180
# Preview rows whose text sets the column widths.
FIT_ROWS = 30
# Events that cannot change what the panel shows.
_IGNORED = ("node_moved",)


class DataPanel(DataEdits, DocumentView):
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
        build_widgets(self)
        self._follow_widgets()
        self.set_document(document)

    def _follow_widgets(self) -> None:
        """The widgets' signals to the edits (and to reload and cancel_read).
        Connected here, not where the widgets are built: that module knows
        nothing of the edits, and the panel has both."""
        self.scope_combo.activated.connect(lambda i: self.set_scope(self.scope_combo.itemData(i)))
        self.own_data_check.clicked.connect(self.set_own_data)
        self.kind_combo.activated.connect(lambda i: self.choose_kind(self.kind_combo.itemData(i)))
        self.generator_combo.activated.connect(
            lambda i: self.choose_generator(self.generator_combo.itemData(i))
        )
        self.browse_button.clicked.connect(lambda: self.browse())
        self.reload_button.clicked.connect(self.reload)
        self.cancel_button.clicked.connect(self.cancel_read)
        self.shape_button.clicked.connect(self.use_data_shape)
        self.mapping_view.selectionModel().selectionChanged.connect(self._slot_chosen)
        self.columns_model.toggled.connect(self._column_toggled)
        self.standardize_inputs_check.clicked.connect(lambda on: self.set_standardize("inputs", on))
        self.standardize_targets_check.clicked.connect(
            lambda on: self.set_standardize("targets", on)
        )
        self.split_spin.valueChanged.connect(self.set_validation_split)
        self.test_spin.valueChanged.connect(self.set_test_split)
        self.image_fields.changed.connect(self.set_image_field)

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
        return (
            task.data if task is not None and task.data is not None else self.document.project.data
        )

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
        pairs = (
            (store.started, self._read_started),
            (store.preview_ready, self._read_head),
            (store.progress, self._read_progress),
            (store.profile_ready, self._read_finished),
            (store.failed, self._read_failed),
            (store.cancelled, self._read_cancelled),
        )
        connect_all(pairs, on)

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
        images = shown.kind == "images"
        self.source_form.setRowVisible(self.image_fields, images)
        self.source_form.setRowVisible(self.thumbnails, images)
        self.image_fields.setEnabled(editable)
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

        if images:
            self._show_images(shown)
        self._show_mapping(source, None if trying else self.current_loaded(), not trying)
        self.standardize_inputs_check.setChecked(source.standardize_inputs)
        self.standardize_targets_check.setChecked(source.standardize_targets)
        for widget in (self.standardize_inputs_check, self.standardize_targets_check):
            widget.setEnabled(not trying and (self.scope is None or self.owner() is not None))
        for spin, value in (
            (self.split_spin, project.training.validation_split),
            (self.test_spin, project.training.test_split),
        ):
            blocked = spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(blocked)

    def _show_scope(self) -> None:
        project = self.document.project
        per_task = project.training.mode == "alternating" or any(
            t.data is not None for t in project.tasks
        )
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
            self.generator_description.setText(
                generator.description if generator else "Choose a generator."
            )
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
                self.param_fields[spec.name].show_value(source.params.get(spec.name, spec.default))

    def _show_reading(self, shown: DataSource, key: str) -> None:
        reading = self.store.is_reading(key)
        # In the same place: the progress while reading, else what was read.
        self.progress_row.setVisible(reading)
        self.status_label.setVisible(not reading)
        loaded = self.store.loaded(key)
        if loaded is not None:
            profile = loaded.profile
            status = (
                f"{profile.rows:,} rows, {len(profile.columns)} "
                f"column{'s' if len(profile.columns) != 1 else ''}"
            )
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
            header.resizeSection(
                column, min(MAX_COLUMN_WIDTH, metrics.horizontalAdvance(longest) + padding)
            )

    def _show_mapping(self, source: DataSource, loaded: Loaded | None, editable: bool) -> None:
        project = self.document.project
        profile = loaded.profile if loaded is not None else None
        slots = scope_slots(project, self.scope)
        self.mapping_model.update(project, source, slots, profile)
        height = (
            self.mapping_view.horizontalHeader().sizeHint().height()
            + sum(self.mapping_view.rowHeight(r) for r in range(len(slots)))
            + 4
        )
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
        self.columns_model.update(
            project,
            profile,
            checked,
            used_by(project, source, slots),
            editable and loaded is not None and self.slot is not None,
        )
        self.columns_view.setEnabled(editable)
        self.mapping_view.setEnabled(editable)
        chosen = self.mapping_model.rows[row] if row >= 0 else None
        self._show_note(chosen, loaded is not None, editable)

    def _show_note(self, chosen, loaded: bool, editable: bool) -> None:
        task = self.scope_task()
        waiting = (
            Path(self.candidate[0].path).name
            if not editable and self.candidate is not None
            else None
        )
        text, severity = mapping_note(
            self.document.project,
            self.slot,
            chosen,
            notice=self.mapping_notice,
            waiting_for=waiting,
            shared_by=task.name if task and task.data is None else None,
            loaded=loaded,
        )
        self.mapping_note.set_note(
            text, {"error": ERROR_COLOR, "warning": WARNING_COLOR}.get(severity, "")
        )
        fix = chosen.data_shape if chosen is not None and editable else None
        self.shape_button.setVisible(fix is not None)
        if fix is not None:
            self.shape_button.setText(f"Set shape {format_shape(fix)}")

    # --- an image folder (ui/image_preview.py) ---------------------------------------

    def _show_images(self, source: DataSource) -> None:
        """The image fields, and thumbnails of the first images with their
        rows and targets (from the CSV's first rows, read here: a few KB)."""
        head = self._csv_head(source)
        self.image_fields.show_source(source, list(head.columns) if head is not None else [])
        thumbs = []
        column = source.image_column
        if head is not None and column in head.columns:
            slots = scope_slots(self.document.project, self.scope)
            targets = [
                name
                for slot in slots
                if slot.kind == TARGET
                for name in self.document.project.task(slot.key).target
                if name in head.columns and name != column
            ] or [name for name in head.columns if name != column]
            folder = Path(head.source).parent
            for i, text in enumerate(head.columns[column][:THUMBNAILS].tolist()):
                caption = ", ".join(cell_text(head.columns[name][i]) for name in targets)
                path = folder / os.path.normpath(str(text))
                thumbs.append(Thumb(head.first_row + i, path, caption, str(text)))
        self.thumbnails.show_thumbs(thumbs)

    def _csv_head(self, source: DataSource):
        """The first rows of an image folder's CSV file, kept while the file
        is unchanged; None when it cannot be read (the read says why)."""
        path = source_path(source, self.document.project_dir)
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if getattr(self, "_image_head", (None, None))[0] != key:
            try:
                head = read_csv_head(path, rows=THUMBNAILS)
            except DataError:
                head = None
            self._image_head = (key, head)
        return self._image_head[1]

    def choose_kind(self, kind: str) -> None:
        if kind == "images" and self.current_source().kind != "images":
            if not self.browse("images"):
                self._show()  # cancelled: show the project's kind again
            return
        super().choose_kind(kind)

    def browse(self, kind: str | None = None) -> bool:
        """Ask for a file; an image folder's is its CSV file of image paths."""
        source = self.current_source()
        if (kind or source.kind) != "images":
            return super().browse(kind)
        start = (
            str(Path(source.path).parent)
            if source.path
            else str(self.document.project_dir or Path.home())
        )
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the CSV file of image paths", start, "CSV files (*.csv);;All files (*)"
        )
        if not path:
            return False
        self.open_images(path)
        return True

    def open_images(self, path) -> None:
        """Try a CSV file of image paths as the shown source, as open_file
        tries a file: the project takes it once it and its images are read
        whole. A new file's image column and size are guessed from it."""
        path = Path(path).expanduser().absolute()
        current = self.current_source()
        same = current.kind == "images" and current.path == str(path)
        guessed = {} if same else guess_fields(path)
        if not same and "image_column" not in guessed:
            self._tell(
                f"{path.name}: no column of its first rows names .png or .jpg files: "
                "give the CSV file a column of image paths (the data was not changed)"
            )
            return
        self.try_file("images", path, **guessed)

    def set_image_field(self, name: str, value) -> bool:
        """Set one field of the image folder shown: one undo step. A new size
        or channels also reshapes the Inputs fed by the image column."""
        source = self.current_source()
        if source.kind != "images" or getattr(source, name) == value:
            return True
        changed = dataclasses.replace(source, **{name: value})
        project = self.document.project
        commands = [source_command(project, self.owner(), changed)]
        shape = [changed.image_height, changed.image_width, changed.image_channels]
        for input_id, columns in changed.inputs.items():
            if (
                columns == [changed.image_column]
                and input_id in project.nodes
                and list(project.node(input_id).params.get("shape") or []) != shape
            ):
                commands.append(SetParam(input_id, "shape", shape))
        if len(commands) == 1:
            return self._push(commands[0])
        return self._push(Macro(f"Set {name.replace('_', ' ')}", commands))

    # --- reading (the document's store reads; the panel shows) -----------------------

    def _shown_source(self) -> DataSource:
        return (
            self.candidate[0] if self._shown_key() != self.current_key() else self.current_source()
        )

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
            current = (
                project.task(owner).data
                if owner in {t.name for t in project.tasks}
                else project.data
            )
            # The same file chosen again is read afresh but is no edit (and
            # keeps the fingerprint it was saved with).
            if (
                current is None
                or dataclasses.replace(source, fingerprint=current.fingerprint) != current
            ):
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
