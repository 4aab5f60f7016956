"""The Results tab on a real run: the table beside the trivial predictor,
the charts, Predict on File in the background."""

import csv

import numpy as np
import pytest

from mtl_studio.ui.background import wait_for_background
from mtl_studio.ui.results_view import ResultsView
from tests.training.test_results import results_project, run, write_rows


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("results_view")
    project = results_project(tmp, epochs=3)
    out = tmp / "run"
    run(project, out)
    return out


@pytest.fixture
def view(qtbot):
    widget = ResultsView()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    yield widget
    wait_for_background()


def test_a_run_is_evaluated_when_shown_and_kept(qtbot, view, run_folder):
    view.show_run(run_folder)
    assert not view.busy  # not visible yet: nothing runs
    with qtbot.waitSignal(view.evaluated, timeout=60000):
        view.show()
    assert (run_folder / "evaluation.json").exists()
    figures = [
        (view.table.item(i, 0).text(), view.table.item(i, 1).text())
        for i in range(view.table.rowCount())
    ]
    assert ("a", "MAE") in figures and ("a", "R²") in figures
    assert ("b", "accuracy") in figures and ("b", "log loss") in figures
    assert "test rows" in view.heading.text() and "best epoch" in view.heading.text()
    charts = [
        view.charts_layout.itemAt(i).widget().title() for i in range(view.charts_layout.count())
    ]
    assert charts == [
        "a: predicted against actual",
        "b: confusion matrix (rows: true class, columns: predicted)",
    ]

    # Shown again (a run opened from disk): at once, from the run folder.
    again = ResultsView()
    qtbot.addWidget(again)
    again.show_run(run_folder)
    assert not again.busy and again.table.rowCount() == view.table.rowCount()


def test_figures_no_better_than_trivial_are_marked(qtbot, view, run_folder):
    view.show()
    view.show_run(run_folder)
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    with qtbot.waitSignal(view.evaluated, timeout=60000):
        view.split_combo.setCurrentIndex(2)  # the training rows
        view.split_combo.activated.emit(2)
    assert "training rows" in view.heading.text()
    from mtl_studio.training.evaluation import read_evaluation

    result, _ = read_evaluation(run_folder)
    expected = [
        (task, name)
        for task, s in result["tasks"].items()
        for name, f in s["figures"].items()
        if f["beats_trivial"] is False
    ]
    from mtl_studio.ui.results_view import FIGURE_NAMES

    assert view.marked_rows() == [(t, FIGURE_NAMES[n]) for t, n in expected]


def test_predict_on_file_writes_in_the_background(qtbot, view, run_folder, tmp_path, monkeypatch):
    view.show()
    view.show_run(run_folder)
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    data = write_rows(tmp_path / "new.csv", n=50, seed=3)
    out = tmp_path / "out.csv"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(data), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    view.predict_on_file()
    assert view.busy and not view.predict_button.isEnabled()
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 50 and list(rows[0]) == ["a", "b", "b_probability"]
    assert {r["b"] for r in rows} <= {"cat", "dog", "eel"}
    assert abs(np.mean([float(r["a"]) for r in rows]) - 170) < 25  # centimetres
    assert "Wrote 50 predictions" in view.status.text()


def test_a_bad_file_is_named_and_nothing_is_written(qtbot, view, run_folder, tmp_path):
    view.show()
    view.show_run(run_folder)
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    bad = tmp_path / "bad.csv"
    bad.write_text("f0,f1\n1,2\n")
    view.predict(bad, tmp_path / "out.csv")
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    assert "column 'f2': missing column" in view.status.text()
    assert not (tmp_path / "out.csv").exists()


def test_no_run_says_what_to_do(view):
    view.show_run(None)
    assert "Open Run" in view.status.text() and not view.evaluate_button.isEnabled()


def test_the_mark_follows_beats_trivial(view):
    figure = {"better": "lower", "trivial": 2.0}
    result = {
        "run": "/x/run-1",
        "model": "model-best.keras",
        "best_epoch": 4,
        "split": "test",
        "note": "",
        "tasks": {
            "a": {
                "n": 10,
                "kind": "regression",
                "figures": {
                    "mae": dict(figure, model=3.0, beats_trivial=False),
                    "rmse": dict(figure, model=1.0, beats_trivial=True),
                    "r2": dict(figure, model=None, beats_trivial=None, better="higher"),
                },
            }
        },
    }
    view._show(result, {})
    assert view.marked_rows() == [("a", "MAE")]
    assert view.table.item(2, 2).text() == "–"
    assert "best epoch 4" in view.heading.text() and "(10 examples)" in view.heading.text()


def test_the_window_shows_a_finished_runs_results_on_its_tab(qtbot, make_window, run_folder):
    from mtl_studio.ui.run_curves import RunCurves

    (run_folder / "evaluation.json").unlink(missing_ok=True)  # none kept: evaluate
    window = make_window()
    assert not window.act_predict.isEnabled()
    curves = RunCurves("Run 1", ["a", "b"], folder=str(run_folder))
    window.show_results_of(curves)
    window._update_run_actions()
    assert window.act_predict.isEnabled()
    with qtbot.waitSignal(window.results.evaluated, timeout=60000):
        window.act_show_results.trigger()  # Ctrl+3: evaluated when first shown
    assert window.tabs.currentWidget() is window.results
    assert window.results.table.rowCount() > 0
    run_menu = [a.text() for a in window.menuBar().actions()[3].menu().actions()]
    assert "&Predict on File..." in run_menu and "Open in &TensorBoard" in run_menu
    window.show_results_of(RunCurves("Run 2", ["a"], folder=str(run_folder / "nothing")))
    assert window.results.folder is None  # a run without a model has no results


def test_open_run_shows_its_curves_and_results_and_continue_goes_on(
    qtbot, make_window, run_folder, monkeypatch, tmp_path
):
    import mtl_studio.ui.main_window as main_window

    window = make_window(results_project(tmp_path))  # a valid project: no reason shown
    monkeypatch.setattr(main_window, "choose_run", lambda parent, root: run_folder)
    with qtbot.waitSignal(window.runs.run_opened, timeout=30000):
        window.act_open_run.trigger()
    curves = window.runs.curves
    assert curves.folder == str(run_folder) and curves.status == "completed"
    assert window.tabs.currentWidget() is window.plots
    assert window.results.folder == run_folder
    assert "Opened" in window.training_panel.run_panel.status.text()
    assert window.act_continue.isEnabled()
    steps = curves.step
    window.act_continue.trigger()
    qtbot.waitUntil(
        lambda: window.runs.state == "idle" and window.runs.curves.step > steps, timeout=120000
    )
    assert window.runs.curves.status == "completed"
