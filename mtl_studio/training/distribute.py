"""Training on several devices or machines with tf.distribute.

The Trainer's compiled step runs once per replica (strategy.run), each
replica on its share of the global batch (the project's batch size). Every
replica then computes the same update from the same numbers:

- `share` gives each task loss the value of the whole global batch (an
  all-reduce), while its gradient stays the replica's own, scaled so that
  the mean over the replicas is the global batch's gradient;
- `ReducedTape` averages every gradient over the replicas before a
  weighting method sees it, so methods that look at the task gradients
  (GradNorm, PCGrad, MGDA, ...) see what one device would have seen;
- `apply_update` hands those gradients to a Keras optimizer, which sums the
  replicas' gradients itself: it divides by the number of replicas first.

So a distributed run takes the steps of a one-device run on the same global
batches, to float rounding, for every mode and weighting. Outside a
strategy (one replica) all three are the identity, and the step is what it
always was.

The strategies: "default" (TensorFlow's placement: one GPU, else the CPU),
"mirrored" (tf.distribute.MirroredStrategy over the visible GPUs, or over
`cpu_devices` logical CPUs to try it without a GPU) and "multi-worker"
(MultiWorkerMirroredStrategy over the processes a cluster file or
TF_CONFIG names). Imports TensorFlow.

An exported training script (export/script.py) carries a verbatim copy of
the functions it needs (the step's: replica_context, local_rows,
loss_parts, share, ReducedTape, apply_update; and making a strategy:
new_distribution, split_cpu, cluster_config, worker_of,
DistributionError), so its distributed step cannot drift from the
Trainer's. Hence the rules for those, as in weighting_math.py: each uses
only TensorFlow (`tf`, imported at first use), json, os, pathlib's Path and
the standard library, never MTL Studio, and reads as part of a standalone
script (no annotations: the script runs on Python 3.9).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .weighting_math import tf  # TensorFlow, imported at first use

# A collective (an all-reduce) that waits longer than this for a worker
# ends the run: the worker has died or is unreachable.
WORKER_TIMEOUT_SECONDS = 60.0


class DistributionError(Exception):
    """The strategy cannot be made: the message says why and what to change."""


# --- inside the step ------------------------------------------------------------


def replica_context():
    """The replica context of a step that runs on more than one replica,
    else None (no strategy, or one replica: nothing to share)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def local_rows(rows):
    """This replica's share of a global batch's rows, and its fraction of
    the batch: replica r of n takes rows [B*r//n, B*(r+1)//n)."""
    ctx = replica_context()
    if ctx is None:
        return rows, tf.constant(1.0)
    n = ctx.num_replicas_in_sync
    size = tf.shape(rows)[0]
    r = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    start = (size * r) // n
    end = (size * (r + 1)) // n
    fraction = tf.cast(end - start, tf.float32) / tf.cast(size, tf.float32)
    return rows[start:end], fraction


def loss_parts(sums_batch, fraction):
    """What a replica's task losses count for in the global batch's (see
    share): 1 for a loss summed over the batch; for a mean, the replica's
    fraction of the batch, times the number of replicas, because Keras'
    loss objects divide their mean by it under a strategy."""
    ctx = replica_context()
    n = 1.0 if ctx is None else float(ctx.num_replicas_in_sync)
    return tf.where(sums_batch, 1.0, fraction * n)


def share(local, part):
    """A loss of the replica's rows -> the loss of the global batch.

    `part` is what the replica's loss counts for in the global one: its
    fraction of the batch for a mean over the batch, 1 for a sum. The value
    is the sum over the replicas of part * local (the global batch's loss);
    the gradient is n * part times the replica's own, so that the mean over
    the replicas (ReducedTape) is the global batch's gradient."""
    ctx = replica_context()
    if ctx is None:
        return local
    n = float(ctx.num_replicas_in_sync)
    mine = part * local
    total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, mine)
    return tf.stop_gradient(total - n * mine) + n * mine


class ReducedTape:
    """A GradientTape whose gradients are the mean over the replicas."""

    def __init__(self, tape) -> None:
        self.tape = tape

    def gradient(self, target, sources, output_gradients=None):
        grads = self.tape.gradient(target, sources, output_gradients=output_gradients)
        ctx = replica_context()
        if ctx is None:
            return grads
        present = [i for i, g in enumerate(grads) if g is not None]
        reduced = ctx.all_reduce(
            tf.distribute.ReduceOp.MEAN, [tf.convert_to_tensor(grads[i]) for i in present]
        )
        grads = list(grads)
        for i, g in zip(present, reduced):
            grads[i] = g
        return grads


def apply_update(optimizer, grads, variables):
    """optimizer.apply(grads, variables) with gradients every replica holds
    alike: Keras sums the replicas' gradients, so each gives its 1/n."""
    ctx = replica_context()
    if ctx is not None:
        n = float(ctx.num_replicas_in_sync)
        grads = [None if g is None else g / n for g in grads]
    optimizer.apply(grads, variables)


# --- making a strategy ----------------------------------------------------------


def split_cpu(devices):
    """Show TensorFlow the CPU as `devices` logical devices (to try a
    mirrored run on a machine without GPUs). Must come before TensorFlow
    has placed anything."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(devices)]
        )
    except RuntimeError:
        found = len(tf.config.list_logical_devices("CPU"))
        if found != devices:
            raise DistributionError(
                f"the CPU is already split into {found} device(s) in this process: "
                f"{devices} can only be set before the first run"
            ) from None


def cluster_config(path, task_index):
    """TF_CONFIG of a worker from a cluster file: {"worker": ["host:port", ...]}
    (TF_CONFIG's own {"cluster": ..., "task": ...} is read as it is)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DistributionError(f"{path}: cannot read the cluster file: {exc}") from None
    cluster = data.get("cluster", data) if isinstance(data, dict) else None
    workers = cluster.get("worker") if isinstance(cluster, dict) else None
    if (
        not isinstance(workers, list)
        or not workers
        or not all(isinstance(w, str) and ":" in w for w in workers)
    ):
        raise DistributionError(
            f'{path}: a cluster file lists its workers as {{"worker": ["host:port", ...]}}'
        )
    if not 0 <= task_index < len(workers):
        raise DistributionError(
            f"--task-index {task_index}: the cluster in {path} has workers 0 to {len(workers) - 1}"
        )
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": task_index}}


def worker_of(config=None):
    """(this worker's index, the number of workers) from TF_CONFIG."""
    if config is None:
        text = os.environ.get("TF_CONFIG", "")
        try:
            config = json.loads(text) if text else {}
        except ValueError:
            raise DistributionError("TF_CONFIG is not JSON") from None
    workers = config.get("cluster", {}).get("worker", [])
    return int(config.get("task", {}).get("index", 0)), len(workers)


# One strategy of each kind per process: TensorFlow's collectives are keyed
# per strategy, and a second strategy of the same devices would reuse the
# keys of the first (its runs fail with mismatched collectives).
_MADE: dict[str, object] = {}


def make_distribution(
    kind: str,
    *,
    cpu_devices: int = 0,
    cluster: Path | None = None,
    task_index: int | None = None,
):
    """The tf.distribute strategy of a run, or None for the default; the
    same object for every run of a process."""
    if kind in _MADE:
        if cpu_devices:
            split_cpu(cpu_devices)  # refuses another number of devices
        return _MADE[kind]
    made = new_distribution(kind, cpu_devices, cluster, task_index)
    if made is not None:
        _MADE[kind] = made
    return made


def new_distribution(kind, cpu_devices=0, cluster=None, task_index=None):
    """A new tf.distribute strategy of a kind ("default", "mirrored" or
    "multi-worker"), or None for the default: `cpu_devices` logical CPUs
    for a mirrored one without GPUs; a multi-worker one joins the cluster
    of a cluster file (with this worker's index in it), else of TF_CONFIG.
    Make it before anything else of TensorFlow runs."""
    if kind == "default":
        if cpu_devices:
            raise DistributionError("--cpu-devices splits the CPU for --strategy mirrored only")
        return None
    if kind == "mirrored":
        if cpu_devices:
            split_cpu(cpu_devices)
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi-worker":
        if cluster is not None:
            os.environ["TF_CONFIG"] = json.dumps(cluster_config(cluster, task_index or 0))
        elif "TF_CONFIG" not in os.environ:
            raise DistributionError(
                "a multi-worker run needs its cluster: start it on each worker with "
                "--cluster FILE --task-index I, or set TF_CONFIG"
            )
        worker_of()  # TF_CONFIG must be readable
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=WORKER_TIMEOUT_SECONDS
        )
        try:
            return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        except (RuntimeError, ValueError) as exc:
            raise DistributionError(f"cannot join the cluster: {exc}") from None
    raise DistributionError(f"unknown strategy {kind!r}: choose default, mirrored or multi-worker")


def lost_worker(exc: Exception, distribution) -> str:
    """A sentence for an error of a multi-worker run that means a worker
    died or cannot be reached (a collective that timed out or was cut),
    else ""."""
    if distribution is None or not isinstance(
        distribution, tf.distribute.MultiWorkerMirroredStrategy
    ):
        return ""
    errors = tf.errors
    if not isinstance(
        exc,
        (
            errors.UnavailableError,
            errors.DeadlineExceededError,
            errors.AbortedError,
            errors.CancelledError,
            errors.InternalError,
        ),
    ):
        return ""
    text = str(exc)
    own, _ = worker_of()
    lost = sorted({int(i) for i in re.findall(r"/job:worker/replica:\d+/task:(\d+)", text)} - {own})
    who = f"worker {', '.join(map(str, lost))}" if lost else "a worker"
    why = next(
        (line.strip() for line in text.splitlines() if "heartbeat" in line or "unhealthy" in line),
        "",
    )
    return f"{who} of the cluster stopped answering" + (f" ({why[:200]})" if why else "")


def replicas_text(distribution) -> str:
    """How a strategy spreads a run, for the devices line: "" for none."""
    if distribution is None:
        return ""
    n = distribution.num_replicas_in_sync
    if isinstance(distribution, tf.distribute.MultiWorkerMirroredStrategy):
        index, workers = worker_of()
        return f"{n} replicas on {workers} workers (this is worker {index})"
    return f"{n} replica{'s' if n != 1 else ''} (mirrored)"
