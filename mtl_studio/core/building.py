"""Building a project in code: inputs, layers, task heads, data.

The same checks as the canvas (each call goes through Project, which
refuses what the window refuses, with the same message); nodes are named by
the caller and found again by name. A project built here opens in the
window laid out like one built there (core/layout.py).
"""

from __future__ import annotations

from pathlib import Path

from .graph import Edge, Node
from .layout import auto_layout
from .project import Project
from .settings import DataSource
from .tasks import Task

# The activation an Output gets when the caller names none: what its loss
# expects (probabilities for the classification losses).
OUTPUT_ACTIVATION = {
    "sparse_categorical_crossentropy": "softmax",
    "categorical_crossentropy": "softmax",
    "binary_crossentropy": "sigmoid",
}


def _node_id(project: Project, name_or_id: str) -> str:
    node = project.node_by_name(name_or_id)
    if node is not None:
        return node.id
    if name_or_id in project.nodes:
        return name_or_id
    raise KeyError(f"no node is named {name_or_id!r}")


def add_input(project: Project, name: str, shape, dtype: str = "float32") -> str:
    """An Input node of `shape` (per example, without the batch axis);
    dtype "int32" for token ids that feed an Embedding."""
    node = Node(project.new_node_id("Input"), "Input", name, {"shape": list(shape), "dtype": dtype})
    project.add_node(node)
    return node.name


def add_layer(project: Project, kind: str, after, name: str | None = None, **params) -> str:
    """A layer of the catalogue (`mtl-studio show` and docs list the kinds)
    fed by the node (or list of nodes, for Concatenate and Add) `after`;
    parameters not given take their defaults. Returns its name."""
    sources = [after] if isinstance(after, str) else list(after)
    ids = [_node_id(project, s) for s in sources]
    node = Node(
        project.new_node_id(kind),
        kind,
        name or project.unique_node_name(kind.lower()),
        dict(params),
    )
    project.add_node(node)
    try:
        for source in ids:
            port, out = project.graph.free_port(node.id), project.graph.free_output(source)
            project.connect(Edge(source, node.id, port, out))
    except Exception:
        project.remove_node(node.id)  # all or nothing
        raise
    return node.name


def add_task(
    project: Project,
    name: str,
    after: str,
    *,
    loss: str = "mse",
    units: int = 1,
    target=(),
    weight: float = 1.0,
    metrics=(),
    activation: str | None = None,
    output: str | None = None,
) -> Task:
    """A task: an Output layer of `units` after the node `after`, learning
    the `target` columns with `loss`. The Output's activation follows the
    loss unless given."""
    activation = activation or OUTPUT_ACTIVATION.get(loss, "linear")
    out = add_layer(
        project, "Output", after, output or f"{name}_out", units=units, activation=activation
    )
    task = Task(
        name,
        _node_id(project, out),
        loss,
        weight=weight,
        metrics=list(metrics),
        target=[target] if isinstance(target, str) else list(target),
    )
    try:
        project.add_task(task)
    except Exception:
        project.remove_node(_node_id(project, out))
        raise
    return project.task(name)


def use_data(
    project: Project,
    path,
    inputs: dict[str, list[str]],
    *,
    standardize_inputs: bool = True,
    standardize_targets: bool = False,
) -> DataSource:
    """The project's data: a CSV or NPZ file, `inputs` mapping each Input's
    name to its columns (each task names its own target columns)."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("csv", "npz"):
        raise ValueError(f"{path}: data must be a .csv or .npz file")
    mapping = {_node_id(project, name): list(columns) for name, columns in inputs.items()}
    source = DataSource(
        kind,
        path=str(path.resolve()),
        inputs=mapping,
        standardize_inputs=standardize_inputs,
        standardize_targets=standardize_targets,
    )
    project.set_data(source)
    return project.data


def arrange(project: Project) -> None:
    """Lay the nodes out as the window's Auto Layout does."""
    for node_id, (x, y) in auto_layout(project).items():
        project.move_node(node_id, x, y)
