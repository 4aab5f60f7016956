"""Inter-task affinity (Fifty et al., "Efficiently Identifying Task
Groupings for Multi-Task Learning", NeurIPS 2021).

Every k steps, on one batch: for each task i, a lookahead step of the
shared parameters along task i's gradient alone (plain SGD at the
optimizer's learning rate), then each task j's loss again. The affinity of
i onto j is the relative change of j's loss,

    Z[i, j] = 1 - L_j(theta_s - lr * grad_s L_i) / L_j(theta_s),

positive when a step for task i helps task j. The shared parameters are
put back exactly afterwards; nothing of the run changes. The grouping
helper (numpy only) is at the end.
"""

from __future__ import annotations

import numpy as np


def compile_affinity(model, loss_fns, tasks, shared):
    """A compiled function (x, y, lr) -> Z as a [T, T] tensor."""
    from .tf_import import tf  # noqa: PLC0415

    t = tf()

    @t.function(reduce_retracing=True)
    def affinity(x, y, lr):
        with t.GradientTape(persistent=True) as tape:
            out = model(x, training=False)
            before = [fn(y[name], out[name]) for fn, name in zip(loss_fns, tasks)]
        grads = [tape.gradient(loss, shared) for loss in before]
        del tape
        saved = [t.identity(v) for v in shared]
        rows = []
        for task_grads in grads:
            for v, g in zip(shared, task_grads):
                if g is not None:
                    v.assign_sub(t.cast(lr, v.dtype) * g)
            out = model(x, training=False)
            after = t.stack([fn(y[name], out[name]) for fn, name in zip(loss_fns, tasks)])
            for v, value in zip(shared, saved):
                v.assign(value)  # exactly as before: a step and its inverse would round
            base = t.stack(before)
            rows.append(t.where(base > 0, 1.0 - after / t.maximum(base, 1e-30), 0.0))
        return t.stack(rows)

    return affinity


def group_score(z: np.ndarray, group: tuple[int, ...]) -> float:
    """How much the members of a group help each other: for each member j,
    the mean affinity onto it from the others, summed (0 for one task)."""
    if len(group) < 2:
        return 0.0
    return float(sum(np.mean([z[i, j] for i in group if i != j]) for j in group))


def _partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in _partitions(rest):
        for k in range(len(smaller)):
            yield smaller[:k] + [[first, *smaller[k]]] + smaller[k + 1 :]
        yield [[first], *smaller]


def best_groupings(z: np.ndarray, tasks: list[str], max_tasks: int = 9) -> dict[int, dict]:
    """For each number of groups from 2 to T-1, the partition of the tasks
    whose groups help each other most (the sum of group_score), as in the
    paper's selection of task groups, here exhaustively over partitions
    (9 tasks: 21,147 of them). {groups: {"groups": [[task, ...], ...],
    "score": float}}; empty for fewer than 3 tasks."""
    count = len(tasks)
    if count < 3 or count > max_tasks:
        return {}
    best: dict[int, tuple[float, list]] = {}
    for partition in _partitions(list(range(count))):
        k = len(partition)
        if not 2 <= k <= count - 1:
            continue
        score = sum(group_score(z, tuple(g)) for g in partition)
        if k not in best or score > best[k][0]:
            best[k] = (score, partition)
    return {
        k: {"groups": [[tasks[i] for i in sorted(g)] for g in sorted(p, key=min)], "score": s}
        for k, (s, p) in sorted(best.items())
    }


__all__ = ["compile_affinity", "group_score", "best_groupings"]
