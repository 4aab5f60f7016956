"""Single-task baselines: each task trained alone, to ask "does sharing help?".

A baseline is the project cut down to one task: that task's own copy of
everything that feeds its Output (the Inputs it uses, the trunk, its head)
and nothing of the other tasks. What decides how well a network can do
stays as it was, so the multi-task figures and the baseline's compare
fairly: the data, the training settings, the seed and so the training /
validation / test split (data/prepare.py draws it from the row count and
the seed alone).
"""

from __future__ import annotations

from ..core import monitor
from ..core.project import MAX_PROJECT_NAME, Project


def baseline_name(project_name: str, task_name: str) -> str:
    """The baseline's name, "PROJECT — TASK alone", the project's part
    shortened with "…" so the whole stays a valid project name."""
    suffix = f" — {task_name} alone"
    room = MAX_PROJECT_NAME - len(suffix)
    name = project_name.strip() or "untitled"
    if len(name) > room:
        name = name[: max(room - 1, 0)].rstrip() + "…"
    return (name + suffix)[:MAX_PROJECT_NAME]


def single_task_project(project: Project, task_name: str) -> Project:
    """A copy of `project` that learns task `task_name` alone.

    - Every other task goes, and every node that does not feed this task's
      Output (exactly `project.task_nodes(task_name)` stay, with the edges
      between them). Each kept node keeps all its inputs, since whatever
      feeds a node that feeds the task feeds the task too, so shapes and
      weight counts of the kept nodes do not change.
    - The mode becomes "joint" with weighting "fixed": one task has nothing
      to balance, no other task to alternate with and no tower to tie to.
      Its loss weight becomes 1 (the plain single-task loss).
    - A task that had its own data set (alternating mode) learns from it as
      the project's data, since joint mode has one data set; with the same
      seed it gets the same rows in each split. Likewise its own optimizer,
      which alternating mode used for it, becomes the project's optimizer.
    - The best epoch is chosen by "total" (now this task's loss), or by the
      same figure as before if the monitor already named this task.
    - Everything else (data source and its column mapping, settings, seed,
      splits, node names and positions) is as in the original; the mapping
      of an Input that went stays, unread, as the data source is the same.

    The original is not changed. Raises KeyError if there is no such task.
    """
    project.task(task_name)  # KeyError names the task
    was_alternating = project.training.mode == "alternating"
    keep = project.task_nodes(task_name)

    alone = project.copy()
    alone.name = baseline_name(project.name, task_name)
    for other in [t.name for t in alone.tasks if t.name != task_name]:
        alone.remove_task(other)
    # Two tasks of one name cannot be added, but a list built in code could
    # hold them: keep the first, the one project.task() found.
    del alone.tasks[1:]
    for node_id in [n for n in alone.nodes if n not in keep]:
        for edge in list(alone.graph.edges_of(node_id)):
            alone.disconnect(edge)
        alone.remove_node(node_id)

    task = alone.tasks[0]
    task.weight = 1.0
    training = alone.training
    training.mode = "joint"
    training.weighting = "fixed"
    if task.data is not None:
        alone.data, task.data = task.data, None
    if was_alternating and task.optimizer is not None:
        training.optimizer, task.optimizer = task.optimizer, None
    training.monitor = _monitor_for(training.monitor, task_name)
    return alone


def _monitor_for(text: str, task_name: str) -> str:
    """The monitor if it names this task (or is the total); else "total"."""
    try:
        named, _ = monitor.parse(text)
    except ValueError:
        return text  # already a problem of the original; validation says so
    return text if named in (None, task_name) else monitor.TOTAL


def single_task_projects(project: Project) -> dict[str, Project]:
    """Task name -> its baseline, in task order."""
    return {t.name: single_task_project(project, t.name) for t in project.tasks}
