"""Small builders for test projects."""

from __future__ import annotations

from pathlib import Path

from mtl_studio.core.graph import Edge, Node
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task


def node(project: Project, node_id: str, kind: str, **params) -> str:
    project.add_node(Node(node_id, kind, node_id, params))
    return node_id


def chain(project: Project, *ids: str) -> None:
    for a, b in zip(ids, ids[1:]):
        project.connect(Edge(a, b, project.graph.free_port(b)))


def two_task_project() -> Project:
    """x(10) -> shared Dense 16 -> head_a Dense 8 -> out_a (1)
    -> out_b (3, softmax)"""
    p = Project("two tasks")
    node(p, "x", "Input", shape=[10])
    node(p, "shared", "Dense", units=16)
    node(p, "head_a", "Dense", units=8)
    node(p, "out_a", "Output", units=1)
    node(p, "out_b", "Output", units=3, activation="softmax")
    chain(p, "x", "shared", "head_a", "out_a")
    chain(p, "shared", "out_b")
    p.add_task(Task("a", "out_a", "mse"))
    p.add_task(Task("b", "out_b", "sparse_categorical_crossentropy", metrics=["accuracy"]))
    return p


def with_data(project: Project, folder: Path, rows: int = 20) -> Project:
    """Give a test project data that fits it: an NPZ file in `folder` with
    an array per Input (named after it) and a target per task (named after
    the task: class ids for a classification loss, values for the others),
    mapped and chosen. A project without data cannot train, and validation
    says so, so tests of a valid window or of training need some."""
    import numpy as np

    from mtl_studio.core.validation import infer_shapes

    rng = np.random.default_rng(0)
    shapes, _ = infer_shapes(project)
    arrays, inputs = {}, {}
    for n in project.input_nodes():
        arrays[n.name] = rng.normal(size=(rows, *n.params["shape"]))
        inputs[n.id] = [n.name]
    for task in project.tasks:
        out = project.nodes.get(task.output)
        if out is None:
            continue
        units = out.params["units"]
        shape = shapes.get(out.id) or (units,)
        if task.loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
            arrays[task.name] = (
                np.arange(rows * int(np.prod(shape[:-1]))).reshape((rows, *shape[:-1])) % units
            )
        elif task.loss == "binary_crossentropy":
            arrays[task.name] = rng.integers(0, 2, size=(rows, *shape))
        else:
            arrays[task.name] = rng.normal(size=(rows, *shape))
        task.target = [task.name]
    path = Path(folder) / f"{project.name.replace(' ', '_')}.npz"
    np.savez(path, **arrays)
    project.data = DataSource("npz", path=str(path), inputs=inputs)
    return project


def cnn_without_flatten() -> Project:
    """image(16,16,3) -> Conv2D -> MaxPooling2D -> Dense 'fc1' -> Output: the
    Dense gets (8, 8, 16), a shape mismatch a Flatten would fix."""
    p = Project("cnn")
    node(p, "image", "Input", shape=[16, 16, 3])
    node(p, "conv", "Conv2D", filters=16, kernel_size=3, padding="same")
    node(p, "pool", "MaxPooling2D")
    node(p, "fc1", "Dense")
    node(p, "out", "Output")
    chain(p, "image", "conv", "pool", "fc1", "out")
    p.add_task(Task("t", "out"))
    return p


def block_project(kind: str, **params) -> Project:
    """x(8) -> a block -> an Output per task from its own port; for
    CrossStitch, a Dense tower per task into it (tower k into port k)."""
    from mtl_studio.core.catalogue import get_kind

    p = Project(f"{kind} block")
    node(p, "x", "Input", shape=[8])
    p.add_node(Node("blk", kind, "blk", {**get_kind(kind).defaults(), **params}))
    if kind == "CrossStitch":
        for k in range(2):
            node(p, f"tower{k}", "Dense", units=6)
            chain(p, "x", f"tower{k}")
            p.connect(Edge(f"tower{k}", "blk", k))
    else:
        chain(p, "x", "blk")
    for k, loss in enumerate(("mse", "sparse_categorical_crossentropy")):
        units, act = (1, "linear") if loss == "mse" else (3, "softmax")
        node(p, f"out{k}", "Output", units=units, activation=act)
        p.connect(Edge("blk", f"out{k}", 0, k))
        p.add_task(Task(f"t{k}", f"out{k}", loss))
    return p
