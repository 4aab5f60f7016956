"""The Data panel: choosing a source, the preview, the mapping (with the
Input's shape from the data as one undo step), preparation settings,
per-task data, bad files, cancelling a read, and profiles for validation."""

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mtl_studio.core.commands import SetParam, SetTaskField
from mtl_studio.core.data_profile import source_key
from mtl_studio.core.settings import DataSource
from mtl_studio.data.table import ReadCancelled
from mtl_studio.examples import examples
from mtl_studio.ui import data_loader
from mtl_studio.ui.background import wait_for_background
from mtl_studio.ui.data_mapping import CLASSES, TARGET, TYPE, USE, Slot
from mtl_studio.ui.data_panel import DataPanel
from mtl_studio.ui.document import Document
from tests.helpers import two_task_project

WAIT = 10_000  # ms; reads of these small files take a few


def write_csv(path, rows=30):
    """x1..x3 numeric, color a label of 3 values, y numeric, k class ids 0..2."""
    lines = ["x1,x2,x3,color,y,k"]
    for i in range(rows):
        lines.append(
            f"{i * 0.5},{i % 7},{-i},{('red', 'green', 'blue')[i % 3]},{i * 1.5 + 0.25},{i % 3}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def panel(data_panel):
    return data_panel  # tests/ui/conftest.py


@pytest.fixture
def csv_file(tmp_path):
    return write_csv(tmp_path / "data.csv")


def open_and_wait(qtbot, panel, path):
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.open_file(path)


def column_row(panel, name):
    return panel.columns_model.names().index(name)


def column_text(panel, name, column):
    model = panel.columns_model
    return model.data(model.index(column_row(panel, name), column))


def tick(panel, name, on=True):
    """Tick a column's box as a click does."""
    model = panel.columns_model
    state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
    model.setData(
        model.index(column_row(panel, name), USE), state.value, Qt.ItemDataRole.CheckStateRole
    )


# --- choosing a file ------------------------------------------------------------


def test_a_chosen_csv_shows_rows_types_and_classes(qtbot, panel, csv_file):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    data = document.project.data
    assert (data.kind, data.path) == ("csv", str(csv_file.absolute()))
    assert panel.preview_model.rowCount() == 30
    assert panel.preview_model.columnCount() == 6
    # Rows are numbered as in the file: the header is row 1.
    assert panel.preview_model.headerData(0, Qt.Orientation.Vertical) == "2"
    assert panel.status_label.text() == "30 rows, 6 columns"
    assert column_text(panel, "x1", TYPE) == "numeric"
    assert column_text(panel, "color", TYPE) == "class label"
    assert column_text(panel, "color", CLASSES) == "3"
    assert column_text(panel, "k", CLASSES) == "3"  # whole numbers, few values
    assert column_text(panel, "y", CLASSES) == ""
    assert not panel.error.isVisible()
    # The profile reached the document, for validation.
    profile = document.data_profiles[source_key(data, document.project_dir)]
    assert profile.rows == 30 and profile.columns["color"].classes == 3


def test_choosing_a_file_is_one_undo_step_and_the_panel_follows(qtbot, panel, csv_file):
    document = panel.document
    before = document.project.data
    open_and_wait(qtbot, panel, csv_file)
    assert document.undo_stack.index == 1
    document.undo()
    assert document.project.data == before
    assert panel.kind_combo.currentData() == "generator"
    document.redo()
    assert panel.kind_combo.currentData() == "csv"
    assert panel.path_edit.text() == str(csv_file.absolute())
    assert panel.preview_model.rowCount() == 30  # from what was read, not read again
    # The same file chosen again is read again, but is no edit.
    open_and_wait(qtbot, panel, csv_file)
    assert document.undo_stack.index == 1


# --- mapping --------------------------------------------------------------------


def test_mapping_an_inputs_columns_sets_its_shape_in_one_undo_step(qtbot, panel, csv_file):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    assert panel.slot == Slot("input", "x")  # the first row is chosen
    steps = document.undo_stack.index
    tick(panel, "x1")
    tick(panel, "x3")
    tick(panel, "x2")
    assert document.project.data.inputs == {"x": ["x1", "x2", "x3"]}  # the file's order
    assert document.project.node("x").params["shape"] == (3,)
    assert document.undo_stack.index == steps + 3
    assert column_text(panel, "x2", 4) == "x"  # used by
    document.undo()
    assert document.project.data.inputs == {"x": ["x1", "x3"]}
    assert document.project.node("x").params["shape"] == (2,)
    document.undo()
    document.undo()
    # Undo restores both the mapping and the shape.
    assert document.project.data.inputs == {}
    assert document.project.node("x").params["shape"] == (10,)
    assert panel.mapping_model.rows[0].columns == "none"


def test_a_tasks_target(qtbot, panel, csv_file):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    row = panel.mapping_model.row_of(Slot(TARGET, "b"))
    panel.mapping_view.selectRow(row)
    assert panel.slot == Slot(TARGET, "b")
    tick(panel, "color")
    assert document.project.task("b").target == ["color"]
    model = panel.mapping_model
    assert model.data(model.index(row, 2)) == "3 classes"
    assert (
        panel.columns_model.data(
            panel.columns_model.index(column_row(panel, "color"), USE),
            Qt.ItemDataRole.CheckStateRole,
        )
        == Qt.CheckState.Checked.value
    )
    assert panel.set_target_columns("a", ["y"])
    assert document.project.task("a").target == ["y"]
    document.undo()
    assert document.project.task("a").target == []


def test_an_npz_array_gives_the_input_its_shape(qtbot, panel, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((12, 4, 2)), y=np.arange(12) % 3)
    open_and_wait(qtbot, panel, path)
    assert column_text(panel, "images", TYPE) == "numeric (4, 2)"
    assert panel.set_input_columns("x", ["images"])
    assert panel.document.project.node("x").params["shape"] == (4, 2)
    # An array of several values per example cannot be stacked with a column.
    steps = panel.document.undo_stack.index
    assert not panel.set_input_columns("x", ["images", "y"])
    # Said under the mapping table, where the tick was (not above the lists).
    assert "cannot be stacked" in panel.mapping_note.full
    assert not panel.error.isVisible()
    assert panel.document.undo_stack.index == steps


def test_columns_the_data_lacks_are_marked(qtbot, panel, csv_file, tmp_path):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    panel.set_input_columns("x", ["x1", "x2"])
    other = tmp_path / "other.csv"
    other.write_text("x1,z\n1,2\n3,4\n")
    open_and_wait(qtbot, panel, other)
    assert document.project.data.inputs == {"x": ["x1", "x2"]}  # the mapping is kept
    row = panel.mapping_model.rows[0]
    assert row.severity == "error" and "x2" in row.problem


# --- preparation ------------------------------------------------------------------


def test_standardisation_and_validation_split(qtbot, panel, csv_file):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    assert panel.standardize_inputs_check.isChecked()
    panel.standardize_inputs_check.click()
    assert document.project.data.standardize_inputs is False
    panel.standardize_targets_check.click()
    assert document.project.data.standardize_targets is True
    panel.split_spin.setValue(0.3)
    assert document.project.training.validation_split == pytest.approx(0.3)
    document.undo()
    assert document.project.training.validation_split == pytest.approx(0.2)
    assert panel.split_spin.value() == pytest.approx(0.2)
    document.undo()
    assert panel.standardize_targets_check.isChecked() is False


# --- generators -------------------------------------------------------------------


def test_generator_parameters_and_preview(qtbot, panel):
    document = panel.document
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.choose_generator("tutorial_uniform")
    assert document.project.data.generator == "tutorial_uniform"
    assert document.project.data.params == {"examples": 1000, "high": 1.0, "seed": 0}
    assert panel.preview_model.rowCount() == 100  # the first hundred of 1000
    assert column_text(panel, "X", TYPE) == "numeric (10,)"
    field = panel.param_fields["examples"]
    assert field.isVisible()
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        field.editor.setValue(40)
        field.editor.editingFinished.emit()
    assert document.project.data.params["examples"] == 40
    assert panel.preview_model.rowCount() == 40
    assert panel.status_label.text() == "40 rows, 3 columns"
    # A refused value says why under its field and changes nothing.
    steps = document.undo_stack.index
    assert not panel.set_generator_param("examples", 0)
    assert "positive integer" in field.error.text()
    assert document.undo_stack.index == steps
    # Mapping X sets the Input's shape from the generator's array.
    panel.set_input_columns("x", ["X"])
    assert document.project.node("x").params["shape"] == (10,)


# --- per-task data ------------------------------------------------------------------


def test_a_task_has_its_own_data_in_alternating_mode(qtbot, make_document, csv_file, tmp_path):
    project = two_task_project()
    project.training.mode = "alternating"
    document = make_document(project)
    panel = DataPanel(document)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.scope_bar.isVisible()
    assert not panel.own_data_check.isVisible()
    panel.set_scope("b")
    assert panel.own_data_check.isVisible() and not panel.own_data_check.isChecked()
    assert "learns from the project's data" in panel.mapping_note.full
    assert not panel.browse_button.isEnabled()  # the project's source is edited in its view
    panel.own_data_check.click()
    assert document.project.task("b").data == document.project.data
    assert document.project.task("b").data is not document.project.data
    other = write_csv(tmp_path / "b.csv", rows=12)
    open_and_wait(qtbot, panel, other)
    assert document.project.task("b").data.path == str(other.absolute())
    assert document.project.data.kind == "generator"  # the project's own is untouched
    # The task's view maps the Inputs that feed it and its own target.
    assert [s.key for s in (r.slot for r in panel.mapping_model.rows)] == ["x", "b"]
    panel.set_input_columns("x", ["x1", "x2"])
    assert document.project.task("b").data.inputs == {"x": ["x1", "x2"]}
    assert document.project.data.inputs == {}
    assert document.project.node("x").params["shape"] == (2,)
    # The project's view lists the tasks that use the project's data.
    panel.set_scope(None)
    assert [r.slot.key for r in panel.mapping_model.rows] == ["x", "a"]
    panel.set_scope("b")
    document.push(SetTaskField("b", "name", "bee"))  # the view follows a rename
    assert panel.scope == "bee" and panel.scope_combo.currentData() == "bee"
    panel.set_own_data(False)
    assert document.project.task("bee").data is None
    document.undo()
    assert document.project.task("bee").data.path == str(other.absolute())
    panel.shutdown()
    wait_for_background()


# --- bad files, cancel --------------------------------------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ("a,b\n1,2\n3,4\n5\n", "row 4"),
        ("a,b\n1,2\n3, \n", "row 3, column 'b': empty cell"),
        ("", "the file is empty"),
        ("a,b\n", "no data rows"),
    ],
)
def test_a_bad_csv_says_where_and_leaves_the_project(qtbot, panel, tmp_path, text, words):
    document = panel.document
    before = document.project.copy()
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with qtbot.waitSignal(panel.read_failed, timeout=WAIT) as failed:
        panel.open_file(path)
    assert words in failed.args[0]
    assert panel.error.isVisible()
    assert words in panel.error.text() and str(path.absolute()) in panel.error.text()
    assert document.project == before
    assert document.undo_stack.index == 0
    assert panel.kind_combo.currentData() == "generator"  # back to the project's source


def test_a_read_in_progress_can_be_cancelled(qtbot, panel, csv_file, monkeypatch):
    real = data_loader.read_csv

    def slow(path, progress=None):
        for i in range(500):
            time.sleep(0.01)
            if progress(i / 500) is False:
                raise ReadCancelled(str(path))
        return real(path, progress)

    monkeypatch.setattr(data_loader, "read_csv", slow)
    document = panel.document
    panel.open_file(csv_file)
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=WAIT)
    assert panel.progress_row.isVisible() and panel.cancel_button.isEnabled()
    # The first rows show while the rest is read.
    assert panel.preview_model.rowCount() == 30
    with qtbot.waitSignal(panel.read_cancelled, timeout=WAIT):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.progress_row.isVisible()
    assert document.project.data.kind == "generator"
    assert document.undo_stack.index == 0


# --- profiles when a document is shown ------------------------------------------------


def test_an_example_is_profiled_when_shown(qtbot, no_leaked_widgets):
    document = Document.from_example(examples()["energy"])
    panel = DataPanel(document)  # the read ends on a later pass of the event loop
    qtbot.addWidget(panel)
    key = source_key(document.project.data)
    qtbot.waitUntil(lambda: key in document.data_profiles, timeout=WAIT)
    profile = document.data_profiles[key]
    assert profile.rows == 768 and len(profile.columns) == 10
    assert profile.columns["orientation"].classes == 4
    assert panel.mapping_model.rows[0].columns.startswith("relative_compactness")
    assert panel.preview_model.rowCount() == 100
    document.close()


def test_a_missing_file_is_reported_in_the_panel(qtbot, make_document, tmp_path):
    project = two_task_project()
    project.data = DataSource("csv", path=str(tmp_path / "gone.csv"))
    panel = DataPanel(make_document(project))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: bool(panel.store.failure(panel.current_key())), timeout=WAIT)
    assert panel.error.isVisible()
    assert "gone.csv" in panel.error.text() and "cannot read the file" in panel.error.text()


def test_a_shape_that_differs_from_the_data_is_fixed_in_one_click(qtbot, panel, csv_file):
    document = panel.document
    open_and_wait(qtbot, panel, csv_file)
    panel.set_input_columns("x", ["x1", "x2"])
    document.push(SetParam("x", "shape", [5]))  # changed elsewhere (the inspector)
    assert panel.shape_button.isVisible()
    assert panel.shape_button.text() == "Set shape (2,)"
    assert "give (2,) per example but x takes (5,)" in panel.mapping_note.full
    steps = document.undo_stack.index
    panel.shape_button.click()
    assert document.project.node("x").params["shape"] == (2,)
    assert document.undo_stack.index == steps + 1
    assert not panel.shape_button.isVisible()
    # Mapping the same columns again changes nothing and adds no undo step.
    assert panel.set_input_columns("x", ["x1", "x2"])
    assert document.undo_stack.index == steps + 1


def test_choosing_another_file_during_a_read(qtbot, panel, csv_file, tmp_path, monkeypatch):
    real = data_loader.read_csv

    def slow(path, progress=None):
        for i in range(100):
            time.sleep(0.01)
            if progress(i / 100) is False:
                raise ReadCancelled(str(path))
        return real(path, progress)

    monkeypatch.setattr(data_loader, "read_csv", slow)
    panel.open_file(csv_file)
    other = write_csv(tmp_path / "other.csv", rows=7)
    with qtbot.waitSignal(
        panel.read_finished, timeout=WAIT, check_params_cb=lambda key: "other.csv" in key
    ):
        panel.open_file(other)
    wait_for_background()
    qtbot.wait(20)  # the first read's end (cancelled) is delivered
    assert panel.document.project.data.path == str(other.absolute())
    assert panel.document.undo_stack.index == 1
    assert panel.preview_model.rowCount() == 7


def test_the_test_share_is_one_undo_step_beside_the_validation_split(panel):
    document = panel.document
    assert panel.test_spin.value() == 0.0
    panel.test_spin.setValue(0.15)
    assert document.project.training.test_split == pytest.approx(0.15)
    assert document.project.training.validation_split == pytest.approx(0.2)
    assert document.undo_stack.index == 1
    document.undo()
    assert document.project.training.test_split == 0.0
    assert panel.test_spin.value() == 0.0
    document.redo()
    assert panel.test_spin.value() == pytest.approx(0.15)
    # Shares that leave no rows to train on are said in the Problems list.
    panel.split_spin.setValue(0.85)
    document.validate_now()
    assert any("leaves none to train on" in p.message for p in document.problems)
