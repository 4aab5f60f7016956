"""The training settings form's "Best epoch and early stopping" group:
each change is one undo step that sets its field, and the choices follow
the tasks and their metrics."""

import pytest

from mtl_studio.core.commands import RemoveTask, SetTaskField
from mtl_studio.core.renaming import rename_task
from mtl_studio.ui.training_settings import TrainingSettingsForm


@pytest.fixture
def form(qtbot, document):
    """The form on the two-task project (a: mse, b: 3 classes with accuracy)."""
    form = TrainingSettingsForm(document)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    return form


def choices(form):
    combo = form.monitor
    return [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]


def choose(combo, key):
    """As a user picks an entry: `activated` follows the choice."""
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_best_epoch_by_lists_the_total_and_each_tasks_loss_and_metrics(form):
    assert choices(form) == [
        ("total", "Weighted total validation loss"),
        ("a:loss", "a: validation loss"),
        ("b:loss", "b: validation loss"),
        ("b:accuracy", "b: validation accuracy"),
    ]
    assert form.monitor.currentData() == "total"


def test_each_change_is_one_undo_step_that_sets_its_field(form):
    document = form.document
    training = document.project.training
    edits = [
        (lambda: choose(form.monitor, "b:accuracy"), "monitor", "b:accuracy"),
        (lambda: form.early_stopping.setChecked(True), "early_stopping", True),
        (lambda: form.patience.setValue(4), "patience", 4),
        (lambda: form.min_delta.setValue(0.02), "min_delta", 0.02),
    ]
    for step, (edit, field, value) in enumerate(edits, start=1):
        edit()
        assert getattr(training, field) == pytest.approx(value)
        assert document.undo_stack.index == step
    for _edit, field, _value in reversed(edits):
        before = getattr(training, field)
        document.undo()
        assert getattr(training, field) != before
    assert (training.monitor, training.early_stopping, training.patience, training.min_delta) == (
        "total",
        False,
        10,
        0.0,
    )
    # The form shows what the project holds again.
    assert form.monitor.currentData() == "total"
    assert not form.early_stopping.isChecked()
    assert form.patience.value() == 10 and form.min_delta.value() == 0.0


def test_the_patience_is_editable_only_with_early_stopping(form):
    assert not form.patience.isEnabled()
    assert form.min_delta.isEnabled()  # it also picks the best epoch
    form.early_stopping.setChecked(True)
    assert form.patience.isEnabled()
    form.document.undo()
    assert not form.early_stopping.isChecked() and not form.patience.isEnabled()


def test_the_choices_follow_the_tasks_metrics(form):
    document = form.document
    choose(form.monitor, "b:accuracy")
    document.push(SetTaskField("a", "metrics", ["mae", "rmse"]))
    assert [key for key, _ in choices(form)] == [
        "total",
        "a:loss",
        "a:mae",
        "a:rmse",
        "b:loss",
        "b:accuracy",
    ]
    assert form.monitor.currentData() == "b:accuracy"  # the choice is kept
    # Taking the metric off the task leaves the project's choice shown, as it
    # is (validation says what to change).
    document.push(SetTaskField("b", "metrics", []))
    assert choices(form)[-1] == ("b:accuracy", "b: validation accuracy (not computed)")
    assert form.monitor.currentData() == "b:accuracy"
    choose(form.monitor, "b:loss")
    assert document.project.training.monitor == "b:loss"
    assert "b:accuracy" not in [key for key, _ in choices(form)]


def test_the_choice_follows_a_task_rename(form):
    document = form.document
    choose(form.monitor, "b:accuracy")
    steps = document.undo_stack.index
    document.push(rename_task(document.project, "b", "kind"))
    assert document.undo_stack.index == steps + 1
    assert document.project.training.monitor == "kind:accuracy"
    assert form.monitor.currentData() == "kind:accuracy"
    assert form.monitor.currentText() == "kind: validation accuracy"
    assert "b:accuracy" not in [key for key, _ in choices(form)]
    document.undo()
    assert form.monitor.currentData() == "b:accuracy"


def test_removing_the_monitored_task_chooses_the_total(form):
    document = form.document
    choose(form.monitor, "a:loss")
    document.push(RemoveTask("a"))
    assert form.monitor.currentData() == "total"
    assert [key for key, _ in choices(form)] == ["total", "b:loss", "b:accuracy"]
    document.undo()
    assert form.monitor.currentData() == "a:loss"


def test_task_affinity_is_a_setting_off_by_default(make_document, qtbot):
    from mtl_studio.ui.training_settings import TrainingSettingsForm

    document = make_document()
    form = TrainingSettingsForm(document)
    qtbot.addWidget(form)
    assert form.affinity_every.value() == 0 and form.affinity_every.text() == "off"
    form.affinity_every.setValue(50)
    assert document.project.training.affinity_every == 50
    document.undo()
    assert document.project.training.affinity_every == 0
