"""A resumed run's TensorBoard events, like its history, hold each step once:
the events of steps past the checkpoint are dropped before it goes on."""

from collections import Counter, defaultdict

import pytest
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

import tests.training.test_resumed_history as resumed_history
from mtl_studio.training import checkpoint as ckpt
from mtl_studio.training import run_folder
from mtl_studio.training import tensorboard_trim
from mtl_studio.training.record import TENSORBOARD, RunRecorder
from mtl_studio.training.tf_import import tf
from tests.helpers import two_task_project


def write_events(folder, steps, tags=("loss/a", "loss/b")):
    t = tf()
    writer = t.summary.create_file_writer(str(folder))
    with writer.as_default():
        for step in steps:
            for tag in tags:
                t.summary.scalar(tag, float(step), step=step)
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def steps_by_tag(folder) -> dict[str, list[int]]:
    """Every step of every tag in the event files under `folder`, read by
    TensorBoard itself: all of them kept, none purged."""
    steps = defaultdict(list)
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={TENSORS: 0}, purge_orphaned_data=False)
        acc.Reload()
        for tag in acc.Tags()[TENSORS]:
            steps[tag] += [e.step for e in acc.Tensors(tag)]
    return dict(steps)


def resumed_run(tmp_path, checkpoint_step, steps=range(1, 16)):
    out = tmp_path / "run"
    out.mkdir()
    ckpt.save(out / run_folder.CHECKPOINT, {}, {"step": checkpoint_step})
    path = write_events(out / TENSORBOARD, steps)
    return out, path


def resume(out):
    RunRecorder(out, two_task_project(), resume=True).close()


def test_resuming_drops_the_events_past_the_checkpoint(tmp_path):
    out, _ = resumed_run(tmp_path, 10)
    resume(out)
    assert steps_by_tag(out / TENSORBOARD) == {
        "loss/a": list(range(1, 11)),
        "loss/b": list(range(1, 11)),
    }


@pytest.mark.parametrize("kill", ["cut", "garbage"])
def test_a_last_record_cut_short_goes_and_the_whole_ones_stay(tmp_path, kill):
    out, path = resumed_run(tmp_path, 20)
    data = path.read_bytes()
    # A kill in the middle of the last record (step 15 of loss/b), or after it.
    path.write_bytes(data[:-5] if kill == "cut" else data + b"\x10\0\0\0\0\0\0\0trunc")
    resume(out)
    assert steps_by_tag(out / TENSORBOARD) == {
        "loss/a": list(range(1, 16)),
        "loss/b": list(range(1, 15 if kill == "cut" else 16)),
    }
    _, cut = tensorboard_trim._read(path)
    assert not cut  # the file now ends with a whole record


def test_a_file_with_nothing_past_the_checkpoint_is_left_as_it_is(tmp_path):
    out, path = resumed_run(tmp_path, 15)
    before = path.read_bytes(), path.stat().st_mtime_ns
    resume(out)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_file_that_cannot_be_rewritten_does_not_stop_the_resume(tmp_path, monkeypatch):
    out, path = resumed_run(tmp_path, 10)
    before = path.read_bytes()

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    # The rewrite fails once its temporary file is written, before the rename.
    monkeypatch.setattr(tensorboard_trim, "open", full_disk, raising=False)
    resume(out)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*"))  # no temporary left


def test_after_a_resume_past_the_checkpoint_tensorboard_holds_each_step_once(tmp_path):
    resumed_history.test_a_resume_after_a_kill_past_the_checkpoint_holds_each_step_once(tmp_path)
    steps = steps_by_tag(tmp_path / "run" / TENSORBOARD)
    assert "train_loss/total" in steps
    repeated = {
        tag: [s for s, n in Counter(found).items() if n > 1] for tag, found in steps.items()
    }
    assert not any(repeated.values()), repeated
