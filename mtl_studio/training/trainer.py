"""The Trainer: trains a project in joint, alternating or soft-sharing mode.

Speed comes from running several steps inside one compiled call: the
training rows live on the device, each call gets a block of batch indices
(and, when alternating, the task of each step), and returns the step losses
as one array. Loss weights and learning rates are variables, so changing
them between calls takes effect at the next step without re-tracing.

Batches are a pure function of (seed, epoch), so the position in the data
is just the step count: a checkpoint holds the variables and that count,
and a resumed run sees exactly the batches an uninterrupted run would.

Control (pause, resume, stop, weight and learning-rate changes) may come
from any thread; it is applied between calls.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np

from ..core import monitor
from ..core.project import Project
from ..core.settings import OPTIMIZER_CLASSES, OptimizerSpec
from ..core.validation import errors, validate
from ..core.wording import counted
from ..data.errors import DataError
from ..data.prepare import PreparedData, prepare
from . import batches
from . import checkpoint as ckpt
from .checkpoint import CheckpointError, CheckpointWriteError
from . import distribute
from .devices import training_devices
from .precision import LossScale, needs_loss_scale, uses_xla
from .feed import make_feed
from .distribute import DistributionError, make_distribution
from . import events as ev
from . import metrics as metrics_mod
from .affinity import compile_affinity
from .builder import BuildError, build_model
from .losses import batch_sum_loss, loss_function
from .tf_import import keras, tf
from .weighting import SharedCombination, make_strategy

FLUSH_SECONDS = 0.05  # events reach the callback at most this often
# The gradient cosine costs about one training step; a few per second is
# plenty for a curve, and keeps it off the speed of short calls.
COSINE_SECONDS = 0.25
EVAL_CHUNK = 1024


class TrainingError(Exception):
    """The run cannot start: the message says why and what to change."""


class Trainer:
    def __init__(
        self,
        project: Project,
        project_dir: Path | None = None,
        callback: Callable[[list], None] | None = None,
        *,
        checkpoint_path: Path | None = None,
        data: PreparedData | None = None,
        flush_seconds: float = FLUSH_SECONDS,
        xla: bool = True,
        task_order=None,
        distribution=None,
    ) -> None:
        self.project = project.copy()  # a frozen copy: edits elsewhere never reach a run
        self.project_dir = project_dir
        self.callback = callback
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.settings = self.project.training
        self.tasks = [t.name for t in self.project.tasks]
        self.step = 0  # steps taken
        self._data = data
        self._pending: list = []
        self._last_flush = 0.0
        self.flush_seconds = flush_seconds
        self.xla = xla  # compile the step with XLA (falls back when it cannot)
        self.xla_error = ""
        self._first = True
        self._last_cosine = -math.inf
        self._controls: queue.Queue = queue.Queue()
        self._run_flag = threading.Event()
        self._run_flag.set()
        self.waiting = False  # paused and between calls: no step is under way
        self._stop_flag = threading.Event()
        self._ready = False
        self._started = 0.0
        # The best epoch by the monitored quantity (core/monitor.py):
        # {"epoch", "step", "value"}, its model variables, and the epochs since.
        self.best: dict | None = None
        self.best_values: list[np.ndarray] | None = None
        self.since_best = 0
        # Alternating mode: a given sequence of task names, repeated over the
        # run (step s trains task_order[s % len]), instead of the schedule.
        self.task_order = list(task_order) if task_order is not None else None
        # A tf.distribute strategy (training/distribute.py), or None: the
        # project's strategy setting, made at set-up.
        self.distribution = distribution
        self.unwritable = False  # a file of the run could not be written

    # --- control from any thread -------------------------------------------

    def pause(self) -> None:
        self._run_flag.clear()

    def resume(self) -> None:
        self._run_flag.set()

    def stop(self) -> None:
        self._stop_flag.set()
        self._run_flag.set()  # a paused run must wake up to stop

    @property
    def paused(self) -> bool:
        return not self._run_flag.is_set()

    def set_weight(self, task: str, value: float) -> None:
        self._controls.put(("weight", task, float(value)))

    def set_learning_rate(self, value: float, task: str | None = None) -> None:
        """task None: the shared optimizer (joint), or every task's (alternating)."""
        self._controls.put(("learning_rate", task, float(value)))

    # --- set-up --------------------------------------------------------------

    def setup(self) -> None:
        """Check the project, prepare the data, build the model and compile
        the step. Raises TrainingError, BuildError or DataError."""
        if self._ready:
            return
        problems = errors(validate(self.project))
        if problems:
            raise BuildError(problems)
        if self._data is None:
            self._data = prepare(self.project, self.project_dir)
        data = self._data
        mode = self.settings.mode
        if mode != "alternating" and len(data.datasets) > 1:
            own = data.datasets[1]
            raise TrainingError(
                f"{mode} training needs one data set for all tasks, but {own.label} is "
                "separate: use alternating mode, or give every task the project's data"
            )
        self._check_monitor(data)
        if self.distribution is None and self.settings.strategy != "default":
            self.distribution = make_distribution(self.settings.strategy)
        if self.distribution is None:
            self._build(data)
        else:
            self._check_replicas(data)
            # Every variable (model, optimizers, weighting, data) is made
            # under the strategy, so each replica holds its copy.
            with self.distribution.scope():
                self._build(data)
        self._ready = True

    def _check_replicas(self, data: PreparedData) -> None:
        """Refuse up front what a strategy cannot split; XLA is off (a
        step over several devices is compiled by TensorFlow itself)."""
        n = self.distribution.num_replicas_in_sync
        self.xla = False
        if needs_loss_scale(self.settings.precision):
            raise TrainingError(
                "mixed_float16 skips the steps whose scaled gradients overflow, which the "
                "replicas of a strategy cannot agree on inside a step: use mixed_bfloat16 "
                "or float32 with a strategy"
            )
        for d in data.datasets:
            batch = max(1, min(self.settings.batch_size, d.train.n))
            if batch < n:
                raise TrainingError(
                    f"a batch of {counted(batch, 'row')} ({d.label}) cannot be split across {n} "
                    f"replicas: use a batch size of at least {n}"
                )

    def _build(self, data: PreparedData) -> None:
        """Build the model, its optimizers and weighting, and compile the step."""
        mode = self.settings.mode
        t = tf()
        precision = self.settings.precision
        self.loss_scale = LossScale() if needs_loss_scale(precision) else None
        if not uses_xla(precision):
            self.xla = False
        self.built = build_model(self.project, mode=mode, seed=self.settings.seed)
        self.model = self.built.model
        self.loss_fns = [loss_function(task.loss) for task in self.project.tasks]
        self._sums_batch = t.constant([batch_sum_loss(task.loss) for task in self.project.tasks])
        batch = self.settings.batch_size
        self.batch = {i: max(1, min(batch, d.train.n)) for i, d in enumerate(data.datasets)}
        self.step_var = t.Variable(0, dtype=t.int64, trainable=False, name="step")

        # The training rows in variables the step gathers from: all of them,
        # on the device once, or (data streamed from disk) each call's rows,
        # read ahead of the call (training/feed.py).
        self.feed = make_feed(self)
        self.train_x, self.train_y = self.feed.train_x, self.feed.train_y

        self.variables = list(self.model.trainable_variables)
        index = {id(v): i for i, v in enumerate(self.variables)}
        self.shared_index = self._variable_indices(self.project.shared_nodes(), index)
        weights = [task.weight for task in self.project.tasks]
        self.strategy = make_strategy(
            self.settings.weighting if mode != "alternating" else "fixed",
            self.tasks,
            weights,
            self.settings,
            self.settings.seed,
        )
        if self.strategy.name == "gradnorm":
            self.strategy.last_shared = self._last_shared_layer(index)
            if not self.strategy.last_shared:
                raise TrainingError(
                    "GradNorm needs a shared trunk with weights: share a layer "
                    "between the tasks, or choose another weighting"
                )
        if isinstance(self.strategy, SharedCombination) and not self.shared_index:
            raise TrainingError(
                f"{self.strategy.title} needs a shared trunk with weights: share a layer "
                "between the tasks, or choose another weighting"
            )

        opt = self.settings.optimizer
        if mode == "alternating":
            self.task_vars = []
            self.optimizers = []
            for task in self.project.tasks:
                nodes = self.project.task_nodes(task.name)
                idx = self._variable_indices(nodes, index)
                self.task_vars.append([self.variables[i] for i in idx])
                spec = task.optimizer or opt
                o = make_optimizer(spec)
                o.build(self.task_vars[-1])
                self.optimizers.append(o)
            self._call = self._compile(self.xla)
        else:
            o = make_optimizer(opt)
            o.build(self.variables + self.strategy.trainable)
            self.optimizers = [o]
            self.tied = self.built.tied_variables() if mode == "soft_sharing" else []
            self._call = self._compile(self.xla)
        self._cosine = self._compile_cosine() if self.shared_index and len(self.tasks) > 1 else None
        self._affinity = None
        if self._cosine is not None and self.settings.affinity_every and mode != "soft_sharing":
            shared = [self.variables[i] for i in self.shared_index]
            self._affinity = compile_affinity(self.model, self.loss_fns, self.tasks, shared)
        self._forward = t.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        self.steps_per_epoch = batches.steps_per_epoch(*self._sizes_and_batches())
        self._epoch_sums = np.zeros(len(self.tasks))
        self._epoch_counts = np.zeros(len(self.tasks), np.int64)

    def _check_monitor(self, data: PreparedData) -> None:
        task, figure = monitor.parse(self.settings.monitor)
        if task is not None:
            if task not in self.tasks:
                raise TrainingError(
                    f"the best epoch is chosen by task '{task}', which the "
                    "project does not have: choose another monitored quantity"
                )
            if figure != "loss" and figure not in self.project.task(task).metrics:
                raise TrainingError(
                    f"the best epoch is chosen by {monitor.label(self.settings.monitor)}, "
                    f"which the task does not compute: add {figure} to its metrics"
                )
        if self.settings.early_stopping and not any(d.val.n for d in data.datasets):
            raise TrainingError(
                "early stopping watches validation figures, but there are no "
                "validation rows: set a validation share above 0"
            )

    def _variable_indices(self, node_ids, index) -> list[int]:
        found = []
        for node_id in node_ids:
            for layer_name in self.built.layer_names(node_id):
                for v in self.model.get_layer(layer_name).trainable_weights:
                    if id(v) in index and index[id(v)] not in found:
                        found.append(index[id(v)])
        return sorted(found)

    def _last_shared_layer(self, index) -> list[int]:
        """GradNorm's W: the weights of the last shared layer that has any."""
        shared = set(self.project.shared_nodes())
        order, _ = self.project.graph.topological_order()
        for node_id in reversed(order):
            if node_id in shared:
                idx = self._variable_indices([node_id], index)
                if idx:
                    return idx
        return []

    def _sizes_and_batches(self) -> tuple[list[int], list[int]]:
        """Each data set's training rows and batch size."""
        datasets = self._data.datasets
        return [d.train.n for d in datasets], [self.batch[i] for i in range(len(datasets))]

    # --- the compiled steps ---------------------------------------------------

    def _penalty(self):
        t = tf()
        if not getattr(self, "tied", None):
            return None
        total = 0.0
        for group in self.tied:
            for a in range(len(group)):
                for b in range(a + 1, len(group)):
                    total += t.reduce_sum(t.square(group[a] - group[b]))
        return self.settings.soft_sharing_lambda * total

    def _joint_step(self, rows):
        t = tf()
        rows, fraction = distribute.local_rows(rows)
        x = {k: t.gather(v, rows) for k, v in self.train_x[0].items()}
        y = self.train_y[0]
        strategy = self.strategy
        # What each replica's task loss counts for in the global batch's.
        parts = distribute.loss_parts(self._sums_batch, fraction)

        def task_losses():
            out = self.model(x, training=True)
            losses = t.stack(
                [
                    fn(t.gather(y[name], rows), out[name])
                    for fn, name in zip(self.loss_fns, self.tasks)
                ]
            )
            return distribute.share(losses, parts)

        with t.GradientTape(persistent=strategy.needs_persistent_tape) as tape:
            losses = task_losses()
            terms = strategy.terms(losses, self._penalty())
        self.step_var.assign_add(1)
        # The weights in force for this step, before an adaptive update (or,
        # for a strategy that sets them in gradients(), as it set them).
        weights = t.identity(strategy.current_weights())
        grads = strategy.gradients(
            self._tape(tape), terms, self.variables, self.shared_index, self.step_var
        )
        if strategy.weights_after_gradients:
            weights = t.identity(strategy.current_weights())
        del tape
        variables = self.variables + strategy.trainable
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        self._update(self.optimizers[0], [g for g, _ in pairs], [v for _, v in pairs])
        strategy.after_update(losses, task_losses)
        pen = t.zeros([]) if terms.penalty is None else t.cast(terms.penalty, t.float32)
        total = t.reduce_sum(weights * losses) + pen
        return t.concat([losses, [total, pen], weights], axis=0)

    def _compile_joint(self, xla: bool):
        t = tf()
        width = 2 * len(self.tasks) + 2

        # One signature for any number of steps: the short last call of an
        # epoch must not trace the step again (XLA compiles once per length,
        # and an epoch has at most two: steps_per_call and the remainder).
        step = self._replicated(self._joint_step)

        @t.function(input_signature=[t.TensorSpec([None, None], t.int32)], jit_compile=xla)
        def call(indices):
            n = t.shape(indices)[0]
            out = t.TensorArray(t.float32, size=n, element_shape=[width])
            for i in t.range(n):
                out = out.write(i, step(indices[i]))
            return out.stack()

        return lambda plan: call(plan[1])

    def _alternating_step(self, k: int, rows):
        t = tf()
        task = self.project.tasks[k]
        d = self._data.task_dataset[task.name]
        # Rows past this data set's batch size only pad the block to the
        # largest data set's: they must not count twice in the loss.
        rows, fraction = distribute.local_rows(rows[: self.batch[d]])
        x = {name: t.gather(v, rows) for name, v in self.train_x[d].items()}
        y = t.gather(self.train_y[d][task.name], rows)
        with t.GradientTape() as tape:
            out = self.model(x, training=True)
            loss = distribute.share(
                self.loss_fns[k](y, out[task.name]),
                distribute.loss_parts(self._sums_batch[k], fraction),
            )
            weighted = self.strategy.w[k] * loss
        variables = self.task_vars[k]
        grads = self._tape(tape).gradient(weighted, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        self._update(self.optimizers[k], [g for g, _ in pairs], [v for _, v in pairs])
        return loss

    def _alternating_row(self, k, rows):
        """One alternating step of task k (a tensor, or a Python int for a
        step compiled for one task): the output row."""
        t = tf()
        k_tasks = len(self.tasks)
        if isinstance(k, int):
            loss = self._alternating_step(k, rows)
        else:
            branches = [(lambda j=j: self._alternating_step(j, rows)) for j in range(k_tasks)]
            loss = t.switch_case(k, branches)
        self.step_var.assign_add(1)
        one_hot = t.one_hot(k, k_tasks, on_value=True, off_value=False)
        losses = t.where(one_hot, loss, float("nan"))
        weights = self.strategy.w
        total = t.reshape(t.gather(weights, k) * loss, [1])
        return t.concat([losses, total, [0.0], weights], axis=0)

    def _compile_alternating(self, xla: bool):
        t = tf()
        width = 2 * len(self.tasks) + 2
        if self.distribution is not None:
            return self._compile_alternating_per_task()

        step = self._replicated(self._alternating_row)

        @t.function(
            input_signature=[t.TensorSpec([None], t.int32), t.TensorSpec([None, None], t.int32)],
            jit_compile=xla,
        )
        def call(task_ids, indices):
            n = t.shape(indices)[0]
            out = t.TensorArray(t.float32, size=n, element_shape=[width])
            for i in t.range(n):
                out = out.write(i, step(task_ids[i], indices[i]))
            return out.stack()

        return lambda plan: call(plan[0], plan[1])

    def _compile_alternating_per_task(self):
        """Alternating under a strategy: replicas synchronise inside the
        update, which tf.distribute cannot do inside a branch on the task
        (switch_case), so each task gets its own compiled step and the host
        takes the steps one by one, in the plan's order."""
        t = tf()
        calls = []
        for k in range(len(self.tasks)):
            step = self._replicated(lambda rows, k=k: self._alternating_row(k, rows))
            calls.append(t.function(step, input_signature=[t.TensorSpec([None], t.int32)]))

        def call(plan):
            task_ids, indices = plan
            return t.stack([calls[int(k)](rows) for k, rows in zip(task_ids, indices)])

        return call

    def _tape(self, tape):
        """The step's tape as the gradient rules see it: averaged over the
        replicas (distribute.py) and, with mixed_float16, of the scaled
        loss (precision.py)."""
        tape = distribute.ReducedTape(tape)
        return tape if self.loss_scale is None else self.loss_scale.tape(tape)

    def _update(self, optimizer, grads, variables) -> None:
        """The optimizer's update of a step (skipped, with mixed_float16,
        when the scaled gradients overflowed)."""
        if self.loss_scale is None:
            distribute.apply_update(optimizer, grads, variables)
        else:
            self.loss_scale.apply(lambda: distribute.apply_update(optimizer, grads, variables))

    def _replicated(self, step):
        """One step, run on every replica under a strategy: each replica's
        output row is the same (distribute.py), the first one is taken."""
        if self.distribution is None:
            return step
        strategy = self.distribution

        def run(*args):
            return strategy.experimental_local_results(strategy.run(step, args=args))[0]

        return run

    def _compile(self, xla: bool):
        if self.settings.mode == "alternating":
            return self._compile_alternating(xla)
        return self._compile_joint(xla)

    def _first_call(self, block):
        """The first call compiles the whole call with XLA (1.7 times the
        speed of plain TensorFlow on a CPU); a model XLA cannot compile falls
        back to plain TensorFlow. Compilation fails before any variable
        changes, so the retry starts from the same state."""
        t = tf()
        try:
            out = self._call(block)
        except (
            t.errors.InvalidArgumentError,
            t.errors.UnimplementedError,
            t.errors.InternalError,
        ) as exc:
            if not self.xla:
                raise
            self.xla = False
            self.xla_error = str(exc).splitlines()[0][:300]
            self._call = self._compile(False)
            out = self._call(block)
        self._first = False
        return out

    def _compile_cosine(self):
        """Cosine similarity of each pair of task gradients on the shared trunk."""
        t = tf()
        shared = [self.variables[i] for i in self.shared_index]
        pairs = [(a, b) for a in range(len(self.tasks)) for b in range(a + 1, len(self.tasks))]

        @t.function(reduce_retracing=True)
        def cosine(x, y):
            with t.GradientTape(persistent=True) as tape:
                out = self.model(x, training=False)
                losses = [fn(y[name], out[name]) for fn, name in zip(self.loss_fns, self.tasks)]
            flat = []
            for loss in losses:
                grads = tape.gradient(loss, shared)
                flat.append(
                    t.concat(
                        [
                            t.reshape(g if g is not None else t.zeros_like(v), [-1])
                            for g, v in zip(grads, shared)
                        ],
                        0,
                    )
                )
            del tape
            values = []
            for a, b in pairs:
                denom = t.norm(flat[a]) * t.norm(flat[b])
                values.append(
                    t.where(
                        denom > 0, t.reduce_sum(flat[a] * flat[b]) / t.maximum(denom, 1e-30), 0.0
                    )
                )
            return t.stack(values)

        self._cosine_pairs = pairs
        return cosine

    # --- batches ----------------------------------------------------------------

    def epoch_plan(self, epoch: int) -> tuple[np.ndarray | None, np.ndarray]:
        """Task of each step (alternating) and batch row indices, [steps, batch]."""
        seed = self.settings.seed
        data = self._data
        if self.settings.mode != "alternating":
            return None, batches.joint_batches(
                seed, epoch, data.datasets[0].train.n, self.batch[0], self.steps_per_epoch
            )
        tasks = self.project.tasks
        return batches.alternating_plan(
            seed,
            epoch,
            self.steps_per_epoch,
            self.settings.schedule,
            [t.schedule_weight for t in tasks],
            [data.task_dataset[t.name] for t in tasks],
            *self._sizes_and_batches(),
            task_ids=self._given_tasks(epoch),
        )

    def _given_tasks(self, epoch: int) -> np.ndarray | None:
        """The task of each step of `epoch` from task_order, or None."""
        if not self.task_order:
            return None
        order = self.task_order
        unknown = [t for t in order if t not in self.tasks]
        if unknown:
            raise TrainingError(
                f"task_order names task '{unknown[0]}', which the project "
                f"does not have (tasks: {', '.join(self.tasks)})"
            )
        first = epoch * self.steps_per_epoch
        return np.array(
            [
                self.tasks.index(order[(first + i) % len(order)])
                for i in range(self.steps_per_epoch)
            ],
            np.int32,
        )

    # --- running ------------------------------------------------------------------

    def run(self, epochs: int | None = None) -> ev.RunFinished:
        """Train until `epochs` (default: the project's) are done, the run is
        stopped, or a loss goes NaN. Never raises for a training failure: it
        returns (and reports) a RunFinished event with the status."""
        epoch = self.step // self.steps_per_epoch if self._ready else 0
        try:
            self.setup()
            epochs = epochs or self.settings.epochs
            total_steps = epochs * self.steps_per_epoch
            self._started = time.perf_counter()
            self._emit(
                ev.RunStarted(
                    self.tasks,
                    self.settings.mode,
                    self.strategy.name,
                    total_steps,
                    self.steps_per_epoch,
                    epochs,
                    self.step,
                    training_devices(self.distribution),
                ),
                True,
            )
            self._emit(ev.Weights(self.step, self._weights()))
            self._snapshot = self._values()
            step_times: list[tuple[float, int]] = [(time.perf_counter(), self.step)]
            spc = self.settings.steps_per_call
            while self.step < total_steps:
                epoch, in_epoch = divmod(self.step, self.steps_per_epoch)
                plan = self.epoch_plan(epoch)
                while in_epoch < self.steps_per_epoch:
                    if not self._run_flag.is_set():
                        # Parked by pause(): a call under way when it came
                        # (it may have been compiling) has ended.
                        self.waiting = True
                        self._run_flag.wait()
                        self.waiting = False
                    if self._stop_flag.is_set():
                        return self._finish_stopped(epoch)
                    self._apply_controls()
                    n = min(spc, self.steps_per_epoch - in_epoch)
                    block = self.feed.block(plan, epoch, in_epoch, n)
                    out = (self._first_call(block) if self._first else self._call(block)).numpy()
                    bad = self._first_bad(out, block[0])
                    if bad is not None:
                        return self._finish_nan(epoch, in_epoch, bad, out)
                    self._report_steps(out, epoch, n)
                    self._add_epoch_losses(out[:, : len(self.tasks)])
                    self.step += n
                    in_epoch += n
                    self._report_cosine(plan, in_epoch - n)
                    self._report_affinity(plan, in_epoch - n, n)
                    step_times.append((time.perf_counter(), self.step))
                    step_times = step_times[-50:]
                    self._report_progress(step_times, total_steps, epoch, epochs)
                self._end_epoch(epoch)
                if self._no_longer_improving():
                    return self._finish(self._early_stop_event(epoch + 1))
            if self.step > total_steps:
                message = (
                    f"nothing to train: the run is already at step {self.step}, past "
                    f"the {epochs} epoch(s) asked for; ask for more epochs"
                )
            else:
                message = f"trained {epochs} epoch(s), {self.step} steps"
            return self._finish(ev.RunFinished("completed", self.step, epochs, message))
        except CheckpointWriteError as exc:  # a full disk: no bug, a file named
            self.unwritable = True
            return self._finish(ev.RunFinished("error", self.step, epoch, str(exc)))
        except (BuildError, DataError, TrainingError, CheckpointError, DistributionError) as exc:
            return self._finish(ev.RunFinished("invalid", self.step, epoch, str(exc)))
        except Exception as exc:  # an exception inside training: report, never die silently
            lost = distribute.lost_worker(exc, self.distribution)
            if lost:  # not a bug of ours: no error log, a sentence
                if self.checkpoint_path and epoch > 0:
                    kept = (
                        f"the checkpoint of epoch {epoch} (step {epoch * self.steps_per_epoch}) "
                        "is whole: start every worker again with --resume to go on"
                    )
                else:
                    kept = "no epoch had ended, so there is no checkpoint: start again"
                return self._finish(ev.RunFinished("error", self.step, epoch, f"{lost}; {kept}"))
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.error_traceback = traceback.format_exc()
            return self._finish(
                ev.RunFinished("error", self.step, epoch, f"training failed: {detail}")
            )

    def _first_bad(self, out: np.ndarray, task_ids: np.ndarray | None):
        """(row, task) of the first loss that is not finite, or None. In
        alternating mode only the task trained at each step counts (the
        others are NaN by design); task None means the penalty."""
        k = len(self.tasks)
        trained = (
            np.ones((out.shape[0], k), bool)
            if task_ids is None
            else np.eye(k, dtype=bool)[task_ids]
        )
        bad = np.concatenate(
            [trained & ~np.isfinite(out[:, :k]), ~np.isfinite(out[:, k + 1 : k + 2])], axis=1
        )
        if not bad.any():
            return None
        row, col = np.argwhere(bad)[0]
        return int(row), (self.tasks[col] if col < k else None)

    def _report_steps(self, out: np.ndarray, epoch: int, n: int) -> None:
        k = len(self.tasks)
        steps = np.arange(self.step + 1, self.step + n + 1)
        wall = np.full(n, time.perf_counter() - self._started)
        losses = {name: out[:, i].copy() for i, name in enumerate(self.tasks)}
        penalty = out[:, k + 1].copy() if self.settings.mode == "soft_sharing" else None
        weights = {name: out[:, k + 2 + i].copy() for i, name in enumerate(self.tasks)}
        self._emit(
            ev.StepLosses(steps, epoch + 1, losses, out[:, k].copy(), penalty, wall, weights)
        )
        if self.step + n < (epoch + 1) * self.steps_per_epoch:
            # The weights after this block's updates (the epoch's end reports
            # its own, after an epoch-wise method such as DWA has moved them).
            self._emit(ev.Weights(int(steps[-1]), self._weights()))

    def _report_cosine(self, plan, start: int) -> None:
        if self._cosine is None or self.settings.mode == "soft_sharing":
            return
        now = time.perf_counter()
        if now - self._last_cosine < COSINE_SECONDS:
            return
        self._last_cosine = now
        t = tf()
        data = self._data
        if len(data.datasets) > 1:
            return  # tasks see different examples: no common batch to compare on
        rows = self.feed.first_rows(plan, start)[: self.batch[0]]
        x = {k: t.gather(v, rows) for k, v in self.train_x[0].items()}
        y = {k: t.gather(v, rows) for k, v in self.train_y[0].items()}
        values = self._cosine(x, y).numpy()
        pairs = {
            (self.tasks[a], self.tasks[b]): float(v)
            for (a, b), v in zip(self._cosine_pairs, values)
        }
        self._emit(ev.GradientCosine(self.step, pairs))

    def _report_affinity(self, plan, start: int, n: int) -> None:
        """Every affinity_every steps (once per call that passes a multiple
        of it), on the batch of the call's first step."""
        every = self.settings.affinity_every
        if self._affinity is None or len(self._data.datasets) > 1:
            return
        if self.step // every == (self.step - n) // every:
            return
        t = tf()
        rows = self.feed.first_rows(plan, start)[: self.batch[0]]
        x = {k: t.gather(v, rows) for k, v in self.train_x[0].items()}
        y = {k: t.gather(v, rows) for k, v in self.train_y[0].items()}
        lr = t.constant(self.learning_rates()[0], t.float32)
        z = self._affinity(x, y, lr).numpy()
        self._emit(ev.Affinity(self.step, list(self.tasks), z))

    def _report_progress(self, times, total_steps: int, epoch: int, epochs: int) -> None:
        (t0, s0), (t1, s1) = times[0], times[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        left = (total_steps - self.step) / rate if rate > 0 else float("nan")
        self._emit(ev.Progress(self.step, total_steps, epoch + 1, epochs, rate, left))

    def _add_epoch_losses(self, losses: np.ndarray) -> None:
        # Running sums, not a list: they go into checkpoints, so an epoch
        # resumed half way ends with the same means as an unbroken one.
        trained = np.isfinite(losses)
        self._epoch_sums += np.where(trained, losses, 0.0).sum(axis=0)
        self._epoch_counts += trained.sum(axis=0)

    def _end_epoch(self, epoch: int) -> None:
        with np.errstate(all="ignore"):
            means = self._epoch_sums / self._epoch_counts
        train = {name: float(m) for name, m, c in zip(self.tasks, means, self._epoch_counts) if c}
        self.strategy.after_epoch(np.where(self._epoch_counts > 0, means, 1.0))
        self._epoch_sums[:] = 0.0
        self._epoch_counts[:] = 0
        val_losses, val_metrics = self.evaluate()
        self._snapshot = self._values()
        value = self.monitored(val_losses, val_metrics)
        self._track_best(epoch + 1, value)
        self._emit(
            ev.EpochEnd(
                epoch + 1,
                self.step,
                train,
                val_losses,
                val_metrics,
                value,
                self.best["epoch"],
                self.best["step"],
            ),
            True,
        )
        self._emit(ev.Weights(self.step, self._weights()))
        if self.checkpoint_path:
            self.save_checkpoint(self.checkpoint_path)

    # --- the best epoch and early stopping ------------------------------------

    def monitored(self, val_losses: dict, val_metrics: dict) -> float | None:
        """The monitored quantity of one epoch's validation figures, or None
        (no validation rows, or a value that is not finite)."""
        task, figure = monitor.parse(self.settings.monitor)
        if task is None:
            if not val_losses:
                return None
            value = sum(
                t.weight * val_losses[t.name] for t in self.project.tasks if t.name in val_losses
            )
        elif figure == "loss":
            value = val_losses.get(task)
        else:
            value = val_metrics.get(task, {}).get(figure)
        return float(value) if value is not None and math.isfinite(value) else None

    def _track_best(self, epoch: int, value: float | None) -> None:
        """Keep the model variables of the best epoch. Without a value (no
        validation rows) the latest epoch is the best one can say."""
        _, figure = monitor.parse(self.settings.monitor)
        best = self.best["value"] if self.best else None
        if (
            self.best is None
            or (
                value is not None and monitor.improved(value, best, figure, self.settings.min_delta)
            )
            or (value is None and best is None)
        ):
            self.best = {"epoch": epoch, "step": self.step, "value": value}
            self.best_values = self.weight_values()
            self.since_best = 0
        else:
            self.since_best += 1

    def _no_longer_improving(self) -> bool:
        s = self.settings
        return s.early_stopping and self.since_best >= s.patience

    def _early_stop_event(self, epoch: int) -> ev.RunFinished:
        s = self.settings
        best = self.best
        shown = f" ({best['value']:.4g})" if best["value"] is not None else ""
        message = (
            f"stopped early after epoch {epoch}: {monitor.label(s.monitor)} has not "
            f"improved by more than {s.min_delta:g} for {s.patience} epoch(s); the "
            f"best epoch is {best['epoch']}{shown}"
        )
        return ev.RunFinished("completed", self.step, epoch, message, early_stopped=True)

    def weight_values(self) -> list[np.ndarray]:
        """The model's variables now, in model.variables order."""
        return [np.array(v.numpy()) for v in self.model.variables]

    def use_weights(self, values: list[np.ndarray]) -> None:
        for var, value in zip(self.model.variables, values):
            var.assign(value)

    def evaluate(self, split: str = "val") -> tuple[dict, dict]:
        """Per-task losses and metrics on a split ("val", "test" or "train")."""
        t = tf()
        losses, metric_values = {}, {}
        for task, fn in zip(self.project.tasks, self.loss_fns):
            d = self._data.dataset_of(task.name)
            part = d.part(split)
            if part.n == 0:
                continue
            pred = self._predict(part.inputs)[task.name]
            truth = part.targets[task.name]
            value = float(fn(t.constant(truth), t.constant(pred)))
            if batch_sum_loss(task.loss):
                value *= self.batch[self._data.task_dataset[task.name]] / part.n
            losses[task.name] = value
            metric_values[task.name] = {
                m: metrics_mod.compute(m, task.loss, truth, pred) for m in task.metrics
            }
        return losses, metric_values

    def _predict(self, inputs: dict) -> dict:
        n = len(next(iter(inputs.values())))
        parts = []
        for start in range(0, n, EVAL_CHUNK):
            chunk = {k: v[start : start + EVAL_CHUNK] for k, v in inputs.items()}
            parts.append({k: np.asarray(v) for k, v in self._forward(chunk).items()})
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    # --- controls, weights, state -------------------------------------------------

    def _weights(self) -> dict[str, float]:
        return dict(zip(self.tasks, map(float, np.asarray(self.strategy.current_weights()))))

    def _apply_controls(self) -> None:
        while True:
            try:
                what, task, value = self._controls.get_nowait()
            except queue.Empty:
                return
            if what == "weight":
                self.strategy.set_weight(self.tasks.index(task), value)
            elif task is None:
                for o in self.optimizers:
                    o.learning_rate.assign(value)
            else:
                k = self.tasks.index(task) if self.settings.mode == "alternating" else 0
                self.optimizers[k].learning_rate.assign(value)
            self._emit(ev.SettingChanged(self.step, what, task, value), True)

    def learning_rates(self) -> list[float]:
        return [float(np.asarray(o.learning_rate)) for o in self.optimizers]

    def state_variables(self) -> dict:
        """Every variable a checkpoint must hold, by a stable name."""
        out = {f"model/{i}": v for i, v in enumerate(self.model.variables)}
        for k, o in enumerate(self.optimizers):
            for i, v in enumerate(o.variables):
                out[f"optimizer{k}/{i}"] = v
        for name, v in self.strategy.state().items():
            out[f"weighting/{name}"] = v
        if self.loss_scale is not None:
            for name, v in self.loss_scale.state().items():
                out[f"precision/{name}"] = v
        out["step"] = self.step_var
        return out

    def _values(self) -> dict:
        return {k: np.array(v.numpy()) for k, v in self.state_variables().items()}

    def save_checkpoint(self, path: Path) -> None:
        meta = {
            "step": self.step,
            "mode": self.settings.mode,
            "weighting": self.strategy.name,
            "tasks": self.tasks,
            "dwa_history": getattr(self.strategy, "history", None),
            "epoch_sums": self._epoch_sums.tolist(),
            "epoch_counts": self._epoch_counts.tolist(),
            "best": self.best,
            "since_best": self.since_best,
        }
        values = self._values()
        for i, value in enumerate(self.best_values or []):
            values[f"best/{i}"] = value
        ckpt.save(path, values, meta)
        self._emit(ev.CheckpointSaved(self.step, str(path)))

    def restore_checkpoint(self, path: Path) -> None:
        self.setup()
        values, meta = ckpt.load(path)
        if self.loss_scale is not None:
            # A checkpoint of another precision has no loss scale: start one.
            for name, v in self.loss_scale.state().items():
                values.setdefault(f"precision/{name}", np.array(v.numpy()))
        if meta.get("tasks") != self.tasks or meta.get("mode") != self.settings.mode:
            raise TrainingError(
                f"{path}: the checkpoint is of another project or mode "
                f"(tasks {meta.get('tasks')}, mode {meta.get('mode')})"
            )
        ckpt.assign(self.state_variables(), values, path)
        self.step = int(meta["step"])
        self._epoch_sums[:] = meta.get("epoch_sums", 0.0)
        self._epoch_counts[:] = meta.get("epoch_counts", 0)
        if meta.get("dwa_history") is not None:
            self.strategy.history = [list(x) for x in meta["dwa_history"]]
        self.best, self.since_best = meta.get("best"), int(meta.get("since_best", 0))
        best = [values.get(f"best/{i}") for i in range(len(self.model.variables))]
        self.best_values = best if self.best and all(v is not None for v in best) else None

    # --- endings and events -----------------------------------------------------

    def _finish_stopped(self, epoch: int) -> ev.RunFinished:
        if self.checkpoint_path:
            self.save_checkpoint(self.checkpoint_path)
        return self._finish(
            ev.RunFinished("stopped", self.step, epoch, f"stopped at step {self.step}")
        )

    def _finish_nan(self, epoch: int, in_epoch: int, bad, out) -> ev.RunFinished:
        row, task = bad
        step = self.step + row + 1
        if row:  # the steps before the bad one trained as they should: keep them
            self._report_steps(out[:row], epoch, row)
        what = f"the loss of task '{task}'" if task else "the soft-sharing penalty"
        # Go back to the last good state (the last epoch end or the start);
        # the checkpoint on disk, if any, is that state too and stays.
        ckpt.assign(self.state_variables(), self._snapshot, None)
        self.step = int(self._snapshot["step"]) if "step" in self._snapshot else self.step
        message = (
            f"{what} became NaN or infinite at step {step} (epoch {epoch + 1}): "
            "lower the learning rate, check the data for extreme values, or "
            "standardise the targets; the weights are back at the last good epoch"
        )
        return self._finish(ev.RunFinished("nan", step, epoch + 1, message, task))

    def _finish(self, event: ev.RunFinished) -> ev.RunFinished:
        self._emit(event, True)
        return event

    def _emit(self, event, flush: bool = False) -> None:
        self._pending.append(event)
        now = time.perf_counter()
        if flush or now - self._last_flush >= self.flush_seconds:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        if self._pending and self.callback is not None:
            batch, self._pending = self._pending, []
            self.callback(batch)
        else:
            self._pending = []


def make_optimizer(spec: OptimizerSpec):
    """The Keras optimizer of a project's (or a task's) optimizer settings:
    the one place the Trainer makes them; the exported script writes the
    same class and arguments (export/script.py)."""
    return getattr(keras().optimizers, OPTIMIZER_CLASSES[spec.name])(**spec.keras_arguments())
