"""Block nodes (MMoE, CGC, PLE, CrossStitch): output ports, shapes, weight
counts, file format, validation, roles and clipboard. Their Keras side is
tests/training/test_blocks.py."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_studio.core.block_checks import port_tasks
from mtl_studio.core.blocks import cross_stitch_start, expand
from mtl_studio.core.catalogue import ShapeError, get_kind
from mtl_studio.core.clipboard import copy_nodes, paste_command
from mtl_studio.core.fileformat import ProjectError, dumps, loads
from mtl_studio.core.graph import Edge, PortError
from mtl_studio.core.validation import infer_shapes, parameter_count, validate
from tests.helpers import block_project, node

BLOCKS = ("MMoE", "CGC", "PLE", "CrossStitch")


def messages(project, severity=None):
    return [
        p.message
        for p in validate(project)
        if p.place.id == "blk" and (severity is None or p.severity == severity)
    ]


@pytest.mark.parametrize("kind", BLOCKS)
def test_each_block_is_valid_shared_and_gives_each_task_its_own_port(kind):
    p = block_project(kind)
    assert messages(p) == []
    assert p.roles()["blk"].kind == "shared"
    assert port_tasks(p, "blk") == [("t0",), ("t1",)]
    shapes, problems = infer_shapes(p)
    assert problems == []
    assert shapes["out1"] == (3,)


def test_mmoe_ports_follow_its_tasks_and_refuse_one_it_lacks():
    p = block_project("MMoE", tasks=3)
    assert p.graph.output_ports("blk") == 3
    node(p, "out2", "Output", units=1)
    p.connect(Edge("blk", "out2", 0, 2))
    node(p, "out3", "Output", units=1)
    with pytest.raises(PortError, match="MMoE 'blk' has no output port 3"):
        p.connect(Edge("blk", "out3", 0, 3))


def test_cross_stitch_has_an_output_per_tower():
    p = block_project("CrossStitch")
    assert p.graph.output_ports("blk") == 2
    node(p, "tower2", "Dense", units=6)
    p.connect(Edge("x", "tower2"))
    p.connect(Edge("tower2", "blk", 2))
    assert p.graph.output_ports("blk") == 3


def test_mmoe_weights_counted_by_hand():
    # 3 features in; 2 experts of Dense 4: 2 * (3*4 + 4) = 32; 2 softmax
    # gates over 2 experts: 2 * (3*2 + 2) = 16. Reshape, Concatenate, Dot: none.
    count = get_kind("MMoE").count(
        {"tasks": 2, "experts": 2, "expert_units": (4,), "activation": "relu"}, [(3,)]
    )
    assert count == 48


def test_ple_weights_counted_by_hand():
    # CGC on 3 features, 2 tasks, 1 shared expert and 1 own expert each, Dense 4:
    # experts 3 * (3*4 + 4) = 48; each task's gate over 2 experts: 2 * (3*2 + 2) = 16.
    cgc = {"tasks": 2, "shared_experts": 1, "task_experts": 1, "expert_units": (4,)}
    cgc["activation"] = "relu"
    assert get_kind("CGC").count(cgc, [(3,)]) == 64
    # PLE, 2 levels: level 0 as above plus a shared gate over all 3 experts on
    # the input (3*3 + 3 = 12); level 1 again on 4-wide inputs: experts
    # 3 * (4*4 + 4) = 60, gates 2 * (4*2 + 2) = 20.
    ple = dict(cgc, levels=2)
    assert get_kind("PLE").count(ple, [(3,)]) == 64 + 12 + 60 + 20


def test_cross_stitch_starts_near_the_identity():
    assert cross_stitch_start(2, 0.1) == [[[0.9], [0.1]], [[0.1], [0.9]]]
    three = cross_stitch_start(3, 0.2)
    assert three[1] == [[0.1], [0.8], [0.1]]
    assert get_kind("CrossStitch").count({"share": 0.1}, [(4,), (4,)]) == 4


def test_shapes_a_block_cannot_take_are_named():
    with pytest.raises(ShapeError, match="needs a flat vector.*put a Flatten"):
        get_kind("MMoE").infer(get_kind("MMoE").defaults(), [(5, 3)], "MMoE 'm'")
    with pytest.raises(ShapeError, match=r"towers of one fixed shape.*\(4,\), \(5,\)"):
        get_kind("CrossStitch").infer({"share": 0.1}, [(4,), (5,)], "CrossStitch 'c'")


def test_expansion_names_its_layers_after_the_node():
    found = expand("MMoE", get_kind("MMoE").defaults(), "moe", [(8,)])
    assert found.outputs == ["moe_mix0", "moe_mix1"]
    assert all(name.startswith("moe_") for name in found.names)
    assert {s.kind for s in found.subs} == {"Dense", "Reshape", "Concatenate", "Dot"}


def test_parameter_count_of_a_project_counts_the_block():
    p = block_project("MMoE", experts=2, expert_units=[4])
    # 8 in: experts 2 * (8*4 + 4) = 72, gates 2 * (8*2 + 2) = 36.
    assert parameter_count(p)["blk"] == 108


def test_unused_ports_and_shared_ports_are_warned():
    p = block_project("MMoE", tasks=3)
    assert messages(p, "warning") == [
        "output port 2 feeds no task, so its gate learns nothing: wire a task's head "
        "to it or lower the number of tasks"
    ]
    p.disconnect(Edge("blk", "out1", 0, 1))
    p.connect(Edge("blk", "out1", 0, 0))
    found = messages(p, "warning")
    assert any("tasks t0, t1 all take output port 0" in m for m in found)


def test_a_port_lost_by_lowering_the_tasks_is_an_error_and_nothing_is_lost():
    p = block_project("MMoE")
    p.set_param("blk", "tasks", 1)
    found = messages(p, "error")
    assert any(
        "has 1 output port(s) but its edge to Output 'out1' leaves port 1" in m for m in found
    )
    assert Edge("blk", "out1", 0, 1) in p.edges


def test_soft_sharing_refuses_blocks():
    p = block_project("PLE")
    p.training.mode = "soft_sharing"
    assert any("soft parameter sharing" in m for m in messages(p, "error"))


def test_a_node_named_like_a_block_layer_is_an_error():
    p = block_project("MMoE")
    node(p, "blk_gate0", "Dense", units=2)
    found = messages(p, "error")
    assert any("builds a layer named 'blk_gate0'" in m for m in found)


def test_the_file_keeps_output_ports_and_reads_old_edges():
    p = block_project("CGC")
    text = dumps(p)
    edges = json.loads(text)["edges"]
    assert {"from": "blk", "to": "out1", "port": 0, "out": 1} in edges
    assert {"from": "x", "to": "blk", "port": 0} in edges  # no "out" where it is 0
    back = loads(text)
    assert back.edges == p.edges


@settings(max_examples=40, deadline=None)
@given(out=st.one_of(st.integers(-5, 9), st.text(max_size=3), st.none(), st.floats()))
def test_any_out_value_in_a_file_loads_or_is_named(out):
    data = json.loads(dumps(block_project("MMoE")))
    data["edges"][-1]["out"] = out
    try:
        project = loads(json.dumps(data))
    except ProjectError as exc:
        assert "edges[" in str(exc)
        return
    # Loaded: an out of range is kept and named by validation.
    if isinstance(out, int) and not isinstance(out, bool) and out >= 2:
        assert any("output port(s)" in p.message for p in validate(project))


def test_copy_and_paste_keep_output_ports():
    p = block_project("MMoE")
    part = copy_nodes(p, ["blk", "out0", "out1"])
    paste_command(p, part).do(p)
    pasted = [e for e in p.edges if e.source not in ("blk", "x") and e.out == 1]
    assert len(pasted) == 1


def test_new_task_heads_on_a_block_take_its_free_ports_in_turn():
    from mtl_studio.core.commands import add_task_head

    p = block_project("MMoE", tasks=4)
    for expected in (2, 3):
        add_task_head(p, "blk").do(p)
        assert max(e.out for e in p.graph.outputs_of("blk")) == expected
    assert [t for t in port_tasks(p, "blk") if not t] == []


def test_from_python_each_layer_after_a_block_takes_its_next_port():
    from mtl_studio.core.building import add_layer, add_task
    from mtl_studio.core.project import Project

    p = Project("api")
    node(p, "x", "Input", shape=[5])
    add_layer(p, "MMoE", "x", name="moe", tasks=3)
    for k in range(3):
        add_task(p, f"t{k}", add_layer(p, "Dense", "moe", name=f"tower{k}", units=4))
    assert port_tasks(p, p.node_by_name("moe").id) == [("t0",), ("t1",), ("t2",)]
    assert [x for x in validate(p) if x.place.kind == "node"] == []
