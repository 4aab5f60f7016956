import pytest

from mtl_studio.core.graph import CycleError, Edge, GraphError, PortError
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from tests.helpers import chain, node, two_task_project


def test_roles_are_derived_from_the_graph():
    p = two_task_project()
    roles = p.roles()
    assert roles["x"].kind == "input"
    assert roles["shared"].kind == "shared" and set(roles["shared"].tasks) == {"a", "b"}
    assert roles["head_a"].kind == "head" and roles["head_a"].tasks == ("a",)
    assert p.shared_nodes() == ["shared"]
    assert p.head_nodes("a") == ["head_a", "out_a"]
    assert p.head_nodes("b") == ["out_b"]


def test_roles_follow_edits():
    p = two_task_project()
    p.disconnect(Edge("shared", "out_b"))
    p.connect(Edge("head_a", "out_b"))  # now b hangs below a's head
    assert p.roles()["head_a"].kind == "shared"
    p.add_node(p.node("x").__class__("lonely", "Dense", "lonely"))
    assert p.roles()["lonely"].kind == "unused"


def test_connect_refuses_a_cycle():
    p = two_task_project()
    with pytest.raises(CycleError, match="would make a cycle"):
        p.connect(Edge("out_a", "shared", 0))
    with pytest.raises(CycleError):
        p.connect(Edge("shared", "shared"))


def test_connect_refuses_a_second_edge_into_a_single_input():
    p = two_task_project()
    node(p, "other", "Input", shape=[10])
    with pytest.raises(PortError, match="already has an input"):
        p.connect(Edge("other", "shared", 0))
    with pytest.raises(PortError, match="no input port 1"):
        p.connect(Edge("other", "shared", 1))
    with pytest.raises(PortError, match="takes no inputs"):
        p.connect(Edge("shared", "other"))


def test_merge_nodes_take_many_inputs_in_port_order():
    p = Project()
    for name in ("a", "b", "c"):
        node(p, name, "Input", shape=[2])
    node(p, "cat", "Concatenate")
    p.connect(Edge("b", "cat", 1))
    p.connect(Edge("a", "cat", 0))
    assert p.graph.free_port("cat") == 2
    p.connect(Edge("c", "cat", 2))
    assert p.graph.predecessors("cat") == ["a", "b", "c"]
    with pytest.raises(GraphError, match="already feeds"):
        p.connect(Edge("a", "cat", 3))


def test_topological_order_and_cycles():
    p = Project()
    node(p, "x", "Input", shape=[4])
    node(p, "d1", "Dense")
    node(p, "d2", "Dense")
    node(p, "d3", "Dense")
    chain(p, "x", "d1")
    # A cycle can only come from a file; build it behind the rules' back.
    p.graph.insert_edge(Edge("d2", "d3"))
    p.graph.insert_edge(Edge("d3", "d2"))
    order, leftover = p.graph.topological_order()
    assert order.index("x") < order.index("d1")
    assert leftover == {"d2", "d3"}
    assert p.graph.cycle_nodes() == {"d2", "d3"}


def test_edits_emit_events():
    p = two_task_project()
    seen = []
    p.events.connect(lambda e: seen.append(e.type))
    p.set_param("shared", "units", 12)
    p.rename_node("shared", "trunk")
    p.move_node("shared", 5, 6)
    p.set_task_field("a", "weight", 2.0)
    p.set_training("epochs", 3)
    assert seen == [
        "node_changed",
        "node_changed",
        "node_moved",
        "task_changed",
        "training_changed",
    ]


def test_edits_refuse_bad_values_and_change_nothing():
    p = two_task_project()
    before = p.copy()
    with pytest.raises(ValueError, match="positive integer"):
        p.set_param("shared", "units", 0)
    with pytest.raises(ValueError, match="already exists"):
        p.rename_node("shared", "head_a")
    with pytest.raises(ValueError, match="valid identifier"):
        p.set_task_field("a", "name", "2fast")
    with pytest.raises(ValueError, match="already exists"):
        p.set_task_field("a", "name", "b")
    with pytest.raises(ValueError, match="already belongs"):
        p.set_task_field("a", "output", "out_b")
    with pytest.raises(ValueError, match="expected one of"):
        p.set_task_field("a", "loss", "hinge")
    with pytest.raises(ValueError):
        p.set_training("batch_size", 0)
    with pytest.raises(ValueError):
        p.add_task(Task("a"))
    assert p == before


def test_copy_is_deep_and_has_no_listeners():
    p = two_task_project()
    p.events.connect(lambda e: None)
    q = p.copy()
    assert q == p and q.events.listener_count == 0
    q.set_param("shared", "units", 3)
    assert p.node("shared").params["units"] == 16
