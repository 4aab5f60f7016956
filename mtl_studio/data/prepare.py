"""From a project to arrays ready for training.

Load each distinct data source once, pick the columns every Input and task
needs, turn each task's target into what its loss expects, split into
training, validation and test rows, and standardise with training
statistics only (so nothing of the held-out rows leaks into training).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.data_checks import no_data_message, not_classes_message, source_groups
from ..core.data_profile import IMAGE, is_measurement
from ..core.graph import Node
from ..core.params import Shape, format_shape
from ..core.project import Project
from ..core.settings import DataSource, TrainingSettings
from ..core.tasks import Task
from ..core.validation import infer_shapes
from ..core.wording import counted
from . import splits
from .errors import DataError
from .generators import generate
from .images import image_input, read_image_table
from .profile import column_info
from .table import NUMERIC, Table, check_regular, read_csv, read_npz

REGRESSION_LOSSES = frozenset({"mse", "mae", "huber", "l2"})
READERS = {"csv": read_csv, "npz": read_npz}
# Sources whose reader also takes the source (its fields say how to read).
SOURCE_READERS = {"images": read_image_table}
# Missing-column messages list this many column names at most.
LISTED_COLUMNS = 12


@dataclass
class Split:
    inputs: dict[str, np.ndarray]  # Input node name -> (n,) + input shape
    targets: dict[str, np.ndarray]  # task name -> what its loss expects

    @property
    def n(self) -> int:
        arrays = list(self.inputs.values()) + list(self.targets.values())
        return len(arrays[0]) if arrays else 0


@dataclass
class DataSet:
    label: str  # "the project's data" or "task 'a''s data", for messages
    source: str  # file path or "generator NAME"
    tasks: list[str]  # the tasks that learn from it, in task order
    train: Split
    val: Split
    test: Split  # never trained on, nor used to pick the best epoch

    def part(self, split: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[split]


@dataclass
class PreparedData:
    datasets: list[DataSet]
    task_dataset: dict[str, int]  # task name -> index into datasets
    # Task name -> the original label of each class id (index i = class i),
    # for tasks whose labels were mapped to class ids.
    classes: dict[str, list]
    # JSON-ready: {"inputs": {dataset index: {input name: {"mean", "std"}}},
    #              "targets": {task name: {"mean", "std"}}}
    standardization: dict

    def dataset_of(self, task: str) -> DataSet:
        return self.datasets[self.task_dataset[task]]


# --- loading -------------------------------------------------------------------


def load_source(source: DataSource, project_dir: Path | None) -> Table:
    """The source's table. A relative path is read from project_dir (the
    project file's folder), or from the current folder when it is None."""
    if source.kind != "generator" and source.kind not in READERS | SOURCE_READERS:
        raise DataError(f"unknown data kind {source.kind!r}: choose generator, csv, npz or images")
    if not source.chosen:
        raise DataError(no_data_message(source))
    if source.kind == "generator":
        return generate(source.generator, source.params)
    if source.kind in SOURCE_READERS:
        return SOURCE_READERS[source.kind](source_path(source, project_dir), source)
    return READERS[source.kind](source_path(source, project_dir))


def source_path(source: DataSource, project_dir: Path | None) -> Path:
    """The file of a csv or npz source; a DataError if it does not exist."""
    base = Path(project_dir) if project_dir is not None else Path.cwd()
    # normpath drops the "../" of paths like ../data/x.csv, for readable messages.
    path = Path(os.path.normpath(base / source.path))
    if not path.exists():
        hint = ""
        if not Path(source.path).is_absolute():
            where = (
                f"the project file's folder ({base})"
                if project_dir is not None
                else f"the current folder ({base}) until the project is saved"
            )
            hint = f"; the path {source.path!r} is relative to {where}"
        raise DataError(
            f"the file does not exist{hint}: check the path in the Data panel", str(path)
        )
    check_regular(path)
    return path


# --- prepare -------------------------------------------------------------------


def prepare(
    project: Project,
    project_dir: Path | None = None,
    *,
    scale: bool = True,
    classes: dict[str, list] | None = None,
) -> PreparedData:
    """The project's data, split and (with `scale`) standardised as its
    sources say. scale=False keeps every number in its own units: what a
    model in real units takes and gives. `classes` (task -> labels, as a run
    recorded them) maps labels to the run's class ids, so a file that lacks
    a class still gets the same ids.

    With `scale` (training's preparation), a CSV or NPZ source that the
    training setting data_loading streams is read in blocks into a cache of
    row files instead (data/stream.py): its splits then hold row-file
    columns rather than arrays."""
    if not project.tasks:
        raise DataError("the project has no tasks: add a task before training")
    shapes, _ = infer_shapes(project)
    prepared = PreparedData([], {}, dict(classes or {}), {"inputs": {}, "targets": {}})
    input_shapes: dict[str, tuple[Shape, str]] = {}  # input name -> (shape, label)
    from .stream import stream_dataset, streams  # noqa: PLC0415 - it builds on this module

    for index, (source, tasks) in enumerate(source_groups(project)):
        label = data_set_label(tasks)
        if scale and streams(source, project.training, project_dir):
            dataset = stream_dataset(project, project_dir, source, tasks, index, prepared)
            for node in inputs_of(project, tasks):
                _check_same_shape(
                    input_shapes, node, dataset.train.inputs[node.name].shape[1:], label
                )
            prepared.datasets.append(dataset)
            prepared.task_dataset.update((t.name, index) for t in tasks)
            continue
        table = load_source(source, project_dir)
        inputs = {}
        for node in inputs_of(project, tasks):
            inputs[node.name] = _input_array(table, source, node, label)
            _check_same_shape(input_shapes, node, inputs[node.name].shape[1:], label)
        targets = {t.name: _target(project, table, t, shapes, prepared.classes) for t in tasks}
        rows = split_rows(table.n_rows, project.training, label, table.source)
        train, val, test = (Split(_take(inputs, r), _take(targets, r)) for r in rows)

        if scale and source.standardize_inputs:
            # float64: not images (float32 pixels in [0, 1], data/images.py).
            floats = [name for name, a in inputs.items() if a.dtype == np.float64]
            stats = _standardize(
                train.inputs, (val.inputs, test.inputs), floats, "Input", table.source
            )
            if stats:
                prepared.standardization["inputs"][str(index)] = stats
        if scale and source.standardize_targets:
            regression = [t.name for t in tasks if t.loss in REGRESSION_LOSSES]
            prepared.standardization["targets"].update(
                _standardize(
                    train.targets, (val.targets, test.targets), regression, "task", table.source
                )
            )
        for split in (train, val, test):
            _to_float32(split.inputs, "Input", table.source)
            _to_float32(split.targets, "task", table.source)

        prepared.datasets.append(
            DataSet(label, table.source, [t.name for t in tasks], train, val, test)
        )
        for t in tasks:
            prepared.task_dataset[t.name] = index
    return prepared


def data_set_label(tasks: list[Task]) -> str:
    if any(t.data is None for t in tasks):
        return "the project's data"
    return f"task '{tasks[0].name}''s data"


def inputs_of(project: Project, tasks: list[Task]) -> list[Node]:
    """The Input nodes that feed any of the tasks, in project order."""
    needed: set[str] = set()
    for task in tasks:
        needed |= project.task_nodes(task.name)
    return [n for n in project.input_nodes() if n.id in needed]


def _check_same_shape(seen: dict, node: Node, shape: Shape, label: str) -> None:
    first_shape, first_label = seen.setdefault(node.name, (shape, label))
    if first_shape != shape:
        raise DataError(
            f"inputs of different shapes across task data sets: {node.label} is "
            f"{format_shape(first_shape)} in {first_label} and {format_shape(shape)} in "
            f"{label}: map columns of the same shape in both"
        )


# --- columns -------------------------------------------------------------------


def _fits(shape: Shape, wanted: Shape) -> bool:
    """Does an actual shape match a wanted one (None matches any length)?"""
    return len(shape) == len(wanted) and all(w is None or w == s for w, s in zip(wanted, shape))


def _check_columns(table: Table, names: list[str], fix: str) -> None:
    for name in names:
        if name not in table.columns:
            listed = list(table.columns)
            text = ", ".join(listed[:LISTED_COLUMNS])
            if len(listed) > LISTED_COLUMNS:
                text += f", ... ({len(listed)} in all)"
            raise DataError(f"missing column (columns: {text}): {fix}", table.source, column=name)


def _gather(table: Table, names: list[str], why: str) -> np.ndarray:
    """Numbers of the named columns as float64: one array of rank >= 2 as it
    is, otherwise 1-D columns stacked side by side into (n, k)."""
    arrays = [table.columns[name] for name in names]
    if len(names) == 1 and arrays[0].ndim >= 2:
        values = table.numbers(names[0], why)
    else:
        for name, array in zip(names, arrays):
            if array.ndim >= 2:
                raise table.error(
                    f"an array of shape {format_shape(array.shape[1:])} per "
                    "example cannot be stacked with other columns: use it alone",
                    name,
                )
        values = np.stack([table.numbers(name, why) for name in names], axis=1)
    _check_finite(table, names, values)
    return values


def _first_bad(
    table: Table, names: list[str], values: np.ndarray, bad: np.ndarray, what: str, fix: str
) -> None:
    """Raise at the first value where `bad` is true, naming its row and column
    (names are the stacked columns of `values`, or its one array)."""
    if not bad.any():
        return
    where = tuple(np.argwhere(bad)[0])
    column = names[where[1]] if len(names) > 1 else names[0]
    raise table.error(f"{what}: {values[where]:g}: {fix}", column, int(where[0]))


def _check_finite(table: Table, names: list[str], values: np.ndarray) -> None:
    _first_bad(
        table,
        names,
        values,
        ~np.isfinite(values),
        "not a finite number",
        "fill in the value or delete the example",
    )


def _input_array(table: Table, source: DataSource, node: Node, label: str) -> np.ndarray:
    names = source.inputs.get(node.id)
    if not names:
        raise DataError(
            f"{node.label} has no columns mapped in {label}: map its columns in the Data panel",
            table.source,
        )
    _check_columns(table, names, f"map existing columns to {node.label} in {label}")
    if any(table.kinds[name] == IMAGE for name in names):
        return image_input(table, source, names, node.label)
    values = _gather(
        table, names, f"{node.label} takes numbers only: fix the cell or map other columns"
    )
    wanted = tuple(node.params["shape"])
    if not _fits(values.shape[1:], wanted):
        raise DataError(
            f"{node.label} expects examples of shape {format_shape(wanted)} but its columns "
            f"give {format_shape(values.shape[1:])}: map columns that give that shape, or "
            "change the Input's shape",
            table.source,
        )
    if node.params["dtype"] == "int32":
        not_int = (values != np.round(values)) | (np.abs(values) > np.iinfo(np.int32).max)
        _first_bad(
            table,
            names,
            values,
            not_int,
            "not a whole number",
            f"{node.label} has dtype int32 and takes whole numbers only",
        )
        return values.astype(np.int32)
    return values


# --- targets -------------------------------------------------------------------


def _target(project: Project, table: Table, task: Task, shapes: dict, classes: dict) -> np.ndarray:
    """The task's target as its loss expects it; records mapped class labels."""
    if task.output is None or task.output not in project.nodes:
        raise DataError(f"task '{task.name}' has no Output node: choose one")
    out = project.node(task.output)
    shape = shapes.get(task.output)
    if shape is None:
        raise DataError(
            f"the shape of {out.label} (task '{task.name}') is unknown: "
            "fix the problems validation lists first"
        )
    names = task.target
    if not names:
        raise DataError(f"task '{task.name}' has no target: choose its columns")
    _check_columns(table, names, f"choose existing target columns for task '{task.name}'")
    for name in names:
        if table.kinds[name] == IMAGE:
            raise DataError(
                f"task '{task.name}' learns the image column: images feed an Input; "
                "choose the columns the task learns",
                table.source,
                column=name,
            )
    target = _TARGETS.get(task.loss, _regression)(table, task, out, shape, classes)
    if task.loss == "sparse_categorical_crossentropy":
        # One class id per example, or per step of a sequence output.
        wanted = shape[:-1]
        learns = f"class ids of shape {format_shape(wanted)}"
    else:
        wanted = shape
        learns = f"{format_shape(wanted)} values"
    if not _fits(target.shape[1:], wanted):
        raise DataError(
            f"task '{task.name}' learns {learns} per example but its target gives "
            f"{format_shape(target.shape[1:])}: choose target columns that match, or change "
            f"{out.label}",
            table.source,
        )
    return target


def _regression(table, task, out, shape, classes) -> np.ndarray:
    return _gather(
        table,
        task.target,
        f"task '{task.name}' ({task.loss}) learns numbers: "
        "fix the cell, or use a classification loss",
    )


def _one_column(table: Table, task: Task) -> tuple[str, np.ndarray]:
    if len(task.target) != 1:
        raise DataError(
            f"task '{task.name}' ({task.loss}) learns one class per example but "
            f"has {len(task.target)} target columns: choose one column",
            table.source,
        )
    name = task.target[0]
    values = table.columns[name]
    if table.kinds[name] == NUMERIC:
        _check_finite(table, [name], values)
        # The checks' rule (core/data_profile.py), on the whole column.
        info = column_info(name, values, NUMERIC)
        if is_measurement(info):
            raise DataError(
                f"task '{task.name}': {not_classes_message(info, task.loss)}", table.source
            )
    return name, values


def _mapped(values: np.ndarray) -> tuple[np.ndarray, list]:
    """Class ids 0..K-1 for the sorted distinct values (numbers numerically,
    text alphabetically), and those values as plain floats, ints or strs
    (JSON-ready), index i = class i."""
    found, ids = np.unique(values, return_inverse=True)
    return ids.reshape(values.shape), found.tolist()


def _known_ids(table: Table, name: str, values: np.ndarray, labels: list, task: Task) -> np.ndarray:
    """Class ids of the labels a run learned; a label it never saw is named
    with its row."""
    if table.kinds[name] == NUMERIC:
        lookup = {float(v): i for i, v in enumerate(labels)}
        keys = values.astype(np.float64).ravel().tolist()
    else:
        lookup = {str(v): i for i, v in enumerate(labels)}
        keys = [str(v) for v in values.ravel().tolist()]
    ids = np.empty(len(keys), np.int32)
    for i, key in enumerate(keys):
        if key not in lookup:
            shown = ", ".join(map(str, labels[:LISTED_COLUMNS]))
            raise table.error(
                f"a class the run never learned: {key!r} (task '{task.name}' knows {shown})",
                name,
                i // max(1, values[0].size),
            )
        ids[i] = lookup[key]
    return ids.reshape(values.shape)


def _sparse(table, task, out, shape, classes) -> np.ndarray:
    """Class ids of shape (n,) + the output shape without its last axis."""
    name, values = _one_column(table, task)
    units = out.params["units"]
    if task.name in classes:  # labels a run learned: the same ids again
        return _known_ids(table, name, values, classes[task.name], task)
    if table.kinds[name] == NUMERIC:
        whole = np.all(values == np.round(values))
        if whole and values.min() >= 0 and values.max() < units:
            return values.astype(np.int32)  # already class ids
    ids, found = _mapped(values)
    if len(found) > units:
        raise DataError(
            f"the column holds {counted(len(found), 'class', 'classes')} but "
            f"{out.label} of task '{task.name}' has {counted(units, 'unit')}: "
            f"set its units to {len(found)}",
            table.source,
            column=name,
        )
    classes[task.name] = found
    return ids.astype(np.int32)


def _categorical(table, task, out, shape, classes) -> np.ndarray:
    """One-hot rows: from one column of classes, or several columns as given."""
    first = table.columns[task.target[0]]
    if len(task.target) == 1 and first.ndim == len(shape):
        ids = _sparse(table, task, out, shape, classes)
        return np.eye(out.params["units"], dtype=np.float32)[ids]
    return _gather(
        table,
        task.target,
        f"task '{task.name}' learns one-hot numbers: fix "
        "the cell, or choose one column of class labels",
    )


def _binary(table, task, out, shape, classes) -> np.ndarray:
    """0/1 targets; one column of two other values (or text) is mapped to 0/1."""
    if len(task.target) > 1:
        values = _gather(table, task.target, f"task '{task.name}' learns 0 or 1: fix the cell")
        _first_bad(
            table,
            task.target,
            values,
            (values != 0) & (values != 1),
            "not 0 or 1",
            f"task '{task.name}' (binary_crossentropy) learns 0 or 1",
        )
        return values
    name, values = _one_column(table, task)
    if task.name in classes:
        values = _known_ids(table, name, values, classes[task.name], task).astype(np.float64)
        return values[:, None] if values.ndim == 1 else values
    ids, found = _mapped(values)
    if table.kinds[name] != NUMERIC or not set(found) <= {0, 1}:
        if len(found) != 2:
            raise DataError(
                f"binary_crossentropy needs two classes but the column has {len(found)} "
                f"(task '{task.name}'): use sparse_categorical_crossentropy with one unit "
                "per class",
                table.source,
                column=name,
            )
        values, classes[task.name] = ids, found
    values = values.astype(np.float64)
    return values[:, None] if values.ndim == 1 else values


_TARGETS = {
    "sparse_categorical_crossentropy": _sparse,
    "categorical_crossentropy": _categorical,
    "binary_crossentropy": _binary,
}


# --- split and standardise -----------------------------------------------------


def split_sizes(n: int, training: TrainingSettings) -> tuple[int, int]:
    """(validation rows, test rows) of n examples."""
    return splits.split_sizes(n, training.validation_split, training.test_split)


def split_rows(n: int, training: TrainingSettings, label: str, source: str):
    """Seeded random rows for training, validation and test (splits.py's
    rule): validation takes the first rows of one permutation and test the
    next, each split in the file's order. Too few rows left to train raise
    a DataError that names the data set."""
    try:
        return splits.split_rows(
            n, training.validation_split, training.test_split, training.seed_of_split
        )
    except ValueError:
        n_val, n_test = split_sizes(n, training)
        held = f"{n_val} for validation" + (f" and {n_test} for test" if n_test else "")
        raise DataError(
            f"{label} has {counted(n, 'example')}, which leaves {n - n_val - n_test} for "
            f"training after {held}: add examples or lower the validation or test share "
            "(training needs at least 2)",
            source,
        ) from None


def _take(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in arrays.items()}


def _standardize(
    train: dict, held_out: tuple[dict, ...], names: list[str], kind: str, source: str
) -> dict:
    """Scale each feature by the training split's mean and std (std 0 -> 1);
    return the statistics, JSON-ready, so predictions can be scaled back.
    `kind` ("Input" or "task") and `source` (the file) are for messages."""
    stats = {}
    for name in names:
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = train[name].mean(axis=0), train[name].std(axis=0)
        mean, std = scaling(mean, std, f"{kind} '{name}'", source)
        for split in (train, *held_out):
            split[name] = standardized(split[name], mean, std)
        stats[name] = {"mean": mean.tolist(), "std": std.tolist()}
    return stats


# The streamed path (data/stream.py) scales its blocks with these two as well.


def scaling(
    mean: np.ndarray, std: np.ndarray, what: str = "", source: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The (mean, std) a feature is scaled by: a constant feature (std 0)
    is only moved, not divided. Values so large that their mean or spread
    overflows (a column of +-1e308) are a DataError naming `what`."""
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        raise DataError(
            f"the values of {what or 'a column'} are too large to standardise (their mean "
            "or spread overflows a float): scale them down, or turn standardisation off",
            source,
        )
    return mean, np.where(std == 0, 1.0, std)


def standardized(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (values - mean) / std


def _to_float32(arrays: dict[str, np.ndarray], kind: str, source: str) -> None:
    for name, values in arrays.items():
        arrays[name] = as_trained(values, f"{kind} '{name}'", source)


def as_trained(values: np.ndarray, what: str = "", source: str | None = None) -> np.ndarray:
    """The dtype training takes: floats as float32, anything else as it is.
    Values past float32's range are a DataError naming `what`."""
    if values.dtype.kind != "f":
        return values
    with np.errstate(over="ignore"):
        trained = values.astype(np.float32)
    if not np.all(np.isfinite(trained)):
        raise DataError(
            f"the values of {what or 'a column'} pass float32's range (about 3.4e38), which "
            "training computes in: standardise them, or scale them down",
            source,
        )
    return trained
