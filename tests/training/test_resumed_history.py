"""A run killed after its last checkpoint trains the steps since again when
resumed: its history must still hold each step once (issue 17)."""

import csv
import shutil
from collections import Counter

from mtl_studio.training import checkpoint as ckpt
from mtl_studio.training import events as ev
from mtl_studio.training import run_folder
from mtl_studio.training.record import (
    AFFINITY,
    COSINE,
    COSINE_HEADER,
    HISTORY,
    PENALTY,
    RunRecorder,
    trim_after,
)
from mtl_studio.training.run import run_project
from tests.helpers import two_task_project
from tests.training.test_results import results_project

HEADER = ["step", "epoch", "task", "split", "loss", "weight", "wall_seconds"]


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_history(path, steps, half_row=True):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for step in steps:
            for task in ("a", "b"):
                w.writerow([step, 1, task, "train", "0.5", "1", "0.1"])
    if half_row:  # a kill in the middle of a write
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("16,1,a,tra")


def test_resuming_drops_the_rows_past_the_checkpoint_and_half_rows(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    ckpt.save(out / run_folder.CHECKPOINT, {}, {"step": 10})
    write_history(out / HISTORY, range(1, 16))
    with open(out / AFFINITY, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "from_task", "to_task", "z"])
        w.writerows([[5, "a", "b", "0.1"], [12, "a", "b", "0.2"]])
    with open(out / COSINE, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COSINE_HEADER)
        w.writerows([[4, "a", "b", "0.3"], [11, "a", "b", "-0.2"]])
    (out / PENALTY).write_text("step,penalty\n9,0.1\n10,0.1\n11,0.1\n", encoding="utf-8")
    project = two_task_project()
    recorder = RunRecorder(out, project, resume=True)
    recorder.close()
    rows = rows_of(out / HISTORY)
    assert [int(r["step"]) for r in rows] == [s for s in range(1, 11) for _ in "ab"]
    assert [int(r["step"]) for r in rows_of(out / AFFINITY)] == [5]
    assert [int(r["step"]) for r in rows_of(out / COSINE)] == [4]
    assert [int(r["step"]) for r in rows_of(out / PENALTY)] == [9, 10]
    # The file ends with a whole line: the next rows append cleanly.
    assert (out / HISTORY).read_bytes().endswith(b"\n")


def test_trim_keeps_a_history_with_nothing_past_the_checkpoint_as_it_is(tmp_path):
    path = tmp_path / HISTORY
    write_history(path, range(1, 6), half_row=False)
    before = path.read_bytes()
    assert trim_after(path, 5) == 0
    assert path.read_bytes() == before
    assert trim_after(tmp_path / "missing.csv", 5) == 0


def test_no_checkpoint_no_trim(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    write_history(out / HISTORY, range(1, 6), half_row=False)
    RunRecorder(out, two_task_project(), resume=True).close()
    assert len(rows_of(out / HISTORY)) == 10


def assert_each_step_once(out, last_step):
    rows = rows_of(out / HISTORY)
    counts = Counter((int(r["step"]), r["task"], r["split"]) for r in rows)
    repeated = {k: n for k, n in counts.items() if n > 1}
    assert not repeated, repeated
    train_steps = sorted({s for s, task, split in counts if split == "train"})
    assert train_steps == list(range(1, last_step + 1))


def test_a_resume_after_a_kill_past_the_checkpoint_holds_each_step_once(tmp_path):
    project = results_project(tmp_path, epochs=2)
    out = tmp_path / "run"
    first = run_project(project, None, out, epochs=1)
    assert first.finished.status == "completed"
    at_epoch_1 = tmp_path / "epoch1.npz"
    shutil.copy(out / run_folder.CHECKPOINT, at_epoch_1)
    steps_per_epoch = first.finished.step
    # Epoch 2 is trained and recorded, then "killed" before its checkpoint:
    # the checkpoint on disk is still epoch 1's.
    project2, _ = run_folder.read(out)
    assert run_project(project2, None, out, resume=True, epochs=2).finished.status == "completed"
    shutil.copy(at_epoch_1, out / run_folder.CHECKPOINT)
    with open(out / HISTORY, "a", encoding="utf-8") as fh:
        fh.write(f"{2 * steps_per_epoch + 1},3,a,tr")  # and half a row
    again = run_project(project2, None, out, resume=True, epochs=2)
    assert again.finished.status == "completed"
    assert_each_step_once(out, 2 * steps_per_epoch)
    val = [r for r in rows_of(out / HISTORY) if r["split"] == "val"]
    assert sorted({int(r["epoch"]) for r in val}) == [1, 2]


def test_a_resume_after_a_stop_holds_each_step_once(tmp_path):
    project = results_project(tmp_path, epochs=2)
    out = tmp_path / "run"
    trainers = []

    def stop_early(batch):
        if any(isinstance(e, ev.StepLosses) for e in batch) and trainers:
            trainers[0].stop()

    first = run_project(project, None, out, listeners=[stop_early], on_trainer=trainers.append)
    assert first.finished.status == "stopped"
    project2, _ = run_folder.read(out)
    done = run_project(project2, None, out, resume=True)
    assert done.finished.status == "completed"
    assert_each_step_once(out, done.finished.step)
