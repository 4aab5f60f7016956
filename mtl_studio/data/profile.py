"""A table's profile: what validation needs to know of a data source
(column kinds, the shape of one example, class counts), without the data.

The panel profiles a source once, off the GUI thread, after reading it;
the core then checks the graph against the profile (mtl_studio/core/
data_profile.py holds the types and explains the fields).
"""

from __future__ import annotations

import numpy as np

from dataclasses import replace
from pathlib import Path

from ..core.data_checks import source_groups
from ..core.data_profile import MAX_CLASSES, NUMERIC, ColumnInfo, DataProfile, source_key
from .errors import DataError
from .table import LABEL, Table

# Distinct values are first counted on this many values: a column that
# already has too many there is not sorted whole (a million floats would
# take a second).
SAMPLE = 10_000


def profile_table(table: Table) -> DataProfile:
    columns = {
        name: column_info(name, values, table.kinds[name]) for name, values in table.columns.items()
    }
    # An image folder's image column (data/images.py): one example is an image.
    image_column = getattr(table, "image_column", "")
    if image_column:
        columns[image_column] = replace(columns[image_column], shape=tuple(table.image_shape))
    return DataProfile(table.source, table.n_rows, columns)


def column_info(name: str, values: np.ndarray, kind: str) -> ColumnInfo:
    """What one column holds; training's preparation asks it of a target
    column too, so the checks and training judge a column alike."""
    return ColumnInfo(
        name,
        kind,
        tuple(values.shape[1:]),
        class_count(values, kind),
        distinct_count(values),
        kind == NUMERIC and fractional(values),
    )


def profile_sources(
    project, project_dir: Path | None = None
) -> tuple[dict[str, DataProfile], list[DataError]]:
    """Read and profile every chosen source the project's tasks use (for
    the command line; the window does it off the GUI thread, one by one). A
    source that cannot be read gives its DataError instead."""
    from .prepare import load_source  # here: prepare uses column_info from this module

    profiles: dict[str, DataProfile] = {}
    failures: list[DataError] = []
    for source, _ in source_groups(project):
        key = source_key(source, project_dir)
        if key in profiles or not source.chosen:
            continue  # validation says that no data is chosen
        try:
            profiles[key] = profile_table(load_source(source, project_dir))
        except DataError as exc:
            failures.append(exc)
    return profiles, failures


def class_count(values: np.ndarray, kind: str) -> int:
    """Distinct values of a label column; for a numeric column of whole
    numbers with at most MAX_CLASSES distinct values, their count; else 0.
    Arrays of several values per example count all their values."""
    if kind == LABEL:
        return int(len(np.unique(values)))
    if values.dtype.kind == "f":
        sample = values.ravel()[:SAMPLE]
        if not _whole(sample) or len(np.unique(sample)) > MAX_CLASSES:
            return 0
        if not _whole(values):
            return 0
    elif values.dtype.kind not in "iub":
        return 0
    elif len(np.unique(values.ravel()[:SAMPLE])) > MAX_CLASSES:
        return 0
    distinct = len(np.unique(values))
    return distinct if distinct <= MAX_CLASSES else 0


def distinct_count(values: np.ndarray) -> int:
    """How many distinct values, when at most MAX_CLASSES; else 0."""
    if len(np.unique(values.ravel()[:SAMPLE])) > MAX_CLASSES:
        return 0
    distinct = len(np.unique(values))
    return distinct if distinct <= MAX_CLASSES else 0


def fractional(values: np.ndarray) -> bool:
    """Is some finite value not a whole number? (Not-finite values are
    reported on their own, by preparation.)"""
    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return bool(np.any(finite != np.round(finite)))


def _whole(values: np.ndarray) -> bool:
    # NaN and inf are not whole numbers (a CSV keeps them as text anyway).
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
