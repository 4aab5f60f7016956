"""A block on the canvas: an output port per task, each in its task's colour,
and a wire drawn from port k leaves port k."""

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from mtl_studio.core.graph import Edge
from tests.helpers import block_project, node
from tests.ui.test_window import drag, port_point, viewport_point


def out_port_point(window, node_id, out):
    item = window.view.graph_scene.nodes[node_id]
    return viewport_point(window, item.mapToScene(item.output_port_pos(out)))


def placed(project):
    for i, node_id in enumerate(project.nodes):
        project.node(node_id).x, project.node(node_id).y = 260.0 * (i % 3), 200.0 * (i // 3)
    return project


def test_each_port_of_a_block_is_in_its_task_s_colour(make_window):
    project = placed(block_project("MMoE", tasks=3))
    window = make_window(project)
    item = window.view.graph_scene.nodes["blk"]
    colors = [c.name() for c in item.output_colors]
    assert colors[:2] == [QColor(project.task_color(t)).name() for t in ("t0", "t1")]
    assert len(colors) == 3  # the third port feeds no task yet: grey
    assert colors[2] not in colors[:2]
    assert "output port 1: task t1" in item.toolTip()
    # Three ports spread over the bottom edge, each found where it is drawn.
    xs = [item.output_port_pos(k).x() for k in range(3)]
    assert xs == sorted(xs) and len(set(xs)) == 3
    for k in range(3):
        scene_pos = item.mapToScene(item.output_port_pos(k))
        assert item.port_at(scene_pos) == ("out", k)
    # An edge from port 1 starts at port 1.
    edge = window.view.graph_scene.edges[Edge("blk", "out1", 0, 1)]
    start = edge.path().elementAt(0)
    assert QPointF(start.x, start.y) == item.mapToScene(item.output_port_pos(1))


def test_a_wire_from_a_block_s_third_port_connects_that_port(qtbot, make_window):
    project = placed(block_project("MMoE", tasks=3))
    node(project, "out2", "Output", units=1)
    project.node("out2").x, project.node("out2").y = 520.0, 420.0
    window = make_window(project)
    drag(qtbot, window, out_port_point(window, "blk", 2), port_point(window, "out2", "in", 0))
    assert Edge("blk", "out2", 0, 2) in window.document.project.edges
    window.document.undo_stack.undo()
    assert Edge("blk", "out2", 0, 2) not in window.document.project.edges
