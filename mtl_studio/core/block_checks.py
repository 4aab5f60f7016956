"""What validation says about block nodes (core/blocks.py): their output
ports, their use in soft sharing, and the names of the layers they build to.
"""

from __future__ import annotations

from .blocks import Expansion, expand
from .catalogue import ShapeError, get_kind
from .params import Shape
from .project import Project
from .validation import ERROR, WARNING, Place, Problem


def port_tasks(project: Project, node_id: str, roles=None) -> list[tuple[str, ...]]:
    """For each output port of a node, the tasks it feeds, in task order:
    the canvas colours a block's port by its task."""
    roles = project.roles() if roles is None else roles
    ports: list[list[str]] = [[] for _ in range(project.graph.output_ports(node_id))]
    for edge in project.graph.outputs_of(node_id):
        if edge.out < len(ports):
            ports[edge.out] += [t for t in roles[edge.target].tasks if t not in ports[edge.out]]
    order = {t.name: i for i, t in enumerate(project.tasks)}
    return [tuple(sorted(p, key=lambda t: order.get(t, 0))) for p in ports]


def model_layers(project: Project, node_id: str, found: Expansion) -> list[str]:
    """The layers of a block that the model holds: those leading to an
    output port that feeds a task (a Keras model leaves out the rest)."""
    used = set().union(*(project.task_nodes(t.name) for t in project.tasks))
    ports = {e.out for e in project.graph.outputs_of(node_id) if e.target in used}
    return found.feeding(ports)


def block_problems(project: Project, shapes: dict[str, Shape | None]) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append
    graph = project.graph
    names = {n.name: n for n in project.nodes.values()}
    roles = project.roles()
    for node_id, node in project.nodes.items():
        place = Place("node", node_id, node.label)
        ports = graph.output_ports(node_id)
        for edge in graph.outputs_of(node_id):
            if edge.out >= ports:
                target = project.node(edge.target)
                add(
                    Problem(
                        ERROR,
                        place,
                        f"has {ports} output port(s) but its edge to {target.label} leaves "
                        f"port {edge.out}: reconnect it to a port it has",
                    )
                )
        if not get_kind(node.kind).block:
            continue
        if project.training.mode == "soft_sharing":
            add(
                Problem(
                    ERROR,
                    place,
                    "shares its layers among the tasks itself, which soft parameter "
                    "sharing (a tower per task) cannot copy: train in joint or "
                    "alternating mode",
                )
            )
        for port, tasks in enumerate(port_tasks(project, node_id, roles)):
            if not tasks and roles[node_id].kind != "unused":
                add(
                    Problem(
                        WARNING,
                        place,
                        f"output port {port} feeds no task, so its gate learns nothing: "
                        "wire a task's head to it or lower the number of tasks",
                    )
                )
            elif len(tasks) > 1:
                add(
                    Problem(
                        WARNING,
                        place,
                        f"tasks {', '.join(tasks)} all take output port {port}: they share "
                        "one gate; give each task its own port",
                    )
                )
        in_shapes = [shapes.get(p) for p in graph.predecessors(node_id)]
        if not in_shapes or any(s is None for s in in_shapes):
            continue
        try:
            built = expand(node.kind, node.params, node.name, in_shapes)
        except (ShapeError, KeyError, TypeError, ValueError):
            continue  # infer_shapes has said why
        for name in built.names:
            if name in names:
                add(
                    Problem(
                        ERROR,
                        place,
                        f"builds a layer named {name!r}, the name of {names[name].label}: "
                        "rename one of the two nodes",
                    )
                )
    return problems
