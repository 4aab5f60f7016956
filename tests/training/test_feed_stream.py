"""The streamed training path (data/stream.py + training/feed.py) trains on
the same batches as the in-memory one: equal step losses on the same seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.data import stream
from mtl_studio.data.stream import RowColumn, release
from mtl_studio.training import events as ev
from mtl_studio.training.feed import MemoryFeed, StreamFeed
from mtl_studio.training.trainer import Trainer
from tests.helpers import chain, node
from tests.training.conftest import regression_project

ROWS = 90


@pytest.fixture
def cache_parent(tmp_path, monkeypatch):
    folder = tmp_path / "caches"
    folder.mkdir()
    monkeypatch.setattr(stream, "CACHE_PARENT", str(folder))
    return folder


def _write_csv(path: Path, rows: int = ROWS, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    a = x[:, 0] * 2 + 0.1 * rng.normal(size=rows)
    b1, b2 = x[:, 1] - x[:, 2], x[:, 3]
    lines = ["x1,x2,x3,x4,x5,x6,a,b1,b2,c"]
    for i in range(rows):
        cells = [*x[i], a[i], b1[i], b2[i]]
        lines.append(",".join(f"{v:.6f}" for v in cells) + f",{'pqr'[i % 3]}")
    path.write_text("\n".join(lines) + "\n")


def csv_project(folder: Path, mode: str = "joint"):
    p = regression_project(mode)
    _write_csv(folder / "data.csv")
    p.data = DataSource("csv", path="data.csv", inputs={"x": ["x1", "x2", "x3", "x4", "x5", "x6"]})
    p.task("a").target = ["a"]
    p.task("b").target = ["b1", "b2"]
    p.data.standardize_targets = True
    p.training.validation_split = 0.2
    p.training.batch_size = 7  # 72 training rows: 10 steps, not a multiple of 3 per call
    p.training.affinity_every = 2
    return p


def _losses(project, folder, loading: str, epochs: int = 2, **kwargs):
    project = project.copy()
    project.training.data_loading = loading
    found = []

    def keep(events):
        found.extend(e for e in events if isinstance(e, ev.StepLosses))

    trainer = Trainer(project, folder, keep, flush_seconds=0, **kwargs)
    finished = trainer.run(epochs)
    assert finished.status == "completed", finished.message
    steps = np.concatenate([e.steps for e in found])
    losses = {task: np.concatenate([e.losses[task] for e in found]) for task in trainer.tasks}
    return trainer, steps, losses


def _same(a, b):
    for task in a:
        np.testing.assert_allclose(a[task], b[task], rtol=1e-5, equal_nan=True)


def test_stream_joint_takes_the_same_batches(tmp_path, cache_parent):
    p = csv_project(tmp_path)
    memory, steps_m, losses_m = _losses(p, tmp_path, "memory")
    streamed, steps_s, losses_s = _losses(p, tmp_path, "stream")
    assert isinstance(memory.feed, MemoryFeed) and not isinstance(memory.feed, StreamFeed)
    assert isinstance(streamed.feed, StreamFeed)
    assert isinstance(streamed._data.datasets[0].train.inputs["x"], RowColumn)
    # The buffer holds one call's rows, not the training split.
    assert streamed.train_x[0]["x"].shape[0] == 3 * 7 < streamed._data.datasets[0].train.n
    np.testing.assert_array_equal(steps_m, steps_s)
    _same(losses_m, losses_s)
    # Validation reads the row files in chunks: the same figures.
    val_m, _ = memory.evaluate("val")
    val_s, _ = streamed.evaluate("val")
    assert val_m == pytest.approx(val_s, rel=1e-5)
    assert memory._data.standardization == streamed._data.standardization


def test_stream_alternating_with_two_data_sets(tmp_path, cache_parent):
    p = csv_project(tmp_path, "alternating")
    p.training.schedule = "random"
    # Task b learns from its own, shorter file with another batch size.
    _write_csv(tmp_path / "own.csv", rows=40, seed=3)
    p.task("b").data = DataSource(
        "csv", path="own.csv", inputs={"x": ["x1", "x2", "x3", "x4", "x5", "x6"]}
    )
    _, steps_m, losses_m = _losses(p, tmp_path, "memory")
    trainer, steps_s, losses_s = _losses(p, tmp_path, "stream")
    assert len(trainer._data.datasets) == 2
    assert all(f is not None for f in trainer.feed.files)  # both streamed
    np.testing.assert_array_equal(steps_m, steps_s)
    _same(losses_m, losses_s)


def test_stream_resumes_with_the_same_batches(tmp_path, cache_parent):
    p = csv_project(tmp_path)
    _, _, whole = _losses(p, tmp_path, "stream", epochs=3, xla=False)
    # Two epochs, a checkpoint, then a new Trainer resumes for the third.
    ckpt = tmp_path / "ckpt.npz"
    first, _, _ = _losses(p, tmp_path, "stream", epochs=2, checkpoint_path=ckpt, xla=False)
    q = p.copy()
    q.training.data_loading = "stream"
    found = []
    resumed = Trainer(
        q,
        tmp_path,
        lambda events: found.extend(e for e in events if isinstance(e, ev.StepLosses)),
        flush_seconds=0,
        xla=False,
    )
    resumed.restore_checkpoint(ckpt)
    assert resumed.run(3).status == "completed"
    later = {t: np.concatenate([e.losses[t] for e in found]) for t in resumed.tasks}
    n = len(later["a"])
    assert n == first.steps_per_epoch
    _same(later, {t: v[-n:] for t, v in whole.items()})


def test_stream_cache_is_removed_after_the_run(tmp_path, cache_parent):
    p = csv_project(tmp_path)
    trainer, _, _ = _losses(p, tmp_path, "stream", epochs=1, xla=False)
    # Gone from the file system once the row files are open; they stay
    # readable (evaluation after training) until released.
    assert list(cache_parent.iterdir()) == []
    assert trainer.evaluate("val")[0]
    release(trainer._data)
    with pytest.raises(OSError):
        trainer._data.datasets[0].val.inputs["x"][:2]


def test_stream_classification_from_npz(tmp_path, cache_parent):
    """A sparse class target of text labels and an NPZ source."""
    rng = np.random.default_rng(1)
    n = 60
    np.savez(
        tmp_path / "d.npz",
        x=rng.normal(size=(n, 4)),
        y=rng.normal(size=n),
        c=np.array(["lo", "mid", "hi"])[rng.integers(0, 3, n)],
    )
    from mtl_studio.core.project import Project

    p = Project("cls")
    node(p, "x", "Input", shape=[4])
    node(p, "trunk", "Dense", units=8, activation="tanh")
    node(p, "oa", "Output", units=1)
    node(p, "ob", "Output", units=3, activation="softmax")
    chain(p, "x", "trunk", "oa")
    chain(p, "trunk", "ob")
    p.add_task(Task("a", "oa", "mse", target=["y"]))
    p.add_task(
        Task("b", "ob", "sparse_categorical_crossentropy", target=["c"], metrics=["accuracy"])
    )
    p.data = DataSource("npz", path="d.npz", inputs={"x": ["x"]})
    p.training.batch_size = 8
    p.training.steps_per_call = 4
    memory, _, losses_m = _losses(p, tmp_path, "memory")
    streamed, _, losses_s = _losses(p, tmp_path, "stream")
    _same(losses_m, losses_s)
    assert streamed._data.classes == memory._data.classes == {"b": ["hi", "lo", "mid"]}
    (loss_m, metrics_m), (loss_s, metrics_s) = memory.evaluate("val"), streamed.evaluate("val")
    assert loss_m == pytest.approx(loss_s, rel=1e-5)
    assert metrics_m == metrics_s


def test_stream_alternating_beside_a_generator(tmp_path, cache_parent):
    """A streamed file for task a, a generator (in memory) for task b."""
    p = csv_project(tmp_path, "alternating")
    p.task("b").data = DataSource(
        "generator",
        "correlated_regression",
        params={"examples": 50, "features": 6},
        inputs={"x": ["X"]},
    )
    p.task("b").target = ["y1"]
    p.nodes["out_b"].params["units"] = 1
    _, steps_m, losses_m = _losses(p, tmp_path, "memory", xla=False)
    trainer, steps_s, losses_s = _losses(p, tmp_path, "stream", xla=False)
    assert trainer.feed.files[1] is None  # the generator's rows stay whole
    assert trainer.train_x[1]["x"].shape[0] == trainer._data.datasets[1].train.n
    np.testing.assert_array_equal(steps_m, steps_s)
    _same(losses_m, losses_s)
