"""The Tasks table as a new user meets it (issue 11): renaming a task
renames its head, the table is as tall as its tasks, the loss editor is
wide enough to read. And the Problems list's way to the data."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QVBoxLayout, QWidget

from mtl_studio.core.commands import SetData, SetTaskField, add_task_head
from mtl_studio.core.tasks import LOSSES, Task
from mtl_studio.ui.problems_panel import ProblemsPanel
from mtl_studio.ui.tasks_panel import LOSS, MAX_ROWS, NAME, TasksPanel
from tests.helpers import node, two_task_project, with_data
from tests.ui.test_panels import edit_cell, show


def with_heads(n: int = 2):
    """two_task_project with n heads added on the trunk: task_1 .. task_n,
    each task_N_hidden -> task_N_out."""
    p = two_task_project()
    for _ in range(n):
        add_task_head(p, "shared").do(p)
    return p


def node_names(project):
    return {n.name for n in project.nodes.values()}


# --- renaming (item 6) -----------------------------------------------------------------


def test_renaming_a_task_renames_its_head_in_one_undo_step(qtbot, make_document):
    document = make_document(with_heads())
    panel = show(qtbot, TasksPanel(document))
    steps = document.undo_stack.index
    edit_cell(qtbot, panel, 2, NAME, "heating")
    project = document.project
    assert [t.name for t in project.tasks] == ["a", "b", "heating", "task_2"]
    assert {"heating_hidden", "heating_out", "task_2_hidden"} <= node_names(project)
    assert "task_1_hidden" not in node_names(project)
    assert document.undo_stack.index == steps + 1
    assert panel.model.index(2, 6).data() == "heating_out"  # the Output column follows
    document.undo()
    assert {"task_1_hidden", "task_1_out"} <= node_names(project)
    assert project.tasks[2].name == "task_1"


def test_a_head_node_whose_new_name_is_taken_keeps_its_name_and_the_user_hears(
    qtbot, make_document
):
    project = with_heads()
    node(project, "heating_hidden", "Dense")
    document = make_document(project)
    panel = show(qtbot, TasksPanel(document))
    with qtbot.waitSignal(document.message) as blocker:
        edit_cell(qtbot, panel, 2, NAME, "heating")
    assert blocker.args == [
        "Node 'task_1_hidden' keeps its name: a node named "
        "'heating_hidden' already exists, rename one of them"
    ]
    assert "heating_out" in node_names(document.project)


# --- sizes (item 8) --------------------------------------------------------------------


def fully_shown_rows(panel) -> int:
    viewport = panel.view.viewport().rect()
    return sum(
        viewport.contains(panel.view.visualRect(panel.model.index(row, NAME)))
        for row in range(panel.model.rowCount())
    )


def squeezed(qtbot, panel):
    """The panel in a box as small as its layout allows, as in a crowded dock."""
    box = QWidget()
    QVBoxLayout(box).addWidget(panel)
    show(qtbot, box)
    box.resize(box.minimumSizeHint())
    qtbot.waitUntil(lambda: box.size() == box.minimumSizeHint())
    return box


def test_the_table_shows_every_task_up_to_a_limit_then_scrolls(qtbot, make_document):
    for heads, shown in ((2, 4), (MAX_ROWS - 2, MAX_ROWS), (MAX_ROWS + 2, MAX_ROWS)):
        panel = TasksPanel(make_document(with_heads(heads)))
        box = squeezed(qtbot, panel)  # noqa: F841  (kept, or the box and panel go)
        assert fully_shown_rows(panel) == shown, heads


def test_the_table_makes_room_as_tasks_are_added(qtbot, make_document):
    document = make_document()
    panel = TasksPanel(document)
    box = squeezed(qtbot, panel)
    for _ in range(3):
        qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    box.resize(box.minimumSizeHint())
    qtbot.waitUntil(lambda: fully_shown_rows(panel) == min(5, MAX_ROWS))


def test_the_table_grows_with_its_dock(qtbot, make_document):
    panel = TasksPanel(make_document())
    box = squeezed(qtbot, panel)
    small = panel.view.height()
    box.resize(box.width(), box.height() + 200)
    qtbot.waitUntil(lambda: panel.view.height() >= small + 200)


def test_the_loss_editor_is_wide_enough_to_read_every_loss(qtbot, make_document):
    project = two_task_project()
    project.task("b").loss = "mse"  # a column as narrow as "mse"
    panel = show(qtbot, TasksPanel(make_document(project)))
    panel.view.edit(panel.model.index(1, LOSS))
    combo = panel.view.viewport().findChild(QComboBox)
    longest = max(combo.fontMetrics().horizontalAdvance(loss) for loss in LOSSES)
    assert panel.view.columnWidth(LOSS) < longest  # the cell alone would not do
    assert combo.width() > longest
    assert combo.view().minimumWidth() > longest


def test_columns_fit_their_content(qtbot, make_document):
    project = two_task_project()
    project.add_task(Task("a_rather_long_task_name"))
    panel = show(qtbot, TasksPanel(make_document(project)))
    metrics = panel.view.fontMetrics()
    assert panel.view.columnWidth(NAME) > metrics.horizontalAdvance("a_rather_long_task_name")
    assert panel.view.columnWidth(LOSS) > metrics.horizontalAdvance(
        "sparse_categorical_crossentropy"
    )


# --- the Problems list leads to the data (item 4) ----------------------------------------


def test_no_data_is_a_problem_that_leads_to_the_data(qtbot, make_document):
    document = make_document()  # two_task_project: no data chosen
    panel = show(qtbot, ProblemsPanel(document))
    tree = panel.tree
    item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(1) == "data"
    )
    assert item.text(0) == "Error"
    assert item.text(2) == "no data is chosen: choose a file or a generator in the Data panel"
    with qtbot.waitSignal(panel.data_activated) as blocker:
        qtbot.mouseClick(
            tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center()
        )
    assert blocker.args == [""]


def test_a_window_without_data_cannot_train_and_says_why(qtbot, make_window, tmp_path):
    window = make_window(two_task_project())
    assert not window.act_train.isEnabled()
    assert window.act_train.toolTip() == (
        "Cannot train: fix the project's errors first: data: no data is chosen: choose a "
        "file or a generator in the Data panel"
    )
    fitting = with_data(two_task_project(), tmp_path)
    for task in fitting.tasks:
        window.document.push(SetTaskField(task.name, "target", task.target))
    window.document.push(SetData(fitting.data))
    # Train comes on once the file is read and found to fit.
    qtbot.waitUntil(lambda: bool(window.document.data_profiles) and window.act_train.isEnabled())


def front_tabs(window) -> set[str]:
    """The titles of the dock panels in front of their tab groups."""
    from PySide6.QtWidgets import QTabBar

    return {
        bar.tabText(bar.currentIndex())
        for bar in window.findChildren(QTabBar)
        if bar.count() and bar.parent() is window
    }


def test_clicking_the_no_data_problem_shows_the_data_panel(qtbot, make_window):
    window = make_window(two_task_project())
    window.docks[1].raise_()  # the Inspector in front of the Data panel
    qtbot.waitUntil(lambda: "Inspector" in front_tabs(window), timeout=1000)
    assert "Data" not in front_tabs(window)
    tree = window.problems_panel.tree
    item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(1) == "data"
    )
    qtbot.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center()
    )
    qtbot.waitUntil(lambda: "Data" in front_tabs(window), timeout=1000)
