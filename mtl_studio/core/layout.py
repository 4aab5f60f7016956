"""Automatic layout of the canvas: a simple layered (Sugiyama-style) drawing.

A node's layer is its longest path from an input. Within a layer, nodes are
grouped by role before anything else, so that each task head stays in one
piece on its own side of the shared trunk; a few barycenter sweeps then
order each group to reduce crossings. `auto_layout` is a pure function;
`layout_command` applies it as one undo step.
"""

from __future__ import annotations

import math

from .commands import MoveNodes
from .placement import NODE_HEIGHT, NODE_WIDTH  # the node box as the canvas draws it
from .project import Project

SWEEPS = 4  # barycenter passes, downwards and upwards in turn
DIRECTIONS = ("down", "right")


def auto_layout(
    project: Project,
    direction: str = "down",
    layer_gap: float = 130.0,
    node_gap: float = 60.0,
    node_width: float = NODE_WIDTH,
) -> dict[str, tuple[float, float]]:
    """The top-left corner (x, y) of every node's box.

    "down" puts the inputs at the top, "right" at the left. layer_gap is the
    step from one layer to the next going down (130 leaves 46 between boxes
    84 high, as in the example projects); node_gap is the space between
    two boxes of one layer. The drawing keeps the current top-left corner of
    the nodes, so the diagram does not jump away from where the user looks.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if not project.nodes:
        return {}
    preds: dict[str, list[str]] = {n: [] for n in project.nodes}
    succs: dict[str, list[str]] = {n: [] for n in project.nodes}
    for e in project.edges:
        if e.source in preds and e.target in preds:
            preds[e.target].append(e.source)
            succs[e.source].append(e.target)

    layer = _layers(project, preds)
    side = _sides(project)
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for node_id in project.nodes:
        rows[layer[node_id]].append(node_id)
    for row in rows:
        row.sort(key=side.get)  # stable: file order within a group to start with

    across = node_width if direction == "down" else NODE_HEIGHT
    centre = _order(rows, side, preds, succs, across + node_gap)

    # Going right, boxes are node_width long along the flow instead of
    # NODE_HEIGHT: keep the same clear space between layers.
    along = layer_gap if direction == "down" else layer_gap - NODE_HEIGHT + node_width
    flow = {n: layer[n] * along for n in project.nodes}
    cross = {n: centre[n] - across / 2 for n in project.nodes}
    if direction == "right":
        flow, cross = cross, flow
    dx = min(n.x for n in project.nodes.values()) - min(cross.values())
    dy = min(n.y for n in project.nodes.values()) - min(flow.values())
    # Rounded as the file rounds them, so a saved layout counts as unchanged.
    return {n: (round(cross[n] + dx, 2), round(flow[n] + dy, 2)) for n in project.nodes}


def layout_command(project: Project, **kw) -> MoveNodes:
    """auto_layout as one undo step that moves only the nodes it changes."""
    moved = {}
    for node_id, xy in auto_layout(project, **kw).items():
        node = project.node(node_id)
        if (node.x, node.y) != xy:
            moved[node_id] = xy
    command = MoveNodes(moved)
    command.text = "Auto layout"
    return command


def _layers(project: Project, preds: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from an input; Input nodes and nodes without inputs are
    layer 0."""
    layer: dict[str, int] = {}

    def place(node_id: str) -> None:
        above = [layer[p] + 1 for p in preds[node_id] if p in layer]
        layer[node_id] = 0 if project.node(node_id).kind == "Input" or not above else max(above)

    order, rest = project.graph.topological_order()
    for node_id in order:
        place(node_id)
    # Nodes on or behind a cycle: first any whose inputs all have a layer,
    # else the first one left; its inputs without a layer yet are ignored,
    # which breaks the cycle at that edge.
    waiting = [n for n in project.nodes if n in rest]
    while waiting:
        node_id = next((n for n in waiting if all(p in layer for p in preds[n])), waiting[0])
        waiting.remove(node_id)
        place(node_id)
    return layer


def _sides(project: Project) -> dict[str, float]:
    """Where a node's group sits across the flow, relative to the trunk axis:
    0 for inputs and for nodes every task uses, left to right for the heads in
    task order (first tasks left of the axis), the mean of its tasks for a
    node some tasks share, and unused nodes at the far right."""
    index: dict[str, int] = {}
    for i, task in enumerate(project.tasks):
        index.setdefault(task.name, i)
    count = len(project.tasks)
    side = {}
    for node_id, role in project.roles().items():
        if role.kind == "input":
            side[node_id] = 0.0
        elif role.tasks:
            # Twice the offset from the middle task, in integers, so a node
            # that all tasks use comes out exactly 0.
            side[node_id] = sum(2 * index[t] - (count - 1) for t in role.tasks) / len(role.tasks)
        else:
            side[node_id] = math.inf
    return side


def _order(
    rows: list[list[str]],
    side: dict[str, float],
    preds: dict[str, list[str]],
    succs: dict[str, list[str]],
    pitch: float,
) -> dict[str, float]:
    """Order each row (in place) by group, then by the barycenter of its
    neighbours above (sweeping down) or below (sweeping up); return the
    centre of every node across the flow."""
    centre: dict[str, float] = {}
    for row in rows:
        _place(row, side, centre, pitch)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        near = preds if downward else succs
        for row in rows[1:] if downward else rows[-2::-1]:
            key = {}
            for n in row:
                xs = [centre[m] for m in near[n]]
                key[n] = (side[n], sum(xs) / len(xs) if xs else centre[n])
            row.sort(key=key.get)
            _place(row, side, centre, pitch)
    return centre


def _place(row: list[str], side: dict[str, float], centre: dict[str, float], pitch: float) -> None:
    """Centre the row's trunk group (side 0) on the axis and let the groups
    left and right of it grow outwards, so a head keeps its side of the axis
    even in a layer the trunk does not reach."""
    left = sum(1 for n in row if side[n] < 0)
    middle = sum(1 for n in row if side[n] == 0)
    for position, node_id in enumerate(row):
        centre[node_id] = (position - left - (middle - 1) / 2) * pitch
