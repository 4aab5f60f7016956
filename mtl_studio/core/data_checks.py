"""Does the graph fit its data? Problems placed on the nodes that disagree
with the columns mapped to them.

Works from DataProfiles (what each source holds), never from the files, so
it is as fast as the rest of validation. A source with no profile yet (not
read, or unreadable) is not checked here: reading it reports its own errors.
The same rules are enforced, with row-level detail, when training prepares
the data (mtl_studio/data/prepare.py).
"""

from __future__ import annotations

from pathlib import Path

from .data_profile import LABEL, DataProfile, source_key
from .params import format_shape
from .project import Project
from .settings import DataSource
from .tasks import Task
from .validation import ERROR, WARNING, Place, Problem

CLASS_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


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


def data_problems(project: Project, profiles: dict[str, DataProfile],
                  project_dir: Path | None = None) -> list[Problem]:
    found: list[Problem] = []
    for source, tasks in source_groups(project):
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
        return [Problem(ERROR, place, f"no columns of {where} are mapped to {node.label}: "
                                      "map its columns in the Data panel")]
    missing = _missing(names, profile)
    if missing:
        return [Problem(ERROR, place, f"{where} has no column {missing[0]!r} (mapped to "
                                      f"{node.label}): map existing columns")]
    labels = [n for n in names if profile.columns[n].kind == LABEL]
    if labels:
        return [Problem(ERROR, place, f"column {labels[0]!r} of {where} holds text labels, "
                                      f"but {node.label} takes numbers: map numeric columns")]
    shape = _columns_shape(names, profile)
    if shape is None:
        return [Problem(ERROR, place, f"the columns mapped to {node.label} cannot be stacked "
                                      "(an array per example goes alone): map it alone")]
    wanted = tuple(node.params["shape"])
    if not _fits(shape, wanted):
        return [Problem(ERROR, place, f"{node.label} has shape {format_shape(wanted)} but its "
                                      f"columns in {where} give {format_shape(shape)}: set its "
                                      f"shape to {format_shape(shape)} or map other columns")]
    return []


def _target_problems(project: Project, task: Task, profile: DataProfile,
                     where: str) -> list[Problem]:
    task_place = Place("task", task.name, f"task '{task.name}'")
    if not task.target:
        return [Problem(ERROR, task_place, f"task '{task.name}' has no target: choose its "
                                           f"columns of {where} in the Data panel")]
    missing = _missing(task.target, profile)
    if missing:
        return [Problem(ERROR, task_place, f"{where} has no column {missing[0]!r} (target of "
                                           f"task '{task.name}'): choose existing columns")]
    if task.output is None or task.output not in project.nodes:
        return []  # validation already says the task has no Output
    out = project.node(task.output)
    place = _place(project, out.id)
    units = out.params.get("units")
    column = profile.columns[task.target[0]]
    one_column = len(task.target) == 1 and not column.shape
    if task.loss in CLASS_LOSSES and one_column:
        # Training maps the distinct values to class ids (prepare._mapped).
        classes = column.classes or column.distinct
        if classes and units is not None and classes > units:
            return [Problem(ERROR, place, (
                f"column {column.name!r} holds {classes} classes but {out.label} "
                f"(task '{task.name}') has {units} units: set units to {classes}"))]
        return []
    if task.loss == "binary_crossentropy" and one_column:
        if column.kind == LABEL and column.classes != 2:
            return [Problem(ERROR, place, (
                f"binary_crossentropy needs two classes but column {column.name!r} holds "
                f"{column.classes} (task '{task.name}'): use sparse_categorical_crossentropy "
                f"with {column.classes} units and a softmax"))]
        return []
    if task.loss == "sparse_categorical_crossentropy":
        return []  # an array of class ids per example: prepare checks its shape
    labels = [n for n in task.target if profile.columns[n].kind == LABEL]
    if labels:
        info = profile.columns[labels[0]]
        return [Problem(ERROR, place, (
            f"column {info.name!r} holds class labels but task '{task.name}' uses "
            f"{task.loss}: choose sparse_categorical_crossentropy with {info.classes} units "
            "and a softmax"))]
    shape = _columns_shape(task.target, profile)
    if shape is not None and shape[-1:] != (units,) and units is not None:
        if len(shape) == 1:
            return [Problem(ERROR, place, (
                f"task '{task.name}' learns {shape[0]} target column(s) but {out.label} has "
                f"{units} units: set units to {shape[0]}"))]
        return [Problem(WARNING, place, (
            f"task '{task.name}' learns values of shape {format_shape(shape)} but {out.label} "
            f"gives {units} per step: check its units"))]
    return []
