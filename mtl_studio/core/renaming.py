"""Renaming a task renames its head: the nodes named after the task.

"Add task head" names its nodes after the task (task_1_hidden, task_1_out),
so a task renamed to "heating" should not keep a head called task_1_...
Only the task's own head is renamed (nodes that feed this task alone, see
Project.roles); the shared trunk and the Inputs keep their names, whatever
they are called.
"""

from __future__ import annotations

from . import monitor
from .commands import Command, Macro, RenameNode, SetTaskField, SetTraining
from .project import Project


class RenameTask(Macro):
    """One undo step: the task's new name and its head's. `kept` holds
    (node name, the name it would have had) for nodes left as they were
    because another node already has that name."""

    def __init__(self, commands: list[Command], kept: list[tuple[str, str]]) -> None:
        super().__init__("Rename task", commands)
        self.kept = kept

    def kept_text(self) -> str:
        """What the user should hear about the nodes left alone, or "" (a
        sentence for the status bar)."""
        return "; ".join(
            f"Node {name!r} keeps its name: a node named {wanted!r} already "
            "exists, rename one of them"
            for name, wanted in self.kept
        )


def rename_task(project: Project, old: str, new: str) -> RenameTask:
    """Rename task `old` to `new` and each node of its head named
    "<old>_<suffix>" to "<new>_<suffix>", as one command."""
    prefix = f"{old}_"
    wanted: dict[str, str] = {}  # node id -> new name
    for node_id in project.head_nodes(old):
        name = project.node(node_id).name
        if name.startswith(prefix) and len(name) > len(prefix) and new != old:
            wanted[node_id] = f"{new}_{name[len(prefix) :]}"
    staying = {n.name for node_id, n in project.nodes.items() if node_id not in wanted}
    kept = [(project.node(n).name, name) for n, name in wanted.items() if name in staying]
    renames = {n: name for n, name in wanted.items() if name not in staying}
    commands: list[Command] = [SetTaskField(old, "name", new)]
    commands += [RenameNode(n, name) for n, name in _in_a_free_order(project, renames)]
    watched = monitor.renamed(project.training.monitor, old, new)
    if watched != project.training.monitor:  # the best epoch follows the task
        commands.append(SetTraining("monitor", watched))
    return RenameTask(commands, kept)


def _in_a_free_order(project: Project, renames: dict[str, str]) -> list[tuple[str, str]]:
    """The renames ordered so that each new name is free when its turn
    comes: with task "a" renamed to "a_b", node a_b_c must become a_b_b_c
    before node a_c can become a_b_c. The names only grow (or only shrink)
    by one prefix, so there is never a cycle and this always ends."""
    pending = dict(renames)
    ordered = []
    while pending:
        held = {project.node(n).name for n in pending}  # not yet free
        ready = [n for n, name in pending.items() if name not in held] or list(pending)
        ordered += [(n, pending.pop(n)) for n in ready]
    return ordered
