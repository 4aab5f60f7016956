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
from ..core.catalogue import get_kind, keras_config
from ..core.project import Project
from ..core.validation import Problem, errors, validate
from .tf_import import keras


class BuildError(Exception):
    """The project has problems that stop it from becoming a model."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p.place}: {p.message}" for p in problems)
        super().__init__(f"the project has {len(problems)} problem(s):\n{lines}")


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
    tied: list[TiedGroup] = field(default_factory=list)

    def tied_variables(self) -> list[list]:
        """For each tied weight, its variables across the towers (trainable only)."""
        groups = []
        for group in self.tied:
            per_task = [self.model.get_layer(name).trainable_weights
                        for name in group.layers.values()]
            groups.extend([list(vs) for vs in zip(*per_task)])
        return groups


def make_layer(kind_name: str, params: dict, name: str):
    """One Keras layer for a node of the catalogue."""
    k = keras()
    kind = get_kind(kind_name)
    config = keras_config(kind, params)
    if kind_name == "Bidirectional":
        inner_cls = getattr(k.layers, params["layer"])
        inner = inner_cls(params["units"], return_sequences=params["return_sequences"],
                          dropout=params["dropout"], name=f"{name}_{params['layer'].lower()}")
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
    order, _ = graph.topological_order()
    used = set()
    for task in project.tasks:
        used |= project.task_nodes(task.name)
    order = [n for n in order if n in used]

    inputs = {}
    for node_id in order:
        node = project.node(node_id)
        if node.kind == "Input":
            inputs[node_id] = k.Input(shape=tuple(node.params["shape"]),
                                      dtype=node.params["dtype"], name=node.name)

    built = BuiltModel(None, mode, [project.node(n).name for n in inputs], {})
    outputs = {}
    if mode == "soft_sharing":
        roles = project.roles()
        taken = {n.name for n in project.nodes.values()}
        for task in project.tasks:
            tensors = dict(inputs)
            tower = project.task_nodes(task.name)
            for node_id in order:
                if node_id not in tower or node_id in inputs:
                    continue
                node = project.node(node_id)
                if roles[node_id].kind == "shared":
                    name = f"{node.name}_{task.name}"
                    if name in taken:
                        name = f"{node.name}__{task.name}"
                    key = (node_id, task.name)
                else:
                    name, key = node.name, (node_id, None)
                layer = make_layer(node.kind, node.params, name)
                built.layers[key] = name
                tensors[node_id] = _call(layer, [tensors[p] for p in graph.predecessors(node_id)])
            outputs[task.name] = tensors[task.output]
            built.output_names[task.name] = project.node(task.output).name
        for node_id in order:
            if roles[node_id].kind == "shared" and get_kind(project.node(node_id).kind).has_weights:
                built.tied.append(TiedGroup(node_id, {
                    t: built.layers[(node_id, t)] for t in roles[node_id].tasks}))
    else:
        tensors = dict(inputs)
        for node_id in order:
            if node_id in inputs:
                continue
            node = project.node(node_id)
            layer = make_layer(node.kind, node.params, node.name)
            built.layers[(node_id, None)] = node.name
            tensors[node_id] = _call(layer, [tensors[p] for p in graph.predecessors(node_id)])
        for task in project.tasks:
            outputs[task.name] = tensors[task.output]
            built.output_names[task.name] = project.node(task.output).name

    model_inputs = {project.node(n).name: t for n, t in inputs.items()}
    built.model = k.Model(inputs=model_inputs, outputs=outputs,
                          name=model_name(project.name))
    return built


def _call(layer, tensors: list):
    return layer(tensors if len(tensors) > 1 else tensors[0])


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
