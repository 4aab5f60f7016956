"""The Data panel's edits: each gesture of the user on the panel (a source
chosen, a parameter set, a column ticked, a split changed) made into one
undoable command through document.push, or refused with a reason the
panel shows. A file is the exception: open_file only starts its read, and
the panel pushes the command once the file is read whole
(DataPanel._read_finished), so a bad file changes nothing.

DataEdits is a mixin of data_panel.DataPanel. The state it changes (whose
data is shown, the mapping row, the notices, the file being tried) is the
panel's, and it shows the outcome through the panel's _show.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..core.commands import SetTaskField, SetTraining
from ..core.settings import DataSource
from ..data.generators import GENERATORS
from .data_mapping import INPUT, TARGET, Slot, map_input, slot_columns, source_command
from .inspector import ParamField
from .widgets import push_or_reason

FILE_FILTERS = {"csv": "CSV files (*.csv)", "npz": "NPZ files (*.npz)"}


class DataEdits:
    """The Data panel's gestures, made into commands. Mixed into DataPanel
    (a QWidget, the parent of the file dialog), it expects of the panel:

    - document (the Document pushed to) and store (its DataStore);
    - the state of what is shown: scope, slot, candidate, notice,
      mapping_notice and param_fields (see DataPanel.__init__);
    - the widgets it reads: mapping_view, mapping_model, columns_model
      (data_panel_widgets.build_widgets);
    - scope_task(), owner(), current_source(), current_loaded(),
      _drop_candidate(), and _show() to show the project again after a
      gesture.
    """

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
        start = (
            str(Path(source.path).parent)
            if source.path
            else str(self.document.project_dir or Path.home())
        )
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose the data file",
            start,
            f"{FILE_FILTERS[kind]};;{FILE_FILTERS[other]};;All files (*)",
        )
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
        self.try_file(kind, path)

    def try_file(self, kind: str, path: Path, **fields) -> None:
        """Read a file source of `kind` (with `fields` of its own) as the
        candidate the project takes once it is read whole."""
        # A new file: the fingerprint of the old one (core/datafiles.py) goes.
        source = dataclasses.replace(
            self.current_source(),
            kind=kind,
            path=str(path),
            generator="",
            params={},
            fingerprint=None,
            **fields,
        )
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
        self._push_source(
            dataclasses.replace(
                source, kind="generator", generator=name, params=defaults, path="", fingerprint=None
            ),
            self.owner(),
        )

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
            command = map_input(
                self.document.project,
                self.owner(),
                source,
                input_id,
                list(columns),
                loaded.profile if loaded else None,
            )
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
            self.slot.key, slot_columns(self.document.project, self.current_source(), self.slot)
        )

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

    # --- mapping gestures ---------------------------------------------------------------

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
            columns = sorted(
                columns + [name], key=lambda c: order.index(c) if c in order else len(order)
            )
        elif not on:
            columns = [c for c in columns if c != name]
        if self.slot.kind == INPUT:
            self.set_input_columns(self.slot.key, columns)
        elif self.slot.kind == TARGET:
            self.set_target_columns(self.slot.key, columns)
