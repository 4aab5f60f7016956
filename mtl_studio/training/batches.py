"""Which rows each training step takes: a pure function of (seed, epoch).

The Trainer calls these to plan each epoch, and an exported training script
(export/script.py) carries a verbatim copy of each one it needs, so both take
the same batches in the same order. Hence the rules for this module: each
function uses only numpy (`np`) and the standard library, never MTL Studio,
and reads as part of a standalone script.

Because an epoch's plan depends on (seed, epoch) alone, the position in the
data is the step count: resuming from a checkpoint takes the same batches.
"""

from __future__ import annotations

import math

import numpy as np


def steps_per_epoch(sizes, batches):
    """The steps of one epoch: the full batches of all data sets together,
    at least one per data set (sizes: their training rows; batches: their
    batch sizes). A data set that several tasks share counts once."""
    return sum(max(1, n // b) for n, b in zip(sizes, batches))


def joint_batches(seed, epoch, n, batch, steps):
    """The rows of each step of one joint epoch, [steps, batch]: the first
    steps * batch rows of a permutation of the n training rows drawn from
    (seed, epoch), so the few rows left over differ from epoch to epoch."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[: steps * batch].reshape(-1, batch).astype(np.int32)


def alternating_plan(
    seed, epoch, steps, schedule, chances, task_data, sizes, batches, task_ids=None
):
    """The task of each step of one alternating epoch, and its batch rows.

    The schedule picks the tasks: "round_robin" in turn, "random" with each
    task's relative chance in `chances`, "proportional" with each task's
    number of training rows as its chance (`chances` is then unused).
    task_data[k] is task k's data set: an index into sizes (training rows)
    and batches (batch sizes). Each task walks through its data set's rows,
    a new order per pass.

    Returns (task ids [steps], rows [steps, max(batches)]), int32. A step
    of a data set with a smaller batch takes the first batches[d] entries of
    its row; the rest repeat the first, only to fill the block. Given
    `task_ids` (the task of each step), the schedule is not used."""
    tasks = len(task_data)
    rng = np.random.default_rng([seed, epoch, 1])
    if task_ids is not None:
        task_ids = np.asarray(task_ids)
    elif schedule == "round_robin":
        task_ids = np.arange(steps) % tasks
    else:
        if schedule == "proportional":
            chances = [sizes[d] for d in task_data]
        p = np.asarray(chances, np.float64)
        task_ids = rng.choice(tasks, size=steps, p=p / p.sum())
    widest = max(batches)
    rows = np.zeros((steps, widest), np.int32)
    for k, d in enumerate(task_data):
        n, b = sizes[d], batches[d]
        where = np.flatnonzero(task_ids == k)
        per_pass = max(1, n // b)
        for pass_no in range(math.ceil(len(where) / per_pass)):
            order = np.random.default_rng([seed, epoch, 2, k, pass_no]).permutation(n)
            block = where[pass_no * per_pass : (pass_no + 1) * per_pass]
            taken = order[: len(block) * b].reshape(len(block), b)
            rows[block, :b] = taken
            if b < widest:
                rows[block, b:] = taken[:, :1]
    return task_ids.astype(np.int32), rows
