"""Where a new node goes: the footprint of a node box, the nearest free place
for a new one, and the commands that add a node there.

A node added by a gesture (palette, drop, quick add, "add task head") must
not land on top of another one: the user would not see it, and the next
click would pick up the wrong node. The canvas draws node boxes with the
size defined here, so the search and the drawing agree.
"""

from __future__ import annotations

import heapq
from typing import Iterable

from .commands import AddNode, Connect, Macro
from .graph import Edge, GraphError, Node
from .project import Project
from .validation import infer_shapes

# The node box as the canvas draws it (top-left corner at the node's x, y).
NODE_WIDTH = 184.0
NODE_HEIGHT = 84.0
# Clear space kept around a new node, and the step from a node to the row
# below it.
GAP = 40.0
ROW = NODE_HEIGHT + GAP

Box = tuple[float, float, float, float]  # x, y, width, height


def node_boxes(project: Project) -> list[Box]:
    """The boxes of every node, in scene coordinates."""
    return [(n.x, n.y, NODE_WIDTH, NODE_HEIGHT) for n in project.nodes.values()]


def free_spot(
    boxes: Iterable[Box],
    x: float,
    y: float,
    size: tuple[float, float] = (NODE_WIDTH, NODE_HEIGHT),
    keep_row: bool = False,
    gap: float = GAP,
) -> tuple[float, float]:
    """The top-left corner nearest to (x, y) where a box of `size` keeps
    `gap` clear of every box; (x, y) itself when it is free. With keep_row
    only x moves (a new head goes beside its siblings, not under them).

    The nearest free corner lies either at (x, y) or against a box's side
    (x just left or right of a box, y just above or below one), so only
    those coordinates are tried, nearest first. Ties go right, then down.
    The answer depends only on the set of boxes, not on their order."""
    boxes = list(boxes)
    width, height = size
    xs = _candidates(x, [v for bx, _, bw, _ in boxes for v in (bx - width - gap, bx + bw + gap)])
    ys = (
        [y]
        if keep_row
        else _candidates(
            y, [v for _, by, _, bh in boxes for v in (by - height - gap, by + bh + gap)]
        )
    )

    def free(cx: float, cy: float) -> bool:
        return not any(
            cx < bx + bw + gap
            and bx < cx + width + gap
            and cy < by + bh + gap
            and by < cy + height + gap
            for bx, by, bw, bh in boxes
        )

    # The pairs (xs[i], ys[j]) in order of distance: both lists are sorted
    # by distance from (x, y), so a heap walks the grid without building it.
    heap = [((xs[0] - x) ** 2 + (ys[0] - y) ** 2, 0, 0)]
    seen = {(0, 0)}
    while heap:
        _, i, j = heapq.heappop(heap)
        if free(xs[i], ys[j]):
            return round(xs[i], 1), round(ys[j], 1)
        for ni, nj in ((i + 1, j), (i, j + 1)):
            if ni < len(xs) and nj < len(ys) and (ni, nj) not in seen:
                seen.add((ni, nj))
                heapq.heappush(heap, ((xs[ni] - x) ** 2 + (ys[nj] - y) ** 2, ni, nj))
    # Unreachable: right of the rightmost box is always free.
    raise AssertionError("no free spot")


def _candidates(origin: float, sides: list[float]) -> list[float]:
    """origin and the sides, without repeats, nearest first, ties on the
    positive side first."""
    return sorted(set([origin, *sides]), key=lambda v: (abs(v - origin), v < origin))


def spot_below(
    project: Project, node_id: str, size: tuple[float, float] = (NODE_WIDTH, NODE_HEIGHT)
) -> tuple[float, float]:
    """A free place in the row below a node, as close under it as the
    boxes already there (its other children, say) allow."""
    node = project.node(node_id)
    return free_spot(node_boxes(project), node.x, node.y + ROW, size, keep_row=True)


def new_node(project: Project, kind: str, x: float, y: float) -> Node:
    """A node of `kind` with a fresh id and name, its box's corner at (x, y)."""
    node_id = project.new_node_id(kind)
    name = project.unique_node_name(node_id.rsplit("_", 1)[0])
    return Node(node_id, kind, name, {}, x, y)


# Both adders return a Macro whose first command is the AddNode, so the
# caller finds the new node in the same place whatever else comes with it.


def add_node_near(project: Project, kind: str, x: float, y: float) -> Macro:
    """Add a node at the free place nearest to the corner (x, y): the spot
    the user chose, moved off any node it would cover."""
    node = new_node(project, kind, *free_spot(node_boxes(project), x, y))
    return Macro(f"Add {kind}", [AddNode(node)])


def add_node_below(project: Project, kind: str, node_id: str) -> Macro:
    """Add a node in the free place below `node_id`, fed by it when the
    graph allows that edge and the shapes fit: one undo step either way."""
    node = new_node(project, kind, *spot_below(project, node_id))
    edge = Edge(node_id, node.id, 0, project.graph.free_output(node_id))
    wire = [Connect(edge)] if feeds(project, node, edge) else []
    return Macro(f"Add {kind}", [AddNode(node), *wire])


def feeds(project: Project, node: Node, edge: Edge) -> bool:
    """Would `edge` into the new `node` be accepted, and would the node's
    shape rule accept what comes in? Tried on a copy of the project."""
    if project.node(edge.source).kind == "Output":
        return False  # an Output ends its task head
    trial = project.copy()
    try:
        trial.add_node(node.copy())
        trial.connect(edge)
    except (GraphError, KeyError, ValueError):
        return False
    _, problems = infer_shapes(trial)
    return not any(p.place.kind == "node" and p.place.id == node.id for p in problems)
