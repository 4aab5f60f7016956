"""The designer window driven as a user drives it: mouse and keys on the
real widgets, then checks on the project."""

import json

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from mtl_studio.core.commands import MoveNodes, SetParam
from mtl_studio.core.fileformat import dumps, load
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from tests.helpers import chain, cnn_without_flatten, node, two_task_project, with_data
from tests.ui.conftest import activate


def viewport_point(window, scene_pos: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_pos)


def port_point(window, node_id, which="out", port=0) -> QPoint:
    item = window.view.graph_scene.nodes[node_id]
    local = item.output_port_pos() if which == "out" else item.input_port_pos(port)
    return viewport_point(window, item.mapToScene(local))


def node_point(window, node_id) -> QPoint:
    item = window.view.graph_scene.nodes[node_id]
    return viewport_point(window, item.mapToScene(QPointF(60, 40)))


def drag(qtbot, window, start: QPoint, end: QPoint) -> None:
    viewport = window.view.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, pos=start)
    for i in range(1, 6):
        qtbot.mouseMove(viewport, start + (end - start) * (i / 5))
    qtbot.mouseRelease(viewport, Qt.LeftButton, pos=end)


def key(qtbot, window, sequence: str) -> None:
    """A shortcut as the user types it (e.g. "Ctrl+Z") to the focused canvas."""
    from PySide6.QtGui import QKeySequence

    combo = QKeySequence(sequence)[0]
    qtbot.keyClick(window.view, combo.key(), combo.keyboardModifiers())


def loose_project() -> Project:
    """An Input and a Dense -> Output with a task, the Input not connected."""
    p = Project("loose")
    node(p, "x", "Input", shape=[4])
    node(p, "dense", "Dense", units=8)
    node(p, "out", "Output")
    chain(p, "dense", "out")
    p.add_task(Task("t", "out"))
    p.node("x").x, p.node("x").y = 0, 0
    p.node("dense").x, p.node("dense").y = 0, 200
    p.node("out").x, p.node("out").y = 0, 400
    return p


def test_add_a_node_from_the_palette_and_undo_redo(qtbot, make_window):
    window = make_window()
    before = len(window.document.project.nodes)
    tree = window.palette.tree
    item = next(i for i in window.palette.kind_items() if i.text(0) == "Dropout")
    rect = tree.visualItemRect(item)
    # A real double-click: a click, then the second press Qt reports as double.
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.LeftButton, pos=rect.center())
    project = window.document.project
    assert len(project.nodes) == before + 1
    added = window.document.selection[0]
    assert project.node(added).kind == "Dropout"
    assert added in window.view.graph_scene.nodes
    key(qtbot, window, "Ctrl+Z")
    assert len(project.nodes) == before and added not in window.view.graph_scene.nodes
    key(qtbot, window, "Ctrl+Shift+Z")
    assert project.node(added).kind == "Dropout"


def test_connect_ports_by_dragging_and_refuse_a_cycle(qtbot, make_window, tmp_path):
    window = make_window(with_data(loose_project(), tmp_path))
    project = window.document.project
    assert any("not connected" in p.message for p in window.document.problems)
    drag(qtbot, window, port_point(window, "x"), port_point(window, "dense", "in"))
    assert any(e.source == "x" and e.target == "dense" for e in project.edges)
    qtbot.waitUntil(lambda: not window.document.problems)
    key(qtbot, window, "Ctrl+Z")
    assert not any(e.source == "x" for e in project.edges)
    key(qtbot, window, "Ctrl+Shift+Z")
    assert any(e.source == "x" for e in project.edges)
    # dense -> x would feed an Input: refused, and the status bar says why.
    drag(qtbot, window, port_point(window, "dense"), node_point(window, "x"))
    assert "takes no inputs" in window.notice.text()
    assert len(project.edges) == 2


def test_add_task_head_on_a_selected_node(qtbot, make_window):
    window = make_window()
    project = window.document.project
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=node_point(window, "shared"))
    assert window.document.selection == ["shared"]
    key(qtbot, window, "Ctrl+H")
    assert len(project.tasks) == 3
    new_task = project.tasks[-1]
    assert project.roles()["shared"].tasks == ("a", "b", new_task.name)
    assert window.document.undo_stack.index == 1
    key(qtbot, window, "Ctrl+Z")
    assert len(project.tasks) == 2 and len(project.nodes) == 5


def test_edit_a_parameter_in_the_inspector(qtbot, make_window):
    window = make_window()
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=node_point(window, "shared"))
    editor = window.inspector.fields["units"].editor
    editor.selectAll()
    qtbot.keyClicks(editor, "128")
    qtbot.keyClick(editor, Qt.Key_Return)
    project = window.document.project
    assert project.node("shared").params["units"] == 128
    assert window.document.undo_stack.index == 1
    qtbot.waitUntil(lambda: "(128,)" in window.view.graph_scene.nodes["shared"].shape_text)
    window.view.setFocus()
    key(qtbot, window, "Ctrl+Z")
    assert project.node("shared").params["units"] == 16
    assert editor.value() == 16


def test_moving_nodes_is_one_undo_step(qtbot, make_window):
    window = make_window(loose_project())
    project = window.document.project
    # Rubber-band select everything, then drag one of the selected nodes.
    window.document.set_selection(list(project.nodes))
    start = node_point(window, "dense")
    drag(qtbot, window, start, start + QPoint(60, 30))
    assert window.document.undo_stack.index == 1
    moved = {n: (project.node(n).x, project.node(n).y) for n in project.nodes}
    assert moved["x"] != (0, 0) and moved["dense"][0] == moved["x"][0]
    key(qtbot, window, "Ctrl+Z")
    assert (project.node("out").x, project.node("out").y) == (0, 400)
    item = window.view.graph_scene.nodes["out"]
    assert (item.x(), item.y()) == (0, 400)


def test_delete_a_node_with_its_edges_and_undo(qtbot, make_window):
    window = make_window()
    project = window.document.project
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=node_point(window, "head_a"))
    key(qtbot, window, "Delete")
    assert "head_a" not in project.nodes
    assert not any("head_a" in (e.source, e.target) for e in project.edges)
    key(qtbot, window, "Ctrl+Z")
    assert len(project.nodes) == 5 and len(project.edges) == 4


def test_shape_mismatch_shows_on_the_node_and_goes_when_a_flatten_is_added(
    qtbot, make_window, tmp_path
):
    p = with_data(cnn_without_flatten(), tmp_path)
    for i, n in enumerate(p.nodes.values()):
        n.x, n.y = 0, 160 * i
    window = make_window(p)
    scene = window.view.graph_scene
    assert any(
        "needs a flat vector but gets (8, 8, 16)" in q.message for q in scene.nodes["fc1"].problems
    )
    assert "needs a flat vector" in scene.nodes["fc1"].toolTip()

    # Click the edge pool -> fc1 and delete it.
    edge_item = next(e for edge, e in scene.edges.items() if edge.target == "fc1")
    mid = edge_item.path().pointAtPercent(0.5)
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=viewport_point(window, mid))
    assert edge_item.isSelected()
    key(qtbot, window, "Delete")
    assert not any(e.target == "fc1" for e in window.document.project.edges)

    # Add a Flatten from the palette's search (type, Enter), then wire it in.
    window.palette.search.setFocus()
    qtbot.keyClicks(window.palette.search, "Flatten")
    qtbot.keyClick(window.palette.search, Qt.Key_Return)
    flat = window.document.selection[0]
    window.document.push(MoveNodes({flat: (300.0, 400.0)}))
    window.view.setFocus()
    key(qtbot, window, "Ctrl+0")  # fit, so every port is on screen
    # No pause before the next press: a quick press on a port that Qt
    # reports as a double-click must still start a wire.
    drag(qtbot, window, port_point(window, "pool"), port_point(window, flat, "in"))
    assert any(e.source == "pool" and e.target == flat for e in window.document.project.edges)
    drag(qtbot, window, port_point(window, flat), port_point(window, "fc1", "in"))
    qtbot.waitUntil(lambda: not scene.nodes["fc1"].problems)
    assert window.document.problems == []
    assert window.document.shapes["fc1"] == (32,)


def test_copy_and_paste_between_two_windows(qtbot, make_window):
    first = make_window(name="one.ini")
    second = make_window(loose_project(), name="two.ini")
    activate(qtbot, first)
    qtbot.mouseClick(first.view.viewport(), Qt.LeftButton, pos=node_point(first, "head_a"))
    first.view.setFocus()
    key(qtbot, first, "Ctrl+C")
    text = QApplication.clipboard().mimeData().text()
    assert json.loads(text)["nodes"][0]["kind"] == "Dense"
    activate(qtbot, second)
    second.view.setFocus()
    before = len(second.document.project.nodes)
    key(qtbot, second, "Ctrl+V")
    assert len(second.document.project.nodes) == before + 1
    pasted = second.document.selection[0]
    assert second.document.project.node(pasted).params["units"] == 8
    key(qtbot, second, "Ctrl+D")
    assert len(second.document.project.nodes) == before + 2


def test_save_reopen_and_compare(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    window.document.push(SetParam("shared", "units", 33))
    assert window.isWindowModified()
    target = tmp_path / "saved.mtl.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.act_save_as.trigger()
    assert not window.isWindowModified()
    assert window.windowTitle().startswith("saved.mtl.json")
    saved = load(target)
    assert saved == window.document.project
    assert window.open_path(target)
    assert window.document.project == saved
    assert str(target.resolve()) in window.recent_files()


def test_a_bad_file_opens_a_dialog_and_keeps_the_current_project(
    qtbot, make_window, tmp_path, monkeypatch
):
    window = make_window()
    bad = tmp_path / "bad.mtl.json"
    data = json.loads(dumps(two_task_project()))
    data["nodes"][3]["params"]["units"] = -4
    bad.write_text(json.dumps(data))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    before = window.document
    assert not window.open_path(bad)
    assert window.document is before
    assert shown and "nodes[3].params.units: expected a positive integer, got -4" in shown[0]


def test_closing_with_unsaved_changes_asks(qtbot, make_window, monkeypatch):
    window = make_window()
    window.document.push(SetParam("shared", "units", 5))
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel
    )
    window.close()
    assert asked and window.isVisible()  # cancelled: still open, nothing lost
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    window.close()
    assert not window.isVisible()


def test_zoom_fit_and_auto_layout(qtbot, make_window):
    window = make_window(loose_project())
    view = window.view
    zoom = view.zoom
    qtbot.wait(10)
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtCore import QPoint as P

    event = QWheelEvent(
        QPointF(100, 100),
        QPointF(100, 100),
        P(0, 0),
        P(0, 120),
        Qt.NoButton,
        Qt.ControlModifier,
        Qt.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom > zoom
    key(qtbot, window, "Ctrl+L")
    assert window.document.undo_stack.undo_text == "Auto layout"
    key(qtbot, window, "Ctrl+0")
    rect = view.visible_scene_rect()
    for item in view.graph_scene.nodes.values():
        assert rect.contains(item.sceneBoundingRect().center())


def test_panels_follow_a_new_document(qtbot, make_window, monkeypatch):
    window = make_window()
    window.act_new.trigger()
    assert window.document.project.nodes == {}
    assert window.view.graph_scene.nodes == {}
    assert window.tasks_panel.model.rowCount() == 0
    assert "no Input node" in window.status_label.text() or "error" in window.status_label.text()


def test_dropping_a_project_file_opens_it(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    path = tmp_path / "dropped.mtl.json"
    path.write_text(dumps(loose_project()))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.document.path == path
    assert window.document.project == loose_project()


def test_the_command_opens_a_project_in_the_window(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "p.mtl.json"
    path.write_text(dumps(loose_project()))
    env = dict(
        os.environ, MTL_STUDIO_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path)
    )  # its own settings
    out = subprocess.run(
        [sys.executable, "-m", "mtl_studio", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "shown" in out.stdout and "tensorflow_imported=False" in out.stdout
