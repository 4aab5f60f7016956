"""Issue 13: clicks on a spin box's arrows in a row are one undo step. The
rule lives in the core's UndoStack (tests/core/test_commands.py); these
tests check that the widgets' pushes meet it."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSpinBox

from mtl_studio.ui.training_settings import TrainingSettingsForm


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def form(qtbot, document):
    form = TrainingSettingsForm(document)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    # The stack's clock stands still unless a test moves it: no flaky timing.
    document.undo_stack.clock = Clock()
    return form


def up_arrow(spin) -> QPoint:
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    rect = spin.style().subControlRect(
        QStyle.ComplexControl.CC_SpinBox, option, QStyle.SubControl.SC_SpinBoxUp, spin
    )
    return rect.center()


def test_five_arrow_clicks_on_the_batch_size_are_one_undo_step(form):
    document, spin = form.document, form.batch_size
    first = document.project.training.batch_size
    for _ in range(5):
        spin.stepUp()  # what a click on the up arrow does; valueChanged follows
    assert document.project.training.batch_size == first + 5
    assert document.undo_stack.index == 1 and document.is_modified
    document.undo()
    assert document.project.training.batch_size == first and spin.value() == first
    assert not document.undo_stack.can_undo and not document.is_modified
    document.redo()
    assert document.project.training.batch_size == first + 5 and spin.value() == first + 5


def test_real_mouse_clicks_on_the_arrow_are_one_step(qtbot, form):
    document, spin = form.document, form.epochs
    first = document.project.training.epochs
    for _ in range(5):
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=up_arrow(spin))
    assert document.project.training.epochs == first + 5
    assert document.undo_stack.index == 1
    document.undo()
    assert document.project.training.epochs == first


def test_another_field_a_pause_or_a_save_starts_a_new_step(form, tmp_path):
    document = form.document
    clock = document.undo_stack.clock
    first = document.project.training.batch_size
    form.batch_size.stepUp()
    form.batch_size.stepUp()
    form.epochs.stepUp()  # another field
    form.batch_size.stepUp()
    assert document.undo_stack.index == 3
    clock.now += 5.0  # a pause
    form.batch_size.stepUp()
    assert document.undo_stack.index == 4
    document.save(tmp_path / "p.mtl.json")
    form.batch_size.stepUp()  # right after a save
    assert document.undo_stack.index == 5
    document.undo()
    assert not document.is_modified
    assert document.project.training.batch_size == first + 4
    for _ in range(3):
        document.undo()
    assert document.project.training.batch_size == first + 2
    document.undo()
    assert document.project.training.batch_size == first


def test_up_and_back_down_leaves_no_step_and_no_unsaved_mark(form, tmp_path):
    document, spin = form.document, form.batch_size
    document.save(tmp_path / "p.mtl.json")
    first = spin.value()
    spin.stepUp()
    spin.stepUp()
    assert document.is_modified
    spin.stepDown()
    spin.stepDown()
    assert spin.value() == first and document.project.training.batch_size == first
    assert not document.undo_stack.can_undo and not document.is_modified
