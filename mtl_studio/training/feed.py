"""How the training rows reach the compiled call.

The compiled step gathers its batch from variables (Trainer.train_x and
train_y, one dict per data set): `t.gather(self.train_x[d][name], rows)`.
A feed owns those variables and turns each block of the epoch plan
([steps, batch] row indices, training/batches.py) into the block the call
gets:

- MemoryFeed: the variables hold every training row, once; the block goes
  through unchanged (the Trainer's behaviour before streaming).
- StreamFeed: for data sets prepared into row files (data/stream.py), the
  variables have a fixed shape (steps_per_call x the batch rows, so XLA
  compiles the call once) and hold only the current call's rows. For each
  call the feed reads the block's distinct rows from the row file, assigns
  them to the variables and gives the block with its indices remapped into
  them. The next calls' rows are read ahead in the background: a tf.data
  pipeline from a generator that walks the same epoch plans, with prefetch.

Batches stay a pure function of (seed, epoch): the feed takes the blocks the
Trainer asks for, so a resumed run (a new position) restarts the read-ahead
from there and sees the same batches as an unbroken run.
"""

from __future__ import annotations

import numpy as np

from ..data.stream import RowColumn, RowFile, split_files
from .tf_import import tf

__all__ = ["MemoryFeed", "StreamFeed", "make_feed"]

# Calls read ahead of the one training.
PREFETCH_CALLS = 2


def make_feed(trainer):
    """A StreamFeed when a data set's training rows are in a row file, else
    a MemoryFeed. `trainer`: the Trainer being set up (its data, batch
    sizes and settings; its epoch plans, later)."""
    data = trainer._data
    if any(_streamed(d.train) for d in data.datasets):
        return StreamFeed(trainer)
    return MemoryFeed(trainer)


def _streamed(split) -> bool:
    return any(isinstance(v, RowColumn) for v in [*split.inputs.values(), *split.targets.values()])


class MemoryFeed:
    """Every training row on the device, once (variables are referenced by
    the graph, not copied into it as constants would be)."""

    def __init__(self, trainer) -> None:
        t = tf()
        self.train_x, self.train_y = [], []
        for d in trainer._data.datasets:
            self.train_x.append(
                {k: t.Variable(v, trainable=False) for k, v in d.train.inputs.items()}
            )
            self.train_y.append(
                {k: t.Variable(v, trainable=False) for k, v in d.train.targets.items()}
            )

    def block(self, plan, epoch: int, start: int, n: int):
        """The call's (task ids or None, rows): the plan's steps start..start+n."""
        return (
            None if plan[0] is None else plan[0][start : start + n],
            plan[1][start : start + n],
        )

    def first_rows(self, plan, start: int) -> np.ndarray:
        """The rows of the first step of the call that began at `start`."""
        return plan[1][start]

    def close(self) -> None:
        pass


class StreamFeed(MemoryFeed):
    """Only the current call's rows on the device, read from the row files
    ahead of time. Data sets held in memory (a generator beside a streamed
    file, in alternating mode) keep all their rows, their indices as they are."""

    def __init__(self, trainer) -> None:
        t = tf()
        self.trainer = trainer
        data = trainer._data
        spc = trainer.settings.steps_per_call
        self.streamed = [_streamed(d.train) for d in data.datasets]
        self.files: list[RowFile | None] = []
        self.capacity: list[int] = []
        self.fields: list[list[tuple[str, str, str]]] = []  # (x or y, name, field)
        self.train_x, self.train_y = [], []
        for i, d in enumerate(data.datasets):
            if not self.streamed[i]:
                self.files.append(None)
                self.capacity.append(d.train.n)
                self.fields.append([])
                self.train_x.append(
                    {k: t.Variable(v, trainable=False) for k, v in d.train.inputs.items()}
                )
                self.train_y.append(
                    {k: t.Variable(v, trainable=False) for k, v in d.train.targets.items()}
                )
                continue
            files = split_files(d.train)
            if len(files) != 1 or not all(
                isinstance(v, RowColumn)
                for v in [*d.train.inputs.values(), *d.train.targets.values()]
            ):
                raise ValueError("a streamed training split needs all its columns in one row file")
            self.files.append(files[0])
            # At most a call's steps times the batch: distinct rows of a call.
            capacity = max(1, min(d.train.n, spc * trainer.batch[i]))
            self.capacity.append(capacity)
            fields, xs, ys = [], {}, {}
            for group, columns, out in (("x", d.train.inputs, xs), ("y", d.train.targets, ys)):
                for name, column in columns.items():
                    out[name] = t.Variable(
                        np.zeros((capacity, *column.shape[1:]), column.dtype), trainable=False
                    )
                    fields.append((group, name, column.field))
            self.fields.append(fields)
            self.train_x.append(xs)
            self.train_y.append(ys)
        self._iterator = None
        self._expected = None  # the (epoch, start) the read-ahead has next
        self._last = None  # (start, remapped rows) of the call fed last

    # --- the calls' rows ------------------------------------------------------------

    def _calls(self, epoch: int, start: int):
        """(epoch, start, n, remapped rows, per streamed data set: whether
        it has steps in the call, then its fields' values) for each call
        from (epoch, start) on, as the Trainer's run loop cuts them."""
        trainer = self.trainer
        spc = trainer.settings.steps_per_call
        while True:
            spe = trainer.steps_per_epoch
            ids, rows = trainer.epoch_plan(epoch)
            while start < spe:
                n = min(spc, spe - start)
                block = rows[start : start + n]
                yield (
                    epoch,
                    start,
                    n,
                    *self._rows_of(None if ids is None else ids[start : start + n], block),
                )
                start += n
            epoch, start = epoch + 1, 0

    def _rows_of(self, ids, block: np.ndarray) -> tuple:
        data = self.trainer._data
        remapped = block.copy()
        if ids is None:
            steps_of = [np.ones(len(block), bool)]
        else:
            task_data = np.array([data.task_dataset[t] for t in self.trainer.tasks])
            steps_of = [task_data[ids] == d for d in range(len(data.datasets))]
        out = []
        for d, file in enumerate(self.files):
            if file is None:
                continue
            mask = steps_of[d]
            wanted = np.unique(block[mask])
            if len(wanted):
                remapped[mask] = np.searchsorted(wanted, block[mask]).astype(np.int32)
            records = file.read(wanted)
            out.append(np.int32(len(wanted) > 0))
            for _, _, field in self.fields[d]:
                values = records[field]
                padded = np.zeros((self.capacity[d], *values.shape[1:]), values.dtype)
                padded[: len(values)] = values
                out.append(padded)
        return (remapped, *out)

    def _start(self, epoch: int, start: int) -> None:
        """The read-ahead, from (epoch, start) on."""
        t = tf()
        self.close()
        signature = [
            t.TensorSpec([], t.int64),
            t.TensorSpec([], t.int64),
            t.TensorSpec([], t.int64),
            t.TensorSpec([None, None], t.int32),
        ]
        for d, file in enumerate(self.files):
            if file is None:
                continue
            signature.append(t.TensorSpec([], t.int32))
            for group, name, _ in self.fields[d]:
                var = (self.train_x if group == "x" else self.train_y)[d][name]
                signature.append(t.TensorSpec(var.shape, var.dtype))
        # One reading thread of its own and no autotuning: the pipeline is
        # one generator, and every core it leaves goes to the training step.
        options = t.data.Options()
        options.autotune.enabled = False
        options.threading.private_threadpool_size = 1
        options.threading.max_intra_op_parallelism = 1
        pipeline = (
            t.data.Dataset.from_generator(
                lambda: self._calls(epoch, start), output_signature=tuple(signature)
            )
            .prefetch(PREFETCH_CALLS)
            .with_options(options)
        )
        self._iterator = iter(pipeline)
        self._expected = (epoch, start)

    def block(self, plan, epoch: int, start: int, n: int):
        if self._iterator is None or self._expected != (epoch, start):
            self._start(epoch, start)
        got = next(self._iterator)
        where, count = (int(got[0]), int(got[1])), int(got[2])
        if where != (epoch, start) or count != n:
            raise RuntimeError(
                f"the read-ahead gave call {where} of {count} steps, not {(epoch, start)} of {n}"
            )
        self._expected = (
            (epoch, start + n) if start + n < self.trainer.steps_per_epoch else (epoch + 1, 0)
        )
        remapped = got[3].numpy()
        k = 4
        for d, file in enumerate(self.files):
            if file is None:
                continue
            fresh = bool(got[k])
            k += 1
            for group, name, _ in self.fields[d]:
                if fresh:
                    (self.train_x if group == "x" else self.train_y)[d][name].assign(got[k])
                k += 1
        self._last = (start, remapped)
        return (None if plan[0] is None else plan[0][start : start + n], remapped)

    def first_rows(self, plan, start: int) -> np.ndarray:
        if self._last is None or self._last[0] != start:
            raise RuntimeError(f"no call fed at step {start} of the epoch")
        return self._last[1][0]

    def close(self) -> None:
        """Stop the read-ahead (it starts again at the next block)."""
        self._iterator = None
        self._expected = None
