"""Hostile project files (issue 17): each input a fuzzing campaign found to
crash, hang or recurse is a fixed case here. Loading either gives a Project
or a ProjectError whose message is one line naming the file and the JSON
place; validation and the summary never raise."""

import json
import os
import time

import pytest

from mtl_studio.core import fileformat as ff
from mtl_studio.core.data_profile import source_key
from mtl_studio.core.datafiles import check_files, fingerprint
from mtl_studio.core.settings import DataSource
from mtl_studio.core.validation import infer_shapes, parameter_count, validate
from mtl_studio.core.wording import MAX_MESSAGE
from tests.helpers import two_task_project

FILE = "hostile.mtl.json"


def project_dict():
    return ff.to_dict(two_task_project())


def refused(data) -> str:
    """The one-line message loads() gives, with the file named first."""
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ff.ProjectError) as err:
        ff.loads(text, FILE)
    message = str(err.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{FILE}: ")
    assert len(message) <= MAX_MESSAGE + 20
    return message[len(FILE) + 2 :]


def node_index(data, kind):
    return next(i for i, n in enumerate(data["nodes"]) if n["kind"] == kind)


# --- numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "place, value",
    [
        ("weight", 10**400),
        ("schedule_weight", 10**400),
        ("weight", float("nan")),
        ("weight", 2e6),
    ],
    ids=["weight-huge", "schedule_weight-huge", "weight-nan", "weight-2e6"],
)
def test_task_numbers_too_large_for_a_float_are_refused(place, value):
    data = project_dict()
    data["tasks"][0][place] = value
    text = json.dumps(data)  # NaN written as text: json.loads reads it back
    assert refused(text).startswith(f"tasks[0].{place}: expected a number in ")
    assert "1000000]" in refused(text)


def test_an_integer_past_pythons_digit_limit_names_its_line():
    text = json.dumps(project_dict(), indent=1).replace('"seed": 0', '"seed": ' + "9" * 5000)
    message = refused(text)
    assert message.startswith("a number has too many digits at line ")


@pytest.mark.parametrize(
    "field, value, wanted",
    [
        ("seed", 2**32, "training.seed: expected an integer >= 0 and <= 2147483647, got 4294967296"),
        ("seed", 10**400, "training.seed: expected an integer >= 0 and <= 2147483647, got an integer of about 401 digits"),
        ("split_seed", 2**31, "training.split_seed: expected an integer >= 0 and <= 2147483647"),
        ("batch_size", 2**31, "training.batch_size: expected an integer >= 1 and <= 1000000"),
        ("epochs", 10**7, "training.epochs: expected an integer >= 1 and <= 1000000"),
        ("affinity_every", 2**40, "training.affinity_every: expected an integer >= 0 and <= 1000000"),
        ("gradnorm_alpha", 10**400, "training.gradnorm_alpha: expected a number >= 0, got an integer"),
        ("min_delta", None, "training.min_delta: expected a number >= 0, got null"),
    ],
)  # fmt: skip
def test_training_numbers_have_a_range_named_in_the_message(field, value, wanted):
    data = project_dict()
    data["training"][field] = value
    assert refused(data).startswith(wanted)


def test_optimizer_numbers_too_large_for_a_float_are_refused():
    data = project_dict()
    data["training"]["optimizer"]["learning_rate"] = 10**400
    assert refused(data).startswith("training.optimizer.learning_rate: expected a number > 0")


@pytest.mark.parametrize(
    "value, wanted",
    [
        (3 * 10**9, "expected an integer in [1, 1000000] (the largest this parameter takes)"),
        (10**400, "expected an integer in [1, 1000000]"),
        ("64", "expected a positive integer, got '64'"),
        (1.5, "expected a positive integer, got 1.5"),
        ([1.5], "expected a positive integer, got [1.5]"),
        (None, "expected a positive integer, got null"),
    ],
)
def test_layer_integers_are_typed_and_bounded(value, wanted):
    data = project_dict()
    i = node_index(data, "Dense")
    data["nodes"][i]["params"]["units"] = value
    assert refused(data) == f"nodes[{i}].params.units: {wanted}" or refused(data).startswith(
        f"nodes[{i}].params.units: {wanted}"
    )


def test_shape_dimensions_are_bounded():
    data = project_dict()
    i = node_index(data, "Input")
    data["nodes"][i]["params"]["shape"] = [2**32]
    assert refused(data).startswith(f"nodes[{i}].params.shape: expected each dimension to be")
    data["nodes"][i]["params"]["shape"] = [2] * 20
    assert refused(data) == f"nodes[{i}].params.shape: expected at most 8 dimensions, got 20"


@pytest.mark.parametrize("coordinate", [float("nan"), float("inf"), 10**400, 1e300])
def test_positions_are_finite_so_save_never_raises(coordinate):
    data = project_dict()
    data["nodes"][0]["position"] = [coordinate, 0]
    assert refused(json.dumps(data)).startswith("nodes[0].position: expected [x, y], each in")


def test_a_loaded_project_saves(tmp_path):
    project = ff.loads(json.dumps(project_dict()), FILE)
    ff.save(project, tmp_path / "again.mtl.json")
    assert ff.load(tmp_path / "again.mtl.json") == project


@pytest.mark.parametrize(
    "params, wanted",
    [
        ({"examples": "64"}, "data.params.examples: expected a positive integer, got '64'"),
        ({"examples": 10**12}, "data.params.examples: expected an integer in [1, 10000000]"),
        ({"seed": 2**32}, "data.params.seed: expected an integer in [0, 2147483647]"),
        ({"high": 10**400}, "data.params.high: expected a number > 0"),
        ({"rows": 5}, "data.params.rows: unknown parameter of generator 'tutorial_uniform'"),
    ],
)
def test_generator_parameters_are_checked_on_load(params, wanted):
    data = project_dict()
    data["data"] = {"kind": "generator", "generator": "tutorial_uniform", "params": params}
    assert refused(data).startswith(wanted)


def test_a_generator_asked_for_more_than_memory_holds_is_refused_with_a_message():
    from mtl_studio.data.errors import DataError
    from mtl_studio.data.generators import generate

    with pytest.raises(DataError, match="more than a generated data set holds"):
        generate("scale_regression", {"examples": 10**7, "input_dim": 10_000})


def test_parameters_of_the_wrong_type_set_in_code_never_break_validation():
    project = two_task_project()
    dense = next(n for n in project.nodes.values() if n.kind == "Dense")
    dense.params["units"] = "64"  # past set_param's check
    inputs = project.input_nodes()[0]
    inputs.params["shape"] = 10.0
    problems = validate(project)
    assert any("parameter units" in p.message for p in problems)
    shapes, _ = infer_shapes(project)
    assert isinstance(sum(parameter_count(project, shapes).values()), int)


# --- names ------------------------------------------------------------------


def test_a_task_name_with_a_trailing_line_break_is_refused():
    data = project_dict()
    data["tasks"][0]["name"] = "t\n"
    message = refused(data)
    assert message.startswith("tasks[0].name: a task name must be a valid identifier")
    assert "got 't\\n'" in message


def test_a_node_name_with_a_trailing_line_break_is_refused():
    data = project_dict()
    data["nodes"][1]["name"] = "fc1\n"
    assert refused(data).startswith("nodes[1].name: a node name must start with a letter")


def test_a_node_id_with_a_line_break_is_refused():
    data = project_dict()
    data["nodes"][1]["id"] = "fc\n1"
    assert refused(data).startswith("nodes[1].id: expected one line")


# --- structure --------------------------------------------------------------


@pytest.mark.parametrize("tasks", ["abc", 5, {"a": 1}, [1, None, "x"]])
def test_a_version_1_file_with_wrong_types_gives_its_place(tasks):
    data = project_dict()
    data["format_version"] = 1
    data["tasks"] = tasks
    assert refused(data).startswith(("tasks", "tasks[0]"))


def test_a_version_1_file_with_a_data_source_of_the_wrong_type():
    data = project_dict()
    data["format_version"] = 1
    data["data"] = [1, 2]
    assert refused(data) == "data: expected an object, got [1, 2]"


def test_deep_nesting_gives_a_one_line_message_with_its_place():
    text = '{"format": "mtl-studio-project", "nodes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    message = refused(text)
    assert message.startswith("not valid JSON: nested too deeply at line 1 column ")


def test_nesting_the_parser_takes_is_refused_by_type():
    data = project_dict()
    value: list = []
    for _ in range(500):
        value = [value]
    data["nodes"][0]["params"]["shape"] = value
    assert refused(data).startswith("nodes[0].params.shape: expected each dimension")


def test_bytes_that_are_not_utf8_give_their_line_and_the_file(tmp_path):
    path = tmp_path / "latin.mtl.json"
    path.write_bytes(b'{\n  "name": "caf\xe9"\n}\n')
    with pytest.raises(ff.ProjectError) as err:
        ff.load(path)
    assert str(err.value) == (
        f"{path}: not a text file (it is not UTF-8): byte 0xe9 at line 2 column 15"
    )


def test_a_field_name_with_line_breaks_gives_a_one_line_message():
    data = project_dict()
    data["training"]["epochs\n\r"] = 3
    message = refused(data)
    assert message.startswith("training.epochs\\n\\r: unknown field")


def test_a_message_longer_than_the_limit_is_shortened():
    data = project_dict()
    data["x" * 100_000] = 1
    message = refused(data)
    assert " ... " in message and len(message) <= MAX_MESSAGE


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_a_project_path_that_is_not_a_regular_file_is_never_read(tmp_path, special):
    if special == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        path = tmp_path / "p.mtl.json"
        os.mkfifo(path)
    elif special == "folder":
        path = tmp_path
    else:
        path = special
        if not os.path.exists(path):
            pytest.skip("no /dev/zero here")
    with pytest.raises(ff.ProjectError, match="not a regular file"):
        ff.load(path)


def test_a_project_path_with_a_nul_byte():
    with pytest.raises(ff.ProjectError, match="cannot read the file"):
        ff.load("bad\x00name.mtl.json")


# --- size ---------------------------------------------------------------------


def chain(n: int, cycle: bool = False) -> str:
    nodes = [{"id": "in", "kind": "Input", "params": {"shape": [4]}}]
    nodes += [{"id": f"d{i}", "kind": "Dense", "params": {"units": 4}} for i in range(n - 2)]
    nodes += [{"id": "out", "kind": "Output"}]
    ids = [node["id"] for node in nodes]
    edges = [{"from": a, "to": b} for a, b in zip(ids, ids[1:])]
    if cycle:  # one long loop through almost every layer
        edges[5] = {"from": ids[-2], "to": ids[6]}
    return json.dumps(
        {
            "format": "mtl-studio-project",
            "format_version": 3,
            "nodes": nodes,
            "edges": edges,
            "tasks": [{"name": "t", "output": "out"}],
        }
    )


@pytest.mark.parametrize("n", [6000, 15_000])
def test_graphs_past_the_node_limit_are_refused(n):
    assert refused(chain(n)) == f"nodes: a project holds at most 5000 nodes, this file has {n}"


@pytest.mark.parametrize("cycle", [False, True])
def test_the_largest_allowed_graph_loads_and_validates_in_seconds(cycle):
    started = time.perf_counter()
    project = ff.loads(chain(ff.MAX_NODES, cycle), FILE)
    problems = validate(project)
    shapes, _ = infer_shapes(project)
    parameter_count(project, shapes)
    project.roles()
    assert time.perf_counter() - started < 5
    assert (len([p for p in problems if "cycle" in p.message]) > 4000) == cycle


# --- data sources -------------------------------------------------------------


def test_a_source_whose_path_cannot_be_resolved_still_has_a_key():
    for path in ("a\x00b.csv", "x" * 5000 + ".csv"):
        assert source_key(DataSource(kind="csv", path=path)).startswith("csv:")


@pytest.mark.parametrize("path", ["data\x00.csv", "x\n.csv", "x" * 5000])
def test_data_paths_the_file_system_cannot_take_are_refused_on_load(path):
    data = project_dict()
    data["data"] = {"kind": "csv", "path": path}
    assert refused(data).startswith("data.path: a path ")


def special_paths(tmp_path):
    found = {"folder": tmp_path, "too long": tmp_path / ("x" * 5000)}
    if os.path.exists("/dev/zero"):
        found["device"] = "/dev/zero"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.csv")
        found["fifo"] = tmp_path / "fifo.csv"
    return found


def test_fingerprints_never_read_special_files(tmp_path):
    for name, path in special_paths(tmp_path).items():
        started = time.perf_counter()
        assert fingerprint(path) is None, name
        assert time.perf_counter() - started < 1, name


def test_checking_and_saving_a_project_with_special_data_files(tmp_path):
    for name, path in special_paths(tmp_path).items():
        project = two_task_project()
        project.data = DataSource(kind="csv", path=str(path))
        (report,) = check_files(project)
        assert report.state == "missing", name
        assert "\n" not in report.message
        if name != "too long":
            ff.save(project, tmp_path / "p.mtl.json")  # fingerprints: never reads the file
            assert ff.load(tmp_path / "p.mtl.json").data.fingerprint is None
