"""The Results tab: how good each task of the run shown is on rows it never
saw, beside a trivial predictor; predicted against actual per regression
task; a confusion matrix per classification task; Predict on File.

The numbers come from training/evaluation.py, run off the GUI thread (it
loads the saved model with TensorFlow). An evaluation is kept in the run
folder, so a run opened again shows its results at once; one is made when
the tab is first shown for a run that has none.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import describe
from .background import run_in_background
from .widgets import ERROR_COLOR

SPLIT_CHOICES = (("Test rows", "test"), ("Validation rows", "val"), ("Training rows", "train"))
MODEL_CHOICES = (("Best epoch", "best"), ("Last epoch", "last"))
FIGURE_NAMES = {
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "log_loss": "log loss",
    "token_accuracy": "token accuracy",
}
SCATTER_POINTS = 5000  # more points than this are sampled: the plot stays quick
PLOT_SIZE = (320, 280)
MATRIX_CLASSES = 12  # a bigger confusion matrix is cut to its busiest classes


def figure_text(value) -> str:
    return "–" if value is None else f"{value:.4g}"


class _Progress(QObject):
    """Carries a background prediction's progress to the GUI thread."""

    moved = Signal(float, int)


class ResultsView(QWidget):
    """Shows one run folder's evaluation. `show_run(folder)` chooses it."""

    evaluated = Signal()  # a new evaluation is on screen (for tests and the status bar)
    message = Signal(str)  # news for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.busy = False  # an evaluation or a prediction runs in the background
        self._cancel = threading.Event()
        self._wanted = False  # evaluate when shown
        self._trained = None  # the project as the run shown trained it

        self.split_combo = QComboBox()
        for label, value in SPLIT_CHOICES:
            self.split_combo.addItem(label, value)
        self.split_combo.setToolTip(
            "Which rows of the run's data to score. The test rows "
            "were never trained on nor used to choose the best epoch."
        )
        self.model_combo = QComboBox()
        for label, value in MODEL_CHOICES:
            self.model_combo.addItem(label, value)
        self.model_combo.setToolTip(
            "The model of the best epoch (model-best.keras) or of the last (model-last.keras)"
        )
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Score the chosen model on the chosen rows again")
        self.predict_button = QPushButton("Predict on File...")
        self.predict_button.setToolTip(
            "Write the model's predictions for a CSV or NPZ file, "
            "in the data's own units, to a CSV file"
        )
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.evaluate_button.clicked.connect(self.evaluate)
        self.predict_button.clicked.connect(self.predict_on_file)
        self.cancel_button.clicked.connect(self._cancel.set)
        self.split_combo.activated.connect(lambda _: self.evaluate())
        self.model_combo.activated.connect(lambda _: self.evaluate())

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Rows:"))
        bar.addWidget(self.split_combo)
        bar.addWidget(QLabel("Model:"))
        bar.addWidget(self.model_combo)
        bar.addWidget(self.evaluate_button)
        bar.addSpacing(16)
        bar.addWidget(self.predict_button)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.PlainText)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["Task", "Figure", "Model", "Trivial predictor", "Against the trivial predictor"]
        )
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip(
            "The trivial predictor guesses the training rows' mean "
            "(regression) or their most frequent class: a figure in red "
            "is no better than that guess"
        )
        self.charts = QWidget()
        self.charts_layout = QGridLayout(self.charts)
        self.charts_layout.setContentsMargins(0, 0, 0, 0)

        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(self.heading)
        column.addWidget(self.table)
        column.addWidget(self.charts)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        self._show_nothing(
            "No run to show yet: train the project, or open a run with Run > Open Run..."
        )
        self._set_busy(False)

    # --- which run ---------------------------------------------------------------

    def show_run(self, folder: Path | None, training: bool = False) -> None:
        """Show the run in `folder` (None: no run; training: one is under
        way). Its kept evaluation shows at once; without one, it is made
        when the tab is visible."""
        self.folder = Path(folder) if folder else None
        self._wanted = False
        self._set_busy(self.busy)
        if self.folder is None:
            self._show_nothing(
                "Training: the run's results come when it ends."
                if training
                else "No run to show yet: train the project, or open a run with Run > Open Run..."
            )
            return
        if self._show_kept():
            return
        self._show_nothing("")
        self._wanted = True
        if self.isVisible():
            self.evaluate()
        else:
            self.status.setText("The run is evaluated when this tab is shown.")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._wanted and not self.busy:
            self.evaluate()

    def _show_kept(self) -> bool:
        from ..training.evaluation import read_evaluation  # numpy and JSON only

        kept = read_evaluation(self.folder)
        if kept is None or not self._fresh():
            return False
        result, arrays = kept
        self._show(result, arrays)
        return True

    def _fresh(self) -> bool:
        """An evaluation is stale once a model it scored is newer (a run
        continued from its checkpoint)."""
        try:
            made = (self.folder / "evaluation.json").stat().st_mtime
            models = [p.stat().st_mtime for p in self.folder.glob("model-*.keras")]
        except OSError:
            return False
        return all(m <= made for m in models)

    # --- evaluate ----------------------------------------------------------------

    def evaluate(self) -> None:
        if self.folder is None or self.busy:
            return
        from ..training.evaluation import evaluate, open_run  # noqa: PLC0415

        folder, split = self.folder, self.split_combo.currentData()
        which = self.model_combo.currentData()
        self._wanted = False
        self._set_busy(
            True, f"Evaluating the {which} model on the {self.split_combo.currentText().lower()}..."
        )

        def work():
            run = open_run(folder)
            result = evaluate(run, None, split, which)
            from ..training.evaluation import read_evaluation  # noqa: PLC0415

            return folder, result, (read_evaluation(folder) or (result, {}))[1]

        run_in_background(work, self._evaluated, self._failed)

    def _evaluated(self, value) -> None:
        folder, result, arrays = value
        self._set_busy(False)
        if folder != self.folder:
            return  # another run was chosen meanwhile
        self._show(result, arrays)
        self.evaluated.emit()

    def _failed(self, detail: str) -> None:
        self._set_busy(False)
        # The evaluation's own errors read as sentences; drop the class name.
        text = detail.split(": ", 1)[1] if ": " in detail else detail
        self.status.setText(
            f"<span style='color:{ERROR_COLOR}'>Could not evaluate: {_escape(text)}</span>"
        )
        self.message.emit(f"Could not evaluate the run: {text}")

    # --- show ----------------------------------------------------------------------

    def _show_nothing(self, text: str) -> None:
        self.heading.setText("")
        self.table.setRowCount(0)
        self.table.hide()
        self._clear_charts()
        self.status.setText(text)

    def _show(self, result: dict, arrays: dict) -> None:
        best = f", best epoch {result['best_epoch']}" if result.get("best_epoch") else ""
        names = {"test": "test rows", "val": "validation rows", "train": "training rows"}
        rows = names.get(result["split"], result["split"])
        tasks = result["tasks"]
        n = max((s["n"] for s in tasks.values()), default=0)
        tasks_of_run = self._project_tasks()
        heading = (
            f"{Path(result['run']).name}: {result['model']}{best}, on the run's "
            f"{rows} ({n} examples)"
        )
        if self._trained is not None:
            heading += f"\nTrained with {describe(self._trained.training)}"
        self.heading.setText(heading)
        self.status.setText(result.get("note", ""))
        self._fill_table(tasks)
        self._clear_charts()
        col = 0
        units = {t.name: ", ".join(t.target) for t in tasks_of_run}
        for task, scores in tasks.items():
            if f"{task}:truth" in arrays:
                chart = scatter_chart(
                    task,
                    arrays[f"{task}:truth"],
                    arrays[f"{task}:predicted"],
                    units.get(task, task),
                )
            elif "confusion" in scores:
                chart = confusion_chart(task, scores["confusion"])
            else:
                continue
            self.charts_layout.addWidget(chart, col // 2, col % 2)
            col += 1

    def _fill_table(self, tasks: dict) -> None:
        rows = [(task, name, f) for task, s in tasks.items() for name, f in s["figures"].items()]
        self.table.setRowCount(len(rows))
        worse = QBrush(QColor(ERROR_COLOR))
        verdicts = {True: "better", False: "no better", None: ""}
        for i, (task, name, f) in enumerate(rows):
            cells = [
                task,
                FIGURE_NAMES.get(name, name),
                figure_text(f["model"]),
                figure_text(f["trivial"]),
                verdicts[f["beats_trivial"]],
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (2, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if f["beats_trivial"] is False and j in (2, 4):
                    item.setForeground(worse)
                    item.setToolTip(
                        f"no better than the trivial predictor ({f['better']} is better)"
                    )
                self.table.setItem(i, j, item)
        self.table.show()
        self.table.resizeColumnsToContents()
        height = (
            self.table.horizontalHeader().height()
            + 4
            + sum(self.table.rowHeight(i) for i in range(len(rows)))
        )
        self.table.setFixedHeight(height)

    def _project_tasks(self) -> list:
        """The run's tasks (for their target column names), or none; keeps
        the project as trained in self._trained."""
        from ..core.fileformat import ProjectError, load  # noqa: PLC0415

        self._trained = None
        try:
            self._trained = load(self.folder / "project.mtl.json") if self.folder else None
        except (OSError, ProjectError):
            pass
        return self._trained.tasks if self._trained is not None else []

    def _clear_charts(self) -> None:
        while self.charts_layout.count():
            widget = self.charts_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def marked_rows(self) -> list[tuple[str, str]]:
        """(task, figure) of the rows shown as no better than trivial."""
        out = []
        for i in range(self.table.rowCount()):
            if self.table.item(i, 4).text() == "no better":
                out.append((self.table.item(i, 0).text(), self.table.item(i, 1).text()))
        return out

    # --- predict on a file ------------------------------------------------------------

    def predict_on_file(self) -> None:
        if self.folder is None or self.busy:
            return
        data, _ = QFileDialog.getOpenFileName(
            self, "Predict on file", "", "Data files (*.csv *.npz)"
        )
        if not data:
            return
        start = str(Path(data).with_name(Path(data).stem + "-predictions.csv"))
        out, _ = QFileDialog.getSaveFileName(
            self, "Save predictions as", start, "CSV files (*.csv)"
        )
        if out:
            self.predict(Path(data), Path(out))

    def predict(self, data: Path, out: Path) -> None:
        """Write the predictions for `data` to `out` in the background."""
        from ..training.evaluation import Cancelled, open_run, predict_file  # noqa: PLC0415

        folder, which = self.folder, self.model_combo.currentData()
        self._cancel.clear()
        progress = _Progress(self)
        progress.moved.connect(self._moved)
        self._set_busy(True, f"Predicting {data.name}...", progress=True)

        def moved(share: float, rows: int):
            progress.moved.emit(share, rows)  # queued to the GUI thread
            return not self._cancel.is_set()

        def work():
            try:
                return out, predict_file(open_run(folder), data, out, which, moved)
            except Cancelled:
                return out, None

        def done(value):
            progress.deleteLater()
            path, rows = value
            self._set_busy(False)
            text = (
                f"Prediction cancelled: {path.name} left as it was"
                if rows is None
                else f"Wrote {rows} predictions to {path}"
            )
            self.status.setText(text)
            self.message.emit(text)

        def failed(detail):
            progress.deleteLater()
            self._failed(detail)

        run_in_background(work, done, failed)

    def shutdown(self) -> None:
        """The window closes: a prediction under way stops at its next block."""
        self._cancel.set()

    def _moved(self, share: float, rows: int) -> None:
        self.progress.setValue(int(share * 1000))
        self.progress.setFormat(f"{rows:,} rows")

    def _set_busy(self, busy: bool, text: str = "", progress: bool = False) -> None:
        self.busy = busy
        idle = not busy and self.folder is not None
        for widget in (
            self.evaluate_button,
            self.predict_button,
            self.split_combo,
            self.model_combo,
        ):
            widget.setEnabled(idle)
        self.progress.setVisible(busy and progress)
        self.cancel_button.setVisible(busy and progress)
        self.progress.setValue(0)
        if text:
            self.status.setText(text)


def scatter_chart(task: str, truth: np.ndarray, predicted: np.ndarray, target: str) -> QGroupBox:
    """Predicted against actual with the y = x line: points on the line are
    right; a cloud flat along the line's width is a model that learned little."""
    box = QGroupBox(f"{task}: predicted against actual")
    plot = pg.PlotWidget(background="w")
    plot.setMinimumSize(*PLOT_SIZE)
    x, y = truth.ravel(), predicted.ravel()
    if len(x) > SCATTER_POINTS:
        keep = np.random.default_rng(0).choice(len(x), SCATTER_POINTS, replace=False)
        x, y = x[keep], y[keep]
    plot.addItem(pg.ScatterPlotItem(x, y, size=5, pen=None, brush=pg.mkBrush(0, 114, 178, 140)))
    if len(x):
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        plot.addItem(
            pg.PlotDataItem([lo, hi], [lo, hi], pen=pg.mkPen("#555", width=1, style=Qt.DashLine))
        )
    plot.setLabel("bottom", f"actual {target}")
    plot.setLabel("left", f"predicted {target}")
    plot.scatter_points = len(x)  # for tests
    layout = QVBoxLayout(box)
    layout.addWidget(plot)
    return box


def confusion_chart(task: str, confusion: dict) -> QGroupBox:
    """Counts by true class (rows) and predicted class (columns), each cell
    shaded by its share of its row: a dark diagonal is a good classifier."""
    labels, matrix = confusion["labels"], np.asarray(confusion["matrix"], np.int64)
    if len(labels) > MATRIX_CLASSES:  # the busiest classes
        busy = np.argsort(-(matrix.sum(0) + matrix.sum(1)), kind="stable")[:MATRIX_CLASSES]
        busy = np.sort(busy)
        labels, matrix = [labels[i] for i in busy], matrix[np.ix_(busy, busy)]
    box = QGroupBox(f"{task}: confusion matrix (rows: true class, columns: predicted)")
    table = QTableWidget(len(labels), len(labels))
    table.setHorizontalHeaderLabels([str(x) for x in labels])
    table.setVerticalHeaderLabels([str(x) for x in labels])
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            item = QTableWidgetItem(str(int(matrix[i, j])))
            item.setTextAlignment(Qt.AlignCenter)
            # Right answers in blue, wrong ones in red; light enough to read.
            share = shares[i, j]
            item.setBackground(
                QColor(int(255 - 110 * share), int(255 - 70 * share), 255)
                if i == j
                else QColor(255, int(255 - 110 * share), int(255 - 110 * share))
            )
            table.setItem(i, j, item)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    # Sized to its cells (headers by their size hints: not laid out yet).
    frame = 2 * table.frameWidth() + 2
    width = (
        table.verticalHeader().sizeHint().width()
        + frame
        + sum(table.columnWidth(j) for j in range(len(labels)))
    )
    height = (
        table.horizontalHeader().sizeHint().height()
        + frame
        + sum(table.rowHeight(i) for i in range(len(labels)))
    )
    table.setFixedSize(min(width, PLOT_SIZE[0] * 2), min(height, PLOT_SIZE[1] * 2))
    layout = QVBoxLayout(box)
    layout.addWidget(table, 0, Qt.AlignLeft | Qt.AlignTop)
    layout.addStretch(1)
    return box


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
