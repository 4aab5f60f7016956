"""The Study tab (issue 14): a study runs in the background, one run after
the other, with progress and Stop, the table filling in as runs end; the
window stays live; a stopped study goes on where it stopped. Real runs of
a tiny project (one epoch each)."""

import json
import os
import sys
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

from mtl_studio.ui.run_worker import TRAINING_NICE
from mtl_studio.ui.study_view import StudyView, gain_color
from mtl_studio.ui.study_worker import StudyWorker
from tests.training.test_results import results_project

STUDY_MS = 120000


@pytest.fixture
def make_view(qtbot, tmp_path, make_document):
    """make_view(busy_reason=None) -> a shown StudyView on the tiny project;
    its studies go under tmp_path/runs."""
    views = []

    def make(busy_reason=lambda: None):
        document = make_document(results_project(tmp_path, epochs=1))
        view = StudyView(document, lambda: tmp_path / "runs", busy_reason)
        qtbot.addWidget(view)
        view.resize(1000, 600)
        view.show()
        views.append(view)
        return view

    yield make
    for view in views:
        assert view.shutdown(STUDY_MS)


def test_a_study_runs_in_the_background_and_its_table_fills_in(qtbot, make_view, tmp_path):
    view = make_view()
    assert view.baselines_box.isChecked()  # on by default
    view.weighting_boxes["dwa"].setChecked(True)
    assert view.planned()[0] == 4  # two baselines, as drawn, dwa
    assert "4 runs" in view.plan_label.text()
    started, tables, ticks = [], [], []
    view.run_started.connect(lambda *args: started.append(args))
    view.table_changed.connect(lambda result: tables.append(len(result.rows) if result else 0))
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(view.busy))
    timer.start()

    assert view.start() is None
    # start() returned at once: the study runs on its own thread.
    assert view.busy and not view.start_button.isEnabled() and view.stop_button.isEnabled()
    assert not view.weighting_boxes["uncertainty"].isEnabled()  # the form waits
    with qtbot.waitSignal(view.study_ended, timeout=STUDY_MS) as ended:
        pass
    timer.stop()
    result = ended.args[0]

    # The GUI thread's timers kept firing while the runs trained.
    assert sum(ticks) >= 10
    assert [(index, total) for index, total, _, _ in started] == [(i, 4) for i in range(4)]
    assert started[-1][2:] == ("weighting dwa", 0)
    # Rows came as their runs ended: none before the project as drawn scored.
    assert tables[0] == 0 and 2 in tables and tables[-1] == 3
    assert not result.stopped and not view.last_stopped and not view.continue_button.isEnabled()
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()

    table = view.table
    headers = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    assert headers == ["Configuration", "a: MAE ↓", "b: accuracy ↑", "Δm %"]
    names = [table.item(i, 0).text() for i in range(table.rowCount())]
    assert names[0] == "single-task baselines (reference)"
    assert names[1:] == [row.name for row in result.rows[1:]]  # ranked as the runner ranks
    assert set(names[1:]) == {"as drawn", "weighting dwa"}
    colors = view.cell_colors()
    assert colors[0] == [None, None]  # the baseline row is neutral
    for row, line in zip(result.rows[1:], colors[1:]):
        for cell, color in zip(row.cells.values(), line):
            expected = gain_color(cell.gain)
            assert color == (expected.name() if expected else None)
            if expected is not None:  # green better, red worse
                assert (expected.green() > expected.red()) == (cell.gain > 0)
    assert any(color for line in colors[1:] for color in line)
    text = table.item(1, 1).text()
    assert "%" in text and "±" not in text  # one seed: no spread to show

    assert view.folder.parent == tmp_path / "runs" and view.folder.name.startswith("study-")
    assert (view.folder / "study.md").exists()
    assert str(view.folder) in view.folder_label.text()
    assert "Study ended" in view.status.text()


def test_a_stopped_study_goes_on_and_no_scored_run_trains_again(qtbot, make_view, monkeypatch):
    on_run, niceness = StudyWorker._on_run, []

    def stop_after_the_first_run(worker, index, total, planned, state):
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        on_run(worker, index, total, planned, state)
        if index == 0 and state != "training":
            worker.stop()  # as Stop does, while the next run has not begun

    monkeypatch.setattr(StudyWorker, "_on_run", stop_after_the_first_run)
    view = make_view()
    view.baselines_box.setChecked(False)
    view.weighting_boxes["dwa"].setChecked(True)
    starts = []
    view.run_started.connect(lambda index, *args: starts.append(index))

    with qtbot.waitSignal(view.study_ended, timeout=STUDY_MS) as ended:
        assert view.start() is None
    assert ended.args[0].stopped and starts == [0]
    assert view.last_stopped and view.continue_button.isEnabled()
    assert "Study stopped" in view.status.text() and "1 of 2 runs done" in view.progress.text()
    assert view.table.rowCount() == 1  # the project as drawn, the reference without baselines
    if sys.platform.startswith("linux"):
        assert min(niceness) >= TRAINING_NICE  # the study trains below the window

    monkeypatch.setattr(StudyWorker, "_on_run", on_run)
    with qtbot.waitSignal(view.study_ended, timeout=STUDY_MS) as ended:
        view.continue_button.click()
    result = ended.args[0]
    assert starts == [0, 1]  # the scored run did not train again
    assert not result.stopped and not view.continue_button.isEnabled()
    assert [view.table.item(i, 0).text() for i in range(view.table.rowCount())] == [
        "as drawn (reference)",
        "weighting dwa",
    ]
    assert result.runs == {"as-drawn/seed-0": "completed", "weighting-dwa/seed-0": "completed"}


def test_no_study_starts_while_a_run_trains(qtbot, make_view):
    training = {"busy": True}
    view = make_view(lambda: "a run is training" if training["busy"] else None)
    assert view.start() == "a run is training"
    assert not view.busy and not view.start_button.isEnabled()
    assert "a run is training" in view.reason_label.text()
    assert view.continue_last() == "there is no stopped study to go on with"
    training["busy"] = False
    view.refresh()  # the window calls it when its run ends
    assert view.start_button.isEnabled() and view.reason_label.isHidden()

    # The project's own weighting adds nothing: its box says so.
    fixed = view.weighting_boxes["fixed"]
    assert not fixed.isEnabled() and fixed.text() == "fixed (as drawn)"
    view.seeds_spin.setValue(3)
    assert view.planned() == (9, "(2 baselines + as drawn) × 3 seeds")


def test_the_epochs_follow_the_project_until_chosen(make_view):
    view = make_view()
    project = view.document.project
    assert view.epochs_spin.value() == project.training.epochs == 1
    project.set_training("epochs", 7)
    assert view.epochs_spin.value() == 7
    view.epochs_spin.setValue(3)
    project.set_training("epochs", 9)
    assert view.options()["epochs"] == 3


def test_cell_shades():
    assert gain_color(None) is None and gain_color(0.01) is None
    light, strong = gain_color(2.0), gain_color(40.0)
    assert light.green() > light.red() and strong.green() > strong.red()
    assert strong.lightness() < light.lightness()  # a bigger gain, a stronger shade
    worse = gain_color(-5.0)
    assert worse.red() > worse.green()


def test_a_weight_search_follows_the_study_and_a_trial_is_applied_in_one_undo_step(
    qtbot, make_view
):
    view = make_view()
    assert view.trials_spin.value() == 0  # no search unless asked for
    view.baselines_box.setChecked(False)
    view.trials_spin.setValue(3)
    assert view.options()["objective"] == "pareto"
    assert "then 3 search trials" in view.plan_label.text()
    trials = []
    with qtbot.waitSignal(view.study_ended, timeout=3 * STUDY_MS) as ended:
        assert view.start() is None
        view.worker.trial_changed.connect(trials.append)
    assert not ended.args[0].stopped and not view.last_stopped
    # The search ran after the study's run, in the same worker, into the study's folder.
    assert [t.state for t in trials].count("running") == 3
    assert (view.folder / "search" / "search.db").exists()
    assert (view.folder / "search" / "trials" / "trial-2").is_dir()
    assert "Weight search: 3 of 3 trials complete." in view.status.text()

    search = view.search_view
    assert search.isVisibleTo(view) and search.plot.isVisibleTo(view)
    points, front = search.points()
    assert len(points) == 3 and 1 <= len(front) <= 3
    result = search.result
    a, b = result.tasks
    assert sorted(front) == sorted((t.figures[a], t.figures[b]) for t in result.front)
    assert search.front_line.getData()[0] is not None  # the front's points are joined
    assert "a: MAE (lower is better, left ←)" == search.plot.getAxis("bottom").labelText
    assert "higher is better" in search.plot.getAxis("left").labelText
    assert search.table.rowCount() == len(result.front)

    # Choose a trial (a table row), apply its weights: one undo step.
    document = view.document
    before = {t.name: t.weight for t in document.project.tasks}
    chosen = result.front[-1]
    search.table.selectRow(len(result.front) - 1)
    assert search.trial is chosen
    assert f"Trial {chosen.number}: weights" in search.chosen_label.text()
    messages = []
    view.message.connect(messages.append)
    assert not document.undo_stack.can_undo
    search.apply_button.click()
    weights = {t.name: t.weight for t in document.project.tasks}
    assert weights == pytest.approx(chosen.weights)
    assert "Apply searched weights" in document.undo_stack.undo_text
    assert messages[-1].startswith(f"Weights of trial {chosen.number} applied: a ")
    assert messages[-1].endswith("(Edit > Undo to go back)")
    document.undo()  # one step takes it back whole
    assert {t.name: t.weight for t in document.project.tasks} == before
    assert not document.undo_stack.can_undo

    # A point of the scatter chooses its trial too.
    point = min(search.front_item.points(), key=lambda p: p.pos().x())
    search.front_item.sigClicked.emit(search.front_item, [point], None)
    assert search.trial.number == point.data()
    row = search.table.selectionModel().selectedRows()[0].row()
    assert search.table.item(row, 0).text() == str(point.data())


def test_delta_m_needs_the_baselines(make_view):
    view = make_view()
    combo = view.objective_combo
    delta = combo.model().item(combo.findData("delta_m"))
    assert not combo.isEnabled()  # no trials: no objective to choose
    view.trials_spin.setValue(2)
    assert combo.isEnabled() and delta.isEnabled()
    combo.setCurrentIndex(combo.findData("delta_m"))
    view.baselines_box.setChecked(False)
    assert not delta.isEnabled() and combo.currentData() == "pareto"
    assert "needs the single-task baselines" in view.objective_note.text()
    view.baselines_box.setChecked(True)
    assert delta.isEnabled() and not view.objective_note.text()


def test_modes_are_variants_too(make_view):
    view = make_view()
    joint = view.mode_boxes["joint"]
    assert not joint.isEnabled() and joint.text() == "joint (as drawn)"
    before, _ = view.planned()
    view.mode_boxes["alternating"].setChecked(True)
    count, what = view.planned()
    assert count == before + 1 and "1 mode" in what
    assert view.options()["modes"] == ["alternating"]


def test_the_study_form_leaves_the_docks_their_room(make_window):
    """Every weighting has a check box; in one row a dozen of them made the
    central area 1,000 px wide and squeezed the Layers panel to a sliver."""
    window = make_window()
    assert window.centralWidget().minimumSizeHint().width() < 700
    assert window.palette.tree.viewport().width() > 150


def test_a_study_of_an_earlier_session_goes_on_from_its_folder(qtbot, make_view, monkeypatch):
    on_run = StudyWorker._on_run

    def stop_after_the_first_run(worker, index, total, planned, state):
        on_run(worker, index, total, planned, state)
        if index == 0 and state != "training":
            worker.stop()

    monkeypatch.setattr(StudyWorker, "_on_run", stop_after_the_first_run)
    first = make_view()
    first.baselines_box.setChecked(False)
    first.weighting_boxes["dwa"].setChecked(True)
    with qtbot.waitSignal(first.study_ended, timeout=STUDY_MS):
        assert first.start() is None
    folder = first.folder
    monkeypatch.setattr(StudyWorker, "_on_run", on_run)

    # A later session: another window, whose project has changed since.
    later = make_view()
    assert later.continue_last() == "there is no stopped study to go on with"
    later.document.project.set_training("epochs", 5)
    starts = []
    later.run_started.connect(lambda index, *args: starts.append(index))
    chosen = []
    monkeypatch.setattr(
        QFileDialog,
        "getExistingDirectory",
        lambda parent, title, start: chosen.append(start) or str(folder),
    )
    assert later.open_button.isEnabled()
    with qtbot.waitSignal(later.study_ended, timeout=STUDY_MS) as ended:
        later.open_button.click()
    assert chosen and chosen[0] == str(folder.parent)  # the dialog starts in the runs folder
    result = ended.args[0]
    assert starts == [1] and not result.stopped  # the scored run did not train again
    assert result.runs == {"as-drawn/seed-0": "completed", "weighting-dwa/seed-0": "completed"}
    # The study's own project and options, not the window's: one epoch.
    summary = json.loads((folder / "weighting-dwa" / "seed-0" / "summary.json").read_text())
    assert summary["epochs"] == 1
    assert later.folder == folder and str(folder) in later.folder_label.text()

    # A folder that holds no study: said where Start's refusals are.
    with qtbot.assertNotEmitted(later.study_ended):
        later._refused(later.continue_from(folder.parent))
    assert "not a study folder" in later.status.text()
