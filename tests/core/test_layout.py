import random

import pytest

from mtl_studio.core.commands import UndoStack
from mtl_studio.core.fileformat import load
from mtl_studio.core.graph import Edge
from mtl_studio.core.layout import NODE_HEIGHT, auto_layout, layout_command
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.examples import example_path, examples
from tests.helpers import chain, node, two_task_project

WIDTH = 180.0


def boxes_overlap(a, b, width=WIDTH) -> bool:
    (ax, ay), (bx, by) = a, b
    return ax < bx + width and bx < ax + width and ay < by + NODE_HEIGHT and by < ay + NODE_HEIGHT


def assert_no_overlap(pos):
    ids = list(pos)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not boxes_overlap(pos[a], pos[b]), (a, pos[a], b, pos[b])


def assert_parents_first(project, pos, direction="down"):
    for e in project.edges:
        (sx, sy), (tx, ty) = pos[e.source], pos[e.target]
        if direction == "down":
            assert ty >= sy + NODE_HEIGHT, e
        else:
            assert tx >= sx + WIDTH, e


def centre_x(pos, node_id):
    return pos[node_id][0] + WIDTH / 2


def random_dag(seed: int) -> Project:
    """An Input, then Dense (one input) and Concatenate (two) nodes fed by
    earlier ones; the last few are Outputs learnt by tasks."""
    rng = random.Random(seed)
    p = Project()
    ids = [node(p, "x", "Input")]
    for i in range(rng.randint(5, 25)):
        kind = rng.choice(["Dense", "Dense", "Concatenate"])
        n = node(p, f"n{i}", kind)
        parents = rng.sample(ids, min(len(ids), 2 if kind == "Concatenate" else 1))
        for parent in parents:
            chain(p, parent, n)
        ids.append(n)
    for t in range(rng.randint(1, 4)):
        out = node(p, f"out{t}", "Output")
        chain(p, rng.choice(ids[1:]), out)
        p.add_task(Task(f"t{t}", out))
    return p


def multi_head_project(tasks: int = 3, depth: int = 3) -> Project:
    """x -> trunk -> one head of `depth` Dense layers and an Output per task,
    with the heads' nodes added to the file in interleaved order."""
    p = Project()
    chain(p, node(p, "x", "Input"), node(p, "trunk", "Dense"))
    heads = [[f"h{t}_{d}" for d in range(depth)] + [f"out{t}"] for t in range(tasks)]
    for level in range(depth + 1):
        for t in reversed(range(tasks)):
            node(p, heads[t][level], "Output" if level == depth else "Dense")
    for t in range(tasks):
        chain(p, "trunk", *heads[t])
        p.add_task(Task(f"t{t}", f"out{t}"))
    return p


@pytest.mark.parametrize("name", sorted(examples()))
@pytest.mark.parametrize("direction", ["down", "right"])
def test_examples_every_node_placed_parents_first_no_overlap(name, direction):
    p = load(example_path(name))
    before = p.copy()
    pos = auto_layout(p, direction=direction)
    assert set(pos) == set(p.nodes)
    assert_parents_first(p, pos, direction)
    if direction == "down":
        assert_no_overlap(pos)
    assert p == before  # a pure function


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_parents_first_and_no_overlap(seed):
    p = random_dag(seed)
    pos = auto_layout(p)
    assert set(pos) == set(p.nodes)
    assert_parents_first(p, pos)
    assert_no_overlap(pos)


def test_right_keeps_boxes_apart_across_the_flow():
    p = multi_head_project()
    pos = auto_layout(p, direction="right")
    assert_parents_first(p, pos, "right")
    for a in pos:
        for b in pos:
            if a != b and pos[a][0] == pos[b][0]:
                assert abs(pos[a][1] - pos[b][1]) >= NODE_HEIGHT


def test_energy_heads_on_opposite_sides_of_the_trunk():
    p = load(example_path("energy"))
    pos = auto_layout(p)
    axis = centre_x(pos, "trunk_1")
    assert centre_x(pos, "features") == centre_x(pos, "trunk_2") == axis
    heating, cooling = ("heating_hidden", "heating"), ("cooling_hidden", "cooling")
    # heating_load is the first task: its head goes left.
    assert p.tasks[0].output == "heating"
    assert all(centre_x(pos, n) < axis for n in heating)
    assert all(centre_x(pos, n) > axis for n in cooling)


def test_heads_of_different_tasks_do_not_interleave_and_keep_task_order():
    p = multi_head_project(tasks=4, depth=3)
    pos = auto_layout(p)
    roles = p.roles()
    rows: dict[float, list[str]] = {}
    for n, (_x, y) in sorted(pos.items(), key=lambda item: item[1][0]):
        rows.setdefault(y, []).append(n)
    for row in rows.values():
        tasks = [roles[n].tasks[0] for n in row if roles[n].kind == "head"]
        runs = [t for i, t in enumerate(tasks) if i == 0 or tasks[i - 1] != t]
        assert runs == sorted(set(tasks)), row  # one run per task, in task order


def test_a_head_keeps_its_side_where_the_trunk_is_absent():
    p = multi_head_project(tasks=2, depth=3)
    pos = auto_layout(p)
    axis = centre_x(pos, "trunk")
    assert all(centre_x(pos, f"h0_{d}") < axis < centre_x(pos, f"h1_{d}") for d in range(3))


def test_barycenter_sweeps_remove_a_crossing():
    # x feeds a and b; a's child is added to the file before b's child.
    p = Project()
    node(p, "x", "Input")
    for n in ("a", "b", "b_child", "a_child"):
        node(p, n, "Dense")
    chain(p, "x", "a", "a_child")
    chain(p, "x", "b", "b_child")
    pos = auto_layout(p)
    a_left = pos["a"][0] < pos["b"][0]
    assert (pos["a_child"][0] < pos["b_child"][0]) == a_left


def test_layers_follow_the_longest_path():
    p = Project()
    node(p, "x", "Input")
    for n in ("d1", "d2", "d3"):
        node(p, n, "Dense")
    node(p, "cat", "Concatenate")
    chain(p, "x", "d1", "d2", "d3", "cat")
    chain(p, "x", "cat")
    pos = auto_layout(p)
    assert pos["cat"][1] - pos["x"][1] == 4 * 130.0


def test_cycles_and_unreachable_nodes_still_get_a_place():
    p = two_task_project()
    # Behind the checks, as a hand-edited file can hold them.
    p.graph.insert_edge(Edge("head_a", "shared", 1))
    p.graph.insert_edge(Edge("out_b", "out_b", 1))
    p.graph.insert_edge(Edge("out_a", "x", 0))
    node(p, "loose", "Dense")
    chain(p, "loose", node(p, "loose_out", "Output"))
    pos = auto_layout(p)
    assert set(pos) == set(p.nodes)
    assert_no_overlap(pos)
    assert pos["loose_out"][1] > pos["loose"][1]


def test_keeps_the_top_left_corner_and_handles_trivial_projects():
    p = load(example_path("energy"))
    pos = auto_layout(p)
    assert min(x for x, _ in pos.values()) == min(n.x for n in p.nodes.values())
    assert min(y for _, y in pos.values()) == min(n.y for n in p.nodes.values())
    assert auto_layout(Project()) == {}
    lone = Project()
    node(lone, "x", "Input")
    lone.move_node("x", 7, 9)
    assert auto_layout(lone) == {"x": (7.0, 9.0)}
    with pytest.raises(ValueError, match="direction"):
        auto_layout(p, direction="up")


def test_layout_command_is_one_undo_step_and_moves_only_what_changes():
    p = load(example_path("energy"))
    stack = UndoStack(p)
    before = p.copy()
    command = layout_command(p)
    assert command.text == "Auto layout"
    stack.push(command)
    assert {n: (p.node(n).x, p.node(n).y) for n in p.nodes} == auto_layout(before)
    assert layout_command(p).positions == {}  # laid out already
    laid_out = p.copy()
    p.move_node("heating", p.node("heating").x + 5, p.node("heating").y + 5)
    assert list(layout_command(p).positions) == ["heating"]
    p.move_node("heating", laid_out.node("heating").x, laid_out.node("heating").y)
    stack.undo()
    assert p == before
    assert not stack.can_undo
