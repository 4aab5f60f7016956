"""Training steps per second: the MTL Studio Trainer against a hand-written
TensorFlow loop and Keras model.fit, on the same model and the same data.

    .venv/bin/python benchmarks/bench_trainer.py           # full run (~4-5 min on 2 cores)
    .venv/bin/python benchmarks/bench_trainer.py --quick   # smoke test (~1 min)

It prints figures and never asserts a timing: the numbers depend on the
machine and on whatever else runs on it.

Reference model (an MTL Studio project, built by builder.build_model for
every method so the layers are identical):

    x (64) -> Dense 256 relu -> Dense 256 relu   (shared trunk)
           -> head a: Dense 64 relu -> Output Dense 1 linear, mse
           -> head b: Dense 64 relu -> Output Dense 1 linear, mse
    batch 128, Adam lr 1e-3, random seeded in-memory data, no validation split.

What each row measures (after a warm-up that excludes tracing and compiling):

- "Trainer ..." rows: wall time of a whole Trainer.run() call, which
  includes the epoch plans, the compiled multi-step calls, the per-call
  NaN check, the events (step losses, weights, progress, gradient cosine,
  epoch end) handed to a callback that keeps nothing, and the per-epoch
  snapshot of the variables. Warm-up: setup() plus one full epoch through
  run(); the timed runs continue the same Trainer for more epochs.
- "hand-written loop": one tf.function per step (GradientTape, sum of the two
  mse losses, optimizer.apply_gradients) and a Python loop that slices the
  numpy arrays per step with the same batch rows as the Trainer.
- "model.fit": compile(Adam, loss={"a": "mse", "b": "mse"}) and
  fit(x, y, batch_size=128, epochs=N, shuffle=True, verbose=0) with default
  settings (steps_per_execution 1); warm-up is a one-epoch fit.
- diagnostics: the Trainer with its per-call gradient-cosine report switched
  off (an attribute set on the instance, the source is untouched), the
  Trainer's compiled call alone (blocks of the epoch plan fed straight to
  it, no run loop, no events), and that call built without XLA
  (Trainer(xla=False)), to show what XLA gives.

Each measurement is repeated (the methods take turns, so a burst of load
from other processes spreads over all of them) and the median is reported.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

from mtl_studio.core.graph import Edge, Node  # noqa: E402
from mtl_studio.core.project import Project  # noqa: E402
from mtl_studio.core.settings import DataSource, TrainingSettings  # noqa: E402
from mtl_studio.core.tasks import Task  # noqa: E402
from mtl_studio.data.prepare import DataSet, PreparedData, Split  # noqa: E402

INPUTS = 64
BATCH = 128
LEARNING_RATE = 1e-3
SEED = 0
DATA_SEED = 12345

# Steps per epoch, epochs per timed measurement (headline rows / the others),
# and repeats of every measurement.
FULL = dict(steps_per_epoch=200, epochs_main=10, epochs_other=4, repeats=3)
QUICK = dict(steps_per_epoch=20, epochs_main=2, epochs_other=1, repeats=3)


# --- the project and its data ------------------------------------------------------


def reference_project(
    mode: str = "joint", weighting: str = "fixed", steps_per_call: int | None = None
) -> Project:
    p = Project("bench")

    def node(node_id, kind, **params):
        p.add_node(Node(node_id, kind, node_id, params))

    def chain(*ids):
        for a, b in zip(ids, ids[1:]):
            p.connect(Edge(a, b, p.graph.free_port(b)))

    node("x", "Input", shape=[INPUTS])
    node("shared1", "Dense", units=256, activation="relu")
    node("shared2", "Dense", units=256, activation="relu")
    node("head_a", "Dense", units=64, activation="relu")
    node("head_b", "Dense", units=64, activation="relu")
    node("out_a", "Output", units=1, activation="linear")
    node("out_b", "Output", units=1, activation="linear")
    chain("x", "shared1", "shared2", "head_a", "out_a")
    chain("shared2", "head_b", "out_b")
    p.add_task(Task("a", "out_a", "mse"))
    p.add_task(Task("b", "out_b", "mse"))
    s = p.training
    s.mode = mode
    s.weighting = weighting
    s.schedule = "round_robin"
    s.batch_size = BATCH
    s.optimizer.name = "adam"
    s.optimizer.learning_rate = LEARNING_RATE
    s.validation_split = 0.0
    s.seed = SEED
    if steps_per_call is not None:
        s.steps_per_call = steps_per_call
    p.data = DataSource("generator", "none", inputs={"x": ["x"]})
    return p


def make_arrays(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED)
    x = rng.normal(size=(rows, INPUTS)).astype(np.float32)
    wa = rng.normal(size=(INPUTS, 1)) / np.sqrt(INPUTS)
    a = x @ wa + 0.1 * rng.normal(size=(rows, 1))
    b = np.tanh(x[:, :8]).sum(axis=1, keepdims=True) - 0.5 * x[:, 8:9] ** 2
    return {"x": x, "a": a.astype(np.float32), "b": b.astype(np.float32)}


def prepared_data(arrays: dict[str, np.ndarray]) -> PreparedData:
    train = Split({"x": arrays["x"]}, {"a": arrays["a"], "b": arrays["b"]})
    val = Split({"x": arrays["x"][:0]}, {"a": arrays["a"][:0], "b": arrays["b"][:0]})
    return PreparedData(
        [DataSet("the project's data", "bench", ["a", "b"], train, val, val)],
        {"a": 0, "b": 0},
        {},
        {},
    )


class Sink:
    """The run's callback: counts the events, keeps nothing."""

    def __init__(self) -> None:
        self.calls = 0
        self.events = 0

    def __call__(self, events) -> None:
        self.calls += 1
        self.events += len(events)


# --- the methods -------------------------------------------------------------------


class Method:
    label = ""
    group = "main"  # or "diagnostic"
    optional = False  # a failed warm-up drops the row instead of stopping the run

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.rates: list[float] = []
        self.warmup_seconds = 0.0

    def warm_up(self) -> None:
        start = time.perf_counter()
        self._warm_up()
        self.warmup_seconds = time.perf_counter() - start

    def measure(self) -> None:
        steps, seconds = self._measure()
        self.rates.append(steps / seconds)
        self.last_steps = steps

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


class TrainerRun(Method):
    def __init__(
        self,
        label,
        data,
        epochs,
        mode="joint",
        weighting="fixed",
        steps_per_call=None,
        cosine=True,
        group="main",
        xla=True,
    ):
        super().__init__(epochs)
        self.label, self.group = label, group
        self.data = data
        self.project = reference_project(mode, weighting, steps_per_call)
        self.cosine = cosine
        self.xla = xla

    def _warm_up(self):
        from mtl_studio.training.trainer import Trainer

        self.sink = Sink()
        self.trainer = Trainer(self.project, callback=self.sink, data=self.data, xla=self.xla)
        done = self.trainer.run(epochs=1)  # setup (build, trace) and one whole epoch
        if done.status != "completed":
            raise SystemExit(f"{self.label}: warm-up run ended {done.status}: {done.message}")
        if not self.cosine:
            self.trainer._cosine = None  # diagnostic: no per-call gradient cosine

    def _measure(self):
        tr = self.trainer
        before = tr.step
        target = tr.step // tr.steps_per_epoch + self.epochs
        start = time.perf_counter()
        done = tr.run(epochs=target)
        seconds = time.perf_counter() - start
        if done.status != "completed":
            raise SystemExit(f"{self.label}: run ended {done.status}: {done.message}")
        return tr.step - before, seconds


class TrainerCallOnly(TrainerRun):
    """The compiled multi-step call alone, on the blocks of the epoch plans."""

    def _measure(self):
        tr = self.trainer
        spc = tr.settings.steps_per_call
        steps = 0
        start = time.perf_counter()
        for epoch in range(self.epochs):
            _, rows = tr.epoch_plan(epoch)
            for i in range(0, len(rows), spc):
                out = tr._call((None, rows[i : i + spc])).numpy()
                steps += len(out)
        return steps, time.perf_counter() - start


class HandLoop(Method):
    label = "hand-written loop (tf.function per step)"

    def __init__(self, arrays, epochs):
        super().__init__(epochs)
        self.arrays = arrays
        self.epoch = 0

    def _warm_up(self):
        from mtl_studio.training.builder import build_model
        from mtl_studio.training.tf_import import keras, tf

        k, t = keras(), tf()
        model = build_model(reference_project(), mode="joint", seed=SEED).model
        optimizer = k.optimizers.Adam(learning_rate=LEARNING_RATE)
        optimizer.build(model.trainable_variables)
        mse = k.losses.MeanSquaredError()

        @t.function
        def train_step(x, y_a, y_b):
            with t.GradientTape() as tape:
                out = model(x, training=True)
                loss = mse(y_a, out["a"]) + mse(y_b, out["b"])
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        self.train_step = train_step
        self._epochs(1)

    def _epochs(self, count: int) -> int:
        x, a, b = self.arrays["x"], self.arrays["a"], self.arrays["b"]
        n = len(x)
        per_epoch = n // BATCH
        steps = 0
        for _ in range(count):
            # The Trainer's batches: the same seeded permutation per epoch.
            perm = np.random.default_rng([SEED, self.epoch]).permutation(n)
            for i in range(per_epoch):
                rows = perm[i * BATCH : (i + 1) * BATCH]
                loss = self.train_step({"x": x[rows]}, a[rows], b[rows])
                steps += 1
            float(loss)  # wait for the last step, as printing the epoch's loss would
            self.epoch += 1
        return steps

    def _measure(self):
        start = time.perf_counter()
        steps = self._epochs(self.epochs)
        return steps, time.perf_counter() - start

    def tracings(self) -> int:
        return self.train_step.experimental_get_tracing_count()


class KerasFit(Method):
    label = "Keras model.fit (defaults)"

    def __init__(self, arrays, epochs):
        super().__init__(epochs)
        self.arrays = arrays

    def _warm_up(self):
        from mtl_studio.training.builder import build_model
        from mtl_studio.training.tf_import import keras

        k = keras()
        self.model = build_model(reference_project(), mode="joint", seed=SEED).model
        self.model.compile(
            optimizer=k.optimizers.Adam(learning_rate=LEARNING_RATE), loss={"a": "mse", "b": "mse"}
        )
        self._fit(1)

    def _fit(self, epochs):
        x, y = {"x": self.arrays["x"]}, {"a": self.arrays["a"], "b": self.arrays["b"]}
        self.model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0)
        return epochs * -(-len(self.arrays["x"]) // BATCH)

    def _measure(self):
        start = time.perf_counter()
        steps = self._fit(self.epochs)
        return steps, time.perf_counter() - start


# --- where a Trainer run spends its time -------------------------------------------

PARTS = (
    "_call",
    "_report_cosine",
    "_report_steps",
    "_first_bad",
    "_add_epoch_losses",
    "_report_progress",
    "_end_epoch",
    "epoch_plan",
    "_apply_controls",
    "flush",
)


def breakdown(method: TrainerRun, epochs: int) -> tuple[dict[str, float], float, int]:
    """Run a warmed-up Trainer with timing wrappers on its instance (the
    class is untouched) and return seconds per part, wall seconds, steps."""
    tr = method.trainer
    spent = dict.fromkeys(PARTS, 0.0)
    saved = {name: tr.__dict__.get(name) for name in PARTS}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            if name == "_call":
                result.numpy()  # the call's compute ends here, not at run()'s .numpy()
            spent[name] += time.perf_counter() - start
            return result

        return wrapper

    for name in PARTS:
        setattr(tr, name, timed(name, getattr(tr, name)))
    # _end_epoch calls flush through _emit: count it once, under _end_epoch.
    before = tr.step
    start = time.perf_counter()
    try:
        tr.run(epochs=tr.step // tr.steps_per_epoch + epochs)
    finally:
        wall = time.perf_counter() - start
        for name, value in saved.items():
            if value is None:
                tr.__dict__.pop(name, None)
            else:
                setattr(tr, name, value)
    return spent, wall, tr.step - before


def print_breakdown(title: str, method: TrainerRun, epochs: int) -> None:
    spent, wall, steps = breakdown(method, epochs)
    calls = -(-steps // method.trainer.settings.steps_per_call)
    print(
        f"\n{title}: {steps} steps in {calls} calls, {wall:.2f} s "
        f"({steps / wall:.0f} steps/s with timing wrappers)"
    )
    print(f"  {'part':<22}{'seconds':>9}{'share':>8}{'ms/call':>9}")
    # flush runs inside _emit, which every _report_* and _end_epoch call,
    # so it is shown on its own and not added to the total again.
    inner = {"flush"}
    accounted = 0.0
    for name in PARTS:
        s = spent[name]
        if name not in inner:
            accounted += s
        print(
            f"  {name:<22}{s:9.3f}{s / wall:8.1%}{1000 * s / max(calls, 1):9.3f}"
            + ("  (inside the _report_*/_end_epoch rows)" if name in inner else "")
        )
    rest = wall - accounted
    print(
        f"  {'rest of run() loop':<22}{rest:9.3f}{rest / wall:8.1%}"
        f"{1000 * rest / max(calls, 1):9.3f}"
    )


# --- main --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-test run")
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    wall_start = time.perf_counter()

    from mtl_studio.training.tf_import import keras, tf  # quiet import

    k, t = keras(), tf()
    default_spc = TrainingSettings().steps_per_call

    print("MTL Studio Trainer benchmark" + (" (--quick)" if args.quick else " (full)"))
    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(
        f"machine   os.cpu_count()={os.cpu_count()}  {platform.platform()}  "
        f"{platform.machine()}  load average {os.getloadavg()[0]:.2f} (1 min) at start"
    )
    print(
        f"software  Python {platform.python_version()}  TensorFlow {t.__version__}  "
        f"Keras {k.__version__}  numpy {np.__version__}  backend {k.backend.backend()}"
    )

    rows = cfg["steps_per_epoch"] * BATCH
    arrays = make_arrays(rows)
    data = prepared_data(arrays)
    em, eo = cfg["epochs_main"], cfg["epochs_other"]
    spe = cfg["steps_per_epoch"]
    print(
        f"model     {INPUTS} -> Dense 256 relu -> Dense 256 relu (shared) -> 2 x "
        f"[Dense 64 relu -> Dense 1], mse + mse, Adam {LEARNING_RATE:g}, batch {BATCH}"
    )
    print(
        f"data      {rows} training rows in memory ({spe} steps/epoch), no validation; "
        f"timed: {em * spe} steps per measurement for the first rows marked *, "
        f"{eo * spe} for the others; median of {cfg['repeats']} repeats"
    )
    print(
        f"Trainer   default steps_per_call (project settings) = {default_spc}; Trainer rows "
        "time the whole Trainer.run() (events on, validation off)"
    )

    main_row = TrainerRun(
        f"* Trainer joint fixed, steps_per_call {default_spc} (default)", data, em
    )
    hand = HandLoop(arrays, em)
    hand.label = "* " + hand.label
    fit = KerasFit(arrays, em)
    fit.label = "* " + fit.label
    spc_rows = [
        TrainerRun(f"  Trainer joint fixed, steps_per_call {n}", data, eo, steps_per_call=n)
        for n in (1, 5, 50)
        if n != default_spc
    ]
    alternating = TrainerRun(
        "  Trainer alternating round_robin (Adam per task)", data, eo, mode="alternating"
    )
    pcgrad = TrainerRun("  Trainer joint pcgrad", data, eo, weighting="pcgrad")
    gradnorm = TrainerRun("  Trainer joint gradnorm", data, eo, weighting="gradnorm")
    no_cosine = TrainerRun(
        f"  Trainer joint fixed spc {default_spc}, no gradient cosine",
        data,
        eo,
        cosine=False,
        group="diagnostic",
    )
    call_only = TrainerCallOnly(
        f"  Trainer compiled call only, spc {default_spc}", data, eo, group="diagnostic"
    )
    call_plain = TrainerCallOnly(
        f"  the same call without XLA (Trainer xla=False), spc {default_spc}",
        data,
        eo,
        group="diagnostic",
        xla=False,
    )
    methods = [
        main_row,
        *spc_rows,
        hand,
        fit,
        alternating,
        pcgrad,
        gradnorm,
        no_cosine,
        call_only,
        call_plain,
    ]

    print("\nwarm-up (build, trace, one epoch each):", flush=True)
    for m in list(methods):
        try:
            m.warm_up()
        except Exception as exc:  # only optional rows get here
            if not m.optional:
                raise
            methods.remove(m)
            print(
                f"  {m.label.strip():<58}skipped: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}",
                flush=True,
            )
            continue
        print(f"  {m.label.strip():<58}{m.warmup_seconds:6.1f} s", flush=True)

    for r in range(cfg["repeats"]):
        print(f"repeat {r + 1}/{cfg['repeats']}:", end="", flush=True)
        for m in methods:
            m.measure()
            print(f" {m.rates[-1]:.0f}", end="", flush=True)
        print(flush=True)

    h, f = hand.median, fit.median
    print(f"\n{'method':<56}{'steps/s':>9}{'ms/step':>9}{'min-max':>12}{'x hand':>8}{'x fit':>7}")
    for group in ("main", "diagnostic"):
        if group == "diagnostic":
            print("diagnostics (what the Trainer's run loop costs):")
        for m in methods:
            if m.group != group:
                continue
            rate = m.median
            spread = f"{min(m.rates):.0f}-{max(m.rates):.0f}"
            print(
                f"{m.label:<56}{rate:9.1f}{1000 / rate:9.2f}{spread:>12}"
                f"{rate / h:8.2f}{rate / f:7.2f}"
            )

    j = main_row.median
    print(f"\nrelative costs (time per step, vs Trainer joint fixed spc {default_spc}):")
    for m, what in (
        (alternating, "alternating round_robin"),
        (pcgrad, "joint pcgrad"),
        (gradnorm, "joint gradnorm"),
    ):
        ratio = j / m.median
        print(f"  {what:<26}{ratio:5.2f}x the time per step ({ratio - 1:+.0%})")
    print(
        f"  gradient cosine report    {no_cosine.median / j - 1:+.0%} time per step "
        "(whole run with it / without it)"
    )
    print(
        f"  run() around the call     {call_only.median / j - 1:+.0%} time per step "
        "(whole run / compiled call alone)"
    )
    if call_plain in methods:
        print(
            f"  XLA on the compiled call  {call_only.median / call_plain.median:.2f}x the "
            "steps/s of the same call compiled without XLA"
        )

    ratio_hand, ratio_fit = j / h, j / f
    print("\ngoals (Trainer joint fixed, default steps_per_call):")
    print(
        f"  >= 1.5x the hand-written loop: {ratio_hand:.2f}x  -> "
        f"{'met' if ratio_hand >= 1.5 else 'NOT met'}"
    )
    print(
        f"  >= 4x model.fit:               {ratio_fit:.2f}x  -> "
        f"{'met' if ratio_fit >= 4 else 'NOT met'}"
    )

    be = 1 if args.quick else 2
    print_breakdown(
        f"where a Trainer.run() spends its time, joint fixed spc {default_spc}", main_row, be
    )
    spc1 = next((m for m in spc_rows if m.label.endswith("steps_per_call 1")), None)
    if spc1 is not None:
        print_breakdown("the same, steps_per_call 1", spc1, 1)

    print(
        f"\nchecks: hand-written step traced {hand.tracings()} time(s) in all; events "
        f"delivered by the default Trainer: {main_row.sink.events} in "
        f"{main_row.sink.calls} callback calls"
    )
    print(
        f"load average {os.getloadavg()[0]:.2f} (1 min) at the end; whole benchmark "
        f"{time.perf_counter() - wall_start:.0f} s"
    )


if __name__ == "__main__":
    main()
