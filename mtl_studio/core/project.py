"""The Project: the single source of truth that every view follows.

It holds the graph, the tasks and the settings, checks each edit, and emits
an event for every change. Roles (shared trunk or task head) are derived
from the graph on request, never stored.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from . import monitor
from .catalogue import get_kind
from .datafiles import absolute
from .events import EventEmitter
from .graph import Edge, Graph, GraphError, Node
from .params import describe, number_text
from .settings import (
    DATA_KINDS,
    DATA_LOADING,
    DISTRIBUTIONS,
    MODES,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    WEIGHTINGS,
    DataSource,
    OptimizerSpec,
    TrainingSettings,
)
from .tasks import TASK_COLORS, TASK_FIELD_CHECKS, Task, check_task_name

# fullmatch, not match with $: "$" accepts a trailing line break ("fc1\n").
_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# Long enough for any descriptive name; a Keras layer name.
MAX_NODE_NAME = 200
# Long enough for a descriptive title, short enough for a window title bar.
MAX_PROJECT_NAME = 100


def check_node_name(name: object) -> str:
    if not isinstance(name, str) or not _NODE_NAME.fullmatch(name):
        raise ValueError(
            f"a node name must start with a letter or _ and hold only letters, digits, "
            f"_ . or -, got {describe(name)}"
        )
    if len(name) > MAX_NODE_NAME:
        raise ValueError(
            f"a node name has at most {MAX_NODE_NAME} characters, this one has {len(name)}"
        )
    return name


def check_project_name(name: object) -> str:
    """The name without surrounding spaces, or ValueError saying why not:
    one line of 1 to MAX_PROJECT_NAME characters."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a project name cannot be empty, got {name!r}: type a name")
    name = name.strip()
    if any(not c.isprintable() for c in name):
        raise ValueError("a project name is one line (no line breaks or tabs): type it on one line")
    if len(name) > MAX_PROJECT_NAME:
        raise ValueError(
            f"a project name has at most {MAX_PROJECT_NAME} characters, this one "
            f"has {len(name)}: shorten it"
        )
    return name


@dataclass(frozen=True)
class Role:
    """ "input", "shared" (feeds two or more tasks), "head" (feeds one task)
    or "unused" (feeds none), and the tasks the node feeds."""

    kind: str
    tasks: tuple[str, ...] = ()


class Project:
    def __init__(self, name: str = "untitled") -> None:
        self.name = name
        self.description = ""
        self.graph = Graph()
        self.tasks: list[Task] = []
        self.training = TrainingSettings()
        self.data = DataSource()
        self.events = EventEmitter()

    # --- identity -----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Project):
            return NotImplemented
        return (
            self.name == other.name
            and self.description == other.description
            and self.graph.nodes == other.graph.nodes
            and list(self.graph.nodes) == list(other.graph.nodes)
            and self.graph.edges == other.graph.edges
            and self.tasks == other.tasks
            and self.training == other.training
            and self.data == other.data
        )

    def copy(self) -> "Project":
        """A deep copy with no listeners: what a training run works on."""
        other = Project(self.name)
        other.description = self.description
        other.graph = copy.deepcopy(self.graph)
        other.tasks = copy.deepcopy(self.tasks)
        other.training = copy.deepcopy(self.training)
        other.data = copy.deepcopy(self.data)
        return other

    def anchor_data_paths(self, folder) -> None:
        """Make relative data file paths absolute against `folder`, the
        folder of the file the project was read from."""
        for source in [self.data] + [t.data for t in self.tasks]:
            if source is not None and source.path:
                source.path = absolute(source.path, Path(folder))

    # --- lookup -------------------------------------------------------------

    @property
    def nodes(self) -> dict[str, Node]:
        return self.graph.nodes

    @property
    def edges(self) -> list[Edge]:
        return self.graph.edges

    def node(self, node_id: str) -> Node:
        return self.graph.nodes[node_id]

    def node_by_name(self, name: str) -> Node | None:
        return next((n for n in self.nodes.values() if n.name == name), None)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"there is no task {name!r}")

    def task_index(self, name: str) -> int:
        return [t.name for t in self.tasks].index(name)

    def task_of_output(self, node_id: str) -> Task | None:
        return next((t for t in self.tasks if t.output == node_id), None)

    def input_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "Input"]

    def output_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "Output"]

    def task_color(self, name: str) -> str:
        task = self.task(name)
        return task.color or TASK_COLORS[self.task_index(name) % len(TASK_COLORS)]

    def new_node_id(self, kind: str) -> str:
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", kind).lower()
        return self._unique(base, set(self.nodes))

    def unique_node_name(self, base: str) -> str:
        return self._unique(base, {n.name for n in self.nodes.values()})

    def unique_task_name(self, base: str = "task") -> str:
        return self._unique(base, {t.name for t in self.tasks})

    @staticmethod
    def _unique(base: str, taken: set[str]) -> str:
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    # --- roles --------------------------------------------------------------

    def task_nodes(self, name: str) -> set[str]:
        """Every node that feeds task `name` (its output and what leads to it)."""
        task = self.task(name)
        if task.output is None or task.output not in self.nodes:
            return set()
        return self.graph.ancestors(task.output) | {task.output}

    def _feeds(self) -> dict[str, list[str]]:
        """Node -> the tasks it feeds, in task order."""
        order, leftover = self.graph.topological_order()
        feeds: dict[str, list[str]] = {n: [] for n in self.nodes}
        if leftover:  # a cycle: walk back from each output instead
            for t in self.tasks:
                for n in self.task_nodes(t.name):
                    feeds[n].append(t.name)
            return feeds
        # One pass from the outputs up: a node feeds what its successors feed.
        rank = {t.name: i for i, t in enumerate(self.tasks)}
        own: dict[str, set[str]] = {}
        for t in self.tasks:
            if t.output in self.nodes:
                own.setdefault(t.output, set()).add(t.name)
        reach: dict[str, set[str]] = {}
        for n in reversed(order):
            found = set(own.get(n, ()))
            for e in self.graph.outputs_of(n):
                found |= reach.get(e.target, set())
            reach[n] = found
            feeds[n] = sorted(found, key=rank.__getitem__)
        return feeds

    def roles(self) -> dict[str, Role]:
        feeds = self._feeds()
        roles = {}
        for node_id, tasks in feeds.items():
            if self.nodes[node_id].kind == "Input":
                kind = "input"
            elif len(tasks) >= 2:
                kind = "shared"
            elif len(tasks) == 1:
                kind = "head"
            else:
                kind = "unused"
            roles[node_id] = Role(kind, tuple(tasks))
        return roles

    def shared_nodes(self) -> list[str]:
        """Nodes of the shared trunk, in graph order."""
        return [n for n, r in self.roles().items() if r.kind == "shared"]

    def head_nodes(self, task_name: str) -> list[str]:
        """Nodes that belong to one task's head only."""
        return [n for n, r in self.roles().items() if r.kind == "head" and r.tasks == (task_name,)]

    # --- edits (each checks, changes, then emits) ----------------------------

    def add_node(self, node: Node) -> None:
        kind = get_kind(node.kind)
        check_node_name(node.name)
        if self.node_by_name(node.name) is not None:
            raise GraphError(f"a node named {node.name!r} already exists")
        params = kind.defaults()
        for key, value in node.params.items():
            if key not in params:
                raise GraphError(f"{node.label} has no parameter {key!r}")
            params[key] = kind.param(key).check(value)
        node.params = params
        self.graph.add_node(node)
        self.events.emit("node_added", node_id=node.id)

    def remove_node(self, node_id: str) -> Node:
        node = self.graph.remove_node(node_id)
        self.events.emit("node_removed", node_id=node_id, node=node)
        return node

    def connect(self, edge: Edge, index: int | None = None) -> None:
        self.graph.check_connect(edge.source, edge.target, edge.port, edge.out)
        self.graph.insert_edge(edge, index)
        self.events.emit("edge_added", edge=edge)

    def disconnect(self, edge: Edge) -> int:
        index = self.graph.remove_edge(edge)
        self.events.emit("edge_removed", edge=edge)
        return index

    def set_param(self, node_id: str, name: str, value) -> object:
        """Set a parameter; return the old value. Raises ValueError when refused."""
        node = self.node(node_id)
        spec = get_kind(node.kind).param(name)
        value = spec.check(value)
        old = node.params[name]
        node.params[name] = value
        self.events.emit("node_changed", node_id=node_id, field="params", param=name)
        return old

    def rename_node(self, node_id: str, name: str) -> str:
        check_node_name(name)
        other = self.node_by_name(name)
        if other is not None and other.id != node_id:
            raise ValueError(f"a node named {name!r} already exists")
        node = self.node(node_id)
        old, node.name = node.name, name
        self.events.emit("node_changed", node_id=node_id, field="name")
        return old

    def move_node(self, node_id: str, x: float, y: float) -> None:
        node = self.node(node_id)
        node.x, node.y = float(x), float(y)
        self.events.emit("node_moved", node_id=node_id)

    def add_task(self, task: Task, index: int | None = None) -> None:
        check_task_name(task.name)
        if any(t.name == task.name for t in self.tasks):
            raise ValueError(f"a task named {task.name!r} already exists")
        if task.output is not None:
            self._check_output(task.output, task.name)
        if index is None:
            index = len(self.tasks)
        self.tasks.insert(index, task)
        self.events.emit("task_added", name=task.name, index=index)

    def remove_task(self, name: str) -> tuple[int, Task]:
        index = self.task_index(name)
        task = self.tasks.pop(index)
        self.events.emit("task_removed", name=name, index=index)
        return index, task

    def _check_output(self, node_id: str, task_name: str) -> None:
        if node_id not in self.nodes or self.nodes[node_id].kind != "Output":
            raise ValueError(f"a task's output must be an Output node, got {node_id!r}")
        owner = self.task_of_output(node_id)
        if owner is not None and owner.name != task_name:
            raise ValueError(f"{self.nodes[node_id].label} already belongs to task {owner.name!r}")

    def set_task_field(self, name: str, field: str, value) -> object:
        """Change one field of a task; return the old value."""
        task = self.task(name)
        if field == "name":
            check_task_name(value)
            if value != name and any(t.name == value for t in self.tasks):
                raise ValueError(f"a task named {value!r} already exists")
        elif field == "output":
            if value is not None:
                self._check_output(value, name)
        elif field == "optimizer":
            if value is not None:
                value = check_optimizer(value)
        elif field == "data":
            if value is not None:
                value = check_data_source(value)
        elif field in TASK_FIELD_CHECKS:
            value = TASK_FIELD_CHECKS[field](value)
        else:
            raise KeyError(f"tasks have no field {field!r}")
        old = getattr(task, field)
        setattr(task, field, copy.deepcopy(value))
        self.events.emit("task_changed", name=task.name, field=field, old=old)
        return old

    def set_training(self, field: str, value) -> object:
        value = check_training_field(field, value)
        old = getattr(self.training, field)
        setattr(self.training, field, value)
        self.events.emit("training_changed", field=field)
        return old

    def set_data(self, source: DataSource) -> DataSource:
        source = check_data_source(source)
        old, self.data = self.data, source
        self.events.emit("data_changed")
        return old

    def set_name(self, name: str, check: bool = True) -> str:
        """Rename the project; return the old name. Emits "project_changed"
        with field "name". check=False is for undo, which puts back a name
        the project had (a file's name may predate the rules)."""
        if check:
            name = check_project_name(name)
        return self.set_info("name", name)

    def set_info(self, field: str, value: str) -> str:
        """Set the name (unchecked: use set_name) or the description."""
        if field not in ("name", "description") or not isinstance(value, str):
            raise ValueError(f"cannot set project {field} to {value!r}")
        old = getattr(self, field)
        setattr(self, field, value)
        self.events.emit("project_changed", field=field, old=old)
        return old


# --- checks of settings (shared with the file loader) ------------------------


def _number(value, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    import math

    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if not bad and isinstance(value, int) and abs(value) > 1e300:
        bad = True  # too large for a float: float() would raise OverflowError
    if not bad:
        bad = not math.isfinite(value)
    if not bad and integer and not float(value).is_integer():
        bad = True
    if not bad and lo is not None and (value < lo or (lo_open and value == lo)):
        bad = True
    if not bad and hi is not None and (value > hi or (hi_open and value == hi)):
        bad = True
    if bad:
        what = "an integer" if integer else "a number"
        parts = []
        if lo is not None:
            parts.append(f"{'>' if lo_open else '>='} {number_text(lo)}")
        if hi is not None:
            parts.append(f"{'<' if hi_open else '<='} {number_text(hi)}")
        raise ValueError(
            f"expected {what} {' and '.join(parts)}".rstrip() + f", got {describe(value)}"
        )
    return int(value) if integer else float(value)


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _choice(value, options):
    if value not in options:
        raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
    return value


# Each OptimizerSpec field's check (the project file reads them one by one).
OPTIMIZER_CHECKS = {
    "name": lambda v: _choice(v, OPTIMIZERS),
    "learning_rate": lambda v: _number(v, 0, lo_open=True),
    "beta_1": lambda v: _number(v, 0, 1, hi_open=True),
    "beta_2": lambda v: _number(v, 0, 1, hi_open=True),
    "epsilon": lambda v: _number(v, 0, lo_open=True),
    # 1 would never forget a gradient: the velocity grows without bound.
    "momentum": lambda v: _number(v, 0, 1, hi_open=True),
}


def check_optimizer(value) -> OptimizerSpec:
    if not isinstance(value, OptimizerSpec):
        raise ValueError(f"expected an optimizer, got {value!r}")
    clean = {}
    for key, check in OPTIMIZER_CHECKS.items():
        try:
            clean[key] = check(getattr(value, key))
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return OptimizerSpec(**clean)


# Seeds: what numpy, TensorFlow and the window's spin boxes all take (a
# QSpinBox holds at most 2**31 - 1; numpy at most 2**32 - 1).
MAX_SEED = 2**31 - 1
# Batch size, epochs, affinity_every: the Training panel's spin boxes.
MAX_COUNT = 1_000_000

TRAINING_CHECKS = {
    "mode": lambda v: _choice(v, MODES),
    "weighting": lambda v: _choice(v, WEIGHTINGS),
    "gradnorm_alpha": lambda v: _number(v, 0),
    "dwa_temperature": lambda v: _number(v, 0, lo_open=True),
    # The paper's c is in [0, 1): below 1 the update keeps to the mean loss.
    "cagrad_c": lambda v: _number(v, 0, 1, hi_open=True),
    "gradvac_beta": lambda v: _number(v, 0, 1),
    "famo_learning_rate": lambda v: _number(v, 0, lo_open=True),
    "famo_weight_decay": lambda v: _number(v, 0),
    "optimizer": check_optimizer,
    "schedule": lambda v: _choice(v, SCHEDULES),
    "soft_sharing_lambda": lambda v: _number(v, 0),
    "batch_size": lambda v: _number(v, 1, MAX_COUNT, integer=True),
    "epochs": lambda v: _number(v, 1, MAX_COUNT, integer=True),
    "validation_split": lambda v: _number(v, 0, 1, hi_open=True),
    "seed": lambda v: _number(v, 0, MAX_SEED, integer=True),
    "steps_per_call": lambda v: _number(v, 1, 10000, integer=True),
    "test_split": lambda v: _number(v, 0, 1, hi_open=True),
    "strategy": lambda v: _choice(v, DISTRIBUTIONS),
    "precision": lambda v: _choice(v, PRECISIONS),
    # How training reads its data files (data/stream.py).
    "data_loading": lambda v: _choice(v, DATA_LOADING),
    "monitor": monitor.check,
    "early_stopping": lambda v: _flag(v),
    "patience": lambda v: _number(v, 1, 100000, integer=True),
    "min_delta": lambda v: _number(v, 0),
    "split_seed": lambda v: None if v is None else _number(v, 0, MAX_SEED, integer=True),
    "affinity_every": lambda v: _number(v, 0, MAX_COUNT, integer=True),
}


def check_training_field(field: str, value):
    if field not in TRAINING_CHECKS:
        raise KeyError(f"training settings have no field {field!r}")
    return TRAINING_CHECKS[field](value)


def check_data_source(value) -> DataSource:
    if not isinstance(value, DataSource):
        raise ValueError(f"expected a data source, got {value!r}")
    _choice(value.kind, DATA_KINDS)
    if not isinstance(value.params, dict):
        raise ValueError(f"expected generator parameters as a mapping, got {value.params!r}")
    if value.fingerprint is not None and not isinstance(value.fingerprint, dict):
        raise ValueError(f"expected a file fingerprint as a mapping, got {value.fingerprint!r}")
    for key, cols in value.inputs.items():
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise ValueError(f"input {key!r}: expected a list of column names, got {cols!r}")
    return dataclasses.replace(value)
