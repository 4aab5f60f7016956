"""The block examples (MMoE, PLE, cross-stitch): each opens, validates with
its data and trains for a few steps headless, through the public API."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_studio as mtl
from mtl_studio.core.catalogue import get_kind
from mtl_studio.examples import examples

BLOCK_EXAMPLES = {"mmoe": "MMoE", "ple": "PLE", "cross_stitch": "CrossStitch"}


@pytest.mark.parametrize("name", BLOCK_EXAMPLES)
def test_block_example_validates_and_trains_a_few_steps(name, tmp_path):
    assert name in examples()
    project = mtl.load(name)
    assert [p for p in mtl.validate(project) if p.severity == "error"] == []
    blocks = [n for n in project.nodes.values() if get_kind(n.kind).block]
    assert [n.kind for n in blocks] == [BLOCK_EXAMPLES[name]]
    # Each task takes its own port of the block.
    outs = sorted(e.out for e in project.graph.outputs_of(blocks[0].id))
    assert outs == list(range(len(project.tasks)))
    if project.data.kind == "generator":
        project.data.params["examples"] = 300  # the suite's size, not the example's
    project.training.epochs = 1
    run = mtl.train(project, out=tmp_path / "run")
    assert run.status == "completed"
    losses = [c.loss for c in run.curves.values()]
    assert all(np.isfinite(np.asarray(v)).all() and len(v) for v in losses)
