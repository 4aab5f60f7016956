"""The training settings form: mode, weighting, optimizer, schedule, the
numbers of a run, and what picks the best epoch and stops a run early.
Every field is a project setting, so each change is one undo step and is
saved with the project; the form reads the project again on every training
or task event and keeps nothing of its own."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ..core import monitor
from ..core.commands import SetTaskField, SetTraining
from ..core.settings import DATA_LOADING, DISTRIBUTIONS, MODES, OPTIMIZER_PARAMS, OPTIMIZERS
from ..core.settings import PRECISIONS
from ..core.settings import SCHEDULES, WEIGHTINGS
from ..core.settings import WEIGHTING_PARAMS, TrainingSettings
from .widgets import DocumentView, ErrorLabel, FloatSpinBox, float_step, push_or_reason

MODE_LABELS = {
    "joint": "Joint (weighted sum)",
    "alternating": "Alternating (a task per batch)",
    "soft_sharing": "Soft sharing (a tower per task)",
}
WEIGHTING_LABELS = {
    "fixed": "Fixed weights",
    "uncertainty": "Uncertainty (Kendall)",
    "dwa": "Dynamic weight average",
    "gradnorm": "GradNorm",
    "pcgrad": "PCGrad (project conflicts)",
    "mgda": "MGDA (min-norm)",
    "cagrad": "CAGrad (conflict-averse)",
    "imtl": "IMTL (impartial)",
    "rlw": "RLW (random weights)",
    "gradvac": "GradVac (gradient vaccine)",
    "aligned_mtl": "Aligned-MTL (aligned components)",
    "famo": "FAMO (fast adaptive)",
}
# The hyperparameters of the balancing methods, each shown only while its
# weighting is chosen (WEIGHTING_PARAMS): (label, (lowest, highest), tooltip).
WEIGHTING_FIELDS = {
    "cagrad_c": (
        "CAGrad c",
        (0, 0.9999999999),
        "How far the update may leave the mean gradient, relative to its norm, to help "
        "the task it helps least; in [0, 1), 0: the plain sum (Liu et al. 2021: 0.5)",
    ),
    "gradvac_beta": (
        "GradVac beta",
        (0, 1),
        "How fast each pair of tasks' cosine target follows the cosines seen (a moving "
        "average); 0: the targets stay 0, as PCGrad (Wang et al. 2021: 0.01)",
    ),
    "famo_learning_rate": (
        "FAMO learning rate",
        (1e-9, 10),
        "The Adam learning rate of FAMO's task logits (Liu et al. 2023: 0.025)",
    ),
    "famo_weight_decay": (
        "FAMO weight decay",
        (0, 100),
        "Pulls FAMO's task logits toward equal weights (Liu et al. 2023: 0.001)",
    ),
}
OPTIMIZER_LABELS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
SCHEDULE_LABELS = {
    "random": "Random (by share)",
    "round_robin": "Round robin",
    "proportional": "Proportional to data size",
}
PROJECT_OPTIMIZER = "Project's"
STRATEGY_LABELS = {
    "default": "One device (GPU if any)",
    "mirrored": "All GPUs of this machine",
    "multi-worker": "A cluster (command line)",
}
DATA_LOADING_LABELS = {
    "auto": "Auto (stream large files)",
    "memory": "Whole file in memory",
    "stream": "Streamed from disk",
}
PRECISION_LABELS = {
    "float32": "float32",
    "mixed_bfloat16": "Mixed bfloat16",
    "mixed_float16": "Mixed float16 (loss scaling)",
}
# The optimizer's fields besides the learning rate, each shown only for the
# optimizers that take it (OPTIMIZER_PARAMS): (label, short label, (lowest,
# highest, step from), tooltip). Below 1 is the largest value ten decimals
# show, as the project requires.
OPTIMIZER_FIELDS = {
    "beta_1": (
        "Beta 1",
        "β1",
        (0, 0.9999999999, 0.9),
        "Decay rate of the running mean of the gradients (Keras' default 0.9)",
    ),
    "beta_2": (
        "Beta 2",
        "β2",
        (0, 0.9999999999, 0.999),
        "Decay rate of the running mean of the squared gradients (Keras' default 0.999)",
    ),
    "epsilon": (
        "Epsilon",
        "ε",
        (1e-10, 1, 1e-7),
        "Small constant added to the denominator for numerical stability (Keras' default 1e-7)",
    ),
    "momentum": (
        "Momentum",
        "momentum",
        (0, 0.9999999999, 0.1),
        "Fraction of the previous update added to each step, in [0, 1); 0: none (the default)",
    ),
}
# Task table columns in alternating mode.
# Settings last: its summary is the widest, and Share stays in sight in a narrow dock.
TASK, TASK_OPTIMIZER, TASK_RATE, TASK_SHARE, TASK_FIELDS = range(5)


def monitor_choices(project) -> list[tuple[str, str]]:
    """(monitor, label) for "Best epoch by": the weighted total, then each
    task's validation loss and each metric it computes. A monitor the
    project holds but cannot compute (a file written by hand, a metric taken
    off its task) is listed last as it is, so the form shows what the
    project holds; validation says what to change."""
    choices = [(monitor.TOTAL, "Weighted total validation loss")]
    for task in project.tasks:
        choices += [
            (f"{task.name}:{figure}", f"{task.name}: validation {figure}")
            for figure in ("loss", *task.metrics)
        ]
    current = project.training.monitor
    if current not in dict(choices):
        try:
            name, figure = monitor.parse(current)
        except ValueError:
            choices.append((current, f"{current} (unknown)"))
        else:
            missing = (
                "not computed" if any(t.name == name for t in project.tasks) else "no such task"
            )
            choices.append((current, f"{name}: validation {figure} ({missing})"))
    return choices


def _combo(labels: dict[str, str], keys) -> QComboBox:
    combo = QComboBox()
    for key in keys:
        combo.addItem(labels.get(key, key), key)
    return combo


def _float(lo: float, hi: float, default: float) -> FloatSpinBox:
    box = FloatSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(float_step(default))
    box.setKeyboardTracking(False)
    return box


def optimizer_field_box(key: str) -> FloatSpinBox:
    """The spin box of an optimizer field (OPTIMIZER_FIELDS), in its range."""
    lo, hi, default = OPTIMIZER_FIELDS[key][2]
    box = _float(lo, hi, default)
    box.setToolTip(OPTIMIZER_FIELDS[key][3])
    return box


def optimizer_summary(spec) -> str:
    """ "β1 0.9, β2 0.999, ε 1e-07": the fields this optimizer takes."""
    return ", ".join(
        f"{OPTIMIZER_FIELDS[key][1]} {getattr(spec, key):g}" for key in OPTIMIZER_PARAMS[spec.name]
    )


def ask_optimizer_fields(parent, task: str, spec):
    """The user's choice of `spec`'s fields besides the learning rate (the
    ones its optimizer takes), or None when cancelled. A function of its
    own so tests can answer for the user."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Optimizer of {task}")
    form = QFormLayout(dialog)
    form.addRow(QLabel(f"{OPTIMIZER_LABELS[spec.name]}, learning rate {spec.learning_rate:g}"))
    boxes = {}
    for key in OPTIMIZER_PARAMS[spec.name]:
        boxes[key] = optimizer_field_box(key)
        boxes[key].setValue(getattr(spec, key))
        form.addRow(OPTIMIZER_FIELDS[key][0], boxes[key])
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.Accepted:
        return None
    return replace(spec, **{key: box.value() for key, box in boxes.items()})


def _int(lo: int, hi: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setKeyboardTracking(False)
    box.setGroupSeparatorShown(True)
    return box


# The settings shown in a spin box of the same name: each one is read from
# the project and pushed back as SetTraining(name, value).
NUMBER_FIELDS = (
    "gradnorm_alpha",
    "dwa_temperature",
    *WEIGHTING_FIELDS,
    "soft_sharing_lambda",
    "batch_size",
    "epochs",
    "seed",
    "steps_per_call",
    "affinity_every",
    "patience",
    "min_delta",
)


class TrainingSettingsForm(DocumentView):
    follows = (("changed", "project_changed"),)

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = _combo(MODE_LABELS, MODES)
        self.weighting = _combo(WEIGHTING_LABELS, WEIGHTINGS)
        self.gradnorm_alpha = _float(0, 100, 1.5)
        self.dwa_temperature = _float(0.01, 100, 2.0)
        for key, (_, (lo, hi), _) in WEIGHTING_FIELDS.items():
            setattr(self, key, _float(lo, hi, getattr(TrainingSettings(), key)))
        self.optimizer = _combo(OPTIMIZER_LABELS, OPTIMIZERS)
        self.learning_rate = _float(1e-9, 10, 0.001)
        for key in OPTIMIZER_FIELDS:
            setattr(self, key, optimizer_field_box(key))
        self.schedule = _combo(SCHEDULE_LABELS, SCHEDULES)
        self.soft_sharing_lambda = _float(0, 1e6, 0.01)
        self.batch_size = _int(1, 1_000_000)
        self.epochs = _int(1, 1_000_000)
        self.seed = _int(0, 2**31 - 1)
        self.steps_per_call = _int(1, 10000)
        self.affinity_every = _int(0, 1_000_000)
        self.affinity_every.setSpecialValueText("off")
        self.strategy = _combo(STRATEGY_LABELS, DISTRIBUTIONS)
        self.precision = _combo(PRECISION_LABELS, PRECISIONS)
        self.data_loading = _combo(DATA_LOADING_LABELS, DATA_LOADING)
        self.task_table = QTableWidget(0, 5)
        self.task_table.setHorizontalHeaderLabels(
            ["Task", "Optimizer", "Learning rate", "Share", "Settings"]
        )
        self.task_table.verticalHeader().hide()
        self.task_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.task_table.horizontalHeader().setStretchLastSection(True)
        self.task_table.setToolTip(
            "Alternating mode: each task's own optimizer (or the project's), and its share "
            "of the batches under the random schedule"
        )
        # The best epoch and early stopping.
        self.monitor = QComboBox()
        # Task names can be long: the dock's width decides, not the longest.
        self.monitor.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.monitor.setMinimumContentsLength(12)
        self.early_stopping = QCheckBox("Stop when no longer improving")
        self.patience = _int(1, 100000)
        self.min_delta = _float(0, 1e6, 0.01)
        self.error = ErrorLabel()

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        rows = [
            ("Mode", self.mode, "How the tasks share the training steps"),
            ("Weighting", self.weighting, "How the task losses are weighted in the sum"),
            (
                "GradNorm alpha",
                self.gradnorm_alpha,
                "Restoring force: higher pulls the tasks' training rates together harder",
            ),
            (
                "DWA temperature",
                self.dwa_temperature,
                "Higher makes the weights more even across tasks",
            ),
            *(
                (label, getattr(self, key), tip)
                for key, (label, _, tip) in WEIGHTING_FIELDS.items()
            ),
            ("Optimizer", self.optimizer, ""),
            ("Learning rate", self.learning_rate, ""),
            *(
                (label, getattr(self, key), tip)
                for key, (label, _, _, tip) in OPTIMIZER_FIELDS.items()
            ),
            ("Schedule", self.schedule, "Which task's batch comes next"),
            (
                "Soft-sharing lambda",
                self.soft_sharing_lambda,
                "Weight of the squared distance between the towers' tied weights",
            ),
            ("Batch size", self.batch_size, ""),
            ("Epochs", self.epochs, ""),
            ("Seed", self.seed, "Same seed, same initial weights and batch order"),
            (
                "Steps per call",
                self.steps_per_call,
                "Training steps run inside one compiled call: more is faster, fewer reacts "
                "to Pause sooner",
            ),
            (
                "Task affinity every",
                self.affinity_every,
                "Measure how a step for each task changes the others' losses (Fifty et al. "
                "2021) every this many steps (at most once per compiled call), recorded with "
                "the run in affinity.csv; off: 0. Each measurement costs about one gradient "
                "and one forward pass per task",
            ),
            (
                "Devices",
                self.strategy,
                "Where the run trains: TensorFlow's default device (the first GPU, else the "
                "CPU); every GPU of this machine, each taking a share of the batch "
                "(tf.distribute.MirroredStrategy); or a cluster of machines, started with "
                "`mtl-studio train --strategy multi-worker` on each (docs/scaling.md)",
            ),
            (
                "Precision",
                self.precision,
                "The numbers the layers compute in; weights and task outputs stay float32. "
                "Mixed bfloat16 pays on GPUs and on CPUs with bf16 units for wide layers and "
                "large batches; mixed float16 (GPUs) scales the loss so small gradients do "
                "not vanish (docs/scaling.md)",
            ),
            (
                "Data loading",
                self.data_loading,
                "How training reads CSV and NPZ files: whole into memory, or streamed from "
                "disk in blocks (for files larger than memory; the same batches either way). "
                "Auto streams files of 256 MB and more (docs/scaling.md)",
            ),
        ]
        self.rows = {}
        for label, widget, tip in rows:
            widget.setToolTip(tip)
            self.form.addRow(label, widget)
            self.rows[widget] = label
        self.tasks_label = QLabel("Per task (alternating mode)")

        self.best_box = QGroupBox("Best epoch and early stopping")
        self.best_form = QFormLayout(self.best_box)
        self.best_form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        best_rows = [
            (
                "Best epoch by",
                self.monitor,
                "The validation figure that picks the run's best epoch, whose model is saved as "
                "model-best.keras; early stopping watches it too. The weighted total adds each "
                "task's validation loss times its weight as set in the Tasks panel",
            ),
            (
                "Early stopping",
                self.early_stopping,
                "Stop the run when the quantity chosen in Best epoch by has not improved by more "
                "than the minimum change for as many epochs as the patience (needs a validation "
                "split above 0, in the Data panel)",
            ),
            (
                "Patience (epochs)",
                self.patience,
                "How many epochs without an improvement early stopping waits before it stops "
                "the run",
            ),
            (
                "Minimum change",
                self.min_delta,
                "A change of the quantity in Best epoch by must be larger than this to count as "
                "an improvement, for the best epoch and for early stopping",
            ),
        ]
        for label, widget, tip in best_rows:
            widget.setToolTip(tip)
            self.best_form.addRow(label, widget)
            self.rows[widget] = label

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.form)
        layout.addWidget(self.tasks_label)
        layout.addWidget(self.task_table)
        layout.addWidget(self.best_box)
        layout.addWidget(self.error)

        choices = ("mode", "weighting", "optimizer", "schedule", "strategy", "precision")
        for name in (*choices, "data_loading"):
            getattr(self, name).activated.connect(lambda i, n=name: self._choice_edited(n))
        for name in NUMBER_FIELDS:
            getattr(self, name).valueChanged.connect(lambda v, n=name: self._set(n, v))
        for name in ("learning_rate", *OPTIMIZER_FIELDS):
            getattr(self, name).valueChanged.connect(lambda v, n=name: self._optimizer_edited(n, v))
        self.monitor.activated.connect(lambda i: self._set("monitor", self.monitor.itemData(i)))
        self.early_stopping.toggled.connect(lambda on: self._set("early_stopping", on))
        self.set_document(document)

    # --- showing -----------------------------------------------------------------

    def project_changed(self, event) -> None:
        if event.type in ("training_changed", "project_changed") or event.type.startswith("task_"):
            self.refresh()

    def refresh(self) -> None:
        settings = self.document.project.training
        for widget in self.rows:
            widget.blockSignals(True)
        try:
            for name in ("mode", "weighting", "schedule", "strategy", "precision", "data_loading"):
                combo = getattr(self, name)
                combo.setCurrentIndex(combo.findData(getattr(settings, name)))
            self.optimizer.setCurrentIndex(self.optimizer.findData(settings.optimizer.name))
            for name in ("learning_rate", *OPTIMIZER_FIELDS):
                getattr(self, name).setValue(getattr(settings.optimizer, name))
            for name in NUMBER_FIELDS:
                getattr(self, name).setValue(getattr(settings, name))
            self._fill_monitor()
            self.early_stopping.setChecked(settings.early_stopping)
        finally:
            for widget in self.rows:
                widget.blockSignals(False)
        mode, weighting = settings.mode, settings.weighting
        alternating = mode == "alternating"
        # Only the fields that matter for the chosen mode and weighting.
        self.form.setRowVisible(self.weighting, not alternating)
        self.form.setRowVisible(self.gradnorm_alpha, not alternating and weighting == "gradnorm")
        self.form.setRowVisible(self.dwa_temperature, not alternating and weighting == "dwa")
        for key in WEIGHTING_FIELDS:
            chosen = key in WEIGHTING_PARAMS.get(weighting, ())
            self.form.setRowVisible(getattr(self, key), not alternating and chosen)
        self.form.setRowVisible(self.schedule, alternating)
        self.form.setRowVisible(self.soft_sharing_lambda, mode == "soft_sharing")
        for name in OPTIMIZER_FIELDS:
            taken = name in OPTIMIZER_PARAMS[settings.optimizer.name]
            self.form.setRowVisible(getattr(self, name), taken)
        self.tasks_label.setVisible(alternating)
        self.task_table.setVisible(alternating)
        if alternating:
            self._fill_task_table()
        # The minimum change also picks the best epoch: it stays editable.
        self.patience.setEnabled(settings.early_stopping)

    def _fill_monitor(self) -> None:
        """The choices of "Best epoch by" (rebuilt only when they change, so
        an open list is left alone) and the project's choice among them."""
        combo = self.monitor
        choices = monitor_choices(self.document.project)
        shown = [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]
        if shown != choices:
            combo.clear()
            for key, text in choices:
                combo.addItem(text, key)
        combo.setCurrentIndex(combo.findData(self.document.project.training.monitor))

    def _fill_task_table(self) -> None:
        project = self.document.project
        table = self.task_table
        table.setRowCount(len(project.tasks))
        for row, task in enumerate(project.tasks):
            name = QLabel(f"  {task.name}  ")
            name.setStyleSheet(f"color: {project.task_color(task.name)}; font-weight: bold;")
            table.setCellWidget(row, TASK, name)
            combo = _combo({**OPTIMIZER_LABELS, "": PROJECT_OPTIMIZER}, ("",) + OPTIMIZERS)
            combo.setCurrentIndex(combo.findData(task.optimizer.name if task.optimizer else ""))
            combo.activated.connect(lambda i, t=task.name, c=combo: self._task_optimizer(t, c))
            table.setCellWidget(row, TASK_OPTIMIZER, combo)
            rate = _float(1e-9, 10, 0.001)
            spec = task.optimizer or project.training.optimizer
            rate.setValue(spec.learning_rate)
            rate.setEnabled(task.optimizer is not None)
            rate.valueChanged.connect(lambda v, t=task.name: self._task_rate(t, v))
            table.setCellWidget(row, TASK_RATE, rate)
            fields = QPushButton(optimizer_summary(spec))
            fields.setEnabled(task.optimizer is not None)
            fields.setToolTip(
                f"The other settings of {task.name}'s own optimizer"
                if task.optimizer is not None
                else "The project's optimizer: its settings are in the form above"
            )
            fields.clicked.connect(lambda checked=False, t=task.name: self.edit_task_optimizer(t))
            table.setCellWidget(row, TASK_FIELDS, fields)
            share = _float(1e-6, 1e6, 1.0)
            share.setValue(task.schedule_weight)
            share.setEnabled(project.training.schedule == "random")
            share.valueChanged.connect(
                lambda v, t=task.name: self._push(SetTaskField(t, "schedule_weight", v))
            )
            table.setCellWidget(row, TASK_SHARE, share)
        table.resizeColumnsToContents()
        height = (
            table.horizontalHeader().height()
            + sum(table.rowHeight(r) for r in range(table.rowCount()))
            + table.horizontalScrollBar().sizeHint().height()  # a narrow dock scrolls it
            + 4
        )
        table.setFixedHeight(min(height, 220))

    # --- editing -------------------------------------------------------------------

    def _push(self, command) -> None:
        reason = push_or_reason(self.document, command)
        self.error.show_reason(reason)
        if reason:
            self.refresh()  # back to what the project holds

    def _set(self, field: str, value) -> None:
        if getattr(self.document.project.training, field) != value:
            self._push(SetTraining(field, value))

    def _choice_edited(self, name: str) -> None:
        value = getattr(self, name).currentData()
        if name == "optimizer":
            # The other fields stay: back to Adam, its betas are as they were.
            spec = self.document.project.training.optimizer
            if value != spec.name:
                self._push(SetTraining("optimizer", replace(spec, name=value)))
        else:
            self._set(name, value)

    def _optimizer_edited(self, field: str, value: float) -> None:
        """The learning rate or another field of the optimizer: one undo step."""
        spec = self.document.project.training.optimizer
        if value != getattr(spec, field):
            self._push(SetTraining("optimizer", replace(spec, **{field: value})))

    def _task_optimizer(self, task: str, combo: QComboBox) -> None:
        name = combo.currentData()
        current = self.document.project.task(task).optimizer
        if name == (current.name if current else ""):
            return
        if not name:
            value = None
        else:
            # From the task's own settings, or the project's (its betas, its momentum).
            value = replace(current or self.document.project.training.optimizer, name=name)
        self._push(SetTaskField(task, "optimizer", value))

    def edit_task_optimizer(self, task: str) -> None:
        """A task's own optimizer's other fields (betas, epsilon, momentum),
        in a dialog: one undo step when accepted."""
        current = self.document.project.task(task).optimizer
        if current is None:
            return
        value = ask_optimizer_fields(self, task, current)
        if value is not None and value != current:
            self._push(SetTaskField(task, "optimizer", value))

    def _task_rate(self, task: str, value: float) -> None:
        current = self.document.project.task(task).optimizer
        if current is not None and current.learning_rate != value:
            self._push(SetTaskField(task, "optimizer", replace(current, learning_rate=value)))
