"""The example of docs/python-api.md, run as written, so it cannot rot;
and the API's promises around it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def example_code() -> str:
    text = DOC.read_text(encoding="utf-8")
    return re.search(r"## A complete example.*?```python\n(.*?)```", text, re.S).group(1)


def test_the_documented_example_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", example_code()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "completed best epoch" in done.stdout
    assert (tmp_path / "runs" / "houses" / "model-best.keras").exists()
    assert (tmp_path / "houses.mtl.json").exists()


def test_importing_the_api_costs_no_tensorflow_or_qt():
    code = (
        "import sys, mtl_studio as mtl; mtl.Project('x'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'PySide6')]; print(bad); assert not bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_train_refuses_a_project_with_errors_naming_them():
    import mtl_studio as mtl

    project = mtl.Project("broken")
    mtl.add_input(project, "x", shape=[3])
    with pytest.raises(mtl.TrainingFailed) as info:
        mtl.train(project)
    assert "no tasks" in str(info.value) and info.value.problems


def test_a_bad_edit_is_refused_with_the_reason():
    import mtl_studio as mtl

    project = mtl.Project("p")
    mtl.add_input(project, "x", shape=[3])
    mtl.add_layer(project, "Dense", "x", "d", units=4)
    with pytest.raises(ValueError):
        mtl.add_layer(project, "Dense", "d", "e", units=-4)
    assert project.node_by_name("e") is None  # nothing half-made
    with pytest.raises(KeyError, match="no node is named 'nope'"):
        mtl.add_layer(project, "Dense", "nope")
    with pytest.raises(ValueError):
        project.set_training("batch_size", -4)


def test_weights_set_before_training_are_the_ones_it_starts_from(tmp_path):
    import numpy as np

    import mtl_studio as mtl
    from mtl_studio.training import events as ev
    from tests.training.test_results import results_project

    project = results_project(tmp_path, epochs=1)
    held, seen = {}, []

    def hook(trainer):
        trainer.setup()
        held["trainer"] = trainer
        held["weights"] = [np.full_like(w, 0.01) for w in trainer.model.get_weights()]
        trainer.model.set_weights(held["weights"])

    def at_start(batch):
        if any(isinstance(e, ev.RunStarted) for e in batch):
            seen.append([w.copy() for w in held["trainer"].model.get_weights()])

    run = mtl.train(project, out=tmp_path / "run", on_trainer=hook, callbacks=[at_start])
    assert run.status == "completed" and seen
    for got, want in zip(seen[0], held["weights"]):
        np.testing.assert_array_equal(got, want)
