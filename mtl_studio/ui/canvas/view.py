"""The canvas view: zoom, pan, drops from the palette, quick add, legend,
and the hint an empty canvas shows."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from ...core.catalogue import KINDS
from ...core.placement import NODE_HEIGHT, NODE_WIDTH, add_node_below, add_node_near
from ...core.tasks import INPUT_COLOR, TRUNK_COLOR
from ..document import Document
from ..palette import KIND_MIME, search_kinds
from .scene import GraphScene

MIN_ZOOM, MAX_ZOOM = 0.15, 3.0
EMPTY_HINT = "Drag a layer from the Layers palette to begin,\nor choose File > New from Example."


class QuickAdd(QFrame):
    """A search popup: type a few letters of a layer, Enter adds it."""

    chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, Qt.Popup)
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a layer...")
        self.list = QListWidget(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(220, 260)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._choose_current)
        self.list.itemActivated.connect(lambda item: self._choose(item.text()))
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        kinds = search_kinds(text)
        self.list.addItems(kinds)
        if kinds:
            self.list.setCurrentRow(0)
        else:  # say why Enter adds nothing; the row itself cannot be chosen
            QListWidgetItem(f"No layer matches '{text.strip()}'", self.list).setFlags(
                Qt.NoItemFlags
            )

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Down, Qt.Key_Up):
            self.list.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    def _choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose(item.text())

    def _choose(self, kind: str) -> None:
        self.hide()
        self.chosen.emit(kind)


class Legend(QLabel):
    """What the colours mean: inputs, the shared trunk, one colour per task."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            "QLabel { background: rgba(255,255,255,230); border: 1px solid "
            "#c5ccd3; border-radius: 4px; padding: 6px; color: #1d232b; }"
        )

    def show_project(self, project) -> None:
        rows = [(INPUT_COLOR, "Input"), (TRUNK_COLOR, "Shared trunk")]
        rows += [(project.task_color(t.name), f"Head: {t.name}") for t in project.tasks]
        self.setText(
            "<br>".join(
                f"<span style='color:{c}; font-size:14px'>&#9632;</span>&nbsp;{label}"
                for c, label in rows
            )
        )
        self.adjustSize()


class EmptyHint(QLabel):
    """How to begin, in the middle of an empty canvas: quiet grey text that
    lets clicks and drops through to the canvas under it."""

    def __init__(self, parent=None) -> None:
        super().__init__(EMPTY_HINT, parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAlignment(Qt.AlignCenter)
        self.setStyleSheet("QLabel { color: #7b8794; font-size: 14px; background: transparent; }")
        self.adjustSize()

    def centre_in(self, size) -> None:
        self.move((size.width() - self.width()) // 2, (size.height() - self.height()) // 2)


class CanvasView(QGraphicsView):
    zoom_changed = Signal(float)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.legend = Legend(self)
        self.empty_hint = EmptyHint(self.viewport())
        self._space = False
        self._panning: QPointF | None = None
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._add_at_popup)
        self._popup_scene_pos = QPointF()
        self.set_document(document)

    def set_document(self, document: Document) -> None:
        old = self.scene()
        self.document = document
        self.graph_scene = GraphScene(document, self)
        self.setScene(self.graph_scene)
        if old is not None:
            old.deleteLater()
        document.problems_changed.connect(self._refresh_legend)
        document.changed.connect(self._refresh_empty_hint)
        self._refresh_legend()
        self._refresh_empty_hint()

    def _refresh_empty_hint(self, event=None) -> None:
        if event is None or event.type in ("node_added", "node_removed"):
            self.empty_hint.setVisible(not self.document.project.nodes)
            self.empty_hint.centre_in(self.viewport().size())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.empty_hint.centre_in(self.viewport().size())

    def _refresh_legend(self) -> None:
        self.legend.show_project(self.document.project)
        self._place_legend()

    def _place_legend(self) -> None:
        self.legend.move(10, 10)
        self.legend.raise_()

    # --- zoom and pan ----------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        if abs(target - self.zoom) < 1e-6:  # at a limit: say so, not nothing
            self.graph_scene.message.emit(
                f"The canvas is zoomed {'in' if factor > 1 else 'out'} as far as it goes "
                f"({target:.0%})"
            )
            return
        factor = target / self.zoom
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom)

    def fit(self) -> None:
        rect = self.graph_scene.itemsBoundingRect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.KeepAspectRatio)
        if self.zoom > 1.2:  # a small graph is not blown up past readable
            self.resetTransform()
            self.scale(1.2, 1.2)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom)

    def centre_on_node(self, node_id: str) -> None:
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            self.zoom_by(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._panning = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._panning is not None:
            self._panning = None
            if self._space:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        scene_pos = self.mapToScene(event.position().toPoint())
        if self.graph_scene.node_at(scene_pos) is None:
            self.open_quick_add(scene_pos, event.globalPosition().toPoint())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def open_quick_add(self, scene_pos: QPointF, global_pos) -> None:
        self._popup_scene_pos = scene_pos
        self.quick_add.search.clear()
        self.quick_add.move(global_pos)
        self.quick_add.show()
        self.quick_add.search.setFocus()

    def _add_at_popup(self, kind: str) -> None:
        self.add_node(kind, self._popup_scene_pos)

    def add_node(self, kind: str, scene_pos: QPointF | None = None) -> bool:
        """Add a node of `kind` where it covers no other node: near
        scene_pos (a drop, the quick add), else below the one selected node
        and fed by it when it fits, else near the middle of the view. The
        new node is selected."""
        if kind not in KINDS:
            self.graph_scene.message.emit(
                f"Cannot add a '{kind}' node: there is no layer of that kind"
            )
            return False
        project = self.document.project
        if scene_pos is None and len(self.document.selection) == 1:
            command = add_node_below(project, kind, self.document.selection[0])
        else:
            if scene_pos is None:
                scene_pos = self.mapToScene(self.viewport().rect().center())
            command = add_node_near(
                project, kind, scene_pos.x() - NODE_WIDTH / 2, scene_pos.y() - NODE_HEIGHT / 2
            )
        node_id = command.commands[0].node.id
        if not self.document.push(command):
            return False
        self.document.set_selection([node_id])
        self.ensureVisible(self.graph_scene.nodes[node_id].sceneBoundingRect(), 20, 20)
        return True

    # --- drops from the palette ------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # files go to the window

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(KIND_MIME):
            event.ignore()
            return
        kind = bytes(event.mimeData().data(KIND_MIME)).decode("utf-8")
        self.add_node(kind, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
