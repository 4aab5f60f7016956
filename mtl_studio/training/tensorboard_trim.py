"""Trim a resumed run's TensorBoard event files to its checkpoint's step.

A run killed after its last checkpoint trains the steps since again when
resumed. record.py drops their rows from history.csv; this drops their
events from the files in tensorboard/, where TensorBoard would otherwise
show each of those steps twice. The events only mirror history.csv: a file
that cannot be read or rewritten is left as it is, and the resume goes on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..core.atomic import remove_stale, replacing
from .tf_import import tf

log = logging.getLogger(__name__)

# What tf.summary.create_file_writer names its files. The temporaries of a
# rewrite start with a dot, so they never match.
EVENT_FILES = "events.out.tfevents.*"


def trim_events_after(folder: Path, step: int) -> int:
    """Drop the events past `step` from every event file under `folder`,
    and a last record cut short by a kill; a file is rewritten atomically,
    and only when something goes. Returns how many records went."""
    try:
        paths = sorted(p for p in Path(folder).rglob(EVENT_FILES) if p.is_file())
    except OSError:
        return 0
    return sum(_trim_file(path, step) for path in paths)


def _trim_file(path: Path, step: int) -> int:
    # A rewrite killed half-way leaves a temporary whose name holds
    # "tfevents": TensorBoard would read it as one more file of the run.
    remove_stale(path)
    try:
        records, cut = _read(path)
        kept = [record for record in records if not _past(record, step)]
        dropped = len(records) - len(kept) + cut
        if dropped:
            with replacing(path) as tmp:
                with tf().io.TFRecordWriter(str(tmp)) as writer:
                    for record in kept:
                        writer.write(record)
                # As core.atomic does: on disk before the rename.
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
    except Exception as exc:  # noqa: BLE001 - a mirror of history.csv must never stop a resume
        log.warning("TensorBoard events of %s left as they are: %s", path, exc)
        return 0
    return dropped


def _read(path: Path) -> tuple[list[bytes], bool]:
    """The whole records of an event file, and whether a record cut short
    (a kill in the middle of a write) ends it: the records before it stay."""
    t = tf()
    records = []
    try:
        for record in t.data.TFRecordDataset(str(path)):
            records.append(record.numpy())
    except t.errors.DataLossError:
        return records, True
    return records, False


def _past(record: bytes, step: int) -> bool:
    event = tf().compat.v1.Event.FromString(record)
    # Events without a summary (the file_version header) belong to no step's curve.
    return event.HasField("summary") and event.step > step
