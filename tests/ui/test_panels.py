"""The palette, inspector, tasks and problems panels, driven as a user would."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
)

from mtl_studio.core.commands import SetParam, SetTaskField
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.ui.inspector import Inspector
from mtl_studio.ui.palette import KIND_MIME, LayerPalette, search_kinds
from mtl_studio.ui.problems_panel import ProblemsPanel
from mtl_studio.ui.tasks_panel import LOSS, METRICS, NAME, OUTPUT, WEIGHT, TasksPanel
from tests.helpers import chain, node, two_task_project, with_data


def show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def type_over(qtbot, widget, text):
    """Select what the field holds, type `text` and press Enter."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


# --- palette -------------------------------------------------------------------


def test_search_kinds_puts_prefix_matches_first():
    found = search_kinds("d")
    assert found[:2] == ["Dense", "Dropout"]
    assert "Conv2D" in found and "Flatten" not in found
    assert search_kinds("POOL")[0] == "MaxPooling1D"
    assert search_kinds("zzz") == []


def test_palette_filters_by_name_and_hides_empty_categories(qtbot, no_leaked_widgets):
    palette = show(qtbot, LayerPalette())
    assert len(palette.visible_kinds()) > 20
    qtbot.keyClicks(palette.search, "CONV")
    assert palette.visible_kinds() == ["Conv1D", "Conv2D"]
    groups = [palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())]
    assert [g.text(0) for g in groups if not g.isHidden()] == ["Convolution"]
    palette.search.clear()
    assert len(palette.visible_kinds()) > 20


def test_palette_items_drag_the_kind_name(qtbot, no_leaked_widgets):
    palette = show(qtbot, LayerPalette())
    item = next(i for i in palette.kind_items() if i.text(0) == "Dense")
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert not item.parent().flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert item.toolTip(0) == "Fully connected layer."
    mime = palette.tree.mimeData([item])
    assert KIND_MIME in palette.tree.mimeTypes()
    assert bytes(mime.data(KIND_MIME)) == b"Dense"


def test_palette_enter_activates_a_kind(qtbot, no_leaked_widgets):
    palette = show(qtbot, LayerPalette())
    item = next(i for i in palette.kind_items() if i.text(0) == "Dropout")
    palette.tree.setCurrentItem(item)
    with qtbot.waitSignal(palette.kind_activated) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == ["Dropout"]
    qtbot.keyClicks(palette.search, "flat")
    with qtbot.waitSignal(palette.kind_activated) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["Flatten"]


# --- inspector -----------------------------------------------------------------


def test_inspector_hint_without_a_single_node(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    assert inspector.hint.text() == "Select one node to edit it"
    document.set_selection(["x", "shared", "out_a"])
    assert inspector.hint.text() == "3 nodes selected"
    assert not inspector.scroll.isVisible()
    document.set_selection(["shared"])
    assert inspector.scroll.isVisible() and not inspector.hint.isVisible()
    assert "Dense" in inspector.header.text()
    assert inspector.shape_label.text() == "(16,)"
    assert inspector.weights_label.text() == "176"  # 10 * 16 + 16


def test_inspector_units_edit_is_one_undo_step(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["shared"])
    spin = inspector.fields["units"].editor
    steps = document.undo_stack.index
    type_over(qtbot, spin, "128")
    assert document.project.node("shared").params["units"] == 128
    assert document.undo_stack.index == steps + 1
    document.undo()
    assert document.project.node("shared").params["units"] == 16
    assert spin.value() == 16
    assert document.undo_stack.index == steps


def test_inspector_combo_and_check_box_commit_at_once(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["shared"])
    qtbot.keyClicks(inspector.fields["activation"].editor, "tanh")
    assert document.project.node("shared").params["activation"] == "tanh"
    qtbot.keyClick(inspector.fields["use_bias"].editor, Qt.Key.Key_Space)
    assert document.project.node("shared").params["use_bias"] is False
    assert document.undo_stack.undo_text == "Set use_bias"
    document.undo()
    assert inspector.fields["use_bias"].editor.isChecked()


def test_inspector_refuses_an_excluded_bound_with_its_reason(qtbot, make_document):
    project = two_task_project()
    node(project, "drop", "Dropout")
    document = make_document(project)
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["drop"])
    field = inspector.fields["rate"]
    steps = document.undo_stack.index
    type_over(qtbot, field.editor, "1")  # the spin box allows 1; the spec, [0, 1), does not
    assert field.error.isVisible()
    assert "in [0, 1)" in field.error.text()
    assert field.editor.value() == 0.5
    assert document.project.node("drop").params["rate"] == 0.5
    assert document.undo_stack.index == steps
    type_over(qtbot, field.editor, "0.25")
    assert document.project.node("drop").params["rate"] == 0.25
    assert not field.error.isVisible()


def test_inspector_rename_refused_restores_the_name(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["shared"])
    type_over(qtbot, inspector.name_edit, "head_a")
    assert "already exists" in inspector.name_error.text()
    assert inspector.name_error.isVisible()
    assert inspector.name_edit.text() == "shared"
    assert document.project.node("shared").name == "shared"
    type_over(qtbot, inspector.name_edit, "trunk")
    assert document.project.node("shared").name == "trunk"
    assert not inspector.name_error.isVisible()


def test_inspector_shape_editor_on_an_input(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["x"])
    editor = inspector.fields["shape"].editor
    assert editor.text() == "10"
    type_over(qtbot, editor, "28, 28, 1")
    assert document.project.node("x").params["shape"] == (28, 28, 1)
    type_over(qtbot, editor, "28, 0")
    assert "positive integer" in inspector.fields["shape"].error.text()
    assert editor.text() == "28, 28, 1"
    document.undo()
    assert editor.text() == "10"


def test_inspector_shows_an_outputs_task_and_follows_validation(qtbot, document):
    inspector = show(qtbot, Inspector(document))
    document.set_selection(["out_a"])
    assert inspector.task_label.text() == "a"
    assert inspector.weights_label.text() == "9"  # 8 * 1 + 1
    with qtbot.waitSignal(document.problems_changed):
        document.push(SetParam("x", "shape", (4, 4, 1)))
    document.set_selection(["shared"])
    assert inspector.shape_label.text() == "?"
    assert "flat vector" in inspector.problems_label.text()


# --- tasks panel ---------------------------------------------------------------


def edit_cell(qtbot, panel, row, column, text, editor_type=QLineEdit):
    """Start editing a cell, type over it and press Enter, as a user would."""
    panel.view.edit(panel.model.index(row, column))
    type_over(qtbot, panel.view.viewport().findChild(editor_type), text)
    # The delegate commits a moment after Enter (a queued call).
    qtbot.waitUntil(lambda: panel.view.state() != QAbstractItemView.State.EditingState)


def choose_in_cell(qtbot, panel, row, column, text):
    """Open a combo cell and type the start of a choice."""
    panel.view.edit(panel.model.index(row, column))
    qtbot.keyClicks(panel.view.viewport().findChild(QComboBox), text)


def test_tasks_panel_lists_the_tasks(qtbot, document):
    panel = show(qtbot, TasksPanel(document))
    model = panel.model
    assert model.rowCount() == 2
    assert [model.index(1, c).data() for c in (NAME, LOSS, WEIGHT, METRICS)] == [
        "b",
        "sparse_categorical_crossentropy",
        "1",
        "accuracy",
    ]
    assert model.index(0, 6).data() == "out_a"


def test_tasks_panel_rename_is_undoable_and_refused_names_revert(qtbot, document):
    panel = show(qtbot, TasksPanel(document))
    edit_cell(qtbot, panel, 0, NAME, "alpha")
    assert [t.name for t in document.project.tasks] == ["alpha", "b"]
    assert panel.model.index(0, NAME).data() == "alpha"
    document.undo()
    assert panel.model.index(0, NAME).data() == "a"
    with qtbot.waitSignal(document.message) as blocker:
        edit_cell(qtbot, panel, 0, NAME, "b")
    assert "already exists" in blocker.args[0]
    assert panel.model.index(0, NAME).data() == "a"


def test_tasks_panel_loss_weight_and_metrics_edits(qtbot, document):
    panel = show(qtbot, TasksPanel(document))
    steps = document.undo_stack.index
    choose_in_cell(qtbot, panel, 0, LOSS, "h")
    assert document.project.task("a").loss == "huber"
    edit_cell(qtbot, panel, 0, WEIGHT, "0.25", QDoubleSpinBox)
    assert document.project.task("a").weight == 0.25
    edit_cell(qtbot, panel, 0, METRICS, "mae, rmse")
    assert document.project.task("a").metrics == ["mae", "rmse"]
    assert document.undo_stack.index == steps + 3
    document.undo()
    document.undo()
    document.undo()
    assert document.project == two_task_project()
    assert panel.model.index(0, LOSS).data() == "mse"


def test_tasks_panel_add_and_remove(qtbot, document):
    panel = show(qtbot, TasksPanel(document))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert [t.name for t in document.project.tasks] == ["a", "b", "task_1"]
    assert document.project.task("task_1").output is None
    assert panel.selected_row() == 2
    panel.view.selectRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [t.name for t in document.project.tasks] == ["b", "task_1"]
    assert not panel.remove_button.isEnabled()
    document.undo()
    document.undo()
    assert [t.name for t in document.project.tasks] == ["a", "b"]
    assert panel.model.rowCount() == 2


def test_tasks_panel_offers_the_free_outputs(qtbot, document):
    panel = show(qtbot, TasksPanel(document))
    panel.view.selectRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)  # frees out_a
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    choose_in_cell(qtbot, panel, 1, OUTPUT, "o")  # the choices: none, out_a
    assert document.project.task("task_1").output == "out_a"
    assert panel.model.index(1, OUTPUT).data() == "out_a"


def test_tasks_panel_row_selects_the_output_and_colour_button(qtbot, document, monkeypatch):
    panel = show(qtbot, TasksPanel(document))
    panel.view.selectRow(1)
    assert document.selection == ["out_b"]
    monkeypatch.setattr(QColorDialog, "getColor", lambda *args: QColor("#123456"))
    qtbot.mouseClick(panel.color_button, Qt.MouseButton.LeftButton)
    assert document.project.task_color("b") == "#123456"
    document.push(SetTaskField("b", "loss", "mae"))  # an edit from elsewhere
    assert panel.model.index(1, LOSS).data() == "mae"


# --- problems panel -------------------------------------------------------------


def mismatch_project(folder) -> Project:
    """Input (8, 8, 16) -> Dense -> Output: the Dense needs a flat vector; and
    a task whose loss needs more than its one output unit. Its data, in
    `folder`, fits."""
    p = Project("mismatch")
    node(p, "image", "Input", shape=[8, 8, 16])
    node(p, "dense", "Dense")
    node(p, "out", "Output")
    chain(p, "image", "dense", "out")
    p.add_task(Task("kind", "out", "categorical_crossentropy"))
    return with_data(p, folder)


def test_problems_panel_lists_problems_and_leads_to_them(qtbot, make_document, tmp_path):
    document = make_document(mismatch_project(tmp_path))
    panel = show(qtbot, ProblemsPanel(document))
    tree = panel.tree
    rows = [
        (tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(2))
        for i in range(tree.topLevelItemCount())
    ]
    assert panel.summary_label.text() == "2 errors, 1 warning"
    assert [severity for severity, _ in rows] == ["Error", "Error", "Warning"]
    item = next(
        tree.topLevelItem(i)
        for i, (_, message) in enumerate(rows)
        if "needs a flat vector" in message
    )
    assert item.text(1) == "Dense 'dense'"
    with qtbot.waitSignal(panel.node_activated) as blocker:
        qtbot.mouseClick(
            tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center()
        )
    assert blocker.args == ["dense"]
    assert document.selection == ["dense"]
    task_item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(1) == "task 'kind'"
    )
    with qtbot.waitSignal(panel.task_activated) as blocker:
        qtbot.mouseClick(
            tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(task_item).center()
        )
    assert blocker.args == ["kind"]
    assert document.selection == ["out"]


def test_problems_panel_follows_validation(qtbot, make_document, tmp_path):
    document = make_document(with_data(two_task_project(), tmp_path))
    panel = show(qtbot, ProblemsPanel(document))
    # The document reads its data itself (ui/data_store.py): no Data panel needed.
    qtbot.waitUntil(lambda: bool(document.data_profiles))
    assert panel.summary_label.text() == "No problems"
    with qtbot.waitSignal(document.problems_changed):
        document.push(SetParam("x", "shape", (4, 4, 1)))
    # The Dense cannot take a 3-D input, and the Input no longer fits its columns.
    assert panel.summary_label.text() == "2 errors"
    assert panel.tree.topLevelItem(0).text(1) == "Dense 'shared'"


# --- swapping documents ----------------------------------------------------------


@pytest.mark.parametrize("panel_type", [Inspector, TasksPanel, ProblemsPanel])
def test_set_document_follows_the_new_document_only(qtbot, make_document, panel_type, tmp_path):
    old = make_document()
    panel = show(qtbot, panel_type(old))
    new = make_document(mismatch_project(tmp_path))
    panel.set_document(new)
    assert panel.document is new
    old.push(SetTaskField("a", "name", "renamed"))
    old.set_selection(["shared"])
    old.validate_now()
    if panel_type is TasksPanel:
        assert panel.model.rowCount() == 1
        assert panel.model.index(0, NAME).data() == "kind"
    elif panel_type is Inspector:
        assert panel.hint.isVisible()
        new.set_selection(["dense"])
        assert "Dense" in panel.header.text() and panel.name_edit.text() == "dense"
    else:
        assert panel.summary_label.text() == "2 errors, 1 warning"


def test_inspector_chooses_a_kernel_initializer_the_canvas_leaves_out(qtbot, document):
    from mtl_studio.core.catalogue import INITIALIZERS, get_kind
    from mtl_studio.ui.canvas.items import NodeItem

    inspector = show(qtbot, Inspector(document))
    document.set_selection(["shared"])
    combo = inspector.fields["kernel_initializer"].editor
    assert [combo.itemText(i) for i in range(combo.count())] == list(INITIALIZERS)
    assert combo.currentText() == "glorot_uniform"
    steps = document.undo_stack.index
    combo.setCurrentIndex(INITIALIZERS.index("uniform_0_1"))
    combo.activated.emit(combo.currentIndex())
    node = document.project.node("shared")
    assert node.params["kernel_initializer"] == "uniform_0_1"
    assert document.undo_stack.index == steps + 1
    item = NodeItem("shared")
    item.update_from(node, (16,), "shared", "#2e7d32", 1, [])
    assert "initializer" not in item.params_text and "uniform" not in item.params_text
    assert "kernel_initializer" not in get_kind("Dense").key_params
    document.undo()
    assert combo.currentText() == "glorot_uniform"
