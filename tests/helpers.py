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


def with_data(project: Project, folder: Path) -> Project:
    """Give two_task_project() (or a variant of it) data that fits: a CSV in
    `folder` with x's ten features f0..f9, a value y for task a and a class
    id 0..2 for task b. A project without data cannot train (validation says
    so), which tests of training and of a valid window need."""
    path = Path(folder) / "two_tasks.csv"
    features = [f"f{i}" for i in range(10)]
    rows = [",".join(features + ["y", "kind"])]
    for i in range(20):
        rows.append(",".join([f"{(i * 7 + j) % 11 / 10:g}" for j in range(10)]
                             + [f"{i / 4:g}", str(i % 3)]))
    path.write_text("\n".join(rows) + "\n")
    project.data = DataSource("csv", path=str(path), inputs={"x": features})
    for task, target in (("a", "y"), ("b", "kind")):
        if any(t.name == task for t in project.tasks):
            project.task(task).target = [target]
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
