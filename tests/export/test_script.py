"""The exported training script: the same data, model and step losses as
MTL Studio's Trainer, from a file that imports only numpy, TensorFlow and
the standard library.

Speed: importing TensorFlow costs several seconds per process, so every
exported script runs in ONE subprocess (a runner that executes each script
with runpy.run_path(script, run_name="__main__"), which is what
`python script.py` does, with sys.argv set to the script's flags). The
runner starts first; the Trainer's reference losses are computed in this
process while it works, so the two use both cores.

Tolerance: the script's step losses equal the Trainer's bit for bit on this
machine (same data, same batch order, same operations, both compiled with
XLA). The comparison still allows rtol 1e-5: the Trainer compiles several
steps into one XLA call and the script one step per call, and XLA is free
to fuse the two programs differently, which could move the last bit of a
float32 and grow over a few tens of steps. A real mismatch (another batch,
seed, weight or operation) changes the losses by far more than 1e-3.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import os
import runpy
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from mtl_studio.core.datafiles import relative
from mtl_studio.core.fileformat import load
from mtl_studio.core.graph import Edge
from mtl_studio.core.project import Project
from mtl_studio.core.settings import DataSource, OptimizerSpec
from mtl_studio.core.tasks import Task
from mtl_studio.core.validation import errors, validate
from mtl_studio.data import splits
from mtl_studio.data.prepare import prepare, split_rows
from mtl_studio.examples import examples
from mtl_studio.export.script import (
    TRAINED_SUFFIX,
    ScriptExportError,
    script_text,
    write_script,
)
from mtl_studio.training import batches, distribute, precision, weighting, weighting_math
from mtl_studio.training import events as ev
from mtl_studio.training.builder import build_model
from mtl_studio.training.tf_import import keras, tf
from mtl_studio.training.trainer import Trainer
from tests.helpers import chain, cnn_without_flatten, node
from tests.training.conftest import regression_project
from tests.training.test_attention_layers import transformer_project

RTOL = 1e-5  # see the module docstring
# What File > Export Keras Model left beside a script that saves its model:
# the script must not overwrite it.
USER_EXPORT = b"the user's own NAME.keras, exported from the window"
ALLOWED_IMPORTS = {"numpy", "tensorflow", "keras"}

RUNNER = '''\
"""Run exported scripts one after another in this process, as `python
SCRIPT ARGS...` would, so TensorFlow is imported once for all of them."""
import json, runpy, sys, traceback

failed = []
for script, args in json.loads(sys.argv[1]):
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException:
        traceback.print_exc()
        failed.append(script)
print("FAILED:", failed)
sys.exit(1 if failed else 0)
'''


# --- test projects --------------------------------------------------------------------


def tiny_arrays(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    return {
        "x": x,
        "a": 2 * x[:, :1] + 0.1 * rng.normal(size=(n, 1)),
        "b": np.stack([x[:, 1] - x[:, 2], x[:, 3]], axis=1),
        "c": np.where(x[:, 4] + x[:, 5] > 0, "yes", "no"),
    }


def write_npz(path: Path, n: int, seed: int) -> Path:
    arrays = tiny_arrays(n, seed)
    np.savez(path, x=arrays["x"], a=arrays["a"], b=arrays["b"])
    return path


def write_csv(path: Path, n: int, seed: int) -> Path:
    arrays = tiny_arrays(n, seed)
    header = [f"x{i}" for i in range(1, 7)] + ["a", "b1", "b2", "c"]
    rows = [",".join(header)]
    for i in range(n):
        numbers = [*arrays["x"][i], arrays["a"][i, 0], *arrays["b"][i]]
        rows.append(",".join(f"{v:.6f}" for v in numbers) + f",{arrays['c'][i]}")
    path.write_text("\n".join(rows) + "\n")
    return path


def tiny(
    folder: Path,
    mode: str = "joint",
    weighting: str = "fixed",
    epochs: int = 2,
    precision: str = "float32",
) -> Project:
    """tests/training's two-task regression project (trunk, out_a; trunk,
    head_b, out_b) on an NPZ file of 80 rows: 64 train, 8 steps an epoch."""
    p = regression_project(mode, weighting)
    p.training.epochs = epochs
    p.training.precision = precision
    p.data = DataSource(
        "npz",
        path=str(write_npz(folder / "tiny.npz", 80, 1)),
        inputs={"x": ["x"]},
        standardize_targets=True,
    )
    p.training.validation_split = 0.2
    p.task("a").target = ["a"]
    p.task("b").target = ["b"]
    return p


def tiny_three(folder: Path, mode: str, weighting: str) -> Project:
    """Three tasks on a CSV file: the two regressions and a binary class
    given as text labels ("yes" / "no")."""
    p = regression_project(mode, weighting)
    node(p, "out_c", "Output", units=1, activation="sigmoid")
    chain(p, "trunk", "out_c")
    p.add_task(Task("c", "out_c", "binary_crossentropy", weight=0.7, target=["c"]))
    p.data = DataSource(
        "csv",
        path=str(write_csv(folder / "three.csv", 80, 2)),
        inputs={"x": [f"x{i}" for i in range(1, 7)]},
    )
    p.training.validation_split = 0.2
    p.task("a").target = ["a"]
    p.task("b").target = ["b1", "b2"]
    return p


def alternating_own_data(folder: Path) -> Project:
    """Alternating, task b on its own data set and with its own SGD; the
    proportional schedule draws tasks by their data sets' sizes. A test
    share holds rows out of both data sets."""
    p = tiny(folder, "alternating")
    p.training.schedule = "proportional"
    p.training.test_split = 0.1
    b = p.task("b")
    b.data = DataSource(
        "npz", path=str(write_npz(folder / "b_only.npz", 60, 3)), inputs={"x": ["x"]}
    )
    b.optimizer = OptimizerSpec("sgd", 0.01, momentum=0.9)
    return p


@dataclass
class Case:
    name: str
    project: Project
    project_dir: Path
    steps: int
    save: bool = False
    script: Path = field(init=False)


def example_case(name: str, epochs: int | None = None, **params) -> Case:
    """A bundled example; `params` replace some of its generator's parameters."""
    path = examples()[name]
    project = load(path)
    project.data.params.update(params)
    if epochs is not None:
        project.training.epochs = epochs
    return Case(name, project, path.parent, 30)


def make_cases(folder: Path) -> dict[str, Case]:
    cases = [
        # 30 steps cross the end of the first epoch (energy: 15 steps; the
        # tutorial's 50,000 rows cut to 250 in batches of 10: 25, and 2 epochs).
        example_case("tutorial", 2, examples=250),  # alternating, generator data, l2 loss
        # The energy examples hold out a test share (test_split 0.15): 499 of
        # their 768 rows train.
        example_case("energy"),  # joint, fixed weights, CSV
        example_case("energy_mixed"),  # joint, uncertainty, a class mapped from 3.5 / 7.0
        # Soft sharing: towers, and the penalty added to the weighted sum (as
        # with fixed weights); DWA changes the weights from the third epoch on.
        # Optimizers of every kind with settings of their own, and layers
        # with initializers of their own (tuned_cases), in these too.
        Case(
            "soft_sharing_dwa", tiny(folder, "soft_sharing", "dwa", epochs=3), folder, 20, save=True
        ),
        # PCGrad adds the penalty's gradient to the projected ones.
        Case("soft_sharing_pcgrad", tiny(folder, "soft_sharing", "pcgrad"), folder, 12),
        Case("gradnorm", tiny(folder, "joint", "gradnorm"), folder, 12),
        # Three tasks: MGDA's Frank-Wolfe solver; CSV data with text labels.
        Case("mgda", tiny_three(folder, "joint", "mgda"), folder, 12),
        Case("alternating_own_data", alternating_own_data(folder), folder, 14),
        # The balancing methods: three tasks where a solver or a random order
        # differs from two (CAGrad's descent, GradVac's order, a 3x3 Gram
        # matrix's eigenvectors); RLW in soft sharing adds the penalty's
        # gradient; FAMO's forward pass after each update.
        Case("cagrad", tiny_three(folder, "joint", "cagrad"), folder, 12),
        Case("imtl", tiny(folder, "joint", "imtl"), folder, 12),
        Case("soft_sharing_rlw", tiny(folder, "soft_sharing", "rlw"), folder, 12),
        Case("gradvac", tiny_three(folder, "joint", "gradvac"), folder, 12),
        Case("aligned_mtl", tiny_three(folder, "joint", "aligned_mtl"), folder, 12),
        Case("famo", tiny(folder, "joint", "famo"), folder, 12),
        # A transformer-encoder trunk: masked embeddings, self-attention called
        # as layer(x, x), residual Adds and LayerNormalization.
        Case("transformer", transformer_project(folder), folder, 12),
        # Mixed precision: every layer but the outputs in bfloat16 (without
        # XLA on a CPU); float16 with its loss scale, one for the tasks' steps.
        Case("bfloat16", tiny(folder, "joint", "gradnorm", precision="mixed_bfloat16"), folder, 12),
        Case(
            "float16_alternating",
            tiny(folder, "alternating", "fixed", precision="mixed_float16"),
            folder,
            12,
        ),
    ]
    tuned_cases({case.name: case.project for case in cases})
    for case in cases:
        # Speed only: the Trainer compiles its call once per length of call,
        # so calls of a whole epoch compile once where 20 + 5 compile twice.
        # The losses do not depend on it (tests/training's resume test).
        case.project.training.steps_per_call = 10000
        case.script = folder / f"{case.name}.py"
        write_script(case.project, case.project_dir, case.script)
        if case.save:
            case.script.with_suffix(".keras").write_bytes(USER_EXPORT)
    return {case.name: case for case in cases}


def tuned_cases(projects: dict[str, Project]) -> None:
    """Optimizer settings and initializers other than Keras' defaults."""
    gradnorm = projects["gradnorm"]
    gradnorm.training.optimizer = OptimizerSpec("adam", 0.001, 0.8, 0.99, 1e-6)
    gradnorm.set_param("trunk", "kernel_initializer", "he_uniform")
    pcgrad = projects["soft_sharing_pcgrad"]  # each tower's copy of the trunk draws its own
    pcgrad.training.optimizer = OptimizerSpec("rmsprop", 0.001, epsilon=1e-6, momentum=0.5)
    pcgrad.set_param("trunk", "kernel_initializer", "lecun_normal")
    projects["mgda"].training.optimizer = OptimizerSpec("adamw", 0.002, beta_2=0.95)
    projects["mgda"].set_param("head_b", "kernel_initializer", "uniform_0_1")
    projects["alternating_own_data"].set_param("out_b", "kernel_initializer", "orthogonal")


CASE_NAMES = [
    "tutorial",
    "energy",
    "energy_mixed",
    "soft_sharing_dwa",
    "soft_sharing_pcgrad",
    "gradnorm",
    "mgda",
    "alternating_own_data",
    "cagrad",
    "imtl",
    "soft_sharing_rlw",
    "gradvac",
    "aligned_mtl",
    "famo",
    "transformer",
    "bfloat16",
    "float16_alternating",
]
# The cases whose scripts scale the loss (mixed_float16).
LOSS_SCALED_CASES = {"float16_alternating"}


# --- running ----------------------------------------------------------------------------


def trainer_run(project: Project, project_dir: Path, steps: int):
    """The Trainer's first `steps` step losses per task, and its model's layer names."""
    batches: list = []
    trainer = Trainer(project, project_dir, flush_seconds=0)

    def record(events):
        batches.extend(e for e in events if isinstance(e, ev.StepLosses))
        if trainer.step >= steps:
            trainer.stop()

    trainer.callback = record
    finished = trainer.run()
    assert finished.status in ("stopped", "completed"), finished.message
    losses = {t: np.concatenate([e.losses[t] for e in batches]) for t in trainer.tasks}
    assert all(len(v) >= steps for v in losses.values())
    return {t: v[:steps] for t, v in losses.items()}, [layer.name for layer in trainer.model.layers]


class Runs:
    def __init__(self, cases: dict[str, Case], folder: Path) -> None:
        self.cases = cases
        jobs = []
        for case in cases.values():
            args = ["--steps", str(case.steps), "--losses-json", str(self.json_of(case))]
            jobs.append([str(case.script), args + ([] if case.save else ["--no-save"])])
        runner = folder / "runner.py"
        runner.write_text(RUNNER)
        # Run from another folder: data paths next to a script are relative to it.
        elsewhere = folder / "elsewhere"
        elsewhere.mkdir()
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen(
            [sys.executable, str(runner), json.dumps(jobs)],
            cwd=elsewhere,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Meanwhile, on the other core: the Trainer on the same projects.
        try:
            self.reference = {
                name: trainer_run(c.project, c.project_dir, c.steps) for name, c in cases.items()
            }
        finally:
            self.output, _ = self.process.communicate(timeout=600)

    @staticmethod
    def json_of(case: Case) -> Path:
        return case.script.with_suffix(".losses.json")

    def script_result(self, name: str) -> dict:
        path = self.json_of(self.cases[name])
        assert path.exists(), f"the script of {name} wrote no losses:\n{self.output[-4000:]}"
        return json.loads(path.read_text())


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Case]:
    return make_cases(tmp_path_factory.mktemp("scripts"))


@pytest.fixture(scope="module")
def runs(cases) -> Runs:
    return Runs(cases, next(iter(cases.values())).script.parent)


# --- the losses ------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
def test_script_step_losses_match_the_trainer(runs, name):
    result = runs.script_result(name)
    reference, layers = runs.reference[name]
    assert result["tasks"] == list(reference)
    for task, expected in reference.items():
        got = np.array([np.nan if v is None else v for v in result["losses"][task]])
        assert len(got) == runs.cases[name].steps
        # Alternating: the same task trained at each step (NaN where skipped).
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=task)
        np.testing.assert_allclose(
            got, expected, rtol=RTOL, atol=0, equal_nan=True, err_msg=f"{name}: task {task}"
        )
    # The builder's layer names, in its order.
    assert result["layers"] == layers


def test_the_runner_ran_every_script(runs):
    assert runs.process.returncode == 0, runs.output[-4000:]


def test_the_script_saves_the_trained_model_next_to_itself(runs):
    script = runs.cases["soft_sharing_dwa"].script
    saved = script.parent / "soft_sharing_dwa.trained.keras"
    model = keras().saving.load_model(saved, safe_mode=True)
    assert set(model.output_names) == {"out_a", "out_b"}
    assert f"saved the trained model to {saved}" in runs.output
    # The model the user exported from the window, NAME.keras, is untouched.
    assert script.with_suffix(".keras").read_bytes() == USER_EXPORT
    gradnorm = runs.cases["gradnorm"].script  # --no-save
    assert not gradnorm.with_suffix(TRAINED_SUFFIX).exists()
    assert not gradnorm.with_suffix(".keras").exists()


def test_the_trained_model_is_not_named_as_a_keras_export(cases):
    """File > Export Keras Model suggests NAME.keras: the script's model has
    another name, given once by TRAINED_SUFFIX in the header and the settings."""
    text = cases["energy"].script.read_text()
    assert TRAINED_SUFFIX == ".trained.keras"
    assert 'MODEL_FILE = Path(__file__).with_suffix(".trained.keras")' in text
    header = " ".join(text.split('"""')[1].split())
    assert "saves the trained model next to this file as energy.trained.keras" in header
    assert "it leaves alone any energy.keras exported from MTL Studio" in header
    model_file = exported(cases["energy"].script)["MODEL_FILE"]
    assert model_file == cases["energy"].script.parent / "energy.trained.keras"
    assert model_file != cases["energy"].script.with_suffix(".keras")
    assert "this_script.trained.keras" in script_text(
        cases["gradnorm"].project, cases["gradnorm"].project_dir
    )


# --- the data and the model, in this process ----------------------------------------------


def exported(script: Path) -> dict:
    """The script's functions, without running its main()."""
    return runpy.run_path(str(script), run_name="exported")


def assert_same_split(got: tuple, expected) -> None:
    inputs, targets = got
    assert list(inputs) == list(expected.inputs) and list(targets) == list(expected.targets)
    for name in expected.inputs:
        assert inputs[name].dtype == expected.inputs[name].dtype
        np.testing.assert_array_equal(inputs[name], expected.inputs[name])
    for name in expected.targets:
        assert targets[name].dtype == expected.targets[name].dtype
        np.testing.assert_array_equal(targets[name], expected.targets[name])


def assert_same_data(script: Path, project: Project, project_dir: Path | None) -> None:
    data = exported(script)["load_data"]()
    prepared = prepare(project, project_dir)
    datasets = data if project.training.mode == "alternating" else [data]
    assert len(datasets) == len(prepared.datasets)
    for (train, val), expected in zip(datasets, prepared.datasets):
        assert_same_split(train, expected.train)
        assert_same_split(val, expected.val)


@pytest.mark.parametrize("name", ["tutorial", "energy_mixed", "mgda", "alternating_own_data"])
def test_script_data_are_the_prepared_arrays(cases, name):
    case = cases[name]
    assert_same_data(case.script, case.project, case.project_dir)


def test_the_compared_projects_hold_out_test_rows(cases):
    """The losses above are compared on projects with a test share, so the
    script must leave out prepare()'s test rows, not only its validation rows."""
    for name in ("energy", "energy_mixed", "alternating_own_data"):
        assert cases[name].project.training.test_split > 0, name
    assert "TEST_SPLIT = 0.15  #" in cases["energy"].script.read_text()
    assert "TEST_SPLIT = 0.0  #" in cases["tutorial"].script.read_text()


@pytest.mark.parametrize(
    "n, validation, test, seed",
    [
        (768, 0.2, 0.15, 0),
        (80, 0.2, 0.0, 3),
        (61, 0.25, 0.3, 7),
        (12, 0.0, 0.5, 1),
    ],
)
def test_script_split_rows_are_prepare_s(tmp_path, n, validation, test, seed):
    """One rule in both: training, validation and test rows from one seeded
    permutation (the test rows are the ones the script leaves out)."""
    project = tiny(tmp_path)
    project.training.validation_split = validation
    project.training.test_split = test
    project.training.seed = seed
    script = tmp_path / "split.py"
    write_script(project, tmp_path, script)
    ns = exported(script)
    ours = ns["split_rows"](n, ns["VALIDATION_SPLIT"], ns["TEST_SPLIT"], ns["SEED"])
    theirs = split_rows(n, project.training, "data", "file")
    assert len(ours) == 3
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine, expected)
    assert sorted(np.concatenate(ours).tolist()) == list(range(n))


def test_script_refuses_a_split_that_leaves_too_few_training_rows(tmp_path):
    project = tiny(tmp_path)
    project.training.validation_split = 0.5
    project.training.test_split = 0.4
    script = tmp_path / "split.py"
    write_script(project, tmp_path, script)
    rows = {"x": np.zeros((10, 6))}
    with pytest.raises(
        SystemExit,
        match="10 rows leave 1 for training after 5 for validation "
        r"and 4 for test \(training needs at least 2\): "
        "lower VALIDATION_SPLIT or TEST_SPLIT",
    ):
        exported(script)["split_and_scale"](rows, rows, [], [])


def generator_project(generator: str, params: dict, width: int, units: int) -> Project:
    p = Project("generated")
    node(p, "X", "Input", shape=[width])
    node(p, "trunk", "Dense", units=4)
    node(p, "out_1", "Output", units=units)
    node(p, "out_2", "Output", units=units)
    chain(p, "X", "trunk", "out_1")
    chain(p, "trunk", "out_2")
    p.add_task(Task("t1", "out_1", "mse", target=["y1"]))
    p.add_task(Task("t2", "out_2", "huber", target=["y2"]))
    p.data = DataSource(
        "generator", generator, params, inputs={"X": ["X"]}, standardize_targets=True
    )
    return p


@pytest.mark.parametrize(
    "generator, params, width, units",
    [
        ("correlated_regression", {"examples": 60, "features": 5, "sin_terms": 3}, 5, 1),
        ("scale_regression", {"examples": 50, "input_dim": 4, "output_dim": 3}, 4, 3),
    ],
)
def test_inline_generators_give_the_same_examples(tmp_path, generator, params, width, units):
    project = generator_project(generator, params, width, units)
    script = tmp_path / "generated.py"
    write_script(project, None, script)
    text = script.read_text()
    assert f"def {generator}(p" in text
    others = {"tutorial_uniform", "correlated_regression", "scale_regression"} - {generator}
    assert not any(f"def {name}(" in text for name in others)  # only the one it uses
    assert_same_data(script, project, None)


def write_mixed_csv(path: Path, n: int = 40) -> Path:
    """Token ids, numbers, a text label, two 0/1 flags, class ids and a value."""
    rng = np.random.default_rng(4)
    colours = np.array(["red", "green", "blue"])
    lines = ["tok1,tok2,tok3,tok4,x1,x2,colour,flag1,flag2,cls,y"]
    for _ in range(n):
        tokens = ",".join(str(t) for t in rng.integers(0, 10, 4))
        x = rng.normal(size=2)
        lines.append(
            f"{tokens},{x[0]:.5f},{x[1]:.5f},{rng.choice(colours)},"
            f"{rng.integers(0, 2)},{rng.integers(0, 2)},{rng.integers(0, 3)},"
            f"{x.sum() + 10:.5f}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def mixed_targets(folder: Path) -> Project:
    """Every kind of target: one-hot from text labels, several 0/1 columns,
    class ids as they are, and a standardised value; int32 token ids (never
    standardised) beside float features."""
    p = Project('Mixed: Énergie "targets"')
    node(p, "tokens", "Input", shape=[4], dtype="int32")
    node(p, "emb", "Embedding", input_dim=10, output_dim=3)
    node(p, "flat", "Flatten")
    node(p, "feats", "Input", shape=[2])
    node(p, "cat", "Concatenate")
    node(p, "trunk", "Dense", units=8)
    node(p, "colour_out", "Output", units=3, activation="softmax")
    node(p, "flags_out", "Output", units=2, activation="sigmoid")
    node(p, "cls_out", "Output", units=3, activation="softmax")
    node(p, "y_out", "Output", units=1)
    chain(p, "tokens", "emb", "flat", "cat")
    chain(p, "feats", "cat", "trunk", "colour_out")
    for out in ("flags_out", "cls_out", "y_out"):
        chain(p, "trunk", out)
    p.add_task(Task("colour", "colour_out", "categorical_crossentropy", target=["colour"]))
    p.add_task(Task("flags", "flags_out", "binary_crossentropy", target=["flag1", "flag2"]))
    p.add_task(Task("cls", "cls_out", "sparse_categorical_crossentropy", target=["cls"]))
    p.add_task(Task("y", "y_out", "huber", target=["y"]))
    p.data = DataSource(
        "csv",
        path=str(write_mixed_csv(folder / "mixed.csv")),
        inputs={"tokens": ["tok1", "tok2", "tok3", "tok4"], "feats": ["x1", "x2"]},
        standardize_targets=True,
    )
    return p


def test_script_targets_of_every_loss_are_the_prepared_arrays(tmp_path):
    project = mixed_targets(tmp_path)
    script = tmp_path / "mixed.py"
    write_script(project, tmp_path, script)
    text = script.read_text(encoding="utf-8")
    assert '"Mixed: Énergie \\"targets\\""' in " ".join(text.split())  # readable, escaped
    assert '"colour": one_hot(table, ["colour"], 3, 1, "colour"),' in text
    assert '"tokens": numbers(table, ["tok1", "tok2", "tok3", "tok4"]).astype(np.int32),' in text
    assert 'scale_inputs=["feats"]' in text and 'scale_targets=["y"]' in text
    assert_same_data(script, project, tmp_path)


def test_node_names_that_are_not_python_names(tmp_path):
    """Names with - and ., a keyword, and a name the script itself uses."""
    p = tiny(tmp_path)
    p.rename_node("trunk", "my-trunk.1")
    p.rename_node("head_b", "layers")
    p.rename_node("out_a", "class")
    script = tmp_path / "odd.py"
    write_script(p, tmp_path, script)
    text = script.read_text()
    assert 'my_trunk_1 = layers.Dense(8, activation="tanh", name="my-trunk.1")(x)' in text
    assert 'layers_ = layers.Dense(4, activation="tanh", name="layers")(my_trunk_1)' in text
    assert 'class_ = layers.Dense(1, name="class")(my_trunk_1)' in text
    ours = exported(script)["build_model"]()
    theirs = build_model(p).model
    assert [x.name for x in ours.layers] == [x.name for x in theirs.layers]
    for mine, built in zip(ours.weights, theirs.weights):
        np.testing.assert_array_equal(mine.numpy(), built.numpy())


def zoo(mode: str) -> Project:
    """Every kind of layer once: two inputs, a shared trunk, two heads."""
    p = Project("zoo: every layer")
    node(p, "tokens", "Input", shape=[12], dtype="int32")
    node(p, "emb", "Embedding", input_dim=50, output_dim=8, embeddings_initializer="glorot_normal")
    node(p, "conv1", "Conv1D", filters=6, kernel_size=3, padding="same")
    node(p, "pool1", "MaxPooling1D")
    node(p, "lstm", "LSTM", units=5, return_sequences=True, dropout=0.1)
    node(
        p, "bi", "Bidirectional", layer="GRU", units=4, merge_mode="sum", kernel_initializer="ones"
    )
    node(p, "image", "Input", shape=[8, 8, 1])
    node(p, "conv2", "Conv2D", filters=4, kernel_size=3, strides=1, use_bias=False)
    p.set_param("conv2", "kernel_initializer", "he_normal")
    node(p, "avg", "AveragePooling2D", pool_size=2, strides=1)
    node(p, "bn", "BatchNormalization", momentum=0.9)
    node(p, "gmax", "GlobalMaxPooling2D")
    node(p, "dense", "Dense", units=6, activation="tanh")
    node(p, "drop", "Dropout", rate=0.25)
    node(p, "act", "Activation", activation="elu")
    node(p, "cat", "Concatenate")
    node(p, "ln", "LayerNormalization", epsilon=0.01)
    node(p, "d1", "Dense", units=4, kernel_initializer="uniform_0_1")
    node(p, "d2", "Dense", units=4, activation="linear")
    node(p, "add", "Add")
    node(p, "out_a", "Output", units=1)
    node(p, "rs", "Reshape", target_shape=[5, 2])
    node(p, "gavg", "GlobalAveragePooling1D")
    node(p, "flat", "Flatten")
    node(p, "out_b", "Output", units=3, activation="softmax")
    chain(p, "tokens", "emb", "conv1", "pool1", "lstm", "bi", "cat")
    chain(p, "image", "conv2", "avg", "bn", "gmax", "dense", "drop", "act", "cat")
    chain(p, "cat", "ln", "d1", "add", "out_a")
    chain(p, "ln", "d2", "add")
    chain(p, "ln", "rs", "gavg", "flat", "out_b")
    node(p, "att", "MultiHeadAttention", num_heads=2, key_dim=3, value_dim=4, dropout=0.1)
    node(p, "att_pool", "GlobalAveragePooling1D")
    node(p, "proj", "Dense", units=5)
    node(p, "cos", "Dot", normalize=True)
    node(p, "cat2", "Concatenate")
    chain(p, "lstm", "att", "att_pool", "cos")  # att: query lstm, value emb
    chain(p, "emb", "att")
    chain(p, "gmax", "proj", "cos")
    p.disconnect(Edge("add", "out_a"))
    chain(p, "add", "cat2", "out_a")
    chain(p, "cos", "cat2")
    p.add_task(Task("a", "out_a", "mse", target=["Y1"]))
    p.add_task(Task("b", "out_b", "sparse_categorical_crossentropy", target=["Y2"]))
    p.training.mode = mode
    p.data = DataSource("generator", "tutorial_uniform", inputs={"tokens": ["X"], "image": ["X"]})
    return p


@pytest.mark.parametrize("mode", ["joint", "soft_sharing"])
def test_script_model_is_the_builder_model_layer_for_layer(tmp_path, mode):
    project = zoo(mode)
    script = tmp_path / "zoo.py"
    write_script(project, None, script)
    text = script.read_text()
    if mode == "joint":
        assert 'dense = layers.Dense(6, activation="tanh", name="dense")(gmax)' in text
        assert (
            "att = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, dropout=0.1, "
            'name="att")(lstm, emb)' in text
        )
        assert 'cos = layers.Dot(axes=-1, normalize=True, name="cos")([att_pool, proj])' in text
        assert (
            'd1 = layers.Dense(4, activation="relu", kernel_initializer=keras.initializers.'
            "RandomUniform("
            'minval=0.0, maxval=1.0), name="d1")(ln)' in text
        )
        assert 'layers.GRU(4, kernel_initializer="ones", name="bi_gru")' in text
    else:  # the trunk's copy in task a's tower
        assert 'dense_a = layers.Dense(6, activation="tanh", name="dense_a")(gmax_a)' in text
    assert_builder_model(script, project)


def assert_builder_model(script: Path, project: Project) -> None:
    """The script's build_model() is the builder's model layer for layer."""
    ours = exported(script)["build_model"]()
    theirs = build_model(project).model
    assert [x.name for x in ours.layers] == [x.name for x in theirs.layers]
    for mine, built in zip(ours.layers, theirs.layers):
        assert mine.get_config() == built.get_config(), mine.name
    # Same seed, same creation order: the same initial weights.
    for mine, built in zip(ours.weights, theirs.weights):
        assert mine.path == built.path
        np.testing.assert_array_equal(mine.numpy(), built.numpy())


def test_script_mgda_and_pcgrad_helpers_are_the_trainer_s(tmp_path):
    """The variants the full runs above do not take: MGDA's closed form for
    two tasks, and PCGrad's random order among three."""
    t = tf()
    flat = t.constant(np.random.default_rng(0).normal(size=(2, 40)), t.float32)
    script = tmp_path / "mgda.py"
    write_script(tiny(tmp_path, "joint", "mgda"), tmp_path, script)
    ours = exported(script)["min_norm_coefficients"](flat)
    np.testing.assert_array_equal(ours, weighting.min_norm_coefficients(flat))
    flat = t.constant(np.random.default_rng(1).normal(size=(3, 40)), t.float32)
    project = tiny_three(tmp_path, "joint", "pcgrad")
    project.training.seed = 7
    write_script(project, tmp_path, script)
    ns = exported(script)
    for step in (1, 2, 9):
        ours = ns["pcgrad_project"](flat, t.constant(step, t.int64), ns["SEED"])
        np.testing.assert_array_equal(ours, weighting.pcgrad_project(flat, step, 7))


# --- one copy of each rule ---------------------------------------------------------------

# The step under a tf.distribute strategy and making one (--strategy):
# every script carries them (tests/export/test_script_strategy.py runs one).
DISTRIBUTED = [
    distribute.replica_context,
    distribute.local_rows,
    distribute.loss_parts,
    distribute.share,
    distribute.apply_update,
    distribute.split_cpu,
    distribute.cluster_config,
    distribute.worker_of,
    distribute.new_distribution,
    precision.uses_xla,
]
# mixed_float16's loss scaling: the scripts of such projects carry it.
LOSS_SCALED = [precision.LossScale, precision.ScaledTape]
# MTL Studio's own functions that a script carries, copied from their modules.
COPIED = [
    splits.split_sizes,
    splits.split_rows,
    batches.steps_per_epoch,
    batches.joint_batches,
    batches.alternating_plan,
    weighting_math.dwa_weights,
    weighting_math.flatten,
    weighting_math.unflatten,
    weighting_math.uniform_draws,
    weighting_math.task_order,
    weighting_math.pcgrad_project,
    weighting_math.min_norm_coefficients,
    weighting_math.cagrad_coefficients,
    weighting_math.gram_eigen,
    weighting_math.imtl_coefficients,
    weighting_math.gradvac_coefficients,
    weighting_math.aligned_mtl_coefficients,
    weighting_math.log_weights,
    weighting_math.rlw_weights,
    weighting_math.famo_gaps,
    weighting_math.famo_weights,
    weighting_math.famo_logit_gradient,
    *DISTRIBUTED,
]
# Besides the split, steps_per_epoch and DISTRIBUTED, which every script carries.
CARRIED = {
    "tutorial": ["alternating_plan"],
    "energy": ["joint_batches"],
    "energy_mixed": ["joint_batches", "log_weights"],
    "soft_sharing_dwa": ["joint_batches", "dwa_weights"],
    "soft_sharing_pcgrad": [
        "joint_batches",
        "flatten",
        "unflatten",
        "uniform_draws",
        "task_order",
        "pcgrad_project",
    ],
    "gradnorm": ["joint_batches"],
    "mgda": ["joint_batches", "flatten", "unflatten", "min_norm_coefficients"],
    "alternating_own_data": ["alternating_plan"],
    "cagrad": ["joint_batches", "flatten", "unflatten", "cagrad_coefficients"],
    "imtl": [
        "joint_batches",
        "flatten",
        "unflatten",
        "log_weights",
        "gram_eigen",
        "imtl_coefficients",
    ],
    "soft_sharing_rlw": ["joint_batches", "uniform_draws", "rlw_weights"],
    "gradvac": [
        "joint_batches",
        "flatten",
        "unflatten",
        "uniform_draws",
        "task_order",
        "gradvac_coefficients",
    ],
    "aligned_mtl": [
        "joint_batches",
        "flatten",
        "unflatten",
        "gram_eigen",
        "aligned_mtl_coefficients",
    ],
    "famo": ["joint_batches", "log_weights", "famo_gaps", "famo_weights", "famo_logit_gradient"],
    "transformer": ["joint_batches"],
    "bfloat16": ["joint_batches"],
    "float16_alternating": ["alternating_plan"],
}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_script_carries_mtl_studio_s_own_rules_verbatim(cases, name):
    """The split, the batches of an epoch and the weighting maths are the
    very functions MTL Studio calls, copied letter for letter: a copy edited
    by hand, or text written to mirror one, fails here."""
    text = cases[name].script.read_text()
    wanted = {"split_sizes", "split_rows", "steps_per_epoch", *CARRIED[name]}
    wanted |= {fn.__name__ for fn in DISTRIBUTED}
    for cls in LOSS_SCALED:
        defined = text.count(f"\nclass {cls.__name__}:")
        assert defined == (1 if name in LOSS_SCALED_CASES else 0), cls.__name__
        if defined:
            assert inspect.getsource(cls) in text, f"{cls.__name__} differs from its module's"
    for fn in COPIED:
        defined = text.count(f"\ndef {fn.__name__}(")
        assert defined == (1 if fn.__name__ in wanted else 0), fn.__name__
        if defined:
            assert inspect.getsource(fn) in text, f"{fn.__name__} differs from its module's"


def free_names(fn) -> set[str]:
    """The names a function reads that it does not bind itself."""
    tree = ast.parse(inspect.getsource(fn))
    bound, read = set(), set()
    for item in ast.walk(tree):
        if isinstance(item, ast.Name):
            (read if isinstance(item.ctx, ast.Load) else bound).add(item.id)
        elif isinstance(item, ast.arg):
            bound.add(item.arg)
        elif isinstance(item, ast.FunctionDef):
            bound.add(item.name)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            bound.add(item.name)  # except ... as name
    return read - bound - set(dir(builtins))


@pytest.mark.parametrize("fn", COPIED, ids=lambda fn: fn.__name__)
def test_copied_functions_need_only_numpy_tensorflow_and_each_other(fn):
    """A copy must run in a script without MTL Studio: it may read np, tf,
    math and the other copied functions, nothing else of its module."""
    allowed = {"np", "tf", "math"} | {f.__name__ for f in COPIED}
    if fn in DISTRIBUTED:  # and the rest of what distribute.py's copies use
        allowed |= {"json", "os", "Path", "DistributionError", "WORKER_TIMEOUT_SECONDS"}
    assert free_names(fn) <= allowed, fn.__name__


# --- the text ---------------------------------------------------------------------------


def imported_modules(text: str) -> set[str]:
    found = set()
    for item in ast.walk(ast.parse(text)):
        if isinstance(item, ast.Import):
            found |= {alias.name for alias in item.names}
        elif isinstance(item, ast.ImportFrom):
            found.add(item.module)
    return found


@pytest.mark.parametrize("name", CASE_NAMES)
def test_script_imports_numpy_tensorflow_and_the_standard_library_only(cases, name):
    text = cases[name].script.read_text()
    modules = imported_modules(text)
    assert not any(m.split(".")[0] == "mtl_studio" for m in modules)
    assert {m.split(".")[0] for m in modules} <= ALLOWED_IMPORTS | sys.stdlib_module_names
    assert "import mtl_studio" not in text and "from mtl_studio" not in text


def test_script_carries_only_the_code_its_project_needs(cases):
    fixed = cases["energy"].script.read_text()
    for absent in (
        "gradnorm",
        "GradNorm",
        "pcgrad",
        "min_norm",
        "dwa_weights",
        "log_var",
        "soft_sharing_penalty",
        "alternating_plan",
        "read_npz",
        "class_ids",
    ):
        assert absent not in fixed
    assert "def read_csv(" in fixed and "OPTIMIZER = keras.optimizers.Adam" in fixed
    assert 'OPTIMIZER_OPTIONS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07}' in fixed
    gradnorm = cases["gradnorm"].script.read_text()
    assert "GRADNORM_ALPHA = 1.5" in gradnorm and 'LAST_SHARED_LAYERS = ["trunk"]' in gradnorm
    assert 'OPTIMIZER_OPTIONS = {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-06}' in gradnorm
    assert (
        'trunk = layers.Dense(8, activation="tanh", kernel_initializer="he_uniform", ' in gradnorm
    )
    own = cases["alternating_own_data"].script.read_text()
    assert '"b": (keras.optimizers.SGD, 0.01, {"momentum": 0.9}),' in own
    assert "read_csv" not in gradnorm and "def read_npz(" in gradnorm
    soft = cases["soft_sharing_dwa"].script.read_text()
    assert 'TIED_LAYERS = [["trunk_a", "trunk_b"]]' in soft and "DWA_TEMPERATURE = 2.0" in soft
    assert "Frank-Wolfe" in cases["mgda"].script.read_text()
    tutorial = cases["tutorial"].script.read_text()
    assert "def tutorial_uniform(p" in tutorial and "l2_loss" in tutorial
    # The tutorial's layers as it wrote them: no bias, weights uniform in [0, 1).
    assert (
        'shared = layers.Dense(20, activation="relu", use_bias=False, kernel_initializer='
        'keras.initializers.RandomUniform(minval=0.0, maxval=1.0), name="shared")(X)'
    ) in tutorial


def test_script_header_and_data_paths(cases):
    energy = cases["energy"]
    text = energy.script.read_text()
    assert text.startswith('"""Train the multi-task model of an MTL Studio project.')
    assert '"Energy efficiency: heating and cooling loads"' in " ".join(text.split())
    assert "MTL Studio 0.1.0" in text and "energy.trained.keras" in text
    # The data path follows the project file's rule: relative to the script
    # when the two share a folder below the root (/tmp for a clone in /tmp),
    # else absolute.
    data = (energy.project_dir / "../data/energy_efficiency.csv").resolve()
    rel = relative(str(data), energy.script.parent)
    if Path(rel).is_absolute():
        assert f'DATA_FILE = Path("{data.as_posix()}")' in text
    else:
        assert f'DATA_FILE = Path(__file__).parent / "{rel}"' in text
    # The data next to the script: relative to the script.
    assert 'DATA_FILE = Path(__file__).parent / "tiny.npz"' in cases["gradnorm"].script.read_text()
    own = cases["alternating_own_data"].script.read_text()
    assert 'DATA_FILE_B = Path(__file__).parent / "b_only.npz"' in own
    assert "def load_b_data():" in own and "def load_project_data():" in own


def test_script_text_writes_absolute_paths_without_an_output(cases):
    case = cases["gradnorm"]
    text = script_text(case.project, case.project_dir)
    assert f'DATA_FILE = Path("{(case.project_dir / "tiny.npz").as_posix()}")' in text


def test_the_module_imports_neither_tensorflow_nor_qt():
    code = (
        "import sys, mtl_studio.export.script\n"
        "print(','.join(m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- errors -----------------------------------------------------------------------------


def test_an_unwritable_path_names_the_file(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "a_file" / "train.py"
    with pytest.raises(ScriptExportError, match=str(out).replace("\\", "\\\\")):
        write_script(tiny(tmp_path), tmp_path, out)
    missing = tmp_path / "no_such_folder" / "train.py"
    with pytest.raises(ScriptExportError, match="no_such_folder"):
        write_script(tiny(tmp_path), tmp_path, missing)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "train.py"
    out.write_text("old")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ScriptExportError, match="Permission denied"):
        write_script(tiny(tmp_path), tmp_path, out)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.npz", "train.py"]


def test_a_project_with_errors_is_refused_with_validate_s_messages(tmp_path):
    """The export refuses what validate() calls an error, in its words: the
    same project, with its data, as the Trainer would train it."""
    project = tiny(tmp_path)
    project.training.validation_split = 0.6
    project.training.test_split = 0.4
    problems = errors(validate(project, {}))
    assert problems
    with pytest.raises(ScriptExportError) as refused:
        script_text(project, tmp_path)
    for problem in problems:
        assert problem.message in str(refused.value)
    no_file = tiny(tmp_path)
    no_file.data = DataSource("csv", inputs={"x": ["x"]})
    (problem,) = errors(validate(no_file, {}))
    assert problem.message == "no CSV file is chosen: choose one in the Data panel"
    with pytest.raises(ScriptExportError, match=problem.message):
        script_text(no_file, tmp_path)


def test_projects_that_cannot_train_are_refused(tmp_path):
    with pytest.raises(ScriptExportError, match="problem"):
        script_text(cnn_without_flatten(), None)
    separate = alternating_own_data(tmp_path)
    separate.training.mode = "joint"
    with pytest.raises(ScriptExportError, match="alternating"):
        script_text(separate, tmp_path)
    unmapped = tiny(tmp_path)
    unmapped.data.inputs = {}
    with pytest.raises(ScriptExportError, match="no columns mapped"):
        script_text(unmapped, tmp_path)
    no_trunk = tiny(tmp_path, weighting="gradnorm")
    for edge in list(no_trunk.edges):
        if edge.source == "trunk" and edge.target == "head_b":
            no_trunk.disconnect(edge)
    no_trunk.connect(type(edge)("x", "head_b", 0))
    with pytest.raises(ScriptExportError, match="needs a shared"):
        script_text(no_trunk, tmp_path)
