"""What a data source holds, as far as the network cares: its columns, their
kinds, shapes and class counts.

The data layer computes a DataProfile from a file or a generator (see
mtl_studio/data/profile.py); the core only reads it, to check that the
graph fits its data (mtl_studio/core/data_checks.py). Nothing here reads
files: a profile is plain values, so validation stays fast and pure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .settings import DataSource

NUMERIC = "numeric"
LABEL = "label"  # a column with at least one cell that is not a number
# The image column of an image folder (data/images.py): paths of image files;
# its ColumnInfo.shape is that of one decoded image, (height, width, channels).
IMAGE = "image"

# Distinct values are counted up to this many; a numeric column of whole
# numbers with at most this many is a likely column of class ids.
MAX_CLASSES = 50
# A numeric column with values that are not whole numbers can still hold
# classes when it has at most this many distinct values: codes such as the
# energy data's overall_height (3.5 and 7), which training maps to class
# ids. With more it is a measurement (a slump of 39 distinct values in cm),
# which a classification loss does not fit: see is_measurement.
MAX_CODES = 10


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str  # NUMERIC, LABEL or IMAGE
    # Shape of one example: () for a CSV column, the array's shape[1:] for NPZ,
    # (height, width, channels) for an image column.
    shape: tuple = ()
    # Distinct values: for a label column always; for a numeric column of
    # whole numbers with few distinct values (a likely class id), else 0.
    classes: int = 0
    # Distinct values when there are at most MAX_CLASSES (else 0), whatever
    # they are: a classification target of values such as 3.5 and 7 has
    # `distinct` 2 but `classes` 0, since it does not look like class ids.
    distinct: int = 0
    # A numeric column with a finite value that is not a whole number.
    fractional: bool = False


@dataclass(frozen=True)
class DataProfile:
    source: str  # the file path, or "generator NAME"
    rows: int
    columns: dict[str, ColumnInfo] = field(default_factory=dict)


def is_measurement(column: ColumnInfo) -> bool:
    """Is this column a measurement rather than a column of classes? The one
    rule for classification targets, used by the checks (core/data_checks.py)
    and by training's preparation (data/prepare.py): a numeric column with a
    value that is not a whole number and more than MAX_CODES distinct values.
    Whole numbers are class ids (or codes) however many there are; a few
    distinct values such as 3.5 and 7 are codes; text labels are classes."""
    return column.fractional and not 0 < column.distinct <= MAX_CODES


def source_key(source: DataSource, project_dir: Path | None = None) -> str:
    """One key per distinct source, to keep profiles by: the file's absolute
    path (relative paths resolved against the project's folder), or the
    generator with its parameters; an image folder's with its image fields."""
    if source.kind == "generator":
        try:
            params = json.dumps(source.params, sort_keys=True)
        except (TypeError, ValueError, RecursionError):  # keys of mixed types, say
            params = repr(sorted(source.params.items(), key=repr))
        return "generator:" + source.generator + ":" + params
    path = Path(source.path)
    if not path.is_absolute() and project_dir is not None:
        path = Path(project_dir) / path
    try:
        where = path.resolve() if source.path else ""
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, a link loop
        where = os.path.abspath(source.path)
    key = f"{source.kind}:{where}"
    if source.kind == "images":  # the image column and size make its profile
        key += (
            f"|{source.image_column}|{source.image_height}x{source.image_width}"
            f"x{source.image_channels}"
        )
    return key
