"""A diagram of the network as SVG or PNG, drawn by the canvas's own items.

It lives beside the canvas items that draw it and imports PySide6 (QtWidgets,
QtSvg). The core never imports it; the command line imports it only for
`export --diagram`, after making a QApplication with `ensure_app()`.

The picture is the canvas scene of the project, built off-screen and rendered
with QGraphicsScene.render on a white page, with the project's name as a
title and a legend of the role colours above the network.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication

from ...core.atomic import write_bytes
from ...core.project import Project
from ...core.tasks import INPUT_COLOR, TRUNK_COLOR
from .items import TEXT
from .scene import UNUSED_COLOR, GraphScene
from ..document import Document

__all__ = [
    "DiagramError",
    "ensure_app",
    "render_svg",
    "render_png",
    "export_diagram",
    "diagram_size",
    "SUFFIXES",
]

SUFFIXES = (".svg", ".png")
MARGIN = 28.0
GAP = 14.0  # between title, legend and network
SWATCH = 12.0
LEGEND_SPACING = 22.0  # between one legend entry and the next
# Points become pixels at this resolution on both pages, as on a 96 dpi
# screen, so the exported text has the size it has on the canvas.
DPI = 96
# A longer project name is cut short with an ellipsis rather than widening
# the page far beyond the network.
MAX_TITLE_WIDTH = 640.0
# Beyond this many pixels a side QImage allocations fail or exhaust memory.
MAX_PIXELS_PER_SIDE = 20000


class DiagramError(Exception):
    """The diagram could not be written; the message starts with the file."""

    def __init__(self, path: os.PathLike | str, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{path}: {message}")


def ensure_app() -> QApplication:
    """The running QApplication, or a new one. With no display (no DISPLAY
    nor WAYLAND_DISPLAY on Linux and other X11 systems) Qt would abort at
    start-up, so the offscreen platform is chosen first; an explicit
    QT_QPA_PLATFORM is left alone. Windows and macOS need no display variable."""
    app = QApplication.instance()
    if app is not None:
        if not isinstance(app, QApplication):
            # The canvas items are QGraphicsItems: they need QtWidgets.
            raise RuntimeError("a diagram needs a QApplication, not a QGuiApplication")
        return app
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if headless and sys.platform not in ("win32", "darwin"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QApplication([sys.argv[0] if sys.argv else "mtl-studio"])


# --- the scene -------------------------------------------------------------------


def build_scene(project: Project) -> GraphScene:
    """The canvas scene of a copy of the project, as the canvas shows it but
    for the report: no selection and no problem badges (a diagram is for
    reading, the problems list is for fixing). The copy keeps the off-screen
    Document from listening to the caller's project after we are done."""
    ensure_app()
    document = Document(project.copy(), read_data=False)  # drawn, never trained
    scene = GraphScene(document)
    scene.clearSelection()
    for item in scene.nodes.values():
        item.problems = []
    return scene


# --- the page ----------------------------------------------------------------------


@dataclass
class LegendEntry:
    color: str
    label: str
    pos: QPointF = field(default_factory=QPointF)  # top left of the swatch


@dataclass
class Page:
    """Where title, legend and network go, in scene units (pixels at scale 1)."""

    size: QSizeF
    title: str
    title_rect: QRectF
    legend: list[LegendEntry]
    network_source: QRectF  # the part of the scene to draw
    network_target: QRectF  # where it goes on the page


def measure(font: QFont) -> QFontMetricsF:
    """Text sizes on a 96 dpi page, whatever the screen's resolution: the
    page is laid out for the devices it is painted on, not for the monitor."""
    ruler = QImage(1, 1, QImage.Format_RGB32)  # QImage's default: 96 dpi
    return QFontMetricsF(font, ruler)


def title_font() -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(13)
    font.setBold(True)
    return font


def legend_font() -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(9.5)
    return font


def legend_entries(project: Project, roles) -> list[LegendEntry]:
    """The canvas legend's rows, but only the roles the picture shows (a
    one-task network has no trunk), and "Unused" when a node is: a legend
    on paper explains what is there, not what could be."""
    kinds = {role.kind for role in roles.values()}
    entries = []
    if "input" in kinds:
        entries.append(LegendEntry(INPUT_COLOR, "Input"))
    if "shared" in kinds:
        entries.append(LegendEntry(TRUNK_COLOR, "Shared trunk"))
    entries += [LegendEntry(project.task_color(t.name), f"Head: {t.name}") for t in project.tasks]
    if "unused" in kinds:
        entries.append(LegendEntry(UNUSED_COLOR, "Unused"))
    return entries


def place_legend(entries: list[LegendEntry], top: float, width: float) -> float:
    """Lay the entries out left to right, wrapping at `width`; set each
    entry's position and return the height used."""
    metrics = measure(legend_font())
    line = max(SWATCH, metrics.height()) + 6
    x, y = 0.0, 0.0
    for entry in entries:
        entry_width = SWATCH + 6 + metrics.horizontalAdvance(entry.label)
        if x > 0 and x + entry_width > width:
            x, y = 0.0, y + line
        entry.pos = QPointF(MARGIN + x, top + y + (line - SWATCH) / 2)
        x += entry_width + LEGEND_SPACING
    return y + line if entries else 0.0


def legend_width(entries: list[LegendEntry]) -> float:
    """The widest single entry: the page is never narrower than that."""
    metrics = measure(legend_font())
    return max((SWATCH + 6 + metrics.horizontalAdvance(e.label) for e in entries), default=0.0)


def layout(project: Project, scene: GraphScene) -> Page:
    network = scene.itemsBoundingRect()
    if network.isEmpty():  # no nodes: a page with the title and legend only
        network = QRectF(0, 0, 240, 0)
    title_metrics = measure(title_font())
    entries = legend_entries(project, project.roles())
    title = project.name.strip()
    title_width = min(title_metrics.horizontalAdvance(title), MAX_TITLE_WIDTH)
    width = max(network.width(), title_width, legend_width(entries), 240.0)
    title = title_metrics.elidedText(title, Qt.ElideRight, width)

    top = MARGIN
    title_rect = QRectF(MARGIN, top, width, title_metrics.height() if title else 0.0)
    if title:
        top += title_rect.height() + GAP / 2
    top += place_legend(entries, top, width) + GAP
    # Centre a network narrower than the title or legend.
    left = MARGIN + (width - network.width()) / 2
    target = QRectF(left, top, network.width(), network.height())
    size = QSizeF(width + 2 * MARGIN, target.bottom() + MARGIN)
    return Page(size, title, title_rect, entries, network, target)


# --- painting ---------------------------------------------------------------------


def paint(painter: QPainter, page: Page, scene: GraphScene) -> None:
    """Everything, on any paint device, in page units."""
    painter.setRenderHints(
        QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform
    )
    painter.fillRect(QRectF(QPointF(0, 0), page.size), QColor("white"))
    # The items expect a fresh painter (their outline is drawn with the
    # brush they are given): keep the legend's pens and brushes to itself.
    painter.save()
    if page.title:
        painter.setFont(title_font())
        painter.setPen(TEXT)
        painter.drawText(page.title_rect, Qt.AlignLeft | Qt.AlignVCenter, page.title)
    paint_legend(painter, page.legend)
    painter.restore()
    scene.render(painter, page.network_target, page.network_source, Qt.KeepAspectRatio)


def paint_legend(painter: QPainter, entries: list[LegendEntry]) -> None:
    font = legend_font()
    metrics = measure(font)
    painter.setFont(font)
    for entry in entries:
        color = QColor(entry.color)
        swatch = QRectF(entry.pos, QSizeF(SWATCH, SWATCH))
        painter.setPen(QPen(color.darker(130), 1))
        painter.setBrush(color)
        painter.drawRoundedRect(swatch, 2, 2)
        painter.setPen(TEXT)
        text = QRectF(
            swatch.right() + 6,
            swatch.center().y() - metrics.height() / 2,
            metrics.horizontalAdvance(entry.label) + 2,
            metrics.height(),
        )
        painter.drawText(text, Qt.AlignLeft | Qt.AlignVCenter, entry.label)


def prepare(project: Project) -> tuple[GraphScene, Page]:
    scene = build_scene(project)
    # The page is white: the canvas's grey background must not show through.
    scene.setBackgroundBrush(Qt.NoBrush)
    return scene, layout(project, scene)


def diagram_size(project: Project) -> QSizeF:
    """The page size in scene units; a PNG is this times its scale."""
    return prepare(project)[1].size


def svg_bytes(project: Project) -> bytes:
    scene, page = prepare(project)
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    # SVG Tiny 1.2 (the default), not 1.1: Qt 6.11 writes 1.1 clip paths
    # but never lifts one after QPainter.restore, so in a browser every item
    # after the first node header would be clipped away. Tiny has no clips;
    # the cost is node headers that reach 6 px lower, with rounded corners.
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setResolution(DPI)
    size = QSize(math.ceil(page.size.width()), math.ceil(page.size.height()))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(project.name)
    generator.setDescription("Network diagram exported by MTL Studio")
    painter = QPainter(generator)
    try:
        paint(painter, page, scene)
    finally:
        painter.end()
    return with_generic_font(bytes(buffer.data()))


def with_generic_font(svg: bytes) -> bytes:
    """Qt names the one family it drew with ("Sans Serif", "Segoe UI"): give
    viewers without it a sans-serif fallback instead of their serif default."""

    def fallback(match: re.Match) -> bytes:
        return b"font-family=\"'" + match.group(1) + b"', sans-serif\""

    return re.sub(rb'font-family="([^"\']*)"', fallback, svg)


def png_bytes(project: Project, scale: float, out: Path) -> bytes:
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise DiagramError(out, f"the scale must be a number above 0, got {scale!r}")
    scene, page = prepare(project)
    width = math.ceil(page.size.width() * scale)
    height = math.ceil(page.size.height() * scale)
    if max(width, height) > MAX_PIXELS_PER_SIDE:
        raise DiagramError(out, f"{width} x {height} pixels is too large; use a smaller scale")
    image = QImage(width, height, QImage.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise DiagramError(out, f"not enough memory for a {width} x {height} image")
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        paint(painter, page, scene)
    finally:
        painter.end()
    # After painting (fonts were sized at 96 dpi): the file says scale * 96
    # dpi, so it prints at the size it has on screen, only sharper.
    dots_per_metre = round(DPI * scale / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise DiagramError(out, "Qt could not encode the PNG image")
    buffer.close()
    return bytes(data)


# --- files -----------------------------------------------------------------------------


def write_atomic(out: Path, data: bytes) -> None:
    """A temporary file in the same folder, then a rename: a failed export
    never leaves half an image where a good one was."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise DiagramError(out, f"cannot write to {folder}: the folder does not exist")
    try:
        write_bytes(out, data)
    except OSError as exc:
        raise DiagramError(out, f"cannot write the file: {exc.strerror or exc}") from None


def render_svg(project: Project, out: Path) -> None:
    out = Path(out)
    write_atomic(out, svg_bytes(project))


def render_png(project: Project, out: Path, scale: float = 2.0) -> None:
    out = Path(out)
    write_atomic(out, png_bytes(project, scale, out))


def export_diagram(project: Project, out: Path) -> None:
    """SVG or PNG, chosen by the file's suffix."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".svg":
        render_svg(project, out)
    elif suffix == ".png":
        render_png(project, out)
    else:
        raise DiagramError(
            out,
            f"a diagram is written as {' or '.join(SUFFIXES)}, "
            f"not {out.suffix or 'a file without a suffix'}",
        )
