"""Run by test_distributed_training.py in a process of its own: the CPU
must be split into 2 logical devices before TensorFlow starts, which the
test process (TensorFlow long started) cannot do.

Prints one JSON object: for each case the largest relative difference
between the per-step task losses of a one-device run and a mirrored run
(2 replicas) on the same global batches, and the messages of the runs a
strategy refuses."""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from mtl_studio.training import distribute

distribute.split_cpu(2)

from mtl_studio.training import events as ev  # noqa: E402
from mtl_studio.training.trainer import Trainer  # noqa: E402
from tests.training.conftest import regression_project, tiny_data  # noqa: E402

TASKS = ("a", "b")


def losses(project, distribution, epochs=2, checkpoint=None, resume=None):
    """The step losses [steps, tasks] of a run (NaN where alternating
    trained the other task), and the run's end."""
    got = []

    def on_events(batch):
        for e in batch:
            if isinstance(e, ev.StepLosses):
                got.append(np.stack([e.losses[t] for t in TASKS], axis=1))

    trainer = Trainer(
        project,
        callback=on_events,
        data=tiny_data(),
        distribution=distribution,  # one device: XLA, as a run trains by default
        checkpoint_path=checkpoint,
    )
    if resume is not None:
        trainer.restore_checkpoint(resume)
    finished = trainer.run(epochs)
    return (np.concatenate(got) if got else np.zeros((0, 2))), finished


def difference(a, b) -> float:
    if a.shape != b.shape:
        return float("inf")
    both = np.isfinite(a)
    if not np.array_equal(both, np.isfinite(b)):
        return float("inf")
    return float(np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-12)))


def main(cases) -> dict:
    mirrored = distribute.make_distribution("mirrored")
    report = {"replicas": mirrored.num_replicas_in_sync, "differences": {}}
    for mode, weighting in cases:
        one, _ = losses(regression_project(mode, weighting), None)
        two, finished = losses(regression_project(mode, weighting), mirrored)
        key = f"{mode}/{weighting}"
        report["differences"][key] = difference(one, two)
        report.setdefault("status", {})[key] = finished.status

    # A checkpoint moves both ways: one epoch on one side, the next on the other.
    folder = Path(tempfile.mkdtemp())
    whole, _ = losses(regression_project("joint", "uncertainty"), None)
    for first, second, name in (
        (mirrored, None, "mirrored->one"),
        (None, mirrored, "one->mirrored"),
    ):
        path = folder / f"{name.replace('>', '')}.npz"
        head, _ = losses(regression_project("joint", "uncertainty"), first, 1, checkpoint=path)
        tail, _ = losses(regression_project("joint", "uncertainty"), second, 2, resume=path)
        report["differences"][f"checkpoint {name}"] = difference(
            whole, np.concatenate([head, tail])
        )

    # Refused up front: a batch that cannot be split.
    small = regression_project("joint", "fixed")
    small.training.batch_size = 1
    _, finished = losses(small, mirrored)
    report["refused"] = [finished.status, finished.message]
    return report


if __name__ == "__main__":
    cases = [tuple(c.split("/")) for c in sys.argv[1:]]
    print("REPORT " + json.dumps(main(cases)))
