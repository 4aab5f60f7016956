import json

import pytest

from mtl_studio.core.clipboard import (
    MIME_TYPE,
    copy_nodes,
    duplicate_command,
    paste_command,
)
from mtl_studio.core.commands import UndoStack
from mtl_studio.core.fileformat import FORMAT_VERSION, to_dict
from mtl_studio.core.project import Project
from mtl_studio.core.validation import validate
from tests.helpers import chain, node, two_task_project


def edges_between(project, ids):
    return {
        (e.source, e.target, e.port) for e in project.edges if e.source in ids and e.target in ids
    }


def test_copy_holds_the_file_dicts_and_only_inner_edges():
    p = two_task_project()
    data = json.loads(copy_nodes(p, ["head_a", "shared", "out_a"]))
    assert MIME_TYPE == "application/x-mtl-studio-nodes"
    assert data["format"] == "mtl-studio-nodes" and data["format_version"] == FORMAT_VERSION
    file_nodes = {n["id"]: n for n in to_dict(p)["nodes"]}
    assert data["nodes"] == [file_nodes[n] for n in ("shared", "head_a", "out_a")]
    # x -> shared and shared -> out_b leave the selection: not copied.
    assert data["edges"] == [
        {"from": "shared", "to": "head_a", "port": 0},
        {"from": "head_a", "to": "out_a", "port": 0},
    ]
    assert "tasks" not in data
    with pytest.raises(KeyError, match="ghost"):
        copy_nodes(p, ["ghost"])


def test_paste_into_the_same_project_is_one_undo_step():
    p = two_task_project()
    stack = UndoStack(p)
    before = p.copy()
    text = copy_nodes(p, ["shared", "head_a", "out_a"])
    command = paste_command(p, text)
    assert command.text == "Paste"
    stack.push(command)
    new = [n for n in p.nodes if n not in before.nodes]
    assert len(new) == 3
    names = {p.node(n).name for n in new}
    assert not names & {n.name for n in before.nodes.values()}
    old_node = before.node("head_a")
    pasted = next(n for n in new if p.node(n).kind == "Dense")
    assert (p.node(pasted).x, p.node(pasted).y) == (old_node.x + 40, old_node.y + 40)
    assert len(edges_between(p, set(new))) == 2
    assert not any(e.source in new and e.target not in new for e in p.edges)
    assert len(p.tasks) == 2  # tasks are not pasted
    stack.undo()
    assert p == before


def test_paste_into_another_project_keeps_free_names():
    source = two_task_project()
    other = Project("other")
    node(other, "x", "Input")
    text = copy_nodes(source, ["x", "shared", "out_b"])
    UndoStack(other).push(paste_command(other, text, offset=(0, 0)))
    by_name = {n.name: n for n in other.nodes.values()}
    assert set(by_name) == {"x", "x_1", "shared", "out_b"}
    assert by_name["shared"].params == source.node("shared").params
    assert (by_name["shared"].x, by_name["shared"].y) == (
        source.node("shared").x,
        source.node("shared").y,
    )
    ids = {by_name[n].id for n in ("x_1", "shared", "out_b")}
    assert len(edges_between(other, ids)) == 2
    # The Output belongs to no task there, and validation says so.
    messages = [str(pr) for pr in validate(other)]
    assert any("out_b" in m and "belongs to no task" in m for m in messages)


def test_ids_are_unique_among_the_pasted_nodes_too():
    source = Project()
    for n in ("a", "b", "c"):
        node(source, n, "Dense")
    chain(source, "a", "b", "c")
    target = Project()
    command = paste_command(target, copy_nodes(source, ["a", "b", "c"]))
    UndoStack(target).push(command)
    assert list(target.nodes) == ["dense_1", "dense_2", "dense_3"]
    assert [(e.source, e.target) for e in target.edges] == [
        ("dense_1", "dense_2"),
        ("dense_2", "dense_3"),
    ]


def test_names_are_made_unique_among_the_pasted_nodes_too():
    text = json.dumps(
        {
            "format": "mtl-studio-nodes",
            "format_version": 1,
            "nodes": [
                {"id": "a", "kind": "Dense", "name": "fc"},
                {"id": "b", "kind": "Dense", "name": "fc"},
            ],
        }
    )
    p = Project()
    UndoStack(p).push(paste_command(p, text))
    assert sorted(n.name for n in p.nodes.values()) == ["fc", "fc_1"]


def test_duplicate():
    p = two_task_project()
    stack = UndoStack(p)
    before = p.copy()
    command = duplicate_command(p, ["head_a", "out_a"])
    assert command.text == "Duplicate"
    stack.push(command)
    assert len(p.nodes) == len(before.nodes) + 2
    stack.undo()
    assert p == before


def nodes_text(nodes, edges=(), **top) -> str:
    return json.dumps(
        {
            "format": "mtl-studio-nodes",
            "format_version": 1,
            "nodes": nodes,
            "edges": list(edges),
            **top,
        }
    )


DENSE = {"id": "d", "kind": "Dense", "name": "d"}
CAT = {"id": "c", "kind": "Concatenate", "name": "c"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("{nodes: ]", "cannot paste: not valid JSON: "),
        ("[1, 2]", "not MTL Studio nodes"),
        (json.dumps({"format": "mtl-studio-project"}), "got 'mtl-studio-project'"),
        (nodes_text([], tasks=[]), "tasks: unknown field"),
        (nodes_text([DENSE], format_version=99), "newer than this MTL Studio reads"),
        (nodes_text([{**DENSE, "kind": "Dense3D"}]), "nodes[0].kind: unknown node kind 'Dense3D'"),
        (
            nodes_text([{**DENSE, "params": {"units": -4}}]),
            "nodes[0].params.units: expected a positive integer, got -4",
        ),
        (nodes_text([{**DENSE, "name": "has space"}]), "nodes[0].name: a node name must"),
        (nodes_text([DENSE, DENSE]), "nodes[1].id: duplicate node id 'd'"),
        (nodes_text([DENSE], [{"from": "d", "to": "ghost"}]), "edges[0].to: refers to a missing"),
        (nodes_text([DENSE], [{"from": "d", "to": "d"}]), "edges[0]: Dense 'd' cannot feed itself"),
        (
            nodes_text(
                [DENSE, CAT],
                [{"from": "d", "to": "c", "port": 0}, {"from": "d", "to": "c", "port": 1}],
            ),
            "edges[1]: Dense 'd' already feeds Concatenate 'c'",
        ),
        (
            nodes_text([DENSE, CAT], [{"from": "d", "to": "c"}, {"from": "c", "to": "d"}]),
            "edges[1]: connecting Concatenate 'c' to Dense 'd' would make a cycle",
        ),
    ],
)
def test_bad_text_is_refused_with_a_message(text, message):
    p = two_task_project()
    before = p.copy()
    with pytest.raises(ValueError) as err:
        paste_command(p, text)
    assert str(err.value).startswith("cannot paste: ")
    assert message in str(err.value)
    assert p == before
