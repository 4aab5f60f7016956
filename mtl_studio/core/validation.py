"""Validation and shape inference.

`validate(project)` returns every problem at once, each with its place and a
message that says what to change. Errors block training and export;
warnings do not. Shapes leave out the batch dimension.

The Problems list and the command line show a problem as its place, then
its message ("Dense 'fc1': needs a flat vector ..."), so a message never
names its own place again.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import monitor
from .catalogue import ShapeError, get_kind
from .params import Shape
from .project import TRAINING_CHECKS, Project
from .settings import SHARED_TRUNK_WEIGHTINGS
from .tasks import CLASSIFICATION_LOSSES, CLASSIFICATION_METRICS
from .wording import counted

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Place:
    """Where a problem is: kind is "node", "edge", "task", "project",
    "training" or "data"; id is the node id, the task name, "source->target"
    of the edge, or for "data" the task whose own data set it is ("" for the
    project's data)."""

    kind: str
    id: str = ""
    label: str = ""

    def __str__(self) -> str:
        return self.label or (f"{self.kind} {self.id}" if self.id else self.kind)


@dataclass(frozen=True)
class Problem:
    severity: str
    place: Place
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.place}: {self.message}"


def _node_place(project: Project, node_id: str) -> Place:
    return Place("node", node_id, project.node(node_id).label)


def _task_place(name: str) -> Place:
    return Place("task", name, f"task '{name}'")


def infer_shapes(project: Project) -> tuple[dict[str, Shape | None], list[Problem]]:
    """Output shape of every node (None where it cannot be known) and the
    problems found on the way."""
    graph = project.graph
    order, _ = graph.topological_order()
    shapes: dict[str, Shape | None] = {n: None for n in project.nodes}
    problems: list[Problem] = []
    for node_id in order:
        node = project.node(node_id)
        kind = get_kind(node.kind)
        preds = graph.predecessors(node_id)
        if len(preds) < kind.min_inputs:
            continue  # reported by the connection checks
        in_shapes = [shapes[p] for p in preds]
        if any(s is None for s in in_shapes):
            continue  # an upstream problem already explains it
        if not _params_ok(node, kind):
            continue  # validate names the bad parameter; the rule might not survive it
        try:
            shapes[node_id] = kind.infer(node.params, in_shapes, node.label)
        except ShapeError as exc:
            problems.append(
                Problem(
                    ERROR, _node_place(project, node_id), _without_subject(str(exc), node.label)
                )
            )
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            # Parameters already reported as invalid can break the rule itself.
            problems.append(
                Problem(ERROR, _node_place(project, node_id), f"cannot work out its shape ({exc})")
            )
    return shapes, problems


def _params_ok(node, kind) -> bool:
    """Does every parameter pass its check? A project built in code (or a
    node's params changed past set_param) may hold "64" for units, which a
    shape rule or a weight count would multiply or iterate."""
    for spec in kind.params:
        try:
            spec.check(node.params.get(spec.name))
        except ValueError:
            return False
    return True


def _without_subject(message: str, label: str) -> str:
    """A shape rule's message starts with the node's label, as other callers
    need it; on a problem placed on the node it goes (the place names it)."""
    if message.startswith(label):
        return message[len(label) :].lstrip(": ")
    return message


def parameter_count(
    project: Project, shapes: dict[str, Shape | None] | None = None
) -> dict[str, int]:
    """Number of weights per node, as Keras' count_params() would report."""
    if shapes is None:
        shapes, _ = infer_shapes(project)
    counts = {}
    for node_id, node in project.nodes.items():
        kind = get_kind(node.kind)
        in_shapes = [shapes[p] for p in project.graph.predecessors(node_id)]
        if (
            any(s is None for s in in_shapes)
            or len(in_shapes) < kind.min_inputs
            or not _params_ok(node, kind)
        ):
            counts[node_id] = 0
            continue
        try:
            counts[node_id] = int(kind.count(node.params, in_shapes))
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            counts[node_id] = 0  # validate reports what makes the count impossible
    return counts


def validate(project: Project, profiles: dict | None = None, project_dir=None) -> list[Problem]:
    """Every problem of the project, each with its place.

    Without `profiles`, the design alone: what building or exporting a
    model needs. With `profiles` (source_key -> DataProfile; empty while no
    source has been read), the project as something to train: that it has
    data, and the graph against what each profiled source holds
    (core/data_checks.py). The window and `mtl-studio validate` check both."""
    problems: list[Problem] = []
    add = problems.append
    graph = project.graph
    nodes = project.nodes

    if not project.input_nodes():
        add(Problem(ERROR, Place("project"), "the project has no Input node: add one"))
    if not project.tasks:
        add(
            Problem(
                ERROR,
                Place("project"),
                "the project has no tasks: add an Output node and a task for it",
            )
        )

    # Names, parameters.
    seen_names: dict[str, str] = {}
    for node_id, node in nodes.items():
        place = _node_place(project, node_id)
        if node.name in seen_names:
            add(Problem(ERROR, place, f"two nodes are named {node.name!r}: rename one"))
        seen_names.setdefault(node.name, node_id)
        kind = get_kind(node.kind)
        for spec in kind.params:
            try:
                spec.check(node.params.get(spec.name))
            except ValueError as exc:
                add(Problem(ERROR, place, f"parameter {spec.name}: {exc}"))

    # Edges and connections.
    for edge in graph.edges:
        if edge.source not in nodes or edge.target not in nodes:
            missing = edge.source if edge.source not in nodes else edge.target
            add(
                Problem(
                    ERROR,
                    Place("edge", f"{edge.source}->{edge.target}"),
                    f"edge refers to a missing node {missing!r}: delete it",
                )
            )
    cycle = graph.cycle_nodes()
    for node_id in cycle:
        add(
            Problem(
                ERROR,
                _node_place(project, node_id),
                "is on a cycle: remove one of the edges of the loop",
            )
        )

    task_outputs = {t.output for t in project.tasks if t.output is not None}
    feeds_task: set[str] = set()
    for out in task_outputs:
        if out in nodes:
            feeds_task |= graph.ancestors(out) | {out}
    for node_id, node in nodes.items():
        kind = get_kind(node.kind)
        place = _node_place(project, node_id)
        n_in = len(graph.inputs_of(node_id))
        if node.kind == "Input":
            if not graph.outputs_of(node_id):
                add(Problem(ERROR, place, "is not connected: connect it to a layer or delete it"))
            elif node_id not in feeds_task:
                add(Problem(WARNING, place, "reaches no task output: connect it or delete it"))
            problem = _token_id_problem(project, node_id)
            if problem is not None:
                add(problem)
            continue
        if n_in < kind.min_inputs:
            if kind.min_inputs == 1:
                add(Problem(ERROR, place, "has no input: connect a layer into it"))
            else:
                add(
                    Problem(
                        ERROR,
                        place,
                        f"needs at least {kind.min_inputs} inputs but has "
                        f"{n_in}: connect more layers into it",
                    )
                )
        problem = _port_gap(kind, graph, node_id)
        if problem:
            add(Problem(ERROR, place, problem))
        if node.kind == "Output":
            if node_id not in task_outputs:
                add(Problem(ERROR, place, "belongs to no task: add a task that learns it"))
            if graph.outputs_of(node_id):
                add(
                    Problem(
                        WARNING,
                        place,
                        "ends a task head but feeds other layers: "
                        "feed them from the layer before it",
                    )
                )
        elif node_id not in feeds_task and node_id not in cycle:
            add(Problem(WARNING, place, "reaches no task output: connect it or delete it"))

    shapes, shape_problems = infer_shapes(project)
    problems.extend(shape_problems)
    # Imported here: block_checks builds on this module's Problem and Place.
    from .block_checks import block_problems

    problems.extend(block_problems(project, shapes))

    # Tasks.
    seen_tasks: set[str] = set()
    owners: dict[str, str] = {}
    for task in project.tasks:
        place = _task_place(task.name)
        if task.name in seen_tasks:
            add(Problem(ERROR, place, f"two tasks are named {task.name!r}: rename one"))
        seen_tasks.add(task.name)
        if task.output is None:
            add(Problem(ERROR, place, "has no Output node: choose one in the Tasks panel"))
            continue
        if task.output not in nodes or nodes[task.output].kind != "Output":
            add(
                Problem(
                    ERROR,
                    place,
                    f"learns {task.output!r}, which is not an Output node: "
                    "choose one in the Tasks panel",
                )
            )
            continue
        if task.output in owners:
            add(
                Problem(
                    ERROR,
                    place,
                    f"learns the same Output node as task "
                    f"'{owners[task.output]}': give it an Output of its own",
                )
            )
        owners.setdefault(task.output, task.name)
        problems.extend(_loss_problems(project, task, shapes.get(task.output)))

    problems.extend(_training_problems(project))
    if profiles is not None:
        # Imported here: data_checks builds on this module's Problem and Place.
        from .data_checks import data_problems

        problems.extend(data_problems(project, profiles, project_dir))
    return problems


def _port_gap(kind, graph, node_id: str) -> str:
    """A kind whose ports mean different things (an attention layer's query,
    value, key) takes its inputs by position: port 2 without port 1 would
    make the key the value. Empty when the ports are filled in order."""
    if not kind.port_names:
        return ""
    ports = sorted(e.port for e in graph.inputs_of(node_id))
    for wanted, port in enumerate(ports):
        if port != wanted:
            names = kind.port_names
            return (
                f"has an input on port {port} ({names[port]}) but none on port {wanted} "
                f"({names[wanted]}): connect its {names[wanted]} to port {wanted}, or move "
                f"the edge to port {wanted}"
            )
    return ""


def _token_id_problem(project: Project, input_id: str) -> Problem | None:
    """An Input that feeds an Embedding must hold whole numbers: data
    preparation standardises float inputs (never int32 ones), which would
    turn token ids into values such as -1, 0 and 1."""
    node = project.node(input_id)
    dtype = str(node.params.get("dtype", "float32"))
    if dtype.startswith(("int", "uint")):
        return None
    embeddings = [
        project.node(n).label
        for n in project.graph.successors(input_id)
        if n in project.nodes and project.node(n).kind == "Embedding"
    ]
    if not embeddings:
        return None
    return Problem(
        ERROR,
        _node_place(project, input_id),
        (
            f"has dtype {dtype} but feeds {' and '.join(dict.fromkeys(embeddings))} "
            "(float inputs are standardised by default): set its dtype to int32: an "
            "Embedding takes whole-number token ids"
        ),
    )


def _training_problems(project: Project) -> list[Problem]:
    """Does the choice of mode and weighting fit the network and its data?"""
    found: list[Problem] = []
    t = project.training
    place = Place("training", "", "training settings")
    found.extend(_setting_values(t, place))
    shared_weights = [
        n for n in project.shared_nodes() if get_kind(project.node(n).kind).has_weights
    ]
    if t.mode == "soft_sharing" and len(project.tasks) >= 2 and not project.shared_nodes():
        found.append(
            Problem(WARNING, place, "soft sharing is chosen but no layer is shared between tasks")
        )
    if t.mode == "alternating":
        if t.weighting != "fixed":
            found.append(
                Problem(
                    WARNING,
                    place,
                    (
                        f"weighting '{t.weighting}' applies to joint training: alternating mode trains "
                        "one task per step and ignores it"
                    ),
                )
            )
    else:
        for task in project.tasks:
            if task.data is not None:
                found.append(
                    Problem(
                        ERROR,
                        _task_place(task.name),
                        (
                            "has its own data set, which only alternating training supports: choose "
                            "alternating mode, or use the project's data"
                        ),
                    )
                )
        if t.weighting in SHARED_TRUNK_WEIGHTINGS:
            if t.mode == "soft_sharing":
                found.append(
                    Problem(
                        ERROR,
                        place,
                        (
                            f"weighting '{t.weighting}' works on a shared trunk, which soft sharing "
                            "does not have: choose joint mode or another weighting"
                        ),
                    )
                )
            elif project.tasks and not shared_weights:
                found.append(
                    Problem(
                        ERROR,
                        place,
                        (
                            f"weighting '{t.weighting}' needs a shared layer with weights: share a "
                            "layer between the tasks, or choose another weighting"
                        ),
                    )
                )
    found.extend(_split_problems(project, place))
    return found


def _setting_values(t, place: Place) -> list[Problem]:
    """Each setting against the file's own check (core/project.py), so a
    value set from code that load() would refuse never reaches save()."""
    found = []
    for name, check in TRAINING_CHECKS.items():
        if name == "monitor":
            continue  # _split_problems says what to choose instead
        try:
            check(getattr(t, name))
        except ValueError as exc:
            found.append(Problem(ERROR, place, f"{name.replace('_', ' ')}: {exc}"))
    return found


# Where the monitored quantity is chosen, as the messages say it.
CHOOSE_MONITOR = "choose another quantity for 'Best epoch by' in the Training panel"


def _split_problems(project: Project, place: Place) -> list[Problem]:
    """The rows held out and what watches them: the monitored quantity
    (core/monitor.py), early stopping, the validation and test shares. The
    Trainer and data preparation refuse these too, but only once Train is
    pressed."""
    found: list[Problem] = []
    t = project.training
    try:
        task_name, figure = monitor.parse(t.monitor)
    except ValueError:  # set_training refuses it; a settings object built in code may not
        task_name, figure = None, "loss"
        found.append(
            Problem(
                ERROR,
                place,
                (
                    f"the best epoch is chosen by {t.monitor!r}, which is not a quantity a run "
                    f"records: {CHOOSE_MONITOR}"
                ),
            )
        )
    if task_name is not None:
        task = next((x for x in project.tasks if x.name == task_name), None)
        if task is None:
            found.append(
                Problem(
                    ERROR,
                    place,
                    (
                        f"the best epoch is chosen by task '{task_name}', which the project does not "
                        f"have: {CHOOSE_MONITOR}"
                    ),
                )
            )
        elif figure != "loss" and figure not in task.metrics:
            found.append(
                Problem(
                    ERROR,
                    place,
                    (
                        f"the best epoch is chosen by {monitor.label(t.monitor)}, which the task does "
                        f"not compute: add {figure} to the metrics of task '{task_name}' in the Tasks "
                        f"panel, or {CHOOSE_MONITOR}"
                    ),
                )
            )
    if t.early_stopping and t.validation_split <= 0:
        found.append(
            Problem(
                ERROR,
                place,
                (
                    "early stopping watches the validation rows, but the validation split is 0: set "
                    "it above 0 in the Data panel, or turn early stopping off in the Training panel"
                ),
            )
        )
    # With a little slack: 0.7 + 0.3 is 0.9999999999999999 in floats, and
    # leaves no rows all the same.
    if t.validation_split + t.test_split >= 1 - 1e-9:
        found.append(
            Problem(
                ERROR,
                place,
                (
                    f"the validation split ({t.validation_split:g}) and the test share "
                    f"({t.test_split:g}) hold out every row, which leaves none to train on: lower "
                    "one of them in the Data panel, so that the two add up to less than 1"
                ),
            )
        )
    return found


def _loss_problems(project: Project, task, shape) -> list[Problem]:
    """Does the task's loss fit what its Output produces?"""
    out = project.node(task.output)
    units = out.params.get("units")
    activation = out.params.get("activation")
    place = _task_place(task.name)
    found: list[Problem] = []
    if task.loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if units == 1:
            found.append(
                Problem(
                    ERROR,
                    place,
                    (
                        f"{task.loss} needs one output unit per class but {out.label} has "
                        f"{counted(units, 'unit')}: "
                        "set units to the number of classes, or use binary_crossentropy with a sigmoid"
                    ),
                )
            )
        if activation != "softmax":
            found.append(
                Problem(
                    WARNING,
                    place,
                    (
                        f"{task.loss} expects probabilities but {out.label} has activation "
                        f"{activation}: set it to softmax"
                    ),
                )
            )
    elif task.loss == "binary_crossentropy":
        if activation != "sigmoid":
            found.append(
                Problem(
                    WARNING,
                    place,
                    (
                        f"binary_crossentropy expects probabilities but {out.label} has activation "
                        f"{activation}: set it to sigmoid"
                    ),
                )
            )
    elif activation in ("softmax", "sigmoid"):
        found.append(
            Problem(
                WARNING,
                place,
                (
                    f"{task.loss} is a regression loss but {out.label} has activation {activation}: "
                    "use linear for regression, or a classification loss"
                ),
            )
        )
    if task.loss not in CLASSIFICATION_LOSSES:
        bad = [m for m in task.metrics if m in CLASSIFICATION_METRICS]
        if bad:
            found.append(
                Problem(
                    WARNING,
                    place,
                    (f"metric {', '.join(bad)} is for classification but the loss is {task.loss}"),
                )
            )
    return found


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]
