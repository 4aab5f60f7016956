"""The loss-weight search's part of the Study tab (docs/studies.md): what
the search found, and a chosen trial's weights to apply to the project.

With the Pareto objective, a scatter of every complete trial (x: the first
task's validation figure, y: the second's; the axis labels say which way is
better), the front's trials larger and coloured, joined with two tasks;
with three tasks or more, two lists choose the pair of tasks plotted (the
front is over every task, so a front trial may look beaten on one pair).
The front's trials are also listed in a table. With delta-m, the complete
trials ranked by delta-m in a table. Clicking a point or a row chooses a
trial: its weights are shown, and "Apply These Weights" asks for them on
the project (apply_requested; the Study tab pushes the undo step).
"""

from __future__ import annotations

from functools import partial

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..study.search import SearchResult, SearchTrial
from .results_view import FIGURE_NAMES

PLOT_SIZE = (460, 320)
TRIAL_COLOR = QColor(150, 160, 172, 170)  # every complete trial: grey
FRONT_COLOR = QColor(0, 114, 178)  # the front: blue
CHOSEN_COLOR = QColor(213, 94, 0)  # the chosen trial's ring: orange


def weights_text(trial: SearchTrial, digits: int = 3) -> str:
    """ "a 0.8, b 2.3" (and the learning rate, when searched)."""
    text = ", ".join(f"{t} {w:.{digits}g}" for t, w in trial.weights.items())
    if trial.learning_rate is not None:
        text += f", learning rate {trial.learning_rate:.{digits}g}"
    return text


class SearchView(QWidget):
    """A search's result (show_result), a trial to choose and apply."""

    apply_requested = Signal(object)  # the chosen SearchTrial

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: SearchResult | None = None
        self.trial: SearchTrial | None = None  # the chosen one
        self._rows: list[SearchTrial] = []  # the table's, in order
        self._selecting = False

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        # pyqtgraph gives every plot parentless menus, owned by the Python
        # plot items: when Qt deletes this view, let go of them (ui/plots.py).
        self._items: dict = {}
        self.destroyed.connect(partial(dict.clear, self._items))
        self._items["plot"] = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(*PLOT_SIZE)
        self.plot.setMaximumSize(PLOT_SIZE[0] + 160, PLOT_SIZE[1] + 80)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)  # the figures as the table has them
        self._items["trials"] = pg.ScatterPlotItem(
            size=8, pen=None, brush=pg.mkBrush(TRIAL_COLOR), hoverable=True
        )
        self._items["front_line"] = pg.PlotDataItem(pen=pg.mkPen(FRONT_COLOR, width=1.5))
        self._items["front"] = pg.ScatterPlotItem(
            size=12, pen=pg.mkPen("w", width=1), brush=pg.mkBrush(FRONT_COLOR), hoverable=True
        )
        self._items["chosen"] = pg.ScatterPlotItem(
            size=20, pen=pg.mkPen(CHOSEN_COLOR, width=2.5), brush=pg.mkBrush(None)
        )
        for item in (self.front_line, self.trials_item, self.front_item, self.chosen_item):
            self.plot.addItem(item)
        self.trials_item.sigClicked.connect(self._clicked)
        self.front_item.sigClicked.connect(self._clicked)

        # The pair of tasks the scatter plots, with three tasks or more.
        self.pair: tuple[str, str] | None = None
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        self.x_combo.setToolTip("The task on the horizontal axis")
        self.y_combo.setToolTip("The task on the vertical axis")
        self.x_combo.activated.connect(lambda i: self._pair_chosen(self.x_combo))
        self.y_combo.activated.connect(lambda i: self._pair_chosen(self.y_combo))
        self.pair_row = QWidget()
        pair = QHBoxLayout(self.pair_row)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(QLabel("Plot"))
        pair.addWidget(self.x_combo)
        pair.addWidget(QLabel("across and"))
        pair.addWidget(self.y_combo)
        pair.addWidget(QLabel("up"))
        pair.addStretch(1)

        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._row_chosen)

        self.chosen_label = QLabel()
        self.chosen_label.setWordWrap(True)
        self.chosen_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.apply_button = QPushButton("Apply These Weights")
        self.apply_button.setToolTip(
            "Set the chosen trial's task weights (and learning rate) on the project: "
            "one step that Edit > Undo takes back"
        )
        self.apply_button.clicked.connect(self._apply)
        chosen = QHBoxLayout()
        chosen.addWidget(self.apply_button)
        chosen.addWidget(self.chosen_label, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.pair_row)
        layout.addWidget(self.plot, 0, Qt.AlignLeft)
        layout.addWidget(self.table, 0, Qt.AlignLeft)
        layout.addLayout(chosen)
        self.show_result(None)

    @property
    def plot(self) -> pg.PlotWidget:
        return self._items["plot"]

    @property
    def trials_item(self) -> pg.ScatterPlotItem:
        """Every complete trial off the front."""
        return self._items["trials"]

    @property
    def front_item(self) -> pg.ScatterPlotItem:
        return self._items["front"]

    @property
    def front_line(self) -> pg.PlotDataItem:
        return self._items["front_line"]

    @property
    def chosen_item(self) -> pg.ScatterPlotItem:
        return self._items["chosen"]

    # --- the result ------------------------------------------------------------------

    def complete(self) -> list[SearchTrial]:
        if self.result is None:
            return []
        tasks = self.result.tasks
        return [
            t
            for t in self.result.trials
            if t.state == "complete" and all(t.figures.get(task) is not None for task in tasks)
        ]

    def show_result(self, result: SearchResult | None) -> None:
        self.result, self.trial = result, None
        complete = self.complete()
        if result is None or not complete:
            self.heading.setText(
                "No trial of the weight search has completed."
                if result is not None
                else "The weight search runs after the study's runs, when asked for."
            )
            self.plot.hide()
            self.pair_row.hide()
            self.table.hide()
            self.apply_button.hide()
            self.chosen_label.hide()
            return
        pareto = result.objective == "pareto"
        scatter = pareto and len(result.tasks) >= 2
        counts = f"{len(result.trials)} trials, {len(complete)} complete"
        if pareto:
            self.heading.setText(
                f"Weight search ({counts}), each task's figure on the validation rows. "
                f"The Pareto front: the {len(result.front)} trials no other trial beats on "
                "every task"
                + (
                    " (blue, joined; grey: the others)."
                    if len(result.tasks) == 2
                    else " (blue; grey: the others; a blue trial may look beaten on the two "
                    "tasks plotted, not on all of them)."
                )
                + " Click a trial to see its weights."
            )
            self._rows = list(result.front)
        else:
            self.heading.setText(
                f"Weight search ({counts}): the trials ranked by delta-m against the "
                "single-task baselines on the validation rows, positive is better. Click a "
                "trial to see its weights."
            )
            self._rows = sorted(complete, key=lambda t: -t.values[0] if t.values else 0.0)
        self.plot.setVisible(scatter)
        self._fill_pair(result if scatter else None)
        if scatter:
            self._draw(result, complete)
        self._fill(result)
        self.apply_button.show()
        self.chosen_label.show()
        self.choose(self._rows[0].number if self._rows else None)

    def _axis(self, result: SearchResult, task: str, horizontal: bool) -> str:
        name = FIGURE_NAMES.get(result.names[task], result.names[task])
        higher = result.higher[task]
        # The y axis's label is turned a quarter left: "→" in it points up.
        arrow = "→" if higher else "←"
        where = ("right" if higher else "left") if horizontal else ("up" if higher else "down")
        return f"{task}: {name} ({'higher' if higher else 'lower'} is better, {where} {arrow})"

    def _fill_pair(self, result: SearchResult | None) -> None:
        """The pair plotted: the first two tasks at first, a pair still of
        the result's tasks kept (a search that goes on keeps the view)."""
        tasks = result.tasks if result is not None else []
        if self.pair is None or not set(self.pair) <= set(tasks) or len(tasks) < 2:
            self.pair = tuple(tasks[:2]) if len(tasks) >= 2 else None
        for combo, task in zip((self.x_combo, self.y_combo), self.pair or ("", "")):
            combo.clear()
            combo.addItems(tasks)
            combo.setCurrentIndex(combo.findText(task))
        self.pair_row.setVisible(len(tasks) > 2)

    def _pair_chosen(self, combo: QComboBox) -> None:
        x, y = self.x_combo.currentText(), self.y_combo.currentText()
        if x == y:  # the same task twice: the axes swap
            other = self.y_combo if combo is self.x_combo else self.x_combo
            before = self.pair[0] if combo is self.x_combo else self.pair[1]
            other.setCurrentIndex(other.findText(before))
            x, y = self.x_combo.currentText(), self.y_combo.currentText()
        self.pair = (x, y)
        self._draw(self.result, self.complete())
        self.choose(self.trial.number if self.trial is not None else None)

    def _draw(self, result: SearchResult, complete: list[SearchTrial]) -> None:
        a, b = self.pair
        front = {t.number for t in result.front}

        def spots(trials):
            return [
                {"pos": (t.figures[a], t.figures[b]), "data": t.number}
                for t in trials
                if t.figures.get(a) is not None and t.figures.get(b) is not None
            ]

        self.trials_item.setData(spots([t for t in complete if t.number not in front]))
        on_front = sorted(
            (t for t in result.front if t.figures.get(a) is not None), key=lambda t: t.figures[a]
        )
        self.front_item.setData(spots(on_front))
        if len(result.tasks) == 2:
            self.front_line.setData(
                [t.figures[a] for t in on_front], [t.figures[b] for t in on_front]
            )
        else:  # a front over more tasks is no line in a pair's plane
            self.front_line.setData([], [])
        self.plot.setLabel("bottom", self._axis(result, a, True))
        self.plot.setLabel("left", self._axis(result, b, False))
        self.plot.enableAutoRange()

    def _fill(self, result: SearchResult) -> None:
        lr = any(t.learning_rate is not None for t in result.trials)
        headers = ["Trial"] + [f"weight {t}" for t in result.tasks]
        headers += ["learning rate"] if lr else []
        for task in result.tasks:
            name = FIGURE_NAMES.get(result.names[task], result.names[task])
            headers.append(f"{task}: {name} {'↑' if result.higher[task] else '↓'}")
        if result.objective == "delta_m":
            headers.append("Δm %")
        table = self.table
        table.blockSignals(True)
        table.clear()
        table.setColumnCount(len(headers))
        table.setRowCount(len(self._rows))
        table.setHorizontalHeaderLabels(headers)
        for i, trial in enumerate(self._rows):
            cells = [str(trial.number)] + [f"{trial.weights[t]:.3g}" for t in result.tasks]
            cells += [f"{trial.learning_rate:.3g}" if trial.learning_rate else ""] if lr else []
            cells += [f"{trial.figures[t]:.4g}" for t in result.tasks]
            if result.objective == "delta_m":
                cells.append(f"{trial.values[0]:+.2f}" if trial.values else "")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                table.setItem(i, j, item)
        table.blockSignals(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        table.resizeColumnsToContents()
        table.resizeRowsToContents()
        frame = 2 * table.frameWidth()
        shown = min(len(self._rows), 12)  # more scroll
        table.setFixedSize(
            frame + sum(table.columnWidth(j) for j in range(len(headers))) + 16,
            frame + header.sizeHint().height() + sum(table.rowHeight(i) for i in range(shown)),
        )
        table.show()

    # --- choosing ----------------------------------------------------------------------

    def choose(self, number: int | None) -> None:
        """Choose the trial with this number (None: none)."""
        trials = {t.number: t for t in self.complete()}
        self.trial = trial = trials.get(number)
        self.apply_button.setEnabled(trial is not None)
        if trial is None:
            self.chosen_label.setText("Click a trial to see its weights.")
            self.chosen_item.setData([])
            return
        figures = ", ".join(
            f"{t} {FIGURE_NAMES.get(self.result.names[t], self.result.names[t])} "
            f"{trial.figures[t]:.4g}"
            for t in self.result.tasks
        )
        delta = (
            f"; delta-m {trial.values[0]:+.2f} %"
            if self.result.objective == "delta_m" and trial.values
            else ""
        )
        self.chosen_label.setText(
            f"Trial {trial.number}: weights {weights_text(trial)} (validation: {figures}{delta})"
        )
        if self.plot.isVisibleTo(self) and self.pair is not None:
            a, b = self.pair
            self.chosen_item.setData([trial.figures[a]], [trial.figures[b]])
        self._selecting = True
        rows = [i for i, t in enumerate(self._rows) if t.number == trial.number]
        if rows:
            self.table.selectRow(rows[0])
        else:
            self.table.clearSelection()
        self._selecting = False

    def _clicked(self, item, points, event=None) -> None:
        if len(points):
            self.choose(points[0].data())

    def _row_chosen(self) -> None:
        if self._selecting:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.choose(self._rows[rows[0].row()].number)

    def _apply(self) -> None:
        if self.trial is not None:
            self.apply_requested.emit(self.trial)

    # --- for tests -------------------------------------------------------------------

    def points(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The scatter's points: every complete trial's, and the front's."""
        others = [tuple(p) for p in zip(*self.trials_item.getData())]
        front = [tuple(p) for p in zip(*self.front_item.getData())]
        return others + front, front
