import pytest

from mtl_studio.core.fileformat import load
from mtl_studio.core.graph import Edge
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import (
    ERROR,
    WARNING,
    Place,
    Problem,
    errors,
    infer_shapes,
    validate,
)
from mtl_studio.examples import examples
from tests.helpers import chain, cnn_without_flatten, node, two_task_project


def messages(project, severity=None):
    return [
        (p.place.kind, p.place.id, p.message)
        for p in validate(project)
        if severity is None or p.severity == severity
    ]


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


def many_problems() -> Project:
    p = two_task_project()
    node(p, "loose", "Input", shape=[3])  # not connected
    node(p, "dangling", "Dense")  # reaches no output
    chain(p, "shared", "dangling")
    node(p, "orphan", "Output")  # belongs to no task
    chain(p, "shared", "orphan")
    p.graph.insert_edge(Edge("out_a", "shared", 1))  # a cycle, as a file could hold
    p.tasks.append(Task("a", "out_b"))  # two tasks with one name
    return p


def test_all_problems_are_reported_at_once_with_places():
    p = many_problems()
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
    assert {q.place.id for q in validate(p) if "cycle" in q.message} == {
        "shared",
        "head_a",
        "out_a",
    }


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
    # Shown as place, then message: the node is named once.
    assert str(problem) == (
        "error: Dense 'fc1': needs a flat vector but gets (8, 8, 16): put "
        "a Flatten (or a global pooling layer) before it"
    )
    assert problem.place.id == "fc1"
    # Downstream nodes are not blamed for the upstream mistake.
    assert [q for q in validate(p) if q.place.id == "out"] == []


def test_parameter_out_of_range():
    p = two_task_project()
    p.node("shared").params["units"] = -4  # as a script could do, behind the checks
    assert (
        "parameter units: expected a positive integer, got -4" in find(p, "parameter units").message
    )


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


# --- token ids: an Input that feeds an Embedding --------------------------------------


def token_project(dtype: str) -> Project:
    """tokens (12 ids) -> emb -> pool -> out (one task)."""
    p = Project("tokens")
    node(p, "tokens", "Input", shape=[12], dtype=dtype)
    node(p, "emb", "Embedding", input_dim=50, output_dim=8)
    node(p, "pool", "GlobalAveragePooling1D")
    node(p, "out", "Output", units=1)
    chain(p, "tokens", "emb", "pool", "out")
    p.add_task(Task("a", "out"))
    return p


TOKEN_IDS = (
    "has dtype float32 but feeds Embedding 'emb' (float inputs are standardised "
    "by default): set its dtype to int32: an Embedding takes whole-number token ids"
)


def test_a_float_input_that_feeds_an_embedding_is_an_error_at_the_input():
    """Data preparation standardises float inputs, so the Embedding would
    see -1, 0 and 1 instead of the token ids; int32 inputs are left alone."""
    problems = validate(token_project("float32"))
    assert problems == [Problem(ERROR, Place("node", "tokens", "Input 'tokens'"), TOKEN_IDS)]
    assert str(problems[0]) == f"error: Input 'tokens': {TOKEN_IDS}"


def test_an_int32_input_that_feeds_an_embedding_is_valid():
    assert validate(token_project("int32")) == []


def test_a_float_input_that_feeds_a_dense_and_an_embedding_is_an_error():
    p = token_project("float32")
    node(p, "dense", "Dense", units=4)
    node(p, "cat", "Concatenate")
    node(p, "flat", "Flatten")
    chain(p, "emb", "flat", "cat")
    chain(p, "tokens", "dense", "cat")
    node(p, "out2", "Output", units=1)
    chain(p, "cat", "out2")
    p.add_task(Task("b", "out2"))
    assert [q for q in errors(validate(p))] == [
        Problem(ERROR, Place("node", "tokens", "Input 'tokens'"), TOKEN_IDS)
    ]
    p.node("tokens").params["dtype"] = "int32"
    assert errors(validate(p)) == []


def test_a_float_input_that_feeds_only_dense_layers_is_valid():
    """Only a direct Embedding asks for token ids: after a Dense the values
    are floats anyway."""
    p = token_project("float32")
    p.disconnect(Edge("tokens", "emb"))
    node(p, "dense", "Dense", units=4)
    chain(p, "tokens", "dense", "emb")
    assert not [q for q in validate(p) if "token ids" in q.message]


# --- texts (issue 11, item 11) --------------------------------------------------------


def test_a_problem_names_its_node_or_task_once():
    """The Problems list and `mtl-studio validate` show the place, then the
    message: a message does not name its own place again."""
    p = many_problems()
    node(p, "cat", "Concatenate")
    chain(p, "dangling", "cat")
    node(p, "lonely", "Dense")
    p.tasks.append(Task("c"))
    p.tasks.append(Task("d", "out_a"))
    p.tasks.append(Task("e", "shared"))
    p.set_task_field("b", "loss", "categorical_crossentropy")
    p.tasks[1].data = DataSource("generator", "tutorial_uniform")  # joint mode: an error
    found = validate(p) + validate(cnn_without_flatten())
    places = {q.place for q in found if q.place.kind in ("node", "task")}
    assert len(places) >= 10
    for problem in found:
        assert problem.place.label not in problem.message, str(problem)
    shown = {str(q) for q in found}
    assert "error: Input 'loose': is not connected: connect it to a layer or delete it" in shown
    assert "error: Dense 'lonely': has no input: connect a layer into it" in shown
    assert "error: task 'c': has no Output node: choose one in the Tasks panel" in shown


def test_units_are_counted_in_singular_and_plural():
    p = two_task_project()
    p.set_task_field("a", "loss", "categorical_crossentropy")
    message = find(p, "needs one output unit per class").message
    assert "Output 'out_a' has 1 unit:" in message and "1 units" not in message


# --- no data (issue 11, item 4) -------------------------------------------------------

NO_DATA = "no data is chosen: choose a file or a generator in the Data panel"


def test_a_project_without_data_cannot_train():
    p = two_task_project()  # its data source is a new project's: nothing chosen
    assert not p.data.chosen
    assert Problem(ERROR, Place("data", "", "data"), NO_DATA) in validate(p, {})
    # The design alone (what building a model needs) does not ask for data.
    assert validate(p) == []
    p.data = DataSource("generator", "tutorial_uniform")
    assert validate(p, {}) == []


def test_a_new_project_has_no_data_too():
    assert Problem(ERROR, Place("data", "", "data"), NO_DATA) in validate(Project(), {})


def test_a_task_with_its_own_data_has_data():
    p = two_task_project()
    p.training.mode = "alternating"
    p.tasks[1].data = DataSource("generator", "tutorial_uniform")
    # Task a still learns from the project's data, of which there is none.
    assert [q.place for q in errors(validate(p, {}))] == [Place("data", "", "data")]
    p.tasks[0].data = DataSource("csv", path="")
    assert errors(validate(p, {})) == [
        Problem(
            ERROR,
            Place("data", "a", "data of task 'a'"),
            "no CSV file is chosen: choose one in the Data panel",
        )
    ]
    p.tasks[0].data = DataSource("generator", "correlated_regression")
    assert errors(validate(p, {})) == []


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_example_has_data(name):
    assert validate(load(examples()[name]), {}) == []


# --- the best epoch, early stopping and the held-out shares ---------------------------

TRAINING = Place("training", "", "training settings")


def test_a_monitor_of_a_task_the_project_does_not_have_is_an_error():
    p = two_task_project()
    p.set_training("monitor", "x:loss")
    assert errors(validate(p)) == [
        Problem(
            ERROR,
            TRAINING,
            (
                "the best epoch is chosen by task 'x', which the project does not have: choose "
                "another quantity for 'Best epoch by' in the Training panel"
            ),
        )
    ]
    p.set_training("monitor", "a:loss")
    assert validate(p) == []


def test_a_monitor_of_a_metric_the_task_does_not_compute_is_an_error():
    p = two_task_project()
    p.set_training("monitor", "b:accuracy")
    assert validate(p) == []  # task b computes accuracy
    p.set_task_field("b", "metrics", [])
    assert errors(validate(p)) == [
        Problem(
            ERROR,
            TRAINING,
            (
                "the best epoch is chosen by the validation accuracy of task 'b', which the task does "
                "not compute: add accuracy to the metrics of task 'b' in the Tasks panel, or choose "
                "another quantity for 'Best epoch by' in the Training panel"
            ),
        )
    ]
    p.set_training("monitor", "b:loss")  # every task computes its loss
    assert validate(p) == []


def test_a_monitor_that_cannot_be_read_is_an_error():
    p = two_task_project()
    p.training.monitor = "heating"  # set_training would refuse it
    assert "not a quantity a run records" in find(p, "'heating'").message


def test_early_stopping_without_validation_rows_is_an_error():
    p = two_task_project()
    p.set_training("early_stopping", True)
    assert validate(p) == []
    p.set_training("validation_split", 0.0)
    assert errors(validate(p)) == [
        Problem(
            ERROR,
            TRAINING,
            (
                "early stopping watches the validation rows, but the validation split is 0: set it "
                "above 0 in the Data panel, or turn early stopping off in the Training panel"
            ),
        )
    ]
    p.set_training("early_stopping", False)
    assert validate(p) == []


@pytest.mark.parametrize("validation, test", [(0.5, 0.5), (0.7, 0.3), (0.9, 0.4), (0.25, 0.75)])
def test_shares_that_leave_no_training_rows_are_an_error(validation, test):
    p = two_task_project()
    p.set_training("validation_split", validation)
    p.set_training("test_split", test)
    [problem] = errors(validate(p))
    assert problem.place == TRAINING
    assert problem.message == (
        f"the validation split ({validation:g}) and the test share ({test:g}) hold out every "
        "row, which leaves none to train on: lower one of them in the Data panel, so that the "
        "two add up to less than 1"
    )


@pytest.mark.parametrize("validation, test", [(0.2, 0.0), (0.2, 0.2), (0.0, 0.5), (0.6, 0.39)])
def test_shares_that_leave_training_rows_are_fine(validation, test):
    p = two_task_project()
    p.set_training("validation_split", validation)
    p.set_training("test_split", test)
    assert validate(p) == []


def test_training_settings_set_from_code_are_checked_as_the_file_checks_them():
    from mtl_studio.core.fileformat import ProjectError, dumps, loads

    p = two_task_project()
    p.training.batch_size = -4  # set from code, past set_training's check
    p.training.validation_split = 1.5
    messages = [x.message for x in validate(p) if x.place.kind == "training"]
    assert "batch size: expected an integer >= 1 and <= 1000000, got -4" in messages
    assert any(m.startswith("validation split: expected a number") for m in messages)
    # What validate refuses is what load() would refuse after save().
    with pytest.raises(ProjectError):
        loads(dumps(p))
