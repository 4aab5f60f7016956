"""Project -> keras.Model.

Hard sharing comes from the graph itself: a node that feeds two tasks is one
layer used by both. For soft sharing every trunk node becomes one copy per
task (a tower per task), and the result says which layers' weights are tied
so the trainer can add the L2 distance penalty between them.

Model inputs are keyed by Input node name, outputs by task name; layers are
named after their nodes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.atomic import replacing
from ..core.block_checks import model_layers
from ..core.blocks import Expansion, expand
from ..core.catalogue import call_arguments, get_kind, keras_config, recurrent_inner_config
from ..core.project import Project
from ..core.validation import Problem, errors, validate
from ..core.wording import counted, one_line
from .precision import layer_policy
from .tf_import import keras


class BuildError(Exception):
    """The project has problems that stop it from becoming a model."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        # One line, as every message a user meets: the first problem, and
        # how many more (the Problems panel and `mtl-studio validate` list them).
        first = problems[0]
        more = f" (and {counted(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
        super().__init__(one_line(f"{first.place}: {first.message}{more}"))


@dataclass
class TiedGroup:
    """One trunk node of a soft-sharing model: its copy per task."""

    node_id: str
    layers: dict[str, str]  # task name -> layer name


@dataclass
class BuiltModel:
    model: object  # keras.Model
    mode: str
    input_names: list[str]  # Input node names, model input order
    output_names: dict[str, str]  # task name -> name of its Output layer
    # (node id, task name or None for a single shared layer) -> layer name
    layers: dict[tuple[str, str | None], str] = field(default_factory=dict)
    # block node id -> the names of the layers it built to (core/blocks.py)
    blocks: dict[str, list[str]] = field(default_factory=dict)
    tied: list[TiedGroup] = field(default_factory=list)

    def layer_names(self, node_id: str) -> list[str]:
        """The Keras layers a node became: its own, its copies, or a block's."""
        found = [name for key, name in self.layers.items() if key[0] == node_id]
        return self.blocks.get(node_id, found)

    def tied_variables(self) -> list[list]:
        """For each tied weight, its variables across the towers (trainable only)."""
        groups = []
        for group in self.tied:
            per_task = [
                self.model.get_layer(name).trainable_weights for name in group.layers.values()
            ]
            groups.extend([list(vs) for vs in zip(*per_task)])
        return groups


def make_layer(
    kind_name: str,
    params: dict,
    name: str,
    extra: dict | None = None,
    dtype: str | None = None,
):
    """One Keras layer for a node of the catalogue (`extra`: Keras arguments
    a block's layer sets beyond the catalogue's fields; `dtype`: its dtype
    policy, precision.layer_policy)."""
    k = keras()
    kind = get_kind(kind_name)
    config = {**keras_config(kind, params), **(extra or {})}
    policy = {"dtype": dtype} if dtype else {}
    config.update(policy)
    if kind_name == "Bidirectional":
        inner_cls = getattr(k.layers, params["layer"])
        inner = inner_cls(
            **recurrent_inner_config(params), name=f"{name}_{params['layer'].lower()}", **policy
        )
        return k.layers.Bidirectional(inner, name=name, **config)
    cls = getattr(k.layers, kind.keras_class)
    return cls(name=name, **config)


def build_model(project: Project, mode: str | None = None, seed: int | None = None) -> BuiltModel:
    """Build the Keras model of a valid project. `mode` defaults to the
    project's training mode; only "soft_sharing" builds towers."""
    problems = errors(validate(project))
    if problems:
        raise BuildError(problems)
    k = keras()
    if seed is None:
        seed = project.training.seed
    k.utils.set_random_seed(seed)
    mode = mode or project.training.mode
    graph = project.graph
    input_ids, calls = layer_calls(project, mode)
    inputs = {}
    for node_id in input_ids:
        node = project.node(node_id)
        inputs[node_id] = k.Input(
            shape=tuple(node.params["shape"]), dtype=node.params["dtype"], name=node.name
        )

    built = BuiltModel(None, mode, [project.node(n).name for n in inputs], {})
    precision = project.training.precision
    task_outputs = {task.output for task in project.tasks}
    towers: dict[str | None, dict] = {}  # tower (task, or None) -> node id -> tensor
    for call in calls:
        node = project.node(call.node_id)
        tensors = towers.setdefault(call.tower, dict(inputs))
        feeding = [_port(tensors[p], out) for p, out in graph.sources(call.node_id)]
        if get_kind(node.kind).block:
            tensors[call.node_id], found = build_block(
                node, call.name, feeding, layer_policy(precision, False)
            )
            built.blocks[call.node_id] = model_layers(project, call.node_id, found)
        else:
            policy = layer_policy(precision, call.node_id in task_outputs)
            layer = make_layer(node.kind, node.params, call.name, dtype=policy)
            tensors[call.node_id] = _call(layer, feeding)
        built.layers[call.key] = call.name
    outputs = {}
    for task in project.tasks:
        tensors = towers[task.name if mode == "soft_sharing" else None]
        outputs[task.name] = tensors[task.output]
        built.output_names[task.name] = project.node(task.output).name
    if mode == "soft_sharing":
        # Each shared layer with weights: its copies, tied by the penalty.
        roles = project.roles()
        copied = {call.node_id for call in calls if call.key[1] is not None}
        for node_id in graph.topological_order()[0]:
            if node_id in copied and get_kind(project.node(node_id).kind).has_weights:
                built.tied.append(
                    TiedGroup(
                        node_id, {t: built.layers[(node_id, t)] for t in roles[node_id].tasks}
                    )
                )

    model_inputs = {project.node(n).name: t for n, t in inputs.items()}
    built.model = k.Model(inputs=model_inputs, outputs=outputs, name=model_name(project.name))
    return built


@dataclass(frozen=True)
class LayerCall:
    """One layer of the model, as build_model creates it."""

    node_id: str
    name: str  # the Keras layer's name
    # (node id, task) for a tower's copy of a shared node, else (node id, None).
    key: tuple
    tower: str | None  # the task whose tower it is in (soft sharing), else None


def layer_calls(project: Project, mode: str) -> tuple[list[str], list[LayerCall]]:
    """The Input node ids and the layers of the model in creation order (so
    the same seed gives the same weights), with their names. Plain Python:
    the exported training script builds its model from the same list."""
    order, _ = project.graph.topological_order()
    used: set[str] = set()
    for task in project.tasks:
        used |= project.task_nodes(task.name)
    order = [n for n in order if n in used]
    inputs = [n for n in order if project.node(n).kind == "Input"]
    if mode != "soft_sharing":
        return inputs, [
            LayerCall(n, project.node(n).name, (n, None), None) for n in order if n not in inputs
        ]
    # Soft sharing: a tower per task; each shared node gets a copy per task,
    # named after both (tied by the penalty), head nodes keep their names.
    roles = project.roles()
    taken = {n.name for n in project.nodes.values()}
    calls = []
    for task in project.tasks:
        tower = project.task_nodes(task.name)
        for node_id in order:
            if node_id not in tower or node_id in inputs:
                continue
            node = project.node(node_id)
            if roles[node_id].kind == "shared":
                name = f"{node.name}_{task.name}"
                if name in taken:
                    name = f"{node.name}__{task.name}"
                calls.append(LayerCall(node_id, name, (node_id, task.name), task.name))
            else:
                calls.append(LayerCall(node_id, node.name, (node_id, None), task.name))
    return inputs, calls


def build_block(node, name: str, tensors: list, dtype: str | None = None) -> tuple[list, Expansion]:
    """A block node's layers (core/blocks.py) called on its inputs: one
    output tensor per output port, and the expansion they came from
    (`dtype`: the layers' dtype policy)."""
    shapes = [tuple(t.shape[1:]) for t in tensors]
    found = expand(node.kind, node.params, name, shapes, node.label)
    made: dict[str, object] = {}
    for sub in found.subs:
        layer = make_layer(sub.kind, sub.params, sub.name, sub.extra, dtype)
        made[sub.name] = _call(
            layer, [tensors[r] if isinstance(r, int) else made[r] for r in sub.inputs]
        )
    return [made[o] for o in found.outputs], found


def _port(tensor, out: int):
    """A block's tensors are one per output port; a layer's is its only one."""
    return tensor[out] if isinstance(tensor, list) else tensor


def _call(layer, tensors: list):
    """Call a layer on its node's inputs, in port order (catalogue.call_arguments)."""
    return layer(*call_arguments(type(layer).__name__, tensors))


def model_name(name: str) -> str:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return clean or "mtl_model"


def save_keras(model, path: str | os.PathLike) -> None:
    """Save a .keras file atomically (Keras insists on the .keras suffix,
    so the temporary file carries it too)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a Keras model file must end in .keras")
    with replacing(path, suffix=".keras") as tmp:
        model.save(tmp)
