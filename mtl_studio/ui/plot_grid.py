"""A grid of plots that fits any number of them: as many columns as the width
holds at a readable size, and a vertical scroll bar when the rows would be
squeezed below a readable height. Nothing is ever hidden without a way to
reach it."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QScrollArea, QWidget

# Below these a plot's title, tick labels and curve no longer read well at
# the 9 pt text the plots use.
MIN_PLOT_WIDTH = 340
MIN_PLOT_HEIGHT = 210
MAX_COLUMNS = 4
SPACING = 4


def columns_for(
    width: int, count: int, min_width: int = MIN_PLOT_WIDTH, max_columns: int = MAX_COLUMNS
) -> int:
    """How many plots of at least min_width fit side by side in `width`
    (at least one, at most max_columns, never more than there are plots)."""
    fit = (width + SPACING) // (min_width + SPACING)
    return max(1, min(fit, max_columns, max(count, 1)))


class PlotGrid(QScrollArea):
    """Holds the plot widgets in reading order and reflows them on resize."""

    # Scrolling or a resize brought other plots into view: they may need
    # drawing (plots out of view are not redrawn while a run streams).
    exposed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.host = QWidget()
        self.grid = QGridLayout(self.host)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(SPACING)
        self.setWidget(self.host)
        self.widgets: list[QWidget] = []
        self.columns = 1
        self.verticalScrollBar().valueChanged.connect(lambda _: self.exposed.emit())
        self.viewport().installEventFilter(self)

    def set_widgets(self, widgets: list[QWidget]) -> None:
        """Show these widgets, in this order; the others leave the grid and
        hide (their owner keeps or deletes them)."""
        for widget in self.widgets:
            if widget not in widgets:
                self.grid.removeWidget(widget)
                widget.hide()
        self.widgets[:] = widgets  # in place: the panel's clean-up holds this list
        self._place(force=True)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Resize:
            self._place()
            self.exposed.emit()
        return False

    def _place(self, force: bool = False) -> None:
        count = len(self.widgets)
        columns = columns_for(self.viewport().width(), count)
        if columns != self.columns or force:
            self.columns = columns
            for widget in self.widgets:
                self.grid.removeWidget(widget)
            for i, widget in enumerate(self.widgets):
                self.grid.addWidget(widget, i // columns, i % columns)  # and parents it
                widget.setMinimumHeight(MIN_PLOT_HEIGHT)
                widget.show()
            for c in range(MAX_COLUMNS):
                self.grid.setColumnStretch(c, 1 if c < columns else 0)
        rows = math.ceil(count / columns) if count else 0
        margins = self.grid.contentsMargins()
        self.host.setMinimumHeight(
            rows * MIN_PLOT_HEIGHT + max(rows - 1, 0) * SPACING + margins.top() + margins.bottom()
        )
        # Places now, not at the next turn of the event loop: a caller may
        # ask at once which plots are on screen.
        self.grid.activate()

    def on_screen(self, widget: QWidget) -> bool:
        """Whether any of the widget shows now: not scrolled away, not on a
        hidden tab. (Geometry, not visibleRegion(), which stays empty until
        the window system maps the window, and on some platforms never.)"""
        if not widget.isVisible():
            return False
        place = QRect(widget.mapTo(self.viewport(), QPoint(0, 0)), widget.size())
        return place.intersects(self.viewport().rect())
