"""The task-affinity plot: a T x T heat map of the run's mean affinity
(training/affinity.py), row i the task whose step, column j the task whose
loss; above zero (orange) a step for i lowered j's loss, below (blue) it
raised it. The rows and columns are labelled with the task names in the
task colours; with few tasks every cell shows its value.

A redraw hands the view one T x T image (and at most 36 cell texts), and
only when a measurement arrived: cheap, within the plots' redraw budget.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from .plot_items import CURSOR_COLOR, FOREGROUND, MARK_COLOR, Plot, color
from .readout import AFFINITY
from .run_curves import RunCurves

# Colour-blind safe ends (Okabe and Ito's blue and vermillion), white at 0.
NEGATIVE = "#0072B2"
ZERO = "#FFFFFF"
POSITIVE = "#D55E00"
VALUES_UP_TO = 6  # tasks: with more, the cells are too small for their values
LIGHT_TEXT_FROM = 0.6  # |z| / limit from which a cell's value is written in white


def lookup_table(size: int = 256) -> np.ndarray:
    """[size, 3] uint8 colours from NEGATIVE through ZERO to POSITIVE."""
    return pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE, ZERO, POSITIVE]).getLookupTable(
        0.0, 1.0, size, alpha=False
    )


def limit_of(z: np.ndarray) -> float:
    """The colour scale's symmetric limit: the largest |z| (1e-12 when all
    are 0 or none is finite)."""
    finite = np.abs(z[np.isfinite(z)])
    return max(float(finite.max()) if len(finite) else 0.0, 1e-12)


def title_of(count: int) -> str:
    """The plot's title, on two lines: on one it would be wider than a
    plot of the grid's narrowest width, and pyqtgraph widens the plot to
    its title, past its view."""
    noun = "measurement" if count == 1 else "measurements"
    return (
        f"Task affinity (mean of {count} {noun}):<br>"
        f"<span style='color:{CURSOR_COLOR}'>row helps column</span>"
    )


class TaskAxis(pg.AxisItem):
    """An axis whose tick labels (task names) are drawn in the task colours."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.colors: dict[str, str] = {}

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        for rect, flags, text in textSpecs:
            p.setPen(color(self.colors.get(text, FOREGROUND)))
            p.drawText(rect, int(flags), text)


class AffinityPlot(Plot):
    """The heat map. Shown once the run has an affinity measurement; its
    drawing depends on nothing but the measurements (no x axis, no cursor,
    no marks)."""

    def __init__(self, key: str = AFFINITY) -> None:
        super().__init__(key, AFFINITY, title_of(0), "", loss=False, always=False)
        self.left_axis, self.bottom_axis = TaskAxis("left"), TaskAxis("bottom")
        self.item.setAxisItems({"left": self.left_axis, "bottom": self.bottom_axis})
        for axis in (self.left_axis, self.bottom_axis):
            axis.setPen(pg.mkPen(FOREGROUND))
            axis.setTextPen(pg.mkPen(FOREGROUND))
            axis.setStyle(maxTickLevel=0, tickLength=0)
        self.item.setLabel("left", "a step for", color=MARK_COLOR)
        self.item.setLabel("bottom", "lowers the loss of", color=MARK_COLOR)
        self.item.showGrid(x=False, y=False)
        self.item.hideButtons()
        self.item.setMenuEnabled(False)
        self.item.vb.setMouseEnabled(x=False, y=False)
        self.item.vb.invertY(True)  # the first task's row at the top
        self.item.vb.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(lookup_table())
        self.item.addItem(self.image)
        self.item.setToolTip(
            "Inter-task affinity (Fifty et al. 2021), the mean over the run: "
            "the relative change of the column task's loss after a step of the "
            "shared layers along the row task's gradient alone. Orange: the "
            "step helped (the loss fell); blue: it hurt."
        )
        self.cells: list[list[pg.TextItem]] = []
        self.tasks: list[str] = []
        self.mean: np.ndarray | None = None
        self.count = 0
        self.limit = 1e-12
        self.drawn: tuple | None = None

    def has_data(self) -> bool:
        return self.count > 0

    def fit_y(self) -> None:
        pass

    def draw_matrix(self, run: RunCurves) -> bool:
        """The run's mean matrix, if a measurement came since the last call."""
        key = (id(run), run.affinity_count, tuple(run.affinity_tasks))
        if key == self.drawn:
            return False
        self.drawn = key
        mean = run.affinity_mean
        self.count = run.affinity_count
        self.item.setTitle(title_of(self.count), color=FOREGROUND, size="9pt")
        if mean is None:
            self.mean = None
            self.image.clear()
            return True
        if run.affinity_tasks != self.tasks:
            self._set_tasks(run)
        self.mean = mean
        self.limit = limit_of(mean)
        self.image.setImage(np.nan_to_num(mean, nan=0.0), levels=(-self.limit, self.limit))
        size = len(self.tasks)
        self.image.setRect(0, 0, size, size)
        for i, row in enumerate(self.cells):
            for j, cell in enumerate(row):
                value = mean[i, j]
                light = np.isfinite(value) and abs(value) / self.limit >= LIGHT_TEXT_FROM
                cell.setColor(color("#FFFFFF" if light else FOREGROUND))
                cell.setText(f"{value:+.2g}" if np.isfinite(value) else "n/a")
        if not self.cells:  # no values in the cells: the scale in the axis label
            self.item.setLabel(
                "bottom", f"lowers the loss of   (colour: ±{self.limit:.2g})", color=MARK_COLOR
            )
        return True

    def _set_tasks(self, run: RunCurves) -> None:
        self.tasks = list(run.affinity_tasks)
        size = len(self.tasks)
        ticks = [[(i + 0.5, t) for i, t in enumerate(self.tasks)]]
        colors = {t: run.colors.get(t, FOREGROUND) for t in self.tasks}
        for axis in (self.left_axis, self.bottom_axis):
            axis.colors = colors
            axis.setTicks(ticks)
        for row in self.cells:
            for cell in row:
                self.item.removeItem(cell)
        self.cells = []
        if size <= VALUES_UP_TO:
            for i in range(size):
                row = []
                for j in range(size):
                    cell = pg.TextItem(anchor=(0.5, 0.5))
                    cell.setPos(j + 0.5, i + 0.5)
                    self.item.addItem(cell)
                    row.append(cell)
                self.cells.append(row)
        self.item.vb.setRange(xRange=(0, size), yRange=(0, size), padding=0)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) of the cell at view coordinates (x, y), or None."""
        if self.mean is None or not (math.isfinite(x) and math.isfinite(y)):
            return None
        i, j = math.floor(y), math.floor(x)
        size = len(self.tasks)
        return (i, j) if 0 <= i < size and 0 <= j < size else None


__all__ = ["AffinityPlot", "TaskAxis", "lookup_table", "limit_of", "title_of"]
