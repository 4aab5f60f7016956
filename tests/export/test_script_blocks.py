"""The exported script of projects with blocks (MMoE, CGC, PLE, CrossStitch):
their layers written out one by one, the builder's layer for layer, and step
losses equal to the Trainer's (the machinery of test_script.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtl_studio.core.graph import Edge
from mtl_studio.export.script import write_script
from tests.export.test_script import RTOL, Case, Runs, assert_builder_model
from tests.helpers import block_project, chain, node, with_data


def block_zoo():
    p = block_project("PLE", levels=2, expert_units=[5])
    node(p, "cgc", "CGC", shared_experts=1, task_experts=1, expert_units=[4])
    chain(p, "x", "cgc")
    node(p, "ta", "Dense", units=3)
    node(p, "tb", "Dense", units=3)
    p.connect(Edge("cgc", "ta", 0, 0))
    p.connect(Edge("cgc", "tb", 0, 1))
    node(p, "stitch", "CrossStitch", share=0.2)
    p.connect(Edge("ta", "stitch", 0))
    p.connect(Edge("tb", "stitch", 1))
    node(p, "moe", "MMoE", tasks=2, experts=2, expert_units=[4])
    node(p, "cat0", "Concatenate")
    node(p, "cat1", "Concatenate")
    p.disconnect(Edge("blk", "out0", 0, 0))
    p.disconnect(Edge("blk", "out1", 0, 1))
    chain(p, "x", "moe")
    for k in range(2):
        p.connect(Edge("blk", f"cat{k}", 0, k))
        p.connect(Edge("stitch", f"cat{k}", 1, k))
        p.connect(Edge("moe", f"cat{k}", 2, k))
        chain(p, f"cat{k}", f"out{k}")
    return p


def test_script_writes_a_block_s_layers_as_the_builder_makes_them(tmp_path):
    project = with_data(block_zoo(), tmp_path)
    script = tmp_path / "blocks.py"
    write_script(project, tmp_path, script)
    text = script.read_text()
    assert "# MMoE 'moe': " in text and "# CrossStitch 'stitch': " in text
    assert 'moe_mix1 = layers.Dot(axes=1, name="moe_mix1")([moe_gate1, moe_experts])' in text
    assert_builder_model(script, project)


def _case(folder: Path, name: str, kind: str, mode: str, weighting: str) -> Case:
    p = with_data(block_project(kind), folder, rows=48)
    p.name = name
    p.training.mode, p.training.weighting = mode, weighting
    p.training.batch_size, p.training.epochs = 8, 3
    p.training.validation_split = 0.0
    p.training.steps_per_call = 10000
    case = Case(name, p, folder, 10)
    case.script = folder / f"{name}.py"
    write_script(p, folder, case.script)
    return case


# GradNorm watches the last shared layer (a block's), MGDA the shared
# variables (a stitch's and the towers'), alternating each task's variables.
BLOCK_CASES = [
    ("mmoe_gradnorm", "MMoE", "joint", "gradnorm"),
    ("ple_alternating", "PLE", "alternating", "fixed"),
    ("cross_stitch_mgda", "CrossStitch", "joint", "mgda"),
]


@pytest.fixture(scope="module")
def block_runs(tmp_path_factory) -> Runs:
    folder = tmp_path_factory.mktemp("block_scripts")
    cases = {name: _case(folder, name, *rest) for name, *rest in BLOCK_CASES}
    return Runs(cases, folder)


@pytest.mark.parametrize("name", [c[0] for c in BLOCK_CASES])
def test_block_script_step_losses_match_the_trainer(block_runs, name):
    result = block_runs.script_result(name)
    reference, layers = block_runs.reference[name]
    assert result["layers"] == layers
    for task, expected in reference.items():
        got = np.array([np.nan if v is None else v for v in result["losses"][task]])
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=task)
        np.testing.assert_allclose(got, expected, rtol=RTOL, equal_nan=True, err_msg=task)
