"""Does the project have data, and does the graph fit it? Problems placed
on the data, the tasks and the nodes that disagree with their columns.

Works from DataProfiles (what each source holds), never from the files, so
it is as fast as the rest of validation. A source with no profile yet (not
read, or unreadable) is not checked here: reading it reports its own errors.
The same rules are enforced, with row-level detail, when training prepares
the data (mtl_studio/data/prepare.py). Messages do not name their place
(the Problems list and the command line show it before the message).
"""

from __future__ import annotations

from pathlib import Path

from .data_profile import (
    IMAGE,
    LABEL,
    MAX_CLASSES,
    ColumnInfo,
    DataProfile,
    is_measurement,
    source_key,
)
from .params import format_shape
from .project import Project
from .settings import DataSource
from .tasks import CLASSIFICATION_LOSSES, Task
from .validation import ERROR, WARNING, Place, Problem
from .wording import counted

CLASS_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")
REGRESSION_HINT = "choose a regression loss such as mse or huber, with a linear activation"


def source_groups(project: Project) -> list[tuple[DataSource, list[Task]]]:
    """Tasks grouped by equal data source, in task order: one data set each
    (a task's own source, or the project's)."""
    groups: list[tuple[DataSource, list[Task]]] = []
    for task in project.tasks:
        source = task.data if task.data is not None else project.data
        for other, members in groups:
            if other == source:
                members.append(task)
                break
        else:
            groups.append((source, [task]))
    return groups


def data_problems(
    project: Project, profiles: dict[str, DataProfile], project_dir: Path | None = None
) -> list[Problem]:
    found: list[Problem] = []
    if not project.tasks and not project.data.chosen:
        found.append(_no_data(None, project.data))
    for source, tasks in source_groups(project):
        owner = None if any(t.data is None for t in tasks) else tasks[0].name
        if not source.chosen:
            found.append(_no_data(owner, source))
            continue
        if source.kind == "generator":
            # Imported here: the generators live with the data layer (numpy).
            from ..data.generators import unknown_generator  # noqa: PLC0415

            unknown = unknown_generator(source.generator)
            if unknown:
                found.append(_data_problem(owner, unknown))
                continue
        profile = profiles.get(source_key(source, project_dir))
        if profile is None:
            continue
        where = _source_name(source, profile)
        needed: set[str] = set()
        for task in tasks:
            needed |= project.task_nodes(task.name)
        for node in project.input_nodes():
            if node.id in needed:
                found += _input_problems(project, node, source, profile, where)
        for task in tasks:
            found += _target_problems(project, task, profile, where)
    return found


def no_data_message(source: DataSource) -> str:
    """What to say of a source with nothing chosen (DataSource.chosen)."""
    if source.kind == "generator":
        return "no data is chosen: choose a file or a generator in the Data panel"
    if source.kind == "images":
        return "no CSV file of image paths is chosen: choose one in the Data panel"
    return f"no {source.kind.upper()} file is chosen: choose one in the Data panel"


def _no_data(task: str | None, source: DataSource) -> Problem:
    return _data_problem(task, no_data_message(source))


def _data_problem(task: str | None, message: str) -> Problem:
    """On the project's data (task None), or on a task's own data set."""
    label = "data" if task is None else f"data of task '{task}'"
    return Problem(ERROR, Place("data", task or "", label), message)


def not_classes_message(column: ColumnInfo, loss: str) -> str:
    """A classification loss on a measurement (is_measurement)."""
    many = (
        counted(column.distinct, "distinct value")
        if column.distinct
        else f"more than {MAX_CLASSES} distinct values"
    )
    return (
        f"{loss} learns classes but column {column.name!r} holds measurements ({many}, "
        f"not all whole numbers): {REGRESSION_HINT}"
    )


def _source_name(source: DataSource, profile: DataProfile) -> str:
    if source.kind == "generator":
        return f"the {source.generator} generator"
    return Path(source.path).name or profile.source


def _place(project: Project, node_id: str) -> Place:
    return Place("node", node_id, project.node(node_id).label)


def _missing(names: list[str], profile: DataProfile) -> list[str]:
    return [n for n in names if n not in profile.columns]


def _columns_shape(names: list[str], profile: DataProfile) -> tuple | None:
    """Per-example shape the columns give together: one array as it is, or
    plain columns side by side; None if they cannot be stacked."""
    infos = [profile.columns[n] for n in names]
    if len(infos) == 1 and infos[0].shape:
        return tuple(infos[0].shape)
    if any(info.shape for info in infos):
        return None
    return (len(infos),)


def _fits(shape: tuple, wanted: tuple) -> bool:
    return len(shape) == len(wanted) and all(w is None or w == s for w, s in zip(wanted, shape))


def _input_problems(project, node, source, profile, where) -> list[Problem]:
    place = _place(project, node.id)
    names = source.inputs.get(node.id) or []
    if not names:
        return [
            Problem(
                ERROR,
                place,
                f"no columns of {where} are mapped to this Input: "
                "map its columns in the Data panel",
            )
        ]
    missing = _missing(names, profile)
    if missing:
        return [
            Problem(
                ERROR,
                place,
                f"{where} has no column {missing[0]!r} (mapped to this "
                "Input): map existing columns",
            )
        ]
    labels = [n for n in names if profile.columns[n].kind == LABEL]
    if labels:
        return [
            Problem(
                ERROR,
                place,
                f"column {labels[0]!r} of {where} holds text labels, "
                "but an Input takes numbers: map numeric columns",
            )
        ]
    shape = _columns_shape(names, profile)
    if shape is None:
        return [
            Problem(
                ERROR,
                place,
                "the columns mapped to this Input cannot be stacked "
                "(an array per example goes alone): map it alone",
            )
        ]
    wanted = tuple(node.params["shape"])
    if not _fits(shape, wanted):
        return [
            Problem(
                ERROR,
                place,
                f"this Input has shape {format_shape(wanted)} but its "
                f"columns in "
                f"{where} give {format_shape(shape)}: set its shape to "
                f"{format_shape(shape)} or map other columns",
            )
        ]
    return []


def _target_problems(
    project: Project, task: Task, profile: DataProfile, where: str
) -> list[Problem]:
    """Problems of the task's target: on the task when its columns or loss
    are wrong, on its Output when the Output's units are."""
    task_place = Place("task", task.name, f"task '{task.name}'")
    if not task.target:
        return [
            Problem(
                ERROR, task_place, f"no target: choose its columns of {where} in the Data panel"
            )
        ]
    missing = _missing(task.target, profile)
    if missing:
        return [
            Problem(
                ERROR,
                task_place,
                f"{where} has no column {missing[0]!r} (its target): choose existing columns",
            )
        ]
    images = [n for n in task.target if profile.columns[n].kind == IMAGE]
    if images:
        return [
            Problem(
                ERROR,
                task_place,
                f"column {images[0]!r} of {where} holds images, which feed an Input: "
                "choose the columns of numbers or labels the task learns",
            )
        ]
    if task.output is None or task.output not in project.nodes:
        return []  # validation already says the task has no Output
    out = project.node(task.output)
    place = _place(project, out.id)
    units = out.params.get("units")
    column = profile.columns[task.target[0]]
    one_column = len(task.target) == 1 and not column.shape
    # Training maps one target column to class ids (data/prepare.py): any
    # column for sparse or binary, a plain one for categorical.
    mapped = (
        len(task.target) == 1
        and task.loss in CLASSIFICATION_LOSSES
        and (one_column or task.loss != "categorical_crossentropy")
    )
    if mapped and is_measurement(column):
        return [Problem(ERROR, task_place, not_classes_message(column, task.loss))]
    if task.loss in CLASS_LOSSES and one_column:
        classes = column.classes or column.distinct
        if classes and units is not None and classes > units:
            return [
                Problem(
                    ERROR,
                    place,
                    (
                        f"column {column.name!r} of task '{task.name}' holds "
                        f"{counted(classes, 'class', 'classes')} but this Output has "
                        f"{counted(units, 'unit')}: set units to {classes}"
                    ),
                )
            ]
        return []
    if task.loss == "binary_crossentropy" and one_column:
        if column.kind == LABEL and column.classes != 2:
            return [
                Problem(
                    ERROR,
                    task_place,
                    (
                        f"binary_crossentropy needs two classes but column {column.name!r} holds "
                        f"{column.classes}: use sparse_categorical_crossentropy with "
                        f"{counted(column.classes, 'unit')} and a softmax"
                    ),
                )
            ]
        return []
    if task.loss == "sparse_categorical_crossentropy":
        return []  # an array of class ids per example: prepare checks its shape
    labels = [n for n in task.target if profile.columns[n].kind == LABEL]
    if labels:
        info = profile.columns[labels[0]]
        return [
            Problem(
                ERROR,
                task_place,
                (
                    f"column {info.name!r} holds class labels but the loss is {task.loss}: choose "
                    f"sparse_categorical_crossentropy with {counted(info.classes, 'unit')} and a "
                    "softmax"
                ),
            )
        ]
    shape = _columns_shape(task.target, profile)
    if shape is not None and shape[-1:] != (units,) and units is not None:
        if len(shape) == 1:
            return [
                Problem(
                    ERROR,
                    place,
                    (
                        f"task '{task.name}' learns {counted(shape[0], 'target column')} but this "
                        f"Output has {counted(units, 'unit')}: set units to {shape[0]}"
                    ),
                )
            ]
        return [
            Problem(
                WARNING,
                place,
                (
                    f"task '{task.name}' learns values of shape {format_shape(shape)} but this Output "
                    f"gives {units} per step: check its units"
                ),
            )
        ]
    return []
