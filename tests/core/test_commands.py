import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize(
    "make",
    [
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
    ],
)
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


# --- merging edits of one field, and the limit (issue 13) ----------------------------


class Clock:
    """A clock the stack reads; tests move it by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 0.1) -> None:
        self.now += seconds


def stack_with_clock(project, **kwargs):
    """An undo stack whose clock (stack.clock) stands still until ticked."""
    return c.UndoStack(project, clock=Clock(), **kwargs)


def test_five_batch_size_changes_in_a_row_are_one_step():
    p = two_task_project()
    stack = stack_with_clock(p)
    clock = stack.clock
    before = p.copy()
    first = p.training.batch_size
    for value in range(first + 1, first + 6):
        clock.tick()
        stack.push(c.SetTraining("batch_size", value))
    assert stack.index == 1 and stack.undo_text == "Set batch size"
    assert p.training.batch_size == first + 5
    stack.undo()
    assert p == before and not stack.can_undo
    stack.redo()
    assert p.training.batch_size == first + 5 and not stack.can_redo


def test_another_field_in_between_breaks_the_merge():
    p = two_task_project()
    stack = stack_with_clock(p)
    stack.push(c.SetTraining("batch_size", 40))
    stack.push(c.SetTraining("batch_size", 41))
    stack.push(c.SetTraining("epochs", 7))
    stack.push(c.SetTraining("batch_size", 42))
    assert stack.index == 3
    stack.undo()
    assert p.training.batch_size == 41 and p.training.epochs == 7
    stack.undo()
    stack.undo()
    assert p == two_task_project()


def test_parameters_and_task_fields_merge_per_node_and_per_task():
    p = two_task_project()
    stack = stack_with_clock(p)
    for units in (17, 18, 19):
        stack.push(c.SetParam("shared", "units", units))
    stack.push(c.SetParam("head_a", "units", 9))  # another node
    stack.push(c.SetParam("head_a", "use_bias", False))  # another parameter
    for weight in (0.5, 0.6):
        stack.push(c.SetTaskField("a", "weight", weight))
    stack.push(c.SetTaskField("b", "weight", 2.0))  # another task
    assert stack.index == 5
    stack.undo()
    stack.undo()
    assert p.task("a").weight == 1.0 and p.node("head_a").params["use_bias"] is False
    stack.undo()
    stack.undo()
    assert p.node("shared").params["units"] == 19
    stack.undo()
    assert p == two_task_project()


def test_renames_of_a_task_and_other_commands_never_merge():
    p = two_task_project()
    stack = stack_with_clock(p)
    stack.push(c.SetTaskField("a", "name", "alpha"))
    stack.push(c.SetTaskField("alpha", "name", "beta"))
    stack.push(c.MoveNodes({"x": (1, 1)}))
    stack.push(c.MoveNodes({"x": (2, 2)}))
    assert stack.index == 4


def test_a_pause_longer_than_the_window_starts_a_new_step():
    p = two_task_project()
    stack = stack_with_clock(p, merge_window=1.5)
    clock = stack.clock
    stack.push(c.SetTraining("epochs", 3))
    for value in range(4, 20):  # held down for 1.6 s: the window slides
        clock.tick(0.1)
        stack.push(c.SetTraining("epochs", value))
    assert stack.index == 1
    clock.tick(1.6)
    stack.push(c.SetTraining("epochs", 30))
    assert stack.index == 2
    stack.undo()
    assert p.training.epochs == 19


def test_a_merge_never_crosses_a_save_point():
    p = two_task_project()
    stack = stack_with_clock(p)
    stack.push(c.SetTraining("batch_size", 40))
    stack.push(c.SetTraining("batch_size", 41))
    stack.set_clean()
    stack.push(c.SetTraining("batch_size", 42))
    stack.push(c.SetTraining("batch_size", 43))
    assert stack.index == 2 and not stack.is_clean
    stack.undo()
    assert stack.is_clean and p.training.batch_size == 41
    stack.redo()
    assert not stack.is_clean and p.training.batch_size == 43
    # Saved right after the first step: the next edit is a step of its own,
    # and undoing it gives the saved project back.
    fresh = two_task_project()
    stack = stack_with_clock(fresh)
    stack.set_clean()
    stack.push(c.SetTraining("epochs", 5))
    stack.set_clean()
    stack.push(c.SetTraining("epochs", 6))
    stack.undo()
    assert stack.is_clean and fresh.training.epochs == 5


def test_no_merge_after_an_undo_or_a_redo():
    p = two_task_project()
    stack = stack_with_clock(p)
    stack.push(c.SetTraining("batch_size", 40))
    stack.push(c.SetTraining("epochs", 7))
    stack.undo()  # back to batch size 40; epochs 7 waits in the redo
    stack.push(c.SetTraining("batch_size", 41))  # must not fold into "40"
    assert stack.index == 2 and not stack.can_redo
    stack.undo()
    assert p.training.batch_size == 40
    stack.redo()
    stack.push(c.SetTraining("batch_size", 42))  # nor into a redone step
    assert stack.index == 3
    stack.undo()
    assert p.training.batch_size == 41


def test_a_merged_step_that_puts_the_value_back_is_dropped():
    p = two_task_project()
    stack = stack_with_clock(p)
    clock = stack.clock
    stack.push(c.SetTraining("seed", 5))
    stack.set_clean()
    first = p.training.batch_size
    for value in (first + 1, first + 2, first + 1, first):  # up twice, down twice
        stack.push(c.SetTraining("batch_size", value))
    assert stack.index == 1 and stack.is_clean and stack.undo_text == "Set seed"
    stack.push(c.SetTraining("batch_size", first + 1))  # a new step after that
    assert stack.index == 2 and not stack.is_clean
    stack.undo()
    assert p.training.batch_size == first and stack.is_clean
    # After a dropped step, the next edit is a step of its own, even within
    # the window: it never folds into an older step of the same field.
    stack.push(c.SetTraining("epochs", 3))
    clock.tick(2.0)
    stack.push(c.SetTraining("epochs", 4))
    stack.push(c.SetTraining("epochs", 3))  # dropped
    stack.push(c.SetTraining("epochs", 2))
    assert stack.index == 3
    stack.undo()
    assert p.training.epochs == 3


def test_a_refused_edit_leaves_the_merge_alone():
    p = two_task_project()
    stack = stack_with_clock(p)
    stack.push(c.SetTraining("batch_size", 40))
    with pytest.raises((ValueError, KeyError)):
        stack.push(c.SetTraining("batch_size", 0))
    stack.push(c.SetTraining("batch_size", 41))
    assert stack.index == 1 and p.training.batch_size == 41
    stack.undo()
    assert p == two_task_project()


def test_the_limit_drops_the_oldest_steps():
    p = two_task_project()
    stack = stack_with_clock(p, limit=3)
    for epochs in (2, 3, 4, 5, 6):
        stack.push(c.SetTraining("epochs", epochs))
        stack.push(c.SetTraining("seed", epochs))  # breaks the merge
    assert stack.index == 3
    while stack.can_undo:
        stack.undo()
    assert (p.training.epochs, p.training.seed) == (5, 4)  # before the last 3 steps
    assert c.UndoStack(two_task_project()).limit == 500


def test_the_clean_index_follows_the_limit():
    p = two_task_project()
    stack = stack_with_clock(p, limit=3)
    stack.push(c.SetTraining("epochs", 2))
    stack.set_clean()
    stack.push(c.SetTraining("seed", 1))
    stack.push(c.SetTraining("epochs", 3))
    stack.push(c.SetTraining("seed", 2))  # drops the first step; saved state at 0 now
    stack.undo()
    stack.undo()
    stack.undo()
    assert stack.is_clean and p.training.epochs == 2 and p.training.seed != 1
    stack.redo()
    stack.redo()
    stack.redo()
    stack.push(c.SetTraining("epochs", 4))  # the saved state goes with the oldest step
    assert not stack.is_clean
    while stack.can_undo:
        stack.undo()
        assert not stack.is_clean
    while stack.can_redo:
        stack.redo()
        assert not stack.is_clean
    stack.set_clean()
    assert stack.is_clean


# A property: whatever the order of mergeable pushes, undos, redos, saves and
# pauses, each index of the stack stands for one project state, undoing all
# returns the first project and redoing all the last one; a merge happens
# only right after a push of the same thing within the window, and the
# clean mark follows a model of the saved index.

_EDITS = st.one_of(
    st.builds(lambda v: c.SetTraining("batch_size", v), st.integers(1, 6)),
    st.builds(lambda v: c.SetTraining("epochs", v), st.integers(1, 6)),
    st.builds(lambda v: c.SetParam("shared", "units", v), st.integers(1, 6)),
    st.builds(lambda v: c.SetTaskField("a", "weight", float(v)), st.integers(0, 6)),
    st.builds(lambda v: c.SetTaskField("b", "weight", float(v)), st.integers(0, 6)),
)
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("push"), _EDITS),
        st.tuples(st.just("push"), _EDITS),  # pushes twice as often as the rest
        st.tuples(st.just("undo"), st.none()),
        st.tuples(st.just("redo"), st.none()),
        st.tuples(st.just("save"), st.none()),
        st.tuples(st.just("wait"), st.sampled_from([0.5, 2.0])),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS, limit=st.sampled_from([None, 3, 500]))
def test_any_sequence_of_mergeable_edits_undoes_and_redoes_exactly(steps, limit):
    p = two_task_project()
    stack = stack_with_clock(p, limit=limit)
    clock = stack.clock
    states = [p.copy()]  # states[i]: the project after the stack's first i steps
    saved_index = 0  # the model's clean index (None: the saved state is gone)
    last_key, last_time = None, None  # the previous operation, if it was a push
    for kind, arg in steps:
        if kind == "push":
            index = stack.index
            stack.push(arg)
            assert not stack.can_redo
            if stack.can_undo and stack._done[-1] is arg:  # a new step: the redo is gone
                states = states[: index + 1]
                if saved_index is not None and saved_index > index:
                    saved_index = None
                if stack.index == index:  # the limit dropped the oldest step
                    assert index == limit
                    del states[0]
                    if saved_index is not None:
                        saved_index = saved_index - 1 if saved_index > 0 else None
            else:  # merged into the top step
                assert last_key == arg.merge_key() and clock() - last_time <= 1.5
                assert saved_index != index
                states = states[:index]
                if stack.index == index - 1:  # back where the step began: dropped
                    assert p == states[-1]
                    last_key = None
                    continue
                assert stack.index == index
            states.append(p.copy())
            last_key, last_time = arg.merge_key(), clock()
            continue
        if kind == "undo":
            stack.undo()
        elif kind == "redo":
            stack.redo()
        elif kind == "save":
            stack.set_clean()
            saved_index = stack.index
        else:
            clock.tick(arg)
        if kind != "wait":
            last_key = None
        assert p == states[stack.index]
        assert stack.is_clean == (saved_index == stack.index)
    while stack.can_undo:
        stack.undo()
        assert p == states[stack.index]
        assert stack.is_clean == (saved_index == stack.index)
    assert p == states[0]
    if limit != 3:  # 40 steps never reach a limit of 500
        assert p == two_task_project()
    while stack.can_redo:
        stack.redo()
        assert p == states[stack.index]
    assert p == states[-1] and stack.index == len(states) - 1  # the last state
