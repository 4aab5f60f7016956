"""The Data panel's layout as a user meets it: the lists take the height
the dock gives them, ticking columns never moves the rows under the mouse,
each setting has one control, and each hint is said once."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QStyle, QStyleOptionViewItem

from mtl_studio.core.commands import SetParam
from mtl_studio.core.settings import DataSource
from mtl_studio.ui.background import wait_for_background
from mtl_studio.ui.data_mapping import USE, Slot
from mtl_studio.ui.data_panel import DataPanel
from tests.helpers import two_task_project

WAIT = 10_000  # ms
COLUMNS = 30


@pytest.fixture
def wide_csv(tmp_path):
    """A CSV file of 30 numeric columns c0..c29 and 20 rows."""
    names = [f"c{i}" for i in range(COLUMNS)]
    rows = [",".join(str((r + i) % 7) for i in range(COLUMNS)) for r in range(20)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join([",".join(names)] + rows) + "\n")
    return path


@pytest.fixture
def make_panel(qtbot, make_document):
    """make_panel(width, height, project=None) -> a shown Data panel."""
    panels = []

    def make(width, height, project=None):
        panel = DataPanel(make_document(project))
        qtbot.addWidget(panel)
        panel.resize(width, height)
        panel.show()
        qtbot.waitExposed(panel)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()
    wait_for_background()


def open_and_wait(qtbot, panel, path):
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.open_file(path)
    qtbot.wait(10)  # the layout settles


def visible_rows(view) -> float:
    """How many rows of the list are in view at once."""
    return view.viewport().height() / view.rowHeight(0)


def row_places(panel) -> list:
    """Where each row of the columns list is, in the panel's coordinates."""
    view = panel.columns_view
    model = view.model()
    return [
        view.viewport().mapTo(panel, view.visualRect(model.index(r, USE)).topLeft())
        for r in range(model.rowCount())
    ]


def click_check_box(qtbot, view, row: int) -> None:
    """Click the check box of a row as a user does (on its indicator)."""
    index = view.model().index(row, USE)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(index)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    indicator = view.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, view
    )
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=indicator.center())


def test_the_columns_list_takes_the_height_it_is_given(qtbot, make_panel, wide_csv):
    # The Data dock of a window of 1400 x 880 whose right column holds the
    # Inspector, Training and Data tabs alone.
    panel = make_panel(400, 610)
    open_and_wait(qtbot, panel, wide_csv)
    shown = visible_rows(panel.columns_view)
    assert shown >= 10
    assert panel.preview_view.viewport().height() >= 2 * panel.preview_view.rowHeight(0)
    # Taller, and the list shows more rows; nothing else takes the height.
    panel.resize(400, 900)
    qtbot.wait(10)
    assert visible_rows(panel.columns_view) >= shown + 6


def test_ticking_columns_never_moves_a_row(qtbot, make_panel, wide_csv):
    panel = make_panel(400, 640)
    document = panel.document
    open_and_wait(qtbot, panel, wide_csv)
    view = panel.columns_view
    before = row_places(panel)
    # Input x has no columns yet (a warning under the mapping); ticking two
    # gives it their shape (the warning goes, the hint comes).
    for row in (0, 1):
        click_check_box(qtbot, view, row)
        assert row_places(panel) == before
    assert document.project.data.inputs == {"x": ["c0", "c1"]}
    # A shape set elsewhere: the mismatch and its fix show, the rows stay.
    document.push(SetParam("x", "shape", [5]))
    assert panel.shape_button.isVisible()
    assert row_places(panel) == before
    qtbot.mouseClick(panel.shape_button, Qt.MouseButton.LeftButton)
    assert document.project.node("x").params["shape"] == (2,)
    assert not panel.shape_button.isVisible()
    assert row_places(panel) == before
    click_check_box(qtbot, view, 2)
    assert row_places(panel) == before
    # A task's target: ticked, then taken back.
    panel.mapping_view.selectRow(panel.mapping_model.row_of(Slot("target", "a")))
    assert row_places(panel) == before
    for row in (29, 29):
        click_check_box(qtbot, view, row)
        assert row_places(panel) == before
    assert document.project.task("a").target == []
    # The file, two ticks, the shape set elsewhere and fixed, a tick, two of a.
    assert document.undo_stack.index == 8


def test_a_refused_tick_is_said_under_the_mapping_without_moving_rows(qtbot, make_panel, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((12, 4, 2)), y=np.arange(12) % 3)
    panel = make_panel(400, 640)
    open_and_wait(qtbot, panel, path)
    view = panel.columns_view
    click_check_box(qtbot, view, 0)  # images: x takes (4, 2)
    before = row_places(panel)
    click_check_box(qtbot, view, 1)  # y with images: cannot be stacked
    assert "cannot be stacked" in panel.mapping_note.full
    assert row_places(panel) == before
    click_check_box(qtbot, view, 0)  # untick images: the word goes
    assert "cannot be stacked" not in panel.mapping_note.full
    assert row_places(panel) == before


def test_the_validation_split_has_one_control_in_the_panel(make_panel):
    panel = make_panel(400, 640)
    splits = [
        box for box in panel.findChildren(QDoubleSpinBox) if "validation" in box.toolTip().lower()
    ]
    assert splits == [panel.split_spin]


def test_the_window_shows_ten_rows_of_columns(qtbot, make_window, wide_csv):
    window = make_window()
    window.resize(1400, 880)
    dock = next(d for d in window.docks if d.widget() is window.data_panel)
    dock.raise_()
    open_and_wait(qtbot, window.data_panel, wide_csv)
    assert visible_rows(window.data_panel.columns_view) >= 10


def test_the_validation_split_is_set_in_one_place_in_the_window(make_window):
    """Every number box of the window is tried: one alone sets the split."""
    window = make_window()
    document = window.document
    setters = []
    for box in window.findChildren(QDoubleSpinBox):
        before = document.project.training.validation_split
        steps = document.undo_stack.index
        value = 0.35 if box.value() != 0.35 else 0.4
        if not box.minimum() <= value <= box.maximum():
            continue
        box.setValue(value)
        if document.project.training.validation_split != before:
            setters.append(box)
        while document.undo_stack.index > steps:
            document.undo()
    assert setters == [window.data_panel.split_spin]


def test_an_unchosen_generator_is_said_once(make_panel):
    project = two_task_project()
    project.data = DataSource()  # a generator, none chosen: a new project's data
    panel = make_panel(400, 640, project)
    saying = [
        label
        for label in panel.findChildren(QLabel)
        if label.isVisible() and "Choose a generator" in label.text()
    ]
    assert len(saying) == 1


def test_no_line_comes_and_goes_above_the_lists_while_a_file_is_read(qtbot, make_panel, wide_csv):
    panel = make_panel(400, 640)
    open_and_wait(qtbot, panel, wide_csv)
    top = panel.splitter.mapTo(panel, QPoint(0, 0))
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.reload()
        assert panel.progress_row.isVisible()  # progress shows on the status line
        assert panel.splitter.mapTo(panel, QPoint(0, 0)) == top
    assert not panel.progress_row.isVisible()
    assert panel.splitter.mapTo(panel, QPoint(0, 0)) == top
