"""Undoable edits. Each command changes the project only through its edit
methods (so views hear about it) and knows how to put everything back.

One user gesture is one command: a drag of five nodes is one MoveNodes, and
"add task head" is one Macro of several commands. Edits of one field in quick
succession (five clicks on a spin box's arrow) merge into one undo step: see
`Command.merge` and `UndoStack.push`.
"""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from . import monitor
from .events import EventEmitter
from .graph import Edge, Node
from .project import Project
from .settings import DataSource
from .tasks import Task


def spun(value) -> bool:
    """Is this a value a spin box steps through (a plain number)? Only those
    merge: a tick, a choice from a list or a new shape stays its own step."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Command(ABC):
    text = "Edit"

    @abstractmethod
    def do(self, project: Project) -> None: ...

    @abstractmethod
    def undo(self, project: Project) -> None: ...

    def merge_key(self) -> tuple | None:
        """What this command sets, for merging (see `merge`); None: it never merges."""
        return None

    def merge(self, later: Command) -> bool:
        """Take in `later`, a command done right after this one, if both set
        the same one thing (equal merge keys): this command then still undoes
        to the value before itself, and redoes to the later command's value.
        Return whether it merged. Commands that merge keep their new value
        in `value` (like QUndoCommand.mergeWith, without ids)."""
        key = self.merge_key()
        if key is None or key != later.merge_key():
            return False
        self.value = later.value
        return True

    def changes_nothing(self) -> bool:
        """Whether this (merged) command puts back the value it found, as
        five clicks up and five down do: the stack then drops the step."""
        return False


class AddNode(Command):
    def __init__(self, node: Node) -> None:
        self.node = node.copy()
        self.text = f"Add {node.kind}"

    def do(self, project: Project) -> None:
        project.add_node(self.node.copy())

    def undo(self, project: Project) -> None:
        project.remove_node(self.node.id)


class RemoveNodes(Command):
    """Remove nodes with their edges; a removed Output leaves its task without
    an output (the task keeps its settings, and undo re-attaches it)."""

    def __init__(self, node_ids) -> None:
        self.node_ids = list(dict.fromkeys(node_ids))
        self.text = (
            "Delete node" if len(self.node_ids) == 1 else f"Delete {len(self.node_ids)} nodes"
        )
        self._edges: list[tuple[int, Edge]] = []
        self._nodes: list[tuple[int, Node]] = []
        self._outputs: list[tuple[str, str]] = []

    def do(self, project: Project) -> None:
        doomed = set(self.node_ids)
        self._edges = [
            (i, e) for i, e in enumerate(project.edges) if e.source in doomed or e.target in doomed
        ]
        for _, edge in reversed(self._edges):
            project.disconnect(edge)
        self._outputs = []
        for task in project.tasks:
            if task.output in doomed:
                self._outputs.append((task.name, task.output))
                project.set_task_field(task.name, "output", None)
        order = list(project.nodes)
        self._nodes = [(order.index(n), project.node(n).copy()) for n in self.node_ids]
        for node_id in self.node_ids:
            project.remove_node(node_id)

    def undo(self, project: Project) -> None:
        for index, node in sorted(self._nodes, key=lambda p: p[0]):
            project.add_node(node.copy())
            _move_to(project.graph.nodes, node.id, index)
        for task_name, output in self._outputs:
            project.set_task_field(task_name, "output", output)
        for index, edge in self._edges:
            project.connect(edge, index)


def _move_to(nodes: dict, key: str, index: int) -> None:
    """Put key back at its old place in the (ordered) node dict, so undo
    restores the file order exactly."""
    items = list(nodes.items())
    pos = next(i for i, (k, _) in enumerate(items) if k == key)
    item = items.pop(pos)
    items.insert(index, item)
    nodes.clear()
    nodes.update(items)


class Connect(Command):
    text = "Connect"

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    def do(self, project: Project) -> None:
        project.connect(self.edge)

    def undo(self, project: Project) -> None:
        project.disconnect(self.edge)


class Disconnect(Command):
    text = "Disconnect"

    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self._index = None

    def do(self, project: Project) -> None:
        self._index = project.disconnect(self.edge)

    def undo(self, project: Project) -> None:
        project.connect(self.edge, self._index)


class SetParam(Command):
    def __init__(self, node_id: str, name: str, value) -> None:
        self.node_id, self.name, self.value = node_id, name, value
        self.text = f"Set {name}"
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.set_param(self.node_id, self.name, self.value)

    def undo(self, project: Project) -> None:
        project.set_param(self.node_id, self.name, self._old)

    def merge_key(self) -> tuple | None:
        return ("param", self.node_id, self.name) if spun(self.value) else None

    def changes_nothing(self) -> bool:
        return self._old == self.value


class RenameNode(Command):
    text = "Rename node"

    def __init__(self, node_id: str, name: str) -> None:
        self.node_id, self.name = node_id, name
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.rename_node(self.node_id, self.name)

    def undo(self, project: Project) -> None:
        project.rename_node(self.node_id, self._old)


class MoveNodes(Command):
    """Move several nodes at once: {node_id: (x, y)}."""

    def __init__(self, positions: dict[str, tuple[float, float]]) -> None:
        self.positions = dict(positions)
        self.text = "Move" if len(positions) == 1 else f"Move {len(positions)} nodes"
        self._old: dict[str, tuple[float, float]] = {}

    def do(self, project: Project) -> None:
        self._old = {n: (project.node(n).x, project.node(n).y) for n in self.positions}
        for node_id, (x, y) in self.positions.items():
            project.move_node(node_id, x, y)

    def undo(self, project: Project) -> None:
        for node_id, (x, y) in self._old.items():
            project.move_node(node_id, x, y)


class AddTask(Command):
    def __init__(self, task: Task, index: int | None = None) -> None:
        self.task, self.index = copy.deepcopy(task), index
        self.text = f"Add task {task.name}"

    def do(self, project: Project) -> None:
        project.add_task(copy.deepcopy(self.task), self.index)

    def undo(self, project: Project) -> None:
        project.remove_task(self.task.name)


class RemoveTask(Command):
    """Remove a task. If the best epoch was chosen by one of its figures,
    the weighted total chooses it now (in the same undo step), rather than
    a task that no longer exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.text = f"Remove task {name}"
        self._index, self._task = 0, None
        self._monitor = None  # the monitor this removal replaced, if any

    def do(self, project: Project) -> None:
        self._index, self._task = project.remove_task(self.name)
        self._monitor = None
        try:
            watched, _ = monitor.parse(project.training.monitor)
        except ValueError:
            watched = None
        if watched == self.name:
            self._monitor = project.set_training("monitor", monitor.TOTAL)

    def undo(self, project: Project) -> None:
        project.add_task(self._task, self._index)
        if self._monitor is not None:
            project.set_training("monitor", self._monitor)


class SetTaskField(Command):
    def __init__(self, name: str, field: str, value) -> None:
        self.name, self.field, self.value = name, field, value
        self.text = "Rename task" if field == "name" else f"Set task {field}"
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.set_task_field(self.name, self.field, self.value)

    def undo(self, project: Project) -> None:
        current = self.value if self.field == "name" else self.name
        project.set_task_field(current, self.field, self._old)

    def merge_key(self) -> tuple | None:
        # A rename changes the key itself: each rename is its own step.
        if self.field == "name" or not spun(self.value):
            return None
        return ("task", self.name, self.field)

    def changes_nothing(self) -> bool:
        return self._old == self.value


class SetTraining(Command):
    def __init__(self, field: str, value) -> None:
        self.field, self.value = field, value
        self.text = f"Set {field.replace('_', ' ')}"
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.set_training(self.field, self.value)

    def undo(self, project: Project) -> None:
        project.set_training(self.field, self._old)

    def merge_key(self) -> tuple | None:
        return ("training", self.field) if spun(self.value) else None

    def changes_nothing(self) -> bool:
        return self._old == self.value


class SetData(Command):
    text = "Change data"

    def __init__(self, source: DataSource) -> None:
        self.source = copy.deepcopy(source)
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.set_data(copy.deepcopy(self.source))

    def undo(self, project: Project) -> None:
        project.set_data(self._old)


class Macro(Command):
    """Several commands as one undo step. If one fails part way, the ones
    already done are undone, so the project is never left half-edited."""

    def __init__(self, text: str, commands: list[Command]) -> None:
        self.text = text
        self.commands = list(commands)

    def do(self, project: Project) -> None:
        done: list[Command] = []
        try:
            for command in self.commands:
                command.do(project)
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(project)
            raise

    def undo(self, project: Project) -> None:
        for command in reversed(self.commands):
            command.undo(project)


def add_task_head(project: Project, node_id: str, units: int = 32) -> Macro:
    """ "Add task head" on a node: a Dense -> Output chain below it and a new
    task that learns the Output, as one undo step. The chain goes to the
    free place nearest under the node, beside the heads already there."""
    # Imported here: placement builds its own commands on this module.
    from .placement import NODE_HEIGHT, NODE_WIDTH, ROW, spot_below

    task_name = project.unique_task_name("task")

    def free_name(name: str) -> str:
        return name if project.node_by_name(name) is None else project.unique_node_name(name)

    x, y = spot_below(project, node_id, size=(NODE_WIDTH, ROW + NODE_HEIGHT))
    dense = Node(
        project.new_node_id("Dense"),
        "Dense",
        free_name(f"{task_name}_hidden"),
        {"units": units},
        x,
        y,
    )
    output = Node(
        project.new_node_id("Output"), "Output", free_name(f"{task_name}_out"), {}, x, y + ROW
    )
    return Macro(
        "Add task head",
        [
            AddNode(dense),
            AddNode(output),
            Connect(Edge(node_id, dense.id, 0, project.graph.free_output(node_id))),
            Connect(Edge(dense.id, output.id)),
            AddTask(Task(task_name, output=output.id)),
        ],
    )


class UndoStack:
    """The history of commands. Views listen to `events` ("changed") to
    refresh undo/redo actions and the unsaved-changes mark.

    Merging: a command pushed right after one that sets the same thing (the
    same training field, the same parameter of the same node, the same field
    of the same task: `Command.merge`) joins it as one step, if it comes
    within `merge_window` seconds of the previous push (a window that slides
    with each push, so holding an arrow down stays one step) and nothing
    came in between: no other command, no undo or redo, no save
    (`set_clean`), no `clear`. So five clicks on a spin box's arrow are one
    step, and after a save the next change is a new step. A merged step
    that puts back the value it found (up, then down again) is dropped. The
    rule lives here, not in the widgets, so every view that pushes such
    commands gets it; `clock` (seconds, monotonic) can be given for tests.

    At most `limit` steps are kept (None: no limit); the oldest go first. If
    the saved state goes with them, the stack is never clean again until
    the next save.
    """

    def __init__(
        self,
        project: Project,
        *,
        limit: int | None = 500,
        merge_window: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError("the undo limit must be at least 1")
        self.project = project
        self.limit = limit
        self.merge_window = merge_window
        self.clock = clock
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_index: int | None = 0
        # When the top step was last pushed; None: the next push is a new step.
        self._last_push: float | None = None
        self.events = EventEmitter()

    def push(self, command: Command) -> None:
        """Do the command and record it, as a new step or merged into the
        top one; a refused command records nothing."""
        command.do(self.project)
        now = self.clock()
        if self._may_merge(now) and self._done[-1].merge(command):
            if self._done[-1].changes_nothing():
                # Back to the value before the step: no step at all (and
                # clean again if the step began at the saved state).
                self._done.pop()
                now = None
        else:
            self._done.append(command)
            if self._clean_index is not None and self._clean_index > len(self._done) - 1:
                self._clean_index = None  # the clean state was in the discarded redo
            self._undone.clear()
            self._drop_beyond_limit()
        self._last_push = now
        self.events.emit("changed")

    def _may_merge(self, now: float) -> bool:
        return (
            self._last_push is not None
            and bool(self._done)
            and not self._undone
            and self._clean_index != len(self._done)
            and now - self._last_push <= self.merge_window
        )

    def _drop_beyond_limit(self) -> None:
        if self.limit is None:
            return
        extra = len(self._done) - self.limit
        if extra > 0:
            del self._done[:extra]
            if self._clean_index is not None:
                self._clean_index -= extra
                if self._clean_index < 0:
                    self._clean_index = None  # the saved state is gone for good

    def undo(self) -> None:
        self._last_push = None
        if self._done:
            command = self._done.pop()
            command.undo(self.project)
            self._undone.append(command)
            self.events.emit("changed")

    def redo(self) -> None:
        self._last_push = None
        if self._undone:
            command = self._undone.pop()
            command.do(self.project)
            self._done.append(command)
            self.events.emit("changed")

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    @property
    def index(self) -> int:
        return len(self._done)

    def set_clean(self) -> None:
        self._clean_index = len(self._done)
        self._last_push = None  # the next change is a new step
        self.events.emit("changed")

    def set_modified(self) -> None:
        """No state of the history is the saved one (a document restored
        from a recovery copy: the file holds something else)."""
        self._clean_index = None
        self.events.emit("changed")

    @property
    def is_clean(self) -> bool:
        return self._clean_index == len(self._done)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._clean_index = 0
        self._last_push = None
        self.events.emit("changed")


class SetProjectName(Command):
    """Rename the project (Project.set_name checks the name; views follow
    the "project_changed" event, field "name")."""

    text = "Rename project"

    def __init__(self, name: str) -> None:
        self.name = name
        self._old = None

    def do(self, project: Project) -> None:
        self._old = project.set_name(self.name)

    def undo(self, project: Project) -> None:
        project.set_name(self._old, check=False)
