"""The scene: a projection of the project's graph.

It follows the Document's events (node added, moved, changed, edges,
tasks, problems) and turns gestures into commands: a drag of several nodes
becomes one MoveNodes on release, a drag from an output port to an input
port becomes one Connect. Refused edits come back as a message.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from ...core.block_checks import port_tasks
from ...core.catalogue import get_kind
from ...core.commands import Connect, MoveNodes
from ...core.graph import Edge, GraphError
from ...core.tasks import INPUT_COLOR, TRUNK_COLOR
from ..document import Document
from .items import EdgeItem, NodeItem, curve

UNUSED_COLOR = "#9aa5b1"


class GraphScene(QGraphicsScene):
    # A short message for the status bar: why a gesture did nothing (a
    # wire dropped on empty canvas, a connection the graph refuses).
    message = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._syncing = False
        self._drag_start: dict[str, tuple[float, float]] = {}
        self._wire: QGraphicsPathItem | None = None
        self._wire_source: str | None = None
        self._wire_out = 0  # the source's output port the wire leaves
        self.setBackgroundBrush(QColor("#eef1f4"))
        # No BSP index: building it for a large graph froze the window (3,000
        # nodes: 3.2 s of the first paint, against 0.8 s without), and finding
        # the item under the mouse among a few thousand is quick without one.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.selectionChanged.connect(self._selection_to_document)
        self._connect(document)
        self.rebuild()

    # --- following the document ----------------------------------------------------

    def _connect(self, document: Document) -> None:
        document.changed.connect(self._on_change)
        document.problems_changed.connect(self.refresh_all)
        document.selection_changed.connect(self._selection_from_document)

    def rebuild(self) -> None:
        for item in list(self.nodes.values()) + list(self.edges.values()):
            self.removeItem(item)
        self.nodes.clear()
        self.edges.clear()
        project = self.document.project
        for node_id, node in project.nodes.items():
            item = NodeItem(node_id)
            item.setPos(node.x, node.y)
            self.addItem(item)
            self.nodes[node_id] = item
        for edge in project.edges:
            self._add_edge(edge)
        self.refresh_all()

    def _add_edge(self, edge: Edge) -> None:
        if edge.source in self.nodes and edge.target in self.nodes:
            item = EdgeItem(edge, self.nodes[edge.source], self.nodes[edge.target])
            self.addItem(item)
            self.edges[edge] = item

    def _remove_edge(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def _on_change(self, event) -> None:
        kind = event.type
        if kind == "node_added":
            node = self.document.project.node(event["node_id"])
            item = NodeItem(node.id)
            item.setPos(node.x, node.y)
            self.addItem(item)
            self.nodes[node.id] = item
            # Ports and texts now, not after validation: the user may drag
            # a wire to the new node before the event loop turns.
            self._refresh_node(node.id, self.document.project.roles())
        elif kind == "node_removed":
            item = self.nodes.pop(event["node_id"], None)
            if item is not None:
                self.removeItem(item)
        elif kind == "node_moved":
            node = self.document.project.node(event["node_id"])
            item = self.nodes.get(node.id)
            if item is not None and (item.x(), item.y()) != (node.x, node.y):
                item.setPos(node.x, node.y)
        elif kind in ("edge_added", "edge_removed"):
            edge = event["edge"]
            (self._add_edge if kind == "edge_added" else self._remove_edge)(edge)
            # A merge node grows or loses a free port at once.
            self._refresh_node(edge.target, self.document.project.roles())
        # Shapes, roles and colours are refreshed when validation has run
        # (problems_changed), once per burst of events.

    def refresh_all(self) -> None:
        """Texts, colours, ports and badges of every node and edge."""
        project = self.document.project
        roles = project.roles()
        for node_id in self.nodes:
            self._refresh_node(node_id, roles)
        colors = {t.name: project.task_color(t.name) for t in project.tasks}
        for edge, item in self.edges.items():
            role = roles.get(edge.target)
            ports = self._ports(edge.source, roles)
            if ports and edge.out < len(ports):
                item.set_color(ports[edge.out][0])
            elif role is not None and role.kind == "head":
                item.set_color(colors[role.tasks[0]])
            else:
                item.set_color(TRUNK_COLOR)
            item.refresh()

    def _refresh_node(self, node_id: str, roles) -> None:
        doc = self.document
        project = doc.project
        item = self.nodes.get(node_id)
        if item is None or node_id not in project.nodes:
            return
        role = roles[node_id]
        if role.kind == "input":
            color, text = INPUT_COLOR, "input"
        elif role.kind == "shared":
            color, text = TRUNK_COLOR, "shared"
        elif role.kind == "head":
            color, text = project.task_color(role.tasks[0]), role.tasks[0]
        else:
            color, text = UNUSED_COLOR, "unused"
        connected = len(project.graph.inputs_of(node_id))
        item.update_from(
            project.node(node_id),
            doc.shapes.get(node_id),
            text,
            color,
            connected,
            doc.node_problems(node_id),
            self._ports(node_id, roles),
        )

    def _ports(self, node_id: str, roles) -> list[tuple[str, str]] | None:
        """A block's output ports, each in the colour of the task it feeds
        (the trunk's when it feeds several, grey when none); None for a layer."""
        project = self.document.project
        if node_id not in project.nodes or not get_kind(project.node(node_id).kind).block:
            return None
        ports = []
        for tasks in port_tasks(project, node_id, roles):
            if len(tasks) == 1:
                ports.append((project.task_color(tasks[0]), f"task {tasks[0]}"))
            elif tasks:
                ports.append((TRUNK_COLOR, "tasks " + ", ".join(tasks)))
            else:
                ports.append((UNUSED_COLOR, "no task yet"))
        return ports

    # --- selection ------------------------------------------------------------------

    def _selection_to_document(self) -> None:
        if self._syncing:
            return
        ids = [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]
        self._syncing = True
        try:
            self.document.set_selection(ids)
        finally:
            self._syncing = False

    def _selection_from_document(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            wanted = set(self.document.selection)
            for node_id, item in self.nodes.items():
                item.setSelected(node_id in wanted)
        finally:
            self._syncing = False

    # --- gestures --------------------------------------------------------------------

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            item = self.node_at(event.scenePos())
            port = item.port_at(event.scenePos()) if item else None
            if port is not None and port[0] == "out":
                self._start_wire(item, event.scenePos(), port[1])
                event.accept()
                return
        super().mousePressEvent(event)
        self._drag_start = {
            i.node_id: (i.x(), i.y()) for i in self.selectedItems() if isinstance(i, NodeItem)
        }

    def mouseDoubleClickEvent(self, event) -> None:
        # A quick second press on an output port is Qt's double-click, but
        # the user means a new wire: treat it as a press.
        item = self.node_at(event.scenePos())
        port = item.port_at(event.scenePos()) if item else None
        if event.button() == Qt.LeftButton and port is not None and port[0] == "out":
            self.mousePressEvent(event)
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._wire is not None:
            self.draw_wire_to(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def draw_wire_to(self, pos: QPointF) -> None:
        source = self.nodes[self._wire_source]
        self._wire.setPath(curve(source.mapToScene(source.output_port_pos(self._wire_out)), pos))

    def mouseReleaseEvent(self, event) -> None:
        if self._wire is not None:
            self._finish_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._commit_drag()

    def _commit_drag(self) -> None:
        """A drag of any number of nodes becomes one Move command."""
        moved = {}
        for node_id, (x, y) in self._drag_start.items():
            item = self.nodes.get(node_id)
            if item is not None and (item.x(), item.y()) != (x, y):
                moved[node_id] = (round(item.x(), 1), round(item.y(), 1))
        self._drag_start = {}
        if moved:
            self.document.push(MoveNodes(moved))

    def _start_wire(self, item: NodeItem, pos: QPointF, out: int = 0) -> None:
        # The wire must not grow the scene: a grown scene re-centres in the
        # view, and the node the user aims at would jump from under the
        # cursor. The scene rect stays as it is until the wire is dropped.
        self.setSceneRect(self.sceneRect())
        self._wire_source = item.node_id
        self._wire_out = out
        self._wire = QGraphicsPathItem()
        self._wire.setPen(QPen(QColor("#1565c0"), 2, Qt.DashLine))
        self._wire.setZValue(3)
        self.addItem(self._wire)
        self.draw_wire_to(pos)

    def _finish_wire(self, pos: QPointF) -> None:
        source = self._wire_source
        self.removeItem(self._wire)
        self._wire, self._wire_source = None, None
        self.setSceneRect(QRectF())  # back to following the items
        target = self.node_at(pos)
        if target is None:
            name = self.document.project.node(source).name
            self.message.emit(
                f"No connection made: the wire from '{name}' was dropped on "
                "empty canvas; drop it on another node's input port"
            )
            return
        port = target.port_at(pos)
        self.connect_nodes(
            source,
            target.node_id,
            port[1]
            if port is not None and port[0] == "in"
            else self._port_for_drop(target.node_id),
            self._wire_out,
        )

    def _port_for_drop(self, target: str) -> int:
        """The port a wire dropped on a node's body goes to: the first free
        one, or port 0 when all are taken, so the refusal names the edge in
        the way rather than a port the node does not have."""
        port = self.document.project.graph.free_port(target)
        most = get_kind(self.document.project.node(target).kind).max_inputs
        return 0 if most is not None and port >= most else port

    def connect_nodes(self, source: str, target: str, port: int, out: int = 0) -> bool:
        """Connect, or say in the status bar why the graph refuses it."""
        try:
            self.document.project.graph.check_connect(source, target, port, out)
        except GraphError as exc:
            nodes = self.document.project.nodes
            self.message.emit(
                f"Cannot connect '{nodes[source].name}' to '{nodes[target].name}': {exc}"
            )
            return False
        return self.document.push(Connect(Edge(source, target, port, out)))
