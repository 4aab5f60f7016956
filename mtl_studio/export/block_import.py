"""Blocks back from a .keras model: layers that a block node built (MMoE,
CGC, PLE, CrossStitch, core/blocks.py) become that one node again.

A candidate is found by the names the builder gives a block's layers (its
mixtures end in "_mix0", a PLE's in "_l0_mix0", a cross-stitch's units in
"_unit0"). Its parameters are read off those layers, the block is expanded
again with them, and only if every layer of the expansion is there, of the
same kind, with the same parameters and wired the same way (and nothing
outside uses a layer inside it) are the layers replaced by the block. Else
they stay as layers, and a note says which of the two happened.
"""

from __future__ import annotations

import re

from ..core.blocks import expand
from ..core.catalogue import ShapeError, get_kind


def _count(items, pattern: str) -> int:
    n = 0
    while pattern.format(n) in items:
        n += 1
    return n


def _expert(items, first: str) -> tuple[tuple, str]:
    """Units and activation of an expert's Dense stack, from its first layer's name."""
    base = first[: -len("_0")]
    units = []
    while f"{base}_{len(units)}" in items:
        units.append(items[f"{base}_{len(units)}"].params["units"])
    return tuple(units), items[first].params["activation"]


def _guess(items, prefix: str, kind: str) -> tuple[dict, list] | None:
    """(params, inputs) of a block whose layers start with prefix, or None."""
    if kind == "MMoE":
        units, act = _expert(items, f"{prefix}_expert0_0")
        params = {
            "tasks": _count(items, prefix + "_gate{}"),
            "experts": _count(items, prefix + "_expert{}_0"),
            "expert_units": units,
            "activation": act,
        }
        return params, list(items[f"{prefix}_gate0"].inputs)
    if kind == "CrossStitch":
        k = _count(items, prefix + "_in{}")
        start = items[f"{prefix}_unit0"].raw.get("kernel_initializer", {})
        value = start.get("config", {}).get("value") if isinstance(start, dict) else None
        share = float(value[1][0]) * (k - 1) if value else 0.1
        return {"share": share}, [items[f"{prefix}_in{j}"].inputs[0] for j in range(k)]
    level = f"{prefix}_l0_" if kind == "PLE" else f"{prefix}_"
    shared = _count(items, level + "shared{}_0")
    first = f"{level}shared0_0" if shared else f"{level}task0_0_0"
    units, act = _expert(items, first)
    params = {
        "tasks": _count(items, level + "gate{}"),
        "shared_experts": shared,
        "task_experts": _count(items, level + "task0_{}_0"),
        "expert_units": units,
        "activation": act,
    }
    if kind == "PLE":
        params["levels"] = _count(items, prefix + "_l{}_gate0")
    return params, list(items[f"{level}gate0"].inputs)


_ENDINGS = (("_l0_mix0", "PLE"), ("_mix0", "MMoE"), ("_mix0", "CGC"), ("_unit0", "CrossStitch"))


def _candidates(items) -> list[tuple[str, str]]:
    found = []
    for node_id in items:
        for ending, kind in _ENDINGS:
            if node_id.endswith(ending):
                prefix = node_id[: -len(ending)]
                if kind == "MMoE" and f"{prefix}_expert0_0" not in items:
                    continue
                if kind == "CGC" and f"{prefix}_expert0_0" in items:
                    continue
                found.append((prefix, kind))
                break
    return found


def _matches(items, found, inputs) -> bool:
    """Every layer of the expansion present, alike and wired alike."""
    ids = {s.name for s in found.subs}
    for sub in found.subs:
        item = items.get(sub.name)
        if item is None or item.kind != sub.kind:
            return False
        if any(item.params.get(k) != v for k, v in sub.params.items() if k in item.params):
            return False
        wanted = [inputs[r] if isinstance(r, int) else r for r in sub.inputs]
        if list(item.inputs) != wanted:
            return False
    outputs = set(found.outputs)
    for item in items.values():
        if item.id not in ids:
            if any(_source(i) in ids - outputs for i in item.inputs):
                return False  # something outside reads a layer inside
    return True


def _source(ref) -> str:
    return ref[0] if isinstance(ref, tuple) else ref


def collapse_blocks(items: dict, item_class, notes: list[str]) -> None:
    """Replace each block's layers in `items` (node id -> import item) by the
    block node; consumers of its outputs then name (block id, port)."""
    for prefix, kind in _candidates(items):
        try:
            params, inputs = _guess(items, prefix, kind)
            clean = {s.name: s.check(params[s.name]) for s in get_kind(kind).params}
            shapes = [items[i].shape for i in inputs]
            found = expand(kind, clean, prefix, shapes)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ShapeError):
            continue
        if prefix in items or not _matches(items, found, inputs):
            notes.append(
                f"layers named like {kind} block '{prefix}' are built otherwise: "
                "they came back as layers"
            )
            continue
        port = {name: k for k, name in enumerate(found.outputs)}
        shape = next(s.shape for s in found.subs if s.name == found.outputs[0])
        for sub in found.subs:
            del items[sub.name]
        items[prefix] = item_class(prefix, kind, clean, inputs, shape)
        for item in items.values():
            item.inputs = [(prefix, port[i]) if i in port else i for i in item.inputs]
        # Notes about the layers now inside the block no longer concern the user.
        inner = re.compile("|".join(re.escape(f"'{s.name}'") for s in found.subs))
        notes[:] = [n for n in notes if not inner.search(n)]
        notes.append(
            f"the {len(found.subs)} layers of {kind} block '{prefix}' came back as that "
            "one block node"
        )
