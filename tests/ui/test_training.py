"""Live training in the window, driven as a user drives it: a real run of a
tiny project from the Train button, pause, resume, a live weight change,
stop, continue, a second run, and closing the window while it trains."""

import json
import time
from pathlib import Path

import numpy as np

from PySide6.QtCore import Qt

from mtl_studio.core.fileformat import load, to_dict
from mtl_studio.core.settings import DataSource
from mtl_studio.examples import example_path
from tests.helpers import two_task_project

RUN_TIMEOUT = 90_000  # ms: the first run imports TensorFlow and compiles


def tiny_tutorial(epochs=1000):
    """The tutorial (two tasks, generated data) made small and long: the run
    goes on until the test stops it."""
    project = load(example_path("tutorial"))
    project.training.epochs = epochs
    project.training.steps_per_call = 5
    project.data.params["examples"] = 200
    return project


def button(window, action):
    return next(b for b in window.training_panel.run_panel.buttons if b.defaultAction() is action)


def counts(curves):
    return {task: len(series) for task, series in curves.train.items()}


def wait_state(qtbot, window, state, timeout=RUN_TIMEOUT):
    qtbot.waitUntil(lambda: window.runs.state == state, timeout=timeout)


def test_train_pause_resume_live_change_stop_continue_and_again(qtbot, make_window, tmp_path):
    window = make_window(tiny_tutorial())
    qtbot.mouseClick(button(window, window.act_train), Qt.LeftButton)
    runs = window.runs
    assert runs.state == "starting"
    assert window.tabs.currentWidget() is window.plots
    assert not window.act_train.isEnabled() and window.act_stop.isEnabled()
    curves = runs.curves
    qtbot.waitUntil(lambda: all(counts(curves).values()), timeout=RUN_TIMEOUT)
    assert runs.state == "running"
    assert set(curves.train) == {"Y1", "Y2"}

    # Pause: the points stop growing (a call already under way may land).
    qtbot.mouseClick(button(window, window.act_pause), Qt.LeftButton)
    assert runs.state == "paused" and window.act_pause.text() == "&Resume"
    rate = window.training_panel.run_panel.rate
    assert rate.text().startswith("paused at step") and "steps/s" not in rate.text()
    assert "paused at step" in window.run_label.text()
    qtbot.wait(400)
    paused = counts(curves)
    qtbot.wait(600)
    assert counts(curves) == paused

    # Resume: they grow again.
    qtbot.mouseClick(button(window, window.act_pause), Qt.LeftButton)
    assert runs.state in ("running", "starting")
    qtbot.waitUntil(lambda: sum(counts(curves).values()) > sum(paused.values()) + 20)

    # A live weight change reaches the run as a mark on the curves.
    weight, _ = window.training_panel.run_panel.live_rows["Y1"]
    weight.setValue(0.25)
    qtbot.mouseClick(window.training_panel.run_panel.apply, Qt.LeftButton)
    qtbot.waitUntil(lambda: any(m.setting == "weight" for m in curves.marks))
    mark = next(m for m in curves.marks if m.setting == "weight")
    assert (mark.task, mark.value) == ("Y1", 0.25)
    qtbot.waitUntil(lambda: len(curves.weights["Y1"]) and curves.weights["Y1"].value[-1] == 0.25)

    # An edit during the run is for the next run, and the window says so.
    window.tasks_panel.model.setData(window.tasks_panel.model.index(0, 3), 2.0)
    assert "next run" in window.notice.text()

    qtbot.mouseClick(button(window, window.act_stop), Qt.LeftButton)
    wait_state(qtbot, window, "idle", 20_000)
    assert curves.status == "stopped"
    assert rate.text().startswith("stopped after ") and "left" not in rate.text()
    folder = tmp_path / "runs"
    (run_dir,) = folder.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped"
    assert {"step": mark.step, "setting": "weight", "task": "Y1", "value": 0.25} in summary[
        "setting_changes"
    ]
    assert (run_dir / "checkpoint.npz").exists() and (run_dir / "model-last.keras").exists()
    assert window.act_train.isEnabled() and window.act_continue.isEnabled()

    # Continue from the checkpoint: the same curves go on past the stop.
    stopped_at = curves.step
    window.act_continue.trigger()
    qtbot.waitUntil(lambda: curves.step > stopped_at + 10, timeout=RUN_TIMEOUT)
    window.act_stop.trigger()
    wait_state(qtbot, window, "idle", 20_000)
    assert len(runs.runs) == 1

    # A second run: new curves, the first kept for comparison.
    window.act_train.trigger()
    assert len(runs.runs) == 2 and runs.curves is not curves
    second = runs.curves
    qtbot.waitUntil(lambda: all(counts(second).values()), timeout=RUN_TIMEOUT)
    assert len(list(folder.iterdir())) == 2

    # Closing during a run asks, stops the run and waits for its thread.
    started = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - started
    assert not window.isVisible()
    assert runs.worker is None and runs.state == "idle"
    assert elapsed < 2.0
    assert any("training run is in progress" in m for m in window.messages)
    assert second.status == "stopped"


def test_train_is_disabled_with_the_reason_while_the_project_has_errors(make_window):
    project = two_task_project()
    project.disconnect(next(e for e in project.graph.edges if e.target == "out_b"))
    window = make_window(project)
    assert not window.act_train.isEnabled()
    assert "fix the project's errors first" in window.act_train.toolTip()
    assert "Cannot train" in window.training_panel.run_panel.status.text()
    window.train()  # the shortcut path refuses too, with the reason
    assert window.runs.state == "idle"
    assert "Cannot train" in window.notice.text()


def test_a_run_that_cannot_start_says_why_and_leaves_the_project(qtbot, make_window, tmp_path):
    project = tiny_tutorial(epochs=1)
    project.data.kind, project.data.path = "csv", str(tmp_path / "missing.csv")
    window = make_window(project)
    before = window.document.project.copy()
    window.act_train.trigger()
    wait_state(qtbot, window, "idle")
    assert window.runs.curves.status == "invalid"
    assert any("missing.csv" in m for m in window.messages)
    assert "missing.csv" in window.training_panel.run_panel.status.text()
    assert to_dict(window.document.project) == to_dict(before)
    assert window.act_train.isEnabled()


def test_settings_form_edits_are_project_edits_and_undo(make_window):
    window = make_window()
    form = window.training_panel.settings_form
    project = window.document.project
    form.mode.setCurrentIndex(form.mode.findData("alternating"))
    form.mode.activated.emit(form.mode.currentIndex())
    assert project.training.mode == "alternating"
    assert form.task_table.isVisibleTo(form) and not form.weighting.isVisibleTo(form)
    form.epochs.setValue(7)
    assert project.training.epochs == 7
    # Alternating: a task's own optimizer.
    combo = form.task_table.cellWidget(0, 1)
    combo.setCurrentIndex(combo.findData("sgd"))
    combo.activated.emit(combo.currentIndex())
    assert project.tasks[0].optimizer.name == "sgd"
    window.document.undo()
    assert project.tasks[0].optimizer is None
    window.document.undo()
    assert project.training.epochs != 7
    window.document.undo()
    assert project.training.mode == "joint"
    assert form.mode.currentData() == "joint"
    # Weighting-specific fields show only for their weighting.
    form.weighting.setCurrentIndex(form.weighting.findData("gradnorm"))
    form.weighting.activated.emit(form.weighting.currentIndex())
    assert form.gradnorm_alpha.isVisibleTo(form) and not form.dwa_temperature.isVisibleTo(form)


def test_a_run_folder_that_cannot_be_written_is_reported(qtbot, make_window, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder would go")
    window = make_window(tiny_tutorial(epochs=1))
    window.runs.runs_root = blocker
    window.act_train.trigger()
    wait_state(qtbot, window, "idle")
    assert window.runs.curves.status == "invalid"
    assert any("cannot write the run folder" in m and "not-a-folder" in m for m in window.messages)
    assert window.act_train.isEnabled()


def test_an_example_opened_as_a_new_project_finds_its_data(make_window):
    from mtl_studio.ui.document import Document

    document = Document.from_example(example_path("energy"))
    try:
        assert document.path is None
        assert Path(document.project.data.path).is_file()
    finally:
        document.close()


def test_a_loss_that_turns_nan_ends_the_run_with_the_task_and_step(qtbot, make_window, tmp_path):
    # Targets near float32's limit: their squared error overflows to inf.
    rng = np.random.default_rng(0)
    data = tmp_path / "huge.npz"
    np.savez(data, X=rng.random((200, 10)), Y1=np.full((200, 20), 3e38), Y2=rng.random((200, 20)))
    project = tiny_tutorial(epochs=5)
    project.data = DataSource("npz", path=str(data), inputs={"X": ["X"]})
    window = make_window(project)
    before = to_dict(window.document.project)
    window.act_train.trigger()
    wait_state(qtbot, window, "idle")
    curves = window.runs.curves
    assert curves.status == "nan"
    assert any(
        "loss of task 'Y1' became NaN or infinite at step" in m and "lower the learning rate" in m
        for m in window.messages
    )
    assert "NaN" in window.training_panel.run_panel.status.text()
    assert to_dict(window.document.project) == before
    assert window.act_train.isEnabled()
