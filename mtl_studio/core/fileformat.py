"""The project file: JSON with a format version, migrations for older
versions, and atomic saving. docs/project-format.md documents every field.

Reading checks every value and raises ProjectError naming the JSON path,
e.g. "nodes[3].params.units: expected a positive integer, got -4". Nothing
is eval'd or unpickled.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable

from .atomic import write_text
from .catalogue import KINDS
from .datafiles import absolute, fingerprint, relative, sources
from .graph import Edge, GraphError, Node
from .params import describe
from .wording import one_line
from .project import (
    OPTIMIZER_CHECKS,
    TRAINING_CHECKS,
    Project,
    check_data_source,
    check_node_name,
)
from .settings import (
    DataSource,
    OptimizerSpec,
    TrainingSettings,
    image_field_problem,
)
from .tasks import TASK_FIELD_CHECKS, Task, check_task_name

FORMAT_NAME = "mtl-studio-project"
FORMAT_VERSION = 4
SUFFIX = ".mtl.json"

# from-version -> function turning a dict of that version into the next one.
# To change the format: bump FORMAT_VERSION, add MIGRATIONS[old] and a test
# that loads a file of the old version (see docs/project-format.md).


def _v1_to_v2(data: dict) -> dict:
    """Version 2 records each data file's size and hash ("fingerprint")."""
    tasks = data.get("tasks")
    # Any type may stand anywhere here: the reader names what is wrong later.
    sources = [data.get("data")] + [
        t.get("data") for t in (tasks if isinstance(tasks, list) else []) if isinstance(t, dict)
    ]
    for source in sources:
        if isinstance(source, dict):
            source.setdefault("fingerprint", None)
    return data


def _v2_to_v3(data: dict) -> dict:
    """Version 3 adds fields a version 2 file reads as their defaults: an
    edge's output port `out` (0), the optimizer's betas, epsilon and
    momentum, layers' initializers, the new weightings' settings. The bump
    makes an older MTL Studio refuse a file that needs them (a block's
    second port) with its "newer version" message rather than half-read it."""
    return data


def _v3_to_v4(data: dict) -> dict:
    """Version 4 adds fields a version 3 file reads as their defaults:
    training's `strategy`, `precision` and `data_loading`, and the image
    folder source (kind "images" and its fields). The bump makes an older
    MTL Studio refuse such a file with its "newer version" message."""
    return data


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


class ProjectError(Exception):
    """A project file that cannot be read: `path` is the JSON path of the
    bad value ("" for the whole file), `file` the file when known."""

    def __init__(self, path: str, message: str, file: str | None = None) -> None:
        self.path = path
        self.message = message
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        text = f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"
        return one_line(text)


# --- writing -----------------------------------------------------------------


def _optimizer_dict(spec: OptimizerSpec | None):
    if spec is None:
        return None
    return {key: getattr(spec, key) for key in OPTIMIZER_CHECKS}


def _data_dict(source: DataSource | None, folder: Path | None):
    if source is None:
        return None
    return {
        "kind": source.kind,
        "generator": source.generator,
        "params": dict(source.params),
        "path": relative(source.path, folder) if folder is not None else source.path,
        "inputs": {k: list(v) for k, v in source.inputs.items()},
        "standardize_inputs": source.standardize_inputs,
        "standardize_targets": source.standardize_targets,
        "fingerprint": dict(source.fingerprint) if source.fingerprint else None,
        # An image folder's fields, written for that kind only.
        **({key: getattr(source, key) for key in _IMAGE_FIELDS} if source.kind == "images" else {}),
    }


def _json_param(value):
    return list(value) if isinstance(value, tuple) else value


def _edge_json(e: Edge) -> dict:
    """An edge; "out" only where it leaves a block's second port or later,
    so files of plain layers read as before."""
    found = {"from": e.source, "to": e.target, "port": e.port}
    if e.out:
        found["out"] = e.out
    return found


def _coordinate(value: float):
    """Canvas positions as short numbers: 240 rather than 240.0."""
    value = round(value, 2)
    return int(value) if float(value).is_integer() else value


def to_dict(project: Project, folder: Path | None = None) -> dict:
    """The project as JSON-ready values; with `folder` (where the file goes)
    data paths are written relative to it when they can be."""
    t = project.training
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": project.name,
        "description": project.description,
        "nodes": [
            {
                "id": n.id,
                "kind": n.kind,
                "name": n.name,
                "params": {k: _json_param(v) for k, v in n.params.items()},
                "position": [_coordinate(n.x), _coordinate(n.y)],
            }
            for n in project.nodes.values()
        ],
        "edges": [_edge_json(e) for e in project.edges],
        "tasks": [
            {
                "name": task.name,
                "output": task.output,
                "loss": task.loss,
                "weight": task.weight,
                "metrics": list(task.metrics),
                "target": list(task.target),
                "color": task.color,
                "optimizer": _optimizer_dict(task.optimizer),
                "schedule_weight": task.schedule_weight,
                "data": _data_dict(task.data, folder),
            }
            for task in project.tasks
        ],
        "training": {
            "mode": t.mode,
            "weighting": t.weighting,
            "gradnorm_alpha": t.gradnorm_alpha,
            "dwa_temperature": t.dwa_temperature,
            "cagrad_c": t.cagrad_c,
            "gradvac_beta": t.gradvac_beta,
            "famo_learning_rate": t.famo_learning_rate,
            "famo_weight_decay": t.famo_weight_decay,
            "optimizer": _optimizer_dict(t.optimizer),
            "schedule": t.schedule,
            "soft_sharing_lambda": t.soft_sharing_lambda,
            "batch_size": t.batch_size,
            "epochs": t.epochs,
            "validation_split": t.validation_split,
            "seed": t.seed,
            "steps_per_call": t.steps_per_call,
            "test_split": t.test_split,
            "strategy": t.strategy,
            "precision": t.precision,
            "monitor": t.monitor,
            "early_stopping": t.early_stopping,
            "patience": t.patience,
            "min_delta": t.min_delta,
            "split_seed": t.split_seed,
            "affinity_every": t.affinity_every,
            "data_loading": t.data_loading,
        },
        "data": _data_dict(project.data, folder),
    }


def _format(value, indent: int = 0) -> str:
    """JSON with two-space indents, but lists of plain values on one line
    ("shape": [28, 28, 1]) so the file stays easy to read and to diff."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_format(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in value) + "]"
        items = [inner + _format(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


def dumps(project: Project, folder: Path | None = None) -> str:
    return _format(to_dict(project, folder)) + "\n"


def _refresh_fingerprints(project: Project, folder: Path) -> None:
    """Record each data file as it is now, so the next open can tell
    whether it changed. A file that cannot be read keeps what it had."""
    for _, source in sources(project):
        found = fingerprint(Path(absolute(source.path, folder)))
        if found is not None:
            source.fingerprint = found


def save(project: Project, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, then a rename,
    so a crash or a full disk never leaves half a project behind."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    _refresh_fingerprints(project, folder)
    text = dumps(project, folder)
    if not folder.is_dir():
        raise ProjectError("", f"cannot write to {folder}: the folder does not exist", str(path))
    try:
        write_text(path, text)
    except OSError as exc:
        raise ProjectError("", f"cannot write the file: {exc.strerror or exc}", str(path)) from None


# --- reading -----------------------------------------------------------------

_MISSING = object()


class _Reader:
    """Reads values out of nested dicts, naming the JSON path on failure."""

    def field(self, obj: dict, key: str, path: str, types, default: Any = _MISSING):
        here = f"{path}.{key}" if path else key
        if key not in obj:
            if default is _MISSING:
                raise ProjectError(here, "is missing")
            return default
        value = obj[key]
        if types is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types))
        ):
            raise ProjectError(here, f"expected {_type_name(types)}, got {describe(value)}")
        return value

    def mapping(self, value, path: str) -> dict:
        if not isinstance(value, dict):
            raise ProjectError(path, f"expected an object, got {describe(value)}")
        return value

    def check(self, check, value, path: str):
        try:
            return check(value)
        except ValueError as exc:
            raise ProjectError(path, str(exc)) from None

    def unknown(self, obj: dict, known, path: str) -> None:
        extra = [k for k in obj if k not in known]
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            raise ProjectError(where, f"unknown field (known: {', '.join(known)})")


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _type_name(types) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return " or ".join(names.get(t, t.__name__) for t in _tuple(types))


_NUM = (int, float)

# Limits checked on load (docs/project-format.md, "Limits"): every pass over
# the graph is linear, and these keep a file's load and validation within a
# few seconds and its diagram within what a canvas can show.
MAX_NODES = 5000
MAX_EDGES = 20000
MAX_TASKS = 500
MAX_ID = 200  # characters of a node id
MAX_COORDINATE = 1e7  # canvas positions, either way
MAX_FILE_BYTES = 64 * 2**20  # a project file; the largest allowed graph is a few MB
MAX_PATH = 4096  # characters of a data path
MAX_PORT = 1000  # an edge's input or output port
MAX_DEPTH = 100  # nesting named in a "nested too deeply" message


def _read_optimizer(r: _Reader, value, path: str) -> OptimizerSpec | None:
    """Each field checked on its own, so an error names it; a field the file
    lacks (older files have only name and learning_rate) takes its default."""
    if value is None:
        return None
    obj = r.mapping(value, path)
    r.unknown(obj, tuple(OPTIMIZER_CHECKS), path)
    default = OptimizerSpec()
    return OptimizerSpec(
        **{
            key: r.check(check, obj.get(key, getattr(default, key)), f"{path}.{key}")
            for key, check in OPTIMIZER_CHECKS.items()
        }
    )


_DATA_FIELDS = (
    "kind",
    "generator",
    "params",
    "path",
    "inputs",
    "standardize_inputs",
    "standardize_targets",
    "fingerprint",
)
# Kind "images" (core/settings.py): each field with its JSON type.
_IMAGE_FIELDS = {
    "image_column": str,
    "image_height": int,
    "image_width": int,
    "image_channels": int,
    "cache_images": bool,
}


def _read_data(r: _Reader, value, path: str) -> DataSource | None:
    if value is None:
        return None
    obj = r.mapping(value, path)
    r.unknown(obj, _DATA_FIELDS + tuple(_IMAGE_FIELDS), path)
    inputs = r.field(obj, "inputs", path, dict, {})
    for key, cols in inputs.items():
        if isinstance(cols, str):
            inputs[key] = cols = [cols]
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise ProjectError(
                f"{path}.inputs.{key}", f"expected a list of column names, got {describe(cols)}"
            )
    source = DataSource(
        kind=r.field(obj, "kind", path, str, "generator"),
        generator=r.field(obj, "generator", path, str, ""),
        params=dict(r.field(obj, "params", path, dict, {})),
        path=r.field(obj, "path", path, str, ""),
        inputs=inputs,
        standardize_inputs=r.field(obj, "standardize_inputs", path, bool, True),
        standardize_targets=r.field(obj, "standardize_targets", path, bool, False),
        fingerprint=_read_fingerprint(r, obj.get("fingerprint"), f"{path}.fingerprint"),
    )
    _check_path(source.path, f"{path}.path")
    if source.kind == "generator":
        _check_generator_params(source.generator, source.params, f"{path}.params")
    defaults = DataSource()
    for key, types in _IMAGE_FIELDS.items():
        setattr(source, key, r.field(obj, key, path, types, getattr(defaults, key)))
    try:
        source = check_data_source(source)
    except ValueError as exc:
        raise ProjectError(f"{path}.kind", str(exc)) from None
    problem = image_field_problem(source)
    if problem is not None:
        raise ProjectError(f"{path}.{problem[0]}", problem[1])
    return source


def _check_path(value: str, path: str) -> None:
    """A data path the file system can take: no NUL (the operating system
    would refuse it with ValueError, not OSError), one line, not too long."""
    if "\x00" in value or not value.isprintable():
        raise ProjectError(
            path, f"a path cannot hold a NUL byte or a line break: {describe(value)}"
        )
    if len(value) > MAX_PATH:
        raise ProjectError(
            path, f"a path has at most {MAX_PATH} characters, this one has {len(value)}"
        )


def _check_generator_params(name: str, params: dict, path: str) -> None:
    """A built-in generator's parameters, each checked against its spec as
    the generator will (data/generators.py), so "examples": "64" is refused
    here rather than by the inspector or the trainer. An unknown generator
    is left to validation, which says which ones there are."""
    # Imported here: the generators' specs live with the data layer (numpy).
    from ..data.generators import GENERATORS

    generator = GENERATORS.get(name)
    specs = {spec.name: spec for spec in generator.params} if generator else {}
    for key, value in params.items():
        here = f"{path}.{key}"
        if key in specs:
            try:
                specs[key].check(value)
            except ValueError as exc:
                raise ProjectError(here, str(exc)) from None
        elif generator is not None:
            raise ProjectError(
                here, f"unknown parameter of generator {name!r} (known: {', '.join(specs)})"
            )
        elif isinstance(value, (list, dict)):
            raise ProjectError(
                here, f"expected a number, text or true/false, got {describe(value)}"
            )


def _read_fingerprint(r: _Reader, value, path: str) -> dict | None:
    if value is None:
        return None
    obj = r.mapping(value, path)
    r.unknown(obj, ("size", "sha256"), path)
    size = r.field(obj, "size", path, int)
    if not 0 <= size < 2**63:
        raise ProjectError(f"{path}.size", f"expected a file size in bytes, got {describe(size)}")
    return {"size": size, "sha256": r.field(obj, "sha256", path, str)}


def _read_node(r: _Reader, value, path: str) -> Node:
    obj = r.mapping(value, path)
    r.unknown(obj, ("id", "kind", "name", "params", "position"), path)
    node_id = r.field(obj, "id", path, str)
    if not node_id:
        raise ProjectError(f"{path}.id", "must not be empty")
    if len(node_id) > MAX_ID or not node_id.isprintable():
        raise ProjectError(
            f"{path}.id",
            f"expected one line of at most {MAX_ID} characters, got {describe(node_id)}",
        )
    kind_name = r.field(obj, "kind", path, str)
    if kind_name not in KINDS:
        raise ProjectError(
            f"{path}.kind", f"unknown node kind {kind_name!r} (known: {', '.join(sorted(KINDS))})"
        )
    kind = KINDS[kind_name]
    name = r.check(check_node_name, r.field(obj, "name", path, str, node_id), f"{path}.name")
    raw = r.field(obj, "params", path, dict, {})
    params = kind.defaults()
    for key, v in raw.items():
        if key not in params:
            known = ", ".join(params) or "none"
            raise ProjectError(
                f"{path}.params.{key}", f"unknown parameter of {kind_name} (known: {known})"
            )
        params[key] = r.check(kind.param(key).check, v, f"{path}.params.{key}")
    pos = r.field(obj, "position", path, list, [0, 0])
    if len(pos) != 2 or not all(
        isinstance(c, _NUM) and not isinstance(c, bool) and -MAX_COORDINATE <= c <= MAX_COORDINATE
        for c in pos
    ):  # NaN fails the comparison too
        raise ProjectError(
            f"{path}.position",
            f"expected [x, y], each in [-{MAX_COORDINATE:.0f}, {MAX_COORDINATE:.0f}], "
            f"got {describe(pos)}",
        )
    return Node(node_id, kind_name, name, params, float(pos[0]), float(pos[1]))


_TASK_FIELDS = (
    "name",
    "output",
    "loss",
    "weight",
    "metrics",
    "target",
    "color",
    "optimizer",
    "schedule_weight",
    "data",
)


def _read_task(r: _Reader, value, path: str, node_ids) -> Task:
    obj = r.mapping(value, path)
    r.unknown(obj, _TASK_FIELDS, path)
    name = r.check(check_task_name, r.field(obj, "name", path, str), f"{path}.name")
    output = r.field(obj, "output", path, (str, type(None)), None)
    if output is not None and output not in node_ids:
        raise ProjectError(f"{path}.output", f"refers to a missing node {output!r}")
    task = Task(name, output)
    for key, types, default in (
        ("loss", str, "mse"),
        ("weight", _NUM, 1.0),
        ("metrics", list, []),
        ("target", (list, str), []),
        ("color", str, ""),
        ("schedule_weight", _NUM, 1.0),
    ):
        raw = r.field(obj, key, path, types, default)
        setattr(task, key, r.check(TASK_FIELD_CHECKS[key], raw, f"{path}.{key}"))
    task.optimizer = _read_optimizer(r, obj.get("optimizer"), f"{path}.optimizer")
    task.data = _read_data(r, obj.get("data"), f"{path}.data")
    return task


def _read_training(r: _Reader, value, path: str) -> TrainingSettings:
    settings = TrainingSettings()
    if value is None:
        return settings
    obj = r.mapping(value, path)
    r.unknown(obj, tuple(TRAINING_CHECKS), path)
    for key, raw in obj.items():
        here = f"{path}.{key}"
        if key == "optimizer":
            spec = _read_optimizer(r, raw, here)
            settings.optimizer = spec if spec is not None else OptimizerSpec()
        else:
            setattr(settings, key, r.check(TRAINING_CHECKS[key], raw, here))
    return settings


def _migrate(data: dict) -> dict:
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(
            "format_version", f"expected a positive integer, got {describe(version)}"
        )
    if version > FORMAT_VERSION:
        raise ProjectError(
            "format_version",
            (
                f"the file has format version {version}, newer than this MTL Studio reads "
                f"({FORMAT_VERSION}): update MTL Studio to open it"
            ),
        )
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise ProjectError("format_version", f"no migration from format version {version}")
        data = MIGRATIONS[version](data)
        version += 1
        data["format_version"] = version
    return data


def from_dict(data: Any) -> Project:
    r = _Reader()
    data = r.mapping(data, "")
    if data.get("format") != FORMAT_NAME:
        raise ProjectError(
            "format",
            f"expected {FORMAT_NAME!r}: this is not an MTL Studio "
            f"project (got {describe(data.get('format'))})",
        )
    data = _migrate(dict(data))
    r.unknown(
        data,
        (
            "format",
            "format_version",
            "name",
            "description",
            "nodes",
            "edges",
            "tasks",
            "training",
            "data",
        ),
        "",
    )
    project = Project(r.field(data, "name", "", str, "untitled"))
    project.description = r.field(data, "description", "", str, "")

    nodes = r.field(data, "nodes", "", list, [])
    edges = r.field(data, "edges", "", list, [])
    tasks = r.field(data, "tasks", "", list, [])
    for key, found, limit in (
        ("nodes", nodes, MAX_NODES),
        ("edges", edges, MAX_EDGES),
        ("tasks", tasks, MAX_TASKS),
    ):
        if len(found) > limit:
            raise ProjectError(
                key, f"a project holds at most {limit} {key}, this file has {len(found)}"
            )
    for i, raw in enumerate(nodes):
        node = _read_node(r, raw, f"nodes[{i}]")
        if node.id in project.nodes:
            raise ProjectError(f"nodes[{i}].id", f"duplicate node id {node.id!r}")
        project.graph.add_node(node)

    # Sets of what is taken, so each edge is checked in constant time (a
    # scan of the edges so far made a large file's load quadratic).
    seen_edges: set[Edge] = set()
    taken_ports: set[tuple[str, int]] = set()
    for i, raw in enumerate(edges):
        path = f"edges[{i}]"
        obj = r.mapping(raw, path)
        r.unknown(obj, ("from", "to", "port", "out"), path)
        source = r.field(obj, "from", path, str)
        target = r.field(obj, "to", path, str)
        port = r.field(obj, "port", path, int, 0)
        out = r.field(obj, "out", path, int, 0)
        for key, number in (("port", port), ("out", out)):
            if number > MAX_PORT:
                raise ProjectError(
                    f"{path}.{key}", f"expected a port from 0 to {MAX_PORT}, got {describe(number)}"
                )
        for key, ref in (("from", source), ("to", target)):
            if ref not in project.nodes:
                raise ProjectError(f"{path}.{key}", f"refers to a missing node {ref!r}")
        if port < 0:
            raise ProjectError(f"{path}.port", f"expected an integer >= 0, got {port}")
        if out < 0:
            raise ProjectError(f"{path}.out", f"expected an integer >= 0, got {out}")
        # An output port beyond the source's ports is kept: validation names
        # it on the node (the block may have lost a task), nothing is lost.
        edge = Edge(source, target, port, out)
        if edge in seen_edges:
            raise ProjectError(path, f"duplicate edge {source} -> {target}")
        kind = KINDS[project.node(target).kind]
        if kind.max_inputs is not None and port >= kind.max_inputs:
            raise ProjectError(
                f"{path}.port", f"{project.node(target).label} has no input port {port}"
            )
        if (target, port) in taken_ports:
            raise ProjectError(
                path, f"a second edge into port {port} of {project.node(target).label}"
            )
        seen_edges.add(edge)
        taken_ports.add((target, port))
        # Cycles are kept, not refused: validation reports them on the nodes
        # so the user can open the file and fix it on the canvas.
        project.graph.insert_edge(edge)

    task_names: set[str] = set()
    for i, raw in enumerate(tasks):
        task = _read_task(r, raw, f"tasks[{i}]", project.nodes)
        if task.name in task_names:
            raise ProjectError(f"tasks[{i}].name", f"duplicate task name {task.name!r}")
        task_names.add(task.name)
        project.tasks.append(task)

    project.training = _read_training(r, data.get("training"), "training")
    data_source = _read_data(r, data.get("data"), "data")
    project.data = data_source if data_source is not None else DataSource()
    return project


def _nesting_place(text: str, limit: int = MAX_DEPTH) -> str:
    """Where the text first nests deeper than `limit` lists and objects:
    "at line L column C", or "" when it does not."""
    depth, line, start, quoted, escaped = 0, 1, 0, False, False
    for i, c in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return f" at line {line} column {i - start + 1}"
        elif c in "]}":
            depth -= 1
        if c == "\n":
            line, start = line + 1, i + 1
    return ""


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    return f" at line {line} column {index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def loads(text: str, file: str | None = None) -> Project:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            "", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file
        ) from None
    except RecursionError:  # the parser's recursion: find where, without it
        place = _nesting_place(text)
        raise ProjectError("", f"not valid JSON: nested too deeply{place}", file) from None
    except ValueError:  # an integer past Python's digit limit (4300)
        found = re.search(r"\d{4300}", text)
        place = _line_column(text, found.start()) if found else ""
        raise ProjectError("", f"a number has too many digits{place}", file) from None
    try:
        return from_dict(data)
    except ProjectError as exc:
        exc.file = file
        raise
    except GraphError as exc:
        raise ProjectError("", str(exc), file) from None


def load(path: str | os.PathLike) -> Project:
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # A folder, a FIFO or a device such as /dev/zero: never read forever.
            raise ProjectError("", "not a project file (not a regular file)", str(path))
        if info.st_size > MAX_FILE_BYTES:
            raise ProjectError(
                "",
                f"the file has {info.st_size} bytes, more than a project file holds "
                f"({MAX_FILE_BYTES})",
                str(path),
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectError("", f"cannot read the file: {exc.strerror or exc}", str(path)) from None
    except ValueError as exc:  # a NUL byte in the path
        raise ProjectError("", f"cannot read the file: {exc}", str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ProjectError(
            "",
            f"not a text file (it is not UTF-8): byte 0x{raw[exc.start]:02x} at line {line} "
            f"column {column}",
            str(path),
        ) from None
    project = loads(text, str(path))
    # In memory, data paths are absolute: the project can then be saved
    # anywhere, and trained from any current folder.
    project.anchor_data_paths(path.parent)
    return project
