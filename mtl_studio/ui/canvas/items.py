"""Canvas items: a node box with its ports and problem badge, and an edge.

Items draw what the project says; they keep no state of their own beyond
where a drag has moved them before the drop becomes a MoveNodes command.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from ...core.catalogue import get_kind
from ...core.params import format_shape
from ...core.placement import NODE_HEIGHT, NODE_WIDTH

HEADER = 22.0
BADGE_RADIUS = 8.0
PORT_RADIUS = 6.0
TEXT = QColor("#1d232b")
MUTED = QColor("#5a6470")
BODY = QColor("#fbfbfc")
ERROR = QColor("#c62828")
WARNING = QColor("#e0a100")


def _param_text(value) -> str:
    if isinstance(value, tuple):
        return format_shape(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class NodeItem(QGraphicsItem):
    """A node: a header in its role colour with the kind, then the name, the
    key parameters and the inferred output shape. Input ports sit on the
    top edge, the output port on the bottom edge."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.kind = ""
        self.name = ""
        self.params_text = ""
        self.shape_text = ""
        self.color = QColor("#5B6B7F")
        self.role_text = ""
        self.input_ports = 0
        self.input_names: tuple[str, ...] = ()  # kind.port_names, drawn by the ports
        # One colour per output port: a block has a port per task, each in
        # its task's colour; a layer has one port in its role's colour.
        self.output_colors: list[QColor] = [self.color]
        self.port_tips: list[str] = []
        self.problems: list = []
        self.setFlags(
            QGraphicsItem.ItemIsSelectable
            | QGraphicsItem.ItemIsMovable
            | QGraphicsItem.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.edges: list[EdgeItem] = []

    # --- content -----------------------------------------------------------------

    def update_from(
        self,
        node,
        shape,
        role_text: str,
        color: str,
        connected_inputs: int,
        problems,
        ports: list[tuple[str, str]] | None = None,
    ) -> None:
        """`ports`: a block's output ports, each (colour, what it feeds)."""
        kind = get_kind(node.kind)
        self.prepareGeometryChange()
        self.kind = node.kind
        self.name = node.name
        self.params_text = ", ".join(f"{k} {_param_text(node.params[k])}" for k in kind.key_params)
        self.shape_text = "out " + (format_shape(shape) if shape is not None else "?")
        self.role_text = role_text
        self.color = QColor(color)
        if kind.max_inputs is None:  # merge nodes grow a free port
            self.input_ports = connected_inputs + 1
        else:
            self.input_ports = kind.max_inputs
        self.problems = list(problems)
        self.input_names = tuple(kind.port_names)
        self.output_colors = [QColor(c) for c, _ in ports] if ports else [self.color]
        if ports:
            self.shape_text += f" on each of {len(ports)} ports"
        self.port_tips = [f"output port {k}: {what}" for k, (_, what) in enumerate(ports or ())]
        tips = [f"{node.kind} '{node.name}' ({role_text})", self.shape_text, *self.port_tips]
        tips += [f"input port {i}: {name}" for i, name in enumerate(self.input_names)]
        tips += [f"{p.severity}: {p.message}" for p in self.problems]
        self.setToolTip("\n".join(tips))
        self.update()

    # --- geometry ----------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        pad = PORT_RADIUS + 8
        return QRectF(-pad, -pad, NODE_WIDTH + 2 * pad, NODE_HEIGHT + 2 * pad)

    def shape(self) -> QPainterPath:
        """The box and its port circles (half outside the box): a press on
        a port must hit this item."""
        path = QPainterPath()
        path.setFillRule(Qt.WindingFill)  # the overlaps of box and ports count once
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT), 6, 6)
        grab = PORT_RADIUS + 5
        ports = [self.input_port_pos(p) for p in range(self.input_ports)]
        if self.kind != "Output":
            ports += [self.output_port_pos(k) for k in range(len(self.output_colors))]
        for centre in ports:
            path.addEllipse(centre, grab, grab)
        return path

    def input_port_pos(self, port: int) -> QPointF:
        """Port positions in item coordinates, spread over the top edge."""
        n = max(1, self.input_ports)
        return QPointF(NODE_WIDTH * (port + 1) / (n + 1), 0)

    def badge_centre(self) -> QPointF:
        """The problem badge, inside the header at its right end."""
        return QPointF(NODE_WIDTH - 6 - BADGE_RADIUS, HEADER / 2)

    def output_port_pos(self, out: int = 0) -> QPointF:
        """Output ports spread over the bottom edge (one, in the middle, for a layer)."""
        n = len(self.output_colors)
        return QPointF(NODE_WIDTH * (out + 1) / (n + 1), NODE_HEIGHT)

    def port_at(self, scene_pos: QPointF, radius: float = 11.0):
        """("in", port) or ("out", port) under a scene position, or None."""
        p = self.mapFromScene(scene_pos)
        if self.kind != "Output":
            for out in range(len(self.output_colors)):
                if (p - self.output_port_pos(out)).manhattanLength() <= radius:
                    return ("out", out)
        for port in range(self.input_ports):
            if (p - self.input_port_pos(port)).manhattanLength() <= radius:
                return ("in", port)
        return None

    # --- painting ----------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        selected = self.isSelected()
        outline = QPen(
            QColor("#1565c0") if selected else self.color.darker(130), 2.6 if selected else 1.2
        )
        path = QPainterPath()
        path.addRoundedRect(rect, 6, 6)
        painter.fillPath(path, BODY)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, NODE_WIDTH, HEADER + 6), 6, 6)
        # Rounded on top, square below: an intersection rather than a clip,
        # since Qt's SVG writer cannot undo a clip (the diagram export).
        band = QPainterPath()
        band.addRect(QRectF(0, 0, NODE_WIDTH, HEADER))
        painter.fillPath(header.intersected(band), self.color)
        painter.setPen(outline)
        painter.drawPath(path)

        font = QFont(painter.font())
        font.setPointSizeF(8.5)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(_text_on(self.color))
        painter.drawText(
            QRectF(8, 0, NODE_WIDTH - 16, HEADER), Qt.AlignVCenter | Qt.AlignLeft, self.kind
        )
        kind_width = QFontMetricsF(font).horizontalAdvance(self.kind)
        font.setBold(False)
        painter.setFont(font)
        # The problem badge sits at the header's right end: the role label
        # ends before it and starts after the kind, so all three stay readable.
        badge_room = 2 * BADGE_RADIUS + 6 if self.problems else 0
        room = min(90.0, NODE_WIDTH - 16 - badge_room - kind_width - 8)
        painter.drawText(
            QRectF(8, 0, NODE_WIDTH - 16 - badge_room, HEADER),
            Qt.AlignVCenter | Qt.AlignRight,
            _elide(self.role_text, font, max(0.0, room)),
        )

        font.setPointSizeF(10)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(8, HEADER + 2, NODE_WIDTH - 16, 20),
            Qt.AlignVCenter,
            _elide(self.name, font, NODE_WIDTH - 16),
        )
        font.setPointSizeF(8.5)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(MUTED)
        painter.drawText(
            QRectF(8, HEADER + 21, NODE_WIDTH - 16, 18),
            Qt.AlignVCenter,
            _elide(self.params_text, font, NODE_WIDTH - 16),
        )
        painter.drawText(
            QRectF(8, HEADER + 38, NODE_WIDTH - 16, 18),
            Qt.AlignVCenter,
            _elide(self.shape_text, font, NODE_WIDTH - 16),
        )

        # Ports: filled when connected is not known here; all drawn alike.
        painter.setPen(QPen(QColor("#37474f"), 1.2))
        painter.setBrush(QBrush(QColor("#ffffff")))
        for port in range(self.input_ports):
            painter.drawEllipse(self.input_port_pos(port), PORT_RADIUS, PORT_RADIUS)
        self._paint_input_names(painter, font)
        if self.kind != "Output":
            for out, color in enumerate(self.output_colors):
                painter.setBrush(QBrush(color))
                painter.drawEllipse(self.output_port_pos(out), PORT_RADIUS, PORT_RADIUS)

        if self.problems:
            worst = ERROR if any(p.severity == "error" for p in self.problems) else WARNING
            centre = self.badge_centre()
            r = BADGE_RADIUS
            painter.setPen(QPen(QColor("white"), 1.5))
            painter.setBrush(QBrush(worst))
            painter.drawEllipse(centre, r, r)
            font.setBold(True)
            font.setPointSizeF(9)
            painter.setFont(font)
            painter.drawText(
                QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r), Qt.AlignCenter, "!"
            )

    def _paint_input_names(self, painter: QPainter, font: QFont) -> None:
        """Named ports (query, value, key) get their name just above the
        box, right of the port, where no edge ends."""
        if not self.input_names:
            return
        font.setPointSizeF(7)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(MUTED)
        room = NODE_WIDTH / (self.input_ports + 1) - 2 * PORT_RADIUS - 2
        for port, name in enumerate(self.input_names[: self.input_ports]):
            x = self.input_port_pos(port).x() + PORT_RADIUS + 1
            painter.drawText(
                QRectF(x, -PORT_RADIUS - 8, room, 12),
                Qt.AlignLeft | Qt.AlignVCenter,
                _elide(name, font, room),
            )

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            for edge in self.edges:
                edge.refresh()
        return super().itemChange(change, value)


def _text_on(color: QColor) -> QColor:
    """Black or white, whichever reads better on the colour."""
    r, g, b = color.redF(), color.greenF(), color.blueF()
    return QColor("#111111") if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else QColor("#ffffff")


def _elide(text: str, font: QFont, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)


class EdgeItem(QGraphicsPathItem):
    """A curve from a source's output port to a target's input port, drawn
    under the nodes so it is never hidden behind them by accident of order."""

    def __init__(self, edge, source: NodeItem, target: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        source.edges.append(self)
        target.edges.append(self)
        self.setZValue(0)
        self.setFlag(QGraphicsItem.ItemIsSelectable)  # select, then Delete to disconnect
        self.color = QColor("#7b8794")
        leaves = f" from output port {edge.out}" if edge.out else ""
        self.setToolTip(f"{edge.source} -> {edge.target} (port {edge.port}){leaves}")
        self.refresh()

    def set_color(self, color: str) -> None:
        self.color = QColor(color).darker(110)
        self.update()

    def shape(self) -> QPainterPath:
        """A wide band around the curve, so an edge is easy to click."""
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        selected = self.isSelected()
        pen = QPen(QColor("#1565c0") if selected else self.color, 3.2 if selected else 2.2)
        pen.setCapStyle(Qt.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())

    def refresh(self) -> None:
        start = self.source.mapToScene(self.source.output_port_pos(self.edge.out))
        end = self.target.mapToScene(self.target.input_port_pos(self.edge.port))
        self.setPath(curve(start, end))

    def detach(self) -> None:
        for item in (self.source, self.target):
            if self in item.edges:
                item.edges.remove(self)


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A vertical S-curve with a small arrow head at the end."""
    path = QPainterPath(start)
    bend = max(40.0, abs(end.y() - start.y()) / 2)
    path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    head = 7.0
    path.moveTo(end)
    path.lineTo(end + QPointF(-head / 1.6, -head))
    path.moveTo(end)
    path.lineTo(end + QPointF(head / 1.6, -head))
    return path
