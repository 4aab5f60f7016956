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


# --- the optimizer's settings beside the learning rate -----------------------------------


def shown_optimizer_fields(form):
    from mtl_studio.ui.training_settings import OPTIMIZER_FIELDS

    return {name for name in OPTIMIZER_FIELDS if form.form.isRowVisible(getattr(form, name))}


def test_optimizer_fields_show_for_their_optimizer_and_each_edit_is_one_undo_step(form):
    document = form.document

    def spec():
        return document.project.training.optimizer

    assert shown_optimizer_fields(form) == {"beta_1", "beta_2", "epsilon"}  # Adam
    assert (form.beta_1.value(), form.beta_2.value(), form.epsilon.value()) == (0.9, 0.999, 1e-7)
    form.beta_1.setValue(0.8)
    assert spec().beta_1 == pytest.approx(0.8) and document.undo_stack.index == 1
    choose(form.optimizer, "sgd")
    assert shown_optimizer_fields(form) == {"momentum"}
    assert spec().name == "sgd" and spec().beta_1 == pytest.approx(0.8)  # kept for Adam
    form.momentum.setValue(0.9)
    assert spec().momentum == pytest.approx(0.9) and document.undo_stack.index == 3
    choose(form.optimizer, "rmsprop")
    assert shown_optimizer_fields(form) == {"momentum", "epsilon"}
    form.epsilon.setValue(1e-5)
    assert spec().epsilon == pytest.approx(1e-5)
    for _ in range(3):
        document.undo()
    assert spec().name == "sgd" and spec().momentum == 0.0
    assert shown_optimizer_fields(form) == {"momentum"} and form.momentum.value() == 0.0
    document.undo()
    assert spec().name == "adam" and form.beta_1.value() == pytest.approx(0.8)
    document.redo()
    assert spec().name == "sgd"
    # A value the project refuses never reaches it: the box stops below 1.
    form.momentum.setValue(1.0)
    assert spec().momentum < 1.0


def test_a_task_s_own_optimizer_starts_from_the_project_s_settings(form):
    from mtl_studio.ui.training_settings import TASK_OPTIMIZER

    document = form.document
    choose(form.optimizer, "sgd")
    form.momentum.setValue(0.9)
    choose(form.mode, "alternating")
    choose(form.task_table.cellWidget(0, TASK_OPTIMIZER), "sgd")
    own = document.project.task("a").optimizer
    assert (own.name, own.learning_rate, own.momentum) == ("sgd", 0.001, pytest.approx(0.9))


def test_a_task_s_own_optimizer_settings_are_edited_in_a_dialog_one_undo_step(form, monkeypatch):
    from mtl_studio.ui import training_settings
    from mtl_studio.ui.training_settings import TASK_FIELDS, TASK_OPTIMIZER

    document = form.document
    choose(form.mode, "alternating")
    choose(form.task_table.cellWidget(0, TASK_OPTIMIZER), "adam")
    button_a, button_b = (form.task_table.cellWidget(r, TASK_FIELDS) for r in (0, 1))
    assert button_a.isEnabled() and button_a.text() == "β1 0.9, β2 0.999, ε 1e-07"
    assert not button_b.isEnabled()  # b trains with the project's optimizer: the form's fields
    asked = []

    def answer(parent, task, spec):
        asked.append((task, spec.name))
        return training_settings.replace(spec, beta_1=0.5, epsilon=1e-5)

    monkeypatch.setattr(training_settings, "ask_optimizer_fields", answer)
    steps = document.undo_stack.index
    form.task_table.cellWidget(0, TASK_FIELDS).click()
    own = document.project.task("a").optimizer
    assert asked == [("a", "adam")] and (own.beta_1, own.epsilon) == (0.5, 1e-5)
    assert document.undo_stack.index == steps + 1
    assert form.task_table.cellWidget(0, TASK_FIELDS).text() == "β1 0.5, β2 0.999, ε 1e-05"
    assert document.project.training.optimizer.beta_1 == 0.9  # the project's stays
    document.undo()
    assert document.project.task("a").optimizer.beta_1 == 0.9
    # Cancelled: nothing changes, no undo step.
    monkeypatch.setattr(training_settings, "ask_optimizer_fields", lambda *a: None)
    form.task_table.cellWidget(0, TASK_FIELDS).click()
    assert document.undo_stack.index == steps


def test_the_task_optimizer_dialog_shows_the_fields_of_its_optimizer(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

    from mtl_studio.core.settings import OptimizerSpec
    from mtl_studio.ui.training_settings import FloatSpinBox, ask_optimizer_fields

    seen = []

    def fill_and_accept():
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog))
        boxes = dialog.findChildren(FloatSpinBox)
        seen.append(len(boxes))
        boxes[0].setValue(0.95)
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()

    QTimer.singleShot(0, fill_and_accept)
    spec = OptimizerSpec("sgd", 0.01, momentum=0.5)
    chosen = ask_optimizer_fields(None, "a", spec)
    assert seen == [1]  # SGD takes momentum alone
    assert chosen == OptimizerSpec("sgd", 0.01, momentum=0.95)


def test_devices_and_precision_are_settings_each_edit_one_undo_step(form):
    document = form.document
    training = document.project.training
    assert form.strategy.currentData() == "default" and form.precision.currentData() == "float32"
    assert [form.strategy.itemData(i) for i in range(form.strategy.count())] == [
        "default",
        "mirrored",
        "multi-worker",
    ]
    choose(form.strategy, "mirrored")
    choose(form.precision, "mixed_bfloat16")
    choose(form.data_loading, "stream")
    assert (training.strategy, training.precision) == ("mirrored", "mixed_bfloat16")
    assert training.data_loading == "stream"
    assert document.undo_stack.index == 3
    document.undo()
    assert training.data_loading == "auto" and form.data_loading.currentData() == "auto"
    document.undo()
    assert training.precision == "float32" and form.precision.currentData() == "float32"
    document.undo()
    assert training.strategy == "default" and form.strategy.currentData() == "default"
