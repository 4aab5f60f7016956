import pytest

from mtl_studio.core.fileformat import load
from mtl_studio.core.graph import Edge
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import ERROR, WARNING, errors, infer_shapes, validate
from mtl_studio.examples import examples
from tests.helpers import chain, cnn_without_flatten, node, two_task_project


def messages(project, severity=None):
    return [(p.place.kind, p.place.id, p.message) for p in validate(project)
            if severity is None or p.severity == severity]


def find(project, words, severity=ERROR):
    found = [p for p in validate(project) if words in p.message and p.severity == severity]
    assert found, f"no {severity} with {words!r} in {messages(project)}"
    return found[0]


def test_a_good_project_has_no_problems():
    assert validate(two_task_project()) == []


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_example_is_valid(name):
    assert validate(load(examples()[name])) == []


def test_shapes_are_inferred_for_every_node():
    shapes, problems = infer_shapes(two_task_project())
    assert problems == []
    assert shapes == {"x": (10,), "shared": (16,), "head_a": (8,), "out_a": (1,), "out_b": (3,)}


def test_all_problems_are_reported_at_once_with_places():
    p = two_task_project()
    node(p, "loose", "Input", shape=[3])  # not connected
    node(p, "dangling", "Dense")  # reaches no output
    chain(p, "shared", "dangling")
    node(p, "orphan", "Output")  # belongs to no task
    chain(p, "shared", "orphan")
    p.graph.insert_edge(Edge("out_a", "shared", 1))  # a cycle, as a file could hold
    p.tasks.append(Task("a", "out_b"))  # two tasks with one name
    found = messages(p)
    kinds = {(kind, place) for kind, place, _ in found}
    assert ("node", "loose") in kinds
    assert ("node", "dangling") in kinds
    assert ("node", "orphan") in kinds
    assert ("node", "shared") in kinds  # on the cycle
    assert ("task", "a") in kinds
    assert len(errors(validate(p))) >= 5


def test_cycle():
    p = two_task_project()
    p.graph.insert_edge(Edge("out_a", "shared", 1))
    problem = find(p, "is on a cycle")
    assert problem.place.kind == "node"
    assert {q.place.id for q in validate(p) if "cycle" in q.message} == {"shared", "head_a", "out_a"}


def test_node_that_reaches_no_output():
    p = two_task_project()
    node(p, "spare", "Dense")
    chain(p, "shared", "spare")
    problem = find(p, "reaches no task output", WARNING)
    assert problem.place.id == "spare"


def test_input_not_connected():
    p = two_task_project()
    node(p, "loose", "Input", shape=[3])
    assert find(p, "is not connected").place.id == "loose"


def test_layer_without_input():
    p = two_task_project()
    p.disconnect(Edge("x", "shared"))
    assert find(p, "has no input: connect a layer into it").place.id == "shared"


def test_merge_with_one_input():
    p = two_task_project()
    node(p, "cat", "Concatenate")
    chain(p, "shared", "cat")
    assert "needs at least 2 inputs but has 1" in find(p, "needs at least 2").message


def test_output_with_no_task():
    p = two_task_project()
    p.remove_task("b")
    assert find(p, "belongs to no task").place.id == "out_b"


def test_task_with_no_output():
    p = two_task_project()
    p.set_task_field("a", "output", None)
    assert find(p, "has no Output node").place.id == "a"


def test_two_tasks_with_one_name():
    p = two_task_project()
    p.tasks.append(Task("a"))
    assert find(p, "two tasks are named 'a'").place.kind == "task"


def test_no_tasks_and_no_inputs():
    assert {m for _, _, m in messages(Project())} >= {
        "the project has no Input node: add one",
        "the project has no tasks: add an Output node and a task for it",
    }


def test_shape_mismatch_names_the_node_and_the_fix():
    p = cnn_without_flatten()
    problem = find(p, "needs a flat vector")
    assert problem.message.startswith(
        "Dense 'fc1' needs a flat vector but gets (8, 8, 16): put a Flatten")
    assert problem.place.id == "fc1"
    # Downstream nodes are not blamed for the upstream mistake.
    assert [q for q in validate(p) if q.place.id == "out"] == []


def test_parameter_out_of_range():
    p = two_task_project()
    p.node("shared").params["units"] = -4  # as a script could do, behind the checks
    assert "parameter units: expected a positive integer, got -4" in \
        find(p, "parameter units").message


def test_loss_that_does_not_fit_the_output():
    p = two_task_project()
    p.set_task_field("a", "loss", "categorical_crossentropy")
    problem = find(p, "needs one output unit per class")
    assert problem.place.id == "a"
    assert "Output 'out_a' has 1" in problem.message
    assert find(p, "set it to softmax", WARNING)


def test_loss_activation_warnings():
    p = two_task_project()
    p.set_task_field("b", "loss", "mse")
    assert find(p, "is a regression loss", WARNING)
    assert find(p, "metric accuracy is for classification", WARNING)
    p.set_task_field("a", "loss", "binary_crossentropy")
    assert find(p, "set it to sigmoid", WARNING)


def test_warnings_do_not_block():
    p = two_task_project()
    node(p, "spare", "Dense")
    chain(p, "shared", "spare")
    assert validate(p) and not errors(validate(p))
