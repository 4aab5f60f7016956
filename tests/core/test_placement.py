"""Where new nodes go: the free-place search and the commands built on it."""

from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.core import commands as c
from mtl_studio.core.graph import Edge
from mtl_studio.core.placement import (
    GAP,
    NODE_HEIGHT,
    NODE_WIDTH,
    ROW,
    add_node_below,
    add_node_near,
    free_spot,
    node_boxes,
)
from mtl_studio.core.project import Project
from tests.helpers import chain, cnn_without_flatten, node, two_task_project

coordinate = st.integers(-60, 60).map(lambda v: v * 10.0)
corners = st.lists(st.tuples(coordinate, coordinate), max_size=12)


def boxes_at(points):
    return [(x, y, NODE_WIDTH, NODE_HEIGHT) for x, y in points]


def overlaps(a, b, gap=0.0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + gap and bx < ax + aw + gap and ay < by + bh + gap and by < ay + ah + gap


def clear_of(boxes, x, y, gap=0.0, size=(NODE_WIDTH, NODE_HEIGHT)) -> bool:
    return not any(overlaps((x, y, *size), b, gap) for b in boxes)


@given(corners, coordinate, coordinate)
def test_the_spot_overlaps_no_node_and_keeps_the_gap(points, x, y):
    boxes = boxes_at(points)
    spot = free_spot(boxes, x, y)
    assert clear_of(boxes, *spot)
    assert clear_of(boxes, *spot, gap=GAP - 0.1)  # rounded to 0.1 at most


@given(corners, coordinate, coordinate)
def test_the_spot_is_deterministic_and_ignores_the_order_of_nodes(points, x, y):
    boxes = boxes_at(points)
    assert free_spot(boxes, x, y) == free_spot(list(boxes), x, y)
    assert free_spot(boxes, x, y) == free_spot(boxes[::-1], x, y)


@given(corners, coordinate, coordinate)
def test_a_free_spot_is_kept_as_asked(points, x, y):
    boxes = boxes_at(points)
    if clear_of(boxes, x, y, gap=GAP):
        assert free_spot(boxes, x, y) == (x, y)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(coordinate, coordinate), max_size=6), coordinate, coordinate)
def test_no_free_spot_on_a_fine_grid_is_nearer(points, x, y):
    boxes = boxes_at(points)
    sx, sy = free_spot(boxes, x, y)
    best = (sx - x) ** 2 + (sy - y) ** 2
    for gx in range(-900, 901, 20):
        for gy in range(-900, 901, 20):
            if (gx - x) ** 2 + (gy - y) ** 2 < best - 1:
                assert not clear_of(boxes, gx, gy, gap=GAP), (gx, gy)


@given(corners, coordinate, coordinate)
def test_keep_row_moves_only_sideways(points, x, y):
    boxes = boxes_at(points)
    sx, sy = free_spot(boxes, x, y, keep_row=True)
    assert sy == y and clear_of(boxes, sx, sy)


def test_many_nodes_in_a_row_push_the_new_one_to_the_nearest_end():
    boxes = boxes_at([(i * (NODE_WIDTH + GAP), 0.0) for i in range(-3, 6)])
    x, y = free_spot(boxes, 0.0, 0.0, keep_row=True)
    assert (x, y) == (-4 * (NODE_WIDTH + GAP), 0.0)


def test_three_task_heads_on_one_node_sit_side_by_side():
    p = two_task_project()
    for i, node_id in enumerate(p.nodes):  # spread out as the canvas would
        p.node(node_id).x, p.node(node_id).y = 0.0, i * ROW
    stack = c.UndoStack(p)
    for _ in range(3):
        stack.push(c.add_task_head(p, "shared"))
    boxes = node_boxes(p)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlaps(a, b), (a, b)
    shared = p.node("shared")
    heads = [p.node(p.head_nodes(t.name)[0]) for t in p.tasks[2:]]
    assert all(h.y == shared.y + ROW for h in heads)  # the row right under it
    outputs = [p.node(t.output) for t in p.tasks[2:]]
    assert all(o.y == h.y + ROW and o.x == h.x for o, h in zip(outputs, heads))
    assert stack.index == 3


def test_a_node_added_below_is_fed_when_its_shape_fits():
    p = two_task_project()
    command = add_node_below(p, "Dense", "shared")
    c.UndoStack(p).push(command)
    new = command.commands[0].node.id
    assert Edge("shared", new, 0) in p.edges
    assert p.node(new).y == p.node("shared").y + ROW


def test_a_node_added_below_is_not_fed_when_the_shape_does_not_fit():
    p = two_task_project()
    for kind, below in (
        ("Conv1D", "shared"),  # Conv1D needs a sequence, not (16,)
        ("Dense", "out_a"),  # an Output feeds nothing
        ("Input", "shared"),
    ):  # an Input takes no inputs
        command = add_node_below(p, kind, below)
        assert [type(x) for x in command.commands] == [c.AddNode], kind


def test_a_node_below_one_of_unknown_shape_is_fed():
    p = cnn_without_flatten()  # fc1 gets (8, 8, 16): its own shape is unknown
    command = add_node_below(p, "Dense", "fc1")
    assert [type(x) for x in command.commands] == [c.AddNode, c.Connect]


def test_a_node_added_below_with_its_edge_is_one_undo_step():
    p = two_task_project()
    stack = c.UndoStack(p)
    before = p.copy()
    stack.push(add_node_below(p, "Dropout", "head_a"))
    assert stack.index == 1 and len(p.nodes) == 6
    stack.undo()
    assert p == before


def test_add_node_near_moves_off_a_node():
    p = Project()
    node(p, "a", "Dense")
    node(p, "b", "Dense")
    chain(p, "a", "b")
    command = add_node_near(p, "Dense", 5.0, 5.0)
    n = command.commands[0].node
    assert not overlaps((n.x, n.y, NODE_WIDTH, NODE_HEIGHT), (0, 0, NODE_WIDTH, NODE_HEIGHT))
    assert n.kind == "Dense" and n.id not in p.nodes and p.node_by_name(n.name) is None
