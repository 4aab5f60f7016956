"""Multi-task blocks: one node on the canvas, several standard layers in the model.

A block expands into layers of the catalogue (Dense, Reshape, Concatenate,
Dot), so a saved .keras model holds only standard Keras layers and loads in
Keras' safe mode, and the exported script writes the layers out one by one.
This module is the one statement of each block's structure: the builder,
the exported script, the weight counts and the shape rules all read
expand(); the .keras import recognises a block by expanding it again.

- MMoE (Ma et al., KDD 2018): `experts` experts, each a small Dense stack
  on the input; one softmax gate per task over the experts; output port k
  is gate k's mixture sum_i g_k(x)_i e_i(x).
- CGC (Tang et al., RecSys 2020): shared experts and each task's own
  experts; task k's gate mixes its own and the shared ones.
- PLE (the same paper): CGC levels stacked; between levels a shared gate
  over every expert carries the shared path on; the last level is a CGC.
- CrossStitch (Misra et al., CVPR 2016): K task towers in, K out; output i
  is sum_j a_ij x_j with a learned K x K matrix, started at 1 - share on
  the diagonal and share / (K - 1) elsewhere (the paper's 0.9 / 0.1).

A mixture is a Dot over the experts axis: the gate [batch, n] times the
experts stacked as rows [batch, n, d] gives [batch, d].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .catalogue import ACTIVATIONS, LayerKind, ShapeError, _register, get_kind
from .params import ParamSpec, Shape, format_shape

BLOCK_CATEGORY = "Multi-task"


@dataclass(frozen=True)
class Sub:
    """One layer of an expanded block."""

    name: str  # the Keras layer's name: the node's name and a suffix
    kind: str  # a catalogue kind
    params: dict  # complete catalogue parameters
    inputs: tuple  # an int j: the block's input port j; a str: another Sub's name
    shape: Shape  # its output shape, batch left out
    extra: dict = field(default_factory=dict)  # Keras arguments the catalogue has no field for


@dataclass(frozen=True)
class Expansion:
    subs: list[Sub]
    outputs: list[str]  # the Sub behind each output port

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.subs]

    def feeding(self, ports) -> list[str]:
        """The layers that lead to the given output ports, in creation order:
        those of a port that feeds no task are built but not in the model."""
        inputs = {s.name: s.inputs for s in self.subs}
        needed, stack = set(), [self.outputs[p] for p in ports if p < len(self.outputs)]
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(r for r in inputs[name] if isinstance(r, str))
        return [s.name for s in self.subs if s.name in needed]


class _Plan:
    """Collects a block's layers, inferring each one's shape with the
    catalogue's own rule for its kind."""

    def __init__(self, name: str, in_shapes: list) -> None:
        self.name = name
        self.in_shapes = list(in_shapes)
        self.subs: list[Sub] = []
        self.shapes: dict[str, Shape] = {}

    def shape(self, ref) -> Shape:
        return self.in_shapes[ref] if isinstance(ref, int) else self.shapes[ref]

    def add(self, suffix: str, kind: str, inputs, extra=None, **params) -> str:
        name = f"{self.name}_{suffix}"
        spec = get_kind(kind)
        full = {**spec.defaults(), **params}
        shape = spec.infer(full, [self.shape(r) for r in inputs], f"{kind} '{name}'")
        self.subs.append(Sub(name, kind, full, tuple(inputs), shape, dict(extra or {})))
        self.shapes[name] = shape
        return name

    def expert(self, source, tag: str, units: tuple, activation: str) -> str:
        """A Dense stack, its output as one row [1, d] ready to be stacked."""
        h = source
        for i, u in enumerate(units):
            h = self.add(f"{tag}_{i}", "Dense", [h], units=u, activation=activation)
        return self.add(f"{tag}_row", "Reshape", [h], target_shape=(1, units[-1]))


def _flat_input(label: str, shapes: list) -> None:
    (s,) = shapes
    if len(s) != 1 or s[0] is None:
        raise ShapeError(
            f"{label} needs a flat vector of known size but gets {format_shape(s)}: "
            "put a Flatten (or a global pooling layer) before it"
        )


def _mmoe(p: dict, name: str, shapes: list, label: str) -> Expansion:
    _flat_input(label, shapes)
    plan = _Plan(name, shapes)
    units, act = tuple(p["expert_units"]), p["activation"]
    rows = [plan.expert(0, f"expert{e}", units, act) for e in range(p["experts"])]
    stacked = _stack(plan, rows, "", "")  # one stack of the experts serves every gate
    outputs = [_gate(plan, 0, stacked, len(rows), "", str(k)) for k in range(p["tasks"])]
    return Expansion(plan.subs, outputs)


def _ple(p: dict, name: str, shapes: list, label: str) -> Expansion:
    _flat_input(label, shapes)
    plan = _Plan(name, shapes)
    units, act, tasks = tuple(p["expert_units"]), p["activation"], p["tasks"]
    levels = p.get("levels", 1)
    task_in, shared_in = [0] * tasks, 0
    for level in range(levels):
        tag = f"l{level}_" if levels > 1 else ""
        shared = [
            plan.expert(shared_in, f"{tag}shared{e}", units, act)
            for e in range(p["shared_experts"])
        ]
        own = [
            [
                plan.expert(task_in[k], f"{tag}task{k}_{e}", units, act)
                for e in range(p["task_experts"])
            ]
            for k in range(tasks)
        ]
        outputs = [_gated(plan, task_in[k], own[k] + shared, tag, str(k)) for k in range(tasks)]
        if level < levels - 1:
            every = [r for rows in own for r in rows] + shared
            shared_in = _gated(plan, shared_in, every, tag, "_shared")
        task_in = outputs
    return Expansion(plan.subs, task_in)


def _stack(plan: _Plan, rows: list[str], level: str, tag: str) -> str:
    """Expert rows [1, d] stacked into [n, d]."""
    if len(rows) == 1:
        return rows[0]
    return plan.add(f"{level}experts{tag}", "Concatenate", rows, axis=1)


def _gate(plan: _Plan, source, stacked: str, n: int, level: str, tag: str) -> str:
    """A softmax gate on `source` over n stacked experts, and its mixture."""
    gate = plan.add(f"{level}gate{tag}", "Dense", [source], units=n, activation="softmax")
    return plan.add(f"{level}mix{tag}", "Dot", [gate, stacked], axes=1)


def _gated(plan: _Plan, source, rows: list[str], level: str, tag: str) -> str:
    return _gate(plan, source, _stack(plan, rows, level, tag), len(rows), level, tag)


def cross_stitch_start(k: int, share: float) -> list[list[list[float]]]:
    """The start of each output's column of the K x K matrix: output i keeps
    1 - share of its own tower and takes share / (K - 1) of each other."""
    return [[[1.0 - share if j == i else share / (k - 1)] for j in range(k)] for i in range(k)]


def _cross_stitch(p: dict, name: str, shapes: list, label: str) -> Expansion:
    k = len(shapes)
    if k < 2:
        raise ShapeError(f"{label} stitches two or more task towers but gets {k}")
    first = shapes[0]
    if any(s != first for s in shapes) or any(d is None for d in first):
        seen = ", ".join(format_shape(s) for s in shapes)
        raise ShapeError(f"{label} needs towers of one fixed shape but gets {seen}")
    plan = _Plan(name, shapes)
    size = math.prod(first)
    columns = [plan.add(f"in{j}", "Reshape", [j], target_shape=(size, 1)) for j in range(k)]
    stacked = plan.add("stack", "Concatenate", columns, axis=-1)
    outputs = []
    for i, start in enumerate(cross_stitch_start(k, p["share"])):
        initializer = {"class_name": "Constant", "config": {"value": start}}
        mixed = plan.add(
            f"unit{i}",
            "Dense",
            [stacked],
            extra={"kernel_initializer": initializer},
            units=1,
            activation="linear",
            use_bias=False,
        )
        outputs.append(plan.add(f"out{i}", "Reshape", [mixed], target_shape=tuple(first)))
    return Expansion(plan.subs, outputs)


_EXPANDERS = {"MMoE": _mmoe, "CGC": _ple, "PLE": _ple, "CrossStitch": _cross_stitch}


def expand(kind: str, params: dict, name: str, in_shapes: list, label: str = "") -> Expansion:
    """The layers of a block node; raises ShapeError for inputs it cannot take."""
    return _EXPANDERS[kind](params, name, list(in_shapes), label or f"{kind} '{name}'")


def _infer(kind: str):
    def infer(p, shapes, label):
        # Every output port of a block has one shape.
        return _shape_of(expand(kind, p, "block", shapes, label), 0)

    return infer


def _shape_of(found: Expansion, port: int) -> Shape:
    wanted = found.outputs[port]
    return next(s.shape for s in found.subs if s.name == wanted)


def _count(kind: str):
    def count(p, shapes):
        found = expand(kind, p, "block", shapes)
        known = {s.name: s.shape for s in found.subs}
        total = 0
        for s in found.subs:
            ins = [shapes[r] if isinstance(r, int) else known[r] for r in s.inputs]
            total += get_kind(s.kind).count(s.params, ins)
        return total

    return count


# A block's tasks, experts and levels: each makes layers (and ports) of its
# own, so a file cannot ask for a million (docs/project-format.md, "Limits").
MAX_BLOCK_COUNT = 64


def _tasks(help: str) -> ParamSpec:
    return ParamSpec("tasks", "int", 2, minimum=1, maximum=MAX_BLOCK_COUNT, help=help)


def _expert_units() -> ParamSpec:
    return ParamSpec(
        "expert_units",
        "shape",
        (16,),
        help="Units of each expert's Dense layers, first to last, e.g. 32, 16.",
    )


def _expert_activation() -> ParamSpec:
    return ParamSpec(
        "activation", "choice", "relu", choices=ACTIVATIONS, help="Activation of the experts."
    )


def _experts(name: str, default: int, minimum: int, help: str) -> ParamSpec:
    return ParamSpec(name, "int", default, minimum=minimum, maximum=MAX_BLOCK_COUNT, help=help)


_CGC_PARAMS = (
    _tasks("Number of tasks: one gate and one output port each."),
    _experts("shared_experts", 2, 0, "Experts every task's gate mixes."),
    _experts("task_experts", 1, 1, "Experts of each task's own."),
    _expert_units(),
    _expert_activation(),
)


def _block(name: str, description: str, params, outputs, key_params, **kw) -> LayerKind:
    return LayerKind(
        name,
        BLOCK_CATEGORY,
        description,
        tuple(params),
        infer=_infer(name),
        count=_count(name),
        keras_class="",
        key_params=key_params,
        has_weights=True,
        outputs=outputs,
        block=True,
        **kw,
    )


_register(
    _block(
        "MMoE",
        "Multi-gate mixture of experts (Ma et al. 2018): shared experts, a softmax "
        "gate per task; wire each task's head to its own output port.",
        (
            _tasks("Number of tasks: one gate and one output port each."),
            _experts("experts", 4, 1, "Number of experts."),
            _expert_units(),
            _expert_activation(),
        ),
        lambda p, n: p["tasks"],
        ("experts", "expert_units"),
    ),
    _block(
        "CGC",
        "Customized gate control (Tang et al. 2020): shared and per-task experts, a "
        "gate per task over its own and the shared ones; an output port per task.",
        _CGC_PARAMS,
        lambda p, n: p["tasks"],
        ("shared_experts", "task_experts"),
    ),
    _block(
        "PLE",
        "Progressive layered extraction (Tang et al. 2020): CGC levels stacked, a "
        "shared gate carrying the shared path between them; an output port per task.",
        _CGC_PARAMS
        + (
            ParamSpec(
                "levels", "int", 2, minimum=1, maximum=MAX_BLOCK_COUNT, help="CGC levels stacked."
            ),
        ),
        lambda p, n: p["tasks"],
        ("levels", "shared_experts", "task_experts"),
    ),
    _block(
        "CrossStitch",
        "Cross-stitch unit (Misra et al. 2016): task towers in, as many out; each "
        "output a learned mix of all the towers. Wire tower k into port k.",
        (
            ParamSpec(
                "share",
                "float",
                0.1,
                minimum=0.0,
                maximum=1.0,
                max_inclusive=False,
                help="At the start, the part each output takes from the other towers.",
            ),
        ),
        lambda p, n: max(n, 2),
        ("share",),
        min_inputs=2,
        max_inputs=None,
    ),
)
