"""Runs on disk (issue 12): a run folder's curves read back as the window
saw them live, the errors of a folder that is not a run, Open Run in the
controller (current run, Continue from Checkpoint) and the Open Run dialog."""

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from mtl_studio.core.fileformat import load, save
from mtl_studio.examples import example_path
from mtl_studio.training import events as ev
from mtl_studio.ui.plots import PlotsPanel
from mtl_studio.ui.run_controller import RunController, project_runs
from mtl_studio.ui.run_curves import RunCurves
from mtl_studio.ui.run_history import RunOpenError, curves_from_folder
from mtl_studio.ui.runs_dialog import EMPTY, RunsDialog
from tests.helpers import two_task_project

RUN_TIMEOUT = 90_000  # ms: a first run in the process imports TensorFlow and compiles
HEADER = "step,epoch,task,split,loss,weight,wall_seconds,accuracy\n"


def tiny_project(mode="joint", weighting="uncertainty", epochs=3, affinity_every=0):
    """The tutorial's two tasks on 200 generated rows, 40 of them for
    validation (the tutorial holds none out, these runs need validation
    curves), in batches of 32: 5 steps an epoch."""
    project = load(example_path("tutorial"))
    project.training.validation_split, project.training.batch_size = 0.2, 32
    project.training.mode, project.training.weighting = mode, weighting
    project.training.epochs = epochs
    project.training.affinity_every = affinity_every
    project.training.steps_per_call = 2
    project.data.params["examples"] = 200
    return project


def train_headless(project, out: Path):
    """A run as `mtl-studio train` makes it (tests/training/test_results.py's
    run()), and the curves its events gave live, as the window's would be.
    A weight change at step 4 makes a mark."""
    from mtl_studio.training import run_folder
    from mtl_studio.training.record import RunRecorder
    from mtl_studio.training.trainer import Trainer

    run_folder.start(project, None, out)
    recorder = RunRecorder(out, project)
    tasks = [t.name for t in project.tasks]
    live = RunCurves(
        "live",
        tasks,
        {t: project.task_color(t) for t in tasks},
        mode=project.training.mode,
        weighting=project.training.weighting,
        folder=str(out),
        monitor=project.training.monitor,
    )
    events = []
    holder = {}

    def listen(batch):
        events.extend(batch)
        live.add(batch)
        if not holder.get("changed") and any(
            isinstance(e, ev.StepLosses) and e.steps[-1] >= 4 for e in batch
        ):
            holder["changed"] = True
            holder["trainer"].set_weight(tasks[0], 0.5)

    recorder.listeners.append(listen)
    trainer = Trainer(project, None, recorder, checkpoint_path=out / run_folder.CHECKPOINT)
    holder["trainer"] = trainer
    finished = trainer.run()
    run_folder.finish(trainer, recorder, finished, out)
    return live, events


@pytest.fixture(scope="module", params=["joint", "alternating"])
def trained(request, tmp_path_factory):
    """(folder, live curves, events) of a finished tiny run, per mode, with
    task affinity measured every 2 steps."""
    out = tmp_path_factory.mktemp(f"runs-{request.param}") / "tutorial-20240102-030405"
    live, events = train_headless(tiny_project(request.param, affinity_every=2), out)
    assert live.status == "completed"
    return out, live, events


@pytest.fixture
def joint_run(tmp_path_factory):
    """A fresh copy of a finished joint run: a test may train it further."""
    source = tmp_path_factory.getbasetemp() / "joint-source" / "tutorial-20240102-030405"
    if not source.exists():
        train_headless(tiny_project("joint"), source)
    copy = tmp_path_factory.mktemp("copy") / source.name
    shutil.copytree(source, copy)
    return copy


def weight_at(series, steps):
    """The weight in force at each step: the last report before it."""
    return series.value[np.searchsorted(series.step, steps, side="left") - 1]


# --- curves_from_folder on real runs -----------------------------------------------------


def test_a_run_folder_gives_back_the_curves_the_run_showed_live(trained):
    folder, live, events = trained
    curves = curves_from_folder(folder)
    assert curves.label == folder.name and curves.folder == str(folder.resolve())
    assert curves.tasks == live.tasks and curves.colors == live.colors
    assert (curves.mode, curves.weighting) == (live.mode, live.weighting)
    assert (curves.status, curves.message) == (live.status, live.message)
    assert curves.steps_per_epoch == live.steps_per_epoch == 5
    assert curves.step == live.step == curves.total_steps == 15
    for task in live.tasks:
        a, b = curves.train[task], live.train[task]
        assert len(a) == len(b) > 0
        np.testing.assert_array_equal(a.step, b.step)
        np.testing.assert_allclose(a.value, b.value, rtol=1e-6)
        np.testing.assert_allclose(a.wall, b.wall, atol=1e-3)
        a, b = curves.val[task], live.val[task]
        assert len(a) == len(b) == 3
        np.testing.assert_array_equal(a.step, b.step)
        np.testing.assert_allclose(a.value, b.value, rtol=1e-6)
        # The weight in force at every step, as the StepLosses events had it.
        steps = np.concatenate([e.steps for e in events if isinstance(e, ev.StepLosses)])
        weights = np.concatenate([e.weights[task] for e in events if isinstance(e, ev.StepLosses)])
        trained_here = np.isin(steps, curves.train[task].step)
        np.testing.assert_allclose(
            weight_at(curves.weights[task], steps[trained_here]), weights[trained_here], rtol=1e-5
        )
    # The total, rebuilt as sum_k w_k L_k of each step, is the Trainer's.
    np.testing.assert_array_equal(curves.total.step, live.total.step)
    np.testing.assert_allclose(curves.total.value, live.total.value, rtol=1e-5)
    assert (curves.best_epoch, curves.best_step) == (live.best_epoch, live.best_step)
    assert curves.best_value == pytest.approx(live.best_value, rel=1e-6)
    assert curves.best_x("step") == live.best_x("step")
    assert [(m.step, m.setting, m.task, m.value) for m in curves.marks] == [
        (m.step, m.setting, m.task, m.value) for m in live.marks
    ]
    assert len(curves.marks) == 1
    # The gradient cosines, from cosine.csv: the pairs the run reported.
    reported = {pair: s for pair, s in live.cosine.items() if len(s)}
    assert reported and set(curves.cosine) == set(reported)
    for pair, series in reported.items():
        np.testing.assert_array_equal(curves.cosine[pair].step, series.step)
        np.testing.assert_allclose(curves.cosine[pair].value, series.value, rtol=1e-6)
        np.testing.assert_allclose(curves.cosine[pair].wall, series.wall, atol=1e-3)
    assert not curves.running


def test_the_summary_says_how_many_steps_an_epoch_has(trained):
    folder, live, _ = trained
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["steps_per_epoch"] == live.steps_per_epoch


def test_an_older_run_without_steps_per_epoch_in_its_summary(trained, tmp_path):
    folder, live, _ = trained
    copy = tmp_path / "old"
    shutil.copytree(folder, copy)
    summary = json.loads((copy / "summary.json").read_text())
    del summary["steps_per_epoch"]
    (copy / "summary.json").write_text(json.dumps(summary))
    assert curves_from_folder(copy).steps_per_epoch == live.steps_per_epoch


def test_opened_curves_show_in_the_plots_with_their_best_epoch(
    trained, qtbot, no_leaked_widgets, tmp_path
):
    folder, live, _ = trained
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    curves = curves_from_folder(folder)
    panel.show_run(curves)
    panel.refresh(everything=True)
    assert "cosine" in panel.shown_plots  # from cosine.csv, as the run showed it live
    pair, series = next(iter(curves.cosine.items()))
    x, _ = panel.curve("cosine", pair).main.getOriginalDataset()
    assert len(x) == len(series)
    # A run without cosine.csv (an earlier version's) shows no empty plot.
    older = tmp_path / "older"
    shutil.copytree(folder, older)
    (older / "cosine.csv").unlink()
    panel.show_run(curves_from_folder(older))
    panel.refresh(everything=True)
    assert "cosine" not in panel.shown_plots
    assert panel.plots["task:Y1"].best_line.value() == curves.best_step
    x, _ = panel.curve("train", "Y1").main.getOriginalDataset()
    assert len(x) == len(curves.train["Y1"])


def test_an_opened_run_has_the_task_affinity_its_summary_gives(trained, qtbot, no_leaked_widgets):
    folder, live, events = trained
    summary = json.loads((folder / "summary.json").read_text())
    curves = curves_from_folder(folder)
    measured = [e for e in events if isinstance(e, ev.Affinity)]
    assert measured and curves.affinity_count == summary["affinity"]["measurements"]
    assert curves.affinity_tasks == summary["affinity"]["tasks"] == curves.tasks
    np.testing.assert_allclose(
        curves.affinity_mean, summary["affinity"]["mean"], rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(curves.affinity_mean, live.affinity_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(curves.affinity_last, measured[-1].z, rtol=1e-5, atol=1e-7)
    assert curves.affinity_step == measured[-1].step
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_run(curves)
    panel.refresh(everything=True)
    assert panel.shown_plots[-1] == "affinity"
    np.testing.assert_allclose(panel.plots["affinity"].image.image, curves.affinity_mean)


# --- what is not a run -------------------------------------------------------------------


def hand_made(folder: Path, history: str, summary: dict | None = None) -> Path:
    """A run folder written by hand: the two-task project (tasks a, b)."""
    folder.mkdir(parents=True, exist_ok=True)
    save(two_task_project(), folder / "project.mtl.json")
    (folder / "history.csv").write_text(history, encoding="utf-8")
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


GOOD = (
    HEADER
    + "".join(f"{s},1,{t},train,{1 / s:.7g},1,{s * 0.1:.3f},\n" for s in range(1, 5) for t in "ab")
    + "4,1,a,val,0.5,1,0.5,\n4,1,b,val,0.7,1,0.5,0.25\n"
)


def test_a_hand_made_run_reads_and_a_missing_summary_says_so(tmp_path):
    curves = curves_from_folder(hand_made(tmp_path / "r", GOOD))
    assert curves.train["a"].step.tolist() == [1, 2, 3, 4]
    assert curves.val["b"].value.tolist() == [0.7]
    assert curves.steps_per_epoch == 4  # from the validation row of epoch 1
    assert curves.status == "unknown" and "no summary.json" in curves.message
    assert curves.total.value.tolist() == pytest.approx([2.0, 1.0, 2 / 3, 0.5], rel=1e-6)


def test_not_a_run(tmp_path):
    with pytest.raises(RunOpenError, match="no such folder"):
        curves_from_folder(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(RunOpenError, match="not a run folder: it has no history.csv"):
        curves_from_folder(tmp_path)
    folder = hand_made(tmp_path / "r", GOOD)
    (folder / "project.mtl.json").unlink()
    with pytest.raises(RunOpenError, match=r"project\.mtl\.json: missing"):
        curves_from_folder(folder)


@pytest.mark.parametrize(
    "summary, words",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"status": 3}', "'status' should be text"),
        ('{"steps_per_epoch": "ten"}', "'steps_per_epoch' should be a whole number"),
        ('{"best_epoch": {"epoch": "two"}}', "'best_epoch' should be"),
        ('{"setting_changes": [{"step": 1}]}', "'setting_changes' should be"),
    ],
)
def test_a_corrupt_summary_is_named_with_what_is_wrong(tmp_path, summary, words):
    folder = hand_made(tmp_path / "r", GOOD)
    (folder / "summary.json").write_text(summary)
    with pytest.raises(RunOpenError) as info:
        curves_from_folder(folder)
    assert str(info.value).startswith(str(folder.resolve() / "summary.json"))
    assert words in str(info.value)


@pytest.mark.parametrize(
    "line, words",
    [
        ("x,1,a,train,0.5,1,0.1,", "line 12: column 'step' is 'x', not a number"),
        ("5,1,a,train,,1,0.1,", "line 12: column 'loss' is '', not a number"),
        ("5.5,1,a,train,0.5,1,0.1,", "line 12: column 'step' is '5.5', not a whole number"),
        ("5,1,c,train,0.5,1,0.1,", "line 12: column 'task' is 'c', not a task"),
        ("5,1,a,test,0.5,1,0.1,", "line 12: column 'split' is 'test', not train or val"),
        ("5,1,a,train,0.5,1,0.1", "line 12: 7 cells, expected 8"),
        ("5,1,a,train,0.5,1,0.1,,", "line 12: 9 cells, expected 8"),
        ('5,1,"a,b",train,0.5,1,0.1,', "line 12: column 'task' is 'a,b'"),
    ],
)
def test_a_bad_history_row_is_named_by_its_line(tmp_path, line, words):
    folder = hand_made(tmp_path / "r", GOOD + line + "\n" + "6,1,a,train,0.5,1,0.1,\n")
    with pytest.raises(RunOpenError) as info:
        curves_from_folder(folder)
    assert str(info.value).startswith(str(folder.resolve() / "history.csv"))
    assert words in str(info.value)


def test_a_bad_header_and_a_half_written_last_line(tmp_path):
    folder = hand_made(tmp_path / "r", "time,loss\n1,2\n")
    with pytest.raises(RunOpenError, match="line 1: expected the header"):
        curves_from_folder(folder)
    # A run killed while writing a line: the part written is left out.
    folder = hand_made(tmp_path / "s", GOOD + "5,1,a,tr")
    assert len(curves_from_folder(folder).train["a"]) == 4


def test_steps_trained_again_after_a_resume_replace_the_old_ones(tmp_path):
    # A NaN at step 6 put the run back to its checkpoint at step 4; the
    # resume trained 5 and 6 again and appended them.
    rows = "".join(
        f"{s},{(s - 1) // 4 + 1},a,train,{v},1,{s * 0.1:.3f},\n"
        for s, v in [(1, 4), (2, 3), (3, 2), (4, 1), (5, 9), (6, 9), (5, 0.5), (6, 0.25)]
    )
    folder = hand_made(tmp_path / "r", HEADER + rows)
    curves = curves_from_folder(folder)
    assert curves.train["a"].step.tolist() == [1, 2, 3, 4, 5, 6]
    assert curves.train["a"].value.tolist() == [4, 3, 2, 1, 0.5, 0.25]


def test_the_live_curves_drop_the_steps_a_resume_trains_again():
    run = RunCurves("Run 1", ["a"])
    run.add(
        [
            ev.RunStarted(["a"], "joint", "fixed", 12, 4, 3),
            ev.StepLosses(
                np.arange(1, 7),
                1,
                {"a": np.arange(6.0)},
                np.arange(6.0),
                wall=np.arange(1, 7) * 0.5,
            ),
        ]
    )
    run.add([ev.RunStarted(["a"], "joint", "fixed", 12, 4, 3, start_step=4)])
    assert run.train["a"].step.tolist() == [1, 2, 3, 4] and run.step == 4
    assert len(run.total) == 4


def test_a_long_history_reads_quickly(tmp_path):
    steps = 100_000  # 200,000 rows of two tasks, and 2,000 validation rows
    s = np.repeat(np.arange(1, steps + 1), 2)
    lines = [
        f"{step},{(step - 1) // 100 + 1},{task},train,0.5,1,{step * 1e-3:.3f},\n"
        for step, task in zip(s, "ab" * steps)
    ]
    lines += [
        f"{step},{step // 100},{task},val,0.25,1,{step * 1e-3:.3f},0.5\n"
        for step in range(100, steps + 1, 100)
        for task in "ab"
    ]
    folder = hand_made(
        tmp_path / "r",
        HEADER + "".join(lines),
        {"status": "completed", "steps": steps, "steps_per_epoch": 100},
    )
    started = time.perf_counter()
    curves = curves_from_folder(folder)
    elapsed = time.perf_counter() - started
    assert len(curves.train["a"]) == steps and len(curves.val["b"]) == 1000
    assert len(curves.weights["a"]) == 1  # the weight never changed: one point
    assert elapsed < 2.0, elapsed  # about 0.15 s on the development machine


# --- the runs beside a project -----------------------------------------------------------


def test_project_runs_lists_run_folders_newest_first(tmp_path):
    root = tmp_path / "runs"
    hand_made(
        root / "p-20240101-120000",
        GOOD,
        {"status": "completed", "epochs": 1, "best_epoch": {"epoch": 1, "step": 4, "value": 0.5}},
    )
    hand_made(root / "p-20240301-120000", GOOD, {"status": "stopped", "epochs": 1})
    hand_made(root / "p-20240201-120000", GOOD)  # still training, or killed
    (root / "p-20240401-120000").mkdir()  # not a run: no history, no summary
    (root / "bad-20240501-000000").mkdir()
    (root / "bad-20240501-000000" / "summary.json").write_text("{")
    runs = project_runs(root)
    assert [r["name"] for r in runs] == [
        "bad-20240501-000000",
        "p-20240301-120000",
        "p-20240201-120000",
        "p-20240101-120000",
    ]
    assert [r["status"] for r in runs] == ["unreadable", "stopped", "unfinished", "completed"]
    assert runs[3]["best_epoch"] == 1 and runs[1]["best_epoch"] is None
    assert runs[3]["epochs"] == 1 and runs[3]["path"] == root / "p-20240101-120000"
    assert time.localtime(runs[1]["started"])[:6] == (2024, 3, 1, 12, 0, 0)
    assert project_runs(tmp_path / "nothing") == []


# --- the controller ------------------------------------------------------------------------


@pytest.fixture
def controller(qtbot):
    runs = RunController()
    yield runs
    assert runs.shutdown(20_000)
    runs.deleteLater()


def open_and_wait(qtbot, controller, folder):
    with qtbot.waitSignal(controller.run_opened, timeout=10_000) as signal:
        assert controller.open_run(folder) is None
    return signal.args[0]


def test_open_run_makes_the_run_current_ready_to_continue(qtbot, controller, trained):
    folder, live, _ = trained
    earlier = RunCurves("Run 1", live.tasks)
    controller.runs.append(earlier)
    curves = open_and_wait(qtbot, controller, folder)
    assert controller.curves is curves and controller.runs == [earlier, curves]
    assert curves.label == folder.name and curves.status == "completed"
    assert controller.can_continue() and controller.state == "idle"
    assert controller.opening is None
    # Opened again: the same curves, not a second copy.
    assert open_and_wait(qtbot, controller, folder) is curves
    assert len(controller.runs) == 2


def test_open_run_says_why_a_folder_is_not_a_run(qtbot, controller, tmp_path):
    with qtbot.waitSignal(controller.open_failed, timeout=10_000) as signal:
        assert controller.open_run(tmp_path) is None
    assert "not a run folder" in signal.args[0] and str(tmp_path) in signal.args[0]
    assert controller.curves is None and controller.runs == []


def test_continue_an_opened_completed_run_trains_as_many_epochs_again(qtbot, controller, joint_run):
    curves = open_and_wait(qtbot, controller, joint_run)
    assert curves.step == 15 and controller.can_continue()
    assert controller.continue_run() is None
    assert controller.busy
    assert "in progress" in controller.open_run(joint_run)  # refused while training
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=RUN_TIMEOUT)
    assert curves.status == "completed", curves.message
    assert curves.step == 30 and len(curves.val["Y1"]) == 6
    assert curves.train["Y1"].step.tolist() == list(range(1, 31))
    summary = json.loads((joint_run / "summary.json").read_text())
    assert summary["epochs"] == 6 and summary["steps_per_epoch"] == 5  # kept on resume
    again = curves_from_folder(joint_run)
    np.testing.assert_array_equal(again.train["Y2"].step, curves.train["Y2"].step)
    np.testing.assert_allclose(again.train["Y2"].value, curves.train["Y2"].value, rtol=1e-6)
    assert (again.best_epoch, again.best_step) == (curves.best_epoch, curves.best_step)


# --- the dialog ------------------------------------------------------------------------------


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    hand_made(
        root / "p-20240101-120000",
        GOOD,
        {"status": "completed", "epochs": 1, "best_epoch": {"epoch": 1, "step": 4, "value": 0.5}},
    )
    hand_made(root / "p-20240301-120000", GOOD, {"status": "stopped", "epochs": 1})
    return root


def test_the_dialog_lists_runs_newest_first_and_opens_on_double_click(
    qtbot, runs_root, no_leaked_widgets
):
    dialog = RunsDialog(runs_root)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    tree = dialog.tree
    assert [tree.headerItem().text(c) for c in range(5)] == [
        "Run",
        "Status",
        "Epochs",
        "Best epoch",
        "Date",
    ]
    rows = [
        [tree.topLevelItem(i).text(c) for c in range(5)] for i in range(tree.topLevelItemCount())
    ]
    assert rows == [
        ["p-20240301-120000", "stopped", "1", "\u2013", "2024-03-01 12:00"],
        ["p-20240101-120000", "completed", "1", "1", "2024-01-01 12:00"],
    ]
    assert not dialog.empty.isVisible() and dialog.open_button.isEnabled()
    item = tree.topLevelItem(1)
    where = tree.visualItemRect(item).center()
    # As a user does it: QTest's double click alone is no second click.
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=where)
    assert tree.currentItem() is item and dialog.isVisible()
    qtbot.mouseDClick(tree.viewport(), Qt.LeftButton, pos=where)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen == runs_root / "p-20240101-120000"


def test_the_dialog_opens_the_selected_run_or_any_folder(
    qtbot, runs_root, monkeypatch, tmp_path, no_leaked_widgets
):
    dialog = RunsDialog(runs_root)
    qtbot.addWidget(dialog)
    dialog.open_button.click()  # the newest is selected
    assert dialog.chosen == runs_root / "p-20240301-120000"
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda parent, caption, start: str(elsewhere)
    )
    dialog = RunsDialog(runs_root)
    qtbot.addWidget(dialog)
    dialog.browse_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.chosen == elsewhere


def test_the_dialog_says_when_there_are_no_runs(qtbot, tmp_path, no_leaked_widgets):
    dialog = RunsDialog(tmp_path / "runs")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.empty.isVisible() and dialog.empty.text() == EMPTY
    assert not dialog.tree.isVisible() and not dialog.open_button.isEnabled()
    assert dialog.browse_button.isEnabled()


@pytest.mark.parametrize(
    "name, text, bad",
    [
        ("affinity.csv", "step,from_task,to_task,z\n2,a,a,0.5\n2,a,nope,0.1\n", "nope"),
        ("cosine.csv", "step,task_a,task_b,cosine\n2,a,b,0.5\n3,a,b,many\n", "many"),
        ("penalty.csv", "step,penalty\n1,0.5\n2,lots\n", "lots"),
    ],
)
def test_a_bad_row_or_header_of_a_run_file_is_named(tmp_path, name, text, bad):
    folder = hand_made(tmp_path / "run", GOOD, {"mode": "soft_sharing"})
    (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(RunOpenError, match=rf"{name}: line 3: .*{bad}"):
        curves_from_folder(folder)
    (folder / name).write_text("step,x\n", encoding="utf-8")
    with pytest.raises(RunOpenError, match=rf"{name}: line 1: expected the header"):
        curves_from_folder(folder)


def test_half_written_last_lines_of_the_run_files_are_left_out(tmp_path):
    folder = hand_made(tmp_path / "run", GOOD, {"mode": "soft_sharing"})
    (folder / "affinity.csv").write_text(
        "step,from_task,to_task,z\n2,a,a,0.5\n4,a,a,0.1\n4,a,b,0.", encoding="utf-8"
    )
    (folder / "cosine.csv").write_text(
        "step,task_a,task_b,cosine\n2,a,b,0.5\n4,a,b,-0.25\n6,a,b,0.", encoding="utf-8"
    )
    (folder / "penalty.csv").write_text("step,penalty\n1,0.5\n2,0.25\n3,0.", encoding="utf-8")
    curves = curves_from_folder(folder)
    assert curves.affinity_count == 2 and curves.affinity_tasks == ["a"]
    assert curves.affinity_mean.tolist() == [[pytest.approx(0.3)]]
    assert curves.affinity_last.tolist() == [[0.1]] and curves.affinity_step == 4
    assert list(curves.cosine) == [("a", "b")]
    assert curves.cosine[("a", "b")].step.tolist() == [2, 4]
    assert curves.cosine[("a", "b")].value.tolist() == [0.5, -0.25]
    assert curves.penalty.step.tolist() == [1, 2]
    # The total of soft sharing: sum_k w_k L_k plus the penalty of the step.
    assert curves.total.value.tolist() == pytest.approx([1 + 1 + 0.5, 0.5 + 0.5 + 0.25])


def test_a_soft_sharing_run_gives_back_its_total_and_penalty(tmp_path):
    out = tmp_path / "soft"
    live, _ = train_headless(tiny_project("soft_sharing", "fixed", epochs=2), out)
    assert live.status == "completed" and len(live.penalty) > 0
    curves = curves_from_folder(out)
    np.testing.assert_array_equal(curves.penalty.step, live.penalty.step)
    np.testing.assert_allclose(curves.penalty.value, live.penalty.value, rtol=1e-6)
    # The total is sum_k w_k L_k plus the penalty, as the Trainer reported it.
    np.testing.assert_array_equal(curves.total.step, live.total.step)
    np.testing.assert_allclose(curves.total.value, live.total.value, rtol=1e-5)
    # A run of an earlier version, without penalty.csv: no total rather than a wrong one.
    (out / "penalty.csv").unlink()
    older = curves_from_folder(out)
    assert len(older.total) == 0 and len(older.penalty) == 0
