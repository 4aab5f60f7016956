"""Mixed bfloat16 against float32 on this machine's CPU: training steps per
second and the loss reached, on the reference model of bench_trainer.py and
on a wider one.

    .venv/bin/python benchmarks/bench_precision.py           # full run (~3 min on 2 cores)
    .venv/bin/python benchmarks/bench_precision.py --quick   # smoke test

It prints figures and never asserts a timing. Keras' mixed_bfloat16 policy
computes each layer in bfloat16 and keeps its variables in float32; the
Output layers stay float32 (as Keras' mixed-precision guide advises for the
last layer), so the losses are float32. bfloat16 has float32's range, so it
needs no loss scaling (mixed_float16 would). The models:

- reference: x (64) -> Dense 256 -> Dense 256 -> two heads Dense 64 -> Dense 1,
  batch 128 (bench_trainer.py's);
- wide: x (256) -> Dense 1024 -> Dense 1024 -> two heads Dense 1024 -> Dense 1,
  batch 512.

Each is trained with one compiled step per batch, both as the Trainer
compiles it (XLA) and as TensorFlow runs it without XLA (its oneDNN
kernels, which are the ones that use the CPU's AVX-512 bf16 and AMX units), Adam 1e-3, on the
same seeded data from the same initial weights under both policies; the
steps per second are the median of several timed blocks after a warm-up, the
loss is the mean of the last block's step losses (sum of the two mse).
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from mtl_studio.training.tf_import import keras, tf  # noqa: E402

MODELS = {
    "reference": dict(inputs=64, trunk=256, head=64, batch=128),
    "wide": dict(inputs=256, trunk=1024, head=1024, batch=512),
}
FULL = dict(warmup=50, blocks=5, steps=200)
QUICK = dict(warmup=10, blocks=2, steps=30)


def data(spec: dict, rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, spec["inputs"])).astype(np.float32)
    w = rng.normal(size=(spec["inputs"], 2)) / np.sqrt(spec["inputs"])
    y = np.tanh(x @ w) + 0.1 * rng.normal(size=(rows, 2))
    return x, y[:, :1].astype(np.float32), y[:, 1:].astype(np.float32)


def model(spec: dict, policy: str):
    k = keras()
    k.utils.set_random_seed(0)
    x = k.Input((spec["inputs"],), name="x")
    h = k.layers.Dense(spec["trunk"], activation="relu", dtype=policy, name="shared1")(x)
    h = k.layers.Dense(spec["trunk"], activation="relu", dtype=policy, name="shared2")(h)
    outs = {}
    for task in ("a", "b"):
        g = k.layers.Dense(spec["head"], activation="relu", dtype=policy, name=f"head_{task}")(h)
        outs[task] = k.layers.Dense(1, dtype="float32", name=f"out_{task}")(g)
    return k.Model(x, outs)


def run(spec: dict, policy: str, plan: dict, xla: bool) -> tuple[float, float]:
    t = tf()
    net = model(spec, policy)
    optimizer = keras().optimizers.Adam(1e-3)
    steps = plan["warmup"] + plan["blocks"] * plan["steps"]
    x, ya, yb = data(spec, spec["batch"] * 64)

    @t.function(jit_compile=xla)
    def step(xb, ab, bb):
        with t.GradientTape() as tape:
            out = net(xb, training=True)
            loss = t.reduce_mean(t.square(out["a"] - ab)) + t.reduce_mean(t.square(out["b"] - bb))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply(grads, net.trainable_variables)
        return loss

    batches = [
        (x[i : i + spec["batch"]], ya[i : i + spec["batch"]], yb[i : i + spec["batch"]])
        for i in range(0, len(x), spec["batch"])
    ]
    tensors = [tuple(t.constant(a) for a in b) for b in batches]
    n = 0
    for _ in range(plan["warmup"]):
        step(*tensors[n % len(tensors)]).numpy()
        n += 1
    rates, last = [], []
    for _ in range(plan["blocks"]):
        start = time.perf_counter()
        losses = [step(*tensors[(n + i) % len(tensors)]) for i in range(plan["steps"])]
        last = [float(v) for v in losses]  # waits for the block
        rates.append(plan["steps"] / (time.perf_counter() - start))
        n += plan["steps"]
    assert n == steps
    return statistics.median(rates), float(np.mean(last))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke-test run")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()
    print(
        f"date {datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, TensorFlow {tf().__version__}"
    )
    print(
        f"{'model':10} {'compiled':9} {'policy':16} {'steps/s':>9} {'x float32':>10} "
        f"{'final loss':>11}"
    )
    for name, spec in MODELS.items():
        for xla in (True, False):
            base = None
            for policy in ("float32", "mixed_bfloat16"):
                rate, loss = run(spec, policy, plan, xla)
                base = base or rate
                how = "XLA" if xla else "oneDNN"
                print(f"{name:10} {how:9} {policy:16} {rate:9.1f} {rate / base:10.2f} {loss:11.4f}")
    load = os.getloadavg()[0]
    print(
        f"\nload average {load:.2f} (1 min) at the end; "
        f"whole benchmark {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
