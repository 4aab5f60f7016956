"""Import a multi-output .keras model as a project.

    result = import_keras(Path("model.keras"))
    result.project   # nodes, edges, tasks; default data and training settings
    result.unknown   # [(layer name, Keras class)] the catalogue has no kind for
    result.notes     # everything else the user should know

The file is checked as a zip archive first and its config.json read as
plain JSON, so a Lambda layer is refused by name before Keras runs anything;
then Keras loads the model in safe mode without compiling it (the compile
settings are read from config.json instead, so a custom loss or optimizer
cannot stop the import). The functional graph is walked from the outputs
back to the inputs: one node per layer call, parameters read from
get_config(). A nested Functional or Sequential model is opened up into its
layers.

Each model output that ends in a Dense becomes an Output node and a task;
an Activation (or Softmax, ReLU) layer right after a linear Dense is folded
into that Output. Losses, loss weights and metrics come from the compile
config, mapped by keras_mapping.

Unknown layers cut the graph. The catalogue has no kind that can stand for
an arbitrary layer, and a stand-in of a known kind of the same width would
look like the real thing and train as something else. So the unknown
layer's output becomes an Input node of the same name and shape: everything
after it is kept and checked, the layers that fed it stay on the canvas,
ending where the missing layer was, and a note says so. The user replaces
the gap with a catalogue layer, or feeds the new input from data.

Weights are not imported: the project file has none.
TensorFlow is imported only when a model is loaded.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..core import fileformat
from ..core.catalogue import ATTENTION_PORTS
from ..core.graph import Edge, GraphError, Node
from ..core.layout import auto_layout
from ..core.params import format_shape
from ..core.project import Project
from ..core.tasks import Task
from ..core.validation import errors, infer_shapes, validate
from . import keras_mapping as mapping
from .block_import import collapse_blocks

# config.json of a large model is a few megabytes; far more is not a model.
MAX_CONFIG_BYTES = 64 * 1024 * 1024
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class KerasImportError(Exception):
    """A .keras file that cannot be imported; the message names the file."""

    def __init__(self, path, message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass
class ImportResult:
    project: Project
    # (layer name, Keras class) of each layer the catalogue has no kind for.
    unknown: list[tuple[str, str]] = field(default_factory=list)
    # Anything else the user should know, one sentence each.
    notes: list[str] = field(default_factory=list)


def import_keras(path) -> ImportResult:
    """Read a .keras file into a project. Raises KerasImportError."""
    path = Path(path)
    config = read_config(path)
    refuse_lambda(config, path)
    model = load_model(path, config)
    compile_config = config.get("compile_config")
    if not isinstance(compile_config, dict):
        compile_config = None
    return project_from_model(model, compile_config, path)


def write_project(result: ImportResult, out) -> None:
    """Save the imported project (atomically, as every project file)."""
    fileformat.save(result.project, out)


def report_lines(result: ImportResult) -> list[str]:
    """What the command line prints and the window lists after an import."""
    lines = [
        f"unknown layer {name!r} ({cls}): the graph is cut there" for name, cls in result.unknown
    ]
    return lines + [f"note: {note}" for note in result.notes]


# --- the file ------------------------------------------------------------------


def read_config(path: Path) -> dict:
    """The archive's config.json as a dict, after checking the file is one."""
    if not path.exists():
        raise KerasImportError(path, "no such file")
    if path.is_dir():
        raise KerasImportError(
            path,
            "is a folder, not a .keras file (a SavedModel folder "
            "cannot be imported: load it in Keras and save it as .keras)",
        )
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise KerasImportError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if head == _HDF5_SIGNATURE:
        raise KerasImportError(
            path, "is a legacy HDF5 (.h5) model: load it in Keras and save it again as .keras"
        )
    if path.suffix != ".keras":
        raise KerasImportError(
            path, "is not a .keras file: save the model with model.save('name.keras')"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise KerasImportError(path, "its config.json is too large to be a model's")
            raw = archive.read(info)
    except KeyError:
        raise KerasImportError(path, "is not a .keras archive: it holds no config.json") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError):
        raise KerasImportError(
            path, "is not a .keras archive, or it is damaged (not a readable zip file)"
        ) from None
    except OSError as exc:
        raise KerasImportError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise KerasImportError(path, "is damaged: its config.json is not valid JSON") from None
    if not isinstance(config, dict):
        raise KerasImportError(path, "is damaged: its config.json does not describe a model")
    return config


def _configs(config):
    """Every object in a Keras config that names a class, nested ones too."""
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("class_name"), str):
                yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _config_name(obj: dict) -> str:
    inner = obj.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return str(name or obj.get("name") or "")


def refuse_lambda(config: dict, path: Path) -> None:
    """A Lambda layer is Python code inside the file: refuse it by name
    before Keras reads anything (safe mode would refuse it too, without
    saying which layer)."""
    names = [_config_name(obj) for obj in _configs(config) if obj["class_name"] == "Lambda"]
    if names:
        listed = ", ".join(repr(n) for n in names if n) or "unnamed"
        raise KerasImportError(
            path,
            (
                f"holds a Lambda layer ({listed}), which is Python code and cannot be loaded "
                "safely: rebuild the model with built-in layers in its place and save it again"
            ),
        )


_MISSING_CLASS = re.compile(r"Could not locate (class|function) '([^']+)'")


def load_model(path: Path, config: dict):
    """Load in safe mode, uncompiled; any failure becomes a KerasImportError."""
    from ..training.tf_import import keras  # noqa: PLC0415 (TensorFlow only when needed)

    k = keras()
    try:
        model = k.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 Keras raises many types for one bad file
        raise KerasImportError(path, _load_failure(exc, config)) from None
    if not isinstance(model, k.Model):
        raise KerasImportError(path, f"holds a {type(model).__name__}, not a model")
    return model


def _load_failure(exc: Exception, config: dict) -> str:
    text = str(exc)
    missing = _MISSING_CLASS.search(text)
    if missing:
        what, name = missing.groups()
        users = [_config_name(obj) for obj in _configs(config) if obj["class_name"] == name]
        users = [user for user in users if user]
        where = f" in layer {users[0]!r}" if users else ""
        return (
            f"holds custom code ({what} {name!r}{where}) that this program does not "
            "have, and cannot be loaded safely: rebuild the model with built-in layers"
        )
    if "Lambda" in text:
        return "holds a Lambda layer, which is Python code and cannot be loaded safely"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"cannot be loaded ({lines[0] if lines else type(exc).__name__})"


# --- the graph -------------------------------------------------------------------


@dataclass
class _Item:
    """A node to be: one call of a Keras layer, or an input."""

    id: str
    kind: str
    params: dict
    inputs: list  # node ids in port order; (block id, output port) from a block
    shape: tuple | None  # the call's output shape in Keras, batch axis left out
    raw: dict = field(default_factory=dict)  # a Dense's Keras config (block_import reads it)


@dataclass
class _Scope:
    """Where a call sits: the model itself (path ()), or inside a call of a
    nested model, whose InputLayers stand for tensors of the scope around."""

    path: tuple = ()
    # id(inner InputLayer) -> (outer tensor, outer scope)
    bound: dict = field(default_factory=dict)


_TOP = _Scope()


class _GraphReader:
    """Turns a functional model into items, inputs before the calls that use them."""

    def __init__(self, k) -> None:
        self.k = k
        self.items: dict[str, _Item] = {}
        self.unknown: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self._ids: dict[tuple, str] = {}  # (scope path, id(layer), call, output) -> node id
        self._scopes: dict[tuple, _Scope | None] = {}
        self._calls: dict[int, tuple] = {}  # id(layer) -> (layer, {call indices made})

    def read(self, model) -> list[tuple[str, str]]:
        """Make the items; return (output name, node id) per model output."""
        for tensor in model.inputs:
            self.node_of(tensor, _TOP)
        outputs = [(name, self.node_of(t, _TOP)) for name, t in named_outputs(model)]
        self._note_shared_layers()
        return outputs

    def node_of(self, tensor, scope: _Scope) -> str:
        """The node id of a Keras tensor, after the nodes it depends on. An
        explicit stack, not recursion: a deep model would pass Python's
        recursion limit."""
        stack = [(tensor, scope)]
        while stack:
            t, s = stack[-1]
            if self._key(t, s) in self._ids:
                stack.pop()
                continue
            missing = [d for d in self._needs(t, s) if self._key(*d) not in self._ids]
            if missing:
                stack.extend(reversed(missing))
            else:
                stack.pop()
                self._ids[self._key(t, s)] = self._make(t, s)
        return self._ids[self._key(tensor, scope)]

    @staticmethod
    def _key(tensor, scope: _Scope) -> tuple:
        layer, call, output = tensor._keras_history
        return (scope.path, id(layer), call, output)

    # What a tensor is, and what it needs first.

    def _what(self, layer, call_index: int, scope: _Scope) -> str | None:
        """ "input", "model" (a nested model), a catalogue kind, or None."""
        if isinstance(layer, self.k.layers.InputLayer):
            return "input"
        if self._is_nested_model(layer):
            return "model" if self._inner_scope(layer, call_index, scope) else None
        return mapping.kind_of(self.k, layer, layer._inbound_nodes[call_index])

    def _needs(self, tensor, scope: _Scope) -> list[tuple]:
        layer, call_index, output = tensor._keras_history
        if id(layer) in scope.bound:
            return [scope.bound[id(layer)]]
        call = layer._inbound_nodes[call_index]
        what = self._what(layer, call_index, scope)
        if what == "input":
            return []
        if what == "model":
            return [(layer.outputs[output], self._inner_scope(layer, call_index, scope))]
        if what is None:
            # Walked so that the layers before the cut stay on the canvas.
            return [(t, scope) for t in self._all_inputs(call)]
        return [(t, scope) for t in self._main_inputs(layer, call)[0]]

    def _make(self, tensor, scope: _Scope) -> str:
        layer, call_index, output = tensor._keras_history
        if id(layer) in scope.bound:
            return self._ids[self._key(*scope.bound[id(layer)])]
        what = self._what(layer, call_index, scope)
        if what == "input":
            return self._add_input(layer.name, tensor, f"Input '{layer.name}'", model_input=True)
        self._count_call(layer, call_index)
        if what == "model":
            self._note_opened(layer)
            inner = self._inner_scope(layer, call_index, scope)
            return self._ids[self._key(layer.outputs[output], inner)]
        if what is None:
            return self._cut(layer, call_index, tensor, output)
        return self._add_layer(layer, layer._inbound_nodes[call_index], what, scope, tensor)

    def _is_nested_model(self, layer) -> bool:
        return isinstance(layer, self.k.Model) and type(layer).__name__ in (
            "Functional",
            "Sequential",
        )

    def _inner_scope(self, model, call_index: int, scope: _Scope) -> _Scope | None:
        """The scope inside one call of a nested model, its inputs bound to
        the tensors the call was given; None when they do not line up."""
        path = scope.path + ((id(model), call_index),)
        if path not in self._scopes:
            given = self._tensors(model._inbound_nodes[call_index].arguments.args)
            try:
                inner = list(model.inputs)
            except (AttributeError, ValueError):
                inner = []
            self._scopes[path] = None
            if inner and len(inner) == len(given):
                bound = {id(t._keras_history[0]): (g, scope) for t, g in zip(inner, given)}
                self._scopes[path] = _Scope(path, bound)
        return self._scopes[path]

    def _tensors(self, value) -> list:
        return [t for t in self.k.tree.flatten(value) if isinstance(t, self.k.KerasTensor)]

    def _main_inputs(self, layer, call) -> tuple[list, list[str]]:
        """The tensors a catalogue layer computes on, and the names of other
        tensor arguments it gets (an LSTM's initial_state) that a node cannot
        take. Masks are left out: the project's layers make them again."""
        args, kwargs = list(call.arguments.args), dict(call.arguments.kwargs)
        if mapping.keras_class_name(layer).startswith("ops."):
            return self._tensors(args), []
        if type(layer) is self.k.layers.MultiHeadAttention:
            return self._attention_inputs(args, kwargs)
        if args:
            main, rest = self._tensors(args[0]), args[1:]
        else:
            key = "inputs" if "inputs" in kwargs else "sequences"
            main, rest = self._tensors(kwargs.pop(key, None)), []
        extra = [f"argument {i + 1}" for i, a in enumerate(rest) if self._tensors(a)]
        extra += [name for name, v in kwargs.items() if name != "mask" and self._tensors(v)]
        return main, extra

    def _attention_inputs(self, args: list, kwargs: dict) -> tuple[list, list[str]]:
        """layer(query, value[, key]) as the node's ports 0, 1, 2: one port
        when the query is the value and the key is the value or absent
        (self-attention), two when only the key is the value."""
        bound = dict(zip(ATTENTION_PORTS, args))
        bound.update({n: kwargs.pop(n) for n in ATTENTION_PORTS if n in kwargs})
        query, value, key = (bound.get(n) for n in ATTENTION_PORTS)
        if key is not None and key is not value:
            main = [query, value, key]
        else:
            main = [query] if value is query else [query, value]
        extra = [f"argument {i + 1}" for i, a in enumerate(args[3:], 3) if self._tensors(a)]
        extra += [name for name, v in kwargs.items() if self._tensors(v)]
        return main, extra

    def _all_inputs(self, call) -> list:
        kwargs = {name: v for name, v in call.arguments.kwargs.items() if name != "mask"}
        return self._tensors([list(call.arguments.args), kwargs])

    # Making items.

    def _add(self, name: str, kind: str, params: dict, inputs: list[str], tensor) -> str:
        node_id = _unique(node_name(name), self.items)
        self.items[node_id] = _Item(node_id, kind, params, inputs, _shape(tensor))
        return node_id

    def _add_input(self, name: str, tensor, label: str, model_input: bool = False) -> str:
        params, notes = input_params(tensor, label, model_input)
        self.notes.extend(notes)
        return self._add(name, "Input", params, [], tensor)

    def _add_layer(self, layer, call, kind: str, scope: _Scope, tensor) -> str:
        label = mapping.layer_label(layer)
        params, notes = mapping.read_params(self.k, kind, layer)
        main, extra = self._main_inputs(layer, call)
        if extra:
            notes.append(
                f"{label}: its {', '.join(extra)} is not carried over (a node "
                "takes only its main input)"
            )
        self.notes.extend(notes)
        inputs = [self._ids[self._key(t, scope)] for t in main]
        node_id = self._add(layer.name, kind, params, inputs, tensor)
        if kind == "Dense":
            self.items[node_id].raw = layer.get_config()
        return node_id

    def _cut(self, layer, call_index: int, tensor, output: int) -> str:
        """An unknown layer: its output becomes an Input node (see the top)."""
        cls = mapping.keras_class_name(layer)
        if (layer.name, cls) not in self.unknown:
            self.unknown.append((layer.name, cls))
        why = mapping.why_unknown(self.k, layer, layer._inbound_nodes[call_index])
        name = layer.name if output == 0 else f"{layer.name}_{output}"
        node_id = self._add_input(name, tensor, f"the output of {mapping.layer_label(layer)}")
        shape = format_shape(self.items[node_id].params["shape"])
        self.notes.append(
            f"{mapping.layer_label(layer)} {why}: the graph is cut there. Its output becomes "
            f"the Input '{node_id}' of shape {shape}, and the layers that fed it end there: "
            "put a catalogue layer in its place, or feed that input from data"
        )
        return node_id

    def _note_opened(self, model) -> None:
        note = (
            f"{type(model).__name__} model '{model.name}' inside the model is opened up: "
            "its layers are nodes of the project"
        )
        if note not in self.notes:
            self.notes.append(note)

    def _count_call(self, layer, call_index: int) -> None:
        self._calls.setdefault(id(layer), (layer, set()))[1].add(call_index)

    def _note_shared_layers(self) -> None:
        """A layer applied to two inputs shares its weights between the
        calls; a project node has one input, so each call became a node."""
        shared = [(layer, len(calls)) for layer, calls in self._calls.values() if len(calls) > 1]
        if shared:
            listed = ", ".join(f"{mapping.layer_label(layer)} ({n} times)" for layer, n in shared)
            self.notes.append(
                f"applied more than once, with shared weights: {listed}. The project holds "
                "one node per call, and each node trains its own weights"
            )


def named_outputs(model) -> list[tuple[str, object]]:
    """(name, tensor) per model output: the keys of a dict of outputs, else
    the name of the layer that makes each (Keras' own output names)."""
    try:
        struct = model.output
    except (AttributeError, ValueError):
        struct = None
    if isinstance(struct, dict):
        return [(str(name), t) for name, t in struct.items()]
    return [(t._keras_history[0].name, t) for t in model.outputs]


def _shape(tensor) -> tuple | None:
    try:
        return tuple(tensor.shape[1:])
    except (AttributeError, TypeError):
        return None


def input_params(tensor, label: str, model_input: bool = False) -> tuple[dict, list[str]]:
    """Shape and dtype of an Input node for a Keras tensor (a model input,
    or the output of a layer where the graph is cut)."""
    notes = []
    shape = _shape(tensor) or ()
    if not shape:
        notes.append(f"{label} is one number per example; the Input has shape (1,)")
        shape = (1,)
    dtype = str(getattr(tensor, "dtype", "float32"))
    if "int" in dtype:
        ours = "int32"
    else:
        ours = "float32"
        if dtype != "float32":
            notes.append(f"{label} has dtype {dtype}; the Input uses float32")
    # Only an InputLayer's flags mean it: some ops mark their outputs sparse.
    if model_input and (getattr(tensor, "sparse", False) or getattr(tensor, "ragged", False)):
        notes.append(f"{label} is sparse or ragged; the Input is a plain (dense) array")
    return {"shape": shape, "dtype": ours}, notes


def node_name(name: str) -> str:
    """A Keras layer name as a node name (letters, digits, _ . -)."""
    clean = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(name))
    return clean if re.match(r"[A-Za-z_]", clean) else "_" + clean


def task_name(name: str) -> str:
    """An output name as a task name: a Python identifier."""
    clean = re.sub(r"\W", "_", str(name), flags=re.ASCII) or "task"
    if clean[0].isdigit():
        clean = "_" + clean
    return clean + "_" if keyword.iskeyword(clean) else clean


def _unique(base: str, taken) -> str:
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


# --- outputs and tasks -----------------------------------------------------------


def _consumers(items: dict[str, _Item], node_id: str) -> list[str]:
    return [item.id for item in items.values() if node_id in item.inputs]


def output_node(items: dict[str, _Item], name: str, node_id: str, notes: list[str]) -> str | None:
    """Turn the layer that ends a model output into an Output node; None
    (with a note) when it is not a Dense."""
    item = items[node_id]
    if item.kind == "Dense":
        item.kind = "Output"
        return node_id
    if item.kind == "Activation":
        folded = _fold_activation(items, item, name, notes)
        if folded:
            return folded
    if item.kind == "Output":
        notes.append(
            f"output '{name}' is the same tensor as an earlier output; "
            "no second task was made for it"
        )
        return None
    notes.append(
        f"output '{name}' ends in {item.kind} '{item.id}', not in a Dense layer: "
        "no task was made for it; add an Output node after it and a task"
    )
    return None


def _fold_activation(items, act: _Item, name: str, notes: list[str]) -> str | None:
    """Dense (linear) -> Activation at the end of an output is one Output
    with that activation; anything else is left as it is."""
    if len(act.inputs) != 1 or _consumers(items, act.id):
        return None
    dense = items[act.inputs[0]]
    if dense.kind != "Dense" or dense.params.get("activation", "linear") != "linear":
        return None
    if _consumers(items, dense.id) != [act.id]:
        return None
    activation = act.params.get("activation", "linear")
    dense.kind = "Output"
    dense.params["activation"] = activation
    del items[act.id]
    notes.append(
        f"output '{name}': the {activation} of Activation '{act.id}' is folded into "
        f"the Output '{dense.id}' before it"
    )
    return dense.id


def _per_output(value, name: str, index: int, is_per_output=lambda v: True):
    """One output's entry of a compile setting: a dict by output name, a
    list by output order (when is_per_output says the list is one), or one
    value for every output."""
    if isinstance(value, dict) and "class_name" not in value:
        return value.get(name)
    if isinstance(value, (list, tuple)) and is_per_output(value):
        return value[index] if index < len(value) else None
    return value


def _loss_weight(value, task: str, notes: list[str]) -> float:
    if value is None:
        return 1.0
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        notes.append(
            f"task '{task}': loss weight {value!r} is not a number >= 0; the task uses 1.0"
        )
        return 1.0
    return float(value)


def _metric_specs(value, name: str, index: int, count: int) -> list:
    """A list of metrics is per output when it holds one list per output;
    a flat list applies to every output."""

    def per_output(v):
        return len(v) == count and all(isinstance(m, (list, tuple, type(None))) for m in v)

    specs = _per_output(value, name, index, per_output)
    if specs is None:
        return []
    return list(specs) if isinstance(specs, (list, tuple)) else [specs]


def make_tasks(items, outputs, compile_config: dict | None, notes: list[str]) -> list[Task]:
    """One task per output that ends in a Dense, with the compile config's
    loss, loss weight and metrics for that output."""
    settings = compile_config or {}
    tasks: list[Task] = []
    for index, (name, node_id) in enumerate(outputs):
        out = output_node(items, name, node_id, notes)
        if out is None:
            continue
        task = _unique(task_name(name), {t.name for t in tasks})
        params = items[out].params
        loss_spec = _per_output(settings.get("loss"), name, index)
        loss, loss_notes = mapping.task_loss(
            loss_spec, task, params.get("activation", "linear"), params.get("units", 1)
        )
        notes.extend(loss_notes)
        if mapping.from_logits(loss_spec):
            _probabilities_from_logits(params, loss, task, notes)
        weight = _loss_weight(_per_output(settings.get("loss_weights"), name, index), task, notes)
        metrics, metric_notes = mapping.task_metrics(
            _metric_specs(settings.get("metrics"), name, index, len(outputs)), task
        )
        notes.extend(metric_notes)
        tasks.append(Task(task, out, loss, weight, metrics))
    return tasks


def _probabilities_from_logits(params: dict, loss: str, task: str, notes: list[str]) -> None:
    """Keras' from_logits=True loss on a linear output trains the same as
    our loss (which takes probabilities) on a softmax or sigmoid output."""
    wanted = "sigmoid" if loss == "binary_crossentropy" else "softmax"
    if (
        loss
        in ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")
        and params.get("activation") == "linear"
    ):
        params["activation"] = wanted
        notes.append(
            f"task '{task}': the file's loss takes logits (from_logits=True) and "
            f"ours takes probabilities, so the Output gets activation {wanted}: it "
            "trains the same, and its outputs are now probabilities"
        )
    else:
        notes.append(
            f"task '{task}': the file's loss takes logits (from_logits=True), "
            "which the task's loss does not: check the Output's activation"
        )


# --- the project -------------------------------------------------------------------


def project_from_model(
    model, compile_config: dict | None = None, path: Path | None = None
) -> ImportResult:
    """The project of a loaded Keras model (see the top of this module);
    `path` is the file it came from, for the project's name and messages."""
    from ..training.tf_import import keras  # noqa: PLC0415 (TensorFlow only when needed)

    where = path or f"model '{model.name}'"
    name = path.name[: -len(".keras")] if path is not None else model.name
    try:
        has_graph = bool(list(model.inputs)) and bool(list(model.outputs))
    except (AttributeError, ValueError, TypeError):
        has_graph = False
    if not has_graph:
        raise KerasImportError(
            where,
            (
                "has no functional graph to read (a subclassed model, or a Sequential "
                "model without an Input): build it with the functional API and save it again"
            ),
        )
    reader = _GraphReader(keras())
    try:
        outputs = reader.read(model)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # A graph built in a way this reader does not know: a message for
        # the user, with the cause chained for whoever debugs it.
        raise KerasImportError(where, f"has a graph this import cannot read ({exc})") from exc
    notes = reader.notes
    tasks = make_tasks(reader.items, outputs, compile_config, notes)
    collapse_blocks(reader.items, _Item, notes)
    project = _assemble(reader.items, tasks, name or "imported", notes)
    source = path.name if path is not None else "a Keras model"
    project.description = f"Imported from {source} (Keras model '{model.name}')."
    notes.extend(_shape_notes(project, reader.items))
    notes.extend(_closing_notes(project, compile_config))
    return ImportResult(project, reader.unknown, notes)


def _assemble(items: dict[str, _Item], tasks: list[Task], name: str, notes: list[str]) -> Project:
    """Nodes, edges and tasks through the Project's own checked edits, then
    the auto layout so the canvas reads top to bottom."""
    project = Project(name)
    for item in items.values():
        project.add_node(Node(item.id, item.kind, item.id, dict(item.params)))
    for item in items.values():
        for port, source in enumerate(item.inputs):
            source, out = source if isinstance(source, tuple) else (source, 0)
            try:
                project.connect(Edge(source, item.id, port, out))
            except GraphError as exc:
                notes.append(f"{project.node(item.id).label}: an input is left out ({exc})")
    for task in tasks:
        project.add_task(task)
    for node_id, (x, y) in auto_layout(project).items():
        project.move_node(node_id, x, y)
    return project


def _shape_notes(project: Project, items: dict[str, _Item]) -> list[str]:
    """Where the project's shapes differ from the model's, an option the
    node could not hold changed the layer: say where."""
    shapes, _ = infer_shapes(project)
    notes = []
    for item in items.values():
        ours = shapes.get(item.id)
        if ours is not None and item.shape is not None and tuple(ours) != item.shape:
            notes.append(
                f"{project.node(item.id).label} gives shape {format_shape(ours)} "
                f"where the Keras model gives {format_shape(item.shape)}"
            )
    return notes


def _closing_notes(project: Project, compile_config: dict | None) -> list[str]:
    notes = []
    problems = errors(validate(project))
    if problems:
        notes.append(
            f"the project has {len(problems)} error(s) to fix before it can train, "
            f"first: {problems[0].place}: {problems[0].message}"
        )
    optimizer = (compile_config or {}).get("optimizer")
    if optimizer is not None:
        found, _ = mapping.spec_name(optimizer)
        notes.append(
            f"the file's optimizer ({found}) is not carried over: the project has "
            "default training settings"
        )
    notes.append(
        "the weights are not imported (a project file holds none): training "
        "starts from fresh weights"
    )
    notes.append(
        "there is no data source yet: choose the data, map its columns to the "
        "inputs and to each task's target, and check the training settings"
    )
    return notes
