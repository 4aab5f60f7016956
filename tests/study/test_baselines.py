"""Single-task baselines (mtl_studio/study/baselines.py)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_studio.core import fileformat as ff
from mtl_studio.core.graph import Edge, Node
from mtl_studio.core.project import MAX_PROJECT_NAME, Project, check_project_name
from mtl_studio.core.settings import DataSource, OptimizerSpec
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import errors, infer_shapes, validate
from mtl_studio.data.profile import profile_sources
from mtl_studio.study.baselines import single_task_project, single_task_projects
from tests.helpers import chain, node, two_task_project, with_data


def kept_edges(project, keep):
    return [e for e in project.edges if e.source in keep and e.target in keep]


def test_each_task_of_two_alone(tmp_path):
    project = with_data(two_task_project(), tmp_path)
    before = project.copy()
    profiles, failures = profile_sources(project)
    assert not failures and validate(project, profiles) == []
    trunk = set(project.shared_nodes()) | {"x"}
    heads = {"a": {"head_a", "out_a"}, "b": {"out_b"}}

    for name, other in (("a", "b"), ("b", "a")):
        alone = single_task_project(project, name)
        assert [t.name for t in alone.tasks] == [name]
        assert [n.id for n in alone.output_nodes()] == [project.task(name).output]
        assert not heads[other] & set(alone.nodes)
        assert trunk <= set(alone.nodes)
        assert set(alone.nodes) == trunk | heads[name]
        assert alone.edges == kept_edges(project, set(alone.nodes))
        assert alone.training == project.training
        assert alone.data == project.data
        assert alone.name == f"two tasks — {name} alone"
        assert validate(alone, profiles) == []
        assert ff.loads(ff.dumps(alone)) == alone  # it saves as a project file

    assert project == before  # the original is not touched
    assert list(single_task_projects(project)) == ["a", "b"]


def three_task_project() -> Project:
    """x(6) -> trunk -> mid -> out_b
                          -> head_c -> join <- y(2)   join -> out_c
                     -> head_a -> out_a
    trunk feeds all three tasks, mid only b and c, y only c."""
    p = Project("three")
    node(p, "x", "Input", shape=[6])
    node(p, "y", "Input", shape=[2])
    node(p, "trunk", "Dense", units=16)
    node(p, "mid", "Dense", units=8)
    node(p, "head_a", "Dense", units=4)
    node(p, "head_c", "Dense", units=4)
    node(p, "join", "Concatenate")
    node(p, "out_a", "Output", units=1)
    node(p, "out_b", "Output", units=3, activation="softmax")
    node(p, "out_c", "Output", units=1, activation="sigmoid")
    chain(p, "x", "trunk", "head_a", "out_a")
    chain(p, "trunk", "mid", "out_b")
    chain(p, "mid", "head_c", "join", "out_c")
    chain(p, "y", "join")
    p.add_task(Task("a", "out_a", "mse", weight=0.5))
    p.add_task(Task("b", "out_b", "sparse_categorical_crossentropy", metrics=["accuracy"]))
    p.add_task(Task("c", "out_c", "binary_crossentropy", metrics=["accuracy"]))
    return p


def test_three_tasks_each_alone():
    project = three_task_project()
    assert validate(project) == []
    expected = {
        "a": {"x", "trunk", "head_a", "out_a"},
        "b": {"x", "trunk", "mid", "out_b"},
        "c": {"x", "y", "trunk", "mid", "head_c", "join", "out_c"},
    }
    for name, nodes in expected.items():
        alone = single_task_project(project, name)
        assert set(alone.nodes) == nodes
        assert alone.edges == kept_edges(project, nodes)
        assert validate(alone) == []
        # Nothing is shared or unused any more: every layer is the task's head.
        roles = alone.roles()
        assert {r.kind for n, r in roles.items() if n not in ("x", "y")} == {"head"}
        assert alone.task(name).weight == 1.0  # the plain single-task loss
    # The kept nodes have the shapes they had (join still gets both inputs).
    shapes, _ = infer_shapes(project)
    alone_shapes, _ = infer_shapes(single_task_project(project, "c"))
    assert alone_shapes == {n: shapes[n] for n in expected["c"]}


def test_alternating_with_own_data_optimizer_and_monitor_becomes_joint():
    project = three_task_project()
    project.training.mode = "alternating"
    project.training.monitor = "b:accuracy"
    own = DataSource("npz", path="/data/c.npz", inputs={"x": ["x"], "y": ["y"]})
    project.tasks[2].data = own
    project.tasks[2].optimizer = OptimizerSpec("sgd", 0.05)
    project.data = DataSource("generator", "friedman", {"examples": 50})
    assert errors(validate(project)) == []

    c = single_task_project(project, "c")
    assert (c.training.mode, c.training.weighting) == ("joint", "fixed")
    assert c.data == own and c.task("c").data is None
    assert c.training.optimizer == OptimizerSpec("sgd", 0.05)
    assert c.task("c").optimizer is None
    assert c.training.monitor == "total"  # it named another task
    assert errors(validate(c)) == []

    b = single_task_project(project, "b")
    assert b.training.monitor == "b:accuracy"  # its own figure stays
    assert b.data == project.data
    assert b.training.optimizer == project.training.optimizer
    assert errors(validate(b)) == []
    # The seed and the shares of held-out rows, so the split, are the same.
    for alone in (b, c):
        for field in ("seed", "validation_split", "test_split", "epochs", "batch_size"):
            assert getattr(alone.training, field) == getattr(project.training, field)


def test_weightings_that_need_a_shared_trunk_become_fixed():
    project = three_task_project()
    project.training.weighting = "gradnorm"
    assert errors(validate(project)) == []
    alone = single_task_project(project, "a")
    assert alone.training.weighting == "fixed"
    assert errors(validate(alone)) == []


def test_a_long_project_name_stays_a_valid_name():
    project = two_task_project()
    project.name = "n" * MAX_PROJECT_NAME
    name = single_task_project(project, "a").name
    assert len(name) <= MAX_PROJECT_NAME and name.endswith("… — a alone")
    assert check_project_name(name) == name


def test_an_unknown_task_is_a_key_error():
    import pytest

    with pytest.raises(KeyError, match="no task 'c'"):
        single_task_project(two_task_project(), "c")


# --- generated projects ---------------------------------------------------------

LOSS_OUTPUTS = {  # loss -> (Output units, activation, a metric it computes)
    "mse": (st.integers(1, 3), "linear", "mae"),
    "sparse_categorical_crossentropy": (st.integers(2, 4), "softmax", "accuracy"),
    "binary_crossentropy": (st.just(1), "sigmoid", "accuracy"),
}


@st.composite
def projects(draw):
    """Small networks that mostly validate: Inputs, a few layers wired to
    earlier nodes (a trunk, heads, merges), an Output per task. Some do not
    validate (an unconnected Input, a weighting with no shared trunk, a
    monitor the task does not compute, Add of two shapes), which the
    property allows."""
    p = Project(draw(st.text(min_size=1, max_size=120).filter(str.strip)))
    sources = []
    for i in range(draw(st.integers(1, 2))):
        p.graph.add_node(
            Node(
                f"in{i}",
                "Input",
                f"in{i}",
                {"shape": [draw(st.integers(1, 4))], "dtype": "float32"},
            )
        )
        sources.append(f"in{i}")

    def add(node_id, kind, inputs, **params):
        p.add_node(Node(node_id, kind, node_id, params))
        for s in inputs:
            p.connect(Edge(s, node_id, p.graph.free_port(node_id)))
        sources.append(node_id)

    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["Dense", "Dense", "Dropout", "Concatenate", "Add"]))
        if kind in ("Concatenate", "Add"):
            if len(sources) < 2:
                continue
            inputs = draw(st.lists(st.sampled_from(sources), min_size=2, max_size=2, unique=True))
            add(f"n{i}", kind, inputs)
        elif kind == "Dense":
            add(f"n{i}", kind, [draw(st.sampled_from(sources))], units=draw(st.integers(1, 8)))
        else:
            add(f"n{i}", kind, [draw(st.sampled_from(sources))])

    modes = ("joint", "alternating", "soft_sharing")
    p.training.mode = draw(st.sampled_from(modes))
    p.training.weighting = draw(
        st.sampled_from(("fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda"))
    )
    # Outputs on layers rather than straight on an Input, so that tasks
    # share some of them (a trunk) more often.
    layers = [s for s in sources if not s.startswith("in")] or list(sources)
    monitors = ["total"]
    for j in range(draw(st.integers(1, 3))):
        loss = draw(st.sampled_from(sorted(LOSS_OUTPUTS)))
        units, activation, metric = LOSS_OUTPUTS[loss]
        out = f"out{j}"
        p.add_node(Node(out, "Output", out, {"units": draw(units), "activation": activation}))
        p.connect(Edge(draw(st.sampled_from(layers)), out, 0))
        metrics = [metric] if draw(st.booleans()) else []
        data = None
        if p.training.mode == "alternating" and draw(st.booleans()):
            data = DataSource("npz", path=f"/data/t{j}.npz")
        optimizer = draw(
            st.none()
            | st.builds(OptimizerSpec, st.sampled_from(["adam", "sgd"]), st.floats(1e-4, 0.5))
        )
        p.add_task(
            Task(f"t{j}", out, loss, draw(st.floats(0, 3)), metrics, optimizer=optimizer, data=data)
        )
        monitors += [f"t{j}:loss", f"t{j}:{metric}"]
    p.training.monitor = draw(st.sampled_from(monitors))
    p.training.seed = draw(st.integers(0, 2**31))
    p.training.validation_split = draw(st.sampled_from([0.0, 0.2]))
    p.training.test_split = draw(st.sampled_from([0.0, 0.15]))
    p.training.early_stopping = draw(st.booleans())
    return p


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_each_baseline_is_the_tasks_nodes_and_validates_when_the_original_does(project):
    valid = not errors(validate(project))
    try:
        check_project_name(project.name)
        good_name = True
    except ValueError:  # a name from before the rules (or from code) stays as odd
        good_name = False
    before = project.copy()
    for task in project.tasks:
        alone = single_task_project(project, task.name)
        keep = project.task_nodes(task.name)
        assert set(alone.nodes) == keep
        assert alone.edges == kept_edges(project, keep)
        assert [t.name for t in alone.tasks] == [task.name]
        if good_name:
            assert check_project_name(alone.name) == alone.name
        if valid:
            assert errors(validate(alone)) == [], (task.name, errors(validate(alone)))
    assert project == before
