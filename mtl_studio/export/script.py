"""Export a project as a standalone Python training script.

The script needs numpy and TensorFlow (Keras 3) only, never mtl_studio. It
prepares the project's data, builds the same Keras model with one readable
functional-API line per node (the builder's layer names, in the builder's
order, so the same seed gives the same initial weights), and trains it in
the project's mode and weighting with the Trainer's batch order, so its
step losses are the Trainer's. It carries only the code paths the project
uses; script_parts.py holds the pieces.

This module only writes text: it imports neither TensorFlow nor Qt.
"""

from __future__ import annotations

import datetime
import inspect
import json
import keyword
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..core import atomic
from ..core.block_checks import model_layers
from ..core.blocks import expand
from ..core.catalogue import call_arguments, get_kind, keras_config, recurrent_inner_config
from ..core.data_checks import source_groups
from ..core.datafiles import absolute, relative
from ..core.graph import Node
from ..core.project import Project
from ..core.settings import (
    OPTIMIZER_CLASSES,
    SHARED_TRUNK_WEIGHTINGS,
    DataSource,
    OptimizerSpec,
)
from ..core.tasks import Task
from ..core.validation import errors, infer_shapes, validate
from ..data import generators
from ..data.prepare import REGRESSION_LOSSES, data_set_label, inputs_of
from ..training.builder import BuildError, layer_calls, model_name
from ..training.losses import batch_sum_loss
from ..training.precision import layer_policy, needs_loss_scale
from . import script_parts as parts


class ScriptExportError(Exception):
    """The script cannot be made or written; the message says why."""


# Keras classes of the loss names a project uses (losses.loss_function, as
# code); the optimizers' are core.settings.OPTIMIZER_CLASSES.
LOSS_CODE = {
    "mse": "keras.losses.MeanSquaredError()",
    "mae": "keras.losses.MeanAbsoluteError()",
    "huber": "keras.losses.Huber()",
    "binary_crossentropy": "keras.losses.BinaryCrossentropy()",
    "categorical_crossentropy": "keras.losses.CategoricalCrossentropy()",
    "sparse_categorical_crossentropy": "keras.losses.SparseCategoricalCrossentropy()",
    "l2": "l2_loss",
}
# Leading arguments written without their keyword, as Keras examples do.
POSITIONAL = {
    "Dense": ("units",),
    "Conv1D": ("filters", "kernel_size"),
    "Conv2D": ("filters", "kernel_size"),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "Embedding": ("input_dim", "output_dim"),
    "LSTM": ("units",),
    "GRU": ("units",),
    "Reshape": ("target_shape",),
}
# Values that are Keras' own defaults, left out to keep the lines short.
KERAS_DEFAULTS = {
    "use_bias": True,
    "padding": "valid",
    "return_sequences": False,
    "dropout": 0.0,
    "mask_zero": False,
    "merge_mode": "concat",
    "axis": -1,
    "epsilon": 0.001,
    "momentum": 0.99,
    "strides": None,
    "normalize": False,
    "value_dim": None,
    "kernel_initializer": "glorot_uniform",
    "embeddings_initializer": "random_uniform",  # Keras' "uniform", the same
}
# The suffix of the model the script trains, in place of its own ".py":
# NAME.trained.keras, never the NAME.keras of File > Export Keras Model
# (Keras needs the final ".keras"). The header and MODEL_FILE both use it.
TRAINED_SUFFIX = ".trained.keras"
# Names build_model() uses itself, which a node's tensor must not shadow.
TAKEN_NAMES = {"keras", "layers", "SEED", "SPLIT_SEED", "tf", "np"}
# What train() says of each mode.
MODES = {
    "joint": "Joint training: each step takes one batch of every task and updates the whole model.",
    "soft_sharing": "Soft sharing: each task has its own tower (its own copy of the trunk), "
    "the penalty keeps the copies close, and each step takes one batch of "
    "every task and updates every tower.",
}


# --- the public API ----------------------------------------------------------------


def script_text(project: Project, project_dir: Path | None, *, out: Path | None = None) -> str:
    """The training script of a valid project. Relative data paths are read
    from project_dir (the project file's folder; the current folder when
    None). With `out`, the script's own path, a data file in the script's
    folder (or below) is written relative to the script; otherwise paths
    are absolute. Raises ScriptExportError for a project that cannot train."""
    _check(project)
    return _Script(project, project_dir, out).text()


def write_script(project: Project, project_dir: Path | None, out: Path) -> None:
    """Write the script to `out` atomically (a temporary file, then a rename)."""
    out = Path(out)
    text = script_text(project, project_dir, out=out)
    try:
        atomic.write_text(out, text)
    except OSError as exc:
        raise ScriptExportError(f"{out}: cannot write the script: {exc.strerror or exc}") from None


# --- checks ----------------------------------------------------------------------------


def _check(project: Project) -> None:
    """Refuse a project that validate() finds errors in, as the project to
    train (its data chosen), with validate()'s messages: the Trainer refuses
    the same. Then what the script is written from and validate() cannot see
    without reading the data: each Input's columns and each task's target."""
    problems = errors(validate(project, {}))
    if problems:
        raise ScriptExportError(str(BuildError(problems)))
    for source, tasks in source_groups(project):
        for node in inputs_of(project, tasks):
            if not source.inputs.get(node.id):
                raise ScriptExportError(
                    f"{node.label} has no columns mapped in "
                    f"{data_set_label(tasks)}: map its columns in the "
                    "Data panel"
                )
            if _image_input(source, node) and len(source.inputs[node.id]) != 1:
                raise ScriptExportError(
                    "images cannot be stacked with other columns: map the image "
                    f"column alone to {node.label}"
                )
    for task in project.tasks:
        if not task.target:
            raise ScriptExportError(f"task '{task.name}' has no target: choose its columns")
        if task.loss == "sparse_categorical_crossentropy" and len(task.target) != 1:
            raise ScriptExportError(
                f"task '{task.name}' ({task.loss}) learns one class per example but has "
                f"{len(task.target)} target columns: choose one column"
            )


def _generator_params(source: DataSource, label: str) -> dict:
    """The generator's parameters with defaults filled in and checked, as
    generators.generate() does."""
    generator = generators.GENERATORS.get(source.generator)
    if generator is None:
        raise ScriptExportError(
            f"{label}: unknown generator {source.generator!r}: choose "
            f"one of {', '.join(generators.GENERATORS)}"
        )
    specs = {spec.name for spec in generator.params}
    for key in source.params:
        if key not in specs:
            raise ScriptExportError(
                f"{label}: generator '{generator.name}' has no parameter {key!r}: remove it"
            )
    try:
        return {
            spec.name: spec.check(source.params.get(spec.name, spec.default))
            for spec in generator.params
        }
    except ValueError as exc:
        raise ScriptExportError(f"{label}: generator '{generator.name}': {exc}") from None


def _image_input(source: DataSource, node: Node) -> bool:
    """Whether an Input takes an image folder's images."""
    return source.kind == "images" and source.image_column in source.inputs.get(node.id, [])


def _weighted(project: Project, node_ids) -> list[str]:
    """The nodes among node_ids whose layers have weights."""
    return [n for n in node_ids if get_kind(project.node(n).kind).has_weights]


def _last_shared(project: Project) -> str | None:
    """GradNorm's layer: the last shared node with weights (the Trainer's
    _last_shared_layer)."""
    shared = set(project.shared_nodes())
    order, _ = project.graph.topological_order()
    found = _weighted(project, [n for n in order if n in shared])
    return found[-1] if found else None


# --- the model: the builder's walk, as lines of code ------------------------------------


@dataclass
class Layer:
    node: Node
    name: str  # the Keras layer name
    var: str  # the Python variable holding its output
    inputs: list[str]  # the variables it is called on
    tower: str | None = None  # soft sharing: the task whose tower holds this copy
    extra: dict = field(default_factory=dict)  # a block's layer: Keras arguments beyond the node's
    note: str = ""  # a comment line before it (where a block's layers start)


@dataclass
class ModelPlan:
    inputs: list[Layer] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # task -> variable
    # (node id, task or None) -> layer name, as BuiltModel.layers
    names: dict[tuple[str, str | None], str] = field(default_factory=dict)
    # block node id -> the names of its layers, as BuiltModel.blocks
    blocks: dict[str, list[str]] = field(default_factory=dict)


class _Variables:
    """Python names for tensors: the layer's name where it is one, unique."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        base = re.sub(r"\W", "_", name)
        if keyword.iskeyword(base) or base in TAKEN_NAMES:
            base += "_"
        var, i = base, 2
        while var in self.used:
            var, i = f"{base}_{i}", i + 1
        self.used.add(var)
        return var


def model_plan(project: Project, mode: str) -> ModelPlan:
    """The layers of build_model(project, mode), in its creation order and
    with its names (towers and their names for soft sharing)."""
    graph = project.graph
    input_ids, calls = layer_calls(project, mode)
    plan, variable = ModelPlan(), _Variables()
    inputs: dict[str, str] = {}
    for node_id in input_ids:
        node = project.node(node_id)
        inputs[node_id] = variable(node.name)
        plan.inputs.append(Layer(node, node.name, inputs[node_id], []))
    towers: dict[str | None, dict] = {}  # tower (task, or None) -> node id -> variable
    for call in calls:
        known = towers.setdefault(call.tower, dict(inputs))
        node = project.node(call.node_id)
        feeding = [_port(known[p], out) for p, out in graph.sources(call.node_id)]
        if get_kind(node.kind).block:
            known[call.node_id] = _block_layers(project, plan, variable, call, feeding)
        else:
            layer = Layer(node, call.name, variable(call.name), feeding, call.tower)
            plan.layers.append(layer)
            known[call.node_id] = layer.var
        plan.names[call.key] = call.name
    for task in project.tasks:
        known = towers[task.name if mode == "soft_sharing" else None]
        plan.outputs[task.name] = known[task.output]
    return plan


def _port(var, out: int) -> str:
    """A block's variables are one per output port (builder._port)."""
    return var[out] if isinstance(var, list) else var


def _block_layers(project: Project, plan: ModelPlan, variable, call, feeding) -> list[str]:
    """A block node's layers (builder.build_block, as code); returns the
    variable of each output port."""
    node = project.node(call.node_id)
    shapes, _ = infer_shapes(project)
    in_shapes = [shapes[p] for p in project.graph.predecessors(call.node_id)]
    found = expand(node.kind, node.params, call.name, in_shapes, node.label)
    made: dict[str, str] = {}
    for i, sub in enumerate(found.subs):
        layer = Layer(
            Node(node.id, sub.kind, sub.name, sub.params),
            sub.name,
            variable(sub.name),
            [feeding[r] if isinstance(r, int) else made[r] for r in sub.inputs],
            call.tower,
            sub.extra,
            f"    # {node.label}: {len(found.subs)} layers" if i == 0 else "",
        )
        plan.layers.append(layer)
        made[sub.name] = layer.var
    plan.blocks[node.id] = model_layers(project, node.id, found)
    return [made[o] for o in found.outputs]


def _literal(value) -> str:
    """Python source for a plain value, strings in double quotes (JSON's
    escapes are Python's too; other characters stay as they are)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _join(*pieces: str) -> str:
    """Top-level pieces of code, two blank lines apart (PEP 8)."""
    return "\n\n\n".join(p.strip("\n") for p in pieces if p.strip()) + "\n"


def _wrapped(start: str, items: list, end: str, indent: int, width: int = 99) -> str:
    """`start[item, ...]end` on one line, or the items on lines of their own."""
    line = f"{start}{_literal(items)}{end}"
    if len(line) <= width:
        return line
    # Packed item by item, never inside one: a text wrapper would break a
    # string literal at its spaces (a column "wall area") or in the middle
    # of a long one, and the script would not compile.
    pad = " " * (indent + 4)
    lines, line = [], ""
    for item in items:
        piece = _literal(item) + ","
        if line and len(pad) + len(line) + 1 + len(piece) > width:
            lines.append(pad + line)
            line = ""
        line = f"{line} {piece}" if line else piece
    lines.append(pad + line)
    return f"{start}[\n" + "\n".join(lines) + f"\n{' ' * indent}]{end}"


def _is_default(keras_class: str, key: str, value) -> bool:
    if key == "activation" and keras_class != "Activation":
        return value == "linear"
    if key == "strides" and keras_class in ("Conv1D", "Conv2D"):
        return value == 1
    return (
        key in KERAS_DEFAULTS
        and KERAS_DEFAULTS[key] == value
        and type(KERAS_DEFAULTS[key]) is type(value)
    )


def _arguments(keras_class: str, config: dict, name: str) -> str:
    config = dict(config)
    args = []
    for key in POSITIONAL.get(keras_class, ()):
        args.append(_literal(config.pop(key)))
    args += [f"{k}={_argument(v)}" for k, v in config.items() if not _is_default(keras_class, k, v)]
    args.append(f"name={_literal(name)}")
    return ", ".join(args)


def _argument(value) -> str:
    """A layer argument as code; a serialized initializer (uniform_0_1's
    RandomUniform, catalogue.initializer_config) as the call that makes it."""
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        options = ", ".join(f"{k}={_literal(v)}" for k, v in value["config"].items())
        return f"keras.initializers.{value['class_name']}({options})"
    return _literal(value)


def _optimizer_options(spec: OptimizerSpec) -> str:
    """The optimizer's arguments besides the learning rate, as the Trainer
    passes them (OptimizerSpec.keras_arguments)."""
    options = spec.keras_arguments()
    del options["learning_rate"]
    return _literal(options)


def layer_code(node: Node, name: str, extra: dict | None = None, dtype: str | None = None) -> str:
    """The Keras layer of a node, as builder.make_layer makes it (`dtype`:
    its dtype policy, precision.layer_policy)."""
    kind = get_kind(node.kind)
    config = {**keras_config(kind, node.params), **(extra or {})}
    policy = {"dtype": dtype} if dtype else {}
    config.update(policy)
    if node.kind == "Bidirectional":
        p = node.params
        inner = {**recurrent_inner_config(p), **policy}
        inner_name = f"{name}_{p['layer'].lower()}"
        wrapped = f"layers.{p['layer']}({_arguments(p['layer'], inner, inner_name)})"
        return f"layers.Bidirectional({wrapped}, {_arguments('Bidirectional', config, name)})"
    return f"layers.{kind.keras_class}({_arguments(kind.keras_class, config, name)})"


def _input_code(layer: Layer) -> str:
    p = layer.node.params
    dtype = "" if p["dtype"] == "float32" else f", dtype={_literal(p['dtype'])}"
    return (
        f"    {layer.var} = keras.Input(shape={_literal(tuple(p['shape']))}{dtype}, "
        f"name={_literal(layer.name)})"
    )


def _role_comment(project: Project, layer: Layer, roles) -> str:
    role = roles[layer.node.id]
    if role.kind == "shared":
        return (
            "    # the shared trunk"
            if layer.tower is None
            else f"    # task {layer.tower}'s copy of the trunk"
        )
    return f"    # task {role.tasks[0]}'s head"


def _call_code(keras_class: str, inputs: list[str]) -> str:
    """What a layer is called on, as builder._call calls it: `x`, `[a, b]`,
    or an attention layer's `query, value[, key]`."""
    args = call_arguments(keras_class, inputs)
    return ", ".join("[" + ", ".join(a) + "]" if isinstance(a, list) else a for a in args)


def model_section(project: Project, plan: ModelPlan) -> str:
    roles = project.roles()
    lines = [
        "def build_model():",
        '    """The project\'s network, layer for layer as MTL Studio builds it: the',
        "    same names in the same order, so the same seed gives the same initial",
        '    weights."""',
        "    keras.utils.set_random_seed(SEED)",
    ]
    lines += [_input_code(layer) for layer in plan.inputs]
    outputs_of_tasks = {task.output for task in project.tasks}
    comment = None
    for layer in plan.layers:
        now = _role_comment(project, layer, roles)
        if now != comment:
            lines.append(now)
            comment = now
        if layer.note:
            lines.append(layer.note)
        args = _call_code(get_kind(layer.node.kind).keras_class, layer.inputs)
        policy = layer_policy(project.training.precision, layer.node.id in outputs_of_tasks)
        code = layer_code(layer.node, layer.name, layer.extra, policy)
        lines.append(f"    {layer.var} = {code}({args})")
    inputs = ", ".join(f"{_literal(i.name)}: {i.var}" for i in plan.inputs)
    outputs = ", ".join(f"{_literal(t)}: {v}" for t, v in plan.outputs.items())
    lines += [
        "    return keras.Model(",
        f"        inputs={{{inputs}}},",
        f"        outputs={{{outputs}}},",
        f"        name={_literal(model_name(project.name))},",
        "    )",
    ]
    return "\n".join(lines) + "\n"


# --- the data: prepare(), as code -----------------------------------------------------


def _generator_functions(name: str) -> list:
    """The generator's function and the module's helpers it calls, helpers first."""
    found: list = []

    def visit(fn) -> None:
        for called in re.findall(r"\b(_\w+)\(", inspect.getsource(fn)):
            helper = getattr(generators, called, None)
            if (
                inspect.isfunction(helper)
                and helper.__name__ != "_table"
                and helper not in found
                and helper is not fn
            ):
                visit(helper)
        if fn not in found:
            found.append(fn)

    visit(generators.GENERATORS[name].make)
    return found


def generator_code(name: str) -> tuple[str, str]:
    """(source of the generator and its helpers, the generator's name in it),
    copied from mtl_studio/data/generators.py with public names."""
    functions = _generator_functions(name)
    renames = {fn.__name__: fn.__name__.lstrip("_") for fn in functions}
    renames["_table"] = "table_of"
    code = []
    for fn in functions:
        source = inspect.getsource(fn).replace("-> Table:", "-> dict:")
        for old, new in renames.items():
            source = re.sub(rf"\b{old}\b", new, source)
        code.append("\n\n" + source)
    return "".join(code), renames[functions[-1].__name__]


def _target_code(project: Project, task: Task, shapes: dict) -> str:
    out = project.node(task.output)
    names = _literal(task.target)
    units = out.params.get("units")
    if task.loss == "sparse_categorical_crossentropy":
        return f"class_ids(table[{_literal(task.target[0])}], {units}, {_literal(task.name)})"
    if task.loss == "categorical_crossentropy":
        rank = len(shapes[task.output])
        return f"one_hot(table, {names}, {units}, {rank}, {_literal(task.name)})"
    if task.loss == "binary_crossentropy":
        return f"binary_targets(table, {names}, {_literal(task.name)})"
    return f"numbers(table, {names})"


@dataclass
class DataSetCode:
    label: str
    constant: str  # DATA_FILE or GENERATOR_PARAMS, with a suffix for a task's own
    value: str  # the constant's value, as code
    function: str  # the function that loads it
    body: str  # that function's code


class _Script:
    """The script of one project: each section a method."""

    def __init__(self, project: Project, project_dir: Path | None, out: Path | None) -> None:
        self.project = project
        self.project_dir = project_dir
        self.out = out
        self.settings = project.training
        self.mode = self.settings.mode
        self.alternating = self.mode == "alternating"
        self.soft = self.mode == "soft_sharing"
        self.weighting = "fixed" if self.alternating else self.settings.weighting
        self.plan = model_plan(project, self.mode)
        self.groups = source_groups(project)
        self.losses = [t.loss for t in project.tasks]
        self.generated = ""  # generator code, when a data set is generated
        self.data_sets: list[DataSetCode] = []
        for index, (source, tasks) in enumerate(self.groups):
            self.data_sets.append(self._data_set(index, source, tasks))

    # --- data -------------------------------------------------------------------

    def _path(self, source: DataSource) -> str:
        """The data file as code: relative to the script where the project
        file would keep it relative (datafiles.relative), else absolute."""
        base = Path(self.project_dir) if self.project_dir is not None else Path.cwd()
        path = absolute(source.path, base)
        if self.out is not None:
            near = relative(path, Path(os.path.abspath(self.out)).parent)
            if not Path(near).is_absolute():
                return f"Path(__file__).parent / {_literal(near)}"
        return f"Path({_literal(path)})"

    def _data_set(self, index: int, source: DataSource, tasks: list[Task]) -> DataSetCode:
        own = "" if data_set_label(tasks) == "the project's data" else tasks[0].name
        kind = "GENERATOR_PARAMS" if source.kind == "generator" else "DATA_FILE"
        constant = f"{kind}_{own.upper()}" if own else kind
        if constant in {d.constant for d in self.data_sets}:
            constant += f"_{index + 1}"  # two task names that differ in case only
        function = "load_data"
        if len(self.groups) > 1:
            function = f"load_{own}_data" if own else "load_project_data"
        label = f"task {own}'s own data" if own else "the project's data"
        value, read, what = self._source_code(source, tasks, constant)
        inputs, targets, scale_inputs, scale_targets = self._columns_code(source, tasks)
        # One data set in alternating mode is still a list of data sets.
        listed = self.alternating and len(self.groups) == 1
        body = parts.fill(
            parts.LOAD_DATA,
            function=function,
            what=f"{label[0].upper()}{label[1:]} ({what})",
            read=read,
            inputs=inputs,
            targets=targets,
            open="[" if listed else "",
            close="]" if listed else "",
            scale_inputs=_literal(scale_inputs),
            scale_targets=_literal(scale_targets),
        )
        return DataSetCode(label, constant, value, function, body)

    def _source_code(
        self, source: DataSource, tasks: list[Task], constant: str
    ) -> tuple[str, str, str]:
        """(the constant's value, the expression that reads the table, what
        the table is), as code; a generator's functions join the script."""
        if source.kind == "images":
            shape = _literal((source.image_height, source.image_width, source.image_channels))
            read = f"read_images({constant}, {_literal(source.image_column)}, {shape})"
            return self._path(source), read, constant
        if source.kind != "generator":
            return self._path(source), f"read_{source.kind}({constant})", constant
        code, name = generator_code(source.generator)
        if code not in self.generated:
            self.generated += code
        return (
            _literal(_generator_params(source, data_set_label(tasks))),
            f"{name}({constant})",
            f"MTL Studio's generator '{source.generator}'",
        )

    def _columns_code(self, source: DataSource, tasks: list[Task]):
        """The lines of the inputs and targets dictionaries, and the names
        to standardise: prepare()'s column mapping and targets per loss."""
        shapes, _ = infer_shapes(self.project)
        nodes = inputs_of(self.project, tasks)
        images = {n.id for n in nodes if _image_input(source, n)}
        inputs = [
            f"        {_literal(n.name)}: table[{_literal(source.image_column)}],"
            if n.id in images
            else _wrapped(
                f"        {_literal(n.name)}: numbers(table, ",
                source.inputs[n.id],
                ").astype(np.int32)," if n.params["dtype"] == "int32" else "),",
                8,
            )
            for n in nodes
        ]
        targets = [
            f"        {_literal(t.name)}: {_target_code(self.project, t, shapes)}," for t in tasks
        ]
        scale_inputs = (
            [n.name for n in nodes if n.params["dtype"] != "int32" and n.id not in images]
            if source.standardize_inputs
            else []
        )
        scale_targets = (
            [t.name for t in tasks if t.loss in REGRESSION_LOSSES]
            if source.standardize_targets
            else []
        )
        return "\n".join(inputs), "\n".join(targets), scale_inputs, scale_targets

    def data_section(self) -> str:
        kinds = {s.kind for s, _ in self.groups}
        pieces = [
            parts.READ_CSV if {"csv", "images"} & kinds else "",
            parts.READ_IMAGES if "images" in kinds else "",
            parts.READ_NPZ if "npz" in kinds else "",
            parts.GENERATED_TABLE + self.generated if "generator" in kinds else "",
            parts.NUMBERS,
        ]
        losses = set(self.losses)
        if {"sparse_categorical_crossentropy", "categorical_crossentropy"} & losses:
            pieces.append(parts.CLASS_IDS)
        if "categorical_crossentropy" in losses:
            pieces.append(parts.ONE_HOT)
        if "binary_crossentropy" in losses:
            pieces.append(parts.BINARY)
        pieces.append(parts.SPLIT_AND_SCALE)
        pieces += [d.body for d in self.data_sets]
        if len(self.data_sets) > 1:
            calls = ", ".join(f"{d.function}()" for d in self.data_sets)
            pieces.append(
                "def load_data():\n"
                '    """Every data set, in the order TASK_DATASET counts them."""\n'
                f"    return [{calls}]\n"
            )
        return _join(*pieces)

    # --- settings ---------------------------------------------------------------------

    def settings_section(self) -> str:
        s, project = self.settings, self.project
        tasks = [t.name for t in project.tasks]
        lines = [_rule("Settings (edit freely)")]
        for d in self.data_sets:
            lines.append(f"{d.constant} = {d.value}  # {d.label}")
        lines += [
            f"SEED = {s.seed}  # the same seed gives the same weights and batches",
            f"SPLIT_SEED = {s.seed_of_split}  # and the same split",
            f"EPOCHS = {s.epochs}",
            f"STRATEGY = {_literal(s.strategy)}  # where it trains: default, mirrored or "
            "multi-worker (--strategy)",
            f"PRECISION = {_literal(s.precision)}  # the layers' dtype policy (weights and "
            "task outputs: float32)",
            f"BATCH_SIZE = {s.batch_size}",
            f"VALIDATION_SPLIT = {s.validation_split!r}  # the fraction of rows for validation",
            f"TEST_SPLIT = {s.test_split!r}  # the fraction held out for testing: left out here",
            f"TASKS = {_literal(tasks)}",
        ]
        if self.weighting != "dwa":
            lines.append(f"TASK_WEIGHTS = {_literal([t.weight for t in project.tasks])}")
        if self.alternating:
            lines += self._alternating_settings()
        else:
            lines += [
                f"OPTIMIZER = keras.optimizers.{OPTIMIZER_CLASSES[s.optimizer.name]}",
                f"LEARNING_RATE = {s.optimizer.learning_rate!r}",
                f"OPTIMIZER_OPTIONS = {_optimizer_options(s.optimizer)}  # its other settings",
            ]
        lines += self._weighting_settings()
        lines.append(
            f"MODEL_FILE = Path(__file__).with_suffix({_literal(TRAINED_SUFFIX)})  "
            "# the trained model"
        )
        return "\n".join(lines) + "\n"

    def _layer_names(self, node_ids) -> list[str]:
        found = []
        for (node_id, _), name in self.plan.names.items():
            if node_id in node_ids:
                found += self.plan.blocks.get(node_id, [name])
        return found

    def _alternating_settings(self) -> list[str]:
        project, s = self.project, self.settings
        optimizers, layers, data = [], [], []
        for task in project.tasks:
            spec = task.optimizer or s.optimizer
            optimizers.append(
                f"    {_literal(task.name)}: (keras.optimizers."
                f"{OPTIMIZER_CLASSES[spec.name]}, {spec.learning_rate!r}, "
                f"{_optimizer_options(spec)}),"
            )
            layers.append(
                f"    {_literal(task.name)}: "
                f"{_literal(self._layer_names(project.task_nodes(task.name)))},"
            )
        index = {t.name: i for i, (_, tasks) in enumerate(self.groups) for t in tasks}
        data = {t.name: index[t.name] for t in project.tasks}
        lines = [
            "# Each task's optimizer, learning rate and other settings.",
            "TASK_OPTIMIZERS = {",
            *optimizers,
            "}",
            "# The layers each task's steps update: the shared trunk and its head.",
            "TASK_LAYERS = {",
            *layers,
            "}",
            f"TASK_DATASET = {_literal(data)}  # each task's data set (see load_data)",
        ]
        chances = [t.schedule_weight for t in project.tasks]
        lines.append(
            f"SCHEDULE = {_literal(s.schedule)}  # the task of each step: random, "
            "round_robin or proportional"
        )
        lines.append(
            f"SCHEDULE_WEIGHTS = {_literal(chances)}  # each task's relative chance "
            "per step (random)"
        )
        return lines

    def _weighting_settings(self) -> list[str]:
        s, project, lines = self.settings, self.project, []
        if self.soft:
            tied = []
            for node_id in _weighted(project, project.shared_nodes()):
                tied.append([self.plan.names[(node_id, t)] for t in project.roles()[node_id].tasks])
            lines += [
                f"SOFT_SHARING_LAMBDA = {s.soft_sharing_lambda!r}",
                "# Each trunk layer's copy in every task's tower, tied by the penalty.",
                f"TIED_LAYERS = {_literal(tied)}",
            ]
        if self.weighting == "gradnorm":
            last = self._layer_names([_last_shared(project)])
            lines += [
                f"GRADNORM_ALPHA = {s.gradnorm_alpha!r}  # the restoring force",
                f"LAST_SHARED_LAYERS = {_literal(last)}  # where gradient norms are taken",
            ]
        if self.weighting == "dwa":
            lines.append(f"DWA_TEMPERATURE = {s.dwa_temperature!r}")
        if self.weighting == "cagrad":
            lines.append(f"CAGRAD_C = {s.cagrad_c!r}  # how far the update may leave the mean")
        if self.weighting == "gradvac":
            lines.append(f"GRADVAC_BETA = {s.gradvac_beta!r}  # how fast the cosine targets move")
        if self.weighting == "famo":
            lines += [
                f"FAMO_LEARNING_RATE = {s.famo_learning_rate!r}  # the task logits' Adam",
                f"FAMO_WEIGHT_DECAY = {s.famo_weight_decay!r}  # and their decay",
            ]
        if self.weighting in SHARED_TRUNK_WEIGHTINGS and self.weighting != "gradnorm":
            shared = self._layer_names(project.shared_nodes())
            steers = parts.weighting(self.weighting, self.soft).doc.split(" (")[0]
            lines.append(f"SHARED_LAYERS = {_literal(shared)}  # the trunk {steers} steers")
        return lines

    # --- training ---------------------------------------------------------------------

    def training_section(self) -> str:
        losses = (
            "# Each task's loss.\nLOSSES = {\n"
            + "".join(f"    {_literal(t.name)}: {LOSS_CODE[t.loss]},\n" for t in self.project.tasks)
            + "}\n"
        )
        summed = [t.name for t in self.project.tasks if batch_sum_loss(t.loss)]
        if summed:
            losses += f"BATCH_SUM_TASKS = {_literal(summed)}  # losses summed over the batch\n"
        sums = [batch_sum_loss(t.loss) for t in self.project.tasks]
        losses += (
            f"SUMS_BATCH = {_literal(sums)}  # each task's loss: a sum over the batch, or a mean\n"
        )
        pieces = [
            parts.L2_LOSS if "l2" in self.losses else "",
            losses,
            parts.DISTRIBUTE,
            parts.precision_part(self.loss_scaled),
            parts.COMPILED_STEP,
        ]
        scaled = parts.loss_scaled if self.loss_scaled else (lambda step: step)
        if self.alternating:
            pieces += [parts.ALTERNATING_BATCHES, scaled(parts.ALTERNATING_TRAIN)]
        else:
            w = parts.weighting(self.weighting, self.soft)
            pieces += [
                parts.SOFT_SHARING if self.soft else "",
                *w.helpers,
                scaled(w.step),
                parts.JOINT_BATCHES,
                parts.fill(
                    parts.JOINT_TRAIN,
                    docstring=self._train_doc(w),
                    setup=w.setup,
                    call=w.call,
                    epoch_end=w.epoch_end,
                    shown=w.shown,
                ),
            ]
        pieces.append(parts.fill(parts.REPORT, batch_sum=parts.BATCH_SUM if summed else ""))
        return _join(*pieces)

    @property
    def loss_scaled(self) -> bool:
        return needs_loss_scale(self.settings.precision)

    def _train_doc(self, w: parts.Weighting) -> str:
        text = f"{MODES[self.mode]} Weighting: {w.doc}. Returns each step's task losses."
        # Filled as if indented, then the first indent dropped: it follows the quotes.
        return textwrap.fill(text, 75, initial_indent="    ", subsequent_indent="    ")[4:]

    # --- the whole -------------------------------------------------------------------

    def describe(self) -> str:
        s = self.settings
        if self.alternating:
            how = f"alternating between the tasks ({s.schedule.replace('_', ' ')} schedule)"
        else:
            mode = "joint training" if self.mode == "joint" else "soft sharing"
            weighting = parts.weighting(self.weighting, self.soft).doc.split(" (")[0]
            how = f"{mode} with {weighting}"
        return f"{how}, batch size {s.batch_size}, {s.epochs} epochs, seed {s.seed}"

    def header(self) -> str:
        """The docstring: where the script came from, when, and what it does."""
        where = (
            f" in {_literal(Path(self.project_dir).as_posix())}"
            if self.project_dir is not None
            else ""
        )
        script = self.out.name if self.out is not None else "this_script.py"
        stem = Path(script).stem
        about = (
            f"Exported on {datetime.date.today().isoformat()} by MTL Studio {__version__} "
            f"from the project {_literal(self.project.name)}{where}. It prepares the "
            "project's data, builds the same Keras model layer by layer and trains it as "
            f"MTL Studio does: {self.describe()}. With the same seed its step losses are "
            "MTL Studio's. It prints each task's losses per epoch and saves the trained "
            f"model next to this file as {stem}{TRAINED_SUFFIX}: it leaves alone any "
            f"{stem}.keras exported from MTL Studio. It needs numpy and TensorFlow 2.16 or "
            "later (Keras 3), nothing else."
        )
        return (
            f'"""Train the multi-task model of an MTL Studio project.\n\n'
            f"{textwrap.fill(about, 79, break_on_hyphens=False)}\n\n"
            f"    python {script} [--epochs N] [--steps N] [--losses-json FILE] "
            "[--no-save]\n"
            "        [--strategy default|mirrored|multi-worker] [--cpu-devices N]\n"
            "        [--cluster FILE --task-index I]\n"
            '"""\n'
        )

    def text(self) -> str:
        kinds = {s.kind for s, _ in self.groups}
        stdlib = ["argparse", "json", "os"]
        if {"csv", "images"} & kinds:
            stdlib.append("csv")
        if self.alternating or "math." in self.generated:
            stdlib.append("math")
        imports = parts.fill(
            parts.IMPORTS, stdlib="".join(f"import {name}\n" for name in sorted(stdlib))
        )
        return _join(
            self.header() + "\n" + imports,
            self.settings_section(),
            _rule("Data") + "\n\n" + self.data_section(),
            _rule("Model") + "\n\n" + model_section(self.project, self.plan),
            _rule("Training") + "\n\n" + self.training_section(),
            parts.MAIN,
        )


def _rule(title: str) -> str:
    return f"# --- {title} ".ljust(79, "-")
