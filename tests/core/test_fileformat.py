import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_studio.core import fileformat as ff
from mtl_studio.core.catalogue import KINDS
from mtl_studio.core.graph import Edge, Node
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource, OptimizerSpec
from mtl_studio.core.tasks import LOSSES, METRICS, Task
from mtl_studio.examples import examples
from tests.helpers import two_task_project


def project_dict():
    return ff.to_dict(two_task_project())


def load_error(data) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ff.ProjectError) as err:
        ff.loads(text)
    return str(err.value)


def test_bad_parameter_names_its_json_path():
    data = project_dict()
    data["nodes"][3]["params"]["units"] = -4
    assert load_error(data) == "nodes[3].params.units: expected a positive integer, got -4"


def test_not_json():
    assert load_error("{nodes: ]").startswith("not valid JSON: ")
    assert "line 1 column 2" in load_error("{nodes: ]")


def test_not_a_project():
    assert load_error([1, 2]) == "expected an object, got [1, 2]"
    assert "not an MTL Studio project" in load_error({"nodes": []})


def test_unknown_node_kind():
    data = project_dict()
    data["nodes"][1]["kind"] = "Dense3D"
    assert load_error(data).startswith("nodes[1].kind: unknown node kind 'Dense3D'")


def test_edge_to_a_missing_node():
    data = project_dict()
    data["edges"][0]["to"] = "ghost"
    assert load_error(data) == "edges[0].to: refers to a missing node 'ghost'"


def test_duplicate_node_ids():
    data = project_dict()
    data["nodes"][2]["id"] = data["nodes"][1]["id"]
    data["nodes"][2]["name"] = "other"
    assert load_error(data) == "nodes[2].id: duplicate node id 'shared'"


def test_future_format_version():
    data = project_dict()
    data["format_version"] = ff.FORMAT_VERSION + 1
    assert "newer than this MTL Studio reads" in load_error(data)
    assert load_error(data).startswith("format_version: ")


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda d: d["tasks"][0].update(loss="hinge"), "tasks[0].loss: expected one of"),
        (lambda d: d["tasks"][1].update(name="has space"), "tasks[1].name: a task name must"),
        (lambda d: d["tasks"][0].update(output="ghost"), "tasks[0].output: refers to a missing"),
        (lambda d: d["tasks"][0].update(weight="heavy"), "tasks[0].weight: expected"),
        (lambda d: d["training"].update(batch_size=0), "training.batch_size: expected an integer"),
        (lambda d: d["training"].update(mode="telepathy"), "training.mode: expected one of"),
        (lambda d: d["training"].update(colour=1), "training.colour: unknown field"),
        (lambda d: d["nodes"][0]["params"].update(shape=[0]), "nodes[0].params.shape: "),
        (
            lambda d: d["nodes"][1]["params"].update(size=3),
            "nodes[1].params.size: unknown parameter",
        ),
        (lambda d: d["nodes"][1].update(position=[1]), "nodes[1].position: expected [x, y]"),
        (lambda d: d["edges"].append(dict(d["edges"][0])), "edges[4]: duplicate edge"),
        (
            lambda d: d["edges"][0].update(port=1),
            "edges[0].port: Dense 'shared' has no input port 1",
        ),
        (lambda d: d.update(tasks=[d["tasks"][0], d["tasks"][0]]), "tasks[1].name: duplicate task"),
        (lambda d: d["data"].update(kind="sql"), "data.kind: expected one of"),
        (
            lambda d: d["training"]["optimizer"].update(beta_1=1.0),
            "training.optimizer.beta_1: expected a number >= 0 and < 1",
        ),
        (
            lambda d: d["nodes"][1]["params"].update(kernel_initializer="xavier"),
            "nodes[1].params.kernel_initializer: expected one of glorot_uniform",
        ),
    ],
)
def test_each_bad_value_names_its_place(mutate, path):
    data = project_dict()
    mutate(data)
    assert load_error(data).startswith(path)


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.mtl.json"
    bad.write_text("{")
    with pytest.raises(ff.ProjectError) as err:
        ff.load(bad)
    assert str(err.value).startswith(f"{bad}: not valid JSON")
    with pytest.raises(ff.ProjectError, match="cannot read the file"):
        ff.load(tmp_path / "missing.mtl.json")
    (tmp_path / "binary.mtl.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ff.ProjectError, match="not UTF-8"):
        ff.load(tmp_path / "binary.mtl.json")


def test_cycles_load_so_the_user_can_fix_them():
    data = project_dict()
    data["nodes"].append({"id": "loop", "kind": "Concatenate", "name": "loop"})
    data["edges"] += [
        {"from": "shared", "to": "loop", "port": 0},
        {"from": "loop", "to": "loop", "port": 1},
    ]
    project = ff.loads(json.dumps(data))
    assert "loop" in project.graph.cycle_nodes()


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "p.mtl.json"
    ff.save(two_task_project(), path)
    original = path.read_text()

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    changed = two_task_project()
    changed.name = "changed"
    with pytest.raises(ff.ProjectError, match="No space left on device"):
        ff.save(changed, path)
    assert path.read_text() == original
    assert os.listdir(tmp_path) == ["p.mtl.json"]  # no temporary file left behind


def test_save_to_a_missing_folder_says_where(tmp_path):
    with pytest.raises(ff.ProjectError, match="cannot write to"):
        ff.save(two_task_project(), tmp_path / "nope" / "p.mtl.json")


def test_older_versions_are_migrated(monkeypatch):
    """A file of version N-1 goes through MIGRATIONS[N-1] on load."""
    current = ff.to_dict(two_task_project())
    old = json.loads(json.dumps(current))
    old["format_version"] = ff.FORMAT_VERSION
    # Pretend the previous version stored the task list under "heads".
    old["heads"] = old.pop("tasks")

    def rename_heads(data):
        data = dict(data)
        data["tasks"] = data.pop("heads")
        return data

    monkeypatch.setattr(ff, "FORMAT_VERSION", ff.FORMAT_VERSION + 1)
    monkeypatch.setitem(ff.MIGRATIONS, ff.FORMAT_VERSION - 1, rename_heads)
    assert ff.loads(json.dumps(old)) == two_task_project()
    # And the file is written back in the new version.
    assert ff.to_dict(two_task_project())["format_version"] == ff.FORMAT_VERSION


def test_every_example_round_trips():
    for name, path in examples().items():
        project = ff.load(path)
        assert ff.loads(ff.dumps(project)) == project, name
        assert ff.dumps(project, path.parent) == path.read_text(), (
            f"{name} is not in canonical form"
        )


# --- round trip over generated projects -----------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def value_for(spec):
    if spec.type == "int":
        lo = int(spec.minimum) if spec.minimum is not None else -5
        hi = lo + 500 if spec.maximum is None else min(lo + 500, int(spec.maximum))
        return st.integers(min_value=lo, max_value=hi)
    if spec.type == "float":
        lo = spec.minimum if spec.minimum is not None else -10.0
        hi = spec.maximum if spec.maximum is not None else 10.0
        return st.floats(
            min_value=lo,
            max_value=hi,
            exclude_min=not spec.min_inclusive,
            exclude_max=not spec.max_inclusive,
            allow_nan=False,
        )
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "choice":
        return st.sampled_from(spec.choices)
    dims = st.integers(min_value=1, max_value=64)
    if spec.allow_none:
        dims = dims | st.none()
    return st.lists(dims, min_size=1, max_size=3).map(tuple)


@st.composite
def projects(draw):
    p = Project(draw(st.text(max_size=20)))
    p.description = draw(st.text(max_size=40))
    kinds = sorted(KINDS)
    count = draw(st.integers(min_value=0, max_value=8))
    for i in range(count):
        kind = KINDS[draw(st.sampled_from(kinds))]
        params = {s.name: draw(value_for(s)) for s in kind.params if draw(st.booleans())}
        x, y = draw(finite), draw(finite)
        p.graph.add_node(
            Node(
                f"n{i}",
                kind.name,
                f"node_{i}",
                {**kind.defaults(), **params},
                round(x, 2),
                round(y, 2),
            )
        )
    ids = list(p.nodes)
    for i, target in enumerate(ids):
        for source in ids[:i]:
            if KINDS[p.node(target).kind].max_inputs != 0 and draw(st.booleans()):
                try:
                    p.connect(Edge(source, target, p.graph.free_port(target)))
                except Exception:
                    pass
    outputs = [n for n in ids if p.node(n).kind == "Output"]
    for j in range(draw(st.integers(min_value=0, max_value=3))):
        output = outputs[j] if j < len(outputs) else None
        p.add_task(
            Task(
                f"t{j}_{draw(names)}",
                output,
                draw(st.sampled_from(LOSSES)),
                draw(finite),
                draw(st.lists(st.sampled_from(METRICS), unique=True, max_size=3)),
                draw(st.lists(names, max_size=3)),
                draw(st.sampled_from(["", "#123456", "#ABCDEF"])),
                draw(
                    st.none()
                    | st.builds(
                        OptimizerSpec,
                        st.sampled_from(["adam", "sgd"]),
                        st.floats(min_value=1e-6, max_value=1.0),
                        beta_1=st.floats(min_value=0, max_value=1, exclude_max=True),
                        epsilon=st.floats(min_value=1e-12, max_value=1.0),
                        momentum=st.floats(min_value=0, max_value=1, exclude_max=True),
                    )
                ),
                draw(st.floats(min_value=0.01, max_value=10)),
                draw(
                    st.none() | st.builds(DataSource, st.sampled_from(["csv", "npz"]), path=names)
                ),
            )
        )
    p.training.mode = draw(st.sampled_from(["joint", "alternating", "soft_sharing"]))
    p.training.seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    p.training.validation_split = draw(st.floats(min_value=0, max_value=0.9))
    p.data = DataSource(
        "generator",
        draw(names),
        {"examples": draw(st.integers(1, 99))},
        inputs={i: [draw(names)] for i in ids if p.node(i).kind == "Input"},
    )
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_load_of_save_is_the_same_project(project):
    assert ff.loads(ff.dumps(project)) == project


def test_anchor_data_paths_makes_relative_paths_absolute_and_keeps_absolute_ones(tmp_path):
    from mtl_studio.core.settings import DataSource

    project = two_task_project()
    project.data = DataSource("csv", path="../data/table.csv")
    project.tasks[0].data = DataSource("npz", path=str(tmp_path / "own.npz"))
    project.tasks[1].data = DataSource("generator", "tutorial_uniform")
    project.anchor_data_paths(tmp_path / "examples")
    assert project.data.path == str((tmp_path / "data" / "table.csv").resolve())
    assert project.tasks[0].data.path == str(tmp_path / "own.npz")
    assert project.tasks[1].data.path == ""


def test_a_version_2_file_reads_with_the_new_fields_at_their_defaults():
    """Version 2 had no edge output ports, optimizer betas, initializers
    nor the newer weightings' settings: each reads as its default."""
    data = json.loads(ff.dumps(two_task_project()))
    data["format_version"] = 2
    for edge in data["edges"]:
        edge.pop("out", None)
    for key in ("beta_1", "beta_2", "epsilon", "momentum"):
        data["training"]["optimizer"].pop(key, None)
    for n in data["nodes"]:
        n["params"].pop("kernel_initializer", None)
    project = ff.loads(json.dumps(data))
    assert project == two_task_project()
    assert ff.to_dict(project)["format_version"] == ff.FORMAT_VERSION


def test_a_version_3_file_reads_with_the_new_fields_at_their_defaults():
    """Version 3 had no strategy, precision or data loading settings."""
    data = json.loads(ff.dumps(two_task_project()))
    data["format_version"] = 3
    for key in ("strategy", "precision", "data_loading"):
        data["training"].pop(key)
    project = ff.loads(json.dumps(data))
    assert project == two_task_project()
    training = project.training
    assert (training.strategy, training.precision, training.data_loading) == (
        "default",
        "float32",
        "auto",
    )
    assert ff.to_dict(project)["format_version"] == 4
