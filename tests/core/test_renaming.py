"""Renaming a task renames the nodes of its head named after it, in one
undo step (issue 11, item 6)."""

import keyword

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mtl_studio.core.commands import UndoStack, add_task_head
from mtl_studio.core.renaming import rename_task
from mtl_studio.core.tasks import Task
from tests.helpers import chain, node, two_task_project


def with_heads():
    """two_task_project with two heads added on the trunk: task_1 and task_2,
    each task_N_hidden -> task_N_out."""
    p = two_task_project()
    for _ in range(2):
        add_task_head(p, "shared").do(p)
    return p


def names(p):
    return sorted(n.name for n in p.nodes.values())


def test_renaming_a_task_renames_its_head_in_one_undo_step():
    p = with_heads()
    stack = UndoStack(p)
    before = p.copy()
    stack.push(rename_task(p, "task_1", "heating"))
    assert [t.name for t in p.tasks] == ["a", "b", "heating", "task_2"]
    assert {"heating_hidden", "heating_out", "task_2_hidden", "task_2_out"} <= set(names(p))
    assert not any(name.startswith("task_1") for name in names(p))
    assert stack.index == 1 and stack.undo_text == "Rename task"
    stack.undo()
    assert p == before
    stack.redo()
    assert p.node_by_name("heating_out").id == p.task("heating").output


def test_the_shared_trunk_and_other_names_stay():
    p = two_task_project()
    p.rename_node("shared", "a_trunk")  # feeds both tasks: the trunk
    p.rename_node("head_a", "a_hidden")  # a's head, named after it
    p.rename_node("out_a", "output_a")  # a's head, not named after it
    rename_task(p, "a", "alpha").do(p)
    assert names(p) == ["a_trunk", "alpha_hidden", "out_b", "output_a", "x"]


def test_a_taken_name_keeps_the_node_as_it_was_and_says_so():
    p = with_heads()
    node(p, "other", "Dense")
    p.rename_node("other", "heating_hidden")
    command = rename_task(p, "task_1", "heating")
    command.do(p)
    assert p.node_by_name("task_1_hidden") is not None
    assert p.node_by_name("heating_out") is not None
    assert command.kept == [("task_1_hidden", "heating_hidden")]
    assert command.kept_text() == (
        "Node 'task_1_hidden' keeps its name: a node named "
        "'heating_hidden' already exists, rename one of them"
    )


def test_a_refused_task_name_changes_nothing():
    p = with_heads()
    before = p.copy()
    stack = UndoStack(p)
    try:
        stack.push(rename_task(p, "task_1", "9 lives"))
    except ValueError:
        pass
    assert p == before and not stack.can_undo


def test_names_that_make_way_for_each_other():
    """Task "a" to "a_b": node a_b_c must move to a_b_b_c before a_c can
    take a_b_c."""
    p = two_task_project()
    p.rename_node("head_a", "a_c")
    node(p, "deeper", "Dense", units=8)
    p.rename_node("deeper", "a_b_c")
    p.disconnect(next(e for e in p.edges if e.target == "head_a"))
    chain(p, "shared", "deeper", "head_a")
    rename_task(p, "a", "a_b").do(p)
    assert {"a_b_c", "a_b_b_c"} <= set(names(p))


suffixes = st.lists(
    st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True), min_size=1, max_size=5, unique=True
)
# Python keywords ("or", "if") are not task names: check_task_name refuses them.
task_names = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name)
)


@settings(max_examples=150, deadline=None)
@given(old=task_names, new=task_names, head=suffixes, elsewhere=suffixes)
def test_any_rename_is_whole_and_undoes_exactly(old, new, head, elsewhere):
    """A head chain of nodes "<old>_<suffix>", and trunk-side nodes that may
    hold the new names: each head node gets "<new>_<suffix>" unless a node
    outside the renamed ones holds it; undo restores every name."""
    assume("b" not in (old, new) and old != new)
    p = two_task_project()
    p.remove_task("a")
    p.add_task(Task(old, "out_a"))
    chain_ids = []
    for i, suffix in enumerate(head):
        assume(p.node_by_name(f"{old}_{suffix}") is None)
        chain_ids.append(node(p, f"h{i}", "Dense", units=4))
        p.rename_node(f"h{i}", f"{old}_{suffix}")
    for i, name in enumerate(elsewhere):
        if p.node_by_name(f"{new}_{name}") is None:
            node(p, f"e{i}", "Dense", units=4)
            p.rename_node(f"e{i}", f"{new}_{name}")
            chain(p, "shared", f"e{i}")
    p.disconnect(next(e for e in p.edges if e.target == "head_a"))
    chain(p, "shared", *chain_ids, "head_a")
    stack = UndoStack(p)
    before = p.copy()
    others = {n.name for i, n in p.nodes.items() if i not in chain_ids}
    stack.push(rename_task(p, old, new))
    assert p.task(new).output == "out_a"
    for node_id, suffix in zip(chain_ids, head):
        wanted = f"{new}_{suffix}"
        assert p.node(node_id).name == (f"{old}_{suffix}" if wanted in others else wanted)
    assert len({n.name for n in p.nodes.values()}) == len(p.nodes)
    stack.undo()
    assert p == before


def test_the_monitored_task_follows_its_rename_and_undo():
    p = two_task_project()
    p.set_training("monitor", "a:loss")
    stack = UndoStack(p)
    stack.push(rename_task(p, "a", "heating"))
    assert p.training.monitor == "heating:loss"
    stack.undo()
    assert p.training.monitor == "a:loss"
    stack.push(rename_task(p, "b", "cooling"))
    assert p.training.monitor == "a:loss"  # another task's rename leaves it
