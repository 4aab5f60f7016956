"""Canvas gestures as a new user meets them: new nodes land in free places,
every refused gesture says why, the problem badge leaves the role label
readable, and an empty canvas says how to begin."""

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QDropEvent, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from mtl_studio.core.catalogue import get_kind
from mtl_studio.core.commands import MoveNodes
from mtl_studio.core.graph import Edge, Node
from mtl_studio.core.placement import NODE_HEIGHT, NODE_WIDTH
from mtl_studio.core.project import Project
from mtl_studio.core.validation import ERROR, Place, Problem
from mtl_studio.ui.canvas.items import NodeItem
from mtl_studio.ui.palette import KIND_MIME
from tests.helpers import two_task_project
from tests.ui.test_window import drag, key, loose_project, node_point, port_point


def said(window) -> list[str]:
    """Everything the canvas and the document say from now on."""
    messages: list[str] = []
    window.view.graph_scene.message.connect(messages.append)
    window.document.message.connect(messages.append)
    return messages


def overlapping(project) -> list[tuple[str, str]]:
    nodes = list(project.nodes.values())
    return [
        (a.id, b.id)
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if abs(a.x - b.x) < NODE_WIDTH and abs(a.y - b.y) < NODE_HEIGHT
    ]


def click_node(qtbot, window, node_id) -> None:
    window.view.centre_on_node(node_id)
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=node_point(window, node_id))
    assert window.document.selection == [node_id]


def double_click_palette(qtbot, window, kind) -> None:
    tree = window.palette.tree
    item = next(i for i in window.palette.kind_items() if i.text(0) == kind)
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.LeftButton, pos=rect.center())


def drop_kind(window, kind: str, at: QPoint) -> None:
    mime = QMimeData()
    mime.setData(KIND_MIME, kind.encode("utf-8"))
    window.view.dropEvent(
        QDropEvent(QPointF(at), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    )


# --- 1. task heads side by side ----------------------------------------------------------


def test_three_task_heads_on_one_node_do_not_pile_up(qtbot, make_window):
    window = make_window()
    project = window.document.project
    for _ in range(3):
        click_node(qtbot, window, "shared")
        key(qtbot, window, "Ctrl+H")
    assert len(project.tasks) == 5
    assert overlapping(project) == []
    assert window.document.undo_stack.index == 3


# --- 2. nodes from the palette -------------------------------------------------------------


def test_a_palette_node_goes_below_the_selected_node_wired_to_it(qtbot, make_window):
    window = make_window()
    project = window.document.project
    click_node(qtbot, window, "head_a")
    double_click_palette(qtbot, window, "Dropout")
    added = window.document.selection[0]
    assert project.node(added).kind == "Dropout"
    assert Edge("head_a", added, 0) in project.edges
    assert project.node(added).y > project.node("head_a").y
    assert overlapping(project) == []
    # The node and its edge are one undo step.
    assert window.document.undo_stack.index == 1
    window.view.setFocus()
    key(qtbot, window, "Ctrl+Z")
    assert added not in project.nodes and len(project.edges) == 4


def test_a_palette_node_that_does_not_fit_is_placed_but_not_wired(qtbot, make_window):
    window = make_window()
    project = window.document.project
    click_node(qtbot, window, "shared")
    double_click_palette(qtbot, window, "Conv1D")  # needs a sequence, shared gives (16,)
    added = window.document.selection[0]
    assert project.node(added).kind == "Conv1D"
    assert not any(e.target == added for e in project.edges)
    assert overlapping(project) == []


def test_a_palette_node_with_nothing_selected_avoids_the_node_in_the_middle(qtbot, make_window):
    window = make_window(loose_project())
    project = window.document.project
    view = window.view
    centre = view.mapToScene(view.viewport().rect().center())
    window.document.push(
        MoveNodes({"dense": (centre.x() - NODE_WIDTH / 2, centre.y() - NODE_HEIGHT / 2)})
    )
    window.document.set_selection([])
    double_click_palette(qtbot, window, "Dense")
    added = window.document.selection[0]
    assert overlapping(project) == []
    assert not any(e.target == added for e in project.edges)
    # Still near the middle: beside the node there, not far away.
    node = project.node(added)
    assert abs(node.x + NODE_WIDTH / 2 - centre.x()) < 2 * NODE_WIDTH
    assert abs(node.y + NODE_HEIGHT / 2 - centre.y()) < 2 * NODE_HEIGHT


def test_a_kind_dropped_on_a_node_lands_beside_it(qtbot, make_window):
    window = make_window()
    project = window.document.project
    drop_kind(window, "Dense", node_point(window, "shared"))
    added = window.document.selection[0]
    assert project.node(added).kind == "Dense"
    assert overlapping(project) == []


# --- 10. refused gestures say why ---------------------------------------------------------


def test_a_wire_dropped_on_empty_canvas_says_so(qtbot, make_window):
    window = make_window(loose_project())
    messages = said(window)
    start = port_point(window, "x")
    drag(qtbot, window, start, start + QPoint(300, 10))
    assert window.document.project.edges == [Edge("dense", "out", 0)]
    assert any("'x'" in m and "empty canvas" in m for m in messages), messages


@pytest.mark.parametrize(
    "project, source, target, reason",
    [
        (loose_project, "dense", "dense", "cannot feed itself"),
        (loose_project, "x", "out", "already has an input on port 0"),  # out has dense
        (loose_project, "dense", "x", "takes no inputs"),
        (two_task_project, "head_a", "shared", "would make a cycle"),
    ],
)
def test_a_refused_wire_says_why(qtbot, make_window, project, source, target, reason):
    window = make_window(project())
    edges = list(window.document.project.edges)
    messages = said(window)
    drag(qtbot, window, port_point(window, source), node_point(window, target))
    assert window.document.project.edges == edges
    assert any(
        m.startswith(f"Cannot connect '{source}' to '{target}'") and reason in m for m in messages
    ), messages


def test_the_canvas_does_not_jump_while_a_wire_is_dragged(qtbot, make_window):
    window = make_window(loose_project())
    view = window.view
    start = port_point(window, "x")
    target = port_point(window, "dense", "in")
    viewport = view.viewport()
    far = QPoint(viewport.width() - 4, viewport.height() - 4)
    qtbot.mousePress(viewport, Qt.LeftButton, pos=start)
    for i in range(1, 6):
        qtbot.mouseMove(viewport, start + (far - start) * (i / 5))
        qtbot.wait(5)  # the scene and the view update between two moves
    # The wire reached past the diagram; the nodes stayed where they were.
    assert port_point(window, "dense", "in") == target
    for i in range(1, 6):
        qtbot.mouseMove(viewport, far + (target - far) * (i / 5))
        qtbot.wait(5)
    qtbot.mouseRelease(viewport, Qt.LeftButton, pos=target)
    assert Edge("x", "dense", 0) in window.document.project.edges


def test_zooming_past_a_limit_says_so(qtbot, make_window):
    window = make_window()
    messages = said(window)
    for _ in range(30):
        window.view.zoom_by(1.25)
    assert any("zoomed in as far as it goes (300%)" in m for m in messages), messages


def test_a_dropped_unknown_kind_says_so(qtbot, make_window):
    window = make_window()
    messages = said(window)
    before = len(window.document.project.nodes)
    drop_kind(window, "Transformer", node_point(window, "x"))
    assert len(window.document.project.nodes) == before
    assert any("'Transformer'" in m and "no layer of that kind" in m for m in messages)


def test_a_palette_search_without_matches_says_so(qtbot, make_window):
    window = make_window()
    before = len(window.document.project.nodes)
    window.palette.search.setFocus()
    qtbot.keyClicks(window.palette.search, "zzz")
    qtbot.keyClick(window.palette.search, Qt.Key_Return)
    assert window.palette.no_match.isVisible()
    assert "No layer matches 'zzz'" in window.palette.no_match.text()
    assert len(window.document.project.nodes) == before
    window.palette.search.clear()
    assert not window.palette.no_match.isVisible()


def test_quick_add_without_matches_says_so_and_adds_nothing(qtbot, make_window):
    window = make_window()
    popup = window.view.quick_add
    window.view.open_quick_add(QPointF(0, 0), window.view.mapToGlobal(QPoint(10, 10)))
    qtbot.keyClicks(popup.search, "zzz")
    qtbot.keyClick(popup.search, Qt.Key_Return)
    assert popup.list.item(0).text() == "No layer matches 'zzz'"
    assert len(window.document.project.nodes) == 5
    popup.hide()


# --- 11. the problem badge --------------------------------------------------------------------


def render_node(role_text: str) -> QImage:
    item = NodeItem("n")
    node = Node("n", "Dense", "n", get_kind("Dense").defaults())
    problem = Problem(ERROR, Place("node", "n"), "broken")
    item.update_from(node, (8,), role_text, "#2e7d32", 1, [problem])
    image = QImage(int(NODE_WIDTH) + 40, int(NODE_HEIGHT) + 40, QImage.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.translate(20, 20)
    item.paint(painter, QStyleOptionGraphicsItem())
    painter.end()
    return image


def bounds(image: QImage, keep) -> QRect:
    rect = QRect()
    for y in range(image.height()):
        for x in range(image.width()):
            if keep(x, y):
                rect = rect.united(QRect(x, y, 1, 1))
    return rect


def test_the_problem_badge_leaves_the_role_label_readable(qapp):
    without, with_label = render_node(""), render_node("long_task_name")
    label = bounds(with_label, lambda x, y: with_label.pixel(x, y) != without.pixel(x, y))
    red = QColor("#c62828")

    def is_badge(x, y):
        c = QColor(without.pixel(x, y))
        return (
            abs(c.red() - red.red()) + abs(c.green() - red.green()) + abs(c.blue() - red.blue())
            < 40
        )

    badge = bounds(without, is_badge)
    assert not label.isEmpty() and not badge.isEmpty()
    assert not label.intersects(badge), (label, badge)


# --- 12. an empty canvas says how to begin -------------------------------------------------


def test_an_empty_canvas_says_how_to_begin(qtbot, make_window):
    window = make_window(Project("empty"))
    hint = window.view.empty_hint
    assert hint.isVisible()
    assert "Layers palette" in hint.text() and "New from Example" in hint.text()
    centre = hint.geometry().center()
    middle = window.view.viewport().rect().center()
    assert abs(centre.x() - middle.x()) < 10 and abs(centre.y() - middle.y()) < 10

    double_click_palette(qtbot, window, "Input")
    assert len(window.document.project.nodes) == 1
    assert not hint.isVisible()
    window.view.setFocus()
    key(qtbot, window, "Ctrl+Z")
    assert hint.isVisible()
    key(qtbot, window, "Ctrl+Shift+Z")
    assert not hint.isVisible()
    window.document.set_selection(list(window.document.project.nodes))
    key(qtbot, window, "Delete")
    assert not window.document.project.nodes and hint.isVisible()


def test_the_hint_is_not_shown_over_a_diagram(qtbot, make_window):
    window = make_window()
    assert not window.view.empty_hint.isVisible()
