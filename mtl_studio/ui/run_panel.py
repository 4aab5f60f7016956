"""The run box of the training panel: Train / Pause / Stop / Continue, the
progress of the run, its outcome, and the live controls that change a
task's loss weight or a learning rate while it trains."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..training import events as ev
from .run_controller import RunController
from .widgets import ERROR_COLOR, WARNING_COLOR, FloatSpinBox, float_step

STATE_TEXT = {
    "idle": "",
    "starting": "Building the model and compiling the step...",
    "running": "Training",
    "paused": "Paused: Resume goes on from the same step",
    "stopping": "Stopping after the current steps...",
}
# What a run that ended says in place of its speed and time left.
ENDED = {
    "completed": "finished in {}",
    "stopped": "stopped after {}",
    "nan": "ended after {}",
    "error": "ended after {}",
    "invalid": "did not start",
}
FROZEN_NOTE = (
    "The run trains the project as it was when you pressed Train; edits apply to the next run."
)


def run_state_text(curves, state: str) -> str:
    """How the run is going, in a few words: its speed and time left while
    it trains, "paused at step 600", or how it ended ("finished in 16s").
    The training panel and the window's status bar show it."""
    p: ev.Progress | None = curves.progress if curves is not None else None
    if state == "running" and p is not None:
        where = ev.devices_text(curves.devices)
        speed = f"{p.steps_per_second:,.0f} steps/s"
        left = f"{ev.format_duration(p.seconds_left)} left"
        return " \u00b7 ".join(x for x in (speed, where, left) if x)
    if state == "paused":
        return f"paused at step {curves.step:,}" if curves is not None and curves.step else "paused"
    if state == "stopping":
        return "stopping after the current steps"
    if state == "starting":
        return "building the model and compiling the step"
    if curves is None or curves.status == "running":
        return ""
    ended = ENDED.get(curves.status, "ended after {}")
    return ended.format(ev.format_duration(curves.wall))


class RunPanel(QWidget):
    def __init__(self, controller: RunController, actions, parent: QWidget | None = None) -> None:
        """actions: the window's Train, Pause/Resume, Stop and Continue actions,
        whose enabled states the window keeps."""
        super().__init__(parent)
        self.controller = controller
        buttons = QHBoxLayout()
        self.buttons = []
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            buttons.addWidget(button)
            self.buttons.append(button)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        self.rate = QLabel()
        self.status = QLabel()
        self._reason_shown = False
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note = QLabel(FROZEN_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #616161;")
        self.note.hide()

        self.live = QGroupBox("Change during the run")
        self.live.setToolTip(
            "Takes effect at the next step, is marked on the curves and "
            "recorded in the run's history"
        )
        self.live_grid = QGridLayout(self.live)
        self.apply = QPushButton("Apply", self.live)
        self.apply.clicked.connect(self.apply_live)
        self.live_rows: dict[str, tuple] = {}  # task (or "" for shared) -> (weight, rate)
        self.live.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        layout.addWidget(self.status)
        layout.addWidget(self.note)
        layout.addWidget(self.live)

        controller.state_changed.connect(self.state_changed)
        controller.run_started.connect(self.run_started)
        controller.progressed.connect(self.show_progress)
        controller.run_finished.connect(self.run_finished)
        controller.run_opened.connect(self.run_opened)

    # --- following the run ---------------------------------------------------------

    def run_started(self, curves) -> None:
        self.progress.setRange(0, 0)  # busy until the first steps report
        self.progress.setFormat("starting")
        self.rate.setText("")
        self._fill_live()

    def state_changed(self, state: str) -> None:
        busy = state != "idle"
        self.note.setVisible(busy)
        self.live.setVisible(busy)
        self.live.setEnabled(state in ("running", "paused"))
        if busy:
            self._show_status(STATE_TEXT[state])

    def show_progress(self) -> None:
        curves = self.controller.curves
        self.rate.setText(run_state_text(curves, self.controller.state))
        p: ev.Progress | None = curves.progress if curves else None
        if p is None:
            return
        self.progress.setRange(0, max(1, p.total_steps))
        self.progress.setValue(min(p.step, p.total_steps))
        self.progress.setFormat(
            f"epoch {p.epoch}/{p.epochs} \u00b7 step {p.step:,}/{p.total_steps:,}"
        )

    def run_finished(self, finished: ev.RunFinished) -> None:
        self.show_progress()
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("not started")
        curves = self.controller.curves
        text = finished.message[:1].upper() + finished.message[1:]
        if curves is not None and finished.status in ("completed", "stopped", "nan"):
            text += f". Files in {curves.folder}"
        if self.controller.error_log:
            text += f" (details in {self.controller.error_log})"
        for warning in self.controller.warnings:
            text += f"\n{warning}"
        color = {"completed": "", "stopped": ""}.get(finished.status, ERROR_COLOR)
        if finished.status == "stopped":
            text += ". Continue goes on from the checkpoint."
        self._show_status(text, color)

    def run_opened(self, curves) -> None:
        """A run read back from its folder: what it said when it ended."""
        self.show_progress()
        message = curves.message or curves.status
        self._show_status(f"Opened {curves.folder}: {message[:1].upper() + message[1:]}")

    def _show_status(self, text: str, color: str = "") -> None:
        self._reason_shown = False
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {color};" if color else "")

    def show_reason(self, reason: str | None) -> None:
        """Why Train is disabled, while no run is going; the outcome of the
        last run stays until there is a reason to show."""
        if self.controller.busy:
            return
        if reason:
            self._show_status(f"Cannot train: {reason}", WARNING_COLOR)
            self._reason_shown = True
        elif self._reason_shown:
            self._show_status("")
        if not reason:
            self._reason_shown = False

    # --- live controls ---------------------------------------------------------------

    def _fill_live(self) -> None:
        grid = self.live_grid
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None and widget is not self.apply:
                widget.deleteLater()
        self.live_rows = {}
        project = self.controller.run_project
        if project is None:
            return
        alternating = project.training.mode == "alternating"
        grid.addWidget(QLabel("Task"), 0, 0)
        grid.addWidget(QLabel("Loss weight"), 0, 1)
        if alternating:
            grid.addWidget(QLabel("Learning rate"), 0, 2)
        for row, task in enumerate(project.tasks, start=1):
            name = QLabel(task.name)
            name.setStyleSheet(f"color: {project.task_color(task.name)}; font-weight: bold;")
            weight = self._spin(task.weight, 0, 1e6)
            grid.addWidget(name, row, 0)
            grid.addWidget(weight, row, 1)
            rate = None
            if alternating:
                rate = self._spin(
                    (task.optimizer or project.training.optimizer).learning_rate, 1e-9, 10
                )
                grid.addWidget(rate, row, 2)
            self.live_rows[task.name] = (weight, rate)
        row = len(project.tasks) + 1
        if not alternating:
            rate = self._spin(project.training.optimizer.learning_rate, 1e-9, 10)
            grid.addWidget(QLabel("Learning rate"), row, 0)
            grid.addWidget(rate, row, 1)
            self.live_rows[""] = (None, rate)
        grid.addWidget(self.apply, row + 1, 0, 1, 3, Qt.AlignRight)

    @staticmethod
    def _spin(value: float, lo: float, hi: float) -> FloatSpinBox:
        box = FloatSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(float_step(value))
        box.setValue(value)
        box.setProperty("sent", value)  # the value the run has now
        return box

    def apply_live(self) -> None:
        """Send the changed values to the run; each becomes a mark."""
        for task, (weight, rate) in self.live_rows.items():
            if weight is not None and weight.value() != weight.property("sent"):
                self.controller.set_weight(task, weight.value())
                weight.setProperty("sent", weight.value())
            if rate is not None and rate.value() != rate.property("sent"):
                self.controller.set_learning_rate(rate.value(), task or None)
                rate.setProperty("sent", rate.value())
