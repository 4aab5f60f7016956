import pytest

from mtl_studio.core import commands as c
from mtl_studio.core.graph import Edge, GraphError, Node
from mtl_studio.core.settings import DataSource, OptimizerSpec
from mtl_studio.core.tasks import Task
from tests.helpers import two_task_project


def do_undo_redo(command):
    """Push, undo and redo a command; assert undo restores the project exactly
    and redo gives the same result as the first do."""
    p = two_task_project()
    stack = c.UndoStack(p)
    before = p.copy()
    stack.push(command)
    after = p.copy()
    assert after != before
    stack.undo()
    assert p == before
    stack.redo()
    assert p == after
    return p


@pytest.mark.parametrize("make", [
    lambda: c.AddNode(Node("extra", "Dense", "extra", {"units": 4}, 10, 20)),
    lambda: c.RemoveNodes(["shared"]),
    lambda: c.RemoveNodes(["out_a", "head_a"]),
    lambda: c.Connect(Edge("head_a", "out_b", 0)),
    lambda: c.Disconnect(Edge("shared", "out_b")),
    lambda: c.SetParam("shared", "units", 64),
    lambda: c.RenameNode("shared", "trunk"),
    lambda: c.MoveNodes({"shared": (100, 200), "x": (5, 5)}),
    lambda: c.AddTask(Task("c", loss="mae"), 0),
    lambda: c.RemoveTask("a"),
    lambda: c.SetTaskField("a", "name", "renamed"),
    lambda: c.SetTaskField("a", "loss", "huber"),
    lambda: c.SetTaskField("a", "weight", 0.5),
    lambda: c.SetTaskField("b", "optimizer", OptimizerSpec("sgd", 0.1)),
    lambda: c.SetTraining("mode", "alternating"),
    lambda: c.SetData(DataSource("csv", path="data.csv")),
])
def test_every_command_undoes_and_redoes_exactly(make):
    command = make()
    if isinstance(command, c.Connect):
        # out_b's single input is taken: free it first inside one macro.
        command = c.Macro("Rewire", [c.Disconnect(Edge("shared", "out_b")), command])
    do_undo_redo(command)


def test_removing_a_node_removes_its_edges_and_undo_restores_all():
    p = two_task_project()
    stack = c.UndoStack(p)
    before = p.copy()
    stack.push(c.RemoveNodes(["out_a"]))
    assert "out_a" not in p.nodes
    assert not any("out_a" in (e.source, e.target) for e in p.edges)
    assert p.task("a").output is None  # the task stays, detached
    stack.undo()
    assert p == before
    assert p.edges == before.edges  # same order too


def test_add_task_head_is_one_undo_step():
    p = two_task_project()
    stack = c.UndoStack(p)
    before = p.copy()
    stack.push(c.add_task_head(p, "shared"))
    assert len(p.tasks) == 3 and stack.index == 1
    new = p.tasks[-1]
    head = p.head_nodes(new.name)
    assert [p.node(n).kind for n in head] == ["Dense", "Output"]
    assert p.roles()["shared"].tasks == ("a", "b", new.name)
    stack.undo()
    assert p == before


def test_a_failing_macro_leaves_nothing_half_done():
    p = two_task_project()
    stack = c.UndoStack(p)
    before = p.copy()
    bad = c.Macro("Bad", [c.SetParam("shared", "units", 3), c.Connect(Edge("out_a", "x"))])
    with pytest.raises(GraphError):
        stack.push(bad)
    assert p == before and not stack.can_undo


def test_undo_stack_tracks_the_clean_state():
    p = two_task_project()
    stack = c.UndoStack(p)
    changes = []
    stack.events.connect(lambda e: changes.append(stack.is_clean))
    assert stack.is_clean
    stack.push(c.SetParam("shared", "units", 2))
    stack.set_clean()
    stack.push(c.SetParam("shared", "units", 3))
    assert not stack.is_clean and stack.undo_text == "Set units"
    stack.undo()
    assert stack.is_clean and stack.redo_text == "Set units"
    stack.undo()
    stack.push(c.SetParam("shared", "units", 9))  # the clean state is gone for good
    assert not stack.is_clean
    stack.undo()
    stack.redo()
    assert not stack.is_clean
    assert changes  # views were told each time


def test_move_of_many_nodes_is_one_step():
    p = two_task_project()
    stack = c.UndoStack(p)
    stack.push(c.MoveNodes({n: (1.0, 2.0) for n in p.nodes}))
    assert stack.index == 1 and all((n.x, n.y) == (1.0, 2.0) for n in p.nodes.values())
    stack.undo()
    assert all((n.x, n.y) == (0.0, 0.0) for n in p.nodes.values())


def test_renaming_a_task_undoes_by_its_new_name():
    p = two_task_project()
    stack = c.UndoStack(p)
    stack.push(c.SetTaskField("a", "name", "alpha"))
    stack.push(c.SetTaskField("alpha", "weight", 3.0))
    stack.undo()
    stack.undo()
    assert p.task("a").weight == 1.0


@pytest.mark.parametrize("watched", ["a:loss", "a:mae"])
def test_removing_the_monitored_task_hands_the_best_epoch_to_the_total_in_one_step(watched):
    p = two_task_project()
    p.set_task_field("a", "metrics", ["mae"])
    p.set_training("monitor", watched)
    stack = c.UndoStack(p)
    before = p.copy()
    stack.push(c.RemoveTask("a"))
    assert p.training.monitor == "total" and stack.index == 1
    stack.undo()
    assert p == before and p.training.monitor == watched
    stack.redo()
    assert p.training.monitor == "total"


def test_removing_another_task_keeps_the_monitor():
    p = two_task_project()
    p.set_training("monitor", "b:accuracy")
    stack = c.UndoStack(p)
    stack.push(c.RemoveTask("a"))
    assert p.training.monitor == "b:accuracy"
    stack.undo()
    assert p.training.monitor == "b:accuracy"
